//! Paid bookings through a MercadoPago-style API: a checkout preference per booking (its
//! `init_point` is the link the customer pays at), and the payment notification webhook
//! ([`WEBHOOK_PATH`]): signature checked ([`super::payment_signature`]), the payment read
//! back from the API (a notification carries only its id), and an approved payment confirmed
//! to the customer exactly once per payment id, however often it is notified.

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::config::PaymentsEndpoint;
use super::payment_signature::{self, PaymentSignatureError};
use super::reply::Body;
use super::state::{self, error, Shared};

/// Where MercadoPago's notifications are received.
pub const WEBHOOK_PATH: &str = "/api/payments/webhook";
/// Timeout of each call to the payments API.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// The consultation's price, in [`CURRENCY`].
pub const PRICE: u64 = 80_000;
pub const CURRENCY: &str = "COP";

/// The checkout preference of a booking; `Ok` is its `init_point` (the payment link).
pub async fn create_preference(
    http: &reqwest::Client,
    api: &PaymentsEndpoint,
    reference: &str,
    title: &str,
    notification_url: &str,
) -> Result<String, String> {
    let body = json!({
        "items": [{"id": reference, "title": title, "quantity": 1,
                   "unit_price": PRICE, "currency_id": CURRENCY}],
        "external_reference": reference,
        "notification_url": notification_url,
    });
    let sent = http
        .post(format!("{}/checkout/preferences", api.base_url))
        .bearer_auth(&api.access_token)
        .header("x-idempotency-key", reference)
        .json(&body)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("payments API unreachable: {e}"))?;
    let status = sent.status().as_u16();
    let answer: Value = sent.json().await.unwrap_or(Value::Null);
    match answer.get("init_point").and_then(Value::as_str) {
        Some(link) if (200..300).contains(&status) => Ok(link.to_string()),
        _ => Err(format!(
            "payments API answered {status} without an init_point"
        )),
    }
}

/// A payment as the API reports it: `(status, external_reference)`.
async fn payment(
    http: &reqwest::Client,
    api: &PaymentsEndpoint,
    id: &str,
) -> Result<(String, String), String> {
    let sent = http
        .get(format!("{}/v1/payments/{id}", api.base_url))
        .bearer_auth(&api.access_token)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("payments API unreachable: {e}"))?;
    let status = sent.status().as_u16();
    if !sent.status().is_success() {
        return Err(format!("payments API answered {status} for payment {id}"));
    }
    let p: Value = sent
        .json()
        .await
        .map_err(|e| format!("payment {id}: {e}"))?;
    let field = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    Ok((field("status"), field("external_reference")))
}

/// The notification's `data.id` (the URL's query, as MercadoPago signs it; else the body's)
/// and `type`.
fn notification(query: &[(String, String)], body: &[u8]) -> (Option<String>, Option<String>) {
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let data_id = q("data.id").or_else(|| match body.pointer("/data/id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    });
    let kind = q("type")
        .or_else(|| q("topic"))
        .or_else(|| body.get("type").and_then(Value::as_str).map(str::to_string));
    (data_id.filter(|d| !d.is_empty()), kind)
}

/// `POST /api/payments/webhook`: see the module docs and docs/dependencies.md.
pub async fn webhook(
    State(app): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(api) = app.config.dependencies.payments.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "PAYMENTS_DISABLED",
            "this app takes no payments (no payments API configured)",
        );
    };
    let (Some(data_id), kind) = notification(&query, &body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "INVALID_NOTIFICATION",
            "no data.id in the query or the body",
        );
    };
    let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    let request_id = header("x-request-id").unwrap_or("");
    let signed = payment_signature::verify(
        &api.webhook_secret,
        header("x-signature"),
        &data_id,
        request_id,
    );
    if let Err(e) = signed {
        app.counters
            .webhooks_unauthorized
            .fetch_add(1, Ordering::Relaxed);
        return match e {
            PaymentSignatureError::Missing => error(
                StatusCode::UNAUTHORIZED,
                "MISSING_SIGNATURE",
                "x-signature header with ts and v1 required",
            ),
            PaymentSignatureError::Mismatch => error(
                StatusCode::FORBIDDEN,
                "INVALID_SIGNATURE",
                "x-signature does not match the notification",
            ),
        };
    }
    if kind.as_deref().is_some_and(|k| k != "payment") {
        return Json(json!({"status": "ignored"})).into_response();
    }
    match payment(&app.http, &api, &data_id).await {
        Ok((status, reference)) => settle(&app, &data_id, &status, &reference),
        Err(why) => {
            tracing::warn!("payment notification not settled: {why}");
            error(StatusCode::BAD_GATEWAY, "PAYMENT_LOOKUP_FAILED", why)
        }
    }
}

/// Confirms an approved payment of a known booking to its customer, once per payment id
/// (every time when the app mishandles duplicates).
fn settle(app: &Shared, payment_id: &str, status: &str, reference: &str) -> Response {
    if status != "approved" {
        return Json(json!({"status": status})).into_response();
    }
    let booking = {
        let mut ledger = app.ledger();
        let Some(booking) = ledger.get(reference).cloned() else {
            return Json(json!({"status": "unknown_reference"})).into_response();
        };
        let first = ledger.confirmed.first_time(payment_id.to_string());
        if !first && !app.config.mishandle.duplicate_payment {
            app.counters
                .payments_duplicate
                .fetch_add(1, Ordering::Relaxed);
            return Json(json!({"status": "duplicate"})).into_response();
        }
        booking
    };
    let text = format!(
        "✅ Pago recibido: su cita {} está confirmada.",
        booking.what
    );
    app.counters
        .payments_confirmed
        .fetch_add(1, Ordering::Relaxed);
    state::send(app, &booking.tenant, booking.customer, Body::Text(text));
    Json(json!({"status": "confirmed"})).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notification_id_comes_from_the_query_else_the_body() {
        let q = vec![
            ("data.id".to_string(), "123".to_string()),
            ("type".to_string(), "payment".to_string()),
        ];
        let body = br#"{"type":"payment","data":{"id":"999"}}"#;
        assert_eq!(
            notification(&q, body),
            (Some("123".into()), Some("payment".into()))
        );
        assert_eq!(
            notification(&[], body),
            (Some("999".into()), Some("payment".into()))
        );
        let numeric = br#"{"data":{"id":42}}"#;
        assert_eq!(notification(&[], numeric), (Some("42".into()), None));
        assert_eq!(notification(&[], b"not json"), (None, None));
    }
}
