//! Evolution API v2 simulator: instances, QR pairing, messages and webhooks, on axum.
//!
//! Why: a real Evolution API needs a paired phone and cannot be made slow or down on purpose.
//! This simulator answers the documented surface (`/shared/reference/evolution-api-v2.md` §3)
//! with the same status codes, shapes, error bodies and guard order (instance exists → name
//! free → apikey), so an app or a client library cannot tell the difference there. Every route
//! of the 2.3.6 server is listed in [`routes`] (`routes.tsv`, with its upstream file); unknown
//! routes answer like Express (`Cannot POST /x`).
//!
//! Layout: [`rules`] (pure validation and formats), [`schema`] (the server's request schemas
//! and their validator), [`routes`] (the coverage table), [`state`] (instances and their state
//! machine), [`qr`] (real PNG QR codes), [`errors`] (error bodies), [`handlers`] (the router
//! and the instance routes; `messages` the webhook and number-lookup routes; `dispatch` the
//! table-driven registration the other routers use: `sends`/`sendbuild`/`sendcheck` the
//! message router, `chat`/`chatstate` the chat router, `group` the group router, `misc` the
//! small core routers, `integrations` and `baileys` the integration routers;
//! `harness_routes` the simulator's own `/__harness/inbound` and `…/pair`), this file
//! (configuration, start-up, webhook dispatch).
//!
//! Concurrency protocol: all instances live in one `Mutex<HashMap>`; a handler holds it only
//! to run a pure transition, which returns the webhook events to send; the events are handed to
//! the [`WebhookEmitter`] after the lock is released. A QR timer task per connecting session
//! wakes every `qr_refresh`, applies `refresh_qr` under the lock and stops when the session
//! changed (paired, logged out, deleted) or the simulator shuts down.

mod baileys;
mod chat;
mod chatstate;
mod dispatch;
pub mod errors;
mod group;
mod group_input;
mod groupops;
pub mod handlers;
mod harness_routes;
mod inbound;
mod integrations;
mod messages;
mod misc;
mod network;
pub mod qr;
mod received;
mod reply;
pub mod routes;
pub mod rules;
pub mod schema;
mod sendbuild;
mod sendcheck;
mod sends;
pub mod state;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::bus::{Bus, Simulator};
use super::control::{self, ControlState};
use super::faults::{self, FaultProfile, Faults};
use super::journal::DEFAULT_CAPACITY;
use super::webhook::{RetryPolicy, WebhookEmitter, WebhookRequest};
use super::SimHandle;
use rules::{event_key, event_path, WebhookSettings};
use state::{Event, Instance};

/// The `.env.example` global key of the real server, used when none is configured.
pub const DEFAULT_API_KEY: &str = "429683C4C977415CAAFCCE10F7D57E11";

/// An instance that exists when the simulator starts (and after `POST /__harness/reset`).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedInstance {
    pub name: String,
    /// The instance's own apikey.
    pub token: String,
    /// Per-instance webhook URL.
    pub webhook_url: Option<String>,
    pub webhook_by_events: bool,
    /// Events (config keys, `MESSAGES_UPSERT`) the webhook is subscribed to; `None` is every
    /// event, as `webhook/set` stores an empty list (evolution-api 2.3.6
    /// src/api/integrations/event/webhook/webhook.controller.ts, `set`).
    pub webhook_events: Option<Vec<String>>,
    /// Start `open` (paired), as a test or the embedded default wants.
    pub open: bool,
    /// The connected account's number when open (digits).
    pub number: String,
}

/// A stable, distinct business number per instance name: `5511` + 9 digits of an FNV-1a hash.
pub fn number_for(name: &str) -> String {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("5511{:09}", hash % 1_000_000_000)
}

impl SeedInstance {
    /// An open instance with a webhook to `webhook_url`, subscribed to every event.
    pub fn open(name: &str, token: &str, webhook_url: Option<&str>) -> Self {
        Self {
            name: name.into(),
            token: token.into(),
            webhook_url: webhook_url.map(str::to_string),
            webhook_by_events: false,
            webhook_events: None,
            open: true,
            number: number_for(name),
        }
    }

    /// The webhook subscribed to `events` only (config keys, `MESSAGES_UPSERT`).
    pub fn subscribed_to(mut self, events: &[&str]) -> Self {
        self.webhook_events = Some(events.iter().map(|e| e.to_string()).collect());
        self
    }
}

/// Configuration of the Evolution simulator.
#[derive(Debug, Clone)]
pub struct EvolutionConfig {
    /// Global apikey (`AUTHENTICATION_API_KEY`).
    pub api_key: String,
    /// Global webhook (`WEBHOOK_GLOBAL_URL`), receives every event of every instance.
    pub global_webhook_url: Option<String>,
    pub global_webhook_by_events: bool,
    /// Events the global webhook receives (config keys, `MESSAGES_UPSERT`); `None` is all.
    /// The server's `WEBHOOK_EVENTS_<EVENT>=true|false` variables set it
    /// ([`EvolutionConfig::events_from_env`]).
    pub global_webhook_events: Option<Vec<String>>,
    /// `server_url` in webhooks; defaults to the simulator's base URL.
    pub server_url: Option<String>,
    /// Put the instance token in the webhook `apikey` field
    /// (`AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES=true`, as `.env.example` sets it).
    pub expose_token_in_webhooks: bool,
    pub instances: Vec<SeedInstance>,
    /// A new QR every `qr_refresh` while connecting (the server uses 45 s).
    pub qr_refresh: Duration,
    /// QRs before the server gives up (`QRCODE_LIMIT`, default 30).
    pub qr_limit: u32,
    /// `messages.update` DELIVERY_ACK this long after a send.
    pub ack_delivered_after: Duration,
    /// `messages.update` READ this long after a send.
    pub ack_read_after: Duration,
    pub webhook_retry: RetryPolicy,
    pub journal_capacity: usize,
    pub faults: FaultProfile,
    /// Numbers that are "not on WhatsApp" (sends to them fail with `exists: false`).
    pub unregistered_numbers: Vec<String>,
    /// `version` of `GET /`.
    pub version: String,
    /// `DATABASE_CONNECTION_CLIENT_NAME`.
    pub client_name: String,
    /// The simulated WhatsApp network the instances join (their numbers reach the other
    /// simulators' numbers and theirs), when set.
    pub network: Option<crate::sim::network::Network>,
}

impl Default for EvolutionConfig {
    fn default() -> Self {
        Self {
            api_key: DEFAULT_API_KEY.into(),
            global_webhook_url: None,
            global_webhook_by_events: false,
            global_webhook_events: Self::events_from_env(|k| std::env::var(k).ok()),
            server_url: None,
            expose_token_in_webhooks: true,
            instances: Vec::new(),
            qr_refresh: Duration::from_secs(45),
            qr_limit: 30,
            ack_delivered_after: Duration::from_millis(500),
            ack_read_after: Duration::from_millis(1500),
            webhook_retry: RetryPolicy {
                // The server does not retry these, and spreads its waits ±20 % (§4.3).
                no_retry_statuses: vec![400, 401, 403, 404, 422],
                jitter: 0.2,
                ..RetryPolicy::default()
            },
            journal_capacity: DEFAULT_CAPACITY,
            faults: FaultProfile::default(),
            unregistered_numbers: Vec::new(),
            version: "2.3.6".into(),
            client_name: "evolution".into(),
            network: None,
        }
    }
}

impl EvolutionConfig {
    /// The global webhook's events from the server's `WEBHOOK_EVENTS_<EVENT>` variables
    /// (`src/config/env.config.ts`: each is `=== 'true'`): `None` when none is set.
    pub fn events_from_env(var: impl Fn(&str) -> Option<String>) -> Option<Vec<String>> {
        let values: Vec<(&str, Option<String>)> = rules::EVENT_KEYS
            .iter()
            .map(|k| (*k, var(&format!("WEBHOOK_EVENTS_{k}"))))
            .collect();
        values.iter().any(|(_, v)| v.is_some()).then(|| {
            values
                .iter()
                .filter(|(_, v)| v.as_deref() == Some("true"))
                .map(|(k, _)| k.to_string())
                .collect()
        })
    }
}

/// Where an instance's events go, captured when they happen.
#[derive(Debug, Clone)]
pub struct EmitContext {
    pub instance: String,
    pub token: String,
    pub webhook: Option<Arc<WebhookSettings>>,
    pub sender: Option<String>,
}

impl EmitContext {
    pub fn of(inst: &Instance) -> Self {
        Self {
            instance: inst.name.clone(),
            token: inst.token.clone(),
            webhook: inst.webhook.as_ref().map(|w| w.settings.clone()),
            sender: inst.owner_jid.clone(),
        }
    }
}

/// Where one webhook goes: (URL to POST to, `destination` field, headers).
type Target = (String, String, Vec<(String, String)>);

/// The simulator's shared state.
pub struct Sim {
    pub config: EvolutionConfig,
    instances: Mutex<HashMap<String, Instance>>,
    pub bus: Bus,
    pub webhooks: WebhookEmitter,
    pub server_url: String,
    stop: watch::Sender<bool>,
}

impl Sim {
    pub fn instances(&self) -> MutexGuard<'_, HashMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Instances from the configured seeds.
    fn seeded(config: &EvolutionConfig) -> HashMap<String, Instance> {
        let mut rng = rand::rng();
        config
            .instances
            .iter()
            .map(|seed| {
                let mut inst = Instance::new(&seed.name, &seed.token, "WHATSAPP-BAILEYS");
                if let Some(url) = &seed.webhook_url {
                    let settings = WebhookSettings {
                        url: url.clone(),
                        enabled: true,
                        events: match &seed.webhook_events {
                            Some(events) => events.clone(),
                            None => rules::EVENT_KEYS.iter().map(|e| e.to_string()).collect(),
                        },
                        by_events: seed.webhook_by_events,
                        base64: false,
                        headers: Default::default(),
                    };
                    inst.set_webhook(settings, rules::row_id(&mut rng));
                }
                if seed.open {
                    let digits = super::bus::phone_digits(&seed.number);
                    inst.pair(format!("{digits}@s.whatsapp.net"), seed.name.clone());
                }
                (seed.name.clone(), inst)
            })
            .collect()
    }

    /// Back to the configured instances.
    pub fn reset(&self) {
        *self.instances() = Self::seeded(&self.config);
    }

    /// Whether any webhook (the instance's or the global one) may receive its events.
    pub fn has_webhook(&self, ctx: &EmitContext) -> bool {
        self.config.global_webhook_url.is_some() || ctx.webhook.as_ref().is_some_and(|w| w.enabled)
    }

    /// Sends `events` to the instance's webhook and the global webhook.
    pub fn emit(&self, ctx: &EmitContext, events: Vec<Event>) {
        for event in events {
            for (url, destination, headers) in self.targets(ctx, event.name) {
                let mut envelope = json!({
                    "event": event.name, "instance": ctx.instance, "data": event.data,
                    "destination": destination,
                    // Stamped when the server would send it (a delayed ack is sent later).
                    "date_time": humantime::format_rfc3339_millis(
                        std::time::SystemTime::now() + event.delay).to_string(),
                });
                if let Some(sender) = &ctx.sender {
                    envelope["sender"] = json!(sender);
                }
                envelope["server_url"] = json!(self.server_url);
                envelope["apikey"] = match self.config.expose_token_in_webhooks {
                    true => json!(ctx.token),
                    false => Value::Null,
                };
                let body = match serde_json::to_vec(&envelope) {
                    Ok(b) => Bytes::from(b),
                    Err(e) => {
                        tracing::error!(error = %e, "cannot serialise webhook");
                        continue;
                    }
                };
                self.webhooks.send(WebhookRequest {
                    url,
                    event: event.name.to_string(),
                    headers,
                    body,
                    delay: event.delay,
                });
            }
        }
    }

    /// (URL to POST to, `destination` field, headers) for each webhook that wants `event`.
    fn targets(&self, ctx: &EmitContext, event: &str) -> Vec<Target> {
        let key = event_key(event);
        let path = event_path(event);
        let base_headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("user-agent".to_string(), "axios/1.7.9".to_string()),
        ];
        let mut out = Vec::new();
        if let Some(hook) = &ctx.webhook {
            let http = hook.url.starts_with("http://") || hook.url.starts_with("https://");
            if hook.enabled && http && hook.events.contains(&key) {
                let url = match hook.by_events {
                    true => format!("{}/{path}", hook.url),
                    false => hook.url.clone(),
                };
                let mut headers = base_headers.clone();
                for (k, v) in &hook.headers {
                    match (k.as_str(), v.as_str()) {
                        // Replaced by `Authorization: Bearer <JWT>`, as the server does.
                        ("jwt_key", Some(key)) => headers.push((
                            "authorization".into(),
                            format!("Bearer {}", rules::webhook_jwt(key, state::unix_secs())),
                        )),
                        (_, Some(v)) => headers.push((k.clone(), v.to_string())),
                        _ => {}
                    }
                }
                out.push((url, hook.url.clone(), headers));
            }
        }
        let global_wants = match &self.config.global_webhook_events {
            Some(events) => events.contains(&key),
            None => true,
        };
        if let (Some(global), true) = (&self.config.global_webhook_url, global_wants) {
            let url = match self.config.global_webhook_by_events {
                true => format!("{global}/{path}"),
                false => global.clone(),
            };
            let destination = match &ctx.webhook {
                Some(h) => h.url.clone(),
                None => format!("{global}/{path}"),
            };
            out.push((url, destination, base_headers));
        }
        out
    }

    /// Starts the QR timer of a connecting session.
    pub fn spawn_qr_timer(self: &Arc<Self>, name: String, session: u64) {
        let sim = Arc::clone(self);
        let mut stop = self.stop.subscribe();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(sim.config.qr_refresh) => {}
                    _ = stop.changed() => return,
                }
                let new_qr = match qr::generate() {
                    Ok(q) => q,
                    Err(e) => {
                        tracing::error!(error = %e, "QR generation failed");
                        return;
                    }
                };
                let (ctx, events, still) = {
                    let mut instances = sim.instances();
                    let Some(inst) = instances.get_mut(&name) else {
                        return;
                    };
                    let events = inst.refresh_qr(session, new_qr, sim.config.qr_limit);
                    (EmitContext::of(inst), events, inst.session == session)
                };
                sim.emit(&ctx, events);
                if !still {
                    return;
                }
            }
        });
    }
}

/// The instance name in an Evolution path (`/message/sendText/{instance}`), for fault rules.
pub fn tenant_of(path: &str) -> Option<String> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        [group, _, instance] if !group.starts_with("__") => Some((*instance).to_string()),
        ["__harness", "instances", instance, _] => Some((*instance).to_string()),
        _ => None,
    }
}

/// Starts the Evolution simulator on `listener`.
pub async fn start(config: EvolutionConfig, listener: TcpListener) -> io::Result<SimHandle> {
    let addr = listener.local_addr()?;
    let bus = Bus::new(config.journal_capacity);
    let webhooks = WebhookEmitter::new(config.webhook_retry.clone());
    let faults = Faults::new(config.faults.clone());
    let (stop, _) = watch::channel(false);
    let sim = Arc::new(Sim {
        server_url: config
            .server_url
            .clone()
            .unwrap_or_else(|| crate::sim::url_of(addr)),
        instances: Mutex::new(Sim::seeded(&config)),
        config,
        bus: bus.clone(),
        webhooks: webhooks.clone(),
        stop,
    });
    let reset_sim = Arc::clone(&sim);
    let control = control::router(ControlState {
        provider: Simulator::Evolution,
        bus: bus.clone(),
        faults: faults.clone(),
        webhooks: webhooks.clone(),
        on_reset: Arc::new(move || reset_sim.reset()),
    });
    let router = handlers::router(Arc::clone(&sim)).merge(control);
    let router = faults::apply(router, faults, tenant_of);
    let mut handle = super::serve(listener, router, bus.clone()).await?;
    if let Some(network) = &sim.config.network {
        let member: Arc<dyn crate::sim::network::Member> = Arc::clone(&sim) as _;
        handle.attach_task(network.join(Arc::downgrade(&member), &bus));
    }
    handle.on_shutdown(move || {
        sim.stop.send_replace(true);
        sim.webhooks.shutdown();
    });
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_is_the_instance_segment() {
        assert_eq!(tenant_of("/message/sendText/foo").as_deref(), Some("foo"));
        assert_eq!(tenant_of("/instance/fetchInstances"), None);
        assert_eq!(
            tenant_of("/__harness/instances/foo/pair").as_deref(),
            Some("foo")
        );
        assert_eq!(tenant_of("/__harness/faults"), None);
    }

    #[test]
    fn seeds_start_open_with_webhook() {
        let config = EvolutionConfig {
            instances: vec![SeedInstance::open("a", "TA", Some("http://127.0.0.1:9/h"))],
            ..Default::default()
        };
        let instances = Sim::seeded(&config);
        let a = &instances["a"];
        assert_eq!(a.state, state::ConnState::Open);
        let jid = format!("{}@s.whatsapp.net", number_for("a"));
        assert_eq!(a.owner_jid.as_deref(), Some(jid.as_str()));
        assert_eq!(number_for("a").len(), 13);
        assert_ne!(number_for("a"), number_for("b"));
        assert!(a
            .webhook
            .as_ref()
            .unwrap()
            .settings
            .events
            .contains(&"MESSAGES_UPSERT".into()));
        let narrow = EvolutionConfig {
            instances: vec![SeedInstance::open("a", "TA", Some("http://127.0.0.1:9/h"))
                .subscribed_to(&["MESSAGES_UPSERT"])],
            ..Default::default()
        };
        let hook = Sim::seeded(&narrow)["a"].webhook.clone().unwrap().settings;
        assert_eq!(hook.events, vec!["MESSAGES_UPSERT".to_string()]);
        assert_eq!(
            Sim::seeded(&config)["a"]
                .webhook
                .as_ref()
                .unwrap()
                .settings
                .events
                .len(),
            rules::EVENT_KEYS.len()
        );
    }
}
