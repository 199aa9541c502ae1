//! The OpenAI-compatible LLM simulator (`harness mock openai`, and embedded in `run`/`load`).
//!
//! Why: a WhatsApp bot that asks an LLM to understand customers is only testable end to end
//! when the LLM answers the same thing every time, fails on demand (429, 5xx, slow first token,
//! cut streams) and costs nothing. The official SDKs work against it with only their base URL
//! changed (`OPENAI_BASE_URL=http://127.0.0.1:PORT/v1`); shapes follow openai-python's types.
//!
//! Built on the simulators' shared core: [`crate::sim::serve`], the bounded bus/journal
//! (every call journaled by [`crate::sim::calls::record_layer`] for `await: { call: … }`), the
//! fault middleware and profile format ([`crate::sim::faults`], with the stream kinds) and the
//! control API (`/__harness/health|outbound|faults|reset`, plus `GET|POST /__harness/rules`).
//!
//! Layers, outermost first: journal → faults → bearer auth → handler (rate limit, rules).

mod chat;
mod limits;
mod media;
mod responses;
pub mod rules;

use std::io;
use std::sync::{Arc, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::bus::{Bus, Simulator};
use super::calls::{record_layer, CallSource};
use super::control::{self, ControlState};
use super::faults::{FaultProfile, Faults};
use super::webhook::{RetryPolicy, WebhookEmitter};
use super::SimHandle;
pub use limits::Limiter;
pub use rules::Rules;

/// Models `GET /v1/models` lists (any model name is accepted by the other routes).
pub const MODELS: &[&str] = &[
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4",
    "gpt-4.1-mini",
    "text-embedding-3-small",
    "text-embedding-3-large",
    "whisper-1",
];

/// Configuration of one LLM simulator.
#[derive(Debug, Clone)]
pub struct OpenaiConfig {
    /// The bearer key the app must send.
    pub api_key: String,
    pub rules: Rules,
    pub faults: FaultProfile,
    /// The dependency's name on the bus (`await: { call: { service } }`).
    pub service: String,
    pub journal_capacity: usize,
}

impl Default for OpenaiConfig {
    fn default() -> Self {
        Self {
            api_key: "sk-harness".into(),
            rules: Rules::default(),
            faults: FaultProfile::default(),
            service: "openai".into(),
            journal_capacity: super::journal::DEFAULT_CAPACITY,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
struct Sim {
    rules: Arc<RwLock<Arc<Rules>>>,
    limiter: Arc<RwLock<Option<Arc<Limiter>>>>,
    faults: Faults,
}

impl Sim {
    fn rules(&self) -> Arc<Rules> {
        Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn set_rules(&self, rules: Rules) {
        let limiter = rules.rate_limit.clone().map(|l| Arc::new(Limiter::new(l)));
        *self.limiter.write().unwrap_or_else(|p| p.into_inner()) = limiter;
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
    }

    /// Applies the rate limit: `Err` is the 429 to answer, `Ok` the headers to add.
    fn limit(&self, tokens: u64, model: &str) -> Result<Vec<(&'static str, String)>, Reject> {
        let limiter = self
            .limiter
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let Some(limiter) = limiter else {
            return Ok(Vec::new());
        };
        let v = limiter.check(tokens, model, std::time::Instant::now());
        match v.refused {
            None => Ok(v.headers),
            Some((kind, _)) => {
                let mut resp = error(429, &v.message, kind, None, Some("rate_limit_exceeded"));
                add_headers(&mut resp, &v.headers);
                Err(resp.into())
            }
        }
    }
}

/// Starts the simulator on `listener`.
pub async fn start(config: OpenaiConfig, listener: TcpListener) -> io::Result<SimHandle> {
    let bus = Bus::new(config.journal_capacity);
    let faults = Faults::new(config.faults.clone());
    let sim = Sim {
        rules: Arc::new(RwLock::new(Arc::new(Rules::default()))),
        limiter: Arc::default(),
        faults: faults.clone(),
    };
    let initial = config.rules.clone();
    sim.set_rules(config.rules.clone());
    let reset_sim = sim.clone();
    let webhooks = WebhookEmitter::new(RetryPolicy::default());
    let control_state = ControlState {
        provider: Simulator::Openai,
        bus: bus.clone(),
        faults: faults.clone(),
        webhooks,
        on_reset: Arc::new(move || reset_sim.set_rules(initial.clone())),
    };
    let api = Router::new()
        .route("/v1/chat/completions", post(chat::completions))
        .route("/v1/responses", post(responses::create))
        .route("/v1/embeddings", post(media::embeddings))
        .route("/v1/audio/transcriptions", post(media::transcriptions))
        .route("/v1/models", get(models))
        .route("/v1/models/{id}", get(model))
        .fallback(not_found)
        .with_state(sim.clone())
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(config.api_key.clone()),
            auth,
        ));
    let rules_routes = Router::new()
        .route("/__harness/rules", post(set_rules))
        .with_state(sim);
    let router = api
        .merge(control::router(control_state))
        .merge(rules_routes);
    let router = super::faults::apply(router, faults, |_| None);
    let source = CallSource {
        provider: Simulator::Openai,
        service: config.service.clone(),
    };
    let router = record_layer(router, bus.clone(), source);
    super::serve(listener, router, bus).await
}

/// An error answer on its way out of a handler (boxed: a `Response` is large).
pub(super) struct Reject(Box<Response>);

impl From<Response> for Reject {
    fn from(r: Response) -> Self {
        Self(Box::new(r))
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// An OpenAI error answer.
pub fn error(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    (status, Json(body)).into_response()
}

fn add_headers(resp: &mut Response, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(v) = axum::http::HeaderValue::from_str(value) {
            resp.headers_mut().insert(*name, v);
        }
    }
}

/// Bearer auth with OpenAI's two 401 bodies (no key; wrong key, shown masked).
async fn auth(State(key): State<Arc<String>>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with(super::faults::CONTROL_PREFIX) {
        return next.run(req).await;
    }
    let given = bearer(req.headers());
    match given {
        Some(k) if k == key.as_str() => next.run(req).await,
        None => error(
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            None,
            None,
        ),
        Some(k) => {
            let shown: String = k.chars().take(3).collect::<String>() + "*****";
            error(
                401,
                &format!("Incorrect API key provided: {shown}. You can find your API key at https://platform.openai.com/account/api-keys."),
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
            )
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let key = value.strip_prefix("Bearer ")?.trim();
    (!key.is_empty()).then_some(key)
}

async fn not_found(req: Request) -> Response {
    let msg = format!("Invalid URL ({} {})", req.method(), req.uri().path());
    error(404, &msg, "invalid_request_error", None, None)
}

fn model_object(id: &str) -> Value {
    json!({"id": id, "object": "model", "created": 1_686_935_002, "owned_by": "system"})
}

async fn models() -> Json<Value> {
    let data: Vec<Value> = MODELS.iter().map(|m| model_object(m)).collect();
    Json(json!({"object": "list", "data": data}))
}

async fn model(axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    if MODELS.contains(&id.as_str()) {
        return Json(model_object(&id)).into_response();
    }
    error(
        404,
        &format!("The model '{id}' does not exist or you do not have access to it."),
        "invalid_request_error",
        None,
        Some("model_not_found"),
    )
}

async fn set_rules(State(sim): State<Sim>, body: Bytes) -> Response {
    match Rules::parse(&String::from_utf8_lossy(&body)) {
        Ok(rules) => {
            let n = rules.rules.len();
            sim.set_rules(rules);
            Json(json!({"rules": n})).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

/// Parses a JSON request body, or answers OpenAI's 400 for it.
fn parse_body(body: &[u8]) -> Result<Value, Reject> {
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(error(
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
            "invalid_request_error",
            None,
            None,
        )
        .into()),
    }
}

/// The `model` of a request, or OpenAI's 400.
fn require_model(body: &Value) -> Result<String, Reject> {
    match body["model"].as_str() {
        Some(m) if !m.is_empty() => Ok(m.to_string()),
        _ => Err(error(
            400,
            "you must provide a model parameter",
            "invalid_request_error",
            None,
            None,
        )
        .into()),
    }
}

/// Estimated tokens of a text: OpenAI's rule of thumb, one token per four characters.
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// `chatcmpl-…`, `call_…`, `resp_…`: a prefix and 24 random alphanumerics.
fn new_id(prefix: &str) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let tail: String = (0..24)
        .map(|_| char::from(rng.sample(rand::distr::Alphanumeric)))
        .collect();
    format!("{prefix}{tail}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
