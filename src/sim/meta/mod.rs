//! Meta WhatsApp Cloud API simulator.
//!
//! Why: Meta's sandbox allows a few hundred messages to your own number and cannot be made slow,
//! down or rate-limited on purpose. This simulator serves the Cloud API messaging surface that
//! apps and client libraries (pywa, whatsapp-api-js, heyoo, the Node SDK) use, faithfully enough
//! that they cannot tell the difference: `POST /{version}/{phone-number-id}/messages` (versioned
//! and unversioned), Bearer auth, Graph error objects, signed webhooks with ASCII-escaped JSON,
//! statuses `sent → delivered → read` (or `failed` 131047 outside the customer-service window),
//! throughput (130429) and pair-rate (131056) limits, media upload/retrieve, the webhook
//! verification handshake, and several tenants (phone numbers) with their own tokens and
//! webhook URLs. See `docs/simulators-meta.md`.
//!
//! Beyond messaging it serves every endpoint operation of the Cloud API reference (see
//! [`operations`], checked by `tests/sim_meta/coverage.rs`): registration and two-step PIN,
//! business profile, settings, conversational automation, block users, QR codes, message
//! templates with their review lifecycle, flows, the WABA node, subscribed apps and resumable
//! uploads.
//!
//! Layout: pure rules in [`graph`], [`wire`], [`ids`], [`payload`], [`validate`] (with
//! [`validate::interactive`]), [`limits`], [`tenants`], [`state`], [`media`], [`profiles`],
//! [`account`], [`templates`], [`waba`], [`uploads`], [`operations`]; thin axum handlers in
//! `server` (messages, media, nodes), `account_routes` (phone-number edges), `waba_routes`
//! (templates, flows, uploads, other nodes), `control` (`/__harness/` routes specific to Meta)
//! and `registration` (the verification handshake, `/oauth/access_token`,
//! `/{app-id}/subscriptions`, `/{waba-id}/subscribed_apps`); `events` signs and queues
//! webhooks; the shared machinery (bus, journal, faults, webhook emitter, control routes,
//! accept loop) comes from [`crate::sim`].
//!
//! Concurrency: the tenant table is immutable after start; each tenant's mutable state is behind
//! its own mutex ([`state::TenantState`]), as are each number's account and each WABA's
//! catalogue (`stores`); the media store and upload sessions are behind one mutex each, the
//! simulator-wide webhook URL and verify token behind an `RwLock`. No lock is held across an
//! `.await`. Status and template webhooks are queued on the emitter with their delay, one task
//! each.

pub mod account;
pub mod graph;
pub mod ids;
pub mod inbound;
pub mod limits;
pub mod media;
pub mod operations;
pub mod payload;
pub mod profiles;
pub mod state;
pub mod templates;
pub mod tenants;
pub mod uploads;
pub mod validate;
pub mod waba;
pub mod wire;

mod account_routes;
mod control;
mod events;
mod http;
mod network;
mod registration;
mod server;
mod stores;
mod waba_routes;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

use super::bus::{Bus, Simulator};
use super::control::ControlState;
use super::faults::{FaultProfile, Faults};
use super::webhook::{RetryPolicy, WebhookEmitter};
use super::SimHandle;
pub use graph::StatusOverrides;
pub use limits::Rate;
pub use tenants::PhoneNumber;

/// Sending limits and state bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MetaLimits {
    /// Messages per second per phone number (130429 above it). Default 80/s, burst 80.
    pub throughput: Rate,
    /// Messages to one customer (131056 above it). Default 1 per 6 s, burst 45.
    pub pair: Rate,
    /// The customer-service window for free-form messages (`None`: no window). Default 24 h.
    #[serde(with = "opt_duration")]
    pub service_window: Option<Duration>,
    /// Customers (least recently active evicted first) and inbound message ids (oldest first)
    /// remembered per phone number. About 400 bytes per customer.
    pub customer_capacity: usize,
    /// Total bytes of uploaded media kept; oldest evicted first.
    pub media_capacity_bytes: usize,
    /// Largest accepted upload.
    pub media_max_file_bytes: usize,
}

impl MetaLimits {
    /// No throughput or pair-rate limit and no service window (state bounds unchanged): for
    /// measuring the simulator's own ceiling, or apps that must not see provider limits.
    pub fn unlimited() -> Self {
        MetaLimits {
            throughput: Rate::UNLIMITED,
            pair: Rate::UNLIMITED,
            service_window: None,
            ..MetaLimits::default()
        }
    }
}

impl Default for MetaLimits {
    fn default() -> Self {
        MetaLimits {
            throughput: Rate::THROUGHPUT,
            pair: Rate::PAIR,
            service_window: Some(Duration::from_secs(24 * 3600)),
            customer_capacity: 50_000,
            media_capacity_bytes: 64 << 20,
            media_max_file_bytes: 16 << 20,
        }
    }
}

/// When status webhooks follow an accepted send (each counted from the send).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusDelays {
    /// `sent` (or `failed` outside the service window).
    #[serde(with = "super::faults::duration_serde")]
    pub sent: Duration,
    /// `delivered`; `None`: never.
    #[serde(with = "opt_duration")]
    pub delivered: Option<Duration>,
    /// `read`; `None`: never.
    #[serde(with = "opt_duration")]
    pub read: Option<Duration>,
    /// `played`, for audio only; `None`: never.
    #[serde(with = "opt_duration")]
    pub played: Option<Duration>,
}

impl Default for StatusDelays {
    fn default() -> Self {
        StatusDelays {
            sent: Duration::from_millis(50),
            delivered: Some(Duration::from_millis(200)),
            read: Some(Duration::from_secs(1)),
            played: Some(Duration::from_millis(1500)),
        }
    }
}

/// Configuration of the Meta simulator.
#[derive(Debug, Clone)]
pub struct MetaConfig {
    /// Simulator-wide access token (accepted on numbers without their own token).
    pub token: String,
    /// The app id (`/{app-id}/subscriptions`, app tokens `app_id|app_secret`).
    pub app_id: String,
    /// Key of the webhook signatures.
    pub app_secret: String,
    /// `hub.verify_token` sent in the verification handshake.
    pub verify_token: String,
    /// WhatsApp Business Account of numbers that do not name their own.
    pub waba_id: String,
    /// The tenants. Requests name them by id; the first one is the default for
    /// `/__harness/inbound`.
    pub phone_numbers: Vec<PhoneNumber>,
    /// Webhook URL of numbers without their own.
    pub webhook_url: Option<String>,
    pub limits: MetaLimits,
    pub status_delays: StatusDelays,
    /// Webhook delivery retries.
    pub retry: RetryPolicy,
    /// Outbound messages kept by the journal.
    pub journal_capacity: usize,
    /// Faults active from the start.
    pub faults: FaultProfile,
    /// HTTP status per Graph error code, overriding the defaults (e.g. `130429 → 429`).
    pub error_statuses: StatusOverrides,
    /// Templates approved at start, each a `POST /{waba-id}/message_templates` body, besides
    /// Meta's `hello_world` (`en_US`) that every account has. A send naming another (name,
    /// language) fails with 132001 (HTTP 404).
    pub templates: Vec<serde_json::Value>,
    /// How long a created or edited template stays `PENDING` before review decides.
    pub template_review_delay: Duration,
    /// Run the verification handshake against every configured webhook URL at start, as the
    /// App Dashboard does when a URL is saved (in the background: the outcome is logged and
    /// listed by `GET /__harness/webhook/verify`, and a failure does not stop the simulator).
    pub verify_on_start: bool,
    /// The simulator's URL as the app reaches it (`--public-url`): media URLs and links
    /// handed to the app start with it; default: the bind address.
    pub public_url: Option<String>,
    /// The simulated WhatsApp network the phone numbers join, when set.
    pub network: Option<crate::sim::network::Network>,
}

impl Default for MetaConfig {
    /// Development credentials (never real ones) and one phone number, `106540352242922`
    /// displayed as `15550783881`, the ids of Meta's own examples.
    fn default() -> Self {
        MetaConfig {
            token: "harness-meta-token".into(),
            app_id: "1234567890123456".into(),
            app_secret: "harness-app-secret".into(),
            verify_token: "harness-verify-token".into(),
            waba_id: "102290129340398".into(),
            phone_numbers: vec![PhoneNumber::new("106540352242922", "15550783881")],
            webhook_url: None,
            limits: MetaLimits::default(),
            status_delays: StatusDelays::default(),
            retry: RetryPolicy::default(),
            journal_capacity: super::journal::DEFAULT_CAPACITY,
            faults: FaultProfile::default(),
            error_statuses: StatusOverrides::new(),
            templates: Vec::new(),
            template_review_delay: Duration::from_millis(500),
            verify_on_start: false,
            public_url: None,
            network: None,
        }
    }
}

/// Serde for `Option<Duration>` in the fault-profile duration syntax (`"250ms"` or ms), `null`
/// for none.
mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    use crate::sim::faults::duration_serde;

    #[derive(Deserialize)]
    struct Wrapped(#[serde(with = "duration_serde")] Duration);

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => duration_serde::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<Wrapped>::deserialize(d)?.map(|w| w.0))
    }
}

/// Settings that the app may change at run time (registration), reset to the configuration by
/// `POST /__harness/reset`.
#[derive(Debug, Clone)]
struct Registration {
    webhook_url: Option<String>,
    verify_token: String,
    /// Per-WABA callback overrides (`POST /{waba-id}/subscribed_apps`).
    waba_overrides: HashMap<String, String>,
}

impl Registration {
    fn from_config(config: &MetaConfig) -> Self {
        Registration {
            webhook_url: config.webhook_url.clone(),
            verify_token: config.verify_token.clone(),
            waba_overrides: HashMap::new(),
        }
    }
}

/// Everything the handlers share.
struct Meta {
    config: MetaConfig,
    tenants: tenants::Tenants,
    states: HashMap<String, state::TenantState>,
    registration: RwLock<Registration>,
    media: Mutex<media::MediaStore>,
    /// Account state per phone-number-id, templates and flows per WABA id.
    stores: stores::Stores,
    uploads: Mutex<uploads::Sessions>,
    /// The latest verification handshakes (at most [`registration::VERIFICATIONS_KEPT`]).
    verifications: Mutex<VecDeque<registration::Verification>>,
    bus: Bus,
    webhooks: WebhookEmitter,
    /// The fault profile, for rules that fail accepted sends asynchronously.
    faults: Faults,
    /// For the verification handshake.
    client: reqwest::Client,
    base_url: String,
}

type Shared = Arc<Meta>;

impl Meta {
    fn registration(&self) -> Registration {
        self.registration
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_registration(&self, reg: Registration) {
        *self.registration.write().unwrap_or_else(|p| p.into_inner()) = reg;
    }

    fn media(&self) -> std::sync::MutexGuard<'_, media::MediaStore> {
        self.media.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn account<R>(&self, id: &str, f: impl FnOnce(&mut account::Account) -> R) -> R {
        self.stores.account(id, f)
    }

    /// Runs `f` on a WABA's catalogue, with due review verdicts applied.
    fn waba<R>(&self, id: &str, f: impl FnOnce(&mut waba::Waba) -> R) -> R {
        self.stores.waba(id, f)
    }

    fn uploads(&self) -> std::sync::MutexGuard<'_, uploads::Sessions> {
        self.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The WABA ids served (the configured one and every number's).
    fn waba_ids(&self) -> Vec<String> {
        self.stores.waba_ids().to_vec()
    }

    fn verifications(&self) -> std::sync::MutexGuard<'_, VecDeque<registration::Verification>> {
        self.verifications.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The webhook URL of a number: its own, else its WABA's override, else the
    /// simulator-wide one.
    fn webhook_url_of(&self, number: &PhoneNumber) -> Option<String> {
        if let Some(own) = self.account(&number.id, |a| a.webhook_override.clone()) {
            return Some(own);
        }
        if let Some(own) = &number.webhook_url {
            return Some(own.clone());
        }
        let reg = self.registration.read().unwrap_or_else(|p| p.into_inner());
        let waba = self.tenants.waba_of(number);
        reg.waba_overrides
            .get(waba)
            .or(reg.webhook_url.as_ref())
            .cloned()
    }

    fn reset(&self) {
        let now = tokio::time::Instant::now();
        for s in self.states.values() {
            s.reset(now);
        }
        self.media().clear();
        self.stores.reset();
        self.uploads().clear();
        self.set_registration(Registration::from_config(&self.config));
        self.verifications().clear();
    }
}

/// The tenant (phone-number-id, or the node) a Graph path names, for fault rules: the first
/// segment after an optional `vNN.N` version.
fn tenant_of(path: &str) -> Option<String> {
    let mut segs = path.trim_start_matches('/').split('/');
    let first = segs.next().filter(|s| !s.is_empty())?;
    let node = if http::is_version(first) {
        segs.next().filter(|s| !s.is_empty())?
    } else {
        first
    };
    Some(node.to_string())
}

/// `/x/` → `/x` (the root and the media download path, which has its own slash, stay).
fn trim_trailing_slash(mut req: axum::extract::Request) -> axum::extract::Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') {
        let trimmed = path.trim_end_matches('/').to_string();
        let pq = match req.uri().query() {
            Some(q) => format!("{trimmed}?{q}"),
            None => trimmed,
        };
        if let Ok(uri) = pq.parse() {
            *req.uri_mut() = uri;
        }
    }
    req
}

/// Starts the simulator on `listener` (bind port 0 in tests).
pub async fn start(config: MetaConfig, listener: TcpListener) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let base_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| crate::sim::url_of(addr));
    let now = tokio::time::Instant::now();
    let tenants = tenants::Tenants::new(
        config.phone_numbers.clone(),
        config.token.clone(),
        config.waba_id.clone(),
    );
    let rules = state::LimitRules {
        throughput: config.limits.throughput,
        pair: config.limits.pair,
        service_window: config.limits.service_window,
    };
    let states = tenants
        .numbers()
        .iter()
        .map(|n| {
            let waba = tenants.waba_of(n).to_string();
            let st = state::TenantState::new(waba, rules, config.limits.customer_capacity, now);
            (n.id.clone(), st)
        })
        .collect();
    let stores = stores::Stores::new(&tenants, config.templates.clone());
    let bus = Bus::new(config.journal_capacity);
    let webhooks = WebhookEmitter::new(config.retry.clone());
    let faults = Faults::new(config.faults.clone());
    let meta: Shared = Arc::new(Meta {
        registration: RwLock::new(Registration::from_config(&config)),
        verifications: Mutex::new(VecDeque::new()),
        stores,
        uploads: Mutex::new(uploads::Sessions::default()),
        media: Mutex::new(media::MediaStore::new(config.limits.media_capacity_bytes)),
        client: reqwest::Client::builder()
            .timeout(config.retry.timeout)
            .build()
            .unwrap_or_default(),
        tenants,
        states,
        bus: bus.clone(),
        webhooks: webhooks.clone(),
        faults: faults.clone(),
        base_url,
        config,
    });
    let reset_target = Arc::clone(&meta);
    let control_state = ControlState {
        provider: Simulator::Meta,
        bus: bus.clone(),
        faults: faults.clone(),
        webhooks: webhooks.clone(),
        on_reset: Arc::new(move || reset_target.reset()),
    };
    let api = server::router(Arc::clone(&meta))
        .merge(registration::router(Arc::clone(&meta)))
        .merge(account_routes::router(Arc::clone(&meta)))
        .merge(waba_routes::router(Arc::clone(&meta)))
        .merge(control::router(Arc::clone(&meta)));
    let router: Router =
        super::faults::apply(api, faults, tenant_of).merge(super::control::router(control_state));
    // Graph answers `/{id}/` as `/{id}` (pywa posts the webhook override to `/{phone_id}/`).
    let router = Router::new().fallback_service(
        tower::ServiceBuilder::new()
            .map_request(trim_trailing_slash)
            .service(router),
    );
    let mut handle = super::serve(listener, router, bus.clone()).await?;
    if let Some(network) = &meta.config.network {
        let member: Arc<dyn crate::sim::network::Member> = Arc::clone(&meta) as _;
        handle.attach_task(network.join(Arc::downgrade(&member), &bus));
    }
    if meta.config.verify_on_start {
        handle.attach_task(tokio::spawn(registration::verify_configured(meta)));
    }
    handle.on_shutdown(move || webhooks.shutdown());
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_of_skips_the_version() {
        assert_eq!(tenant_of("/v25.0/123/messages").as_deref(), Some("123"));
        assert_eq!(tenant_of("/123/messages").as_deref(), Some("123"));
        assert_eq!(tenant_of("/123").as_deref(), Some("123"));
        assert_eq!(tenant_of("/v25.0/").as_deref(), None);
        assert_eq!(tenant_of("/").as_deref(), None);
    }

    #[test]
    fn unlimited_lifts_every_limit() {
        let l = MetaLimits::unlimited();
        assert!(!l.throughput.is_limited() && !l.pair.is_limited());
        assert_eq!(l.service_window, None);
        assert_eq!(l.customer_capacity, MetaLimits::default().customer_capacity);
    }

    #[test]
    fn defaults_follow_the_reference() {
        let c = MetaConfig::default();
        assert_eq!(c.limits.throughput.per_second, 80.0);
        assert_eq!(c.limits.service_window, Some(Duration::from_secs(86_400)));
        assert_eq!(c.phone_numbers.len(), 1);
    }
}
