//! Media, the verification handshake and registration, phone numbers, unknown paths, faults,
//! webhook retries, the journal bound.

use super::*;

fn multipart(boundary: &str, data: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    let text_part = |b: &mut Vec<u8>, name: &str, value: &str| {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    };
    text_part(&mut b, "messaging_product", "whatsapp");
    text_part(&mut b, "type", "image/png");
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\
             Content-Type: image/png\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(data);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    b
}

#[tokio::test]
async fn media_upload_retrieve_download_delete() {
    let app = App::start("vt").await;
    let mut cfg = config(&app.url);
    cfg.phone_numbers
        .push(PhoneNumber::new("222", "15550000002").with_token("tok-b"));
    let sim = sim(cfg).await;
    let http = reqwest::Client::new();
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let resp = http
        .post(format!("{}/v25.0/{PN}/media", sim.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(multipart("XyZ", &data))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = Client::new(&sim);
    let (s, meta) = c.get(&format!("/v25.0/{id}"), Some(TOKEN)).await;
    assert_eq!(s, 200, "{meta}");
    assert_eq!(meta["mime_type"], "image/png");
    assert_eq!(meta["file_size"], 5000);
    assert_eq!(meta["id"], id);
    assert_eq!(meta["sha256"].as_str().unwrap().len(), 64);
    let url = meta["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.base_url));
    let got = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.unwrap().as_ref(), data.as_slice());
    // Range (RFC 9110 §14): a resumed download gets 206 and the slice.
    let part = http
        .get(url)
        .bearer_auth(TOKEN)
        .header("range", "bytes=4990-")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 4990-4999/5000");
    assert_eq!(part.bytes().await.unwrap().as_ref(), &data[4990..]);
    let past = http
        .get(url)
        .bearer_auth(TOKEN)
        .header("range", "bytes=6000-")
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(http.get(url).send().await.unwrap().status(), 401);
    // Another tenant cannot see it.
    let (s, v) = c.get(&format!("/{id}"), Some("tok-b")).await;
    assert_graph_error(s, &v, 400, 100);
    let del = http
        .delete(format!("{}/{id}", sim.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(del.json::<Value>().await.unwrap(), json!({"success": true}));
    let (s, _) = c.get(&format!("/{id}"), Some(TOKEN)).await;
    assert_eq!(s, 400);
    // A MIME type Meta does not accept: the message real uploads get (issue 11).
    let html = multipart("XyZ", b"<html></html>")
        .iter()
        .map(|&b| b as char)
        .collect::<String>()
        .replace("image/png", "text/html");
    let resp = http
        .post(format!("{}/{PN}/media", sim.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(html)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "(#100) Param file must be a file with one of the following types: audio/aac, "
        ),
        "{msg}"
    );
    assert!(msg.ends_with("Received file of type 'text/html'."), "{msg}");
    // Missing file part.
    let resp = http
        .post(format!("{}/{PN}/media", sim.base_url))
        .bearer_auth(TOKEN)
        .header("content-type", "multipart/form-data; boundary=B")
        .body("--B\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n--B--\r\n")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_graph_error(status, &resp.json().await.unwrap(), 400, 100);
    sim.shutdown().await;
}

#[tokio::test]
async fn verification_handshake_and_registration() {
    let mut app = App::start("right").await;
    let mut cfg = config(&app.url);
    cfg.webhook_url = None;
    cfg.app_id = "42".into();
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    // Without a URL, inbound cannot be delivered.
    let (s, _, _) = c
        .post(
            "/__harness/inbound",
            None,
            json!({"from":"16505551234","text":"x"}),
        )
        .await;
    assert_eq!(s, 409);
    // An app that is not listening: reported without the URL's query (it holds the token).
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (_, v, _) = c
        .post(
            "/__harness/webhook/verify",
            None,
            json!({"url": dead_url, "verify_token": "s3cret-token"}),
        )
        .await;
    assert_eq!(v["ok"], false);
    let err = v["error"].as_str().unwrap();
    assert!(!err.is_empty() && !err.contains("s3cret-token"), "{err}");
    // On demand, against an explicit URL.
    let (s, v, _) = c
        .post(
            "/__harness/webhook/verify",
            None,
            json!({"url": app.url, "verify_token": "right"}),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["body"], v["challenge"]);
    let (_, v, _) = c
        .post(
            "/__harness/webhook/verify",
            None,
            json!({"url": app.url, "verify_token": "wrong"}),
        )
        .await;
    assert_eq!(
        (v["ok"].clone(), v["status"].clone()),
        (json!(false), json!(403))
    );

    // The pywa way: app token, then subscriptions (Meta runs the handshake first).
    let (s, tok) = c.get("/v25.0/oauth/access_token?grant_type=client_credentials&client_id=42&client_secret=test-app-secret", None).await;
    assert_eq!(s, 200, "{tok}");
    let app_token = tok["access_token"].as_str().unwrap().to_string();
    let (s, v) = c
        .get("/oauth/access_token?client_id=42&client_secret=bad", None)
        .await;
    assert_graph_error(s, &v, 400, 1);
    let sub = |verify: &str| {
        format!(
            "/v25.0/42/subscriptions?object=whatsapp_business_account&fields=messages&callback_url={}&verify_token={verify}&access_token={app_token}",
            app.url
        )
    };
    let (s, v, _) = c.post(&sub("wrong"), None, json!({})).await;
    assert_graph_error(s, &v, 400, 2200);
    assert!(v["error"]["message"].as_str().unwrap().contains("403"));
    let (s, v, _) = c.post(&sub("right"), None, json!({})).await;
    assert_eq!((s, v), (200, json!({"success": true})));
    c.inbound(json!({"from":"16505551234","text":"now it arrives"}))
        .await;
    assert_eq!(
        app.next().await.value()["messages"][0]["text"]["body"],
        "now it arrives"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn phone_numbers_unknown_paths_and_faults() {
    let app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    let (s, v) = c
        .get(
            &format!("/v25.0/{PN}?fields=display_phone_number"),
            Some(TOKEN),
        )
        .await;
    assert_eq!(
        (s, v),
        (
            200,
            json!({"display_phone_number": "+15550783881", "id": PN})
        )
    );
    let (s, v) = c
        .get("/v25.0/102290129340398/phone_numbers", Some(TOKEN))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["id"], PN);
    assert_eq!(v["data"][0]["platform_type"], "CLOUD_API");
    let (s, v) = c.get("/v25.0/123/nothing/here", Some(TOKEN)).await;
    assert_graph_error(s, &v, 400, 2500);
    let (s, v) = c.get(&format!("/v25.0/{PN}/messages"), Some(TOKEN)).await;
    assert_graph_error(s, &v, 400, 2500);

    let graph_500 = json!({"error":{"message":"(#131000) Something went wrong","type":"OAuthException",
        "code":131000,"error_data":{"messaging_product":"whatsapp","details":"An unknown error occurred"},
        "fbtrace_id":"x"}});
    let profile = json!({"rules":[{"endpoint":"/{version}/{id}/messages","tenant":PN,
        "error":{"rate":1.0,"status":500,"body":graph_500}}]});
    let (s, v, _) = c.post("/__harness/faults", None, profile).await;
    assert_eq!(s, 200, "{v}");
    let body = json!({"messaging_product":"whatsapp","to":"16505551234","type":"template",
        "template":{"name":"t","language":{"code":"es"}}});
    let (s, v, _) = c
        .post(&format!("/v25.0/{PN}/messages"), Some(TOKEN), body.clone())
        .await;
    assert_graph_error(s, &v, 500, 131000);
    // The unversioned path is another endpoint: not selected by the rule.
    let (s, _, _) = c
        .post(&format!("/{PN}/messages"), Some(TOKEN), body.clone())
        .await;
    assert_eq!(s, 200);
    let del = reqwest::Client::new()
        .delete(format!("{}/__harness/faults", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    let (s, _, _) = c
        .post(&format!("/v25.0/{PN}/messages"), Some(TOKEN), body)
        .await;
    assert_eq!(s, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_the_same_signed_bytes() {
    let mut app = App::start_failing("vt", 2).await;
    let mut cfg = config(&app.url);
    cfg.retry.base_delay = Duration::from_millis(1);
    cfg.retry.max_delay = Duration::from_millis(5);
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    c.inbound(json!({"from":"16505551234","text":"retry me"}))
        .await;
    let first = app.next().await;
    let second = app.next().await;
    let third = app.next().await;
    for r in [&first, &second, &third] {
        assert_signed(r);
        assert_eq!(r.body, first.body, "a retry re-sends the identical bytes");
    }
    let (_, log) = c.get("/__harness/webhooks", None).await;
    assert_eq!(log[0]["attempts"], 3, "{log}");
    assert_eq!(log[0]["outcome"], "delivered");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_journal_keeps_only_the_newest_messages() {
    let app = App::start("vt").await;
    let mut cfg = sent_only(&app.url);
    cfg.journal_capacity = 3;
    cfg.webhook_url = None;
    cfg.templates = (0..5).map(|i| approved(&format!("t{i}"), "es")).collect();
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    for i in 0..5 {
        let body = json!({"messaging_product":"whatsapp","to":format!("1650555000{i}"),
            "type":"template","template":{"name":format!("t{i}"),"language":{"code":"es"}}});
        let (s, _, _) = c.post(&format!("/{PN}/messages"), Some(TOKEN), body).await;
        assert_eq!(s, 200);
    }
    let (_, list) = c.get("/__harness/outbound", None).await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t2", "t3", "t4"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn waba_override_and_verification_at_start() {
    let mut app = App::start("vt").await;
    let other = App::start("other-token").await;
    let mut cfg = config(&other.url);
    cfg.verify_on_start = true;
    let sim = sim(cfg).await;
    let c = Client::new(&sim);
    // verify_on_start ran against the configured URL with the configured token ("vt"), which
    // that app does not accept.
    let mut log = Value::Null;
    for _ in 0..100 {
        log = c.get("/__harness/webhook/verify", None).await.1;
        if log.as_array().is_some_and(|l| !l.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log[0]["url"], other.url.as_str());
    assert_eq!(log[0]["ok"], false);
    assert_eq!(log[0]["status"], 403);

    let waba = "102290129340398";
    let path = |v: &str| {
        format!(
            "/v25.0/{waba}/subscribed_apps?override_callback_uri={}&verify_token={v}",
            app.url
        )
    };
    let (s, v, _) = c.post(&path("vt"), Some("nope"), json!({})).await;
    assert_graph_error(s, &v, 401, 190);
    let (s, v, _) = c.post(&path("vt"), Some(TOKEN), json!({})).await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let (s, v) = c
        .get(&format!("/{waba}/subscribed_apps"), Some(TOKEN))
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["data"][0]["override_callback_uri"], app.url.as_str());
    c.inbound(json!({"from":"16505551234","text":"to the override"}))
        .await;
    assert_eq!(
        app.next().await.value()["messages"][0]["text"]["body"],
        "to the override"
    );
    let (s, v, _) = c
        .post(&format!("/{waba}/subscribed_apps"), Some("x"), json!({}))
        .await;
    assert_eq!((s, v["error"]["code"].clone()), (401, json!(190)));
    let (s, v, _) = c.post("/999/subscribed_apps", Some(TOKEN), json!({})).await;
    assert_graph_error(s, &v, 400, 100);
    sim.shutdown().await;
}

#[tokio::test]
async fn customers_send_media_reactions_and_locations() {
    let mut app = App::start("vt").await;
    let sim = sim(config(&app.url)).await;
    let c = Client::new(&sim);
    c.inbound(json!({"from":"16505551234","image":{"caption":"mi receta"}}))
        .await;
    let got = app.next().await;
    assert_signed(&got);
    let m = got.value()["messages"][0].clone();
    assert_eq!(m["type"], "image");
    assert_eq!(m["image"]["caption"], "mi receta");
    assert_eq!(m["image"]["mime_type"], "image/png");
    // The app fetches it like a real attachment, with its own token.
    let id = m["image"]["id"].as_str().unwrap();
    let (s, meta) = c.get(&format!("/v25.0/{id}"), Some(TOKEN)).await;
    assert_eq!(s, 200);
    // The media store answers the hash in hex; the webhook states it in base64 (pywa
    // tests/data/updates/message.json).
    let hex = meta["sha256"].as_str().unwrap();
    let b64 = m["image"]["sha256"].as_str().unwrap();
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(hex::encode(decoded), hex);
    let png = reqwest::Client::new()
        .get(meta["url"].as_str().unwrap())
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&png[..4], b"\x89PNG");

    c.inbound(json!({"from":"16505551234","reaction":{"message_id":"wamid.X","emoji":"❤️"}}))
        .await;
    assert_eq!(
        app.next().await.value()["messages"][0]["reaction"]["emoji"],
        "❤️"
    );
    c.inbound(json!({"from":"16505551234","location":{"latitude":4.65,"longitude":-74.05,"name":"Sede Norte"}}))
        .await;
    let loc = app.next().await.value()["messages"][0].clone();
    assert_eq!(
        (loc["type"].clone(), loc["location"]["latitude"].clone()),
        (json!("location"), json!(4.65))
    );
    let (s, v, _) = c
        .post(
            "/__harness/inbound",
            None,
            json!({"from":"16505551234","video":{}}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    sim.shutdown().await;
}
