//! Instances: info, create, the QR pairing lifecycle, tenant isolation.

use std::time::Duration;

use serde_json::json;

use super::support::*;

#[tokio::test]
async fn info_verify_creds_and_unknown_routes() {
    let sim = start(config(vec![])).await;
    let api = Api::new(&sim);
    let (s, b) = api.call("GET", "/", None, None).await;
    assert_eq!(s, 200);
    assert_eq!(b["message"], "Welcome to the Evolution API, it is working!");
    assert_eq!(b["version"], "2.3.6");
    assert_eq!(b["clientName"], "evolution");
    assert_eq!(
        api.call("POST", "/verify-creds", Some(KEY), None).await.0,
        200
    );
    assert_eq!(
        api.call("POST", "/verify-creds", Some("x"), None).await.0,
        401
    );
    let (s, b) = api
        .call("POST", "/chat/checkIsWhatsappNumber/foo", Some(KEY), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        b,
        json!({"status":404,"error":"Not Found","response":{"message":["Cannot POST /chat/checkIsWhatsappNumber/foo"]}})
    );
    let (s, b) = api
        .call("GET", "/message/sendText/foo", Some(KEY), None)
        .await;
    assert_eq!(s, 404);
    assert_eq!(msg(&b), &json!(["Cannot GET /message/sendText/foo"]));
    sim.shutdown().await;
}

#[tokio::test]
async fn create_follows_the_guard_order_and_validates() {
    let sim = start(config(vec![])).await;
    let api = Api::new(&sim);
    let body = json!({"instanceName": "foo", "integration": "WHATSAPP-BAILEYS"});
    let (s, b) = api
        .call("POST", "/instance/create", None, Some(body.clone()))
        .await;
    assert_eq!(s, 401);
    assert_eq!(
        b,
        json!({"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}})
    );
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["instance"]["instanceName"], "foo");
    assert_eq!(b["instance"]["status"], "close");
    assert_eq!(b["instance"]["integration"], "WHATSAPP-BAILEYS");
    let hash = b["hash"].as_str().unwrap();
    assert_eq!(hash.len(), 36);
    assert_eq!(hash, hash.to_uppercase());
    assert_eq!(b["webhook"], json!({}));
    assert_eq!(b["settings"]["rejectCall"], false);
    assert!(b.get("qrcode").is_none());
    // Name taken → 403 even without a key.
    let (s, b) = api.call("POST", "/instance/create", None, Some(body)).await;
    assert_eq!(s, 403);
    assert_eq!(msg(&b), &json!(["This name \"foo\" is already in use."]));
    // An instance token cannot create.
    let other = json!({"instanceName": "bar", "integration": "WHATSAPP-BAILEYS"});
    assert_eq!(
        api.call("POST", "/instance/create", Some(hash), Some(other))
            .await
            .0,
        401
    );
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"instanceName": "bar"})),
        )
        .await;
    assert_eq!((s, msg(&b)), (400, &json!(["Invalid integration"])));
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"integration": "EVOLUTION"})),
        )
        .await;
    assert_eq!(
        (s, msg(&b)),
        (403, &json!(["This name \"undefined\" is already in use."]))
    );
    let business = json!({"instanceName": "biz", "integration": "WHATSAPP-BUSINESS"});
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(business))
        .await;
    assert_eq!((s, msg(&b)), (400, &json!(["token is required"])));
    let (s, b) = api
        .call(
            "POST",
            "/instance/create",
            Some(KEY),
            Some(json!({"instanceName": "ev", "integration": "EVOLUTION", "token": "TEV"})),
        )
        .await;
    assert_eq!(
        (s, &b["instance"]["status"], &b["hash"]),
        (201, &json!("open"), &json!("TEV"))
    );
    // Invalid JSON → 400 from the body parser.
    let resp = api
        .http
        .post(format!("{}/instance/create", api.base))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn qr_pairing_lifecycle_with_webhooks() {
    let hook = Receiver::start().await;
    let mut cfg = config(vec![]);
    cfg.qr_refresh = Duration::from_millis(150);
    let sim = start(cfg).await;
    let api = Api::new(&sim);
    let create = json!({"instanceName": "clinic", "integration": "WHATSAPP-BAILEYS", "qrcode": true,
                        "webhook": {"url": hook.url, "byEvents": false, "events": []}});
    let (s, b) = api
        .call("POST", "/instance/create", Some(KEY), Some(create))
        .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["instance"]["status"], "connecting");
    assert_eq!(b["webhook"]["webhookUrl"], hook.url.as_str());
    let first_code = b["qrcode"]["code"].as_str().unwrap().to_string();
    assert_eq!(b["qrcode"]["count"], 1);
    assert_eq!(
        decode_qr(b["qrcode"]["base64"].as_str().unwrap()),
        first_code
    );
    let token = b["hash"].as_str().unwrap().to_string();

    let (s, b) = api
        .call(
            "GET",
            "/instance/connectionState/clinic",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"instance": {"instanceName": "clinic", "state": "connecting"}})
        )
    );
    // The QR refreshes: a new code, a higher count, a qrcode.updated webhook.
    let refreshed = hook
        .wait(|h| {
            h.body["event"] == "qrcode.updated"
                && h.body["data"]["qrcode"]["code"] != first_code.as_str()
        })
        .await;
    let (s, b) = api
        .call("GET", "/instance/connect/clinic", Some(&token), None)
        .await;
    assert_eq!(s, 200);
    assert!(b["count"].as_u64().unwrap() >= 2, "{b}");
    assert_ne!(b["code"], first_code.as_str());
    assert_eq!(
        decode_qr(b["base64"].as_str().unwrap()),
        b["code"].as_str().unwrap()
    );
    assert!(refreshed.body["data"]["qrcode"].get("count").is_none());
    assert_eq!(refreshed.body["instance"], "clinic");

    let (s, b) = api
        .call(
            "POST",
            "/__harness/instances/clinic/pair",
            None,
            Some(json!({"number": "5511911112222", "name": "Clinica"})),
        )
        .await;
    assert_eq!((s, &b["instance"]["state"]), (200, &json!("open")));
    let open = hook
        .wait(|h| h.body["event"] == "connection.update" && h.body["data"]["state"] == "open")
        .await;
    assert_eq!(open.body["data"]["wuid"], "5511911112222@s.whatsapp.net");
    assert_eq!(open.body["sender"], "5511911112222@s.whatsapp.net");
    let (_, b) = api
        .call("GET", "/instance/connect/clinic", Some(&token), None)
        .await;
    assert_eq!(
        b,
        json!({"instance": {"instanceName": "clinic", "state": "open"}})
    );

    let (s, b) = api
        .call("DELETE", "/instance/logout/clinic", Some(&token), None)
        .await;
    assert_eq!(
        (s, b),
        (
            200,
            json!({"status":"SUCCESS","error":false,"response":{"message":"Instance logged out"}})
        )
    );
    hook.wait(|h| h.body["event"] == "connection.update" && h.body["data"]["state"] == "close")
        .await;
    hook.wait_event("logout.instance").await;
    let (s, b) = api
        .call("DELETE", "/instance/logout/clinic", Some(&token), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (400, &json!(["The \"clinic\" instance is not connected"]))
    );
    let (s, b) = api
        .call(
            "GET",
            "/instance/connect/clinic?number=5511911112222",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(b["pairingCode"].as_str().unwrap().len(), 8);

    let (s, b) = api
        .call("DELETE", "/instance/delete/clinic", Some(&token), None)
        .await;
    assert_eq!((s, &msg(&b)), (200, &&json!("Instance deleted")));
    hook.wait_event("remove.instance").await;
    let (s, b) = api
        .call("GET", "/instance/connectionState/clinic", Some(KEY), None)
        .await;
    assert_eq!(
        (s, msg(&b)),
        (404, &json!(["The \"clinic\" instance does not exist"]))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let sim = start_two_tenants().await;
    let api = Api::new(&sim);
    let text = json!({"number": "5511988887777", "text": "x"});
    let (s, b) = api
        .call(
            "POST",
            "/message/sendText/b",
            Some("TA"),
            Some(text.clone()),
        )
        .await;
    assert_eq!((s, msg(&b)), (401, &json!("Unauthorized")));
    assert!(sim.bus.query(&Default::default(), 10).is_empty());
    assert_eq!(
        api.call("GET", "/instance/connectionState/b", Some("TA"), None)
            .await
            .0,
        401
    );
    assert_eq!(
        api.call("DELETE", "/instance/delete/b", Some("TA"), None)
            .await
            .0,
        401
    );
    // Unknown instance: 404 before auth.
    assert_eq!(
        api.call("POST", "/message/sendText/zz", None, Some(text.clone()))
            .await
            .0,
        404
    );
    let (s, rows) = api
        .call("GET", "/instance/fetchInstances", Some("TA"), None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["name"], "a");
    assert_eq!(rows[0]["connectionStatus"], "open");
    let (_, rows) = api
        .call("GET", "/instance/fetchInstances", Some(KEY), None)
        .await;
    assert_eq!(rows.as_array().unwrap().len(), 2);
    let (_, rows) = api
        .call(
            "GET",
            "/instance/fetchInstances?instanceName=b",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(rows[0]["name"], "b");
    let (s, b) = api
        .call(
            "GET",
            "/instance/fetchInstances?instanceName=zz",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!((s, msg(&b)), (404, &json!(["Instance \"zz\" not found"])));
    assert_eq!(
        api.call("GET", "/instance/fetchInstances", Some("nope"), None)
            .await
            .0,
        401
    );
    // Each tenant's sends are attributed to it.
    api.call(
        "POST",
        "/message/sendText/a",
        Some("TA"),
        Some(text.clone()),
    )
    .await;
    api.call("POST", "/message/sendText/b", Some("TB"), Some(text))
        .await;
    let (_, only_b) = api
        .call("GET", "/__harness/outbound?tenant=b", None, None)
        .await;
    assert_eq!(only_b.as_array().unwrap().len(), 1);
    assert_eq!(only_b[0]["tenant"], "b");
    // Guards first (401), then the route's schema (upstream: src/validate/message.schema.ts).
    assert_eq!(
        api.call("POST", "/message/sendPoll/a", Some("TB"), None)
            .await
            .0,
        401
    );
    assert_eq!(
        api.call("POST", "/message/sendPoll/a", Some("TA"), None)
            .await
            .0,
        400
    );
    sim.shutdown().await;
}
