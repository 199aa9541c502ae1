//! Sending replies through the provider, reliably.
//!
//! A reply is first tried at once, then retried with exponential backoff for a bounded time
//! ([`RetryPolicy::give_up_after`]) on failures that may pass (connection refused, timeout,
//! 5xx, 429, Meta's throttling codes). A reply still undelivered then is kept as *pending* and
//! retried every [`RetryPolicy::redeliver_every`] for as long as the app runs, so a booking
//! confirmation is never lost silently: pending and dead replies are visible in `/metrics`.
//! A permanent refusal (other 4xx) is counted as dead, with the provider's answer logged.
//!
//! At most [`MAX_SENDS_IN_FLIGHT`] sends are on the wire at once; the others wait their turn
//! in their task. Each send on the wire holds a connection with its buffers, here and in the
//! provider: unbounded, a burst of replies was ~1,000 connections at once (`harness load` at
//! 5,000 conversations a second against the embedded simulator).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::Semaphore;

use super::recent::Recent;
use super::reply::{self, Body};
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
    pub body: Body,
}

impl Reply {
    fn key(&self) -> String {
        format!("{}/{}", self.tenant, self.to.key())
    }
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
        self.send_with_id(reply, timeout).await.0
    }

    /// Sends once; on success also the provider's id of the message (Meta `messages[0].id`,
    /// Evolution `key.id`).
    pub async fn send_with_id(
        &self,
        reply: &Reply,
        timeout: Duration,
    ) -> (SendOutcome, Option<String>) {
        let (url, body, auth) = match self.kind {
            ProviderKind::Evolution => {
                let (route, body) = reply::evolution_payload(reply.to.key(), &reply.body);
                (
                    format!("{}/message/{route}/{}", self.url, reply.tenant),
                    body,
                    ("apikey".to_string(), self.credential.clone()),
                )
            }
            ProviderKind::Meta => {
                let token = self.token_for(reply);
                (
                    format!(
                        "{}/{}/{}/messages",
                        self.url, self.graph_version, reply.tenant
                    ),
                    reply::meta_payload(&reply.to, &reply.body),
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
            Err(e) => return (SendOutcome::Retryable(format!("{e}")), None),
        };
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let id = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
            ["/messages/0/id", "/key/id"]
                .iter()
                .find_map(|p| v.pointer(p).and_then(Value::as_str).map(str::to_string))
        });
        (classify(status, &text), id)
    }

    /// Meta: the tenant's own token, else the default one.
    pub fn token_for(&self, reply: &Reply) -> String {
        reply
            .token
            .clone()
            .unwrap_or_else(|| self.credential.clone())
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
    /// Interactive replies sent again as plain text (refused, or failed on the phone).
    pub fallbacks: AtomicU64,
}

/// Meta's asynchronous failure of a message the customer's phone cannot show
/// ("Message undeliverable", e.g. an old WhatsApp version): answered in plain text.
pub const UNDELIVERABLE: i64 = 131026;

/// How many interactive messages are remembered for a late failure.
const REMEMBERED: usize = 10_000;

/// Who gets plain text, and which interactive messages may still fail.
#[derive(Debug)]
struct Fallback {
    /// Customers (tenant and number) whose phones get plain text; the newest [`REMEMBERED`].
    text_only: Recent<String>,
    /// The newest [`REMEMBERED`] interactive replies, by message id, in their plain-text form
    /// (all a late failure needs); the table is taken at start-up, twice as big as it needs
    /// so that forgetting never grows it (as `Recent::reserved`).
    sent: HashMap<String, Box<Reply>>,
    order: VecDeque<String>,
    /// Failures of ids not (yet) remembered.
    early: HashSet<String>,
}

impl Default for Fallback {
    fn default() -> Self {
        Self {
            text_only: Recent::new(REMEMBERED),
            sent: HashMap::with_capacity(2 * REMEMBERED),
            order: VecDeque::with_capacity(REMEMBERED),
            early: HashSet::new(),
        }
    }
}

/// Sends on the wire at once; more wait for a turn.
pub const MAX_SENDS_IN_FLIGHT: usize = 128;

/// Replies waiting for the provider to come back.
#[derive(Debug, Clone)]
pub struct Outbox {
    client: Arc<ProviderClient>,
    policy: RetryPolicy,
    /// Turns to have a send on the wire ([`MAX_SENDS_IN_FLIGHT`]).
    on_the_wire: Arc<Semaphore>,
    pending: Arc<Mutex<Vec<Reply>>>,
    fallback: Arc<Mutex<Fallback>>,
    pub stats: Arc<OutboxStats>,
}

impl Outbox {
    pub fn new(client: ProviderClient, policy: RetryPolicy) -> Self {
        Self {
            client: Arc::new(client),
            policy,
            on_the_wire: Arc::new(Semaphore::new(MAX_SENDS_IN_FLIGHT)),
            pending: Arc::default(),
            fallback: Arc::default(),
            stats: Arc::default(),
        }
    }

    /// Delivers `reply` in the background (retrying as the policy says).
    pub fn submit(&self, reply: Reply) {
        let outbox = self.clone();
        tokio::spawn(async move { outbox.deliver(reply).await });
    }

    /// The client (for media downloads with the same credentials).
    pub fn client(&self) -> &ProviderClient {
        &self.client
    }

    /// A late failure of message `id` (Meta `statuses[].status: failed`): an interactive reply
    /// the phone could not show is sent again as plain text, and this customer gets plain
    /// text from now on. `true` when it was one. A failure that arrives before the send's own
    /// answer was read is kept until it is.
    pub fn failed(&self, id: &str, code: i64) -> bool {
        if code != UNDELIVERABLE {
            return false;
        }
        let reply = {
            let mut f = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
            match f.sent.remove(id) {
                Some(reply) => *reply,
                None => {
                    if f.early.len() == REMEMBERED {
                        f.early.clear();
                    }
                    f.early.insert(id.to_string());
                    return false;
                }
            }
        };
        self.fall_back(reply);
        true
    }

    /// Sends `reply` again as plain text; its customer gets plain text from now on.
    fn fall_back(&self, reply: Reply) {
        self.fallback
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .text_only
            .insert(reply.key());
        self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
        tracing::info!(tenant = %reply.tenant, "interactive reply undeliverable: sent as plain text");
        self.submit(Reply {
            body: reply.body.plain(),
            ..reply
        });
    }

    /// `reply`, as plain text when its customer is known not to receive interactive messages.
    fn shaped(&self, mut reply: Reply) -> Reply {
        if reply.body.is_interactive() {
            let f = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
            if f.text_only.contains(&reply.key()) {
                reply.body = reply.body.plain();
            }
        }
        reply
    }

    fn remember(&self, id: String, reply: &Reply) {
        let mut f = self.fallback.lock().unwrap_or_else(|e| e.into_inner());
        if f.early.remove(&id) {
            drop(f);
            self.fall_back(reply.clone());
            return;
        }
        if f.order.len() == REMEMBERED {
            if let Some(old) = f.order.pop_front() {
                f.sent.remove(&old);
            }
        }
        f.order.push_back(id.clone());
        let plain = Reply {
            tenant: reply.tenant.clone(),
            token: reply.token.clone(),
            to: reply.to.clone(),
            body: reply.body.plain(),
        };
        f.sent.insert(id, Box::new(plain));
    }

    async fn deliver(&self, reply: Reply) {
        let mut reply = self.shaped(reply);
        let start = Instant::now();
        let mut delay = self.policy.first_delay;
        loop {
            // The semaphore is never closed: `acquire` fails only then.
            let turn = self.on_the_wire.acquire().await.ok();
            let outcome = self.client.send_with_id(&reply, self.policy.timeout).await;
            drop(turn);
            match outcome {
                (SendOutcome::Sent, id) => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    if let (true, Some(id)) = (reply.body.is_interactive(), id) {
                        self.remember(id, &reply);
                    }
                    return;
                }
                (SendOutcome::Permanent(why), _) if reply.body.is_interactive() => {
                    // The provider refuses interactive messages here: plain text instead.
                    self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                    self.stats.fallbacks.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(tenant = %reply.tenant, "interactive reply refused, sending plain text: {why}");
                    self.fallback
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .text_only
                        .insert(reply.key());
                    reply.body = reply.body.plain();
                }
                (SendOutcome::Permanent(why), _) => {
                    self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                    self.stats.dead.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(tenant = %reply.tenant, "reply refused by the provider: {why}");
                    return;
                }
                (SendOutcome::Retryable(why), _) => {
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
