//! Every send route of the message router, its validation and its webhooks.
//! upstream: evolution-api 2.3.6 src/api/routes/sendMessage.router.ts,
//! src/validate/message.schema.ts, src/api/controllers/sendMessage.controller.ts,
//! src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts (sendMessageWithTyping)

use std::time::{Duration, Instant};

use base64::Engine;
use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};
use sha2::Digest;

use super::support::*;

const TO: &str = "5511988887777";

async fn hooked(base64: bool) -> (harness::sim::SimHandle, Api, Receiver) {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let set = json!({"webhook": {"enabled": true, "url": hook.url, "base64": base64,
                                 "events": ["SEND_MESSAGE", "MESSAGES_UPDATE"]}});
    let (s, b) = api
        .call("POST", "/webhook/set/a", Some("TA"), Some(set))
        .await;
    assert_eq!(s, 201, "{b}");
    (sim, api, hook)
}

async fn send(api: &Api, route: &str, body: Value) -> (u16, Value) {
    api.call(
        "POST",
        &format!("/message/{route}/a"),
        Some("TA"),
        Some(body),
    )
    .await
}

// upstream: src/validate/message.schema.ts (textMessageSchema: delay's description, linkPreview
// boolean, mentioned minItems 1, quoted.key requires id)
#[tokio::test]
async fn schema_messages_are_the_servers() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let cases = [
        (
            json!({"number": TO, "text": "x", "delay": "100"}),
            json!([["Enter a value in milliseconds"]]),
        ),
        (
            json!({"number": TO, "text": "x", "linkPreview": "yes"}),
            json!([["linkPreview is not of a type(s) boolean"]]),
        ),
        (
            json!({"number": TO, "text": "x", "mentioned": []}),
            json!([["mentioned does not meet minimum length of 1"]]),
        ),
        (
            json!({"number": TO, "text": "x", "quoted": {"key": {}}}),
            json!([["quoted.key requires property \"id\""]]),
        ),
    ];
    for (body, want) in cases {
        let (s, b) = send(&api, "sendText", body).await;
        assert_eq!((s, msg(&b)), (400, &want));
    }
    let (s, b) = send(&api, "sendLocation", json!({"number": TO, "latitude": "1"})).await;
    assert_eq!(s, 400);
    assert_eq!(msg(&b)[0][0], "latitude is not of a type(s) number");
    let poll = json!({"number": TO, "name": "q", "selectableCount": 1, "values": ["a"]});
    let (_, b) = send(&api, "sendPoll", poll).await;
    assert_eq!(
        msg(&b),
        &json!([["values does not meet minimum length of 2"]])
    );
}

// upstream: whatsapp.baileys.service.ts sendMessageWithTyping (contextInfo, send.message) and
// the messages.update acks Baileys reports (SERVER_ACK, DELIVERY_ACK, READ, PLAYED for a ptt)
#[tokio::test]
async fn location_sends_the_ladder_and_audio_is_played() {
    let (_sim, api, hook) = hooked(false).await;
    let loc = json!({"number": TO, "latitude": -23.5, "longitude": -46.6, "name": "Sede",
                     "address": "Av. Paulista"});
    let (s, b) = send(&api, "sendLocation", loc).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["messageType"], "locationMessage");
    assert_eq!(b["message"]["locationMessage"]["degreesLatitude"], -23.5);
    let ts = b["contextInfo"]["ephemeralSettingTimestamp"]["low"]
        .as_u64()
        .unwrap();
    let now = b["messageTimestamp"].as_u64().unwrap();
    assert!(
        (172_790..=172_810).contains(&(now - ts)),
        "two days back: {now} {ts}"
    );
    let id = b["key"]["id"].as_str().unwrap().to_string();
    let sent = hook.wait_event("send.message").await;
    assert_eq!(sent.body["data"]["key"]["id"], id.as_str());
    let mut stamps = vec![sent.body["date_time"].as_str().unwrap().to_string()];
    for status in ["SERVER_ACK", "DELIVERY_ACK", "READ"] {
        let h = hook
            .wait(|h| h.body["data"]["keyId"] == id.as_str() && h.body["data"]["status"] == status)
            .await;
        stamps.push(h.body["date_time"].as_str().unwrap().to_string());
    }
    // Each webhook is stamped when it is sent: READ (40 ms in the test config) after send.message.
    let parse = |s: &str| humantime::parse_rfc3339(s).unwrap();
    let gap = parse(&stamps[3]).duration_since(parse(&stamps[0])).unwrap();
    assert!(gap >= std::time::Duration::from_millis(30), "{stamps:?}");
    let media = media_server().await;
    let (s, b) = send(
        &api,
        "sendWhatsAppAudio",
        json!({"number": TO, "audio": format!("{media}/voice.ogg")}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["message"]["audioMessage"]["ptt"], true);
    let id = b["key"]["id"].as_str().unwrap().to_string();
    hook.wait(|h| h.body["data"]["keyId"] == id.as_str() && h.body["data"]["status"] == "PLAYED")
        .await;
}

// upstream: sendMessageWithTyping waits `delay` ms before sending
#[tokio::test]
async fn delay_is_waited() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let started = Instant::now();
    let (s, _) = send(
        &api,
        "sendText",
        json!({"number": TO, "text": "x", "delay": 300}),
    )
    .await;
    assert_eq!(s, 201);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

// upstream: prepareMediaMessage (axios.get of the URL; InternalServerErrorException on failure),
// sendMessage.router.ts (multer upload.single('file')), webhookBase64 in sendMessageWithTyping
#[tokio::test]
async fn media_is_fetched_uploaded_and_base64_in_the_webhook() {
    let (sim, api, hook) = hooked(true).await;
    let media = media_server().await;
    let dead = json!({"number": TO, "mediatype": "image", "media": format!("{media}/gone.png")});
    let (s, b) = send(&api, "sendMedia", dead).await;
    assert_eq!(
        (s, msg(&b)),
        (
            500,
            &json!(["AxiosError: Request failed with status code 404"])
        )
    );
    let doc = json!({"number": TO, "mediatype": "document", "media": format!("{media}/a.png"), "fileName": "menu.pdf"});
    let (s, b) = send(&api, "sendMedia", doc).await;
    assert_eq!(s, 201, "{b}");
    let m = &b["message"]["documentMessage"];
    assert_eq!(m["mimetype"], "application/pdf");
    assert_eq!(m["fileLength"], MEDIA.len().to_string());
    let sha = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(MEDIA));
    assert_eq!(m["fileSha256"], sha.as_str());
    let hit = hook.wait_event("send.message").await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(MEDIA);
    assert_eq!(hit.body["data"]["message"]["base64"], b64.as_str());

    let mut form = Vec::new();
    for (name, value) in [("number", TO), ("mediatype", "image")] {
        form.extend(
            format!("--XB\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .bytes(),
        );
    }
    form.extend(b"--XB\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\n");
    form.extend(MEDIA);
    form.extend(b"\r\n--XB--\r\n");
    let resp = reqwest::Client::new()
        .post(format!("{}/message/sendMedia/a", sim.base_url))
        .header("apikey", "TA")
        .header("content-type", "multipart/form-data; boundary=XB")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let b: Value = resp.json().await.unwrap();
    assert_eq!(b["message"]["imageMessage"]["mimetype"], "image/jpeg");
}

// upstream: buttonMessage rules, listMessage, reactionMessage (isEmoji), contactMessage vcard,
// templateMessage of the Baileys channel, quoted replies
#[tokio::test]
async fn interactive_reaction_contact_template_and_quotes() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"type": "reply", "displayText": "x", "id": i.to_string()}))
        .collect();
    let (s, b) = send(
        &api,
        "sendButtons",
        json!({"number": TO, "title": "t", "buttons": four}),
    )
    .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!(["Maximum of 3 reply buttons allowed"]))
    );
    let two = json!([{"type": "reply", "displayText": "Reservar", "id": "r"},
                     {"type": "reply", "displayText": "Cancelar", "id": "c"}]);
    let (s, b) = send(
        &api,
        "sendButtons",
        json!({"number": TO, "title": "Cita", "buttons": two}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let flow =
        &b["message"]["viewOnceMessage"]["message"]["interactiveMessage"]["nativeFlowMessage"];
    assert_eq!(flow["buttons"][0]["name"], "quick_reply");
    let list = json!({"number": TO, "title": "Horarios", "footerText": "f", "buttonText": "Ver",
                      "sections": [{"title": "Lunes", "rows": [{"title": "9:00", "rowId": "1"}]}]});
    let (s, b) = send(&api, "sendList", list).await;
    assert_eq!(
        (s, b["message"]["listMessage"]["listType"].clone()),
        (201, json!(2))
    );
    let key = b["key"].clone();
    let (s, b) = send(&api, "sendReaction", json!({"key": key, "reaction": "ab"})).await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!(["Reaction must be a single emoji or empty string"])
        )
    );
    let (s, b) = send(&api, "sendReaction", json!({"key": key, "reaction": "👍"})).await;
    assert_eq!(
        (s, b["message"]["reactionMessage"]["text"].clone()),
        (201, json!("👍"))
    );
    let quoted = json!({"number": TO, "text": "sí", "quoted": {"key": {"id": key["id"]}}});
    let (s, b) = send(&api, "sendText", quoted).await;
    assert_eq!(s, 201);
    assert_eq!(b["contextInfo"]["stanzaId"], key["id"]);
    assert_eq!(
        b["contextInfo"]["quotedMessage"]["listMessage"]["title"],
        "Horarios"
    );
    let contact =
        json!({"number": TO, "contact": [{"fullName": "Ana", "phoneNumber": "5511912345678"}]});
    let (s, b) = send(&api, "sendContact", contact).await;
    assert_eq!(s, 201);
    let vcard = b["message"]["contactMessage"]["vcard"].as_str().unwrap();
    assert!(
        vcard.contains("item1.TEL;waid=5511912345678@s.whatsapp.net:5511912345678"),
        "{vcard}"
    );
    let tpl = json!({"number": TO, "name": "hello", "language": "en"});
    let (s, b) = send(&api, "sendTemplate", tpl).await;
    assert_eq!(
        (s, msg(&b)),
        (500, &json!("Method not available in the Baileys service"))
    );
    let (s, b) = send(
        &api,
        "sendText",
        json!({"number": "120363000000000001@g.us", "text": "x"}),
    )
    .await;
    assert_eq!((s, msg(&b)), (404, &json!(["Group not found"])));
}
