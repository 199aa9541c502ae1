//! Meta-specific control routes (the shared ones come from [`crate::sim::control`]):
//!
//! - `POST /__harness/inbound` `{from, name?, phone_number_id?, context_id?}` plus one of
//!   `text`, `button_reply`, `list_reply`, `button`, `flow_reply`, `image`, `document`, `audio`,
//!   `video`, `sticker`, `reaction`, `location`, `contacts` (see [`crate::sim::inbound`]): a
//!   customer sends a message (a tap or a choice without `context_id` answers the last message
//!   the app sent the customer). The simulator opens the
//!   customer-service window, registers the customer's business-scoped id, delivers the signed
//!   webhook to the number's URL and answers
//!   `{"message_id", "phone_number_id", "from", "user_id", "delivery_id"}`.
//! - `POST /__harness/meta/templates` `{name, language, status?, quality?}`: Meta's review or
//!   quality rating changes a template (`APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`;
//!   `GREEN`, `YELLOW`, `RED`), with the `message_template_status_update` /
//!   `message_template_quality_update` webhooks; answers the template.
//! - `POST /__harness/meta/account_event` `{field, value, waba_id?}`: Meta sends an
//!   account-level webhook (`account_update`, `phone_number_quality_update`,
//!   `phone_number_name_update`, `account_review_update`, `business_capability_update`,
//!   `security`, `template_category_update`, `message_template_components_update`,
//!   `user_preferences`), signed, in Meta's envelope (entry id = the WABA id).
//! - `GET /__harness/meta/verification_code?phone_number_id=`: the code the last
//!   `request_code` "sent" (what the SMS would carry).
//! - `POST /__harness/webhook/verify` `{url?, phone_number_id?, verify_token?}`: runs the GET
//!   verification handshake against the app now and reports what it answered;
//!   `GET /__harness/webhook/verify` lists the latest handshakes (registration, start, on demand).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::ids::{self, Direction};
use super::inbound::{content_of, InboundRequest};
use super::payload::InboundMessage;
use super::registration::verify_and_record;
use super::state::Profile;
use super::templates::TemplateStatus;
use super::tenants::PhoneNumber;
use super::waba_routes::set_template_state;
use super::{events, Meta, Shared};

pub(super) fn router(meta: Shared) -> Router {
    Router::new()
        .route("/__harness/inbound", post(inbound))
        .route("/__harness/webhook/verify", post(verify).get(verifications))
        .route("/__harness/meta/templates", post(template_state))
        .route("/__harness/meta/account_event", post(account_event))
        .route("/__harness/meta/verification_code", get(verification_code))
        .with_state(meta)
}

fn bad_request(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

fn number_for<'a>(m: &'a Meta, id: Option<&str>) -> Result<&'a PhoneNumber, (StatusCode, String)> {
    let found = match id {
        Some(id) => m.tenants.get(id),
        None => m.tenants.numbers().first(),
    };
    found.ok_or_else(|| {
        let msg = format!("unknown phone_number_id {:?}", id.unwrap_or_default());
        (StatusCode::NOT_FOUND, msg)
    })
}

async fn inbound(State(m): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: InboundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    match deliver(&m, req) {
        Ok(answer) => Json(answer).into_response(),
        Err((status, msg)) => bad_request(status, msg),
    }
}

/// Delivers a customer's message to a number's app (`/__harness/inbound`, and messages of the
/// simulated WhatsApp network); the answer names the message and its delivery.
pub(super) fn deliver(
    m: &Meta,
    req: InboundRequest,
) -> Result<serde_json::Value, (StatusCode, String)> {
    let bad = |msg: String| (StatusCode::BAD_REQUEST, msg);
    let from = ids::normalize_phone(&req.from);
    if !(5..=15).contains(&from.len()) {
        return Err(bad("from must be a phone number (5 to 15 digits)".into()));
    }
    let number = number_for(m, req.phone_number_id.as_deref())?;
    if m.webhook_url_of(number).is_none() {
        return Err((
            StatusCode::CONFLICT,
            format!("no webhook URL configured for phone number {}", number.id),
        ));
    }
    let profile = Profile {
        name: req.name.clone(),
        username: req.username.clone(),
        hide_phone: req.hide_phone,
    };
    // A tap, a choice or a reaction answers a business message: by default the last one the
    // app sent this customer (Meta always states the `context` of an interactive reply).
    let last_sent = last_sent_to(m, &number.id, &from);
    let context_id = match (&req.context_id, req.is_interactive_reply()) {
        (Some(id), _) => Some(id.clone()),
        (None, true) => last_sent.clone(),
        (None, false) => None,
    };
    let content = content_of(req, &mut m.media(), &number.id, last_sent.as_deref()).map_err(bad)?;
    if m.account(&number.id, |a| a.is_blocked(&from)) {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "customer {from} is blocked by the business (block_users): Meta drops its messages"
            ),
        ));
    }
    let Some(st) = m.states.get(&number.id) else {
        return Err((StatusCode::NOT_FOUND, "unknown phone number".into()));
    };
    let wamid = ids::wamid(&from, Direction::Inbound);
    let now = tokio::time::Instant::now();
    let customer = st.record_inbound(&from, &profile, &wamid, now);
    let msg = InboundMessage {
        id: wamid.clone(),
        timestamp: super::http::unix_after(std::time::Duration::ZERO),
        content,
        context_id,
    };
    tracing::info!(phone_number_id = %number.id, from = %from, text = msg.content.text(), "inbound");
    let delivery = events::deliver_inbound(m, number, &customer, &msg);
    Ok(json!({
        "message_id": wamid,
        "phone_number_id": number.id,
        "from": from,
        "user_id": customer.user_id,
        "delivery_id": delivery,
    }))
}

/// The id of the last message the app sent `to` from this number (the journal's newest).
fn last_sent_to(m: &Meta, number_id: &str, to: &str) -> Option<String> {
    let filter = crate::sim::bus::OutboundFilter {
        to: Some(to.to_string()),
        tenant: Some(number_id.to_string()),
        since: 0,
    };
    m.bus
        .query(&filter, usize::MAX)
        .last()
        .map(|o| o.message_id.clone())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    phone_number_id: Option<String>,
    #[serde(default)]
    verify_token: Option<String>,
}

async fn verify(State(m): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: VerifyRequest = if body.is_empty() {
        VerifyRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return bad_request(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
        }
    };
    let url = match req.url {
        Some(u) => u,
        None => {
            let number = match number_for(&m, req.phone_number_id.as_deref()) {
                Ok(n) => n,
                Err((status, msg)) => return bad_request(status, msg),
            };
            match m.webhook_url_of(number) {
                Some(u) => u,
                None => return bad_request(StatusCode::CONFLICT, "no webhook URL configured"),
            }
        }
    };
    let token = req
        .verify_token
        .unwrap_or_else(|| m.registration().verify_token);
    Json(verify_and_record(&m, &url, &token).await).into_response()
}

async fn verifications(State(m): State<Shared>) -> Response {
    let list: Vec<_> = m.verifications().iter().cloned().collect();
    Json(list).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateState {
    name: String,
    #[serde(default = "en_us")]
    language: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    quality: Option<String>,
}

fn en_us() -> String {
    "en_US".into()
}

async fn template_state(State(m): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: TemplateState = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    let status = match req.status.as_deref().map(TemplateStatus::parse) {
        Some(None) => {
            return bad_request(
                StatusCode::BAD_REQUEST,
                "status must be one of PENDING, APPROVED, REJECTED, PAUSED, DISABLED",
            )
        }
        Some(s) => s,
        None => None,
    };
    let quality = req.quality.as_deref().map(str::to_ascii_uppercase);
    if quality
        .as_deref()
        .is_some_and(|q| !["GREEN", "YELLOW", "RED", "UNKNOWN"].contains(&q))
    {
        return bad_request(
            StatusCode::BAD_REQUEST,
            "quality must be GREEN, YELLOW or RED",
        );
    }
    match set_template_state(&m, &req.name, &req.language, status, quality.as_deref()) {
        Ok(v) => Json(v).into_response(),
        Err(e) => bad_request(StatusCode::NOT_FOUND, e),
    }
}

async fn verification_code(
    State(m): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let number = match number_for(&m, q.get("phone_number_id").map(String::as_str)) {
        Ok(n) => n,
        Err((status, msg)) => return bad_request(status, msg),
    };
    match m.account(&number.id, |a| a.pending_code.clone()) {
        Some(code) => Json(json!({"phone_number_id": number.id, "code": code})).into_response(),
        None => bad_request(StatusCode::NOT_FOUND, "no verification code requested"),
    }
}

/// Account-level webhook fields a business app subscribes to (Meta's webhook fields list;
/// shapes in pywa 4.4.0 `tests/data/updates/account_update.json`, `template_*.json`).
const ACCOUNT_FIELDS: &[&str] = &[
    "account_update",
    "phone_number_quality_update",
    "phone_number_name_update",
    "account_review_update",
    "business_capability_update",
    "security",
    "template_category_update",
    "message_template_components_update",
    "user_preferences",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountEvent {
    field: String,
    value: serde_json::Value,
    #[serde(default)]
    waba_id: Option<String>,
}

async fn account_event(State(m): State<Shared>, body: axum::body::Bytes) -> Response {
    let req: AccountEvent = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(StatusCode::BAD_REQUEST, format!("invalid body: {e}")),
    };
    if !ACCOUNT_FIELDS.contains(&req.field.as_str()) {
        let msg = format!("field must be one of {}", ACCOUNT_FIELDS.join(", "));
        return bad_request(StatusCode::BAD_REQUEST, msg);
    }
    if !req.value.is_object() {
        return bad_request(StatusCode::BAD_REQUEST, "value must be an object");
    }
    let waba = req.waba_id.unwrap_or_else(|| m.config.waba_id.clone());
    if !m.waba_ids().contains(&waba) {
        return bad_request(StatusCode::NOT_FOUND, format!("unknown waba_id {waba:?}"));
    }
    let zero = std::time::Duration::ZERO;
    events::waba_webhook(&m, &waba, &req.field, req.value, zero);
    Json(json!({"waba_id": waba, "field": req.field})).into_response()
}
