//! Message and webhook routes of the Evolution simulator: `sendText`, `sendMedia`,
//! `whatsappNumbers`, `webhook/set`, `webhook/find`.
//! A send is validated and answered under the instance lock; it is then published on the bus
//! and its `send.message` and `messages.update` (DELIVERY_ACK, READ) webhooks are queued.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::errors::EvoError;
use super::handlers::{created, json_body, ok, EvoResult, S};
use super::rules::{self, jid_for, jid_user};
use super::state::Event;
use super::{EmitContext, Sim};
use crate::sim::bus::{NewOutbound, Provider};

/// What a send hands to the bus and the webhooks after the lock is released.
struct Sent {
    response: Value,
    ctx: EmitContext,
    ack_template: Option<(Value, Value)>,
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
        let response = inst.sent_message(&jid, &key_id, message, &message_type);
        let ctx = EmitContext::of(inst);
        // Acks are built only when some webhook will carry them (the load hot path has none).
        let ack_template = sim.has_webhook(&ctx).then(|| {
            let row = rules::row_id(&mut rng);
            (
                inst.ack(&jid, &key_id, "DELIVERY_ACK", &row),
                inst.ack(&jid, &key_id, "READ", &row),
            )
        });
        Ok(Sent {
            response,
            ctx,
            ack_template,
            to: jid_user(&jid).to_string(),
            key_id,
        })
    })
}

/// Longest `media` string kept in the journal; longer base64 is summarised so the bounded
/// journal stays small in bytes too (bodies may be up to 136 MB, like the server's limit).
const MAX_JOURNAL_MEDIA: usize = 1024;

/// The request body as journaled: a long `media` is replaced by `"<base64: N chars>"`.
fn journal_payload(mut body: Value) -> Value {
    if let Some(media) = body.get_mut("media") {
        if media.as_str().is_some_and(|m| m.len() > MAX_JOURNAL_MEDIA) {
            let len = media.as_str().map_or(0, str::len);
            *media = json!(format!("<base64: {len} chars>"));
        }
    }
    body
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
    let Some((delivered, read)) = sent.ack_template else {
        return created(sent.response);
    };
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

pub(super) async fn send_text(
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

pub(super) async fn send_media(
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
    Ok(finish_send(
        &sim,
        name,
        sent,
        "media",
        caption,
        journal_payload(body),
    ))
}

fn default_mime(mediatype: &str) -> &'static str {
    match mediatype {
        "image" => "image/jpeg",
        "video" => "video/mp4",
        "audio" => "audio/ogg; codecs=opus",
        _ => "application/octet-stream",
    }
}

pub(super) async fn webhook_set(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_media_is_summarised_in_the_journal() {
        let long = "A".repeat(MAX_JOURNAL_MEDIA + 1);
        let body = journal_payload(json!({"media": long, "number": "1"}));
        assert_eq!(
            body["media"],
            format!("<base64: {} chars>", MAX_JOURNAL_MEDIA + 1)
        );
        let url = json!({"media": "https://x/a.png"});
        assert_eq!(journal_payload(url.clone()), url);
    }
}
