//! The outbound-message bus: every message an app sends through a simulator is published here.
//!
//! Why: the runner's `await` step must observe the reply an app sends to a simulated customer,
//! and measure end-to-end latency from the injection to that send. In-process (the embedded
//! simulator), it calls [`Bus::wait_for`]; from another process, it long-polls
//! `GET /__harness/outbound`, which [`Bus::wait_for`] serves from the same data.
//!
//! Concurrency protocol: [`Bus::publish`] assigns the sequence number, appends to the bounded
//! journal, indexes the message under its recipient, rings that recipient's waiters and
//! broadcasts, all under one mutex, so the journal, the index and every subscriber see messages
//! in `seq` order. A waiter arms its recipient's bell under the same mutex as its query, so a
//! message published between the query and the wait is never missed; it is woken only by
//! messages to its recipient, and looks only at that recipient's messages (the index), so the
//! cost of an `await` does not grow with the journal or with the number of customers waiting.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, Notify};

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
    /// Whether `m` is wanted. Allocates nothing: `to` is compared digit by digit.
    pub fn matches(&self, m: &OutboundMessage) -> bool {
        m.seq > self.since
            && self.tenant.as_deref().is_none_or(|t| t == m.tenant)
            && self.to.as_deref().is_none_or(|to| same_digits(to, &m.to))
    }
}

/// The digits of a phone number or JID (`+55 (11) 9…`, `5511…@s.whatsapp.net` → `5511…`).
pub fn phone_digits(s: &str) -> String {
    user_digits(s).map(char::from).collect()
}

/// The digits of the user part of a phone number or JID, as bytes.
fn user_digits(s: &str) -> impl Iterator<Item = u8> + '_ {
    let user = s.split('@').next().unwrap_or(s);
    user.bytes().filter(u8::is_ascii_digit)
}

/// `phone_digits(number) == digits`, without building the string.
fn same_digits(number: &str, digits: &str) -> bool {
    user_digits(number).eq(digits.bytes())
}

/// Cheaply cloneable handle to one simulator's bus and journal.
#[derive(Debug, Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

#[derive(Debug)]
struct BusInner {
    tx: broadcast::Sender<Arc<OutboundMessage>>,
    state: Mutex<State>,
    next_seq: AtomicU64,
}

/// The journal, and the same messages indexed by recipient, under one lock.
#[derive(Debug)]
struct State {
    journal: Journal<Arc<OutboundMessage>>,
    /// Per recipient (digits): its journaled messages, oldest first, and the bell its waiters
    /// listen to. An entry lives while it has messages or waiters, so the index is bounded by
    /// the journal's capacity plus the waiters.
    by_to: HashMap<String, Recipient>,
    /// Rung on every publish, for waiters without a recipient.
    any: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Recipient {
    messages: VecDeque<Arc<OutboundMessage>>,
    bell: Arc<Notify>,
}

impl Recipient {
    /// No message and no waiter (the index's own handle on the bell is the only one).
    fn is_idle(&self) -> bool {
        self.messages.is_empty() && Arc::strong_count(&self.bell) == 1
    }
}

impl State {
    /// Journals `msg` and indexes it under its recipient, forgetting the evicted message;
    /// rings the recipient's bell and the bus-wide one.
    fn index(&mut self, msg: &Arc<OutboundMessage>) {
        if let Some(old) = self.journal.push(Arc::clone(msg)) {
            if let Some(r) = self.by_to.get_mut(&old.to) {
                // Each recipient's messages are in `seq` order, as the journal's are: the
                // journal's oldest is its recipient's oldest.
                if r.messages.front().is_some_and(|m| m.seq == old.seq) {
                    r.messages.pop_front();
                }
            }
            self.forget_if_idle(&old.to);
        }
        match self.by_to.get_mut(&msg.to) {
            Some(r) => {
                r.messages.push_back(Arc::clone(msg));
                r.bell.notify_waiters();
            }
            // A new entry has no waiter to ring.
            None => {
                let mut r = Recipient::default();
                r.messages.push_back(Arc::clone(msg));
                self.by_to.insert(msg.to.clone(), r);
            }
        }
        self.any.notify_waiters();
    }

    /// Messages matching `filter` (`to`: its recipient's digits), oldest first, at most
    /// `limit`: from the recipient's index when there is a recipient, else from the journal.
    fn query(
        &self,
        to: Option<&str>,
        filter: &OutboundFilter,
        limit: usize,
    ) -> Vec<Arc<OutboundMessage>> {
        let Some(to) = to else {
            return self
                .journal
                .iter()
                .filter(|m| filter.matches(m))
                .take(limit)
                .cloned()
                .collect();
        };
        let Some(r) = self.by_to.get(to) else {
            return Vec::new();
        };
        let after = r.messages.partition_point(|m| m.seq <= filter.since);
        r.messages
            .range(after..)
            .filter(|m| filter.matches(m))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Forgets `to`'s entry if nothing uses it any more.
    fn forget_if_idle(&mut self, to: &str) {
        if self.by_to.get(to).is_some_and(Recipient::is_idle) {
            self.by_to.remove(to);
        }
    }
}

/// A waiter's hold on a recipient's bell; forgets the entry when the waiter leaves it idle
/// (also when the waiting future is dropped, e.g. a long-poll whose client went away).
struct Waiting<'a> {
    bus: &'a Bus,
    to: &'a str,
    bell: Option<Arc<Notify>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.bus.state();
        // Our handle first, so that `forget_if_idle` sees the waiters that remain.
        self.bell = None;
        state.forget_if_idle(self.to);
    }
}

impl Bus {
    /// A bus whose journal keeps the newest `journal_capacity` messages.
    pub fn new(journal_capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_BUFFER);
        Self {
            inner: Arc::new(BusInner {
                tx,
                state: Mutex::new(State {
                    journal: Journal::new(journal_capacity),
                    by_to: HashMap::new(),
                    any: Arc::default(),
                }),
                next_seq: AtomicU64::new(1),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the state inconsistent (the journal
        // and the index change together in `publish` and `clear`, which do not panic), so a
        // poisoned lock is still usable.
        self.inner
            .state
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
        let to = phone_digits(&new.to);
        let mut state = self.state();
        let msg = Arc::new(OutboundMessage {
            seq: self.inner.next_seq.fetch_add(1, Ordering::Relaxed),
            provider: new.provider,
            tenant: new.tenant,
            to,
            message_id: new.message_id,
            kind,
            text: new.text,
            view: (!view.is_empty()).then(|| Box::new(view)),
            payload: new.payload,
            at: now,
            at_unix_us,
            received: Instant::now(),
        });
        state.index(&msg);
        // No subscriber is not an error: the journal still has it.
        let _ = self.inner.tx.send(Arc::clone(&msg));
        msg
    }

    /// A live feed of messages published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<OutboundMessage>> {
        self.inner.tx.subscribe()
    }

    /// Journaled messages matching `filter`, oldest first, at most `limit`. With a recipient
    /// (`to`), only that recipient's messages are looked at (the index), not the journal.
    pub fn query(&self, filter: &OutboundFilter, limit: usize) -> Vec<Arc<OutboundMessage>> {
        let to = filter.to.as_deref().map(phone_digits);
        self.state().query(to.as_deref(), filter, limit)
    }

    /// Like [`Bus::query`], but if nothing matches yet, waits up to `wait` for a match. A
    /// waiter for a recipient is woken only by messages to that recipient (its bell), not by
    /// every message on the bus.
    pub async fn wait_for(
        &self,
        filter: &OutboundFilter,
        limit: usize,
        wait: Duration,
    ) -> Vec<Arc<OutboundMessage>> {
        let deadline = tokio::time::Instant::now() + wait;
        let to = filter.to.as_deref().map(phone_digits);
        let mut waiting: Option<Waiting<'_>> = None;
        loop {
            let bell: Arc<Notify>;
            let rung;
            {
                let mut state = self.state();
                let found = state.query(to.as_deref(), filter, limit);
                if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                    drop(state);
                    return found;
                }
                bell = match &to {
                    Some(to) => {
                        let bell = Arc::clone(&state.by_to.entry(to.clone()).or_default().bell);
                        if waiting.is_none() {
                            waiting = Some(Waiting {
                                bus: self,
                                to,
                                bell: Some(Arc::clone(&bell)),
                            });
                        }
                        bell
                    }
                    None => Arc::clone(&state.any),
                };
                // Armed under the lock that `publish` rings under: no message slips between
                // the query above and the wait below (`notify_waiters` reaches every
                // `Notified` created before it, polled or not).
                rung = bell.notified();
            }
            if tokio::time::timeout_at(deadline, rung).await.is_err() {
                return Vec::new();
            }
        }
    }

    /// Forgets the journal (sequence numbers keep increasing).
    pub fn clear(&self) {
        let mut state = self.state();
        state.journal.clear();
        state.by_to.retain(|_, r| {
            r.messages.clear();
            !r.is_idle()
        });
    }

    /// (entries kept, capacity, entries evicted).
    pub fn journal_stats(&self) -> (usize, usize, u64) {
        let s = self.state();
        (s.journal.len(), s.journal.capacity(), s.journal.dropped())
    }

    /// Recipients in the index (with messages kept or waiters): at most the journal's
    /// capacity plus the waiters.
    pub fn indexed_recipients(&self) -> usize {
        self.state().by_to.len()
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

    #[test]
    fn filter_matching_compares_digits_without_formatting() {
        let bus = Bus::new(10);
        let m = bus.publish(new("t", "5511@s.whatsapp.net", "a"));
        let f = |to: &str| OutboundFilter {
            to: Some(to.into()),
            ..Default::default()
        };
        assert!(f("+55 11").matches(&m));
        assert!(f("5511@c.us").matches(&m));
        assert!(!f("551").matches(&m));
        assert!(!f("55110").matches(&m));
    }

    #[test]
    fn the_recipient_index_follows_the_journal() {
        let bus = Bus::new(4);
        for i in 0..40 {
            bus.publish(new("t", &(i % 8).to_string(), &i.to_string()));
        }
        // Only the recipients of the 4 kept messages are indexed: evicted ones are forgotten.
        assert_eq!(bus.indexed_recipients(), 4);
        let to = |n: &str, since| OutboundFilter {
            to: Some(n.into()),
            since,
            ..Default::default()
        };
        let kept = bus.query(&to("7", 0), 10);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].text.as_deref(), Some("39"));
        assert!(bus.query(&to("7", kept[0].seq), 10).is_empty());
        assert!(bus.query(&to("0", 0), 10).is_empty());
        bus.clear();
        assert_eq!(bus.indexed_recipients(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_leave_no_entry_behind() {
        let bus = Bus::new(10);
        let filter = OutboundFilter {
            to: Some("123".into()),
            ..Default::default()
        };
        assert!(bus
            .wait_for(&filter, 10, Duration::from_secs(1))
            .await
            .is_empty());
        assert_eq!(bus.indexed_recipients(), 0);
        // A waiter dropped mid-wait (a client that went away) forgets its entry too.
        let waiter = bus.wait_for(&filter, 10, Duration::from_secs(5));
        let _ = tokio::time::timeout(Duration::from_millis(10), waiter).await;
        assert_eq!(bus.indexed_recipients(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_survives_clear_and_wakes_on_its_message() {
        let bus = Bus::new(10);
        let filter = OutboundFilter {
            to: Some("42".into()),
            since: 1,
            ..Default::default()
        };
        bus.publish(new("t", "42", "old"));
        let waiter = {
            let bus = bus.clone();
            let filter = filter.clone();
            tokio::spawn(async move { bus.wait_for(&filter, 10, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        bus.clear();
        bus.publish(new("t", "42", "new"));
        let got = waiter.await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].text.as_deref(), Some("new"));
        // Without a recipient, any message wakes the waiter; the filter still applies.
        let by_tenant = OutboundFilter {
            tenant: Some("t2".into()),
            ..Default::default()
        };
        let waiter = {
            let bus = bus.clone();
            tokio::spawn(async move { bus.wait_for(&by_tenant, 10, Duration::from_secs(5)).await })
        };
        tokio::task::yield_now().await;
        bus.publish(new("t", "1", "not it"));
        bus.publish(new("t2", "1", "it"));
        assert_eq!(waiter.await.unwrap()[0].text.as_deref(), Some("it"));
    }
}
