//! The reference app's HTTP side: webhooks in, replies out through the provider, health,
//! Prometheus metrics and a small admin API (the target of the generic REST smoke example).
//!
//! Concurrency: one `Mutex<TenantState>` per tenant (calendar + conversations), held only
//! while the conversation computes its reply; replies are sent by the [`Outbox`] in spawned
//! tasks, so a webhook is answered in microseconds whatever the provider does.

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

use super::config::AppConfig;
use super::flow;
use super::metrics::{self, Counters};
use super::outbox::{Outbox, ProviderClient};
use super::payments;
use super::signature::{self, SignatureError};
use super::state::{error, App, Shared};
use super::webhook::{self, Content, Event, Inbound};
use crate::logging::{Server, Traffic};
use crate::scenario::ProviderKind;

/// Webhook paths.
pub const EVOLUTION_WEBHOOK_PATH: &str = "/api/whatsapp/webhook";
pub const META_WEBHOOK_PATH: &str = "/api/whatsapp/meta";

/// The Evolution events the app's instance webhook is subscribed to: the ones it handles
/// ([`super::webhook`] acts on `messages.upsert` and ignores every other event), as an app
/// sets them with `webhook/set` or `instance/create`. Subscribed to everything it would also
/// receive each reply's `send.message`, its delivery and read acks and the customer's contact
/// events: 10 webhooks in a booking conversation instead of 2, the other 8 answered and dropped.
pub const EVOLUTION_WEBHOOK_EVENTS: &[&str] = &["MESSAGES_UPSERT"];

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
        public_url: public_url(addr),
        ledger: Mutex::default(),
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

/// `http://ADDR`, with 127.0.0.1 for an unspecified bind address.
fn public_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

fn router(app: Shared) -> Router {
    Router::new()
        .route(EVOLUTION_WEBHOOK_PATH, post(evolution_webhook))
        .route(
            &format!("{EVOLUTION_WEBHOOK_PATH}/{{event}}"),
            post(evolution_webhook),
        )
        .route(META_WEBHOOK_PATH, get(meta_verify).post(meta_webhook))
        .route(payments::WEBHOOK_PATH, post(payments::webhook))
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
                .first_time((&m.tenant, &m.message_id));
            if !first {
                c.webhooks_duplicate.fetch_add(1, Ordering::Relaxed);
                return Json(json!({"status": "duplicate"})).into_response();
            }
            c.webhooks_accepted.fetch_add(1, Ordering::Relaxed);
            flow::converse(app, m);
            Json(json!({"status": "accepted"})).into_response()
        }
    }
}

fn ignored(c: &Counters, what: &str) -> Response {
    c.webhooks_ignored.fetch_add(1, Ordering::Relaxed);
    Json(json!({"status": "ignored", "reason": what})).into_response()
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
