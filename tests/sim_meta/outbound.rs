//! Issue 10, Meta outbound: every documented message type and interactive subtype is accepted,
//! malformed ones get Meta's codes; `played` for audio; `failed` statuses with the codes a fault
//! profile asks for; a send to the business's own number is refused.

use super::*;

fn msg(kind: &str, content: Value) -> Value {
    let mut v = json!({"messaging_product":"whatsapp","recipient_type":"individual",
        "to":"16505551234","type":kind});
    v[kind] = content;
    v
}

fn interactive(content: Value) -> Value {
    msg("interactive", content)
}

fn card(i: u64) -> Value {
    json!({"card_index": i, "type": "cta_url",
        "header": {"type": "image", "image": {"link": "https://x.example/a.png"}},
        "body": {"text": "Card"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Open", "url": "https://x.example"}}})
}

/// Valid bodies of each type, from Meta's pages: "Text", "Media" (image, audio, video,
/// document, sticker), "Location", "Contacts" (the array form, as Meta documents it and pywa
/// `send_contact` sends it), "Reaction", "Interactive reply buttons", "Interactive list",
/// "Interactive CTA URL", "Interactive Flow", "Location request", "Interactive media carousel",
/// "Call permission request", "Single- and multi-product", "Catalog".
fn valid_bodies() -> Vec<(&'static str, Value)> {
    let body = json!({"text": "Pick"});
    vec![
        (
            "text",
            msg("text", json!({"body": "Hi", "preview_url": false})),
        ),
        (
            "image",
            msg(
                "image",
                json!({"link": "https://x.example/a.png", "caption": "c"}),
            ),
        ),
        ("audio", msg("audio", json!({"id": "1234567890"}))),
        (
            "video",
            msg("video", json!({"link": "https://x.example/a.mp4"})),
        ),
        (
            "document",
            msg(
                "document",
                json!({"link": "https://x.example/a.pdf", "filename": "a.pdf"}),
            ),
        ),
        ("sticker", msg("sticker", json!({"id": "1234567890"}))),
        (
            "location",
            msg(
                "location",
                json!({"latitude": 19.43, "longitude": -99.13, "name": "Sede"}),
            ),
        ),
        (
            "contacts",
            msg(
                "contacts",
                json!([{"name": {"formatted_name": "Ana López", "first_name": "Ana"},
            "phones": [{"phone": "+52 55 1234 5678", "type": "CELL"}]}]),
            ),
        ),
        (
            "reaction",
            msg(
                "reaction",
                json!({"message_id": "wamid.X", "emoji": "\u{1F44D}"}),
            ),
        ),
        (
            "button",
            interactive(json!({"type": "button", "body": body,
            "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Yes"}}]}})),
        ),
        (
            "list",
            interactive(
                json!({"type": "list", "body": body, "action": {"button": "Slots",
            "sections": [{"title": "Mon", "rows": [{"id": "r1", "title": "10:00"}]}]}}),
            ),
        ),
        (
            "cta_url",
            interactive(
                json!({"type": "cta_url", "body": body, "action": {"name": "cta_url",
            "parameters": {"display_text": "Open", "url": "https://x.example"}}}),
            ),
        ),
        (
            "flow",
            interactive(
                json!({"type": "flow", "body": body, "action": {"name": "flow",
            "parameters": {"flow_message_version": "3", "flow_id": "123", "flow_cta": "Book",
                "flow_action": "navigate", "flow_action_payload": {"screen": "A"}}}}),
            ),
        ),
        (
            "location_request_message",
            interactive(json!({"type": "location_request_message",
            "body": body, "action": {"name": "send_location"}})),
        ),
        (
            "call_permission_request",
            interactive(json!({"type": "call_permission_request",
            "body": body, "action": {"name": "call_permission_request"}})),
        ),
        (
            "carousel",
            interactive(json!({"type": "carousel", "body": body,
            "action": {"cards": [card(0), card(1)]}})),
        ),
        (
            "product",
            interactive(json!({"type": "product",
            "action": {"catalog_id": "c1", "product_retailer_id": "p1"}})),
        ),
        (
            "product_list",
            interactive(
                json!({"type": "product_list", "header": {"type": "text", "text": "Menu"},
            "body": body, "action": {"catalog_id": "c1",
                "sections": [{"title": "S", "product_items": [{"product_retailer_id": "p1"}]}]}}),
            ),
        ),
        (
            "catalog_message",
            interactive(json!({"type": "catalog_message", "body": body,
            "action": {"name": "catalog_message"}})),
        ),
    ]
}

/// Malformed bodies and Meta's codes (reference §2.3: 131008 missing, 131009 bad value, 100
/// Graph-level parameter).
fn malformed_bodies() -> Vec<(&'static str, Value, u64)> {
    let body = json!({"text": "Pick"});
    vec![
        ("empty location", msg("location", json!({})), 131008),
        (
            "latitude out of range",
            msg("location", json!({"latitude": 91, "longitude": 0})),
            131009,
        ),
        (
            "contacts as an object",
            msg("contacts", json!({"name": {"formatted_name": "A"}})),
            100,
        ),
        (
            "contact without formatted_name",
            msg("contacts", json!([{"name": {"first_name": "A"}}])),
            131008,
        ),
        (
            "contact without a name part",
            msg("contacts", json!([{"name": {"formatted_name": "A"}}])),
            131008,
        ),
        (
            "caption on audio",
            msg("audio", json!({"id": "1", "caption": "x"})),
            100,
        ),
        (
            "media link not http",
            msg("image", json!({"link": "file:///etc/passwd"})),
            131009,
        ),
        (
            "cta_url without url",
            interactive(json!({"type": "cta_url", "body": body,
            "action": {"name": "cta_url", "parameters": {"display_text": "Open"}}})),
            131008,
        ),
        (
            "cta_url display_text too long",
            interactive(json!({"type": "cta_url", "body": body,
            "action": {"name": "cta_url", "parameters": {"display_text": "x".repeat(21), "url": "https://x.example"}}})),
            131009,
        ),
        (
            "flow version",
            interactive(
                json!({"type": "flow", "body": body, "action": {"name": "flow",
            "parameters": {"flow_message_version": "2", "flow_id": "1", "flow_cta": "Go"}}}),
            ),
            131009,
        ),
        (
            "flow without id",
            interactive(
                json!({"type": "flow", "body": body, "action": {"name": "flow",
            "parameters": {"flow_message_version": "3", "flow_cta": "Go"}}}),
            ),
            131008,
        ),
        (
            "location request without body",
            interactive(json!({"type": "location_request_message",
            "action": {"name": "send_location"}})),
            131008,
        ),
        (
            "location request wrong action",
            interactive(json!({"type": "location_request_message",
            "body": body, "action": {"name": "send_pin"}})),
            131009,
        ),
        (
            "carousel with one card",
            interactive(json!({"type": "carousel", "body": body,
            "action": {"cards": [card(0)]}})),
            131009,
        ),
        (
            "carousel card index",
            interactive(json!({"type": "carousel", "body": body,
            "action": {"cards": [card(0), card(5)]}})),
            131009,
        ),
        (
            "product without catalog",
            interactive(json!({"type": "product",
            "action": {"product_retailer_id": "p1"}})),
            131008,
        ),
        (
            "unknown interactive type",
            interactive(json!({"type": "hologram", "body": body, "action": {}})),
            131009,
        ),
    ]
}

#[tokio::test]
async fn every_documented_type_is_accepted_and_malformed_ones_get_metas_codes() {
    let (sim, c) = offline().await;
    let path = format!("/v25.0/{PN}/messages");
    c.inbound(json!({"from":"16505551234","text":"hi"})).await;
    for (name, body) in valid_bodies() {
        let (s, v) = c.call(&path, body).await;
        assert_eq!(s, 200, "{name}: {v}");
        assert!(
            v["messages"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("wamid."),
            "{name}"
        );
    }
    for (name, body, code) in malformed_bodies() {
        let (s, v) = c.call(&path, body).await;
        assert_eq!(
            (s, v["error"]["code"].as_u64()),
            (400, Some(code)),
            "{name}: {v}"
        );
    }
    // Sending to the business's own number is refused (issue 11).
    // upstream: pywa `pywa/errors.py` `RecipientCannotBeSender` (131021).
    let (s, v) = c.call(&path, text_to("15550783881", "me")).await;
    assert_graph_error(s, &v, 400, 131021);
    sim.shutdown().await;
}

/// upstream: [M-wh-status] `played` ("voice message played"), after `read`.
#[tokio::test]
async fn audio_is_reported_played_after_read() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    c.inbound(json!({"from":"16505551234","text":"hi"})).await;
    app.next().await;
    let (s, v) = c
        .call(&format!("/{PN}/messages"), msg("audio", json!({"id": "1"})))
        .await;
    assert_eq!(s, 200, "{v}");
    let st = app.statuses(4).await;
    let kinds: Vec<&str> = st.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["sent", "delivered", "read", "played"]);
    assert_eq!(st[3]["id"], v["messages"][0]["id"]);
    sim.shutdown().await;
}

/// upstream: reference §2.2 (webhook error items) and §2.3 (131026, 131049, 131050, 368); the
/// codes come from a fault profile rule `failed_status: {rate, code}`.
#[tokio::test]
async fn fault_profiles_fail_accepted_sends_with_the_codes_they_name() {
    let mut app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    c.inbound(json!({"from":"16505551234","text":"hi"})).await;
    app.next().await;
    for code in [131026u64, 131049, 131050, 368] {
        let rule = json!({"rules": [{"tenant": PN, "failed_status": {"rate": 1.0, "code": code}}]});
        let (s, v, _) = c.post("/__harness/faults", None, rule).await;
        assert_eq!(s, 200, "{v}");
        let (s, v) = c
            .call(&format!("/{PN}/messages"), text_to("16505551234", "x"))
            .await;
        assert_eq!(s, 200, "accepted first: {v}");
        let st = app.statuses(1).await;
        assert_eq!(st[0]["status"], "failed");
        assert_eq!(st[0]["errors"][0]["code"], code);
        assert!(st[0]["errors"][0]["title"].is_string());
        assert_eq!(
            st[0]["errors"][0]["href"],
            harness::sim::meta::graph::ERROR_CODES_HREF
        );
    }
    let (s, _, _) = c
        .post("/__harness/faults", None, json!({"rules": []}))
        .await;
    assert_eq!(s, 200);
    c.call(&format!("/{PN}/messages"), text_to("16505551234", "ok"))
        .await;
    assert_eq!(app.statuses(1).await[0]["status"], "sent");
    sim.shutdown().await;
}
