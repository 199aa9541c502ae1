//! Messages and webhooks: sends, acks, inbound, webhook settings, retries, the global webhook.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn send_text_publishes_answers_201_and_acks_by_webhook() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", Some(&hook.url))])).await;
    let api = Api::new(&sim);
    let mut feed = sim.bus.subscribe();
    let body = json!({"number": "+55 11 98888-7777", "text": "Olá"});
    let (s, b) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    let id = b["key"]["id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 22);
    assert!(id.starts_with("3EB0"));
    assert_eq!(b["key"]["remoteJid"], "5511988887777@s.whatsapp.net");
    assert_eq!(b["key"]["fromMe"], true);
    assert_eq!(b["status"], "PENDING");
    assert_eq!(b["message"], json!({"conversation": "Olá"}));
    assert_eq!(b["messageType"], "conversation");
    assert_eq!(b["pushName"], "Você");
    assert_eq!(b["source"], "web");
    assert!(b["messageTimestamp"].is_u64());

    let published = feed.recv().await.unwrap();
    assert_eq!(
        (published.tenant.as_str(), published.to.as_str()),
        ("a", "5511988887777")
    );
    assert_eq!(published.message_id, id);
    assert_eq!(published.text.as_deref(), Some("Olá"));

    let (s, list) = api
        .call("GET", "/__harness/outbound?to=5511988887777", None, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["provider"], "evolution");
    assert_eq!(list[0]["kind"], "text");
    assert!(list[0]["at"].as_str().unwrap().ends_with('Z'));

    let sent = hook.wait_event("send.message").await;
    assert_eq!(sent.body["data"]["key"]["id"], id.as_str());
    assert_eq!(sent.path, "/hook");
    for key in [
        "event",
        "instance",
        "data",
        "destination",
        "date_time",
        "sender",
        "server_url",
        "apikey",
    ] {
        assert!(
            sent.body.get(key).is_some(),
            "envelope lacks {key}: {}",
            sent.body
        );
    }
    assert_eq!(sent.body["apikey"], "TA");
    assert_eq!(sent.body["server_url"], sim.base_url.as_str());
    assert_eq!(sent.headers["user-agent"], "axios/1.7.9");
    let delivered = hook
        .wait(|h| h.body["data"]["status"] == "DELIVERY_ACK")
        .await;
    assert_eq!(delivered.body["event"], "messages.update");
    assert_eq!(delivered.body["data"]["keyId"], id.as_str());
    hook.wait(|h| h.body["data"]["status"] == "READ").await;

    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": "1"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!([["instance requires property \"text\""]]))
    );
    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(json!({"number": "123", "text": "x"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (
            400,
            &json!([{"jid": "123@s.whatsapp.net", "exists": false, "number": "123"}])
        )
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn send_media_and_sending_while_closed() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let media = media_server().await;
    let body = json!({"number": "5511988887777", "mediatype": "image", "media": format!("{media}/a.png"), "caption": "menu"});
    let (s, b) = api
        .call("POST", "/message/sendMedia/a", Some("TA"), Some(body))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["messageType"], "imageMessage");
    assert_eq!(b["message"]["imageMessage"]["caption"], "menu");
    assert_eq!(b["status"], "PENDING");
    let out = sim.bus.query(&Default::default(), 10);
    assert_eq!(
        (out[0].kind.as_str(), out[0].text.as_deref()),
        ("image", Some("menu"))
    );
    let bad = json!({"number": "5511988887777", "mediatype": "image", "media": "%%%"});
    let (s, b) = api
        .call("POST", "/message/sendMedia/a", Some("TA"), Some(bad))
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!(["Owned media must be a url or base64"]))
    );

    api.call("DELETE", "/instance/logout/a", Some("TA"), None)
        .await;
    let text = json!({"number": "5511988887777", "text": "hi"});
    let (s, b) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    assert_eq!((s, msg(&b)), (500, &json!("Connection Closed")));
    sim.shutdown().await;
}

#[tokio::test]
async fn webhook_set_find_by_events_and_inbound() {
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let (s, b) = api.call("GET", "/webhook/find/a", Some("TA"), None).await;
    assert_eq!((s, b), (200, Value::Null));
    let set = json!({"webhook": {"enabled": true, "url": hook.url, "byEvents": true,
                                 "headers": {"authorization": "Bearer app"},
                                 "events": ["MESSAGES_UPSERT"]}});
    let (s, row) = api
        .call("POST", "/webhook/set/a", Some("TA"), Some(set))
        .await;
    assert_eq!(s, 201, "{row}");
    assert_eq!(row["events"], json!(["MESSAGES_UPSERT"]));
    assert_eq!(row["webhookByEvents"], true);
    assert!(row["id"].as_str().unwrap().starts_with('c'));
    let (_, found) = api.call("GET", "/webhook/find/a", Some("TA"), None).await;
    assert_eq!(found, row);
    let (s, b) = api
        .call(
            "POST",
            "/webhook/set/a",
            Some("TA"),
            Some(json!({"webhook": {"enabled": true}})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!([["webhook requires property \"url\""]]))
    );

    let (s, b) = api
        .call(
            "POST",
            "/__harness/inbound",
            None,
            Some(json!({"from": "+55 11 97777-6666", "name": "Ana", "text": "Necesito una cita"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let id = b["message_id"].as_str().unwrap().to_string();
    let up = hook.wait_event("messages.upsert").await;
    assert_eq!(up.path, "/hook/messages-upsert");
    assert_eq!(up.headers["authorization"], "Bearer app");
    assert_eq!(up.body["destination"], hook.url.as_str());
    let data = &up.body["data"];
    // Baileys 7 keys carry the alternate JID (the LID) and the addressing mode
    // (upstream: evolution-api 2.3.6 whatsapp.baileys.service.ts `messageRaw.key.remoteJidAlt`,
    // `key.addressingMode === 'lid'`).
    let lid = data["key"]["remoteJidAlt"].as_str().unwrap().to_string();
    assert!(lid.ends_with("@lid") && lid.len() == 19, "{lid}");
    assert_eq!(
        data["key"],
        json!({"remoteJid": "5511977776666@s.whatsapp.net", "fromMe": false, "id": id,
               "remoteJidAlt": lid, "addressingMode": "pn"})
    );
    assert_eq!(data["pushName"], "Ana");
    assert_eq!(data["message"]["conversation"], "Necesito una cita");
    assert_eq!(data["messageType"], "conversation");
    assert_eq!(data["status"], "DELIVERY_ACK");
    // Events not subscribed are not sent.
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(json!({"number": "5511977776666", "text": "ok"})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(hook.events(), vec!["messages.upsert"]);
    // The contact's name is known now.
    let (s, b) = api
        .call(
            "POST",
            "/chat/whatsappNumbers/a",
            Some("TA"),
            Some(json!({"numbers": ["5511977776666", "12"]})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        b,
        json!([{"jid": "5511977776666@s.whatsapp.net", "exists": true, "number": "5511977776666", "name": "Ana"},
               {"jid": "12@s.whatsapp.net", "exists": false, "number": "12"}])
    );
    let (s, b) = api
        .call(
            "POST",
            "/chat/whatsappNumbers/a",
            Some("TA"),
            Some(json!({"numbers": "x"})),
        )
        .await;
    assert_eq!(
        (s, &b["message"]),
        (400, &json!([["numbers is not of a type(s) array"]]))
    );
    assert!(b.get("response").is_none());
    let (s, _) = api
        .call(
            "POST",
            "/__harness/inbound",
            None,
            Some(json!({"from": "1", "text": "x", "instance": "zz"})),
        )
        .await;
    assert_eq!(s, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_webhooks_are_retried_with_backoff() {
    let flaky = Receiver::failing(2, StatusCode::INTERNAL_SERVER_ERROR).await;
    let sim = start(config(vec![SeedInstance::open(
        "a",
        "TA",
        Some(&flaky.url),
    )]))
    .await;
    let api = Api::new(&sim);
    // Only messages.upsert: its follow-up contacts.upsert would take one of the failures.
    let only =
        json!({"webhook": {"enabled": true, "url": flaky.url, "events": ["MESSAGES_UPSERT"]}});
    api.call("POST", "/webhook/set/a", Some("TA"), Some(only))
        .await;
    api.call(
        "POST",
        "/__harness/inbound",
        None,
        Some(json!({"from": "5511977776666", "text": "hi"})),
    )
    .await;
    flaky.wait_event("messages.upsert").await;
    let (_, log) = api.call("GET", "/__harness/webhooks", None, None).await;
    let d = log
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["event"] == "messages.upsert")
        .unwrap();
    assert_eq!(
        (
            d["attempts"].clone(),
            d["outcome"].clone(),
            d["last_status"].clone()
        ),
        (json!(3), json!("delivered"), json!(200))
    );

    // 404 is final: no retry.
    let gone = Receiver::failing(100, StatusCode::NOT_FOUND).await;
    let sim2 = start(config(vec![SeedInstance::open("a", "TA", Some(&gone.url))])).await;
    let api2 = Api::new(&sim2);
    api2.call(
        "POST",
        "/__harness/inbound",
        None,
        Some(json!({"from": "5511977776666", "text": "hi"})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, log) = api2.call("GET", "/__harness/webhooks", None, None).await;
        if log[0]["outcome"] == "failed" {
            assert_eq!(
                (log[0]["attempts"].clone(), log[0]["last_status"].clone()),
                (json!(1), json!(404))
            );
            break;
        }
        assert!(Instant::now() < deadline, "{log}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.shutdown().await;
    sim2.shutdown().await;
}

#[tokio::test]
async fn global_webhook_receives_every_instance_by_events() {
    let hook = Receiver::start().await;
    let mut cfg = config(vec![SeedInstance::open("a", "TA", None)]);
    cfg.global_webhook_url = Some(hook.url.clone());
    cfg.global_webhook_by_events = true;
    cfg.expose_token_in_webhooks = false;
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    let inbound = json!({"from": "5511977776666", "text": "hola", "instance": "a"});
    assert_eq!(
        api.call("POST", "/__harness/inbound", None, Some(inbound))
            .await
            .0,
        200
    );
    let up = hook.wait_event("messages.upsert").await;
    assert_eq!(up.path, "/hook/messages-upsert");
    assert_eq!(
        up.body["destination"],
        format!("{}/messages-upsert", hook.url)
    );
    assert_eq!(up.body["apikey"], Value::Null);
    let create = json!({"instanceName": "new", "integration": "WHATSAPP-BAILEYS"});
    assert_eq!(
        api.call("POST", "/instance/create", Some(KEY), Some(create))
            .await
            .0,
        201
    );
    let created = hook.wait_event("instance.create").await;
    assert_eq!(created.path, "/hook/instance-create");
    assert_eq!(created.body["instance"], "new");
    assert!(
        created.body.get("sender").is_none(),
        "no sender before the first open"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn jwt_key_header_becomes_a_signed_bearer_token() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let hook = Receiver::start().await;
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let set = json!({"webhook": {"enabled": true, "url": hook.url, "headers": {"jwt_key": "k3y"},
                                 "events": ["MESSAGES_UPSERT"]}});
    assert_eq!(
        api.call("POST", "/webhook/set/a", Some("TA"), Some(set))
            .await
            .0,
        201
    );
    let inbound = json!({"from": "5511977776666", "text": "hola"});
    api.call("POST", "/__harness/inbound", None, Some(inbound))
        .await;
    let up = hook.wait_event("messages.upsert").await;
    assert!(up.headers.get("jwt_key").is_none());
    let auth = up.headers["authorization"].to_str().unwrap();
    let jwt = auth.strip_prefix("Bearer ").unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"k3y").unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        (claims["app"].as_str(), claims["action"].as_str()),
        (Some("evolution"), Some("webhook"))
    );
    sim.shutdown().await;
}
