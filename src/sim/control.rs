//! The control API shared by both simulators, under `/__harness/`.
//!
//! Why: tests, the runner (when the simulator runs in another process) and people with curl
//! need to see what the app sent, inject faults and reset state without touching the provider
//! API surface that the app sees. Simulator-specific routes (`/__harness/inbound`,
//! `/__harness/instances/{name}/pair`) live in each simulator and are merged with this router.
//!
//! Routes:
//! - `GET /__harness/health` → `{"status":"ok","provider":…,"journal":{…},"webhooks_pending":n}`
//! - `GET /__harness/outbound[?to=&tenant=&since=&wait_ms=&limit=]` → JSON list of
//!   [`OutboundMessage`](super::bus::OutboundMessage); with `wait_ms` it long-polls (at most
//!   60 s) until a matching message with `seq > since` exists.
//! - `POST /__harness/reset` → simulator state back to its configuration; journal, webhook log
//!   and faults cleared.
//! - `GET|POST|DELETE /__harness/faults` → read, replace (JSON or YAML body), clear.
//! - `GET /__harness/faults/history` → every non-empty profile set since start or reset, with
//!   when (bounded), for reports.
//! - `GET /__harness/webhooks` → the webhook delivery log.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::bus::{Bus, OutboundFilter, Simulator};
use super::faults::{FaultProfile, Faults};
use super::webhook::WebhookEmitter;

/// Longest long-poll accepted.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Default and largest page of `GET /__harness/outbound`.
const DEFAULT_LIMIT: usize = 1_000;

/// What the control routes act on.
#[derive(Clone)]
pub struct ControlState {
    pub provider: Simulator,
    pub bus: Bus,
    pub faults: Faults,
    pub webhooks: WebhookEmitter,
    /// Puts the simulator's own state (tenants, counters) back to its configuration.
    pub on_reset: Arc<dyn Fn() + Send + Sync>,
}

/// The shared control routes, ready to be merged into a simulator's router.
pub fn router(state: ControlState) -> Router {
    Router::new()
        .route("/__harness/health", get(health))
        .route("/__harness/outbound", get(outbound))
        .route("/__harness/reset", axum::routing::post(reset))
        .route(
            "/__harness/faults",
            get(get_faults).post(set_faults).delete(clear_faults),
        )
        .route("/__harness/faults/history", get(fault_history))
        .route("/__harness/webhooks", get(webhooks))
        .with_state(state)
}

async fn health(State(s): State<ControlState>) -> Json<serde_json::Value> {
    let (len, capacity, dropped) = s.bus.journal_stats();
    Json(json!({
        "status": "ok",
        "provider": s.provider,
        "journal": {"len": len, "capacity": capacity, "dropped": dropped},
        "webhooks_pending": s.webhooks.pending(),
    }))
}

#[derive(Debug, Deserialize)]
struct OutboundQuery {
    // Not `#[serde(flatten)]`: with serde_urlencoded it turns numbers into strings.
    to: Option<String>,
    tenant: Option<String>,
    since: Option<u64>,
    wait_ms: Option<u64>,
    limit: Option<usize>,
}

async fn outbound(State(s): State<ControlState>, Query(q): Query<OutboundQuery>) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, DEFAULT_LIMIT);
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(0)).min(MAX_WAIT);
    let filter = OutboundFilter {
        to: q.to,
        tenant: q.tenant,
        since: q.since.unwrap_or(0),
    };
    let found = s.bus.wait_for(&filter, limit, wait).await;
    let list: Vec<&super::bus::OutboundMessage> = found.iter().map(|m| m.as_ref()).collect();
    Json(list).into_response()
}

async fn reset(State(s): State<ControlState>) -> Json<serde_json::Value> {
    (s.on_reset)();
    s.bus.clear();
    s.webhooks.clear();
    s.faults.clear();
    s.faults.clear_history();
    Json(json!({"status": "reset"}))
}

async fn get_faults(State(s): State<ControlState>) -> Json<FaultProfile> {
    Json(s.faults.get().0.as_ref().clone())
}

async fn set_faults(State(s): State<ControlState>, body: Bytes) -> Response {
    let text = String::from_utf8_lossy(&body);
    match FaultProfile::parse(&text) {
        Ok(profile) => {
            tracing::info!(rules = profile.rules.len(), "faults set");
            s.faults.set(profile.clone());
            Json(profile).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn clear_faults(State(s): State<ControlState>) -> Json<FaultProfile> {
    s.faults.clear();
    Json(FaultProfile::default())
}

async fn fault_history(State(s): State<ControlState>) -> Json<Vec<super::faults::FaultEvent>> {
    Json(s.faults.history())
}

async fn webhooks(State(s): State<ControlState>) -> Json<Vec<super::webhook::Delivery>> {
    Json(s.webhooks.deliveries())
}
