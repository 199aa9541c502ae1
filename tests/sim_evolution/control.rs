//! The control API: faults, the journal bound and long-polling, reset.

use std::time::{Duration, Instant};

use harness::sim::evolution::SeedInstance;
use serde_json::{json, Value};

use super::support::*;

#[tokio::test]
async fn faults_per_endpoint_and_tenant() {
    let sim = start_two_tenants().await;
    let api = Api::new(&sim);
    let text = json!({"number": "5511988887777", "text": "x"});
    let profile = json!({"rules": [
        {"endpoint": "/message/sendText/{instance}", "tenant": "a",
         "error": {"rate": 1.0, "status": 500, "body": {"status": 500, "error": "Internal Server Error", "response": {"message": "Connection Closed"}}}},
        {"endpoint": "/instance/connectionState/*", "tenant": "b", "latency": {"kind": "fixed", "delay": "200ms"}},
        {"endpoint": "/chat/*", "reset_rate": 1.0},
        {"endpoint": "/webhook/find/{instance}", "downtime": [{"start": 0, "duration": "1h"}]}
    ]});
    let (s, echoed) = api
        .call("POST", "/__harness/faults", None, Some(profile))
        .await;
    assert_eq!(s, 200, "{echoed}");
    assert_eq!(
        api.call("GET", "/__harness/faults", None, None).await.1,
        echoed
    );

    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/a",
            Some("TA"),
            Some(text.clone()),
        )
        .await;
    assert_eq!((s, msg(&b)), (500, &json!("Connection Closed")));
    assert_eq!(
        api.call(
            "POST",
            "/message/sendText/b",
            Some("TB"),
            Some(text.clone())
        )
        .await
        .0,
        201
    );
    let t0 = Instant::now();
    assert_eq!(
        api.call("GET", "/instance/connectionState/b", Some("TB"), None)
            .await
            .0,
        200
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(200),
        "latency not applied"
    );
    let err = api
        .http
        .post(format!("{}/chat/whatsappNumbers/a", api.base))
        .header("apikey", "TA")
        .json(&json!({"numbers": []}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_request() || err.is_connect(), "{err:?}");
    assert_eq!(
        api.call("GET", "/webhook/find/a", Some("TA"), None).await.0,
        503
    );

    let bad = api
        .call(
            "POST",
            "/__harness/faults",
            None,
            Some(json!({"rules": [{"latncy": 1}]})),
        )
        .await;
    assert_eq!(bad.0, 400);
    let (s, cleared) = api.call("DELETE", "/__harness/faults", None, None).await;
    assert_eq!((s, cleared), (200, json!({"rules": []})));
    assert_eq!(
        api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
            .await
            .0,
        201
    );
    assert_eq!(
        api.call("GET", "/webhook/find/a", Some("TA"), None).await.0,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn journal_is_bounded_and_outbound_long_polls() {
    let mut cfg = config(vec![SeedInstance::open("a", "TA", None)]);
    cfg.journal_capacity = 5;
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    for i in 0..20 {
        let text = json!({"number": format!("55119888{i:05}"), "text": format!("m{i}")});
        assert_eq!(
            api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
                .await
                .0,
            201
        );
    }
    let (_, all) = api.call("GET", "/__harness/outbound", None, None).await;
    let texts: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, vec!["m15", "m16", "m17", "m18", "m19"]);
    let (_, health) = api.call("GET", "/__harness/health", None, None).await;
    assert_eq!(
        health["journal"],
        json!({"len": 5, "capacity": 5, "dropped": 15})
    );
    assert_eq!(health["provider"], "evolution");

    // Long-poll: waits for a message sent later.
    let last_seq = all[4]["seq"].as_u64().unwrap();
    let poll = {
        let url = format!(
            "{}/__harness/outbound?to=5511900000123&since={last_seq}&wait_ms=5000",
            sim.base_url
        );
        tokio::spawn(async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let text = json!({"number": "5511900000123", "text": "late"});
    api.call("POST", "/message/sendText/a", Some("TA"), Some(text))
        .await;
    let got = poll.await.unwrap();
    assert_eq!(got.as_array().unwrap().len(), 1);
    assert_eq!(got[0]["text"], "late");
    let (_, none) = api
        .call("GET", "/__harness/outbound?to=999&wait_ms=50", None, None)
        .await;
    assert_eq!(none, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_restores_the_configured_instances() {
    let sim = start(config(vec![SeedInstance::open("a", "TA", None)])).await;
    let api = Api::new(&sim);
    let create = json!({"instanceName": "tmp", "integration": "WHATSAPP-BAILEYS"});
    assert_eq!(
        api.call("POST", "/instance/create", Some(KEY), Some(create))
            .await
            .0,
        201
    );
    api.call("DELETE", "/instance/logout/a", Some("TA"), None)
        .await;
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(json!({"number": "5511988887777", "text": "x"})),
    )
    .await;
    let (s, b) = api.call("POST", "/__harness/reset", None, None).await;
    assert_eq!((s, b), (200, json!({"status": "reset"})));
    let (_, rows) = api
        .call("GET", "/instance/fetchInstances", Some(KEY), None)
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["connectionStatus"], "open");
    assert_eq!(
        api.call("GET", "/__harness/outbound", None, None).await.1,
        json!([])
    );
    // Set presence answers 201 with the presence.
    let (s, b) = api
        .call(
            "POST",
            "/instance/setPresence/a",
            Some("TA"),
            Some(json!({"presence": "available"})),
        )
        .await;
    assert_eq!((s, b), (201, json!({"presence": "available"})));
    sim.shutdown().await;
}
