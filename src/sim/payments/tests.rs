//! The payments simulator over real sockets: an app's preference and payment calls, and the
//! injected notification as the app's webhook receives it (signature checked independently
//! in `notify.rs`'s tests against the documented manifest).

use std::time::Duration;

use super::*;

/// What the app's webhook received: (query, headers, body) of each request.
type Seen = Arc<Mutex<Vec<(String, HeaderMap, Value)>>>;

/// A webhook receiver that records (query, headers, body) and answers `statuses` in turn
/// (then 200).
async fn receiver(statuses: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let statuses = Arc::new(Mutex::new(statuses.into_iter()));
    let s = Arc::clone(&seen);
    let app = Router::new().route(
        "/mp",
        post(move |req: Request| {
            let (s, statuses) = (Arc::clone(&s), Arc::clone(&statuses));
            async move {
                let query = req.uri().query().unwrap_or("").to_string();
                let headers = req.headers().clone();
                let body = axum::body::to_bytes(req.into_body(), 1 << 20)
                    .await
                    .unwrap();
                s.lock()
                    .unwrap()
                    .push((query, headers, serde_json::from_slice(&body).unwrap()));
                let code = statuses.lock().unwrap().next().unwrap_or(200);
                StatusCode::from_u16(code).unwrap()
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

/// Sends `req` and reads its JSON answer.
async fn json_of(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

async fn sim(url: Option<String>) -> SimHandle {
    let config = PaymentsConfig {
        notification_url: url,
        retry: RetryPolicy {
            base_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        ..PaymentsConfig::default()
    };
    start(config, TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap()
}

async fn wait_for(seen: &Seen, n: usize) {
    for _ in 0..200 {
        if seen.lock().unwrap().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{} of {n} notifications arrived",
        seen.lock().unwrap().len()
    );
}

#[tokio::test]
async fn preference_payment_and_lookup_with_bearer_auth() {
    let s = sim(None).await;
    let c = reqwest::Client::new();
    let unauth = c
        .post(format!("{}/v1/payments", s.base_url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauth.status(), 401);
    let pref = c
        .post(format!("{}/checkout/preferences", s.base_url))
        .bearer_auth("TEST-harness")
        .json(
            &json!({"items": [{"title": "Consulta", "quantity": 1, "unit_price": 5000}],
            "external_reference": "B-42"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(pref.status(), 201);
    let pref: Value = pref.json().await.unwrap();
    assert!(pref["init_point"]
        .as_str()
        .unwrap()
        .contains(pref["id"].as_str().unwrap()));
    let no_items = c
        .post(format!("{}/checkout/preferences", s.base_url))
        .bearer_auth("TEST-harness")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_items.status(), 400);
    let p: Value = json_of(
        c.post(format!("{}/v1/payments", s.base_url))
            .bearer_auth("TEST-harness")
            .header("x-idempotency-key", "k1")
            .json(&json!({"transaction_amount": 5000, "external_reference": "B-42"})),
    )
    .await;
    assert_eq!(
        (p["status"].as_str(), p["status_detail"].as_str()),
        (Some("approved"), Some("accredited"))
    );
    let got: Value = json_of(
        c.get(format!("{}/v1/payments/{}", s.base_url, p["id"]))
            .bearer_auth("TEST-harness"),
    )
    .await;
    assert_eq!(got["external_reference"], "B-42");
    let missing = c
        .get(format!("{}/v1/payments/1", s.base_url))
        .bearer_auth("TEST-harness")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let e: Value = missing.json().await.unwrap();
    assert_eq!(e["error"], "not_found");
    s.shutdown().await;
}

#[tokio::test]
async fn an_injected_payment_is_notified_signed_retried_and_duplicated_on_demand() {
    let (url, seen) = receiver(vec![500]).await;
    let s = sim(Some(url)).await;
    let r: Value = reqwest::Client::new()
        .post(format!("{}/__harness/payments/notify", s.base_url))
        .json(&json!({"status": "approved", "external_reference": "B-7", "amount": 1500, "duplicates": 1}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(r["action"], "payment.created");
    assert_eq!(r["deliveries"].as_array().unwrap().len(), 2);
    // One copy failed once (500) and was retried: three requests in all.
    wait_for(&seen, 3).await;
    let seen = seen.lock().unwrap().clone();
    let id = r["payment"]["id"].as_u64().unwrap().to_string();
    for (query, headers, body) in seen.iter() {
        assert_eq!(query, &format!("data.id={id}&type=payment"));
        assert_eq!(body["type"], "payment");
        assert_eq!(body["action"], "payment.created");
        assert_eq!(body["data"]["id"], id.as_str());
        let request_id = headers["x-request-id"].to_str().unwrap();
        let sig = headers["x-signature"].to_str().unwrap();
        assert!(
            notify::verify("harness-webhook-secret", sig, &id, request_id),
            "{sig}"
        );
    }
    let ids: std::collections::HashSet<_> = seen.iter().map(|(_, _, b)| b["id"].clone()).collect();
    assert_eq!(ids.len(), 1, "duplicates carry the same notification id");
    s.shutdown().await;
}

#[tokio::test]
async fn the_duplicate_fault_kind_and_status_updates() {
    let (url, seen) = receiver(vec![]).await;
    let s = sim(Some(url)).await;
    let c = reqwest::Client::new();
    c.post(format!("{}/__harness/faults", s.base_url))
        .body("rules:\n  - duplicate: {rate: 1, copies: 2}\n")
        .send()
        .await
        .unwrap();
    let r: Value = json_of(
        c.post(format!("{}/__harness/payments/notify", s.base_url))
            .json(&json!({"status": "pending", "amount": 10})),
    )
    .await;
    let id = r["payment"]["id"].as_u64().unwrap();
    wait_for(&seen, 3).await;
    c.delete(format!("{}/__harness/faults", s.base_url))
        .send()
        .await
        .unwrap();
    let r: Value = json_of(
        c.post(format!("{}/__harness/payments/notify", s.base_url))
            .json(&json!({"status": "approved", "payment_id": id})),
    )
    .await;
    assert_eq!(r["action"], "payment.updated");
    assert_eq!(r["payment"]["status"], "approved");
    wait_for(&seen, 4).await;
    assert_eq!(seen.lock().unwrap()[3].2["action"], "payment.updated");
    s.shutdown().await;
}
