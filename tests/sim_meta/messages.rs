//! Sends, inbound messages, statuses, validation, auth and tenants, limits, the service window.

use super::*;

#[tokio::test]
async fn inbound_webhook_is_signed_ascii_and_complete() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let r = c
        .inbound(json!({"from":"+52 1 55 1234 5678","name":"José","text":"¿Cita mañana? 😀"}))
        .await;
    assert_eq!(r["phone_number_id"], PN);
    assert_eq!(r["from"], "5215512345678");
    let wamid = r["message_id"].as_str().unwrap();
    assert!(wamid.starts_with("wamid."));
    let got = app.next().await;
    assert_signed(&got);
    let text = std::str::from_utf8(&got.body).unwrap();
    assert!(
        text.contains(r"\u00bfCita ma\u00f1ana? \ud83d\ude00"),
        "{text}"
    );
    assert_eq!(got.headers["user-agent"], "facebookexternalua");
    let v = got.json();
    assert_eq!(v["object"], "whatsapp_business_account");
    assert_eq!(v["entry"][0]["id"], "102290129340398");
    let val = got.value();
    assert_eq!(val["metadata"]["phone_number_id"], PN);
    assert_eq!(val["metadata"]["display_phone_number"], "15550783881");
    assert_eq!(val["contacts"][0]["profile"]["name"], "José");
    assert_eq!(val["contacts"][0]["wa_id"], "5215512345678");
    assert_eq!(val["contacts"][0]["user_id"], r["user_id"]);
    let m = &val["messages"][0];
    assert_eq!(m["id"], wamid);
    assert_eq!(m["type"], "text");
    assert_eq!(m["text"]["body"], "¿Cita mañana? 😀");
    assert!(m["timestamp"].as_str().unwrap().parse::<u64>().is_ok());

    // Interactive replies.
    c.inbound(json!({"from":"5215512345678","button_reply":{"id":"yes","title":"Sí"}}))
        .await;
    let m = app.next().await.value()["messages"][0].clone();
    assert_eq!(m["interactive"]["button_reply"]["id"], "yes");
    c.inbound(
        json!({"from":"5215512345678","list_reply":{"id":"r1","title":"Row","description":"d"}}),
    )
    .await;
    let m = app.next().await.value()["messages"][0].clone();
    assert_eq!(m["interactive"]["list_reply"]["description"], "d");

    let (s, v, _) = c
        .post("/__harness/inbound", None, json!({"from":"5215512345678"}))
        .await;
    assert_eq!(s, 400, "{v}");
    let (s, _, _) = c
        .post("/__harness/inbound", None, json!({"from":"1","text":"x"}))
        .await;
    assert_eq!(s, 400);
    let (s, _, _) = c
        .post(
            "/__harness/inbound",
            None,
            json!({"from":"5215512345678","text":"x","phone_number_id":"9"}),
        )
        .await;
    assert_eq!(s, 404);
    sim.shutdown().await;
}

#[tokio::test]
async fn text_send_publishes_and_reports_sent_delivered_read() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    c.inbound(json!({"from":"16505551234","name":"Ann","text":"hi"}))
        .await;
    app.next().await;
    let mut bus = sim.bus.subscribe();
    let (s, v, _) = c
        .post(
            &format!("/v25.0/{PN}/messages"),
            Some(TOKEN),
            text_to("+1 650 555 1234", "Hello"),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["messaging_product"], "whatsapp");
    assert_eq!(v["contacts"][0]["input"], "+1 650 555 1234");
    assert_eq!(v["contacts"][0]["wa_id"], "16505551234");
    let wamid = v["messages"][0]["id"].as_str().unwrap().to_string();
    assert!(wamid.starts_with("wamid."));
    let published = bus.recv().await.unwrap();
    assert_eq!(published.message_id, wamid);
    assert_eq!(published.to, "16505551234");
    assert_eq!(published.tenant, PN);
    assert_eq!(published.text.as_deref(), Some("Hello"));

    let (s, list) = c.get("/__harness/outbound?to=16505551234", None).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["provider"], "meta");
    assert_eq!(list[0]["kind"], "text");

    let st = app.statuses(3).await;
    let names: Vec<&str> = st.iter().map(|s| s["status"].as_str().unwrap()).collect();
    assert_eq!(names, ["sent", "delivered", "read"]);
    for s in &st {
        assert_eq!(s["id"], wamid);
        assert_eq!(s["recipient_id"], "16505551234");
        assert_eq!(s["pricing"]["category"], "service");
    }
    assert!(st[0]["conversation"]["expiration_timestamp"].is_string());
    sim.shutdown().await;
}

#[tokio::test]
async fn every_message_kind_on_versioned_and_unversioned_paths() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let inb = c.inbound(json!({"from":"16505551234","text":"hi"})).await;
    let in_id = inb["message_id"].as_str().unwrap();
    let to = "16505551234";
    let bodies = [
        json!({"messaging_product":"whatsapp","to":to,"type":"template",
            "template":{"name":"hello_world","language":{"code":"en_US"}}}),
        json!({"messaging_product":"whatsapp","to":to,"type":"interactive",
            "interactive":{"type":"button","body":{"text":"Pick"},
              "action":{"buttons":[{"type":"reply","reply":{"id":"y","title":"Yes"}}]}}}),
        json!({"messaging_product":"whatsapp","to":to,"type":"interactive",
            "interactive":{"type":"list","body":{"text":"Choose"},"action":{"button":"Options",
              "sections":[{"title":"S","rows":[{"id":"r1","title":"Row"}]}]}}}),
        json!({"messaging_product":"whatsapp","to":to,"type":"reaction",
            "reaction":{"message_id":in_id,"emoji":"👍"}}),
        json!({"messaging_product":"whatsapp","to":to,"type":"image",
            "image":{"link":"https://example.com/a.png"}}),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let path = if i % 2 == 0 {
            format!("/v21.0/{PN}/messages")
        } else {
            format!("/{PN}/messages")
        };
        let (s, v, _) = c.post(&path, Some(TOKEN), body.clone()).await;
        assert_eq!(s, 200, "{body} → {v}");
        assert!(v["messages"][0]["id"]
            .as_str()
            .unwrap()
            .starts_with("wamid."));
        let status = v["messages"][0].get("message_status");
        assert_eq!(status.is_some(), i == 0, "message_status only on templates");
    }
    let (_, list) = c
        .get(&format!("/__harness/outbound?tenant={PN}"), None)
        .await;
    let kinds: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["template", "buttons", "list", "reaction", "image"]);

    // Mark as read, with and without the typing indicator.
    let read = json!({"messaging_product":"whatsapp","status":"read","message_id":in_id});
    let (s, v, _) = c
        .post(&format!("/v25.0/{PN}/messages"), Some(TOKEN), read)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let typing = json!({"messaging_product":"whatsapp","status":"read","message_id":in_id,
        "typing_indicator":{"type":"text"}});
    let (s, v, _) = c
        .post(&format!("/{PN}/messages"), Some(TOKEN), typing)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let bad = json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.nope"});
    let (s, v, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), bad).await;
    assert_graph_error(s, &v, 400, 131009);
    app.next().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn validation_errors_are_graph_objects() {
    let app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let path = format!("/v25.0/{PN}/messages");
    let cases = [
        (json!({"to":"16505551234","text":{"body":"x"}}), 100),
        (
            json!({"messaging_product":"whatsapp","text":{"body":"x"}}),
            100,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"16505551234","type":"hologram","hologram":{}}),
            131051,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{}}),
            131008,
        ),
        (
            json!({"messaging_product":"whatsapp","to":"16505551234","type":"template","template":{"name":"x"}}),
            131008,
        ),
    ];
    for (body, code) in cases {
        let (s, v, _) = c.post(&path, Some(TOKEN), body.clone()).await;
        assert_graph_error(s, &v, 400, code);
    }
    let tpl = json!({"messaging_product":"whatsapp","to":"16505551234","type":"template",
        "template":{"name":"not_approved","language":{"code":"es"}}});
    let (s, v, _) = c.post(&path, Some(TOKEN), tpl).await;
    assert_graph_error(s, &v, 404, 132001);
    let (s, v, _) = c.post(&path, Some(TOKEN), json!({"to":"1"})).await;
    assert_eq!(
        v["error"]["message"],
        "(#100) The parameter messaging_product is required."
    );
    assert_eq!(s, 400);
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url))
        .bearer_auth(TOKEN)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn auth_and_tenant_isolation() {
    let app = App::start("vt").await;
    let mut cfg = config(&app.url);
    cfg.phone_numbers = vec![
        PhoneNumber::new("111", "15550000001").with_token("tok-a"),
        PhoneNumber::new("222", "15550000002").with_token("tok-b"),
    ];
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    let body = json!({"messaging_product":"whatsapp","to":"16505551234","type":"template",
        "template":{"name":"hello_world","language":{"code":"en_US"}}});
    let (s, v, h) = c.post("/v25.0/111/messages", None, body.clone()).await;
    assert_graph_error(s, &v, 401, 190);
    assert!(h["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (s, v, _) = c
        .post("/v25.0/111/messages", Some("wrong"), body.clone())
        .await;
    assert_graph_error(s, &v, 401, 190);
    assert_eq!(
        v["error"]["message"],
        "Invalid OAuth access token - Cannot parse access token"
    );
    // Tenant B's token on tenant A's number: the same answer as a node that does not exist.
    let (s, v, _) = c
        .post("/v25.0/111/messages", Some("tok-b"), body.clone())
        .await;
    assert_graph_error(s, &v, 400, 100);
    assert_eq!(v["error"]["error_subcode"], 33);
    assert_eq!(v["error"]["type"], "GraphMethodException");
    let (s2, v2, _) = c
        .post("/v25.0/999/messages", Some("tok-b"), body.clone())
        .await;
    assert_eq!((s2, &v2["error"]["error_subcode"]), (400, &json!(33)));
    // The global token has no power over numbers with their own token.
    let (s, _, _) = c.post("/111/messages", Some(TOKEN), body.clone()).await;
    assert_eq!(s, 400);
    // Each token works on its own number, and the bus attributes messages to that tenant only.
    let (s, _, _) = c
        .post("/v25.0/111/messages", Some("tok-a"), body.clone())
        .await;
    assert_eq!(s, 200);
    let (_, a) = c.get("/__harness/outbound?tenant=111", None).await;
    let (_, b) = c.get("/__harness/outbound?tenant=222", None).await;
    assert_eq!(
        (a.as_array().unwrap().len(), b.as_array().unwrap().len()),
        (1, 0)
    );
    // Access token in the query string.
    let (s, _, _) = c
        .post("/v25.0/222/messages?access_token=tok-b", None, body)
        .await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn throughput_and_pair_rate_limits() {
    let app = App::start("vt").await;
    let mut cfg = config(&app.url);
    // Refill so slow that no refill can happen during the test: no wall-clock dependence.
    cfg.limits.throughput = Rate {
        per_second: 1e-6,
        burst: 3.0,
    };
    cfg.limits.pair = Rate {
        per_second: 1e-6,
        burst: 1.0,
    };
    cfg.error_statuses.insert(130429, 429);
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    let tpl = |to: &str| {
        json!({"messaging_product":"whatsapp","to":to,"type":"template",
            "template":{"name":"t","language":{"code":"es"}}})
    };
    let path = format!("/{PN}/messages");
    let (s, _, _) = c.post(&path, Some(TOKEN), tpl("16505550001")).await;
    assert_eq!(s, 200);
    let (s, v, h) = c.post(&path, Some(TOKEN), tpl("16505550001")).await;
    assert_graph_error(s, &v, 400, 131056);
    assert_eq!(h["retry-after"], "6");
    assert!(v["error"]["error_data"]["details"]
        .as_str()
        .unwrap()
        .contains("same phone number"));
    let (s, _, _) = c.post(&path, Some(TOKEN), tpl("16505550002")).await;
    assert_eq!(s, 200);
    let (s, v, h) = c.post(&path, Some(TOKEN), tpl("16505550003")).await;
    assert_graph_error(s, &v, 429, 130429);
    // Throttled calls carry Retry-After and Graph's usage header (issue 11; reference §2.3
    // [M-rl]: the header's exact values are unverified).
    assert_eq!(h["retry-after"], "1");
    let usage: Value =
        serde_json::from_str(h["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    let waba = MetaConfig::default().waba_id;
    assert!(
        usage[&waba][0]["estimated_time_to_regain_access"].is_u64(),
        "{usage}"
    );
    assert_eq!(v["error"]["message"], "(#130429) Rate limit hit");
    // Reset restores the budgets.
    let (s, _, _) = c.post("/__harness/reset", None, json!({})).await;
    assert_eq!(s, 200);
    let (s, _, _) = c.post(&path, Some(TOKEN), tpl("16505550003")).await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn outside_the_service_window_free_form_fails_asynchronously() {
    let mut app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    let body = text_to("16505557777", "Reminder");
    let (s, v, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), body).await;
    assert_eq!(s, 200, "{v}");
    let wamid = v["messages"][0]["id"].clone();
    let st = app.statuses(1).await;
    assert_eq!(st[0]["status"], "failed");
    assert_eq!(st[0]["id"], wamid);
    assert_eq!(st[0]["errors"][0]["code"], 131047);
    assert_eq!(st[0]["errors"][0]["title"], "Re-engagement message");
    // Never delivered, so not on the bus.
    let (_, list) = c.get("/__harness/outbound?to=16505557777", None).await;
    assert_eq!(list, json!([]));
    // A template is allowed outside the window.
    let tpl = json!({"messaging_product":"whatsapp","to":"16505557777","type":"template",
        "template":{"name":"reminder","language":{"code":"es"}}});
    let (s, _, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), tpl).await;
    assert_eq!(s, 200);
    assert_eq!(app.statuses(1).await[0]["status"], "sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn replies_by_business_scoped_user_id_are_attributed_to_the_phone() {
    let mut app = App::start("vt").await;
    let sim = sim(sent_only(&app.url)).await;
    let c = Client::new(&sim);
    // A username user whose phone number the webhook withholds.
    let inb = c
        .inbound(json!({"from":"573001234567","text":"hola","username":"@ana","hide_phone":true}))
        .await;
    let hook = app.next().await.value();
    assert!(hook["messages"][0].get("from").is_none(), "{hook}");
    assert!(hook["contacts"][0].get("wa_id").is_none(), "{hook}");
    assert_eq!(hook["contacts"][0]["profile"]["username"], "@ana");
    let user_id = inb["user_id"].as_str().unwrap();
    assert_eq!(hook["messages"][0]["from_user_id"], user_id);
    assert!(user_id.starts_with("CO."), "{user_id}");
    let body = json!({"messaging_product":"whatsapp","recipient":user_id,"type":"text","text":{"body":"¡Hola!"}});
    let (s, v, _) = c
        .post(&format!("/v25.0/{PN}/messages"), Some(TOKEN), body)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["contacts"][0]["user_id"], user_id);
    assert_eq!(v["contacts"][0]["input"], user_id);
    let (_, list) = c.get("/__harness/outbound?to=573001234567", None).await;
    assert_eq!(list[0]["text"], "¡Hola!");
    let st = app.statuses(1).await;
    assert_eq!(st[0]["recipient_user_id"], user_id);
    let bad = json!({"messaging_product":"whatsapp","recipient":"US.1","text":{"body":"x"}});
    let (s, v, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), bad).await;
    assert_graph_error(s, &v, 400, 131009);
    sim.shutdown().await;
}

#[tokio::test]
async fn concurrent_sends_never_exceed_the_throughput_budget() {
    let app = App::start("vt").await;
    let mut cfg = config(&app.url);
    cfg.webhook_url = None;
    cfg.limits.throughput = Rate {
        per_second: 1e-6,
        burst: 10.0,
    };
    cfg.limits.pair = Rate::UNLIMITED;
    let sim = sim(cfg).await;
    let c = Arc::new(Client::new(&sim));
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let body = json!({"messaging_product":"whatsapp","to":format!("165055520{i:02}"),
                    "type":"template","template":{"name":"t","language":{"code":"es"}}});
                let (s, v, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), body).await;
                (s, v["error"]["code"].as_u64())
            })
        })
        .collect();
    let mut ok = 0;
    let mut throttled = 0;
    for t in tasks {
        match t.await.unwrap() {
            (200, None) => ok += 1,
            (400, Some(130429)) => throttled += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((ok, throttled), (10, 20));
    let (_, list) = c
        .get(&format!("/__harness/outbound?tenant={PN}"), None)
        .await;
    assert_eq!(
        list.as_array().unwrap().len(),
        10,
        "only accepted sends are published"
    );
    sim.shutdown().await;
}
