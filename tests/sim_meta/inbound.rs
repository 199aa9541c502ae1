//! Every inbound type, checked field by field against webhooks captured from Meta
//! (tests/fixtures/inbound/meta.json: pywa's test data, cited there), and media downloaded with
//! the hash the webhook states.

use std::collections::BTreeMap;

use base64::Engine;
use sha2::Digest;

use super::*;

/// Every key path of a JSON value with the JSON type at it (array items share one path).
fn shape(v: &Value, path: &str, out: &mut BTreeMap<String, &'static str>) {
    let ty = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(items) => {
            for item in items {
                shape(item, &format!("{path}[]"), out);
            }
            "array"
        }
        Value::Object(map) => {
            for (k, item) in map {
                shape(item, &format!("{path}.{k}"), out);
            }
            "object"
        }
    };
    out.insert(path.to_string(), ty);
}

fn fixture(name: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../fixtures/inbound/meta.json")).unwrap();
    all[name].clone()
}

/// The delivered message has exactly the fixture's fields, with the same JSON types (plus
/// the BSUID `from_user_id` Meta adds since 2026).
fn assert_shaped_like(name: &str, got: &Value) {
    let (mut want, mut have) = (BTreeMap::new(), BTreeMap::new());
    shape(&fixture(name), "", &mut want);
    shape(got, "", &mut have);
    have.remove(".from_user_id");
    assert_eq!(have, want, "{name}: {got:#}");
}

/// Downloads the media of an inbound message as an app does (GET /{id} → url → bytes) and
/// checks the SHA-256 the webhook states.
async fn download(c: &Client, media: &Value) -> Vec<u8> {
    let id = media["id"].as_str().unwrap();
    let (s, meta) = c.get(&format!("/v25.0/{id}"), Some(TOKEN)).await;
    assert_eq!(s, 200, "{meta}");
    let bytes = reqwest::Client::new()
        .get(meta["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let stated = base64::engine::general_purpose::STANDARD
        .decode(media["sha256"].as_str().unwrap())
        .unwrap();
    assert_eq!(stated, Sha256::digest(&bytes).to_vec());
    bytes
}

/// The next inbound message (the statuses of the business's message are skipped).
async fn next_message(app: &mut App) -> Value {
    loop {
        let v = app.next().await.value();
        if v.get("messages").is_some() {
            return v["messages"][0].clone();
        }
    }
}

#[tokio::test]
async fn every_inbound_type_is_shaped_as_meta_delivers_it() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let from = "16505551234";
    c.inbound(json!({"from": from, "text": "hola"})).await;
    app.next().await;
    let (s, sent, _) = c
        .post(
            &format!("/v25.0/{PN}/messages"),
            Some(TOKEN),
            text_to(from, "¿Qué día?"),
        )
        .await;
    assert_eq!(s, 200, "{sent}");
    let business_msg = sent["messages"][0]["id"].as_str().unwrap().to_string();
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 receta");
    let cases = [
        ("image", json!({"image": {}})),
        (
            "video",
            json!({"video": {"data_base64": "AAAAGGZ0eXBtcDQy", "mime_type": "video/mp4",
                                   "caption": "caption"}}),
        ),
        (
            "document",
            json!({"document": {"data_base64": pdf, "mime_type": "application/pdf",
                                         "filename": "receta.pdf", "caption": "caption"}}),
        ),
        ("voice", json!({"audio": {"voice": true}})),
        ("sticker", json!({"sticker": {}})),
        ("reaction", json!({"reaction": {"emoji": "😮"}})),
        (
            "location",
            json!({"location": {"latitude": 37.46, "longitude": -122.21,
                                         "name": "Facebook HQ", "address": "1 Hacker Way"}}),
        ),
        (
            "contacts",
            json!({"contacts": [{"name": "Monica", "phone": "+1 666-666-6666"}]}),
        ),
        (
            "reply",
            json!({"text": "replied text", "context_id": business_msg}),
        ),
        (
            "button_reply",
            json!({"button_reply": {"id": "yes", "title": "Yes"}}),
        ),
        (
            "list_reply",
            json!({"list_reply": {"id": "r1", "title": "Row", "description": "opt"}}),
        ),
        (
            "flow_reply",
            json!({"flow_reply": {"response": {"flow_token": "T"}}}),
        ),
    ];
    for (name, mut body) in cases {
        body["from"] = json!(from);
        c.inbound(body).await;
        let m = next_message(&mut app).await;
        assert_shaped_like(name, &m);
        if let Some(ctx) = m.get("context") {
            // A reply, a tap or a choice answers the business's last message by default.
            assert_eq!(ctx["id"], business_msg.as_str(), "{name}");
            assert_eq!(ctx["from"], "15550783881");
        }
        match name {
            "image" => assert_eq!(&download(&c, &m["image"]).await[..4], b"\x89PNG"),
            "voice" => {
                assert_eq!(m["audio"]["voice"], true);
                assert_eq!(m["audio"]["mime_type"], "audio/ogg; codecs=opus");
                assert_eq!(&download(&c, &m["audio"]).await[..4], b"OggS");
            }
            "document" => {
                assert_eq!(download(&c, &m["document"]).await, b"%PDF-1.4 receta");
                assert_eq!(m["document"]["filename"], "receta.pdf");
            }
            "sticker" => assert_eq!(&download(&c, &m["sticker"]).await[8..12], b"WEBP"),
            "video" => assert_eq!(download(&c, &m["video"]).await.len(), 12),
            "reaction" => assert_eq!(m["reaction"]["message_id"], business_msg.as_str()),
            "contacts" => assert_eq!(m["contacts"][0]["phones"][0]["wa_id"], "16666666666"),
            "flow_reply" => {
                assert_eq!(
                    m["interactive"]["nfm_reply"]["response_json"],
                    r#"{"flow_token":"T"}"#
                )
            }
            _ => {}
        }
    }
    sim.shutdown().await;
}
