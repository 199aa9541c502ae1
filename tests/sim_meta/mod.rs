//! The Meta Cloud API simulator over real HTTP: every endpoint, Graph errors, signed webhooks
//! (verified here with an independent HMAC), the verification handshake, limits, the service
//! window, tenants, media, faults. Shared fixtures here: a simulator on port 0 and a stand-in
//! app (an axum receiver on port 0) that records webhooks and answers the handshake.

mod account;
mod catalog;
mod coverage;
mod inbound;
mod messages;
mod outbound;
mod platform;
mod startup_app;

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
            ["sent", "delivered", "read", "played", "failed"]
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
    // The legacy sha1 header Meta still sends beside it.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(&r.body);
    let legacy = format!("sha1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.headers["x-hub-signature"].to_str().unwrap(), legacy);
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
            played: Some(Duration::from_millis(15)),
        },
        templates: vec![approved("t", "es"), approved("reminder", "es")],
        // Long enough that a test reads PENDING between an edit and the review on a loaded
        // machine (50 ms was not: two requests took longer under a parallel build).
        template_review_delay: Duration::from_millis(400),
        ..MetaConfig::default()
    }
}

/// A template creation body without parameters (approved at start when configured).
fn approved(name: &str, language: &str) -> Value {
    json!({"name": name, "language": language, "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Reminder of your visit."}]})
}

/// Only the first status (`sent` or `failed`) follows a send.
fn sent_only(webhook: &str) -> MetaConfig {
    let mut cfg = config(webhook);
    cfg.status_delays.delivered = None;
    cfg.status_delays.read = None;
    cfg.status_delays.played = None;
    cfg
}

async fn sim(config: MetaConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(config, listener).await.unwrap()
}

/// A simulator whose webhooks go nowhere, and a client for it.
async fn offline() -> (SimHandle, Client) {
    let sim = sim(config("http://127.0.0.1:9/none")).await;
    let c = Client::new(&sim);
    (sim, c)
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

    /// POST with the global token: (status, JSON).
    async fn call(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, v, _) = self.post(path, Some(TOKEN), body).await;
        (s, v)
    }

    /// GET with the global token.
    async fn fetch(&self, path: &str) -> (u16, Value) {
        self.get(path, Some(TOKEN)).await
    }

    /// DELETE with the global token and an optional JSON body.
    async fn delete(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .delete(format!("{}{path}", self.base))
            .bearer_auth(TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
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

/// `200 {"success": true}`.
fn assert_success(status: u16, v: &Value) {
    assert_eq!((status, v), (200, &json!({"success": true})));
}

fn assert_graph_error(status: u16, v: &Value, want_status: u16, code: u64) {
    assert_eq!(status, want_status, "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(v["error"]["message"].is_string(), "{v}");
    assert!(v["error"]["type"].is_string(), "{v}");
    assert!(v["error"]["fbtrace_id"].is_string(), "{v}");
}
