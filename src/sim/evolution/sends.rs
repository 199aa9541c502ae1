//! The `message` router: every send of `sendMessage.router.ts`, run as the 2.3.6 server's
//! `sendMessageWithTyping` (`whatsapp.baileys.service.ts`) runs it:
//! schema (dispatch) → controller checks and media preparation (a URL is fetched; a dead link
//! is the server's 500) → the number lookup (`400 [{jid, exists: false, number}]`) → `delay`
//! waited → the message built with its `contextInfo` (`ephemeralSettingTimestamp` two days
//! back, the quoted message when `quoted` names a known one) → `send.message` webhook (with
//! `message.base64` for media when the webhook has `webhookBase64`) and the `messages.update`
//! ladder SERVER_ACK → DELIVERY_ACK → READ (→ PLAYED for voice notes).
//!
//! The server's typing presence during `delay` goes to the contact (`sendPresenceUpdate`); it is
//! no webhook of this instance, so none is sent here either.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use base64::Engine;
use serde_json::{json, Value};

use super::dispatch::{add, Call, Handler};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::{self, jid_for, jid_user};
use super::sendbuild::{self, Fetched, Plan, Source};
use super::state::{self, Event, Instance};
use super::{EmitContext, Sim};
use crate::sim::bus::{NewOutbound, Simulator};

/// Messages kept per instance for `quoted`, `findMessages` and `getBase64FromMediaMessage`.
pub const KEPT_MESSAGES: usize = 500;

/// The send routes.
pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    let routes: [(&str, Handler); 13] = [
        ("sendText", |s, c| Box::pin(run(s, c, sendbuild::text))),
        ("sendMedia", |s, c| {
            Box::pin(run_media(s, c, sendbuild::media))
        }),
        ("sendPtv", |s, c| Box::pin(run_media(s, c, sendbuild::ptv))),
        ("sendWhatsAppAudio", |s, c| {
            Box::pin(run_media(s, c, sendbuild::audio))
        }),
        ("sendSticker", |s, c| {
            Box::pin(run_media(s, c, sendbuild::sticker))
        }),
        ("sendStatus", |s, c| {
            Box::pin(run_media(s, c, sendbuild::status))
        }),
        ("sendLocation", |s, c| {
            Box::pin(run(s, c, sendbuild::location))
        }),
        ("sendContact", |s, c| {
            Box::pin(run(s, c, sendbuild::contact))
        }),
        ("sendReaction", |s, c| {
            Box::pin(run(s, c, sendbuild::reaction))
        }),
        ("sendPoll", |s, c| Box::pin(run(s, c, sendbuild::poll))),
        ("sendList", |s, c| Box::pin(run(s, c, sendbuild::list))),
        ("sendButtons", |s, c| {
            Box::pin(run_media(s, c, sendbuild::buttons))
        }),
        ("sendTemplate", |s, c| {
            Box::pin(run(s, c, sendbuild::template))
        }),
    ];
    for (name, h) in routes {
        r = add(r, "POST", &format!("/message/{name}/{{instance}}"), h);
    }
    r
}

async fn run(sim: Arc<Sim>, call: Call, build: fn(&Call) -> Result<Plan, EvoError>) -> EvoResult {
    let plan = build(&call)?;
    execute(&sim, call, plan).await
}

/// Builders that may fetch media: `build` names what to fetch, the bytes come back in.
async fn run_media(
    sim: Arc<Sim>,
    call: Call,
    build: fn(&Call, Option<Fetched>) -> Result<Plan, EvoError>,
) -> EvoResult {
    let fetched = match sendbuild::media_source(&call)? {
        Some(src) => Some(fetch(&src).await?),
        None => None,
    };
    let plan = build(&call, fetched)?;
    execute(&sim, call, plan).await
}

/// Fetches a media URL as the server's axios does (a 10 s bound here); a failure is the
/// server's `InternalServerErrorException(error.toString())`.
async fn fetch(src: &Source) -> Result<Fetched, EvoError> {
    let url = match src {
        Source::Bytes(b) => {
            return Ok(Fetched {
                bytes: b.clone(),
                content_type: None,
                url: None,
            })
        }
        Source::Url(u) => u,
    };
    let fail = |msg: String| EvoError::new(StatusCode::INTERNAL_SERVER_ERROR, json!([msg]));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| fail(format!("Error: {e}")))?;
    let resp = client.get(url).send().await.map_err(|e| {
        let host = reqwest::Url::parse(url).ok();
        let addr = host.as_ref().map(|u| {
            let port = u.port_or_known_default().unwrap_or(80);
            format!("{}:{port}", u.host_str().unwrap_or_default())
        });
        match (e.is_connect(), addr) {
            (true, Some(a)) => fail(format!("Error: connect ECONNREFUSED {a}")),
            _ => fail(format!("AxiosError: {e}")),
        }
    })?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!(
            "AxiosError: Request failed with status code {}",
            status.as_u16()
        )));
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| fail(format!("AxiosError: {e}")))?;
    Ok(Fetched {
        bytes: bytes.to_vec(),
        content_type,
        url: Some(url.clone()),
    })
}

/// The number lookup of `sendMessageWithTyping`, under the lock: the JID to send to.
fn check_in(sim: &Sim, inst: &Instance, to: &str) -> Result<String, EvoError> {
    inst.check_can_send()?;
    let jid = jid_for(to);
    let broadcast = jid.contains("@broadcast");
    if jid.ends_with("@g.us") {
        let known = inst.store.get("groups").and_then(|g| g.get(&jid)).is_some();
        if !known {
            return Err(EvoError::not_found("Group not found"));
        }
    } else if !broadcast && !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        return Err(EvoError::new(
            StatusCode::BAD_REQUEST,
            json!([{"jid": jid, "exists": false, "number": to}]),
        ));
    }
    Ok(jid)
}

/// A group send's `contextInfo`: its mentions (`mentionsEveryOne`, the DTO field the service
/// reads, not the schema's `everyOne`: every participant; `mentioned`: those
/// numbers) and the group's ephemeral timer as `expiration`; `null` when it has neither.
fn group_context(inst: &Instance, jid: &str, body: &Value) -> Value {
    let group = inst.store.get("groups").map(|g| &g[jid]);
    let mentions: Vec<Value> = match (body["mentionsEveryOne"] == true, group) {
        (true, Some(g)) => g["participants"]
            .as_array()
            .map(|p| p.iter().map(|x| x["id"].clone()).collect())
            .unwrap_or_default(),
        _ => body["mentioned"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(|n| json!(jid_for(n)))
                    .collect()
            })
            .unwrap_or_default(),
    };
    let mut ctx = json!({});
    if !mentions.is_empty() {
        ctx["mentionedJid"] = json!(mentions);
    }
    if let Some(e) = group
        .and_then(|g| g["ephemeralDuration"].as_u64())
        .filter(|e| *e > 0)
    {
        ctx["expiration"] = json!(e);
    }
    match ctx.as_object().is_some_and(|o| o.is_empty()) {
        true => Value::Null,
        false => ctx,
    }
}

/// The `contextInfo` the server gives a send to a person (`sendMessageWithTyping`):
/// `ephemeralSettingTimestamp` two days back. Serialised straight from this struct on the
/// common path (a text to a person), without building a JSON map first.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonContext {
    mentioned_jid: [(); 0],
    group_mentions: [(); 0],
    ephemeral_setting_timestamp: Long,
    disappearing_mode: Initiator,
}

/// A protobuf `Long` as Baileys serialises it.
#[derive(serde::Serialize)]
struct Long {
    low: u64,
    high: u8,
    unsigned: bool,
}

#[derive(serde::Serialize)]
struct Initiator {
    initiator: u8,
}

impl PersonContext {
    fn now() -> Self {
        let low = state::unix_secs().saturating_sub(172_800);
        PersonContext {
            mentioned_jid: [],
            group_mentions: [],
            ephemeral_setting_timestamp: Long {
                low,
                high: 0,
                unsigned: false,
            },
            disappearing_mode: Initiator { initiator: 0 },
        }
    }
}

fn context_info() -> Value {
    serde_json::to_value(PersonContext::now()).unwrap_or_default()
}

/// A send's `contextInfo`: the typed person context, or JSON (a group's, a quoted message's).
#[derive(serde::Serialize)]
#[serde(untagged)]
enum ContextInfo {
    Person(PersonContext),
    Json(Value),
}

/// The sent message as the server keeps and answers it, in the server's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Sent<'a> {
    key: SentKey<'a>,
    push_name: &'static str,
    status: &'static str,
    message: &'a Value,
    #[serde(skip_serializing_if = "ContextInfo::is_null")]
    context_info: ContextInfo,
    message_type: &'a str,
    message_timestamp: u64,
    instance_id: &'a str,
    source: &'static str,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SentKey<'a> {
    remote_jid: &'a str,
    from_me: bool,
    id: &'a str,
}

impl ContextInfo {
    fn is_null(&self) -> bool {
        matches!(self, ContextInfo::Json(Value::Null))
    }
}

async fn execute(sim: &Sim, call: Call, mut plan: Plan) -> EvoResult {
    // The lookup comes before the wait; without a wait it shares the send's lock.
    let looked_up = match plan.delay {
        0 => None,
        ms => {
            let jid = sim.with_instance(&call.instance, &call.headers, |inst| {
                check_in(sim, inst, &plan.to)
            })?;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Some(jid)
        }
    };
    let mut rng = rand::rng();
    let key_id = rules::outgoing_message_id(&mut rng);
    let message = std::mem::take(&mut plan.message);
    let (jid, response, ctx, hook, base64, lid_phone) =
        sim.with_instance(&call.instance, &call.headers, |inst| {
            let jid = match &looked_up {
                Some(j) => j.clone(),
                None => check_in(sim, inst, &plan.to)?,
            };
            inst.check_can_send()?;
            let ctx = EmitContext::of(inst);
            let base64 = ctx.webhook.as_ref().is_some_and(|w| w.base64);
            // Serialised once: the response body and the kept message share the buffer (one
            // long-lived allocation per message keeps the allocator off the send path); a
            // JSON value only for the webhook.
            let (bytes, hook) = stored_message(
                inst,
                &call,
                &plan,
                message,
                (&jid, &key_id),
                sim.has_webhook(&ctx),
            )?;
            keep(inst, bytes.clone(), plan.media.as_deref());
            let lid_phone = super::received::phone_of_lid(inst, &jid);
            Ok((jid, bytes, ctx, hook, base64, lid_phone))
        })?;
    sim.bus.publish(NewOutbound {
        provider: Simulator::Evolution,
        tenant: call.instance.clone(),
        // The number as the app addressed it: a customer is one number whatever the JID rules.
        // A customer who wrote from a LID is the same customer when answered at `…@lid`.
        to: match (jid.ends_with("@s.whatsapp.net"), lid_phone) {
            (true, _) => crate::sim::bus::phone_digits(&plan.to),
            (false, Some(phone)) => phone,
            (false, None) => jid_user(&jid).to_string(),
        },
        message_id: key_id.clone(),
        kind: plan.kind.to_string(),
        text: plan.text.clone(),
        payload: sendbuild::journal_payload(call.body),
    });
    if let Some(mut hook) = hook {
        if let (true, Some(media)) = (base64, &plan.media) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(media);
            hook["message"]["base64"] = json!(b64);
        }
        let row = rules::row_id(&mut rand::rng());
        emit_ladder(sim, &ctx, hook, &jid, &key_id, &row, plan.played);
    }
    let json = [(axum::http::header::CONTENT_TYPE, "application/json")];
    Ok((StatusCode::CREATED, json, response).into_response())
}

/// The sent message as the server keeps and answers it (`key`, `message` with its
/// `contextInfo` — the typing context, a group's, a quoted message's —, `messageType`, …),
/// serialised, and as a JSON value when `as_value` (for the webhook).
fn stored_message(
    inst: &Instance,
    call: &Call,
    plan: &Plan,
    mut message: Value,
    (jid, key_id): (&str, &str),
    as_value: bool,
) -> Result<(bytes::Bytes, Option<Value>), EvoError> {
    let group = jid.ends_with("@g.us");
    let quoted = quoted(inst, call);
    let context_info = match (plan.context, group, &quoted) {
        (true, false, None) if plan.message_type == "conversation" => {
            ContextInfo::Person(PersonContext::now())
        }
        _ => {
            let mut ctx_info = match (plan.context, group) {
                (true, false) => context_info(),
                (true, true) => group_context(inst, jid, &call.body),
                _ => Value::Null,
            };
            if let Some(q) = quoted {
                ctx_info["stanzaId"] = q["key"]["id"].clone();
                ctx_info["participant"] = q["key"]["remoteJid"].clone();
                ctx_info["quotedMessage"] = q["message"].clone();
            }
            if !ctx_info.is_null() && plan.message_type != "conversation" {
                message[plan.message_type.as_str()]["contextInfo"] = ctx_info.clone();
            }
            ContextInfo::Json(ctx_info)
        }
    };
    let sent = Sent {
        key: SentKey {
            remote_jid: jid,
            from_me: true,
            id: key_id,
        },
        push_name: "Você",
        status: "PENDING",
        message: &message,
        context_info,
        message_type: &plan.message_type,
        message_timestamp: state::unix_secs(),
        instance_id: &inst.id,
        source: rules::source_of(key_id),
    };
    let internal = |e: serde_json::Error| EvoError::internal(e.to_string());
    let bytes = serde_json::to_vec(&sent).map_err(internal)?.into();
    let value = match as_value {
        true => Some(serde_json::to_value(&sent).map_err(internal)?),
        false => None,
    };
    Ok((bytes, value))
}

/// `send.message`, then `messages.update` SERVER_ACK → DELIVERY_ACK → READ (→ PLAYED).
fn emit_ladder(
    sim: &Sim,
    ctx: &EmitContext,
    sent: Value,
    jid: &str,
    id: &str,
    row: &str,
    played: bool,
) {
    let inst_id = sent["instanceId"].clone();
    let ack = |status: &str| {
        json!({"keyId": id, "remoteJid": jid, "fromMe": true, "status": status,
               "instanceId": inst_id, "messageId": row})
    };
    let delivered = sim.config.ack_delivered_after;
    let read = sim.config.ack_read_after;
    let mut events = vec![
        Event::now("send.message", sent),
        Event::now("messages.update", ack("SERVER_ACK")),
        Event {
            name: "messages.update",
            data: ack("DELIVERY_ACK"),
            delay: delivered,
        },
        Event {
            name: "messages.update",
            data: ack("READ"),
            delay: read,
        },
    ];
    if played {
        let after = read + (read.saturating_sub(delivered));
        events.push(Event {
            name: "messages.update",
            data: ack("PLAYED"),
            delay: after,
        });
    }
    sim.emit(ctx, events);
}

/// The message `quoted` names: its own `message` when given, else a kept message by key id.
fn quoted(inst: &Instance, call: &Call) -> Option<Value> {
    let q = call.body.get("quoted")?;
    if q.get("message").is_some_and(Value::is_object) {
        return Some(json!({"key": q["key"], "message": q["message"]}));
    }
    let id = q["key"]["id"].as_str()?;
    // Ids are unique: the newest match is the only one.
    super::chatstate::newest(inst, |m| m["key"]["id"] == id)
}

/// Media kept for `getBase64FromMediaMessage` up to this size.
const MAX_KEPT_MEDIA: usize = 5 * 1024 * 1024;

/// Keeps a message (its JSON bytes, bounded) and its media bytes for later lookups.
pub(super) fn keep(inst: &mut Instance, json: bytes::Bytes, media: Option<&[u8]>) {
    if inst.kept.len() >= KEPT_MESSAGES {
        inst.kept.pop_front();
    }
    let media = media
        .filter(|m| m.len() <= MAX_KEPT_MEDIA)
        .map(bytes::Bytes::copy_from_slice);
    inst.kept.push_back(state::Kept { json, media });
}

#[cfg(test)]
mod tests {
    use super::*;

    // upstream: evolution-api 2.3.6 whatsapp.baileys.service.ts sendMessageWithTyping (the
    // person-send contextInfo and the sent message's fields, in the order the server answers)
    #[test]
    fn typed_answer_serialises_as_the_servers_json() {
        let person = PersonContext::now();
        let low = person.ephemeral_setting_timestamp.low;
        let message = json!({"conversation": "Hola"});
        let sent = |context_info| Sent {
            key: SentKey {
                remote_jid: "5511988887777@s.whatsapp.net",
                from_me: true,
                id: "3EB0ABC",
            },
            push_name: "Você",
            status: "PENDING",
            message: &message,
            context_info,
            message_type: "conversation",
            message_timestamp: 1_700_000_000,
            instance_id: "i-1",
            source: "web",
        };
        let ctx = format!(
            r#"{{"mentionedJid":[],"groupMentions":[],"ephemeralSettingTimestamp":{{"low":{low},"high":0,"unsigned":false}},"disappearingMode":{{"initiator":0}}}}"#
        );
        let head = r#"{"key":{"remoteJid":"5511988887777@s.whatsapp.net","fromMe":true,"id":"3EB0ABC"},"pushName":"Você","status":"PENDING","message":{"conversation":"Hola"}"#;
        let tail = r#""messageType":"conversation","messageTimestamp":1700000000,"instanceId":"i-1","source":"web"}"#;
        let typed = serde_json::to_string(&sent(ContextInfo::Person(person))).unwrap();
        assert_eq!(typed, format!(r#"{head},"contextInfo":{ctx},{tail}"#));
        let parsed: Value = serde_json::from_str(&ctx).unwrap();
        let as_json = serde_json::to_string(&sent(ContextInfo::Json(parsed))).unwrap();
        assert_eq!(as_json, typed);
        let none = serde_json::to_string(&sent(ContextInfo::Json(Value::Null))).unwrap();
        assert_eq!(none, format!("{head},{tail}"));
    }
}
