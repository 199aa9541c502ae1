//! The MercadoPago-style payments simulator (`harness mock payments`, and embedded in `run`).
//!
//! Why: a paid booking is confirmed by the provider's webhook, not by the app's own call, and
//! "the webhook arrives twice" or "the webhook fails and is retried" cannot be produced on
//! demand against the real service. The app creates a preference (`POST /checkout/preferences`)
//! or a payment (`POST /v1/payments`) and reads it (`GET /v1/payments/{id}`); a test injects a
//! payment outcome (`POST /__harness/payments/notify`, what `inject: { payment: … }` calls) and
//! the simulator sends MercadoPago's notification to the app, signed ([`notify`]), retried on
//! failure by the shared [`WebhookEmitter`], duplicated on demand (`duplicates: n`) or by the
//! `duplicate` fault kind.
//!
//! Shapes follow MercadoPago's public API reference (payments: `id`, `status`,
//! `status_detail`, `external_reference`, `transaction_amount`, …; errors:
//! `{message, error, status, cause: [{code, description}]}`). Memory is bounded: the newest
//! `capacity` payments and preferences are kept.

pub mod notify;
mod store;

use std::io;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Request, State};
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
use super::faults::{FaultProfile, Faults, RequestInfo};
use super::webhook::{RetryPolicy, WebhookEmitter, WebhookRequest};
use super::SimHandle;
use store::Store;

/// Configuration of one payments simulator.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// The `Authorization: Bearer` token the app sends (`APP_USR-…`/`TEST-…`).
    pub access_token: String,
    /// The application's secret signature, the HMAC key of `x-signature`.
    pub webhook_secret: String,
    /// Where notifications go when neither the inject nor the payment names a URL.
    pub notification_url: Option<String>,
    pub faults: FaultProfile,
    pub retry: RetryPolicy,
    /// Payments and preferences kept (the oldest are forgotten).
    pub capacity: usize,
    /// The collector (seller) id in payments, preferences and notifications.
    pub user_id: u64,
    pub service: String,
    /// The simulator's URL as the app and its customers reach it (`--public-url`): the
    /// checkout links (`init_point`) start with it; default: the bind address.
    pub public_url: Option<String>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            access_token: "TEST-harness".into(),
            webhook_secret: "harness-webhook-secret".into(),
            notification_url: None,
            faults: FaultProfile::default(),
            retry: RetryPolicy::default(),
            capacity: 10_000,
            user_id: 1_234_567_890,
            service: "payments".into(),
            public_url: None,
        }
    }
}

#[derive(Clone)]
struct Sim {
    config: Arc<PaymentsConfig>,
    store: Arc<Mutex<Store>>,
    webhooks: WebhookEmitter,
    faults: Faults,
    base_url: Arc<Mutex<String>>,
}

impl Sim {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// MercadoPago's error body.
fn mp_error(status: u16, error: &str, message: &str, code: u32) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({"message": message, "error": error, "status": status.as_u16(),
        "cause": [{"code": code, "description": message, "data": null}]});
    (status, Json(body)).into_response()
}

/// Starts the simulator on `listener`.
pub async fn start(config: PaymentsConfig, listener: TcpListener) -> io::Result<SimHandle> {
    let bus = Bus::default();
    let faults = Faults::new(config.faults.clone());
    let webhooks = WebhookEmitter::new(config.retry.clone());
    let sim = Sim {
        store: Arc::new(Mutex::new(Store::new(config.capacity))),
        config: Arc::new(config),
        webhooks: webhooks.clone(),
        faults: faults.clone(),
        base_url: Arc::default(),
    };
    let reset = sim.clone();
    let control_state = ControlState {
        provider: Simulator::Payments,
        bus: bus.clone(),
        faults: faults.clone(),
        webhooks: webhooks.clone(),
        on_reset: Arc::new(move || *reset.store() = Store::new(reset.config.capacity)),
    };
    let api = Router::new()
        .route("/checkout/preferences", post(create_preference))
        .route("/checkout/preferences/{id}", get(get_preference))
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(get_payment))
        .fallback(|req: Request| async move {
            let msg = format!("Resource {} not found", req.uri().path());
            mp_error(404, "not_found", &msg, 404)
        })
        .with_state(sim.clone())
        .layer(axum::middleware::from_fn_with_state(sim.clone(), auth));
    let inject = Router::new()
        .route("/__harness/payments/notify", post(inject_payment))
        .with_state(sim.clone());
    let router = api.merge(control::router(control_state)).merge(inject);
    let router = super::faults::apply(router, faults, |_| None);
    let source = CallSource {
        provider: Simulator::Payments,
        service: sim.config.service.clone(),
    };
    let router = record_layer(router, bus.clone(), source);
    let mut handle = super::serve(listener, router, bus).await?;
    *sim.base_url.lock().unwrap_or_else(|p| p.into_inner()) = sim
        .config
        .public_url
        .clone()
        .unwrap_or_else(|| handle.base_url.clone());
    handle.on_shutdown(move || webhooks.shutdown());
    Ok(handle)
}

async fn auth(State(sim): State<Sim>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token == Some(sim.config.access_token.as_str()) {
        return next.run(req).await;
    }
    let body = json!({"message": "invalid access token", "error": "unauthorized",
        "status": 401, "cause": []});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

/// The JSON object of a request body; `None` answers MercadoPago's 400.
fn json_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
}

fn bad_json() -> Response {
    mp_error(400, "bad_request", "Invalid JSON body", 400)
}

async fn create_preference(State(sim): State<Sim>, body: Bytes) -> Response {
    let Some(body) = json_body(&body) else {
        return bad_json();
    };
    let items_ok = body["items"].as_array().is_some_and(|i| !i.is_empty());
    if !items_ok {
        return mp_error(400, "invalid_items", "items needed", 2061);
    }
    let base = sim
        .base_url
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let pref = sim.store().new_preference(&body, sim.config.user_id, &base);
    (StatusCode::CREATED, Json(pref)).into_response()
}

async fn get_preference(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    match sim.store().preference(&id) {
        Some(p) => Json(p).into_response(),
        None => mp_error(404, "not_found", "Preference not found", 404),
    }
}

async fn create_payment(State(sim): State<Sim>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(body) = json_body(&body) else {
        return bad_json();
    };
    let Some(amount) = body["transaction_amount"].as_f64().filter(|a| *a > 0.0) else {
        return mp_error(
            400,
            "bad_request",
            "transaction_amount attribute can't be null",
            4,
        );
    };
    let idempotency = headers
        .get("x-idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let status = body["metadata"]["harness_status"]
        .as_str()
        .unwrap_or("approved")
        .to_string();
    let (payment, created) =
        sim.store()
            .new_payment(&body, amount, &status, sim.config.user_id, idempotency);
    if created {
        let url = payment["notification_url"].as_str().map(String::from);
        notify_payment(&sim, &payment, "payment.created", url, 0);
    }
    (StatusCode::CREATED, Json(payment)).into_response()
}

async fn get_payment(State(sim): State<Sim>, Path(id): Path<String>) -> Response {
    let found = id
        .parse::<u64>()
        .ok()
        .and_then(|id| sim.store().payment(id));
    match found {
        Some(p) => Json(p).into_response(),
        None => mp_error(404, "not_found", "Payment not found", 2000),
    }
}

/// `POST /__harness/payments/notify`: `{status, external_reference?, amount?, payment_id?,
/// url?, duplicates?}` — creates the payment (or updates `payment_id`'s status) and notifies.
async fn inject_payment(State(sim): State<Sim>, body: Bytes) -> Response {
    let Some(body) = json_body(&body) else {
        return bad_json();
    };
    let status = body["status"].as_str().unwrap_or("approved").to_string();
    let existing = body["payment_id"]
        .as_u64()
        .or_else(|| body["payment_id"].as_str()?.parse().ok());
    let (payment, action) = {
        let mut store = sim.store();
        match existing.and_then(|id| store.set_status(id, &status)) {
            Some(p) => (p, "payment.updated"),
            None => {
                let request = json!({"external_reference": body["external_reference"],
                    "description": body["description"], "notification_url": body["url"]});
                let amount = body["amount"].as_f64().unwrap_or(0.0);
                let (p, _) = store.new_payment(&request, amount, &status, sim.config.user_id, None);
                (p, "payment.created")
            }
        }
    };
    let url = body["url"]
        .as_str()
        .map(String::from)
        .or_else(|| payment["notification_url"].as_str().map(String::from));
    let extra = body["duplicates"].as_u64().unwrap_or(0) as u32;
    let Some(deliveries) = notify_payment(&sim, &payment, action, url, extra) else {
        return mp_error(
            400,
            "bad_request",
            "no notification URL: give `url`, a payment notification_url or --webhook-url",
            400,
        );
    };
    Json(json!({"payment": payment, "action": action, "deliveries": deliveries})).into_response()
}

/// Sends the notification of `payment` (plus duplicates); the delivery ids, or `None` when
/// there is nowhere to send it.
fn notify_payment(
    sim: &Sim,
    payment: &Value,
    action: &str,
    url: Option<String>,
    extra: u32,
) -> Option<Vec<u64>> {
    let url = url.or_else(|| sim.config.notification_url.clone())?;
    let id = payment["id"].as_u64().unwrap_or(0);
    let path = reqwest::Url::parse(&url)
        .map(|u| u.path().to_string())
        .unwrap_or_default();
    let req = RequestInfo {
        method: "POST",
        path: &path,
        tenant: None,
    };
    let copies = 1 + extra + sim.faults.get().0.duplicates(&req, rand::random());
    let notification_id = sim.store().next_notification();
    let at = payment["date_last_updated"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let body = notify::body(notification_id, id, action, sim.config.user_id, &at);
    let sep = if url.contains('?') { '&' } else { '?' };
    let target = format!("{url}{sep}data.id={id}&type=payment");
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let deliveries = (0..copies)
        .map(|_| {
            let request_id = uuid::Uuid::new_v4().to_string();
            let signature =
                notify::signature(&sim.config.webhook_secret, &id.to_string(), &request_id, ts);
            sim.webhooks.send(WebhookRequest {
                url: target.clone(),
                event: action.to_string(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    (
                        "user-agent".into(),
                        "MercadoPago WebHook v1.0 payment".into(),
                    ),
                    ("x-request-id".into(), request_id),
                    ("x-signature".into(), signature),
                ],
                body: Bytes::from(body.to_string()),
                delay: std::time::Duration::ZERO,
            })
        })
        .collect();
    Some(deliveries)
}

#[cfg(test)]
mod tests;
