//! Mutable per-tenant state: customers (business-scoped ids, service windows, pair-rate
//! buckets), the number's throughput bucket, and the inbound message ids a read receipt may
//! name. Every collection is bounded (oldest entries evicted first), so memory does not grow
//! with run length however many distinct customers a load test invents.
//!
//! Concurrency: one `std::sync::Mutex` per tenant ([`TenantState`]); handlers lock it for a
//! few map operations and never across an `.await`, so tenants never contend with each other.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::graph::GraphError;
use super::ids;
use super::limits::{in_service_window, Rate, TokenBucket};
use super::payload::Customer;
use super::validate::{Recipient, SendRequest};

/// The limits a tenant enforces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitRules {
    pub throughput: Rate,
    pub pair: Rate,
    /// `None` disables the customer-service window.
    pub service_window: Option<Duration>,
}

/// What the simulator knows about one customer of one tenant.
#[derive(Debug, Clone)]
pub struct CustomerRecord {
    pub wa_id: String,
    pub user_id: String,
    pub name: String,
    /// `profile.username`, for customers who adopted one.
    pub username: Option<String>,
    /// The phone number is withheld from webhooks (a username user with no recent exchange).
    pub phone_hidden: bool,
    pub last_inbound: Option<Instant>,
    pair: TokenBucket,
}

impl CustomerRecord {
    /// The webhook identity.
    pub fn contact(&self) -> Customer {
        Customer {
            wa_id: self.wa_id.clone(),
            user_id: self.user_id.clone(),
            name: self.name.clone(),
            username: self.username.clone(),
            phone_hidden: self.phone_hidden,
        }
    }
}

/// How a customer presents itself in an inbound message (absent fields keep what is known).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub name: Option<String>,
    pub username: Option<String>,
    /// Withhold `from` / `wa_id` from webhooks, so the app must reply by `recipient`.
    pub hide_phone: bool,
}

/// A map bounded to `capacity` keys that evicts the least recently *touched* key.
///
/// `order` lists `(generation, key)` pairs oldest first; touching a key gives it a new
/// generation and appends a new pair, leaving the old one stale (skipped at eviction). When stale
/// pairs make `order` more than twice the capacity, it is rebuilt from the map, so its length
/// stays bounded and each operation is amortised O(1).
#[derive(Debug)]
struct Bounded<V> {
    map: HashMap<String, (u64, V)>,
    order: VecDeque<(u64, String)>,
    next_generation: u64,
    capacity: usize,
}

impl<V> Bounded<V> {
    fn new(capacity: usize) -> Self {
        Bounded {
            map: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            capacity: capacity.max(1),
        }
    }

    fn generation(&mut self) -> u64 {
        self.next_generation += 1;
        self.next_generation
    }

    /// Inserts or replaces (and touches) `key`; returns the value evicted to make room.
    fn insert(&mut self, key: String, value: V) -> Option<V> {
        let generation = self.generation();
        self.order.push_back((generation, key.clone()));
        let is_new = self.map.insert(key, (generation, value)).is_none();
        let mut evicted = None;
        while is_new && self.map.len() > self.capacity {
            let Some((g, old)) = self.order.pop_front() else {
                break;
            };
            if self.map.get(&old).is_some_and(|(current, _)| *current == g) {
                evicted = self.map.remove(&old).map(|(_, v)| v);
            }
        }
        self.compact_if_needed();
        evicted
    }

    /// Marks `key` as just used, so it is evicted last.
    fn touch(&mut self, key: &str) {
        let generation = self.generation();
        if let Some(entry) = self.map.get_mut(key) {
            entry.0 = generation;
            self.order.push_back((generation, key.to_string()));
            self.compact_if_needed();
        }
    }

    fn compact_if_needed(&mut self) {
        if self.order.len() <= 2 * self.capacity + 16 {
            return;
        }
        let mut live: Vec<(u64, String)> =
            self.map.iter().map(|(k, (g, _))| (*g, k.clone())).collect();
        live.sort_unstable();
        self.order = live.into();
    }

    fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.map.get_mut(key).map(|(_, v)| v)
    }

    fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

/// The outcome of the send rules.
#[derive(Debug, Clone)]
pub struct AcceptedSend {
    pub customer: CustomerRecord,
    /// `false`: accept now, then fail asynchronously with 131047.
    pub in_window: bool,
}

/// Mutable state of one tenant.
#[derive(Debug)]
struct TenantInner {
    throughput: TokenBucket,
    customers: Bounded<CustomerRecord>,
    /// user_id → wa_id.
    by_user: HashMap<String, String>,
    /// Inbound wamids → read yet?
    inbound_ids: Bounded<bool>,
}

/// One tenant's state behind its own lock.
#[derive(Debug)]
pub struct TenantState {
    pub waba_id: String,
    pub rules: LimitRules,
    capacity: usize,
    inner: Mutex<TenantInner>,
}

impl TenantState {
    /// Empty state keeping at most `capacity` customers (least recently active evicted first)
    /// and `capacity` inbound ids (oldest first).
    pub fn new(waba_id: String, rules: LimitRules, capacity: usize, now: Instant) -> Self {
        TenantState {
            waba_id,
            rules,
            capacity,
            inner: Mutex::new(TenantInner {
                throughput: TokenBucket::full(rules.throughput, now),
                customers: Bounded::new(capacity),
                by_user: HashMap::new(),
                inbound_ids: Bounded::new(capacity),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TenantInner> {
        // Each critical section is a handful of map operations that leave the maps consistent
        // at every step, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every customer and message, and refills the throughput bucket.
    pub fn reset(&self, now: Instant) {
        let mut g = self.lock();
        g.throughput = TokenBucket::full(self.rules.throughput, now);
        g.customers.clear();
        g.by_user.clear();
        g.inbound_ids.clear();
    }

    /// Records a customer's inbound message: opens the service window, registers its wamid,
    /// counts towards throughput. Returns the customer's identity.
    pub fn record_inbound(
        &self,
        phone: &str,
        profile: &Profile,
        wamid: &str,
        now: Instant,
    ) -> Customer {
        let mut g = self.lock();
        let rules = self.rules;
        g.throughput.take_if_available(rules.throughput, now);
        let rec = self.customer_entry(&mut g, phone, now);
        rec.last_inbound = Some(now);
        if let Some(n) = &profile.name {
            rec.name = n.clone();
        }
        if profile.username.is_some() {
            rec.username = profile.username.clone();
        }
        rec.phone_hidden = profile.hide_phone;
        let contact = rec.contact();
        g.inbound_ids.insert(wamid.to_string(), false);
        contact
    }

    fn customer_entry<'a>(
        &self,
        g: &'a mut TenantInner,
        phone: &str,
        now: Instant,
    ) -> &'a mut CustomerRecord {
        if g.customers.contains(phone) {
            g.customers.touch(phone);
        } else {
            let user_id = ids::user_id(&self.waba_id, phone);
            let rec = CustomerRecord {
                wa_id: phone.to_string(),
                user_id: user_id.clone(),
                name: phone.to_string(),
                username: None,
                phone_hidden: false,
                last_inbound: None,
                pair: TokenBucket::full(self.rules.pair, now),
            };
            if let Some(evicted) = g.customers.insert(phone.to_string(), rec) {
                g.by_user.remove(&evicted.user_id);
            }
            g.by_user.insert(user_id, phone.to_string());
        }
        match g.customers.get_mut(phone) {
            Some(rec) => rec,
            None => unreachable!("inserted above and capacity is at least 1"),
        }
    }

    /// The phone number behind a business-scoped user id this tenant has seen.
    pub fn phone_of(&self, user_id: &str) -> Option<String> {
        self.lock().by_user.get(user_id).cloned()
    }

    /// Applies the send rules (throughput 130429, then pair rate 131056, then the service
    /// window) to a validated send.
    pub fn check_send(&self, req: &SendRequest, now: Instant) -> Result<AcceptedSend, GraphError> {
        let mut g = self.lock();
        let phone = match &req.recipient {
            Recipient::Phone(p) => p.clone(),
            Recipient::UserId(u) => match g.by_user.get(u) {
                Some(p) => p.clone(),
                None => {
                    return Err(GraphError::invalid_value(format!(
                        "Invalid 'recipient' parameter: unknown business-scoped user id '{u}'."
                    )))
                }
            },
        };
        let rules = self.rules;
        if !g.throughput.try_take(rules.throughput, now) {
            return Err(GraphError::throughput());
        }
        let rec = self.customer_entry(&mut g, &phone, now);
        if !rec.pair.try_take(rules.pair, now) {
            return Err(GraphError::pair_rate());
        }
        let in_window = !req.needs_service_window()
            || rules
                .service_window
                .is_none_or(|w| in_service_window(rec.last_inbound, now, w));
        Ok(AcceptedSend {
            customer: rec.clone(),
            in_window,
        })
    }

    /// Marks an inbound message read; 131009 when the id is not one this tenant received.
    pub fn mark_read(&self, message_id: &str) -> Result<(), GraphError> {
        let mut g = self.lock();
        match g.inbound_ids.get_mut(message_id) {
            Some(read) => {
                *read = true;
                Ok(())
            }
            None => Err(GraphError::invalid_value(format!(
                "Message ID '{message_id}' is not valid."
            ))),
        }
    }

    /// Whether this customer sent a message in the last `secs` seconds.
    pub fn messaged_within(&self, phone: &str, secs: u64) -> bool {
        let mut g = self.lock();
        let now = Instant::now();
        g.customers.get_mut(phone).is_some_and(|c| {
            c.last_inbound
                .is_some_and(|t| now.saturating_duration_since(t) <= Duration::from_secs(secs))
        })
    }

    /// Bound on customers and inbound ids.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of customers currently remembered.
    pub fn customer_count(&self) -> usize {
        self.lock().customers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> LimitRules {
        LimitRules {
            throughput: Rate {
                per_second: 3.0,
                burst: 3.0,
            },
            pair: Rate {
                per_second: 1.0,
                burst: 2.0,
            },
            service_window: Some(Duration::from_secs(60)),
        }
    }

    fn send_to(r: Recipient, kind: &str) -> SendRequest {
        SendRequest {
            input: "x".into(),
            recipient: r,
            kind: kind.into(),
            text: None,
            biz_opaque_callback_data: None,
        }
    }

    #[test]
    fn window_opens_with_inbound_and_closes_after() {
        let now = Instant::now();
        let t = TenantState::new("w".into(), rules(), 10, now);
        let text = send_to(Recipient::Phone("100".into()), "text");
        assert!(!t.check_send(&text, now).unwrap().in_window);
        let tpl = send_to(Recipient::Phone("100".into()), "template");
        assert!(t.check_send(&tpl, now).unwrap().in_window);
        let c = t.record_inbound(
            "100",
            &Profile {
                name: Some("Ana".into()),
                ..Profile::default()
            },
            "wamid.1",
            now,
        );
        assert_eq!(c.name, "Ana");
        let later = now + Duration::from_secs(2);
        let ok = t.check_send(&text, later).unwrap();
        assert!(ok.in_window);
        assert_eq!(ok.customer.name, "Ana");
        let much_later = now + Duration::from_secs(120);
        assert!(!t.check_send(&text, much_later).unwrap().in_window);
    }

    #[test]
    fn throughput_then_pair_rate() {
        let now = Instant::now();
        let t = TenantState::new("w".into(), rules(), 10, now);
        let a = send_to(Recipient::Phone("100".into()), "template");
        t.check_send(&a, now).unwrap();
        t.check_send(&a, now).unwrap();
        assert_eq!(t.check_send(&a, now).unwrap_err().code, 131056);
        // Third token of the number's bucket was spent by the refused send.
        let b = send_to(Recipient::Phone("200".into()), "template");
        assert_eq!(t.check_send(&b, now).unwrap_err().code, 130429);
        let later = now + Duration::from_secs(1);
        t.check_send(&b, later).unwrap();
    }

    #[test]
    fn user_ids_resolve_to_phones_and_mark_read_checks_ids() {
        let now = Instant::now();
        let t = TenantState::new("w".into(), rules(), 10, now);
        let c = t.record_inbound("100", &Profile::default(), "wamid.IN", now);
        assert_eq!(c.user_id, ids::user_id("w", "100"));
        assert_eq!(t.phone_of(&c.user_id).as_deref(), Some("100"));
        let s = t
            .check_send(&send_to(Recipient::UserId(c.user_id.clone()), "text"), now)
            .unwrap();
        assert_eq!(s.customer.wa_id, "100");
        let e = t
            .check_send(&send_to(Recipient::UserId("US.0".into()), "text"), now)
            .unwrap_err();
        assert_eq!(e.code, 131009);
        t.mark_read("wamid.IN").unwrap();
        assert_eq!(t.mark_read("wamid.NOPE").unwrap_err().code, 131009);
    }

    #[test]
    fn bounded_evicts_the_least_recently_touched_and_stays_compact() {
        let mut b = Bounded::new(2);
        b.insert("a".into(), 1);
        b.insert("b".into(), 2);
        b.touch("a");
        assert_eq!(
            b.insert("c".into(), 3),
            Some(2),
            "b was least recently used"
        );
        assert!(b.contains("a") && b.contains("c"));
        for _ in 0..1000 {
            b.touch("a");
            b.touch("c");
        }
        assert!(b.order.len() <= 2 * 2 + 16 + 1, "{}", b.order.len());
        assert_eq!(b.insert("d".into(), 4), Some(1), "a was touched before c");
        assert_eq!(b.insert("c".into(), 30), None, "replacing evicts nothing");
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn customers_are_bounded_and_reset_forgets() {
        let now = Instant::now();
        let t = TenantState::new("w".into(), rules(), 3, now);
        for i in 0..10 {
            t.record_inbound(
                &format!("10{i}"),
                &Profile::default(),
                &format!("wamid.{i}"),
                now,
            );
        }
        assert_eq!(t.customer_count(), 3);
        assert!(t.phone_of(&ids::user_id("w", "100")).is_none());
        assert!(t.phone_of(&ids::user_id("w", "109")).is_some());
        assert_eq!(t.lock().by_user.len(), 3);
        assert!(t.mark_read("wamid.0").is_err());
        t.reset(now);
        assert_eq!(t.customer_count(), 0);
    }
}
