//! The reference app's HTTP side: webhooks in, replies out through the provider, health,
//! Prometheus metrics and a small admin API (the target of the generic REST smoke example).
//!
//! Concurrency: one `Mutex<TenantState>` per tenant (calendar + conversations), held only
//! while the conversation computes its reply; replies are sent by the [`Outbox`] in spawned
//! tasks, so a webhook is answered in microseconds whatever the provider does.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;

use super::calendar::Calendar;
use super::config::{AppConfig, TenantConfig};
use super::conversation::{Effect, Stage};
use super::dialog;
use super::media;
use super::metrics::{self, Counters};
use super::outbox::{Outbox, ProviderClient, Reply};
use super::recent::Recent;
use super::reply::Body;
use super::signature::{self, SignatureError};
use super::webhook::{self, Content, Event, Inbound};
use crate::logging::{Server, Traffic};
use crate::scenario::ProviderKind;

/// Webhook paths.
pub const EVOLUTION_WEBHOOK_PATH: &str = "/api/whatsapp/webhook";
pub const META_WEBHOOK_PATH: &str = "/api/whatsapp/meta";

/// How many delivered message ids are remembered to drop duplicate deliveries.
const DEDUP_CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
struct TenantState {
    calendar: Calendar,
    conversations: HashMap<String, Stage>,
}

/// The last [`DEDUP_CAPACITY`] delivered messages, as 64-bit hashes of tenant and message id
/// (~26 bytes each instead of two copies of the id string: 2.6 MB when full).
#[derive(Debug)]
struct Dedup {
    hasher: std::hash::RandomState,
    recent: Recent<u64>,
}

impl Default for Dedup {
    fn default() -> Self {
        Self {
            hasher: std::hash::RandomState::new(),
            recent: Recent::new(DEDUP_CAPACITY),
        }
    }
}

impl Dedup {
    /// `true` the first time this message of this tenant is seen.
    fn first_time(&mut self, tenant: &str, message_id: &str) -> bool {
        let key = std::hash::BuildHasher::hash_one(&self.hasher, (tenant, message_id));
        self.recent.insert(key)
    }
}

struct App {
    config: AppConfig,
    tenants: HashMap<String, Mutex<TenantState>>,
    dedup: Mutex<Dedup>,
    outbox: Outbox,
    counters: Counters,
    http: reqwest::Client,
    session_token: String,
}

type Shared = Arc<App>;

/// A running app.
#[derive(Debug)]
pub struct AppHandle {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    redelivery: tokio::task::JoinHandle<()>,
    /// Logs the per-second request totals.
    totals: tokio::task::JoinHandle<()>,
}

impl AppHandle {
    /// Stops the server (in-flight requests finish) and the redelivery task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.redelivery.abort();
        self.totals.abort();
    }
}

impl Drop for AppHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.redelivery.abort();
        self.totals.abort();
    }
}

/// Serves the app on `listener`.
pub async fn start(config: AppConfig, listener: TcpListener) -> io::Result<AppHandle> {
    let addr = listener.local_addr()?;
    let http = crate::runner::default_client();
    let client = ProviderClient {
        kind: config.provider,
        url: config.provider_url.clone(),
        credential: config.credential.clone(),
        graph_version: config.graph_version.clone(),
        http: http.clone(),
    };
    let outbox = Outbox::new(client, config.retry.clone());
    let tenants = config
        .tenants
        .iter()
        .map(|t| (t.id.clone(), Mutex::default()))
        .collect();
    let app = Arc::new(App {
        tenants,
        dedup: Mutex::default(),
        outbox: outbox.clone(),
        counters: Counters::default(),
        http,
        session_token: uuid::Uuid::new_v4().simple().to_string(),
        config,
    });
    let redelivery = tokio::spawn(outbox.redeliver_pending());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let traffic = Arc::new(Traffic::default());
    let totals = tokio::spawn(Arc::clone(&traffic).report(Server::App));
    let router = router(app).layer(axum::middleware::from_fn_with_state(
        traffic,
        crate::logging::app_request,
    ));
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("reference app server stopped: {e}");
        }
    });
    Ok(AppHandle {
        base_url: format!("http://{addr}"),
        addr,
        shutdown: Some(tx),
        server: Some(server),
        redelivery,
        totals,
    })
}

fn router(app: Shared) -> Router {
    Router::new()
        .route(EVOLUTION_WEBHOOK_PATH, post(evolution_webhook))
        .route(
            &format!("{EVOLUTION_WEBHOOK_PATH}/{{event}}"),
            post(evolution_webhook),
        )
        .route(META_WEBHOOK_PATH, get(meta_verify).post(meta_webhook))
        .route(
            "/health/live",
            get(|| async { Json(json!({"status": "ok"})) }),
        )
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics_text))
        .route("/api/auth/login", post(login))
        .route("/api/appointments", get(appointments))
        .with_state(app)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

async fn evolution_webhook(State(app): State<Shared>, body: Bytes) -> Response {
    if app.config.provider != ProviderKind::Evolution {
        return error(
            StatusCode::NOT_FOUND,
            "WRONG_PROVIDER",
            "this app is configured for the Meta Cloud API",
        );
    }
    handle_event(&app, webhook::evolution(&body))
}

async fn meta_webhook(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if app.config.provider != ProviderKind::Meta {
        return error(
            StatusCode::NOT_FOUND,
            "WRONG_PROVIDER",
            "this app is configured for the Evolution API",
        );
    }
    if let Some(secret) = &app.config.app_secret {
        let header = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        match signature::verify(secret, header, &body) {
            Ok(()) => {}
            Err(e) => {
                app.counters
                    .webhooks_unauthorized
                    .fetch_add(1, Ordering::Relaxed);
                return match e {
                    SignatureError::Missing => error(
                        StatusCode::UNAUTHORIZED,
                        "MISSING_SIGNATURE",
                        "X-Hub-Signature-256 header required",
                    ),
                    SignatureError::Mismatch => error(
                        StatusCode::FORBIDDEN,
                        "INVALID_SIGNATURE",
                        "X-Hub-Signature-256 does not match the body",
                    ),
                };
            }
        }
    }
    handle_event(&app, webhook::meta(&body))
}

fn handle_event(app: &Shared, event: Result<Event, webhook::InvalidPayload>) -> Response {
    let c = &app.counters;
    let event = match event {
        Ok(e) => e,
        Err(e) => {
            c.webhooks_invalid.fetch_add(1, Ordering::Relaxed);
            return error(StatusCode::BAD_REQUEST, "INVALID_WEBHOOK_PAYLOAD", e.0);
        }
    };
    let tenant = event.tenant();
    if !app.tenants.contains_key(tenant) {
        c.webhooks_unknown_tenant.fetch_add(1, Ordering::Relaxed);
        return error(
            StatusCode::NOT_FOUND,
            "UNKNOWN_TENANT",
            format!("unknown instance or phone number `{tenant}`"),
        );
    }
    match event {
        Event::Ignored { what, .. } => ignored(c, &what),
        Event::Message(Inbound {
            content: Content::Other(what),
            ..
        }) => ignored(c, &format!("{what} message")),
        Event::Failed {
            message_id, code, ..
        } => {
            c.webhooks_ignored.fetch_add(1, Ordering::Relaxed);
            let fallback = app.outbox.failed(&message_id, code);
            Json(json!({"status": "failed status", "fallback": fallback})).into_response()
        }
        Event::Message(m) => {
            let first = app
                .dedup
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .first_time(&m.tenant, &m.message_id);
            if !first {
                c.webhooks_duplicate.fetch_add(1, Ordering::Relaxed);
                return Json(json!({"status": "duplicate"})).into_response();
            }
            c.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
            converse(app, m);
            Json(json!({"status": "accepted"})).into_response()
        }
    }
}

fn ignored(c: &Counters, what: &str) -> Response {
    c.webhooks_ignored.fetch_add(1, Ordering::Relaxed);
    Json(json!({"status": "ignored", "reason": what})).into_response()
}

/// Runs the conversation for one message and queues the reply; a voice note is downloaded
/// and checked first, in the background.
fn converse(app: &Shared, m: Inbound) {
    let Some(tenant) = app.tenants.get(&m.tenant) else {
        return;
    };
    // A voice note, or any audio: downloaded and checked; the reply asks the customer to write.
    if let Content::Media(media) = &m.content {
        if media.voice || media.kind == "audio" {
            let app = Arc::clone(app);
            let media = media.clone();
            tokio::spawn(async move {
                let reply = hear(&app, &m.tenant, &media).await;
                send(&app, m, reply);
            });
            return;
        }
    }
    let now = chrono::Local::now().naive_local();
    let (body, effect) = {
        let mut state = tenant.lock().unwrap_or_else(|e| e.into_inner());
        let TenantState {
            calendar,
            conversations,
        } = &mut *state;
        let key = m.customer.key();
        let stage = conversations.entry(key.to_string()).or_default();
        let answer = dialog::answer(stage, calendar, key, &m.content, now);
        super::conversation::forget_if_idle(conversations, key);
        answer
    };
    match effect {
        Effect::Booked(_) => app.counters.bookings.fetch_add(1, Ordering::Relaxed),
        Effect::Cancelled(_) => app.counters.cancellations.fetch_add(1, Ordering::Relaxed),
        Effect::None => 0,
    };
    if let Some(body) = body {
        send(app, m, body);
    }
}

/// Downloads a voice note and checks its hash; the reply asks the customer to write.
async fn hear(app: &App, tenant: &str, media: &webhook::Media) -> Body {
    let token = tenant_config(app, tenant)
        .and_then(|t| t.token.clone())
        .unwrap_or_else(|| app.config.credential.clone());
    match media::fetch_verified(app.outbox.client(), tenant, &token, media).await {
        Ok(bytes) => {
            app.counters.media_verified.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                tenant,
                bytes = bytes.len(),
                "voice note downloaded and verified"
            );
            dialog::voice_note(true)
        }
        Err(e) => {
            app.counters.media_failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tenant, "voice note not usable: {e}");
            dialog::voice_note(false)
        }
    }
}

fn tenant_config<'a>(app: &'a App, tenant: &str) -> Option<&'a TenantConfig> {
    app.config.tenants.iter().find(|t| t.id == tenant)
}

/// Queues `body` to the customer of `m`, in plain text for a tenant set so.
fn send(app: &App, m: Inbound, body: Body) {
    if !app.config.replies {
        return;
    }
    let tenant = tenant_config(app, &m.tenant);
    let body = match tenant {
        Some(t) if !t.interactive => body.plain(),
        _ => body,
    };
    app.outbox.submit(Reply {
        tenant: m.tenant,
        token: tenant.and_then(|t| t.token.clone()),
        to: m.customer,
        body,
    });
}

#[derive(serde::Deserialize)]
struct Verify {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's GET handshake: echo `hub.challenge` when the mode is `subscribe` and the token matches.
async fn meta_verify(State(app): State<Shared>, Query(q): Query<Verify>) -> Response {
    match (
        q.mode.as_deref(),
        q.token,
        q.challenge,
        &app.config.verify_token,
    ) {
        (Some("subscribe"), Some(token), Some(challenge), Some(expected)) if &token == expected => {
            (StatusCode::OK, challenge).into_response()
        }
        (None, _, _, _) | (_, None, _, _) | (_, _, None, _) => (
            StatusCode::BAD_REQUEST,
            "hub.mode, hub.verify_token and hub.challenge are required",
        )
            .into_response(),
        _ => (StatusCode::FORBIDDEN, "Forbidden").into_response(),
    }
}

/// Ready when the provider answers (any status below 500).
async fn ready(State(app): State<Shared>) -> Response {
    let url = match app.config.provider {
        ProviderKind::Evolution => format!("{}/", app.config.provider_url),
        ProviderKind::Meta => format!(
            "{}/{}/{}",
            app.config.provider_url,
            app.config.graph_version,
            app.config.tenants.first().map_or("me", |t| t.id.as_str())
        ),
    };
    let probe = app
        .http
        .get(&url)
        .bearer_auth(&app.config.credential)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    let provider = match probe {
        Ok(r) if r.status().as_u16() < 500 => "ok".to_string(),
        Ok(r) => format!("fail: provider answered {}", r.status().as_u16()),
        Err(e) => format!("fail: {e}"),
    };
    let ok = provider == "ok";
    let body = json!({"status": if ok { "ok" } else { "fail" }, "checks": {"provider": provider, "calendar": "ok"}});
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(body),
    )
        .into_response()
}

async fn metrics_text(State(app): State<Shared>) -> Response {
    let appointments: usize = app
        .tenants
        .values()
        .map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).calendar.len())
        .sum();
    let instances = match app.config.provider {
        ProviderKind::Evolution => {
            let names: Vec<String> = app.config.tenants.iter().map(|t| t.id.clone()).collect();
            let c = &app.config;
            metrics::instance_states(&app.http, &c.provider_url, &c.credential, &names).await
        }
        ProviderKind::Meta => Vec::new(),
    };
    let probes = metrics::Probes {
        resident_bytes: metrics::resident_bytes(),
        instances,
    };
    let mut text = metrics::render(
        &app.config.provider,
        &app.counters,
        &app.outbox.stats,
        appointments,
    );
    metrics::probe_metrics(&mut text, &probes);
    (
        [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
        text,
    )
        .into_response()
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(app): State<Shared>, body: Bytes) -> Response {
    let Ok(login) = serde_json::from_slice::<Login>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "expected JSON {\"username\", \"password\"}",
        );
    };
    if login.username == "admin" && login.password == app.config.admin_password {
        Json(json!({"token": app.session_token, "token_type": "Bearer", "expires_in": 3600}))
            .into_response()
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "INVALID_CREDENTIALS",
            "wrong username or password",
        )
    }
}

async fn appointments(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer != Some(app.session_token.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "log in at /api/auth/login and send Authorization: Bearer <token>",
        );
    }
    let mut list = Vec::new();
    for (tenant, state) in &app.tenants {
        let state = state.lock().unwrap_or_else(|e| e.into_inner());
        for a in state.calendar.all() {
            list.push(json!({
                "id": a.id, "tenant": tenant, "customer": a.customer,
                "date": a.slot.date.to_string(), "time": a.slot.time.format("%H:%M").to_string(),
                "doctor": a.slot.doctor().name, "specialty": a.slot.doctor().specialty,
            }));
        }
    }
    Json(json!({"appointments": list, "count": list.len()})).into_response()
}
