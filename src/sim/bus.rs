//! The outbound-message bus: every message an app sends through a simulator is published here.
//!
//! Why: the runner's `await` step must observe the reply an app sends to a simulated customer,
//! and measure end-to-end latency from the injection to that send. In-process, it subscribes to
//! the broadcast channel; from another process, it long-polls `GET /__harness/outbound`, which
//! [`Bus::wait_for`] serves from the same data.
//!
//! Concurrency protocol: [`Bus::publish`] assigns the sequence number, appends to the bounded
//! journal and broadcasts, all under the journal mutex, so the journal and every subscriber see
//! messages in `seq` order. A waiter subscribes *before* querying the journal, so a message
//! published between the query and the wait is never missed. A subscriber that lags behind the
//! broadcast buffer re-reads the journal instead of failing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use super::journal::Journal;

/// Messages buffered per broadcast subscriber before it lags (then it re-reads the journal).
const BROADCAST_BUFFER: usize = 4096;

pub use crate::provider::ProviderKind;

/// Which simulator journaled a call: a WhatsApp provider's or a dependency's. Not
/// [`ProviderKind`]: the bus (and `harness mock`) also carry the app's other dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Simulator {
    /// Evolution API v2 (default port 8080, like the real server).
    Evolution,
    /// Meta WhatsApp Cloud API (default port 8081).
    Meta,
    /// OpenAI-compatible LLM API (default port 8090): replies from `--rules FILE`.
    Openai,
    /// MercadoPago-style payments API (default port 8091): notifications to `--webhook-url`.
    Payments,
    /// Any HTTP dependency from `--stubs FILE` (default port 8092; `tenant` = the
    /// dependency's name).
    Http,
}

impl From<ProviderKind> for Simulator {
    fn from(p: ProviderKind) -> Self {
        match p {
            ProviderKind::Evolution => Simulator::Evolution,
            ProviderKind::Meta => Simulator::Meta,
        }
    }
}

/// A message the app sent, as the simulator accepted it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboundMessage {
    /// Position on the bus, from 1, increasing (also across [`Bus::clear`]).
    pub seq: u64,
    pub provider: Simulator,
    /// Instance name (Evolution) or phone-number-id (Meta).
    pub tenant: String,
    /// The customer's phone number, digits only.
    pub to: String,
    /// The provider's id for the message (`key.id`, `wamid…`).
    pub message_id: String,
    /// The provider-neutral kind ([`super::neutral`]): `text`, `image`, `voice`, `buttons`,
    /// `list`, `template`, `location`, …
    pub kind: String,
    /// The text, caption or body, when there is one.
    pub text: Option<String>,
    /// The rest of the neutral view (`buttons`, `list`, `media`, `location`, `reply_to`);
    /// `None` when it has none of them (most messages: text), boxed so that a journal of plain
    /// texts does not carry ~300 bytes of empty fields per entry.
    #[serde(flatten)]
    pub view: Option<Box<super::neutral::View>>,
    /// The request body as received.
    pub payload: serde_json::Value,
    /// When the simulator received it; written as RFC 3339 UTC with microseconds (formatted
    /// when the journal is read, not stored as a string per entry).
    #[serde(serialize_with = "rfc3339_micros")]
    pub at: SystemTime,
    pub at_unix_us: u64,
    /// Monotonic receive time, for in-process latency measurement.
    #[serde(skip)]
    pub received: Instant,
}

fn rfc3339_micros<S: serde::Serializer>(at: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_micros(*at))
}

/// What a simulator hands to [`Bus::publish`]; the bus adds the sequence number and times.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub provider: Simulator,
    pub tenant: String,
    pub to: String,
    pub message_id: String,
    pub kind: String,
    pub text: Option<String>,
    pub payload: serde_json::Value,
}

/// Which messages a query wants. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OutboundFilter {
    /// Customer phone number; compared by digits, so `+55 11 9…` matches `5511 9…`.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only messages with `seq > since`.
    #[serde(default)]
    pub since: u64,
}

impl OutboundFilter {
    pub fn matches(&self, m: &OutboundMessage) -> bool {
        m.seq > self.since
            && self.tenant.as_deref().is_none_or(|t| t == m.tenant)
            && self.to.as_deref().is_none_or(|to| phone_digits(to) == m.to)
    }
}

/// The digits of a phone number or JID (`+55 (11) 9…`, `5511…@s.whatsapp.net` → `5511…`).
pub fn phone_digits(s: &str) -> String {
    let user = s.split('@').next().unwrap_or(s);
    user.chars().filter(char::is_ascii_digit).collect()
}

/// Cheaply cloneable handle to one simulator's bus and journal.
#[derive(Debug, Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

#[derive(Debug)]
struct BusInner {
    tx: broadcast::Sender<Arc<OutboundMessage>>,
    journal: Mutex<Journal<Arc<OutboundMessage>>>,
    next_seq: AtomicU64,
}

impl Bus {
    /// A bus whose journal keeps the newest `journal_capacity` messages.
    pub fn new(journal_capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_BUFFER);
        Self {
            inner: Arc::new(BusInner {
                tx,
                journal: Mutex::new(Journal::new(journal_capacity)),
                next_seq: AtomicU64::new(1),
            }),
        }
    }

    fn journal(&self) -> MutexGuard<'_, Journal<Arc<OutboundMessage>>> {
        // A panic while holding this lock cannot leave the journal inconsistent (each
        // operation is a single push/clear), so a poisoned lock is still usable.
        self.inner
            .journal
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records and broadcasts a message; returns it with its sequence number and times.
    pub fn publish(&self, new: NewOutbound) -> Arc<OutboundMessage> {
        let now = SystemTime::now();
        let at_unix_us = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let shape = match new.provider {
            Simulator::Evolution => super::neutral::Provider::Evolution,
            Simulator::Meta => super::neutral::Provider::Meta,
            _ => super::neutral::Provider::Other,
        };
        let mut view = super::neutral::view(shape, &new.kind, &new.payload);
        let kind = std::mem::take(&mut view.kind);
        let mut journal = self.journal();
        let msg = Arc::new(OutboundMessage {
            seq: self.inner.next_seq.fetch_add(1, Ordering::Relaxed),
            provider: new.provider,
            tenant: new.tenant,
            to: phone_digits(&new.to),
            message_id: new.message_id,
            kind,
            text: new.text,
            view: (!view.is_empty()).then(|| Box::new(view)),
            payload: new.payload,
            at: now,
            at_unix_us,
            received: Instant::now(),
        });
        journal.push(Arc::clone(&msg));
        // No subscriber is not an error: the journal still has it.
        let _ = self.inner.tx.send(Arc::clone(&msg));
        msg
    }

    /// A live feed of messages published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OutboundMessage>> {
        self.inner.tx.subscribe()
    }

    /// Journaled messages matching `filter`, oldest first, at most `limit`.
    pub fn query(&self, filter: &OutboundFilter, limit: usize) -> Vec<Arc<OutboundMessage>> {
        self.journal()
            .iter()
            .filter(|m| filter.matches(m))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Like [`Bus::query`], but if nothing matches yet, waits up to `wait` for a match.
    pub async fn wait_for(
        &self,
        filter: &OutboundFilter,
        limit: usize,
        wait: Duration,
    ) -> Vec<Arc<OutboundMessage>> {
        let mut rx = self.subscribe();
        let found = self.query(filter, limit);
        if !found.is_empty() || wait.is_zero() {
            return found;
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Err(_) | Ok(Err(broadcast::error::RecvError::Closed)) => return Vec::new(),
                Ok(Ok(m)) if !filter.matches(&m) => continue,
                // A match, or lagged (one may have been missed): the journal has the answer.
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                    let found = self.query(filter, limit);
                    if !found.is_empty() {
                        return found;
                    }
                }
            }
        }
    }

    /// Forgets the journal (sequence numbers keep increasing).
    pub fn clear(&self) {
        self.journal().clear();
    }

    /// (entries kept, capacity, entries evicted).
    pub fn journal_stats(&self) -> (usize, usize, u64) {
        let j = self.journal();
        (j.len(), j.capacity(), j.dropped())
    }
}

/// Two handles are equal when they are the same bus.
impl PartialEq for Bus {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Bus {}

impl Default for Bus {
    fn default() -> Self {
        Self::new(super::journal::DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(tenant: &str, to: &str, text: &str) -> NewOutbound {
        NewOutbound {
            provider: Simulator::Evolution,
            tenant: tenant.into(),
            to: to.into(),
            message_id: format!("id-{text}"),
            kind: "text".into(),
            text: Some(text.into()),
            payload: serde_json::json!({"text": text}),
        }
    }

    #[test]
    fn phone_digits_strips_formatting_and_jid_suffix() {
        assert_eq!(phone_digits("+55 (11) 99999-0000"), "5511999990000");
        assert_eq!(
            phone_digits("5511999990000@s.whatsapp.net"),
            "5511999990000"
        );
    }

    #[test]
    fn publish_assigns_increasing_seq_and_filters_match() {
        let bus = Bus::new(10);
        let a = bus.publish(new("i1", "+5511", "a"));
        let b = bus.publish(new("i2", "5522", "b"));
        assert_eq!((a.seq, b.seq), (1, 2));
        assert_eq!(a.to, "5511");
        let json = serde_json::to_value(&*a).unwrap();
        let at = json["at"].as_str().unwrap();
        assert!(
            at.ends_with('Z') && at.contains('.') && at.len() == 27,
            "{at}"
        );
        // A text has no neutral extras: none are written, and none are stored.
        assert!(a.view.is_none() && json.get("buttons").is_none(), "{json}");
        let by_to = OutboundFilter {
            to: Some("55 11".into()),
            ..Default::default()
        };
        assert_eq!(bus.query(&by_to, 100).len(), 1);
        let by_tenant = OutboundFilter {
            tenant: Some("i2".into()),
            ..Default::default()
        };
        assert_eq!(bus.query(&by_tenant, 100)[0].text.as_deref(), Some("b"));
        let since = OutboundFilter {
            since: 1,
            ..Default::default()
        };
        assert_eq!(bus.query(&since, 100)[0].seq, 2);
        assert_eq!(bus.query(&OutboundFilter::default(), 1).len(), 1);
    }

    #[test]
    fn journal_is_bounded_and_clear_keeps_seq_increasing() {
        let bus = Bus::new(5);
        for i in 0..50 {
            bus.publish(new("t", "1", &i.to_string()));
        }
        assert_eq!(bus.journal_stats(), (5, 5, 45));
        bus.clear();
        assert_eq!(bus.journal_stats().0, 0);
        assert_eq!(bus.publish(new("t", "1", "x")).seq, 51);
    }

    #[tokio::test(start_paused = true)]
    async fn wait_for_returns_a_later_match_and_times_out_otherwise() {
        let bus = Bus::new(10);
        let filter = OutboundFilter {
            to: Some("777".into()),
            ..Default::default()
        };
        let waiter = {
            let bus = bus.clone();
            let filter = filter.clone();
            tokio::spawn(async move { bus.wait_for(&filter, 10, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        bus.publish(new("t", "111", "other"));
        bus.publish(new("t", "777", "mine"));
        let got = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text.as_deref(), Some("mine"));

        let none = OutboundFilter {
            to: Some("999".into()),
            ..Default::default()
        };
        assert!(bus
            .wait_for(&none, 10, Duration::from_secs(2))
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn subscribers_see_published_messages() {
        let bus = Bus::new(10);
        let mut rx = bus.subscribe();
        bus.publish(new("t", "1", "hello"));
        assert_eq!(rx.recv().await.unwrap().text.as_deref(), Some("hello"));
    }
}
