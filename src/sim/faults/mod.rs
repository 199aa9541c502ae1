//! Fault injection: make a simulated provider slow, failing, down or rude, on purpose.
//!
//! Why: an app's behaviour when its provider misbehaves (timeouts, 5xx, dropped connections)
//! is what the deployment plans most want tested, and a real provider cannot be made to fail
//! on demand. Faults are plain data ([`FaultProfile`]: a list of [`FaultRule`]s) so that a YAML
//! or JSON file in `mocks/`, the CLI (`--faults FILE`) and `POST /__harness/faults` all set the
//! same thing. A pure function, [`decide`], turns the rules, the request, the time since the
//! profile was set and a set of random [`Draws`] into a [`Decision`]; the middleware installed
//! by [`apply`] only samples the draws, sleeps and acts, so nearly all behaviour is unit-tested
//! without a server.
//!
//! Connection faults: the middleware cannot close a socket itself, so it returns a response
//! carrying a [`ConnectionFault`] extension; the connection loop in [`super::serve`] sees it
//! and drops the connection without writing a response: `Close` ends it with a FIN (clients
//! report "connection closed before message completed" / "empty reply"), `Reset` sets
//! `SO_LINGER` to zero first so the kernel sends an RST (clients report ECONNRESET). A downtime
//! window in `refuse` mode uses `Reset`: the listener stays open because the control API shares
//! it, so a client sees a reset right after connecting rather than ECONNREFUSED; both are "no
//! HTTP response at all", which is what an app has to handle. The control API
//! (`/__harness/…`) is never faulted, so a test can always clear faults.
//!
//! Concurrency: the active profile is an `Arc` behind an `RwLock`, swapped whole on update;
//! each request clones the `Arc` (a few nanoseconds) and decides without holding the lock.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

pub use super::duration_serde;

mod layer;
mod stream;
pub use layer::{apply, connection_fault_response, FaultEvent, Faults, TenantOf};
pub use stream::{Duplicate, StreamFaults, TruncateStream};

/// Path prefix of the control API, never subject to faults.
pub const CONTROL_PREFIX: &str = "/__harness";

/// Upper bound of one sampled latency, so a heavy-tailed distribution cannot stall forever.
const MAX_LATENCY: Duration = Duration::from_secs(600);

/// z-score of the 99th percentile of the standard normal distribution.
const Z_P99: f64 = 2.326_347_874;

/// Errors loading a fault profile.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    #[error("cannot read fault profile {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("fault profile is not valid YAML/JSON: {0}")]
    Syntax(String),
    #[error("invalid fault profile: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// A rate (`rate`, `reset_rate`): a probability from 0 to 1 (`rate: 2` or `rate: 50` for 50 %
/// is refused, not read as "always").
pub fn probability<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let rate = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(serde::de::Error::custom(format!(
            "rate {rate} is not a probability: write a number from 0 to 1 (0.5 for 50 %)"
        )))
    }
}

/// A set of fault rules. Every rule that matches a request applies: latencies add up; the
/// first matching rule that produces an outcome (downtime, reset, error) decides it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultProfile {
    #[serde(default)]
    pub rules: Vec<FaultRule>,
}

/// One fault rule. Absent selectors match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// Free label, shown back by `GET /__harness/faults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Route pattern (`/message/sendText/{instance}`), or prefix ending in `*`
    /// (`/message/*`, `/message/send*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// HTTP method, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Instance name (Evolution) or phone-number-id (Meta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFault>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub downtime: Vec<Downtime>,
    /// Probability (0..1) that the connection is reset instead of answered.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "probability"
    )]
    pub reset_rate: f64,
    /// Meta: a share of the sends this rule matches is accepted (200 and a wamid) and then
    /// fails asynchronously, with a `failed` status webhook carrying `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_status: Option<FailedStatus>,
    /// Streamed replies (the LLM simulator's server-sent events): wait before the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_delay: Option<Latency>,
    /// Streamed replies: a share of the streams is cut after some chunks, without `[DONE]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncate_stream: Option<TruncateStream>,
    /// Outgoing webhooks (the payments simulator's notifications): a share is delivered more
    /// than once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Duplicate>,
}

/// An asynchronous send failure (Meta): `rate` (0..1) of matching sends, WhatsApp error `code`
/// (131026 undeliverable, 131049 ecosystem limit, 131050 user stopped marketing, 368 policy
/// block, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedStatus {
    #[serde(deserialize_with = "probability")]
    pub rate: f64,
    pub code: u32,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Added latency. Durations are milliseconds (a number) or humantime strings (`"250ms"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Latency {
    Fixed {
        #[serde(with = "duration_serde")]
        delay: Duration,
    },
    Uniform {
        #[serde(with = "duration_serde")]
        min: Duration,
        #[serde(with = "duration_serde")]
        max: Duration,
    },
    /// Log-normal given its median and 99th percentile.
    LogNormal {
        #[serde(with = "duration_serde")]
        median: Duration,
        #[serde(with = "duration_serde")]
        p99: Duration,
    },
    /// Log-normal given the mean and standard deviation of ln(latency in milliseconds).
    LogNormalParams { mu: f64, sigma: f64 },
}

/// An error rate answered with a specific provider error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// Probability (0..1).
    #[serde(deserialize_with = "probability")]
    pub rate: f64,
    pub status: u16,
    /// JSON body, e.g. a Graph error object or an Evolution `{status, error, response}`.
    #[serde(default)]
    pub body: serde_json::Value,
    /// Response headers, e.g. `retry-after` on a 429.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// A window during which the endpoint is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Downtime {
    /// Start, measured from when the profile was set.
    #[serde(with = "duration_serde", default)]
    pub start: Duration,
    #[serde(with = "duration_serde")]
    pub duration: Duration,
    /// Repeat period (the window recurs every `every`, from `start`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "duration_serde::opt"
    )]
    pub every: Option<Duration>,
    #[serde(default)]
    pub mode: DowntimeMode,
}

/// What a client sees during downtime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DowntimeMode {
    /// `503 Service Unavailable`, as a proxy in front of a stopped provider answers.
    #[default]
    Unavailable,
    /// No HTTP response: the connection is reset (see the module docs).
    Refuse,
    /// No HTTP response: the connection is closed normally (FIN) after the request is read.
    Close,
}

impl Downtime {
    /// Whether `elapsed` (since the profile was set) falls inside this window.
    pub fn is_active(&self, elapsed: Duration) -> bool {
        let Some(since_start) = elapsed.checked_sub(self.start) else {
            return false;
        };
        let offset = match self.every {
            Some(every) if !every.is_zero() => {
                Duration::from_nanos((since_start.as_nanos() % every.as_nanos()) as u64)
            }
            _ => since_start,
        };
        offset < self.duration
    }
}

/// The random numbers one decision needs, each uniform in [0, 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draws {
    pub error: f64,
    pub reset: f64,
    pub latency: [f64; 2],
}

impl Draws {
    pub fn sample(rng: &mut impl Rng) -> Self {
        Self {
            error: rng.random(),
            reset: rng.random(),
            latency: [rng.random(), rng.random()],
        }
    }
}

impl Latency {
    /// The latency for uniform draws `u` (two are needed for the log-normal's Box–Muller).
    pub fn sample(&self, u: [f64; 2]) -> Duration {
        let ms = match *self {
            Latency::Fixed { delay } => return delay,
            Latency::Uniform { min, max } => {
                let (lo, hi) = (min.as_secs_f64(), max.as_secs_f64().max(min.as_secs_f64()));
                return Duration::from_secs_f64(lo + u[0] * (hi - lo));
            }
            Latency::LogNormal { median, p99 } => {
                let mu = ms_of(median).max(f64::MIN_POSITIVE).ln();
                let sigma = ((ms_of(p99).max(f64::MIN_POSITIVE).ln() - mu) / Z_P99).max(0.0);
                (mu + sigma * standard_normal(u)).exp()
            }
            Latency::LogNormalParams { mu, sigma } => (mu + sigma * standard_normal(u)).exp(),
        };
        if ms.is_finite() && ms > 0.0 {
            Duration::from_secs_f64(ms / 1000.0).min(MAX_LATENCY)
        } else if ms.is_finite() {
            Duration::ZERO
        } else {
            MAX_LATENCY
        }
    }
}

fn ms_of(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Box–Muller: two uniforms in [0,1) → one standard normal.
fn standard_normal(u: [f64; 2]) -> f64 {
    let u1 = (1.0 - u[0]).max(f64::MIN_POSITIVE); // (0, 1]: ln is finite
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u[1]).cos()
}

/// The request attributes rules select on.
#[derive(Debug, Clone, Copy)]
pub struct RequestInfo<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub tenant: Option<&'a str>,
}

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Served normally.
    Pass,
    /// Answered with this status and JSON body (no body when `None`).
    Respond {
        status: u16,
        body: Option<serde_json::Value>,
        headers: std::collections::BTreeMap<String, String>,
    },
    /// Connection faults (see [`ConnectionFault`]).
    Connection(ConnectionFault),
}

/// Dropping the connection without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionFault {
    /// Close with FIN.
    Close,
    /// Close with RST.
    Reset,
}

/// The full decision: wait `delay`, then apply `outcome`.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub delay: Duration,
    pub outcome: Outcome,
}

impl FaultRule {
    /// Whether this rule selects the request.
    pub fn matches(&self, req: &RequestInfo<'_>) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(req.method))
            && self.tenant.as_deref().is_none_or(|t| Some(t) == req.tenant)
            && self
                .endpoint
                .as_deref()
                .is_none_or(|p| endpoint_matches(p, req.path))
    }

    fn outcome(&self, elapsed: Duration, draws: &Draws) -> Outcome {
        if let Some(d) = self.downtime.iter().find(|d| d.is_active(elapsed)) {
            return match d.mode {
                DowntimeMode::Unavailable => Outcome::Respond {
                    status: 503,
                    body: None,
                    headers: Default::default(),
                },
                DowntimeMode::Refuse => Outcome::Connection(ConnectionFault::Reset),
                DowntimeMode::Close => Outcome::Connection(ConnectionFault::Close),
            };
        }
        if draws.reset < self.reset_rate {
            return Outcome::Connection(ConnectionFault::Reset);
        }
        match &self.error {
            Some(e) if draws.error < e.rate => Outcome::Respond {
                status: e.status,
                body: Some(e.body.clone()),
                headers: e.headers.clone(),
            },
            _ => Outcome::Pass,
        }
    }
}

/// Matches a route pattern: `{name}` matches one non-empty segment; a last segment ending in
/// `*` matches segments starting with what precedes it, and anything after.
pub fn endpoint_matches(pattern: &str, path: &str) -> bool {
    let pat: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    for (i, p) in pat.iter().enumerate() {
        if i + 1 == pat.len() {
            if let Some(prefix) = p.strip_suffix('*') {
                return segs
                    .get(i)
                    .map_or(prefix.is_empty(), |s| s.starts_with(prefix));
            }
        }
        let Some(s) = segs.get(i) else { return false };
        let is_param = p.starts_with('{') && p.ends_with('}');
        if (is_param && s.is_empty()) || (!is_param && p != s) {
            return false;
        }
    }
    pat.len() == segs.len()
}

/// Decides what happens to a request. `elapsed` is the time since the profile was set.
pub fn decide(
    profile: &FaultProfile,
    req: &RequestInfo<'_>,
    elapsed: Duration,
    draws: &Draws,
) -> Decision {
    let mut decision = Decision {
        delay: Duration::ZERO,
        outcome: Outcome::Pass,
    };
    for rule in profile.rules.iter().filter(|r| r.matches(req)) {
        if let Some(l) = &rule.latency {
            decision.delay = (decision.delay + l.sample(draws.latency)).min(MAX_LATENCY);
        }
        if decision.outcome == Outcome::Pass {
            decision.outcome = rule.outcome(elapsed, draws);
        }
    }
    decision
}

impl FaultProfile {
    /// The code of the first matching `failed_status` rule whose rate exceeds `draw` (0..1).
    pub fn failed_status(&self, req: &RequestInfo<'_>, draw: f64) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| r.matches(req))
            .filter_map(|r| r.failed_status.as_ref())
            .find(|f| draw < f.rate)
            .map(|f| f.code)
    }

    /// Parses a profile from YAML or JSON text (JSON is read as YAML's flow style).
    pub fn parse(text: &str) -> Result<Self, FaultError> {
        let value = crate::sim::yaml_to_json(text).map_err(FaultError::Syntax)?;
        Ok(serde_json::from_value(value)?)
    }

    /// Reads and parses a profile file.
    pub fn load(path: &std::path::Path) -> Result<Self, FaultError> {
        let text = std::fs::read_to_string(path).map_err(|source| FaultError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }
}

#[cfg(test)]
mod tests;
