//! Webhook and number-lookup routes of the Evolution simulator: `webhook/set`, `webhook/find`,
//! `whatsappNumbers` (the sends are in `sends`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::reply::{created, json_body, ok, EvoResult, S};
use super::rules::{self, jid_for, jid_user};
use super::schema;

pub(super) async fn webhook_set(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> EvoResult {
    let body = json_body(&body)?;
    let row = sim.with_instance(&name, &headers, |inst| {
        schema::validate("webhookSchema", &body)?;
        let settings = rules::parse_webhook_set(&body)?;
        Ok(inst.set_webhook(settings, rules::row_id(&mut rand::rng())))
    })?;
    Ok(created(row))
}

pub(super) async fn webhook_find(
    State(sim): S,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> EvoResult {
    let row = sim.with_instance(&name, &headers, |inst| Ok(inst.webhook_row()))?;
    Ok(ok(row))
}

/// `chat/whatsappNumbers` answers its own errors unwrapped: `{status, error, message}`.
fn raw_bad_request(message: Value) -> Response {
    let body = json!({"status": 400, "error": "Bad Request", "message": message});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

pub(super) async fn whatsapp_numbers(
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
            Some(n) => {
                // upstream: src/validate/chat.schema.ts whatsappNumberSchema (minItems 1)
                let root = schema::schema("whatsappNumberSchema");
                let errors = root.map(|s| schema::errors(s, &body)).unwrap_or_default();
                if !errors.is_empty() {
                    return Ok(raw_bad_request(json!([errors])));
                }
                n.as_array().cloned().unwrap_or_default()
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
                // `OnWhatsAppDto(jid, exists, user.number)`: the number as sent.
                let mut row = json!({"jid": jid, "exists": exists, "number": n});
                if let (true, Some(name)) = (exists, inst.contacts.get(&user)) {
                    row["name"] = json!(name);
                }
                row
            })
            .collect();
        Ok(ok(Value::Array(list)))
    })
}
