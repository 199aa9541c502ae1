//! Every inbound type as Evolution 2.3.6 delivers it, checked field by field against the
//! upstream message definitions (tests/fixtures/inbound/baileys.json: Baileys 7.0.0-rc.6
//! WAProto.proto field names and evolution-api 2.3.6 `prepareMessage`, cited there), with the
//! media fetched through `getBase64FromMediaMessage` and checked against the stated
//! `fileSha256`.

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use harness::sim::evolution::SeedInstance;

use super::support::*;

fn fields(of: &str) -> Vec<String> {
    let all: Value =
        serde_json::from_str(include_str!("../fixtures/inbound/baileys.json")).unwrap();
    serde_json::from_value(all[of].clone()).unwrap_or_else(|_| panic!("no fixture for {of}"))
}

/// Every key of `v` is a field of the upstream definition `of`.
fn assert_fields(of: &str, v: &Value) {
    let allowed = fields(of);
    for key in v.as_object().unwrap_or_else(|| panic!("{of}: {v}")).keys() {
        assert!(allowed.contains(key), "{of} has no field `{key}`: {v:#}");
    }
}

/// `bytes` as `JSON.stringify(Uint8Array)` writes them: `{"0": n, "1": n, …}`.
fn bytes(v: &Value) -> Vec<u8> {
    let map = v
        .as_object()
        .unwrap_or_else(|| panic!("bytes as an object: {v}"));
    (0..map.len())
        .map(|i| map[&i.to_string()].as_u64().unwrap() as u8)
        .collect()
}

async fn deliver(api: &Api, hook: &Receiver, body: Value) -> Value {
    let (s, r) = api
        .call("POST", "/__harness/inbound", None, Some(body))
        .await;
    assert_eq!(s, 200, "{r}");
    let id = r["message_id"].as_str().unwrap().to_string();
    let hit = hook
        .wait(|h| h.body["event"] == "messages.upsert" && h.body["data"]["key"]["id"] == id)
        .await;
    hit.body["data"].clone()
}

/// The delivered message's own checks, common to every type.
fn assert_message_raw(data: &Value, ty: &str) {
    assert_fields("messageRaw", data);
    assert_fields("messageKey", &data["key"]);
    assert_eq!(data["messageType"], ty);
    assert_eq!(data["status"], "DELIVERY_ACK");
    assert_eq!(data["key"]["fromMe"], false);
    let mci = &data["message"]["messageContextInfo"];
    assert_fields("messageContextInfo", mci);
    assert_fields("deviceListMetadata", &mci["deviceListMetadata"]);
    assert_eq!(bytes(&mci["messageSecret"]).len(), 32);
    if ty != "conversation" {
        let field = ty[..1].to_lowercase() + &ty[1..];
        assert_fields(&field, &data["message"][ty]);
    }
    if let Some(ctx) = data.get("contextInfo") {
        assert_fields("contextInfo", ctx);
    }
}

async fn media_of(api: &Api, data: &Value) -> Vec<u8> {
    let body = json!({"message": {"key": {"id": data["key"]["id"]}}});
    let (s, b) = api
        .call(
            "POST",
            "/chat/getBase64FromMediaMessage/a",
            Some("TA"),
            Some(body),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let got = base64::engine::general_purpose::STANDARD
        .decode(b["base64"].as_str().unwrap())
        .unwrap();
    let ty = data["messageType"].as_str().unwrap();
    let stated = bytes(&data["message"][ty]["fileSha256"]);
    assert_eq!(stated, Sha256::digest(&got).to_vec(), "{ty}");
    assert_eq!(data["message"][ty]["fileLength"]["low"], got.len());
    got
}

#[tokio::test]
async fn every_inbound_type_is_shaped_as_evolution_delivers_it() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", Some(&hook.url))])).await;
    let api = Api::new(&sim);
    let from = "5511977776666";
    let first = deliver(
        &api,
        &hook,
        json!({"from": from, "name": "Ana", "text": "Oi"}),
    )
    .await;
    assert_message_raw(&first, "conversation");
    assert_eq!(first["key"]["addressingMode"], "pn");
    assert!(first.get("contextInfo").is_none());
    let (s, sent) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": from, "text": "Escolha um horário"})),
        )
        .await;
    assert_eq!(s, 201, "{sent}");
    let business = sent["key"]["id"].as_str().unwrap().to_string();
    let cases = [
        ("imageMessage", json!({"image": {"caption": "receita"}})),
        ("audioMessage", json!({"audio": {"voice": true}})),
        (
            "videoMessage",
            json!({"video": {"data_base64": "AAAAGGZ0eXBtcDQy", "mime_type": "video/mp4"}}),
        ),
        (
            "documentMessage",
            json!({"document": {"filename": "receita.pdf"}}),
        ),
        ("stickerMessage", json!({"sticker": {}})),
        (
            "locationMessage",
            json!({"location": {"latitude": -23.55, "longitude": -46.63, "name": "Sede"}}),
        ),
        (
            "contactMessage",
            json!({"contacts": [{"name": "Beto", "phone": "+55 11 96666-5555"}]}),
        ),
        (
            "contactsArrayMessage",
            json!({"contacts": [{"name": "A", "phone": "1"}, {"name": "B", "phone": "2"}]}),
        ),
        ("reactionMessage", json!({"reaction": {"emoji": "👍"}})),
        (
            "buttonsResponseMessage",
            json!({"button_reply": {"id": "yes", "title": "Sim"}}),
        ),
        (
            "listResponseMessage",
            json!({"list_reply": {"id": "r1", "title": "09:00", "description": "manhã"}}),
        ),
        (
            "templateButtonReplyMessage",
            json!({"button": {"payload": "P", "text": "Confirmar"}}),
        ),
        (
            "conversation",
            json!({"text": "citando", "context_id": business}),
        ),
    ];
    for (ty, mut body) in cases {
        body["from"] = json!(from);
        let data = deliver(&api, &hook, body).await;
        assert_message_raw(&data, ty);
        let content = &data["message"][ty];
        match ty {
            "imageMessage" => {
                assert_eq!(&media_of(&api, &data).await[..4], b"\x89PNG");
                assert_eq!(content["caption"], "receita");
            }
            "audioMessage" => {
                assert_eq!(content["ptt"], true);
                assert_eq!(&media_of(&api, &data).await[..4], b"OggS");
            }
            "documentMessage" => {
                assert_eq!(&media_of(&api, &data).await[..5], b"%PDF-");
                assert_eq!(content["fileName"], "receita.pdf");
            }
            "videoMessage" | "stickerMessage" => {
                media_of(&api, &data).await;
            }
            "reactionMessage" => {
                assert_eq!(content["key"]["id"], business.as_str());
                assert_eq!(content["key"]["fromMe"], true);
            }
            "buttonsResponseMessage" => assert_eq!(content["selectedButtonId"], "yes"),
            "listResponseMessage" => {
                assert_eq!(content["singleSelectReply"]["selectedRowId"], "r1")
            }
            "contactsArrayMessage" => {
                assert_fields("contactMessage", &content["contacts"][0]);
            }
            _ => {}
        }
        let interactive = ty.ends_with("ResponseMessage") || ty == "templateButtonReplyMessage";
        if interactive || ty == "conversation" {
            // The reply quotes the instance's message: contextInfo in the content and, as
            // `prepareMessage` lifts it, beside `message`.
            let ctx = &data["contextInfo"];
            assert_eq!(ctx["stanzaId"], business.as_str(), "{ty}");
            assert_eq!(ctx["quotedMessage"]["conversation"], "Escolha um horário");
        }
        if ty == "conversation" {
            assert_eq!(data["message"]["conversation"], "citando");
            assert!(data["message"].get("extendedTextMessage").is_none());
        }
    }
    // The first message of a chat is followed by contacts.upsert, the next ones by
    // contacts.update (whatsapp.baileys.service.ts 2.3.6, messages.upsert handler).
    let events = hook.events();
    assert_eq!(
        events.iter().filter(|e| *e == "contacts.upsert").count(),
        1,
        "{events:?}"
    );
    assert!(events.iter().any(|e| e == "contacts.update"));
    sim.shutdown().await;
}

#[tokio::test]
async fn lid_customers_are_addressed_by_lid_and_answered_there() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", Some(&hook.url))])).await;
    let api = Api::new(&sim);
    let data = deliver(
        &api,
        &hook,
        json!({"from": "5511977776666", "lid": true, "text": "Oi"}),
    )
    .await;
    let key = &data["key"];
    // decode-wa-message.ts (Baileys 7.0.0-rc.6): a LID-addressed 1:1 message has the LID as
    // remoteJid and the phone number as remoteJidAlt.
    assert_eq!(key["addressingMode"], "lid");
    assert_eq!(key["remoteJidAlt"], "5511977776666@s.whatsapp.net");
    let lid = key["remoteJid"].as_str().unwrap().to_string();
    assert!(lid.ends_with("@lid"), "{lid}");
    let up = hook.wait_event("contacts.upsert").await;
    assert_eq!(up.body["data"]["remoteJid"], lid.as_str());
    // The app answers the LID; the journal knows it is the same customer.
    let mut feed = sim.bus.subscribe();
    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": lid, "text": "Olá"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(feed.recv().await.unwrap().to, "5511977776666");
    sim.shutdown().await;
}
