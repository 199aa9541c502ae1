//! A customer's message as the Evolution 2.3.6 server delivers it: the `messages.upsert` that
//! `prepareMessage` builds from what Baileys received (`whatsapp.baileys.service.ts`), with the
//! addressing fields of Baileys 7 (`remoteJidAlt`, `participantAlt`, `addressingMode`, `@lid`
//! senders), the phone's `messageContextInfo`, replies' `contextInfo`, media kept for
//! `getBase64FromMediaMessage` (and inlined as `message.base64` when the webhook asks for it),
//! then `contacts.upsert` (first message of that chat) or `contacts.update`.

use serde_json::{json, Value};

use super::received::{self as rx, lid_of};
use super::rules;
use super::state::{Event, Instance};
use super::EmitContext;
pub(super) use crate::sim::inbound::InboundRequest;
use crate::sim::inbound::{exactly_one, media_bytes};

/// What a delivered inbound produced: where to emit, the events, the message id and chat JID.
pub(super) type Delivered = (EmitContext, Vec<Event>, String, String);

/// The sender's JIDs: (as `remoteJid`/`participant`, the alternate, `addressingMode`).
fn addressing(from: &str, lid: bool) -> (String, String, &'static str) {
    let pn = format!("{from}@s.whatsapp.net");
    let lid_jid = format!("{}@lid", lid_of(from));
    match lid {
        true => (lid_jid, pn, "lid"),
        false => (pn, lid_jid, "pn"),
    }
}

/// The quoted message: `context_id`, or for a tap or a choice the last one the instance sent
/// in `chat`. (its id, its sender, its `message`).
fn quoted(inst: &Instance, req: &InboundRequest, chat: &str) -> Option<(String, String, Value)> {
    if req.context_id.is_none() && !req.is_interactive_reply() {
        return None;
    }
    let owner = inst.owner_jid.clone().unwrap_or_default();
    let sender = |m: &Value| match m["key"]["fromMe"].as_bool() {
        Some(true) => owner.clone(),
        _ => m["key"]["participant"]
            .as_str()
            .or(m["key"]["remoteJid"].as_str())
            .unwrap_or_default()
            .to_string(),
    };
    if let Some(id) = &req.context_id {
        let found = super::chatstate::newest(inst, |m| m["key"]["id"] == id.as_str());
        return Some(match found {
            Some(m) => (id.clone(), sender(&m), m["message"].clone()),
            None => (id.clone(), owner, Value::Null),
        });
    }
    if !req.is_interactive_reply() {
        return None;
    }
    super::chatstate::newest(inst, |m| {
        m["key"]["fromMe"] == true && m["key"]["remoteJid"] == chat
    })
    .map(|m| {
        let id = m["key"]["id"].as_str().unwrap_or_default().to_string();
        (id, owner.clone(), m["message"].clone())
    })
}

/// The message content: (messageType, content, media bytes).
fn content(
    req: &InboundRequest,
    chat: &str,
    last_sent: Option<&str>,
) -> Result<(String, Value, Option<Vec<u8>>), String> {
    req.check_provider(false)?;
    let mut found: Vec<(String, Value, Option<Vec<u8>>)> = Vec::new();
    if let Some(t) = &req.text {
        found.push(("conversation".into(), json!(t), None));
    }
    if let Some(r) = &req.button_reply {
        let c = json!({"selectedButtonId": r.id, "selectedDisplayText": r.title, "type": 1});
        found.push(("buttonsResponseMessage".into(), c, None));
    }
    if let Some(r) = &req.list_reply {
        let mut c = json!({"title": r.title, "listType": 1,
                           "singleSelectReply": {"selectedRowId": r.id}});
        if let Some(d) = &r.description {
            c["description"] = json!(d);
        }
        found.push(("listResponseMessage".into(), c, None));
    }
    if let Some(b) = &req.button {
        let c = json!({"selectedId": b.payload, "selectedDisplayText": b.text,
                       "selectedIndex": 0});
        found.push(("templateButtonReplyMessage".into(), c, None));
    }
    if let Some(f) = &req.flow_reply {
        let c = json!({"body": {"text": f.body.clone().unwrap_or_else(|| "Sent".into()),
                                "format": 1},
                       "nativeFlowResponseMessage": {"name": "galaxy_message",
                           "paramsJson": f.response.to_string(), "version": 3}});
        found.push(("interactiveResponseMessage".into(), c, None));
    }
    for (kind, part) in req.media_parts() {
        if let Some(part) = part {
            if part.media_id.is_some() {
                return Err(format!("{kind}.media_id is Meta's: give data_base64"));
            }
            let (bytes, mime) = media_bytes(kind, part)?;
            let (ty, c) = rx::media(kind, part, &bytes, &mime);
            found.push((ty, c, Some(bytes.to_vec())));
        }
    }
    if let Some(l) = &req.location {
        let mut c = json!({"degreesLatitude": l.latitude, "degreesLongitude": l.longitude});
        for (k, v) in [("name", &l.name), ("address", &l.address)] {
            if let Some(v) = v {
                c[k] = json!(v);
            }
        }
        found.push(("locationMessage".into(), c, None));
    }
    if let Some(cards) = req.contacts.as_deref().filter(|c| !c.is_empty()) {
        let (ty, c) = rx::contacts(cards);
        found.push((ty, c, None));
    }
    if let Some(r) = &req.reaction {
        let id = r.message_id.as_deref().or(last_sent).ok_or(
            "reaction.message_id is required: the instance sent this chat nothing".to_string(),
        )?;
        let (ty, c) = rx::reaction(chat, id, &r.emoji);
        found.push((ty, c, None));
    }
    exactly_one(found)
}

/// The `messages.upsert` (and its contact event) of a customer's message.
pub(super) fn inbound_event(
    inst: &mut Instance,
    from: &str,
    req: &InboundRequest,
    base64: bool,
) -> Result<Delivered, String> {
    let id = rules::incoming_message_id(&mut rand::rng());
    let (sender, alt, mode) = addressing(from, req.lid);
    let chat = req.group.clone().unwrap_or_else(|| sender.clone());
    let push_name = req.name.clone().unwrap_or_else(|| from.to_string());
    let mut key = json!({"remoteJid": chat, "fromMe": false, "id": id});
    match &req.group {
        Some(_) => {
            key["participant"] = json!(sender);
            key["participantAlt"] = json!(alt);
        }
        None => key["remoteJidAlt"] = json!(alt),
    }
    key["addressingMode"] = json!(mode);
    // Only a reaction without `message_id` needs it (a lookup in the kept messages).
    let last_sent = req
        .reaction
        .as_ref()
        .is_some_and(|r| r.message_id.is_none())
        .then(|| last_sent_in(inst, &chat))
        .flatten();
    let (mut ty, mut content, media) = content(req, &chat, last_sent.as_deref())?;
    let context = quoted(inst, req, &chat)
        .map(|(qid, who, q)| rx::quote_context(&qid, &who, Some(&q).filter(|q| !q.is_null())));
    if let Some(ctx) = &context {
        if ty == "conversation" {
            // Sent as `extendedTextMessage`; `prepareMessage` turns it back into `conversation`.
            ty = "conversation".into();
        } else {
            content["contextInfo"] = ctx.clone();
        }
    }
    let mut message = json!({ ty.as_str(): content });
    message["messageContextInfo"] = rx::message_context_info();
    let mut data = json!({
        "key": key, "pushName": push_name, "status": "DELIVERY_ACK", "message": message,
        "messageType": ty, "messageTimestamp": super::state::unix_secs(),
        "instanceId": inst.id, "source": rules::source_of(&id),
    });
    if let Some(ctx) = context {
        data["contextInfo"] = ctx;
    }
    if let Ok(json) = serde_json::to_vec(&data) {
        super::sends::keep(inst, json.into(), media.as_deref());
    }
    if let (true, Some(m)) = (base64, &media) {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, m);
        data["message"]["base64"] = json!(b64);
    }
    remember(inst, from, req.lid);
    let contact_key = rules::jid_user(&chat).to_string();
    let known = inst.contacts.contains_key(&contact_key);
    inst.remember_contact(from, &push_name);
    if req.group.is_some() {
        inst.remember_contact(&contact_key, &push_name);
    }
    // The server's messages.upsert handler follows with the contact: `contacts.upsert` the
    // first time, `contacts.update` after.
    let contact = json!({"remoteJid": chat, "pushName": push_name, "profilePicUrl": null,
                         "instanceId": inst.id});
    let follow = if known {
        "contacts.update"
    } else {
        "contacts.upsert"
    };
    let events = vec![
        Event::now("messages.upsert", data),
        Event::now(follow, contact),
    ];
    Ok((EmitContext::of(inst), events, id, chat))
}

/// The id of the last message the instance sent in `chat`.
fn last_sent_in(inst: &Instance, chat: &str) -> Option<String> {
    super::chatstate::newest(inst, |m| {
        m["key"]["fromMe"] == true && m["key"]["remoteJid"] == chat
    })
    .and_then(|m| m["key"]["id"].as_str().map(str::to_string))
}

/// Records the customer's LID so a send to `…@lid` reaches the same customer.
fn remember(inst: &mut Instance, from: &str, lid_addressed: bool) {
    if !lid_addressed {
        return;
    }
    let lids = inst.store.entry("lids").or_insert_with(|| json!({}));
    if let Some(map) = lids.as_object_mut() {
        if map.len() < 10_000 {
            map.insert(lid_of(from), json!(from));
        }
    }
}
