//! The webhook emitter: delivers a simulator's events to the app, like the provider would.
//!
//! Why: both providers push events (inbound messages, delivery acks, connection changes) to the
//! app's webhook URL and retry failed deliveries with backoff; an app's webhook handler must be
//! tested against exactly that. The emitter POSTs the exact bytes it is given (Meta signs them,
//! so they must not be re-serialised) with the given headers, in a spawned task, retrying with
//! exponential backoff: attempt `n` (from 1) waits `min(base · 2^(n-1), cap)` before the next.
//!
//! Bounded memory: outcomes go to a bounded [`Journal`] (for `GET /__harness/webhooks` and
//! tests), and at most [`RetryPolicy::max_pending`] deliveries are in flight; beyond that a
//! delivery is recorded as failed instead of queued, so a slow app cannot grow the simulator
//! without bound.
//!
//! Concurrency: one task per delivery; the log is a mutex held only to push or update one
//! record. At most [`MAX_ATTEMPTS_IN_FLIGHT`] attempts are on the wire at once (the others
//! wait their turn in their task): each attempt in flight holds an HTTP connection with its
//! buffers, here and in the app, and under overload thousands of them were most of the
//! process's memory (heaptrack: ~300 MB of connection buffers at 2,000 conversations/s).
//! [`WebhookEmitter::shutdown`] wakes every task sleeping between attempts or waiting for its
//! turn and makes it give up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::{watch, Semaphore, SemaphorePermit};

use super::duration_serde;
use super::journal::Journal;

/// How deliveries are retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Total attempts, including the first (at least 1).
    pub attempts: u32,
    #[serde(with = "duration_serde")]
    pub base_delay: Duration,
    #[serde(with = "duration_serde")]
    pub max_delay: Duration,
    /// Per-attempt request timeout.
    #[serde(with = "duration_serde")]
    pub timeout: Duration,
    /// Random spread of each wait, as a fraction: 0.2 waits 80 % to 120 % of the backoff
    /// (Evolution's ±20 %). 0 makes the schedule exact.
    pub jitter: f64,
    /// Response statuses that are final failures (no retry).
    pub no_retry_statuses: Vec<u16>,
    /// Deliveries in flight at most; more are recorded as failed.
    pub max_pending: usize,
    /// Delivery outcomes kept for the control API.
    pub log_capacity: usize,
}

impl Default for RetryPolicy {
    /// Shorter than either provider's (Evolution: 10 attempts from 5 s to a 300 s cap; Meta:
    /// up to 7 days) so tests and short runs see retries finish; configurable.
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            jitter: 0.0,
            no_retry_statuses: Vec::new(),
            max_pending: 10_000,
            log_capacity: 1_000,
        }
    }
}

impl RetryPolicy {
    /// Wait after failed attempt `attempt` (1-based) before the next one.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// [`RetryPolicy::backoff`] spread by the jitter, for a uniform draw `u` in [0, 1).
    pub fn backoff_jittered(&self, attempt: u32, u: f64) -> Duration {
        let spread = self.jitter.clamp(0.0, 1.0) * (2.0 * u.clamp(0.0, 1.0) - 1.0);
        self.backoff(attempt).mul_f64(1.0 + spread)
    }

    /// Whether a response status ends the delivery, and whether successfully.
    fn classify(&self, status: u16) -> Option<DeliveryOutcome> {
        if (200..300).contains(&status) {
            Some(DeliveryOutcome::Delivered)
        } else if self.no_retry_statuses.contains(&status) {
            Some(DeliveryOutcome::Failed)
        } else {
            None
        }
    }
}

/// One webhook to deliver.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub url: String,
    /// Event label for the log (`messages.upsert`, `statuses.delivered`, …).
    pub event: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// Wait before the first attempt (acks that follow a send).
    pub delay: Duration,
}

/// State of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryOutcome {
    Pending,
    Delivered,
    Failed,
}

/// A delivery's record in the log.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub id: u64,
    pub event: String,
    pub url: String,
    pub attempts: u32,
    /// Status of the last response, if any.
    pub last_status: Option<u16>,
    /// Transport error of the last attempt, if any.
    pub last_error: Option<String>,
    pub outcome: DeliveryOutcome,
    /// When it was queued, RFC 3339.
    pub queued_at: String,
}

/// Cheaply cloneable webhook sender shared by a simulator's handlers.
#[derive(Debug, Clone)]
pub struct WebhookEmitter {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    policy: RetryPolicy,
    log: Mutex<Journal<Delivery>>,
    next_id: AtomicU64,
    pending: AtomicUsize,
    /// Turns to have an attempt on the wire ([`MAX_ATTEMPTS_IN_FLIGHT`]).
    on_the_wire: Semaphore,
    stop: watch::Sender<bool>,
}

/// Delivery attempts on the wire at once; more wait for a turn (they stay pending).
pub const MAX_ATTEMPTS_IN_FLIGHT: usize = 256;

impl WebhookEmitter {
    pub fn new(policy: RetryPolicy) -> Self {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .build()
            // Building fails only if the TLS backend cannot initialise; fall back to defaults.
            .unwrap_or_default();
        let (stop, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                client,
                log: Mutex::new(Journal::new(policy.log_capacity)),
                policy,
                next_id: AtomicU64::new(1),
                pending: AtomicUsize::new(0),
                on_the_wire: Semaphore::new(MAX_ATTEMPTS_IN_FLIGHT),
                stop,
            }),
        }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.inner.policy
    }

    fn log(&self) -> MutexGuard<'_, Journal<Delivery>> {
        self.inner.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a delivery; returns its id. Never blocks.
    pub fn send(&self, req: WebhookRequest) -> u64 {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let mut record = Delivery {
            id,
            event: req.event.clone(),
            url: req.url.clone(),
            attempts: 0,
            last_status: None,
            last_error: None,
            outcome: DeliveryOutcome::Pending,
            queued_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        };
        let pending = self.inner.pending.fetch_add(1, Ordering::AcqRel);
        if pending >= self.inner.policy.max_pending || *self.inner.stop.borrow() {
            self.inner.pending.fetch_sub(1, Ordering::AcqRel);
            record.outcome = DeliveryOutcome::Failed;
            record.last_error = Some("dropped: too many pending deliveries or shut down".into());
            tracing::warn!(url = %req.url, event = %req.event, "webhook dropped");
            self.log().push(record);
            return id;
        }
        self.log().push(record);
        let this = self.clone();
        tokio::spawn(async move {
            this.deliver(id, req).await;
            this.inner.pending.fetch_sub(1, Ordering::AcqRel);
        });
        id
    }

    /// Sleeps unless shut down; returns false if shut down.
    async fn pause(&self, d: Duration) -> bool {
        let mut stop = self.inner.stop.subscribe();
        if *stop.borrow() {
            return false;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = stop.changed() => false,
        }
    }

    /// A turn on the wire, or `None` when shut down while waiting for it.
    async fn turn(&self) -> Option<SemaphorePermit<'_>> {
        let mut stop = self.inner.stop.subscribe();
        if *stop.borrow() {
            return None;
        }
        tokio::select! {
            permit = self.inner.on_the_wire.acquire() => permit.ok(),
            _ = stop.changed() => None,
        }
    }

    async fn deliver(&self, id: u64, req: WebhookRequest) {
        if !req.delay.is_zero() && !self.pause(req.delay).await {
            return self.update(id, |d| d.outcome = DeliveryOutcome::Failed);
        }
        let policy = &self.inner.policy;
        let attempts = policy.attempts.max(1);
        for attempt in 1..=attempts {
            let mut builder = self.inner.client.post(&req.url).body(req.body.clone());
            for (k, v) in &req.headers {
                builder = builder.header(k.as_str(), v.as_str());
            }
            let Some(turn) = self.turn().await else {
                return self.update(id, |d| d.outcome = DeliveryOutcome::Failed);
            };
            let result = builder.send().await;
            drop(turn);
            let (status, error) = match result {
                Ok(resp) => (Some(resp.status().as_u16()), None),
                Err(e) => (None, Some(error_chain(&e))),
            };
            let outcome = status.and_then(|s| policy.classify(s));
            let last = attempt == attempts;
            self.update(id, |d| {
                d.attempts = attempt;
                d.last_status = status;
                d.last_error = error.clone();
                d.outcome = match outcome {
                    Some(o) => o,
                    None if last => DeliveryOutcome::Failed,
                    None => DeliveryOutcome::Pending,
                };
            });
            tracing::debug!(url = %req.url, event = %req.event, attempt, ?status, ?error, "webhook attempt");
            if outcome.is_some() || last {
                return;
            }
            let wait = policy.backoff_jittered(attempt, rand::random());
            if !self.pause(wait).await {
                return self.update(id, |d| d.outcome = DeliveryOutcome::Failed);
            }
        }
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut Delivery)) {
        if let Some(d) = self.log().find_newest_mut(|d| d.id == id) {
            f(d);
        }
    }

    /// Logged deliveries, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.log().iter().cloned().collect()
    }

    /// Deliveries still queued or retrying.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::Acquire)
    }

    /// Forgets the log (deliveries in flight keep going).
    pub fn clear(&self) {
        self.log().clear();
    }

    /// Stops retrying: tasks waiting between attempts give up.
    pub fn shutdown(&self) {
        self.inner.stop.send_replace(true);
    }
}

/// An error with its sources, one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..Default::default()
        };
        let waits: Vec<_> = (1..=5).map(|a| p.backoff(a).as_millis()).collect();
        assert_eq!(waits, vec![100, 200, 400, 500, 500]);
        assert_eq!(p.backoff(200), Duration::from_millis(500));
    }

    #[test]
    fn jitter_spreads_the_wait_symmetrically() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(1000),
            jitter: 0.2,
            ..Default::default()
        };
        assert_eq!(p.backoff_jittered(1, 0.0), Duration::from_millis(800));
        assert_eq!(p.backoff_jittered(1, 0.5), Duration::from_millis(1000));
        assert!(p.backoff_jittered(1, 0.999_999) <= Duration::from_millis(1200));
        let exact = RetryPolicy::default();
        assert_eq!(exact.backoff_jittered(2, 0.9), exact.backoff(2));
    }

    #[test]
    fn classify_success_final_failure_and_retry() {
        let p = RetryPolicy {
            no_retry_statuses: vec![400, 404],
            ..Default::default()
        };
        assert_eq!(p.classify(204), Some(DeliveryOutcome::Delivered));
        assert_eq!(p.classify(404), Some(DeliveryOutcome::Failed));
        assert_eq!(p.classify(500), None);
        assert_eq!(p.classify(302), None);
    }

    #[test]
    fn policy_parses_with_defaults_and_humantime() {
        let p: RetryPolicy =
            serde_json::from_value(serde_json::json!({"attempts": 2, "base_delay": "1s"})).unwrap();
        assert_eq!(p.attempts, 2);
        assert_eq!(p.base_delay, Duration::from_secs(1));
        assert_eq!(p.max_delay, RetryPolicy::default().max_delay);
    }

    #[tokio::test]
    async fn unreachable_url_fails_after_all_attempts_and_overflow_is_recorded() {
        // A port that was just free: connection refused, fast.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let emitter = WebhookEmitter::new(RetryPolicy {
            attempts: 2,
            base_delay: Duration::from_millis(1),
            max_pending: 1,
            ..Default::default()
        });
        let req = WebhookRequest {
            url: format!("http://127.0.0.1:{port}/hook"),
            event: "e".into(),
            headers: vec![],
            body: Bytes::from_static(b"{}"),
            delay: Duration::ZERO,
        };
        emitter.send(req.clone());
        emitter.send(req); // over max_pending
        for _ in 0..200 {
            if emitter.pending() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let log = emitter.deliveries();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].outcome, DeliveryOutcome::Failed);
        assert_eq!(log[0].attempts, 2);
        assert!(log[0].last_error.is_some());
        assert_eq!(log[1].outcome, DeliveryOutcome::Failed);
        assert_eq!(log[1].attempts, 0);
    }
}
