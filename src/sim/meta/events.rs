//! Webhooks to the app: build the payload, serialise it as ASCII JSON once, sign those exact
//! bytes, and queue them on the shared emitter (which sends `Content-Length`, retries with
//! backoff and logs outcomes). One item per POST.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::graph::GraphError;
use super::http::unix_after;
use super::payload::{self, InboundMessage, StatusEvent, StatusKind};
use super::state::AcceptedSend;
use super::tenants::PhoneNumber;
use super::validate::{Recipient, SendRequest};
use super::wire::{
    legacy_signature_header, signature_header, to_ascii_json, LEGACY_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
};
use super::Meta;
use crate::sim::webhook::WebhookRequest;

/// The User-Agent Meta's webhook deliveries carry.
const USER_AGENT: &str = "facebookexternalua";

/// Signs `value` and queues it for `url`; returns the emitter's delivery id.
fn queue(m: &Meta, url: String, event: &str, value: &Value, delay: Duration) -> u64 {
    let body = Bytes::from(to_ascii_json(value));
    let secret = m.config.app_secret.as_bytes();
    let signature = signature_header(secret, &body);
    let legacy = legacy_signature_header(secret, &body);
    let headers = vec![
        ("content-type".to_string(), "application/json".to_string()),
        (SIGNATURE_HEADER.to_string(), signature),
        (LEGACY_SIGNATURE_HEADER.to_string(), legacy),
        ("user-agent".to_string(), USER_AGENT.to_string()),
    ];
    m.webhooks.send(WebhookRequest {
        url,
        event: event.to_string(),
        headers,
        body,
        delay,
    })
}

/// The number's webhook URL, or `None` (logged: the event is not sent).
fn url_for(m: &Meta, number: &PhoneNumber, event: &str) -> Option<String> {
    let url = m.webhook_url_of(number);
    if url.is_none() {
        tracing::debug!(phone_number_id = %number.id, event, "no webhook URL: event not sent");
    }
    url
}

/// A stable conversation id per (phone number, customer).
fn conversation_id(phone_number_id: &str, wa_id: &str) -> String {
    let digest = Sha256::new()
        .chain_update(phone_number_id.as_bytes())
        .chain_update(b"/")
        .chain_update(wa_id.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// The status webhooks that follow an accepted send: `sent`, `delivered`, `read` (and
/// `played` for audio) at the configured delays, or a single `failed` with `failure` (131047
/// outside the customer-service window, or the code a fault profile asked for).
pub(super) fn schedule_statuses(
    m: &Meta,
    number: &PhoneNumber,
    req: &SendRequest,
    accepted: &AcceptedSend,
    wamid: &str,
    category: &str,
    failure: Option<GraphError>,
) {
    let Some(url) = url_for(m, number, "statuses") else {
        return;
    };
    let delays = &m.config.status_delays;
    let played = delays.played.filter(|_| req.kind == "audio");
    let plan: Vec<(StatusKind, Duration)> = if failure.is_none() {
        [
            (StatusKind::Sent, Some(delays.sent)),
            (StatusKind::Delivered, delays.delivered),
            (StatusKind::Read, delays.read),
            (StatusKind::Played, played),
        ]
        .into_iter()
        .filter_map(|(k, d)| d.map(|d| (k, d)))
        .collect()
    } else {
        vec![(StatusKind::Failed, delays.sent)]
    };
    let business = m.tenants.business(number);
    let customer = accepted.customer.contact();
    for (status, delay) in plan {
        let failed = status == StatusKind::Failed;
        let ev = StatusEvent {
            id: wamid.to_string(),
            status,
            timestamp: unix_after(delay),
            by_user_id: matches!(req.recipient, Recipient::UserId(_)),
            biz_opaque_callback_data: req.biz_opaque_callback_data.clone(),
            conversation_id: (!failed).then(|| conversation_id(&number.id, &customer.wa_id)),
            category: category.to_string(),
            error: if failed { failure.clone() } else { None },
        };
        let value = payload::status_webhook(&business, &customer, &ev);
        let event = format!("statuses.{}", status.as_str());
        queue(m, url.clone(), &event, &value, delay);
    }
}

/// Where account-level webhooks of a WABA go: its override, else the app's URL, else the URL
/// of one of its numbers.
fn waba_url(m: &Meta, waba: &str) -> Option<String> {
    let reg = m.registration();
    if let Some(u) = reg.waba_overrides.get(waba).or(reg.webhook_url.as_ref()) {
        return Some(u.clone());
    }
    m.tenants
        .numbers()
        .iter()
        .filter(|n| m.tenants.waba_of(n) == waba)
        .find_map(|n| m.webhook_url_of(n))
}

/// An account-level webhook (`message_template_status_update`, `message_template_quality_update`,
/// …): `entry[0].id` is the WABA id, `time` Unix seconds, one change with `field`.
pub(super) fn waba_webhook(m: &Meta, waba: &str, field: &str, value: Value, delay: Duration) {
    let Some(url) = waba_url(m, waba) else {
        tracing::debug!(waba, field, "no webhook URL: event not sent");
        return;
    };
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "time": unix_after(delay),
            "changes": [{"value": value, "field": field}]}],
    });
    queue(m, url, field, &body, delay);
}

/// Delivers a customer's message to the app; returns the emitter's delivery id.
pub(super) fn deliver_inbound(
    m: &Meta,
    number: &PhoneNumber,
    customer: &payload::Customer,
    msg: &InboundMessage,
) -> Option<u64> {
    let url = url_for(m, number, "messages")?;
    let business = m.tenants.business(number);
    let value = payload::inbound_webhook(&business, customer, msg);
    Some(queue(m, url, "messages", &value, Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_stable_and_distinct() {
        let a = conversation_id("1", "100");
        assert_eq!(a, conversation_id("1", "100"));
        assert_ne!(a, conversation_id("2", "100"));
        assert_eq!(a.len(), 32);
    }
}
