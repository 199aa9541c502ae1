//! The mismatches issue 11 lists on routes that were already served, each against its upstream
//! source (evolution-api 2.3.6).

use harness::sim::evolution::{EvolutionConfig, SeedInstance};
use serde_json::json;

use super::support::*;

// upstream: src/validate/chat.schema.ts (whatsappNumberSchema minItems 1) and
// whatsapp.baileys.service.ts whatsappNumber (OnWhatsAppDto echoes `user.number`)
#[tokio::test]
async fn whatsapp_numbers_min_items_and_echo() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let path = "/chat/whatsappNumbers/a";
    let (s, b) = api
        .call("POST", path, Some("TA"), Some(json!({"numbers": []})))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        b["message"],
        json!([["numbers does not meet minimum length of 1"]])
    );
    let body = json!({"numbers": ["+55 (31) 98888-7777"]});
    let (s, b) = api.call("POST", path, Some("TA"), Some(body)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["number"], "+55 (31) 98888-7777");
    // upstream: src/utils/createJid.ts formatBRNumber drops the 9th digit for DDD 31.
    assert_eq!(b[0]["jid"], "553188887777@s.whatsapp.net");
}

// upstream: src/validate/instance.schema.ts (presenceOnlySchema enum, instanceSchema qrcode
// boolean and number pattern), src/api/services/monitor.service.ts instanceInfoById,
// src/api/integrations/event/webhook/webhook.schema.ts (isNotEmpty('enabled', 'url'))
#[tokio::test]
async fn instance_and_webhook_validation() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    for p in ["composing", "recording", "paused"] {
        let body = json!({"presence": p});
        let (s, b) = api
            .call("POST", "/instance/setPresence/a", Some("TA"), Some(body))
            .await;
        assert_eq!((s, b["presence"].clone()), (201, json!(p)));
    }
    let bad = json!({"instanceName": "x", "integration": "WHATSAPP-BAILEYS", "qrcode": "true", "number": "+55 11"});
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(bad))
        .await;
    assert_eq!(s, 400);
    assert_eq!(
        msg(&b),
        &json!([[
            "number does not match pattern \"^\\\\d+[\\\\.@\\\\w-]+\"",
            "qrcode is not of a type(s) boolean"
        ]])
    );
    let (s, b) = api
        .call(
            "GET",
            "/instance/fetchInstances?number=5599",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!((s, msg(&b)), (404, &json!(["Instance \"5599\" not found"])));
    let hook = json!({"webhook": {"enabled": true, "url": ""}});
    let (s, b) = api
        .call("POST", "/webhook/set/a", Some("TA"), Some(hook))
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!([["The \"url\" cannot be empty"]]))
    );
}

// upstream: src/api/integrations/event/webhook/webhook.controller.ts (global webhook sends only
// the events whose WEBHOOK_EVENTS_<EVENT> is true)
#[tokio::test]
async fn global_webhook_honours_the_events_filter() {
    let hook = Receiver::start().await;
    let events = EvolutionConfig::events_from_env(|k| {
        (k == "WEBHOOK_EVENTS_SEND_MESSAGE").then(|| "true".to_string())
    });
    assert_eq!(events, Some(vec!["SEND_MESSAGE".to_string()]));
    let mut cfg = config(vec![SeedInstance::open("a", "TA", None)]);
    cfg.global_webhook_url = Some(hook.url.clone());
    cfg.global_webhook_events = events;
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    let text = json!({"number": "5511988887777", "text": "hi"});
    let (s, _) = api
        .call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    assert_eq!(s, 201);
    hook.wait_event("send.message").await;
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(hook.events(), vec!["send.message"]);
    assert_eq!(EvolutionConfig::events_from_env(|_| None), None);
}
