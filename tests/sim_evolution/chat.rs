//! The chat router over kept messages, contacts and chats.
//! upstream: evolution-api 2.3.6 src/api/routes/chat.router.ts, src/api/services/channel.service.ts
//! (fetchMessages, fetchChats, fetchContacts), whatsapp.baileys.service.ts (updateMessage,
//! deleteMessage, getBase64FromMediaMessage, archiveChat, privacy, blockUser)

use base64::Engine;
use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};

use super::support::*;

const TO: &str = "5511988887777";

async fn chat(api: &Api, route: &str, body: Value) -> (u16, Value) {
    api.call("POST", &format!("/chat/{route}/a"), Some("TA"), Some(body))
        .await
}

#[tokio::test]
async fn messages_chats_and_contacts_are_searchable() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", Some(&hook.url))])).await;
    let api = Api::new(&sim);
    for text in ["uno", "dos", "tres"] {
        let body = json!({"number": TO, "text": text});
        api.call("POST", "/message/sendText/a", Some("TA"), Some(body))
            .await;
    }
    let inbound = json!({"from": TO, "name": "Ana", "text": "hola", "instance": "a"});
    let (s, _) = api
        .call("POST", "/__harness/inbound", None, Some(inbound.clone()))
        .await;
    assert_eq!(s, 200);
    // upstream: whatsapp.baileys.service.ts messages.upsert handler (CONTACTS_UPSERT, then
    // CONTACTS_UPDATE for a known contact)
    let c = hook.wait_event("contacts.upsert").await;
    assert_eq!(c.body["data"]["pushName"], "Ana");
    api.call("POST", "/__harness/inbound", None, Some(inbound))
        .await;
    hook.wait_event("contacts.update").await;
    let jid = format!("{TO}@s.whatsapp.net");
    let query =
        json!({"where": {"key": {"remoteJid": jid, "fromMe": true}}, "offset": 2, "page": 1});
    let (s, b) = chat(&api, "findMessages", query).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["messages"]["total"], 3);
    assert_eq!(b["messages"]["pages"], 2);
    assert_eq!(
        b["messages"]["records"][0]["message"]["conversation"],
        "tres"
    );
    let (_, b) = chat(
        &api,
        "findMessages",
        json!({"where": {"messageType": "conversation"}}),
    )
    .await;
    assert_eq!(b["messages"]["total"], 5);
    let (_, chats) = chat(&api, "findChats", json!({})).await;
    assert_eq!(chats.as_array().map(Vec::len), Some(1));
    assert_eq!(chats[0]["pushName"], "Ana");
    assert_eq!(chats[0]["lastMessage"]["message"]["conversation"], "hola");
    let (_, contacts) = chat(&api, "findContacts", json!({"where": {"remoteJid": TO}})).await;
    assert_eq!(contacts[0]["remoteJid"], jid.as_str());
    let path = format!("/chat/findChatByRemoteJid/a?remoteJid={jid}");
    let (s, one) = api.call("GET", &path, Some("TA"), None).await;
    assert_eq!((s, one["remoteJid"].clone()), (200, json!(jid)));
    let (s, b) = api
        .call("GET", "/chat/findChatByRemoteJid/a", Some("TA"), None)
        .await;
    assert_eq!(
        (s, b),
        (
            400,
            json!({"error": "remoteJid is a required query parameter"})
        )
    );
    let (s, b) = chat(&api, "archiveChat", json!({"chat": jid, "archive": true})).await;
    assert_eq!((s, b), (201, json!({"chatId": jid, "archived": true})));
    let (s, _) = chat(
        &api,
        "archiveChat",
        json!({"chat": "5511000000000@s.whatsapp.net", "archive": true}),
    )
    .await;
    assert_eq!(s, 500);

    // Edit and delete a sent message: send.message.update and messages.delete.
    let (_, sent) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": TO, "text": "typo"})),
        )
        .await;
    let key = sent["key"].clone();
    let (s, b) = chat(
        &api,
        "updateMessage",
        json!({"number": TO, "key": key, "text": "fixed"}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["message"]["protocolMessage"]["type"], "MESSAGE_EDIT");
    let edit = hook.wait_event("send.message.update").await;
    assert_eq!(edit.body["data"]["editedMessage"]["conversation"], "fixed");
    let del = json!({"id": key["id"], "remoteJid": jid, "fromMe": true});
    let (s, _) = api
        .call(
            "DELETE",
            "/chat/deleteMessageForEveryone/a",
            Some("TA"),
            Some(del),
        )
        .await;
    assert_eq!(s, 201);
    let gone = hook.wait_event("messages.delete").await;
    assert_eq!(gone.body["data"]["status"], "DELETED");
    let unknown =
        json!({"number": TO, "key": {"id": "NOPE", "remoteJid": jid, "fromMe": true}, "text": "x"});
    let (s, b) = chat(&api, "updateMessage", unknown).await;
    assert_eq!((s, msg(&b)), (400, &json!(["Message not compatible"])));
}

#[tokio::test]
async fn media_base64_profile_privacy_block() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let media = media_server().await;
    let body = json!({"number": TO, "mediatype": "image", "media": format!("{media}/a.png")});
    let (_, sent) = api
        .call("POST", "/message/sendMedia/a", Some("TA"), Some(body))
        .await;
    let (s, b) = chat(
        &api,
        "getBase64FromMediaMessage",
        json!({"message": {"key": {"id": sent["key"]["id"]}}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(
        b["base64"],
        base64::engine::general_purpose::STANDARD.encode(MEDIA)
    );
    assert_eq!(
        (b["mediaType"].clone(), b["mimetype"].clone()),
        (json!("imageMessage"), json!("image/jpeg"))
    );
    let (s, b) = chat(
        &api,
        "getBase64FromMediaMessage",
        json!({"message": {"key": {"id": "X"}}}),
    )
    .await;
    assert_eq!((s, msg(&b)), (400, &json!(["Message not found"])));
    let (s, b) = chat(&api, "updateProfileName", json!({"name": "Clínica"})).await;
    assert_eq!((s, b), (200, json!({"update": "success"})));
    let (_, own) = chat(&api, "fetchProfile", json!({})).await;
    assert_eq!(own["name"], "Clínica");
    let privacy = json!({"readreceipts": "none", "profile": "all", "status": "all", "online": "all",
                         "last": "none", "groupadd": "contacts"});
    let (s, b) = chat(&api, "updatePrivacySettings", privacy).await;
    assert_eq!((s, b["update"].clone()), (201, json!("success")));
    let (_, p) = api
        .call("GET", "/chat/fetchPrivacySettings/a", Some("TA"), None)
        .await;
    assert_eq!(p["readreceipts"], "none");
    let (s, b) = chat(
        &api,
        "updateBlockStatus",
        json!({"number": TO, "status": "block"}),
    )
    .await;
    assert_eq!((s, b), (201, json!({"block": "success"})));
    let (s, b) = chat(
        &api,
        "updateBlockStatus",
        json!({"number": TO, "status": "maybe"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        msg(&b)[0][0]
            .as_str()
            .unwrap()
            .starts_with("status is not one of enum values"),
        "{b}"
    );
}
