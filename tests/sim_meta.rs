//! The Meta Cloud API simulator over real HTTP: every endpoint, Graph errors, signed webhooks
//! (verified here with an independent HMAC), the verification handshake, limits, the service
//! window, tenants, media, faults.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use harness::sim::meta::{start, MetaConfig, PhoneNumber, Rate, StatusDelays};
use harness::sim::SimHandle;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const SECRET: &str = "test-app-secret";
const TOKEN: &str = "global-token";
const PN: &str = "106540352242922";

/// A webhook as the app received it.
#[derive(Debug)]
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
    fn value(&self) -> Value {
        self.json()["entry"][0]["changes"][0]["value"].clone()
    }
}

#[derive(Clone)]
struct AppState {
    tx: mpsc::UnboundedSender<Received>,
    verify_token: Arc<Mutex<String>>,
    /// Webhook POSTs still to answer with 500 (recorded all the same).
    fail_next: Arc<AtomicUsize>,
}

/// A stand-in for the app: records webhook POSTs, answers the verification handshake like pywa.
struct App {
    url: String,
    rx: mpsc::UnboundedReceiver<Received>,
}

impl App {
    async fn start(verify_token: &str) -> App {
        App::start_failing(verify_token, 0).await
    }

    /// An app whose first `failures` webhook answers are 500.
    async fn start_failing(verify_token: &str, failures: usize) -> App {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = AppState {
            tx,
            verify_token: Arc::new(Mutex::new(verify_token.to_string())),
            fail_next: Arc::new(AtomicUsize::new(failures)),
        };
        let router = Router::new()
            .route("/webhook", get(challenge).post(record))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        App { url, rx }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no webhook within 10 s")
            .expect("receiver closed")
    }

    /// The next `n` webhooks, ordered by their status (sent < delivered < read).
    async fn statuses(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::new();
        for _ in 0..n {
            let r = self.next().await;
            assert_signed(&r);
            out.push(r.value()["statuses"][0].clone());
        }
        let rank = |s: &Value| {
            ["sent", "delivered", "read", "failed"]
                .iter()
                .position(|k| s["status"] == *k)
        };
        out.sort_by_key(rank);
        out
    }
}

async fn record(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let _ = s.tx.send(Received { headers, body });
    let fail = s
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn challenge(
    State(s): State<AppState>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> (StatusCode, String) {
    let expected = s.verify_token.lock().unwrap().clone();
    match (q.get("hub.verify_token"), q.get("hub.challenge")) {
        (Some(t), Some(c))
            if *t == expected && q.get("hub.mode").map(String::as_str) == Some("subscribe") =>
        {
            (StatusCode::OK, c.clone())
        }
        _ => (StatusCode::FORBIDDEN, "Forbidden".into()),
    }
}

/// Independent check of `X-Hub-Signature-256`, `Content-Length` and ASCII-only bytes.
fn assert_signed(r: &Received) {
    let header = r.headers["x-hub-signature-256"].to_str().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&r.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header, expected, "signature over the exact bytes");
    let len: usize = r.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, r.body.len());
    assert!(r.headers.get("transfer-encoding").is_none());
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.body.is_ascii(), "webhook JSON must be ASCII-escaped");
}

fn config(webhook: &str) -> MetaConfig {
    MetaConfig {
        token: TOKEN.into(),
        app_secret: SECRET.into(),
        verify_token: "vt".into(),
        webhook_url: Some(webhook.into()),
        status_delays: StatusDelays {
            sent: Duration::ZERO,
            delivered: Some(Duration::from_millis(5)),
            read: Some(Duration::from_millis(10)),
        },
        ..MetaConfig::default()
    }
}

/// Only the first status (`sent` or `failed`) follows a send.
fn sent_only(webhook: &str) -> MetaConfig {
    let mut cfg = config(webhook);
    cfg.status_delays.delivered = None;
    cfg.status_delays.read = None;
    cfg
}

async fn sim(config: MetaConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(config, listener).await.unwrap()
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(sim: &SimHandle) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: sim.base_url.clone(),
        }
    }

    async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value, HeaderMap) {
        let mut req = self.http.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, resp.json().await.unwrap_or(Value::Null), headers)
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json().await.unwrap_or(Value::Null),
        )
    }

    async fn inbound(&self, body: Value) -> Value {
        let (status, v, _) = self.post("/__harness/inbound", None, body).await;
        assert_eq!(status, 200, "{v}");
        v
    }
}

fn text_to(to: &str, body: &str) -> Value {
    json!({"messaging_product":"whatsapp","recipient_type":"individual","to":to,
           "type":"text","text":{"preview_url":false,"body":body}})
}

fn assert_graph_error(status: u16, v: &Value, want_status: u16, code: u64) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["type"].is_string(), "{v}");
    assert!(v["error"]["fbtrace_id"].is_string(), "{v}");
}

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
    assert_eq!(
        kinds,
        [
            "template",
            "interactive",
            "interactive",
            "reaction",
            "image"
        ]
    );

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
    let mut cfg = config(&app.url);
    cfg.templates = Some(vec!["hello_world".into()]);
    let sim = sim(cfg).await;
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
    let (s, v, _) = c.post(&path, Some(TOKEN), tpl("16505550001")).await;
    assert_graph_error(s, &v, 400, 131056);
    assert!(v["error"]["error_data"]["details"]
        .as_str()
        .unwrap()
        .contains("same phone number"));
    let (s, _, _) = c.post(&path, Some(TOKEN), tpl("16505550002")).await;
    assert_eq!(s, 200);
    let (s, v, _) = c.post(&path, Some(TOKEN), tpl("16505550003")).await;
    assert_graph_error(s, &v, 429, 130429);
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
    let inb = c
        .inbound(json!({"from":"573001234567","text":"hola"}))
        .await;
    app.next().await;
    let user_id = inb["user_id"].as_str().unwrap();
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
