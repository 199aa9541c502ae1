//! The reference app's shared state: the configuration, each tenant's calendar and
//! conversations, the duplicate filter, the outbox and the counters; and [`send`], which
//! queues a reply to a customer. Shared by the HTTP side ([`super::server`]) and the
//! dependency flows ([`super::flow`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::calendar::Calendar;
use super::config::{AppConfig, TenantConfig};
use super::conversation::Stage;
use super::metrics::Counters;
use super::outbox::{Outbox, Reply};
use super::recent::Recent;
use super::reply::Body;
use super::webhook::Customer;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// How many delivered message ids are remembered to drop duplicate deliveries.
const DEDUP_CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
pub struct TenantState {
    pub calendar: Calendar,
    pub conversations: HashMap<String, Stage>,
}

/// The last [`DEDUP_CAPACITY`] keys seen (delivered messages: tenant and message id;
/// confirmed payments), as 64-bit hashes: ~26 bytes each instead of two copies of an id
/// string; taken at start-up (3.2 MB: the table for twice the keys, and their order), so a
/// long run's memory does not step up when the table fills (`benches/soak.sh`).
#[derive(Debug)]
pub struct Dedup {
    hasher: std::hash::RandomState,
    recent: Recent<u64>,
}

impl Default for Dedup {
    fn default() -> Self {
        Self {
            hasher: std::hash::RandomState::new(),
            recent: Recent::reserved(DEDUP_CAPACITY),
        }
    }
}

impl Dedup {
    /// `true` the first time `key` is seen.
    pub fn first_time(&mut self, key: impl std::hash::Hash) -> bool {
        let hash = std::hash::BuildHasher::hash_one(&self.hasher, key);
        self.recent.insert(hash)
    }
}

/// A booking waiting for its payment: who to tell, and what.
#[derive(Debug, Clone)]
pub struct Unpaid {
    pub tenant: String,
    pub customer: Customer,
    /// `de cardiología del 23/11/2026 a las 09:00`.
    pub what: String,
}

/// Bookings by payment reference, and the payment ids already confirmed; bounded (the
/// newest [`DEDUP_CAPACITY`] of each).
#[derive(Debug, Default)]
pub struct Ledger {
    unpaid: HashMap<String, Unpaid>,
    order: VecDeque<String>,
    pub confirmed: Dedup,
}

impl Ledger {
    pub fn insert(&mut self, reference: String, booking: Unpaid) {
        if self.order.len() == DEDUP_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.unpaid.remove(&old);
            }
        }
        self.order.push_back(reference.clone());
        self.unpaid.insert(reference, booking);
    }

    pub fn get(&self, reference: &str) -> Option<&Unpaid> {
        self.unpaid.get(reference)
    }
}

pub struct App {
    pub config: AppConfig,
    pub tenants: HashMap<String, Mutex<TenantState>>,
    pub dedup: Mutex<Dedup>,
    pub outbox: Outbox,
    pub counters: Counters,
    pub http: reqwest::Client,
    pub session_token: String,
    /// `http://ADDR` where the app listens (127.0.0.1 for an unspecified bind address): its
    /// payment webhook's base.
    pub public_url: String,
    pub ledger: Mutex<Ledger>,
}

impl App {
    pub fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub type Shared = Arc<App>;

pub fn tenant_config<'a>(app: &'a App, tenant: &str) -> Option<&'a TenantConfig> {
    app.config.tenants.iter().find(|t| t.id == tenant)
}

/// Queues `body` to customer `to` of `tenant`, in plain text for a tenant set so.
pub fn send(app: &App, tenant: &str, to: Customer, body: Body) {
    if !app.config.replies {
        return;
    }
    let config = tenant_config(app, tenant);
    let body = match config {
        Some(t) if !t.interactive => body.plain(),
        _ => body,
    };
    app.outbox.submit(Reply {
        tenant: tenant.to_string(),
        token: config.and_then(|t| t.token.clone()),
        to,
        body,
    });
}

/// The app's error body: `{"error": {"code", "message"}}`.
pub fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": message.into()}})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpaid(n: usize) -> Unpaid {
        Unpaid {
            tenant: "t".into(),
            customer: Customer::Phone(n.to_string()),
            what: String::new(),
        }
    }

    #[test]
    fn the_ledger_keeps_the_newest_bookings_and_confirms_a_payment_once() {
        let mut ledger = Ledger::default();
        for n in 0..=DEDUP_CAPACITY {
            ledger.insert(format!("t-{n}"), unpaid(n));
        }
        assert!(ledger.get("t-0").is_none(), "the oldest is forgotten");
        assert!(ledger.get("t-1").is_some());
        assert!(ledger.get(&format!("t-{DEDUP_CAPACITY}")).is_some());
        assert_eq!(ledger.unpaid.len(), DEDUP_CAPACITY);
        assert!(ledger.confirmed.first_time("123"));
        assert!(!ledger.confirmed.first_time("123"));
        assert!(ledger.confirmed.first_time("124"));
    }
}
