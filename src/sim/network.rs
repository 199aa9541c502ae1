//! The simulated WhatsApp network: the simulators of one process (an Evolution simulator's
//! instances, a Meta simulator's phone numbers) reach one another by phone number, as real
//! WhatsApp accounts do. When a member sends a message to a number another member owns, that
//! member delivers it to its app as a customer's message from the sender's number — exactly
//! what `POST /__harness/inbound` does (a `messages.upsert` webhook on Evolution, a signed
//! `messages` webhook on Meta). The sender's outbound stays in its journal as always; numbers
//! nobody on the network owns are not touched.
//!
//! How: each member's outbound [`Bus`] is watched by one task ([`Network::join`]); a message is
//! turned into the provider-neutral customer message both simulators take
//! ([`InboundRequest`]) and handed to the owner's [`Member::deliver`]. Who owns a number is
//! asked at each message (an instance paired or deleted at run time is seen at once).
//!
//! Ping-pong bound: two apps that answer each other would exchange messages forever. The
//! network counts the deliveries between each pair of numbers; a pair quiet for [`QUIET`]
//! starts again from zero, and past the hop limit ([`DEFAULT_HOP_LIMIT`]) in one burst the
//! network stops delivering between the two (a warning is logged once per burst, and
//! [`Network::dropped`] counts what was held back). A scripted conversation (the harness
//! sends, the app answers) counts too: 100 hops is a 50-turn conversation without a pause of
//! a second.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

use super::bus::{Bus, OutboundMessage};
use super::inbound::InboundRequest;

/// Deliveries between two numbers in one burst before the network holds back.
pub const DEFAULT_HOP_LIMIT: u64 = 100;

/// A pair of numbers silent this long starts a new burst.
pub const QUIET: Duration = Duration::from_secs(1);

/// A simulated side of the network: a simulator whose tenants own numbers.
pub trait Member: Send + Sync {
    /// The tenant (Evolution instance, Meta phone-number-id) that owns `number` (digits).
    fn owner_of(&self, number: &str) -> Option<String>;
    /// The number (digits) of `tenant`, when it has one.
    fn number_of(&self, tenant: &str) -> Option<String>;
    /// Delivers a customer's message to `tenant`'s app, as `/__harness/inbound` does.
    fn deliver(&self, tenant: &str, req: InboundRequest) -> Result<(), String>;
}

/// What the network did with one outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarded {
    /// The recipient is not on the network (or is the sender itself).
    NotOnNetwork,
    /// Delivered to this tenant of another member.
    Delivered { tenant: String },
    /// Held back: the pair's burst passed the hop limit.
    HopLimit,
    /// The owner refused it, or the message has nothing a phone receives (see [`to_inbound`]).
    Failed(String),
}

/// The shared network; cheap to clone (one registry).
#[derive(Clone)]
pub struct Network {
    inner: Arc<Inner>,
}

struct Inner {
    members: Mutex<Vec<Weak<dyn Member>>>,
    bursts: Mutex<HashMap<(String, String), Burst>>,
    hop_limit: u64,
    dropped: AtomicU64,
}

struct Burst {
    count: u64,
    last: Instant,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("members", &self.members().len())
            .field("hop_limit", &self.inner.hop_limit)
            .finish()
    }
}

impl Default for Network {
    fn default() -> Self {
        Self::with_hop_limit(DEFAULT_HOP_LIMIT)
    }
}

impl Network {
    pub fn new() -> Self {
        Self::default()
    }

    /// A network that holds back a pair's messages past `hop_limit` in one burst.
    pub fn with_hop_limit(hop_limit: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                members: Mutex::new(Vec::new()),
                bursts: Mutex::new(HashMap::new()),
                hop_limit,
                dropped: AtomicU64::new(0),
            }),
        }
    }

    fn members(&self) -> std::sync::MutexGuard<'_, Vec<Weak<dyn Member>>> {
        self.inner.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Messages held back by the hop limit so far.
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Adds `member` (held weakly: a simulator shut down leaves the network) and starts the
    /// task that forwards what it sends; the caller aborts the task at shutdown.
    pub fn join(&self, member: Weak<dyn Member>, bus: &Bus) -> JoinHandle<()> {
        let index = {
            let mut members = self.members();
            members.push(member);
            members.len() - 1
        };
        let mut feed = bus.subscribe();
        let network = self.clone();
        tokio::spawn(async move {
            loop {
                match feed.recv().await {
                    Ok(msg) => {
                        let outcome = network.forward(index, &msg);
                        if let Forwarded::Failed(why) = outcome {
                            tracing::warn!(to = %msg.to, "network: not delivered: {why}");
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "network: fell behind; messages not delivered");
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }

    /// Delivers `msg`, sent by member `from`, to the member owning its recipient.
    pub fn forward(&self, from: usize, msg: &OutboundMessage) -> Forwarded {
        let members: Vec<Option<Arc<dyn Member>>> =
            self.members().iter().map(Weak::upgrade).collect();
        let Some(Some(sender)) = members.get(from) else {
            return Forwarded::NotOnNetwork;
        };
        let Some(from_number) = sender.number_of(&msg.tenant) else {
            return Forwarded::NotOnNetwork;
        };
        let owner = members.iter().enumerate().find_map(|(i, m)| {
            let tenant = m.as_ref()?.owner_of(&msg.to)?;
            // Sending to one's own number is not a network message.
            (i != from || tenant != msg.tenant).then(|| (m.clone(), tenant))
        });
        let Some((Some(owner), tenant)) = owner else {
            return Forwarded::NotOnNetwork;
        };
        let req = match to_inbound(&from_number, msg) {
            Ok(r) => r,
            Err(e) => return Forwarded::Failed(e),
        };
        if !self.admit(&from_number, &msg.to) {
            return Forwarded::HopLimit;
        }
        match owner.deliver(&tenant, req) {
            Ok(()) => Forwarded::Delivered { tenant },
            Err(e) => Forwarded::Failed(e),
        }
    }

    /// Counts a delivery between `a` and `b`: whether it is within the burst's hop limit.
    fn admit(&self, a: &str, b: &str) -> bool {
        let key = if a <= b {
            (a.to_string(), b.to_string())
        } else {
            (b.to_string(), a.to_string())
        };
        let mut bursts = self.inner.bursts.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if bursts.len() > 10_000 {
            bursts.retain(|_, b| now.duration_since(b.last) < QUIET);
        }
        let burst = bursts.entry(key).or_insert(Burst {
            count: 0,
            last: now,
        });
        if now.duration_since(burst.last) >= QUIET {
            burst.count = 0;
        }
        burst.last = now;
        burst.count += 1;
        if burst.count <= self.inner.hop_limit {
            return true;
        }
        if burst.count == self.inner.hop_limit + 1 {
            tracing::warn!(
                a,
                b,
                limit = self.inner.hop_limit,
                "network: {a} and {b} keep answering each other; messages between them are held back until they are quiet for {QUIET:?}"
            );
        }
        self.inner.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }
}

/// A sent message as the customer's message the recipient's simulator takes: text; media
/// (the bytes when the send carried them as base64, else a generated file of the kind, with
/// the caption, file name and type kept); location; contact cards; reactions (to the last
/// message the recipient sent the sender: message ids are each side's own). What a phone
/// receives but cannot send back in this form (buttons, lists, templates, polls, …) arrives
/// as its text; a message without text of those kinds is not delivered.
pub fn to_inbound(from: &str, msg: &OutboundMessage) -> Result<InboundRequest, String> {
    let view = msg.view.as_deref();
    let p = &msg.payload;
    let mut body = json!({ "from": from });
    match msg.kind.as_str() {
        "image" | "video" | "document" | "sticker" | "audio" | "voice" => {
            let media = view.and_then(|v| v.media.as_ref());
            let kind = if msg.kind == "voice" {
                "audio"
            } else {
                &msg.kind
            };
            let mut part = json!({ "voice": msg.kind == "voice" });
            if let Some(m) = media {
                for (k, v) in [
                    ("caption", &m.caption),
                    ("filename", &m.filename),
                    ("mime_type", &m.mime),
                ] {
                    if let Some(v) = v {
                        part[k] = json!(v);
                    }
                }
            }
            if let Some(data) = inline_media(p) {
                part["data_base64"] = json!(data);
            }
            body[kind] = part;
        }
        "location" => {
            let l = view.and_then(|v| v.location.as_ref());
            match l.and_then(|l| Some((l, l.latitude?, l.longitude?))) {
                Some((l, lat, lon)) => {
                    body["location"] = json!({"latitude": lat, "longitude": lon,
                                             "name": l.name, "address": l.address});
                }
                None => return Err("a location without coordinates".into()),
            }
        }
        "contacts" | "contact" => body["contacts"] = json!(contact_cards(p)?),
        "reaction" => {
            let emoji = p["reaction"]["emoji"]
                .as_str()
                .or(p["reaction"].as_str())
                .filter(|e| !e.is_empty())
                .ok_or("a reaction removed (no emoji): nothing to deliver")?;
            body["reaction"] = json!({ "emoji": emoji });
        }
        kind => match &msg.text {
            Some(text) if !text.is_empty() => body["text"] = json!(text),
            _ => return Err(format!("a `{kind}` message without text")),
        },
    }
    serde_json::from_value(strip_nulls(body)).map_err(|e| e.to_string())
}

/// Evolution media sent as base64 (`media`, `audio`, `sticker` not a URL): the bytes.
fn inline_media(p: &Value) -> Option<String> {
    let data = ["media", "audio", "sticker", "video"]
        .iter()
        .find_map(|k| p[*k].as_str())
        .filter(|s| !s.starts_with("http"))?;
    let data = data.rsplit(',').next().unwrap_or(data).trim();
    base64::engine::general_purpose::STANDARD
        .decode(data)
        .ok()
        .map(|_| data.to_string())
}

/// The cards of an Evolution `sendContact` (`contact[].fullName`, `phoneNumber`) or a Meta
/// `contacts` message (`contacts[].name.formatted_name`, `phones[].phone`).
fn contact_cards(p: &Value) -> Result<Vec<Value>, String> {
    let evolution = p["contact"].as_array().map(|cards| {
        cards
            .iter()
            .map(|c| json!({"name": c["fullName"], "phone": c["phoneNumber"]}))
            .collect::<Vec<_>>()
    });
    let meta = p["contacts"].as_array().map(|cards| {
        cards
            .iter()
            .map(|c| json!({"name": c["name"]["formatted_name"], "phone": c["phones"][0]["phone"]}))
            .collect::<Vec<_>>()
    });
    let cards: Vec<Value> = evolution
        .or(meta)
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["name"].is_string() && c["phone"].is_string())
        .collect();
    if cards.is_empty() {
        return Err("contact cards without a name and a number".into());
    }
    Ok(cards)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests;
