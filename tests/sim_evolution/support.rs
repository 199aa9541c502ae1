//! Shared helpers: a webhook receiver on port 0, a small API client, QR decoding.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use base64::Engine;
use harness::sim::evolution::{self, EvolutionConfig, SeedInstance};
use harness::sim::webhook::RetryPolicy;
use harness::sim::SimHandle;
use serde_json::Value;
use tokio::net::TcpListener;

pub(super) const KEY: &str = "GLOBAL-KEY";

/// One webhook POST as received.
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub(super) path: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Value,
}

/// A webhook receiver on port 0 that fails the first `fail_first` requests with 500.
#[derive(Clone)]
pub(super) struct Receiver {
    pub(super) url: String,
    pub(super) hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone)]
pub(super) struct RecvState {
    pub(super) hits: Arc<Mutex<Vec<Hit>>>,
    pub(super) fail_first: Arc<Mutex<usize>>,
    pub(super) fail_status: StatusCode,
}

async fn receive(
    State(s): State<RecvState>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    {
        let mut left = s.fail_first.lock().unwrap();
        if *left > 0 {
            *left -= 1;
            return s.fail_status;
        }
    }
    let body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    s.hits.lock().unwrap().push(Hit {
        path: uri.path().to_string(),
        headers,
        body,
    });
    StatusCode::OK
}

impl Receiver {
    pub(super) async fn start() -> Self {
        Self::failing(0, StatusCode::INTERNAL_SERVER_ERROR).await
    }

    pub(super) async fn failing(fail_first: usize, fail_status: StatusCode) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let state = RecvState {
            hits: hits.clone(),
            fail_first: Arc::new(Mutex::new(fail_first)),
            fail_status,
        };
        let app = axum::Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(state);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, hits }
    }

    /// Waits (up to 5 s) for a hit matching `pred`.
    pub(super) async fn wait(&self, pred: impl Fn(&Hit) -> bool) -> Hit {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(h) = self.hits.lock().unwrap().iter().find(|h| pred(h)) {
                return h.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no matching webhook; got {:?}",
                self.events()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(super) async fn wait_event(&self, event: &str) -> Hit {
        self.wait(|h| h.body["event"] == event).await
    }

    pub(super) fn events(&self) -> Vec<String> {
        let hits = self.hits.lock().unwrap();
        hits.iter()
            .map(|h| h.body["event"].as_str().unwrap_or("?").to_string())
            .collect()
    }
}

pub(super) fn config(instances: Vec<SeedInstance>) -> EvolutionConfig {
    EvolutionConfig {
        api_key: KEY.into(),
        instances,
        ack_delivered_after: Duration::from_millis(20),
        ack_read_after: Duration::from_millis(40),
        webhook_retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            no_retry_statuses: vec![400, 401, 403, 404, 422],
            ..RetryPolicy::default()
        },
        ..EvolutionConfig::default()
    }
}

pub(super) async fn start(config: EvolutionConfig) -> SimHandle {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    evolution::start(config, listener).await.unwrap()
}

/// A small client: method, path, apikey, body → (status, JSON).
pub(super) struct Api {
    pub(super) base: String,
    pub(super) http: reqwest::Client,
}

impl Api {
    pub(super) fn new(sim: &SimHandle) -> Self {
        Self {
            base: sim.base_url.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub(super) async fn call(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = key {
            req = req.header("apikey", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

pub(super) fn msg(body: &Value) -> &Value {
    &body["response"]["message"]
}

pub(super) fn decode_qr(data_url: &str) -> String {
    let b64 = data_url
        .strip_prefix("data:image/png;base64,")
        .expect("PNG data URL");
    let png = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    grids[0].decode().unwrap().1
}

/// A simulator with two open instances: `a` (token `TA`) and `b` (token `TB`), no webhooks.
pub(super) async fn start_two_tenants() -> SimHandle {
    start(config(vec![
        SeedInstance::open("a", "TA", None),
        SeedInstance::open("b", "TB", None),
    ]))
    .await
}

/// A media server on port 0: `/a.png` is a small PNG-typed body, anything else 404. Returns its
/// base URL.
pub(super) async fn media_server() -> String {
    async fn serve(uri: Uri) -> axum::response::Response {
        use axum::response::IntoResponse;
        match uri.path() {
            "/a.png" => ([("content-type", "image/png")], MEDIA.to_vec()).into_response(),
            "/voice.ogg" => ([("content-type", "audio/ogg")], MEDIA.to_vec()).into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let app = axum::Router::new().fallback(axum::routing::get(serve));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// The bytes `media_server` serves.
pub(super) const MEDIA: &[u8] = b"\x89PNG simulated media bytes";
