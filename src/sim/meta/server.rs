//! The Graph API surface: thin axum handlers over the pure rules of the sibling modules.
//!
//! Routes (each also under an optional `/vNN.N` prefix, which clients send or omit):
//! `POST /{phone-number-id}/messages`, `POST /{phone-number-id}/media`,
//! `GET /{waba-id}/phone_numbers`, `GET|DELETE /{node-id}` (a phone number or a media id),
//! `GET /whatsapp_business/attachments/?mid=` (media download), and a fallback that answers
//! unknown paths and methods with Graph's errors (2500 unknown path components, 100/33
//! unsupported request).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::header::{ACCEPT_RANGES, CONTENT_RANGE, CONTENT_TYPE, RANGE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use super::account::Account;
use super::graph::GraphError;
use super::http::{graph_error, is_version, node_of, respond, token_of};
use super::ids::{self, Direction};
use super::media::{self, ByteRange, MediaItem};
use super::state::AcceptedSend;
use super::tenants::PhoneNumber;
use super::validate::{parse_messages_request, MessagesRequest, Recipient, SendRequest};
use super::{account_routes, events, templates, waba_routes, Meta, Shared};
use crate::sim::bus::{NewOutbound, Simulator};

type Q = Query<HashMap<String, String>>;
/// Path parameters: `p1` alone (unversioned) or `p1` = version and `p2` = node.
type P = Path<HashMap<String, String>>;

pub(super) fn router(meta: Shared) -> Router {
    let upload_limit = DefaultBodyLimit::max(meta.config.limits.media_max_file_bytes + (64 << 10));
    Router::new()
        .route("/{p1}/messages", post(messages))
        .route("/{p1}/{p2}/messages", post(messages))
        .route("/{p1}/media", post(upload).layer(upload_limit))
        .route("/{p1}/{p2}/media", post(upload).layer(upload_limit))
        .route("/{p1}/phone_numbers", get(phone_numbers))
        .route("/{p1}/{p2}/phone_numbers", get(phone_numbers))
        .route("/{p1}", get(node_get).delete(node_delete).post(node_post))
        .route(
            "/{p1}/{p2}",
            get(node_get).delete(node_delete).post(node_post),
        )
        .route("/whatsapp_business/attachments/", get(download))
        .route("/whatsapp_business/attachments", get(download))
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .with_state(meta)
}

async fn messages(
    State(m): State<Shared>,
    Path(p): P,
    q: Q,
    h: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    let token = token_of(&h, &q);
    let result = node_of(&p, "/messages")
        .and_then(|id| send_messages(&m, &id, token.as_deref(), uri.path(), &body));
    respond(&m, result)
}

/// `POST /{phone-number-id}/messages`: auth, validation, limits, bus, statuses.
fn send_messages(
    m: &Meta,
    id: &str,
    token: Option<&str>,
    path: &str,
    body: &[u8],
) -> Result<Value, GraphError> {
    let number = m.tenants.authorize(token, "POST", id)?;
    let st = m
        .states
        .get(&number.id)
        .ok_or_else(|| GraphError::unsupported_request("POST", id))?;
    // Graph answers a body it cannot parse as if every parameter were missing.
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    match parse_messages_request(&json)? {
        MessagesRequest::MarkRead { message_id, typing } => {
            st.mark_read(&message_id)?;
            tracing::debug!(phone_number_id = %number.id, %message_id, typing, "marked read");
            Ok(json!({"success": true}))
        }
        MessagesRequest::Send(req) => {
            check_sender(m, number, &req)?;
            let category = pricing_category(m, number, &req, &json)?;
            let accepted = st.check_send(&req, tokio::time::Instant::now())?;
            let wamid = ids::wamid(&accepted.customer.wa_id, Direction::Outbound);
            let failure = if accepted.in_window {
                fault_failure(m, &number.id, path)
            } else {
                tracing::info!(phone_number_id = %number.id, to = %accepted.customer.wa_id,
                    "free-form message outside the service window: will fail with 131047");
                Some(GraphError::re_engagement())
            };
            if failure.is_none() {
                m.bus.publish(NewOutbound {
                    provider: Simulator::Meta,
                    tenant: number.id.clone(),
                    to: accepted.customer.wa_id.clone(),
                    message_id: wamid.clone(),
                    kind: req.kind.clone(),
                    text: req.text.clone(),
                    payload: json,
                });
            }
            events::schedule_statuses(m, number, &req, &accepted, &wamid, &category, failure);
            Ok(send_response(&req, &accepted, &wamid))
        }
    }
}

/// The asynchronous failure a fault profile's `failed_status` rule draws for this send.
fn fault_failure(m: &Meta, number_id: &str, path: &str) -> Option<GraphError> {
    let (profile, _) = m.faults.get();
    let req = crate::sim::faults::RequestInfo {
        method: "POST",
        path,
        tenant: Some(number_id),
    };
    let code = profile.failed_status(&req, rand::random::<f64>())?;
    tracing::info!(
        phone_number_id = number_id,
        code,
        "fault profile: send will fail"
    );
    Some(GraphError::async_failure(code))
}

/// 133010 when the number is not registered; 131021 for a send to the business's own number.
fn check_sender(m: &Meta, number: &PhoneNumber, req: &SendRequest) -> Result<(), GraphError> {
    if !m.account(&number.id, |a| a.registered) {
        return Err(GraphError::not_registered());
    }
    if req.recipient == Recipient::Phone(number.display_phone_number.clone()) {
        // pywa `pywa/errors.py` `RecipientCannotBeSender`.
        return Err(GraphError::coded(
            131021,
            "Recipient cannot be sender",
            "Sender and recipient phone number is the same.",
            400,
        ));
    }
    Ok(())
}

/// The pricing category of a send (`service`; a template's own category), after checking a
/// template send against the stored template (132001, 132015, 132016, 132000, 132012).
fn pricing_category(
    m: &Meta,
    number: &PhoneNumber,
    req: &SendRequest,
    body: &Value,
) -> Result<String, GraphError> {
    if req.kind != "template" {
        return Ok("service".into());
    }
    let tpl = &body["template"];
    let name = tpl["name"].as_str().unwrap_or_default();
    let language = tpl["language"]["code"].as_str().unwrap_or_default();
    let sent = tpl["components"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    m.waba(m.tenants.waba_of(number), |w| {
        let t = w.for_send(name, language)?;
        templates::check_send_params(t, sent)?;
        Ok(t.pricing_category())
    })
}

/// The documented success body of a send.
fn send_response(req: &SendRequest, accepted: &AcceptedSend, wamid: &str) -> Value {
    let contact = match req.recipient {
        Recipient::Phone(_) => json!({"input": req.input, "wa_id": accepted.customer.wa_id}),
        Recipient::UserId(_) => json!({"input": req.input, "user_id": accepted.customer.user_id}),
    };
    let mut message = json!({ "id": wamid });
    if req.kind == "template" {
        message["message_status"] = json!("accepted");
    }
    json!({"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]})
}

async fn upload(State(m): State<Shared>, Path(p): P, q: Q, h: HeaderMap, body: Bytes) -> Response {
    let result = match node_of(&p, "/media") {
        Ok(id) => upload_media(&m, &id, &q, &h, body).await,
        Err(e) => Err(e),
    };
    respond(&m, result)
}

/// The parts of a media upload form.
#[derive(Default)]
struct UploadForm {
    file: Option<(Bytes, Option<String>)>,
    mime: Option<String>,
    messaging_product: Option<String>,
}

async fn read_form(h: &HeaderMap, body: Bytes) -> Result<UploadForm, GraphError> {
    let content_type = h
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| GraphError::param_required("file"))?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut form = UploadForm::default();
    let bad = |e: multer::Error| GraphError::media_upload(format!("Malformed multipart body: {e}"));
    while let Some(field) = parts.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let mime = field.content_type().map(|m| m.essence_str().to_string());
                form.file = Some((field.bytes().await.map_err(bad)?, mime));
            }
            "type" => form.mime = Some(field.text().await.map_err(bad)?),
            "messaging_product" => form.messaging_product = Some(field.text().await.map_err(bad)?),
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /{phone-number-id}/media`: multipart `file`, `type`, `messaging_product` (which
/// whatsapp-api-js sends in the query string instead).
async fn upload_media(
    m: &Meta,
    id: &str,
    q: &HashMap<String, String>,
    h: &HeaderMap,
    body: Bytes,
) -> Result<Value, GraphError> {
    let number = m.tenants.authorize(token_of(h, q).as_deref(), "POST", id)?;
    let form = read_form(h, body).await?;
    let product = form
        .messaging_product
        .or_else(|| q.get("messaging_product").cloned());
    if product.is_none() {
        return Err(GraphError::param_required("messaging_product"));
    }
    let Some((bytes, part_mime)) = form.file else {
        return Err(GraphError::param_required("file"));
    };
    if bytes.len() > m.config.limits.media_max_file_bytes {
        return Err(GraphError::media_upload("File is too large."));
    }
    let mime = form
        .mime
        .or(part_mime)
        .unwrap_or_else(|| "application/octet-stream".into());
    if !media::mime_supported(&mime) {
        return Err(GraphError::unsupported_mime(&mime));
    }
    let media_id = ids::media_id();
    let item = MediaItem::new(media_id.clone(), number.id.clone(), mime, bytes);
    if !m.media().insert(item) {
        return Err(GraphError::media_upload("File is too large."));
    }
    Ok(json!({ "id": media_id }))
}

/// `GET /{phone-number-id}`: the phone number object, filtered by `fields` when given.
fn describe_number(number: &PhoneNumber, acc: &Account, fields: Option<&String>) -> Value {
    let full = json!({
        "verified_name": number.verified_name,
        "code_verification_status": if acc.code_verified { "VERIFIED" } else { "NOT_VERIFIED" },
        "status": if acc.registered { "CONNECTED" } else { "DISCONNECTED" },
        "name_status": "APPROVED",
        "is_pin_enabled": acc.pin.is_some(),
        "conversational_automation": acc.automation,
        "display_phone_number": format!("+{}", number.display_phone_number),
        "quality_rating": "GREEN",
        "platform_type": "CLOUD_API",
        "throughput": {"level": "STANDARD"},
        "id": number.id,
    });
    super::graph::filter_fields(full, fields.map(String::as_str))
}

/// The request's token, if the simulator knows it (else 190).
fn known_token(m: &Meta, h: &HeaderMap, q: &HashMap<String, String>) -> Result<String, GraphError> {
    let token = token_of(h, q).unwrap_or_default();
    if m.tenants.token_is_known(&token) {
        Ok(token)
    } else {
        Err(GraphError::invalid_token())
    }
}

/// `GET /{node}`: a phone number or a media id this token may read.
fn get_node(
    m: &Meta,
    node: &str,
    q: &HashMap<String, String>,
    h: &HeaderMap,
) -> Result<Value, GraphError> {
    let token = known_token(m, h, q)?;
    if let Some(number) = m.tenants.get(node).filter(|n| m.tenants.may_act(&token, n)) {
        return Ok(describe_number(
            number,
            &m.account(&number.id, |a| a.clone()),
            q.get("fields"),
        ));
    }
    if let Some(r) = waba_routes::get_node(m, node, h, q) {
        return r;
    }
    let media = m.media();
    match media.get(node) {
        Some(item) if owner_allows(m, &token, &item.owner) => Ok(item.describe(&m.base_url)),
        _ => Err(GraphError::unsupported_request("GET", node)),
    }
}

fn owner_allows(m: &Meta, token: &str, owner: &str) -> bool {
    m.tenants
        .get(owner)
        .is_some_and(|n| m.tenants.may_act(token, n))
}

/// `DELETE /{media-id}`.
fn delete_node(
    m: &Meta,
    node: &str,
    q: &HashMap<String, String>,
    h: &HeaderMap,
) -> Result<Value, GraphError> {
    let token = known_token(m, h, q)?;
    if let Some(r) = waba_routes::delete_node(m, node, h, q) {
        return r;
    }
    let mut media = m.media();
    let allowed = media
        .get(node)
        .is_some_and(|item| owner_allows(m, &token, &item.owner));
    if allowed && media.remove(node) {
        Ok(json!({"success": true}))
    } else {
        Err(GraphError::unsupported_request("DELETE", node))
    }
}

async fn node_get(State(m): State<Shared>, Path(p): P, q: Q, h: HeaderMap) -> Response {
    let result = node_of(&p, "").and_then(|node| get_node(&m, &node, &q, &h));
    respond(&m, result)
}

/// `POST /{node}`: a phone number (two-step PIN, webhook override), else a template, flow or
/// upload session.
async fn node_post(
    State(m): State<Shared>,
    Path(p): P,
    q: Q,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let node = match node_of(&p, "") {
        Ok(n) => n,
        Err(e) => return graph_error(&m, &e),
    };
    let result = if m.tenants.get(&node).is_some() {
        match m
            .tenants
            .authorize(token_of(&h, &q).as_deref(), "POST", &node)
        {
            Ok(n) => {
                let params = account_routes::body_params(&q, &body);
                account_routes::post_phone(&m, n, &params).await
            }
            Err(e) => Err(e),
        }
    } else {
        known_token(&m, &h, &q).and_then(|_| {
            waba_routes::post_node(&m, &node, &h, &q, &body)
                .unwrap_or_else(|| Err(GraphError::unsupported_request("POST", &node)))
        })
    };
    respond(&m, result)
}

async fn node_delete(State(m): State<Shared>, Path(p): P, q: Q, h: HeaderMap) -> Response {
    let result = node_of(&p, "").and_then(|node| delete_node(&m, &node, &q, &h));
    respond(&m, result)
}

/// `GET /{waba-id}/phone_numbers`: the numbers of that account this token may act on.
fn list_numbers(
    m: &Meta,
    waba: &str,
    q: &HashMap<String, String>,
    h: &HeaderMap,
) -> Result<Value, GraphError> {
    let token = known_token(m, h, q)?;
    let data: Vec<Value> = m
        .tenants
        .visible_to(&token)
        .filter(|n| m.tenants.waba_of(n) == waba)
        .map(|n| describe_number(n, &m.account(&n.id, |a| a.clone()), q.get("fields")))
        .collect();
    if data.is_empty() {
        return Err(GraphError::unsupported_request("GET", waba));
    }
    let cursor = |i: usize| base64_cursor(&data[i]["id"]);
    let paging = json!({"cursors": {"before": cursor(0), "after": cursor(data.len() - 1)}});
    Ok(json!({"data": data, "paging": paging}))
}

fn base64_cursor(id: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(id.as_str().unwrap_or_default())
}

async fn phone_numbers(State(m): State<Shared>, Path(p): P, q: Q, h: HeaderMap) -> Response {
    let result = node_of(&p, "/phone_numbers").and_then(|waba| list_numbers(&m, &waba, &q, &h));
    respond(&m, result)
}

/// `GET /whatsapp_business/attachments/?mid=…` with the Bearer token: the media bytes.
async fn download(State(m): State<Shared>, q: Q, h: HeaderMap) -> Response {
    let token = match known_token(&m, &h, &q) {
        Ok(t) => t,
        Err(e) => return graph_error(&m, &e),
    };
    let mid = q.get("mid").map(String::as_str).unwrap_or_default();
    let media = m.media();
    match media.get(mid) {
        Some(item) if owner_allows(&m, &token, &item.owner) => {
            let range = h.get(RANGE).and_then(|v| v.to_str().ok());
            let len = item.bytes.len();
            let mut resp = match media::byte_range(range, len) {
                ByteRange::Full => item.bytes.clone().into_response(),
                ByteRange::Part(a, b) => {
                    let part = item.bytes.slice(a..=b);
                    let mut r = (StatusCode::PARTIAL_CONTENT, part).into_response();
                    let cr = format!("bytes {a}-{b}/{len}");
                    if let Ok(v) = HeaderValue::from_str(&cr) {
                        r.headers_mut().insert(CONTENT_RANGE, v);
                    }
                    r
                }
                ByteRange::Unsatisfiable => {
                    let mut r = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                        r.headers_mut().insert(CONTENT_RANGE, v);
                    }
                    return r;
                }
            };
            resp.headers_mut()
                .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
            if let Ok(v) = HeaderValue::from_str(&item.mime_type) {
                resp.headers_mut().insert(CONTENT_TYPE, v);
            }
            resp
        }
        _ => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// Anything else: Graph's answer for a path it cannot route.
async fn unknown(State(m): State<Shared>, method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_matches('/');
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.first().is_some_and(|s| is_version(s)) {
        segs.remove(0);
    }
    let e = match segs.as_slice() {
        [] => GraphError::unsupported_request(method.as_str(), ""),
        [node] => GraphError::unsupported_request(method.as_str(), node),
        [_, rest @ ..] => GraphError::unknown_path(&format!("/{}", rest.join("/"))),
    };
    graph_error(&m, &e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for v in ["v25.0", "v9", "v16.0"] {
            assert!(is_version(v), "{v}");
        }
        for v in ["25.0", "v", "v1.", "vx.0", "106540352242922", "messages"] {
            assert!(!is_version(v), "{v}");
        }
    }

    #[test]
    fn number_fields_filter() {
        let n = PhoneNumber::new("1", "15550783881");
        let full = describe_number(&n, &Account::default(), None);
        assert_eq!(full["display_phone_number"], "+15550783881");
        assert_eq!(full["platform_type"], "CLOUD_API");
        let some = describe_number(
            &n,
            &Account::default(),
            Some(&"quality_rating, nope".to_string()),
        );
        assert_eq!(some, json!({"quality_rating": "GREEN", "id": "1"}));
    }
}
