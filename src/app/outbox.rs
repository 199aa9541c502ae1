//! Sending replies through the provider, reliably.
//!
//! A reply is first tried at once, then retried with exponential backoff for a bounded time
//! ([`RetryPolicy::give_up_after`]) on failures that may pass (connection refused, timeout,
//! 5xx, 429, Meta's throttling codes). A reply still undelivered then is kept as *pending* and
//! retried every [`RetryPolicy::redeliver_every`] for as long as the app runs, so a booking
//! confirmation is never lost silently: pending and dead replies are visible in `/metrics`.
//! A permanent refusal (other 4xx) is counted as dead, with the provider's answer logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::webhook::Customer;
use crate::scenario::ProviderKind;

/// How replies are retried.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub max_delay: Duration,
    /// Stop retrying in line after this long; the reply becomes pending.
    pub give_up_after: Duration,
    /// How often pending replies are tried again.
    pub redeliver_every: Duration,
    /// Timeout of one send.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            give_up_after: Duration::from_secs(10),
            redeliver_every: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct ProviderClient {
    pub kind: ProviderKind,
    /// Base URL, no trailing slash.
    pub url: String,
    /// Evolution: the `apikey` (global key). Meta: the default access token.
    pub credential: String,
    /// Graph API version used in Meta paths.
    pub graph_version: String,
    pub http: reqwest::Client,
}

/// One reply to deliver.
#[derive(Debug, Clone)]
pub struct Reply {
    pub tenant: String,
    /// Meta: the tenant's own token when it has one.
    pub token: Option<String>,
    pub to: Customer,
    pub text: String,
}

/// The result of one send.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Sent,
    /// May succeed later.
    Retryable(String),
    /// Will not succeed as it is.
    Permanent(String),
}

impl ProviderClient {
    /// Sends once.
    pub async fn send(&self, reply: &Reply, timeout: Duration) -> SendOutcome {
        let (url, body, auth) = match self.kind {
            ProviderKind::Evolution => (
                format!("{}/message/sendText/{}", self.url, reply.tenant),
                json!({"number": reply.to.key(), "text": reply.text}),
                ("apikey".to_string(), self.credential.clone()),
            ),
            ProviderKind::Meta => {
                let mut body = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                    "type": "text", "text": {"preview_url": false, "body": reply.text}});
                match &reply.to {
                    Customer::Phone(p) => body["to"] = json!(p),
                    Customer::UserId(u) => body["recipient"] = json!(u),
                }
                let token = reply
                    .token
                    .clone()
                    .unwrap_or_else(|| self.credential.clone());
                (
                    format!(
                        "{}/{}/{}/messages",
                        self.url, self.graph_version, reply.tenant
                    ),
                    body,
                    ("authorization".to_string(), format!("Bearer {token}")),
                )
            }
        };
        let sent = self
            .http
            .post(&url)
            .header(auth.0, auth.1)
            .json(&body)
            .timeout(timeout)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return SendOutcome::Retryable(format!("{e}")),
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        classify(status, &text)
    }
}

/// Decides from the provider's answer whether a failed send may be retried.
pub fn classify(status: u16, body: &str) -> SendOutcome {
    if (200..300).contains(&status) {
        return SendOutcome::Sent;
    }
    let code = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.pointer("/error/code").and_then(Value::as_i64));
    let why = format!("{status}: {}", body.chars().take(300).collect::<String>());
    // Meta throttling / transient codes: throughput, pair rate, generic, service unavailable.
    let transient_code = matches!(
        code,
        Some(4 | 2 | 80007 | 130429 | 131000 | 131016 | 131056)
    );
    if status >= 500 || status == 429 || status == 408 || transient_code {
        SendOutcome::Retryable(why)
    } else {
        SendOutcome::Permanent(why)
    }
}

/// Counters exposed in `/metrics`.
#[derive(Debug, Default)]
pub struct OutboxStats {
    pub sent: AtomicU64,
    pub send_failures: AtomicU64,
    pub retries: AtomicU64,
    pub dead: AtomicU64,
    pub pending: AtomicU64,
}

/// Replies waiting for the provider to come back.
#[derive(Debug, Clone)]
pub struct Outbox {
    client: Arc<ProviderClient>,
    policy: RetryPolicy,
    pending: Arc<Mutex<Vec<Reply>>>,
    pub stats: Arc<OutboxStats>,
}

impl Outbox {
    pub fn new(client: ProviderClient, policy: RetryPolicy) -> Self {
        Self {
            client: Arc::new(client),
            policy,
            pending: Arc::default(),
            stats: Arc::default(),
        }
    }

    /// Delivers `reply` in the background (retrying as the policy says).
    pub fn submit(&self, reply: Reply) {
        let outbox = self.clone();
        tokio::spawn(async move { outbox.deliver(reply).await });
    }

    async fn deliver(&self, reply: Reply) {
        let start = Instant::now();
        let mut delay = self.policy.first_delay;
        loop {
            match self.client.send(&reply, self.policy.timeout).await {
                SendOutcome::Sent => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                SendOutcome::Permanent(why) => {
                    self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                    self.stats.dead.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(tenant = %reply.tenant, "reply refused by the provider: {why}");
                    return;
                }
                SendOutcome::Retryable(why) => {
                    self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                    if start.elapsed() + delay > self.policy.give_up_after {
                        tracing::warn!(tenant = %reply.tenant, "provider unavailable, reply kept for redelivery: {why}");
                        self.stats.pending.fetch_add(1, Ordering::Relaxed);
                        self.pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(reply);
                        return;
                    }
                    tracing::debug!(tenant = %reply.tenant, "send failed, retrying in {delay:?}: {why}");
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.policy.max_delay);
                }
            }
        }
    }

    /// Retries pending replies forever (until the task is aborted); oldest first, stopping at
    /// the first that still fails so order is kept.
    pub async fn redeliver_pending(self) {
        loop {
            tokio::time::sleep(self.policy.redeliver_every).await;
            loop {
                let next = self
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .first()
                    .cloned();
                let Some(reply) = next else { break };
                match self.client.send(&reply, self.policy.timeout).await {
                    SendOutcome::Retryable(_) => {
                        self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    outcome => {
                        self.pending
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(0);
                        self.stats.pending.fetch_sub(1, Ordering::Relaxed);
                        let counter = if outcome == SendOutcome::Sent {
                            &self.stats.sent
                        } else {
                            &self.stats.dead
                        };
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_provider_answers() {
        assert_eq!(classify(201, "{}"), SendOutcome::Sent);
        assert!(matches!(classify(503, ""), SendOutcome::Retryable(_)));
        assert!(matches!(classify(429, ""), SendOutcome::Retryable(_)));
        let throttled = r#"{"error":{"message":"(#130429) Rate limit hit","code":130429}}"#;
        assert!(matches!(
            classify(400, throttled),
            SendOutcome::Retryable(_)
        ));
        let bad_param = r#"{"error":{"message":"(#100) Invalid parameter","code":100}}"#;
        assert!(matches!(
            classify(400, bad_param),
            SendOutcome::Permanent(_)
        ));
        assert!(matches!(
            classify(401, "Unauthorized"),
            SendOutcome::Permanent(_)
        ));
    }
}
