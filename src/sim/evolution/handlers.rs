//! Thin axum handlers of the Evolution simulator: extract, run a rule or transition under the
//! lock, send the resulting events, answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::EvoError;
use super::reply::{apikey, created, json_body, ok, EvoResult, S};
use super::rules::{self, WebhookSettings};
use super::state::{ConnState, Event, Instance};
use super::{harness_routes, messages, qr, EmitContext, Sim};

/// Largest request body, as the server's `express.json({limit: "136mb"})`.
const BODY_LIMIT: usize = 136 * 1024 * 1024;

/// The simulator's provider-facing routes plus its own control routes.
pub fn router(sim: Arc<Sim>) -> Router {
    let r = Router::new()
        .route("/", get(info))
        .route("/verify-creds", post(verify_creds))
        .route("/instance/create", post(create))
        .route("/instance/connect/{instance}", get(connect))
        .route("/instance/restart/{instance}", post(restart))
        .route(
            "/instance/connectionState/{instance}",
            get(connection_state),
        )
        .route("/instance/logout/{instance}", delete(logout))
        .route("/instance/delete/{instance}", delete(delete_instance))
        .route("/instance/setPresence/{instance}", post(set_presence))
        .route("/instance/fetchInstances", get(fetch_instances))
        .route("/webhook/set/{instance}", post(messages::webhook_set))
        .route("/webhook/find/{instance}", get(messages::webhook_find))
        .route(
            "/chat/whatsappNumbers/{instance}",
            post(messages::whatsapp_numbers),
        )
        .route("/__harness/inbound", post(harness_routes::inbound))
        .route(
            "/__harness/instances/{instance}/pair",
            post(harness_routes::pair),
        );
    let r = super::misc::router(super::integrations::router(r));
    let r = super::chat::router(super::sends::router(r));
    let r = super::group::router(r);
    r.fallback(no_route)
        .method_not_allowed_fallback(no_route)
        // The server accepts bodies up to 136 MB (base64 media); axum's default is 2 MB.
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(body_limit))
        .with_state(sim)
}

/// body-parser's limit: a declared `Content-Length` over it is refused before the body is read,
/// a chunked body when it passes it (axum's plain-text 413), both as the server's error
/// middleware answers them (upstream: src/main.ts `json({ limit: '136mb' })`).
async fn body_limit(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{header::CONTENT_LENGTH, StatusCode};
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let too_large = || {
        EvoError::body_parser(StatusCode::PAYLOAD_TOO_LARGE, "request entity too large")
            .into_response()
    };
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return too_large();
    }
    let response = next.run(request).await;
    match response.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => response,
    }
}

async fn no_route(method: Method, uri: Uri) -> EvoError {
    EvoError::no_route(method.as_str(), uri.path())
}

fn new_qr() -> Result<super::state::NewQr, EvoError> {
    qr::generate().map_err(|e| EvoError::internal(e.to_string()))
}

async fn info(State(sim): S) -> Json<Value> {
    Json(json!({
        "status": 200, "message": "Welcome to the Evolution API, it is working!",
        "version": sim.config.version, "clientName": sim.config.client_name,
        "manager": format!("{}/manager", sim.server_url),
        "documentation": "https://doc.evolution-api.com",
        "whatsappWebVersion": "2.3000.1027934701",
    }))
}

async fn verify_creds(State(sim): S, headers: HeaderMap) -> EvoResult {
    rules::authorize(apikey(&headers), &sim.config.api_key, None)?;
    Ok(ok(
        json!({"status": 200, "message": "Credentials are valid",
                 "facebookAppId": null, "facebookConfigId": null, "facebookUserToken": null}),
    ))
}

/// The instance name is taken (the server checks before authorising; an absent name is
/// "undefined", taken as soon as any instance exists).
fn name_in_use(sim: &Sim, name: Option<&str>) -> Result<(), EvoError> {
    let instances = sim.instances();
    match name {
        None if !instances.is_empty() => Err(EvoError::forbidden(
            "This name \"undefined\" is already in use.",
        )),
        Some(n) if instances.contains_key(n) => Err(EvoError::forbidden(format!(
            "This name \"{n}\" is already in use."
        ))),
        _ => Ok(()),
    }
}

/// The validated name, integration and webhook of a create request.
fn create_request(body: &Value) -> Result<(String, &str, Option<WebhookSettings>), EvoError> {
    // upstream: src/validate/instance.schema.ts instanceSchema (qrcode boolean, number pattern)
    super::schema::validate("instanceSchema", body)?;
    let name = body
        .get("instanceName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(EvoError::validation(vec![
            "The \"instanceName\" cannot be empty".into(),
        ]));
    }
    let integration = body
        .get("integration")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !rules::INTEGRATIONS.contains(&integration) {
        return Err(EvoError::bad_request("Invalid integration"));
    }
    if integration == "WHATSAPP-BUSINESS" {
        for required in ["token", "number"] {
            if body.get(required).and_then(Value::as_str).is_none() {
                return Err(EvoError::bad_request(format!("{required} is required")));
            }
        }
    }
    let hook = body
        .get("webhook")
        .map(rules::parse_create_webhook)
        .transpose()?;
    Ok((name, integration, hook))
}

async fn create(State(sim): S, headers: HeaderMap, body: Bytes) -> EvoResult {
    let body = json_body(&body)?;
    name_in_use(&sim, body.get("instanceName").and_then(Value::as_str))?;
    rules::authorize(apikey(&headers), &sim.config.api_key, None)?;
    let (name, integration, hook) = create_request(&body)?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let token = field("token").unwrap_or_else(|| uuid::Uuid::new_v4().to_string().to_uppercase());
    let want_qr = body.get("qrcode").and_then(Value::as_bool) == Some(true)
        && integration == "WHATSAPP-BAILEYS";
    let qr = if want_qr { Some(new_qr()?) } else { None };

    let mut inst = Instance::new(&name, &token, integration);
    inst.number = field("number");
    inst.business_id = field("businessId");
    let webhook_block = match &hook {
        Some(h) => json!({"webhookUrl": h.url, "webhookHeaders": h.headers,
                          "webhookByEvents": h.by_events, "webhookBase64": h.base64}),
        None => json!({}),
    };
    if let Some(h) = hook {
        inst.set_webhook(h, rules::row_id(&mut rand::rng()));
    }
    let mut events = vec![Event::now(
        "instance.create",
        json!({"instanceName": inst.name, "instanceId": inst.id}),
    )];
    let mut qr_json = None;
    if let Some(qr) = qr {
        let pairing = inst
            .number
            .as_ref()
            .map(|_| qr::pairing_code(&mut rand::rng()));
        let (q, ev) = inst.connect(pairing, qr);
        qr_json = Some(q);
        events.extend(ev);
    }
    let mut resp = json!({
        "instance": {"instanceName": inst.name, "instanceId": inst.id, "integration": integration,
                     "webhookWaBusiness": null, "accessTokenWaBusiness": "",
                     "status": inst.state.as_str()},
        "hash": token, "webhook": webhook_block, "websocket": {}, "rabbitmq": {}, "nats": {},
        "sqs": {}, "settings": inst.settings,
    });
    if let Some(q) = qr_json {
        resp["qrcode"] = q;
    }
    let ctx = EmitContext::of(&inst);
    let session = (inst.state == ConnState::Connecting).then_some(inst.session);
    {
        let mut instances = sim.instances();
        if instances.contains_key(&name) {
            return Err(EvoError::forbidden(format!(
                "This name \"{name}\" is already in use."
            )));
        }
        instances.insert(name.clone(), inst);
    }
    sim.emit(&ctx, events);
    if let Some(session) = session {
        sim.spawn_qr_timer(name, session);
    }
    Ok(created(resp))
}

#[derive(Debug, serde::Deserialize)]
struct ConnectQuery {
    number: Option<String>,
}

async fn connect(
    State(sim): S,
    Path(name): Path<String>,
    Query(q): Query<ConnectQuery>,
    headers: HeaderMap,
) -> EvoResult {
    let qr = new_qr()?;
    let (body, ctx, events, session) = sim.with_instance(&name, &headers, |inst| {
        let pairing = q
            .number
            .as_ref()
            .map(|_| qr::pairing_code(&mut rand::rng()));
        let was_closed = inst.state == ConnState::Close;
        let (body, events) = inst.connect(pairing, qr);
        Ok((
            body,
            EmitContext::of(inst),
            events,
            was_closed.then_some(inst.session),
        ))
    })?;
    sim.emit(&ctx, events);
    if let Some(session) = session {
        sim.spawn_qr_timer(name, session);
    }
    Ok(ok(body))
}

async fn restart(State(sim): S, Path(name): Path<String>, headers: HeaderMap) -> EvoResult {
    let body = sim.with_instance(&name, &headers, |inst| {
        Ok(match inst.state {
            ConnState::Close => json!({"error": true, "message": "[object Object]"}),
            ConnState::Connecting => inst.qr.to_json(),
            ConnState::Open => inst.connection_state(),
        })
    })?;
    Ok(ok(body))
}

async fn connection_state(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> EvoResult {
    let body = sim.with_instance(&name, &headers, |inst| Ok(inst.connection_state()))?;
    Ok(ok(body))
}

async fn logout(State(sim): S, Path(name): Path<String>, headers: HeaderMap) -> EvoResult {
    let (ctx, events) = sim.with_instance(&name, &headers, |inst| {
        let events = inst.logout()?;
        Ok((EmitContext::of(inst), events))
    })?;
    sim.emit(&ctx, events);
    Ok(ok(json!({"status": "SUCCESS", "error": false,
                 "response": {"message": "Instance logged out"}})))
}

async fn delete_instance(State(sim): S, Path(name): Path<String>, headers: HeaderMap) -> EvoResult {
    let (ctx, events) = {
        let mut instances = sim.instances();
        let inst = instances
            .get_mut(&name)
            .ok_or_else(|| EvoError::no_instance(&name))?;
        rules::authorize(apikey(&headers), &sim.config.api_key, Some(&inst.token))?;
        let ctx = EmitContext::of(inst);
        let events = inst.delete_events();
        instances.remove(&name);
        (ctx, events)
    };
    sim.emit(&ctx, events);
    Ok(ok(json!({"status": "SUCCESS", "error": false,
                 "response": {"message": "Instance deleted"}})))
}

async fn set_presence(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    sim.with_instance(&name, &headers, |_| Ok(()))?;
    // upstream: src/validate/instance.schema.ts presenceOnlySchema
    super::schema::validate("presenceOnlySchema", &body)?;
    Ok(created(json!({"presence": body["presence"]})))
}

async fn fetch_instances(
    State(sim): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> EvoResult {
    let key = apikey(&headers).ok_or_else(EvoError::unauthorized)?;
    let instances = sim.instances();
    let global = key == sim.config.api_key;
    let mut rows: Vec<&Instance> = instances
        .values()
        .filter(|i| global || i.token == key)
        .collect();
    if !global && rows.is_empty() {
        return Err(EvoError::unauthorized());
    }
    rows.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.name.cmp(&b.name)));
    let filters = [("instanceName", 0), ("instanceId", 1), ("number", 2)];
    for (param, which) in filters {
        if let Some(want) = q.get(param) {
            rows.retain(|i| match which {
                0 => &i.name == want,
                1 => &i.id == want,
                _ => i.number.as_deref() == Some(want.as_str()),
            });
            // upstream: src/api/services/monitor.service.ts instanceInfoById (404 for all three)
            if rows.is_empty() {
                return Err(EvoError::not_found(format!(
                    "Instance \"{want}\" not found"
                )));
            }
        }
    }
    let list: Vec<Value> = rows
        .iter()
        .map(|i| i.row(&sim.config.client_name))
        .collect();
    Ok(ok(Value::Array(list)))
}
