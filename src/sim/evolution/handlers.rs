//! Thin axum handlers of the Evolution simulator: extract, run a rule or transition under the
//! lock, send the resulting events, answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::errors::EvoError;
use super::rules::{self, jid_for, jid_user};
use super::state::{ConnState, Event, Instance};
use super::{qr, EmitContext, Sim};
use crate::sim::bus::{NewOutbound, Provider};

type S = State<Arc<Sim>>;
type EvoResult = Result<Response, EvoError>;

/// Routes of the real server that are not simulated (answered 501 after the guards).
const UNSIMULATED: &[&str] = &[
    "/message/sendTemplate",
    "/message/sendPtv",
    "/message/sendWhatsAppAudio",
    "/message/sendStatus",
    "/message/sendSticker",
    "/message/sendLocation",
    "/message/sendContact",
    "/message/sendReaction",
    "/message/sendPoll",
    "/message/sendList",
    "/message/sendButtons",
    "/chat/markMessageAsRead",
    "/chat/archiveChat",
    "/chat/markChatUnread",
    "/chat/deleteMessageForEveryone",
    "/chat/fetchProfilePictureUrl",
    "/chat/getBase64FromMediaMessage",
    "/chat/updateMessage",
    "/chat/sendPresence",
    "/chat/updateBlockStatus",
    "/chat/findContacts",
    "/chat/findMessages",
    "/chat/findStatusMessage",
    "/chat/findChats",
    "/chat/findChatByRemoteJid",
    "/chat/fetchBusinessProfile",
    "/chat/fetchProfile",
    "/chat/updateProfileName",
    "/chat/updateProfileStatus",
    "/chat/updateProfilePicture",
    "/chat/removeProfilePicture",
    "/chat/fetchPrivacySettings",
    "/chat/updatePrivacySettings",
    "/settings/set",
    "/settings/find",
    "/proxy/set",
    "/proxy/find",
    "/label/findLabels",
    "/label/handleLabel",
    "/call/offer",
    "/websocket/set",
    "/websocket/find",
    "/rabbitmq/set",
    "/rabbitmq/find",
    "/nats/set",
    "/nats/find",
    "/sqs/set",
    "/sqs/find",
    "/kafka/set",
    "/kafka/find",
    "/pusher/set",
    "/pusher/find",
];

/// The simulator's provider-facing routes plus its own control routes.
pub fn router(sim: Arc<Sim>) -> Router {
    let mut r = Router::new()
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
        .route("/message/sendText/{instance}", post(send_text))
        .route("/message/sendMedia/{instance}", post(send_media))
        .route("/webhook/set/{instance}", post(webhook_set))
        .route("/webhook/find/{instance}", get(webhook_find))
        .route("/chat/whatsappNumbers/{instance}", post(whatsapp_numbers))
        .route("/__harness/inbound", post(inbound))
        .route("/__harness/instances/{instance}/pair", post(pair));
    for path in UNSIMULATED {
        r = r.route(&format!("{path}/{{instance}}"), any(unsimulated));
    }
    r.fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .with_state(sim)
}

async fn no_route(method: Method, uri: Uri) -> EvoError {
    EvoError::no_route(method.as_str(), uri.path())
}

fn apikey(headers: &HeaderMap) -> Option<&str> {
    headers.get("apikey").and_then(|v| v.to_str().ok())
}

/// The body as JSON (`{}` when empty), or Express body-parser's 400.
fn json_body(body: &Bytes) -> Result<Value, EvoError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| EvoError::new(StatusCode::BAD_REQUEST, json!(e.to_string())))
}

impl Sim {
    /// Guards (instance exists → apikey) then `f` on the instance, under the lock.
    fn with_instance<R>(
        &self,
        name: &str,
        headers: &HeaderMap,
        f: impl FnOnce(&mut Instance) -> Result<R, EvoError>,
    ) -> Result<R, EvoError> {
        let mut instances = self.instances();
        let inst = instances
            .get_mut(name)
            .ok_or_else(|| EvoError::no_instance(name))?;
        rules::authorize(apikey(headers), &self.config.api_key, Some(&inst.token))?;
        f(inst)
    }
}

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

fn ok(body: Value) -> Response {
    Json(body).into_response()
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

async fn create(State(sim): S, headers: HeaderMap, body: Bytes) -> EvoResult {
    let body = json_body(&body)?;
    let name = body.get("instanceName").and_then(Value::as_str);
    {
        let instances = sim.instances();
        match name {
            None if !instances.is_empty() => {
                return Err(EvoError::forbidden(
                    "This name \"undefined\" is already in use.",
                ))
            }
            Some(n) if instances.contains_key(n) => {
                return Err(EvoError::forbidden(format!(
                    "This name \"{n}\" is already in use."
                )))
            }
            _ => {}
        }
    }
    rules::authorize(apikey(&headers), &sim.config.api_key, None)?;
    let name = name.unwrap_or_default().to_string();
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
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    if integration == "WHATSAPP-BUSINESS" {
        for required in ["token", "number"] {
            if field(required).is_none() {
                return Err(EvoError::bad_request(format!("{required} is required")));
            }
        }
    }
    let hook = body
        .get("webhook")
        .map(rules::parse_create_webhook)
        .transpose()?;
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
    match body.get("presence").and_then(Value::as_str) {
        Some(p @ ("available" | "unavailable")) => Ok(created(json!({"presence": p}))),
        Some(_) => Err(EvoError::validation(vec![
            "presence is not one of enum values: available,unavailable".into(),
        ])),
        None => Err(EvoError::validation(vec![
            "instance requires property \"presence\"".into(),
        ])),
    }
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
            if rows.is_empty() && which < 2 {
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

/// What a send hands to the bus and the webhooks after the lock is released.
struct Sent {
    response: Value,
    ctx: EmitContext,
    ack_template: (Value, Value),
    to: String,
    key_id: String,
}

/// Common part of `sendText` and `sendMedia`: guards, validation, connection, number lookup.
fn send(
    sim: &Sim,
    name: &str,
    headers: &HeaderMap,
    body: &Value,
    build: impl FnOnce(&Value) -> Result<(String, Value, String), EvoError>,
) -> Result<Sent, EvoError> {
    sim.with_instance(name, headers, |inst| {
        let (number, message, message_type) = build(body)?;
        inst.check_can_send()?;
        let jid = jid_for(&number);
        if !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
            return Err(EvoError::new(
                StatusCode::BAD_REQUEST,
                json!([{"jid": jid, "exists": false, "number": number}]),
            ));
        }
        let mut rng = rand::rng();
        let key_id = rules::outgoing_message_id(&mut rng);
        let row = rules::row_id(&mut rng);
        let response = inst.sent_message(&jid, &key_id, message, &message_type);
        Ok(Sent {
            response,
            ctx: EmitContext::of(inst),
            ack_template: (
                inst.ack(&jid, &key_id, "DELIVERY_ACK", &row),
                inst.ack(&jid, &key_id, "READ", &row),
            ),
            to: jid_user(&jid).to_string(),
            key_id,
        })
    })
}

fn finish_send(
    sim: &Sim,
    name: String,
    sent: Sent,
    kind: &str,
    text: Option<String>,
    payload: Value,
) -> Response {
    sim.bus.publish(NewOutbound {
        provider: Provider::Evolution,
        tenant: name,
        to: sent.to,
        message_id: sent.key_id,
        kind: kind.to_string(),
        text,
        payload,
    });
    let (delivered, read) = sent.ack_template;
    let events = vec![
        Event::now("send.message", sent.response.clone()),
        Event {
            name: "messages.update",
            data: delivered,
            delay: sim.config.ack_delivered_after,
        },
        Event {
            name: "messages.update",
            data: read,
            delay: sim.config.ack_read_after,
        },
    ];
    sim.emit(&sent.ctx, events);
    created(sent.response)
}

async fn send_text(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    let mut text = String::new();
    let sent = send(&sim, &name, &headers, &body, |b| {
        let req = rules::parse_send_text(b)?;
        text = req.text.clone();
        Ok((
            req.number,
            json!({"conversation": req.text}),
            "conversation".into(),
        ))
    })?;
    Ok(finish_send(&sim, name, sent, "text", Some(text), body))
}

async fn send_media(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    let mut caption = None;
    let sent = send(&sim, &name, &headers, &body, |b| {
        let req = rules::parse_send_media(b)?;
        caption = req.caption.clone();
        let message_type = format!("{}Message", req.mediatype);
        let url = match req.media.starts_with("http") {
            true => req.media.clone(),
            false => format!(
                "https://mmg.whatsapp.net/o1/v/t62/{}",
                rules::row_id(&mut rand::rng())
            ),
        };
        let mimetype = req
            .mimetype
            .clone()
            .unwrap_or_else(|| default_mime(&req.mediatype).into());
        let mut content = json!({"url": url, "mimetype": mimetype});
        if let Some(c) = &req.caption {
            content["caption"] = json!(c);
        }
        if let Some(f) = &req.file_name {
            content["fileName"] = json!(f);
        }
        Ok((
            req.number,
            json!({ message_type.clone(): content }),
            message_type,
        ))
    })?;
    Ok(finish_send(&sim, name, sent, "media", caption, body))
}

fn default_mime(mediatype: &str) -> &'static str {
    match mediatype {
        "image" => "image/jpeg",
        "video" => "video/mp4",
        "audio" => "audio/ogg; codecs=opus",
        _ => "application/octet-stream",
    }
}

async fn webhook_set(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    let row = sim.with_instance(&name, &headers, |inst| {
        let settings = rules::parse_webhook_set(&body)?;
        Ok(inst.set_webhook(settings, rules::row_id(&mut rand::rng())))
    })?;
    Ok(created(row))
}

async fn webhook_find(State(sim): S, Path(name): Path<String>, headers: HeaderMap) -> EvoResult {
    let row = sim.with_instance(&name, &headers, |inst| Ok(inst.webhook_row()))?;
    Ok(ok(row))
}

/// `chat/whatsappNumbers` answers its own errors unwrapped: `{status, error, message}`.
fn raw_bad_request(message: Value) -> Response {
    let body = json!({"status": 400, "error": "Bad Request", "message": message});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

async fn whatsapp_numbers(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    sim.with_instance(&name, &headers, |inst| {
        let numbers = match body.get("numbers") {
            // `numbers.map` of undefined: a TypeError, serialised as `{}`.
            None => return Ok((StatusCode::BAD_REQUEST, Json(json!({}))).into_response()),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items,
            Some(_) => {
                return Ok(raw_bad_request(json!([[
                    "numbers is not of a type(s) array"
                ]])))
            }
        };
        if let Err(e) = inst.check_can_send() {
            return Ok(raw_bad_request(json!([e.message])));
        }
        let list: Vec<Value> = numbers
            .iter()
            .filter_map(Value::as_str)
            .map(|n| {
                let jid = jid_for(n);
                let user = jid_user(&jid).to_string();
                let exists = rules::number_exists(&jid, &sim.config.unregistered_numbers);
                let mut row = json!({"jid": jid, "exists": exists, "number": user});
                if let (true, Some(name)) = (exists, inst.contacts.get(&user)) {
                    row["name"] = json!(name);
                }
                row
            })
            .collect();
        Ok(ok(Value::Array(list)))
    })
}

async fn unsimulated(
    State(sim): S,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> EvoResult {
    sim.with_instance(&name, &headers, |_| Ok(()))?;
    Err(EvoError::new(
        StatusCode::NOT_IMPLEMENTED,
        json!([format!(
            "harness simulator: {} is not simulated",
            uri.path()
        )]),
    ))
}

fn control_error(status: StatusCode, msg: String) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

#[derive(Debug, serde::Deserialize)]
struct InboundRequest {
    from: String,
    name: Option<String>,
    text: String,
    instance: Option<String>,
}

/// `POST /__harness/inbound`: a customer writes to an instance; `messages.upsert` goes out.
async fn inbound(State(sim): S, body: Bytes) -> Response {
    let req: InboundRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid inbound: {e}")),
    };
    let from = crate::sim::bus::phone_digits(&req.from);
    if from.is_empty() {
        return control_error(StatusCode::BAD_REQUEST, "`from` has no digits".into());
    }
    let result = {
        let mut instances = sim.instances();
        let name = match (&req.instance, instances.len()) {
            (Some(n), _) => n.clone(),
            (None, 1) => instances.keys().next().cloned().unwrap_or_default(),
            (None, _) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    "`instance` is required unless exactly one instance exists".into(),
                )
            }
        };
        match instances.get_mut(&name) {
            None => Err((
                StatusCode::NOT_FOUND,
                format!("instance {name:?} does not exist"),
            )),
            Some(inst) if inst.state != ConnState::Open => Err((
                StatusCode::CONFLICT,
                format!(
                    "instance {name:?} is not connected (state {})",
                    inst.state.as_str()
                ),
            )),
            Some(inst) => Ok(inbound_event(inst, &from, &req)),
        }
    };
    match result {
        Err((status, msg)) => control_error(status, msg),
        Ok((ctx, event, id, jid)) => {
            sim.emit(&ctx, vec![event]);
            Json(json!({"message_id": id, "instance": ctx.instance, "remote_jid": jid}))
                .into_response()
        }
    }
}

fn inbound_event(
    inst: &mut Instance,
    from: &str,
    req: &InboundRequest,
) -> (EmitContext, Event, String, String) {
    let id = rules::incoming_message_id(&mut rand::rng());
    let jid = format!("{from}@s.whatsapp.net");
    let push_name = req.name.clone().unwrap_or_else(|| from.to_string());
    inst.remember_contact(from, &push_name);
    let data = json!({
        "key": {"remoteJid": jid, "fromMe": false, "id": id},
        "pushName": push_name, "status": "DELIVERY_ACK",
        "message": {"conversation": req.text},
        "messageType": "conversation", "messageTimestamp": super::state::unix_secs(),
        "instanceId": inst.id, "source": rules::source_of(&id),
    });
    (
        EmitContext::of(inst),
        Event::now("messages.upsert", data),
        id,
        jid,
    )
}

#[derive(Debug, Default, serde::Deserialize)]
struct PairRequest {
    number: Option<String>,
    name: Option<String>,
}

/// `POST /__harness/instances/{name}/pair`: the phone scans the QR; state becomes `open`.
async fn pair(State(sim): S, Path(name): Path<String>, body: Bytes) -> Response {
    let req: PairRequest = match body.is_empty() {
        true => PairRequest::default(),
        false => match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid pair: {e}")),
        },
    };
    let result = {
        let mut instances = sim.instances();
        instances.get_mut(&name).map(|inst| {
            let number = req
                .number
                .as_deref()
                .map(crate::sim::bus::phone_digits)
                .unwrap_or_else(|| format!("5511{:09}", rand::random_range(0..1_000_000_000u32)));
            let profile = req.name.clone().unwrap_or_else(|| inst.name.clone());
            let events = inst.pair(format!("{number}@s.whatsapp.net"), profile);
            (EmitContext::of(inst), events, inst.connection_state())
        })
    };
    match result {
        None => EvoError::no_instance(&name).into_response(),
        Some((ctx, events, state)) => {
            sim.emit(&ctx, events);
            ok(state)
        }
    }
}
