//! The `chat` router (`chat.router.ts`) over the instance's kept messages, contacts and chat
//! state, answered as 2.3.6 answers it (`whatsapp.baileys.service.ts`, `channel.service.ts`:
//! `fetchContacts`, `fetchMessages`, `fetchStatusMessage`, `fetchChats`).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};

use super::chatstate as cs;
use super::dispatch::{add, add_sync, Call};
use super::errors::EvoError;
use super::reply::EvoResult;
use super::rules::{self, jid_for};
use super::state::{self, Event};
use super::{EmitContext, Sim};

pub fn router(mut r: Router<Arc<Sim>>) -> Router<Arc<Sim>> {
    let post: [(&str, super::dispatch::SyncHandler); 17] = [
        ("markMessageAsRead", |_, c| {
            Ok(c.reply(json!({"message": "Read messages", "read": "success"})))
        }),
        ("archiveChat", archive),
        ("markChatUnread", archive),
        ("fetchProfilePictureUrl", profile_picture),
        ("getBase64FromMediaMessage", cs::base64_of),
        ("updateMessage", update_message),
        ("updateBlockStatus", block),
        ("findContacts", cs::find_contacts),
        ("findMessages", cs::find_messages),
        ("findStatusMessage", cs::find_status),
        ("findChats", cs::find_chats),
        ("fetchBusinessProfile", business_profile),
        ("fetchProfile", profile),
        ("updateProfileName", |s, c| set_profile(s, c, "name")),
        ("updateProfileStatus", |s, c| set_profile(s, c, "status")),
        ("updateProfilePicture", |s, c| set_profile(s, c, "picture")),
        ("updatePrivacySettings", update_privacy),
    ];
    for (name, h) in post {
        r = add_sync(r, "POST", &format!("/chat/{name}/{{instance}}"), h);
    }
    r = add(r, "POST", "/chat/sendPresence/{instance}", |s, c| {
        Box::pin(send_presence(s, c))
    });
    r = add_sync(
        r,
        "DELETE",
        "/chat/deleteMessageForEveryone/{instance}",
        delete_message,
    );
    r = add_sync(
        r,
        "DELETE",
        "/chat/removeProfilePicture/{instance}",
        |s, c| set_profile(s, c, "removePicture"),
    );
    r = add_sync(
        r,
        "GET",
        "/chat/fetchPrivacySettings/{instance}",
        fetch_privacy,
    );
    add_sync(
        r,
        "GET",
        "/chat/findChatByRemoteJid/{instance}",
        cs::find_chat,
    )
}

/// `archiveChat` / `markChatUnread`: the chat's last message (given, or the newest kept one
/// whose `key.remoteJid` equals `chat`), else the server's wrapped 500.
fn archive(sim: &Sim, call: &Call) -> EvoResult {
    let unread = call.route.path.contains("markChatUnread");
    let (flag, verb) = match unread {
        true => ("markedChatUnread", "marked unread"),
        false => ("archived", "archiving"),
    };
    let given = call.body.get("lastMessage").filter(|m| m.is_object());
    let chat = match given {
        Some(m) => m["key"]["remoteJid"].as_str().map(str::to_string),
        None => call.str("chat").map(str::to_string),
    };
    let found = sim.with_instance(&call.instance, &call.headers, |inst| {
        let Some(chat) = chat.clone() else {
            return Ok(None);
        };
        let exists = given.is_some()
            || cs::messages(inst)
                .iter()
                .any(|m| m["key"]["remoteJid"] == chat.as_str());
        if exists {
            let state = inst.store.entry("chatState").or_insert_with(|| json!({}));
            state[&chat][flag] = json!(if unread {
                true
            } else {
                call.body["archive"] == true
            });
        }
        Ok(exists.then_some(chat))
    })?;
    match found {
        Some(chat) => Ok(call.reply(json!({"chatId": chat, flag: true}))),
        None => Err(EvoError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!([{flag: false, "message": [
                format!("An error occurred while {verb} the chat. Open a calling."),
                "NotFoundException: Messages not found"]}]),
        )),
    }
}

fn profile_picture(_: &Sim, call: &Call) -> EvoResult {
    let jid = jid_for(call.str("number").unwrap_or_default());
    let url = format!(
        "https://pps.whatsapp.net/v/t61.24694-24/{}_n.jpg?ccb=11-4&oh=01_Q5Aa&oe=6800B2C1",
        rules::jid_user(&jid)
    );
    Ok(call.reply(json!({"wuid": jid, "profilePictureUrl": url})))
}

/// `updateMessage`: only a kept text (or image/video caption) can be edited; the edit is a
/// protocol message, sent as `send.message.update`.
fn update_message(sim: &Sim, call: &Call) -> EvoResult {
    let jid = jid_for(call.str("number").unwrap_or_default());
    let key = call.body["key"].clone();
    let text = call.body["text"].clone();
    let (ctx, edited, sent) = sim.with_instance(&call.instance, &call.headers, |inst| {
        let edit = |old: &mut Value| {
            let ty = old["messageType"].as_str().unwrap_or_default().to_string();
            let field = match ty.as_str() {
                "conversation" | "extendedTextMessage" => None,
                "imageMessage" | "videoMessage" => Some(ty.as_str()),
                _ => return Err(EvoError::bad_request("Message not compatible")),
            };
            if old["key"]["remoteJid"] != jid.as_str() {
                return Err(EvoError::bad_request("RemoteJid does not match"));
            }
            match field {
                None => old["message"]["conversation"] = text.clone(),
                Some(f) => old["message"][f]["caption"] = text.clone(),
            }
            Ok(())
        };
        cs::update_kept(inst, &key["id"], edit)
            .unwrap_or_else(|| Err(EvoError::bad_request("Message not compatible")))?;
        let now_ms = state::unix_secs() * 1000;
        let edited = json!({"key": key, "type": "MESSAGE_EDIT",
                            "editedMessage": {"conversation": text}, "timestampMs": now_ms.to_string()});
        let id = rules::outgoing_message_id(&mut rand::rng());
        let sent = json!({"key": {"remoteJid": jid, "fromMe": true, "id": id},
                          "message": {"protocolMessage": edited},
                          "messageTimestamp": now_ms / 1000, "status": "PENDING"});
        Ok((EmitContext::of(inst), edited, sent))
    })?;
    sim.emit(&ctx, vec![Event::now("send.message.update", edited)]);
    Ok(call.reply(sent))
}

/// `deleteMessageForEveryone`: a REVOKE protocol message; a kept message is marked DELETED and
/// `messages.delete` is sent.
fn delete_message(sim: &Sim, call: &Call) -> EvoResult {
    let del = call.body.clone();
    let (ctx, deleted, sent) = sim.with_instance(&call.instance, &call.headers, |inst| {
        let deleted = cs::update_kept(inst, &del["id"], |m| {
            m["status"] = json!("DELETED");
            m["key"]["deleted"] = json!(true);
            json!({"id": format!("c{}", m["key"]["id"].as_str().unwrap_or_default().to_lowercase()),
                   "instanceId": m["instanceId"], "key": m["key"],
                   "messageType": m["messageType"], "status": "DELETED", "source": m["source"]})
        });
        let id = rules::outgoing_message_id(&mut rand::rng());
        let sent = json!({"key": {"remoteJid": del["remoteJid"], "fromMe": true, "id": id},
            "message": {"protocolMessage": {"key": del, "type": "REVOKE"}},
            "messageTimestamp": state::unix_secs(), "status": "PENDING"});
        Ok((EmitContext::of(inst), deleted, sent))
    })?;
    if let Some(d) = deleted {
        sim.emit(&ctx, vec![Event::now("messages.delete", d)]);
    }
    Ok(call.reply(sent))
}

/// `updateBlockStatus`: a number not on WhatsApp is the server's wrapped 500.
fn block(sim: &Sim, call: &Call) -> EvoResult {
    let number = call.str("number").unwrap_or_default();
    let jid = jid_for(number);
    if !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        return Err(EvoError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!([
                "Error blocking user",
                "BadRequestException: Bad Request Exception"
            ]),
        ));
    }
    let blocked = call.str("status") == Some("block");
    sim.with_instance(&call.instance, &call.headers, |inst| {
        let set = inst.store.entry("blocked").or_insert_with(|| json!({}));
        set[&jid] = json!(blocked);
        Ok(())
    })?;
    Ok(call.reply(json!({"block": "success"})))
}

/// `fetchBusinessProfile`: simulated customers have no business profile.
fn business_profile(sim: &Sim, call: &Call) -> EvoResult {
    let number = call.str("number").unwrap_or_default();
    let jid = jid_for(number);
    let exists = rules::number_exists(&jid, &sim.config.unregistered_numbers);
    Ok(call.reply(
        json!({"isBusiness": false, "message": "Not is business profile",
                         "jid": jid, "exists": exists, "number": number}),
    ))
}

/// `fetchProfile`: a contact's, or (no `number`) the instance's own profile.
fn profile(sim: &Sim, call: &Call) -> EvoResult {
    let out = sim.with_instance(&call.instance, &call.headers, |inst| {
        let own = inst.store.get("profile").cloned().unwrap_or(json!({}));
        let Some(number) = call.str("number") else {
            let p = json!({"wuid": inst.owner_jid, "name": inst.profile_name, "numberExists": true,
                           "picture": own["picture"], "status": inst.state.as_str()});
            return Ok(Ok(not_business(p)));
        };
        let jid = jid_for(number);
        if !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
            return Ok(Err(json!([{"jid": jid, "exists": false, "number": number}])));
        }
        let name = inst.contacts.get(rules::jid_user(&jid)).cloned();
        let p = json!({"wuid": jid, "name": name, "numberExists": true, "picture": null, "status": null});
        Ok(Ok(not_business(p)))
    })?;
    match out {
        Ok(p) => Ok(call.reply(p)),
        Err(row) => Err(EvoError::new(StatusCode::BAD_REQUEST, row)),
    }
}

/// A profile's business fields for an account that is not a business.
fn not_business(mut p: Value) -> Value {
    for k in ["email", "description", "website"] {
        p[k] = Value::Null;
    }
    p["isBusiness"] = json!(false);
    p
}

/// `updateProfileName`/`Status`/`Picture`, `removeProfilePicture`: `{update: "success"}`.
fn set_profile(sim: &Sim, call: &Call, what: &str) -> EvoResult {
    if what == "picture" {
        let pic = call.str("picture").unwrap_or_default();
        let b64 = !pic.is_empty()
            && base64::Engine::decode(&base64::engine::general_purpose::STANDARD, pic).is_ok();
        if !(pic.starts_with("http://") || pic.starts_with("https://") || b64) {
            return Err(EvoError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!([
                    "Error updating profile picture",
                    "BadRequestException: \"profilePicture\" must be a url or a base64"
                ]),
            ));
        }
    }
    sim.with_instance(&call.instance, &call.headers, |inst| {
        match what {
            "name" => inst.profile_name = call.str("name").map(str::to_string),
            "status" => {
                let p = inst.store.entry("profile").or_insert_with(|| json!({}));
                p["status"] = call.body["status"].clone();
            }
            "picture" => {
                let p = inst.store.entry("profile").or_insert_with(|| json!({}));
                p["picture"] = call.body["picture"].clone();
            }
            _ => {
                let p = inst.store.entry("profile").or_insert_with(|| json!({}));
                p["picture"] = Value::Null;
            }
        }
        Ok(())
    })?;
    Ok(call.reply(json!({"update": "success"})))
}

const PRIVACY_KEYS: [&str; 6] = [
    "readreceipts",
    "profile",
    "status",
    "online",
    "last",
    "groupadd",
];

fn privacy_of(inst: &mut state::Instance) -> &mut Value {
    inst.store.entry("privacy").or_insert_with(|| {
        json!({"readreceipts": "all", "profile": "all", "status": "contacts", "online": "all",
               "last": "contacts", "groupadd": "all"})
    })
}

fn fetch_privacy(sim: &Sim, call: &Call) -> EvoResult {
    let p = sim.with_instance(&call.instance, &call.headers, |inst| {
        Ok(privacy_of(inst).clone())
    })?;
    Ok(call.reply(p))
}

fn update_privacy(sim: &Sim, call: &Call) -> EvoResult {
    let data = sim.with_instance(&call.instance, &call.headers, |inst| {
        let p = privacy_of(inst);
        let mut data = json!({});
        for k in PRIVACY_KEYS {
            data[k] = call.body.get(k).cloned().unwrap_or(Value::Null);
            p[k] = data[k].clone();
        }
        Ok(data)
    })?;
    Ok(call.reply(json!({"update": "success", "data": data})))
}

/// `sendPresence`: the number must be on WhatsApp; the presence is shown for `delay` ms.
async fn send_presence(sim: Arc<Sim>, call: Call) -> EvoResult {
    let number = call.str("number").unwrap_or_default();
    let jid = jid_for(number);
    if !jid.ends_with("@g.us") && !rules::number_exists(&jid, &sim.config.unregistered_numbers) {
        return Err(EvoError::new(
            StatusCode::BAD_REQUEST,
            json!([{"jid": jid, "exists": false, "number": number}]),
        ));
    }
    let delay = call.body.get("delay").and_then(Value::as_u64).unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
    Ok(call.reply(json!({"presence": call.body["presence"]})))
}
