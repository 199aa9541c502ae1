//! The searchable side of the `chat` router: kept messages, contacts and chats with the
//! server's `where` filters and pagination (`channel.service.ts` 2.3.6: `fetchContacts`,
//! `fetchMessages`, `fetchStatusMessage`, `fetchChats`, `findChatByRemoteJid`;
//! `whatsapp.baileys.service.ts`: `getBase64FromMediaMessage`).

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::dispatch::Call;
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::jid_for;
use base64::Engine;

use super::state::{self, Instance, Kept};
use super::Sim;

/// The kept messages, oldest first, parsed, each with its row `id` (and `_media`, base64).
pub fn messages(inst: &Instance) -> Vec<Value> {
    inst.kept.iter().filter_map(parse_kept).collect()
}

/// The newest kept message (parsed as [`messages`] gives it) for which `pred` holds. Parses
/// newest first and stops at the first match: an inbound message must not parse every kept
/// message of its instance (`perf` showed that at 58 % of a conversation load's CPU).
pub fn newest(inst: &Instance, pred: impl Fn(&Value) -> bool) -> Option<Value> {
    inst.kept
        .iter()
        .rev()
        .filter_map(parse_kept)
        .find(|m| pred(m))
}

fn parse_kept(k: &Kept) -> Option<Value> {
    let mut v: Value = serde_json::from_slice(&k.json).ok()?;
    v["id"] = json!(row_id_of(&v));
    if let Some(m) = &k.media {
        v["_media"] = json!(base64::engine::general_purpose::STANDARD.encode(m));
    }
    Some(v)
}

/// The row id of a kept message: derived from its key id (`c` + the id in lower case).
fn row_id_of(m: &Value) -> String {
    format!(
        "c{}",
        m["key"]["id"].as_str().unwrap_or_default().to_lowercase()
    )
}

/// Applies `f` to the kept message whose `key.id` is `id` and stores it again; `None` when no
/// kept message has that id.
pub fn update_kept<R>(
    inst: &mut Instance,
    id: &Value,
    f: impl FnOnce(&mut Value) -> R,
) -> Option<R> {
    let k = inst
        .kept
        .iter_mut()
        .find(|k| serde_json::from_slice::<Value>(&k.json).is_ok_and(|v| v["key"]["id"] == *id))?;
    let mut v: Value = serde_json::from_slice(&k.json).ok()?;
    let out = f(&mut v);
    k.json = serde_json::to_vec(&v).ok()?.into();
    Some(out)
}

/// `offset` (page size) and `page` (from 1) of a query, with the server's defaults.
fn paging(body: &Value, default_offset: u64) -> (usize, usize) {
    let offset = body["offset"].as_u64().unwrap_or(default_offset).max(1) as usize;
    let page = body["page"].as_u64().unwrap_or(1).max(1) as usize;
    (offset, page)
}

/// A `where.remoteJid` as the server reads it: kept when it has `@`, else `createJid`.
fn where_jid(body: &Value) -> Option<String> {
    body["where"]["remoteJid"]
        .as_str()
        .map(|j| match j.contains('@') {
            true => j.to_string(),
            false => jid_for(j),
        })
}

/// Messages, newest first, filtered like `fetchMessages` (`key.id`, `key.fromMe` when true,
/// `key.remoteJid`, `messageType`, `source`, `id`, `messageTimestamp.gte/lte` as dates).
pub fn find_messages(sim: &Sim, call: &Call) -> EvoResult {
    let w = &call.body["where"];
    let key = &w["key"];
    let ts = |k: &str| {
        w["messageTimestamp"][k]
            .as_str()
            .and_then(|d| humantime::parse_rfc3339_weak(d).ok())
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
    };
    let range = ts("gte").zip(ts("lte"));
    let matches = |m: &Value| {
        let eq = |filter: &Value, got: &Value| filter.is_null() || filter == got;
        eq(&key["id"], &m["key"]["id"])
            && (key["fromMe"] != true || m["key"]["fromMe"] == true)
            && eq(&key["remoteJid"], &m["key"]["remoteJid"])
            && eq(&w["messageType"], &m["messageType"])
            && eq(&w["source"], &m["source"])
            && eq(&w["id"], &m["id"])
            && range.is_none_or(|(lo, hi)| {
                m["messageTimestamp"]
                    .as_u64()
                    .is_some_and(|t| (lo..=hi).contains(&t))
            })
    };
    let (offset, page) = paging(&call.body, 50);
    let out = sim.with_instance(&call.instance, &call.headers, |inst| {
        let mut found: Vec<Value> = messages(inst)
            .iter()
            .filter(|m| matches(m))
            .cloned()
            .collect();
        found.reverse();
        let total = found.len();
        let records: Vec<Value> = found
            .into_iter()
            .skip(offset * (page - 1))
            .take(offset)
            .map(|mut m| {
                m.as_object_mut().map(|o| o.remove("_media"));
                m["MessageUpdate"] = json!(acks(&m));
                m
            })
            .collect();
        Ok(
            json!({"messages": {"total": total, "pages": total.div_ceil(offset),
                               "currentPage": page, "records": records}}),
        )
    })?;
    Ok(call.reply(out))
}

/// The acks a sent message has had by now (the ladder's delays, in whole seconds).
fn acks(m: &Value) -> Vec<Value> {
    if m["key"]["fromMe"] != true {
        return Vec::new();
    }
    let age = state::unix_secs().saturating_sub(m["messageTimestamp"].as_u64().unwrap_or(0));
    let mut out = vec![json!({"status": "SERVER_ACK"})];
    if age >= 1 {
        out.push(json!({"status": "DELIVERY_ACK"}));
        out.push(json!({"status": "READ"}));
    }
    out
}

/// `fetchStatusMessage`: the message updates, filtered by `where.remoteJid` and `where.id`.
pub fn find_status(sim: &Sim, call: &Call) -> EvoResult {
    let w = &call.body["where"];
    let (offset, page) = paging(&call.body, 50);
    let rows = sim.with_instance(&call.instance, &call.headers, |inst| {
        let rows: Vec<Value> = messages(inst)
            .iter()
            .filter(|m| w["remoteJid"].is_null() || w["remoteJid"] == m["key"]["remoteJid"])
            .filter(|m| w["id"].is_null() || w["id"] == m["key"]["id"])
            .flat_map(|m| {
                acks(m).into_iter().map(move |a| {
                    json!({"keyId": m["key"]["id"], "remoteJid": m["key"]["remoteJid"],
                           "fromMe": true, "participant": null, "status": a["status"],
                           "messageId": m["id"], "instanceId": m["instanceId"]})
                })
            })
            .skip(offset * (page - 1))
            .take(offset)
            .collect();
        Ok(Value::Array(rows))
    })?;
    Ok(call.reply(rows))
}

/// `fetchContacts`: the customers who wrote, with `isGroup`, `isSaved` and `type`.
pub fn find_contacts(sim: &Sim, call: &Call) -> EvoResult {
    let want = where_jid(&call.body);
    let offset = call.body["offset"].as_u64().map(|o| o.max(1) as usize);
    let page = call.body["page"].as_u64().unwrap_or(1).max(1) as usize;
    let rows = sim.with_instance(&call.instance, &call.headers, |inst| {
        let mut names: Vec<(&String, &String)> = inst.contacts.iter().collect();
        names.sort();
        let rows = names.into_iter().map(|(digits, name)| {
            let jid = format!("{digits}@s.whatsapp.net");
            json!({"id": format!("c{digits}"), "remoteJid": jid, "pushName": name,
                   "profilePicUrl": null, "createdAt": inst.created_at, "updatedAt": inst.updated_at,
                   "instanceId": inst.id, "isGroup": false, "isSaved": true, "type": "contact"})
        });
        let rows = rows.filter(|r| want.as_ref().is_none_or(|w| r["remoteJid"] == w.as_str()));
        let rows: Vec<Value> = match offset {
            Some(o) => rows.skip(o * (page - 1)).take(o).collect(),
            None => rows.collect(),
        };
        Ok(Value::Array(rows))
    })?;
    Ok(call.reply(rows))
}

fn chat_rows(inst: &Instance) -> Vec<Value> {
    let mut chats: Vec<Value> = Vec::new();
    let all = messages(inst);
    for m in all.iter().rev() {
        let jid = &m["key"]["remoteJid"];
        if chats.iter().any(|c| &c["remoteJid"] == jid) {
            continue;
        }
        let user = jid
            .as_str()
            .unwrap_or_default()
            .split('@')
            .next()
            .unwrap_or_default();
        let name = inst.contacts.get(user).cloned();
        let unread = all
            .iter()
            .filter(|x| &x["key"]["remoteJid"] == jid && x["key"]["fromMe"] == false)
            .count();
        let state = inst
            .store
            .get("chatState")
            .map(|s| s[jid.as_str().unwrap_or_default()].clone());
        let mut last = m.clone();
        last.as_object_mut().map(|o| o.remove("_media"));
        chats.push(
            json!({"id": format!("c{user}"), "remoteJid": jid, "pushName": name,
            "profilePicUrl": null, "updatedAt": inst.updated_at, "unreadCount": unread,
            "archived": state.as_ref().map(|s| s["archived"] == true), "lastMessage": last,
            "isSaved": name.is_some(), "instanceId": inst.id}),
        );
    }
    chats
}

/// `fetchChats`: one row per chat, newest first, with its last message.
pub fn find_chats(sim: &Sim, call: &Call) -> EvoResult {
    let want = where_jid(&call.body);
    let (offset, page) = paging(&call.body, u64::MAX);
    let rows = sim.with_instance(&call.instance, &call.headers, |inst| {
        let rows: Vec<Value> = chat_rows(inst)
            .into_iter()
            .filter(|c| want.as_ref().is_none_or(|w| c["remoteJid"] == w.as_str()))
            .skip(offset.saturating_mul(page - 1))
            .take(offset)
            .collect();
        Ok(Value::Array(rows))
    })?;
    Ok(call.reply(rows))
}

/// `GET findChatByRemoteJid?remoteJid=`: the chat or `null`; no parameter is the router's 400.
pub fn find_chat(sim: &Sim, call: &Call) -> EvoResult {
    let Some(jid) = call.query.get("remoteJid") else {
        let body = json!({"error": "remoteJid is a required query parameter"});
        return Ok((StatusCode::BAD_REQUEST, Json(body)).into_response());
    };
    let row = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(chat_rows(inst)
            .into_iter()
            .find(|c| c["remoteJid"] == jid.as_str())
            .unwrap_or(Value::Null))
    })?;
    Ok(call.reply(row))
}

/// `getBase64FromMediaMessage`: the kept media of `message.key.id`.
pub fn base64_of(sim: &Sim, call: &Call) -> EvoResult {
    let id = call.body["message"]["key"]["id"].clone();
    let found = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(messages(inst)
            .iter()
            .find(|m| m["key"]["id"] == id)
            .cloned())
    })?;
    let Some(m) = found else {
        return Err(EvoError::bad_request("Message not found"));
    };
    let ty = m["messageType"].as_str().unwrap_or_default();
    let media_types = [
        "imageMessage",
        "videoMessage",
        "audioMessage",
        "documentMessage",
        "stickerMessage",
        "ptvMessage",
    ];
    if !media_types.contains(&ty) {
        return Err(EvoError::bad_request(
            "The message is not of the media type",
        ));
    }
    let content = &m["message"][ty];
    let mime = content["mimetype"]
        .as_str()
        .unwrap_or("application/octet-stream");
    let ext = mime.split(['/', ';']).nth(1).unwrap_or("bin");
    let file_name = match content["fileName"].as_str() {
        Some(f) => f.to_string(),
        None => format!("{}.{ext}", m["key"]["id"].as_str().unwrap_or_default()),
    };
    Ok(call.reply(json!({
        "mediaType": ty, "fileName": file_name,
        "caption": content["caption"], "size": {"fileLength": content["fileLength"],
        "height": content["height"], "width": content["width"]},
        "mimetype": mime, "base64": m["_media"], "buffer": null,
    })))
}
