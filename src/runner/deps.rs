//! The steps on the app's other dependencies: `await: { call }` waits for the app's call to a
//! simulated dependency (read from the simulator's bus when it runs in this process, else
//! long-polled from its `/__harness/outbound`), `inject: { payment }` has the payments
//! simulator notify the app and waits for the app's answer, `faults:` switches a fault profile.
//!
//! Hops are timed on this machine's wall clock, as end-to-end latencies are: a call's latency
//! is its journal time minus the previous hop's moment ([`HopState::last_event_us`]: an
//! injection's send, an awaited reply's or call's arrival, an HTTP step's end).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::check::{self, CheckResult, Observation};
use super::e2e::invalid;
use super::http::{self, ExchangeError, Response, SentRequest};
use super::{Attempt, RunContext, RunState};
use crate::scenario::targets::ProviderMode;
use crate::scenario::{Action, AwaitCall, DependencyKind, Inject, Step};
use crate::sim::bus::{Bus, OutboundFilter};

/// A dependency as the runner needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDependency {
    pub name: String,
    pub kind: DependencyKind,
    pub mode: ProviderMode,
    /// Base URL, no trailing slash.
    pub url: Option<String>,
    /// The simulator's bus, when it runs in this process.
    pub bus: Option<Bus>,
}

/// The dependency a step is about: an `await: call`'s, an `inject: payment`'s.
pub fn service_of(action: &Action) -> Option<String> {
    match action {
        Action::Call(c) => Some(c.service.clone()),
        Action::Inject(Inject::Payment(p)) => p.service.clone(),
        _ => None,
    }
}

/// What the hops of a run carry from step to step.
#[derive(Debug, Clone, Default)]
pub struct HopState {
    /// Per service, the journal sequence number of the last call awaited.
    pub consumed: HashMap<String, u64>,
    /// Unix µs of the previous hop: where the next call's latency starts.
    pub last_event_us: Option<u64>,
    /// Unix µs of the last injection: calls journaled before it are not awaited.
    pub since_us: u64,
}

impl HopState {
    /// An injection (a customer's message, a payment notification) happened at `at_us`.
    pub fn injected(&mut self, at_us: u64) {
        self.since_us = at_us;
        self.last_event_us = Some(at_us);
    }
}

/// The run's dependency called `name`, simulated.
pub(super) fn simulated<'c>(
    ctx: &'c RunContext,
    name: &str,
    what: &str,
) -> Result<&'c RunDependency, ExchangeError> {
    let dep = ctx
        .target
        .as_ref()
        .and_then(|t| t.dependencies.iter().find(|d| d.name == name))
        .ok_or_else(|| {
            invalid(format!(
                "{what}: the dependency `{name}` is not part of this run"
            ))
        })?;
    if dep.mode == ProviderMode::Real {
        return Err(invalid(format!(
            "{what}: the dependency `{name}` is real (the target says so): only a simulated one can be observed or driven"
        )));
    }
    Ok(dep)
}

pub(super) fn base(dep: &RunDependency, what: &str) -> Result<String, ExchangeError> {
    dep.url
        .clone()
        .ok_or_else(|| invalid(format!("{what}: the dependency `{}` has no URL", dep.name)))
}

/// A journaled call, with what its matchers and checks read.
struct Call {
    seq: u64,
    at_unix_us: u64,
    entry: Value,
    response: Response,
}

impl Call {
    fn of(entry: Value) -> Call {
        let payload = &entry["payload"];
        let body = match &payload["body"] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let headers = payload["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Call {
            seq: entry["seq"].as_u64().unwrap_or(0),
            at_unix_us: entry["at_unix_us"].as_u64().unwrap_or(0),
            response: Response {
                status: 200,
                headers,
                body: Bytes::from(body),
            },
            entry,
        }
    }

    fn method(&self) -> &str {
        self.entry["payload"]["method"].as_str().unwrap_or("")
    }

    fn path(&self) -> &str {
        self.entry["payload"]["path"].as_str().unwrap_or("")
    }

    /// What JSONPath matchers and checks query: the body the app sent.
    fn observation(&self, ms: f64) -> Observation<'_> {
        Observation::with_json(&self.response, ms, self.entry["payload"]["body"].clone())
    }
}

/// `/v1/*` matches the rest; otherwise the whole path.
fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// Waits for the app's call (or, with `expect: none`, for none).
pub(super) async fn await_call(
    step: &Step,
    spec: &AwaitCall,
    state: &mut RunState,
    ctx: &RunContext,
) -> Attempt {
    let what = "`await: call`";
    // The first hop of a run starts with the step itself.
    let started_us = super::e2e::unix_us_now();
    let (dep, path) = match simulated(ctx, &spec.service, what).and_then(|d| {
        let path = spec
            .path
            .as_ref()
            .map(|p| ctx.templater.render(p, &state.vars))
            .transpose()?;
        Ok((d, path))
    }) {
        Ok(x) => x,
        Err(e) => return Attempt::failed(None, e),
    };
    let wanted = describe(spec, path.as_deref());
    let since = state.hops.consumed.get(&spec.service).copied().unwrap_or(0);
    let matches = |c: &Call| {
        spec.method.as_deref().is_none_or(|m| m == c.method())
            && path.as_deref().is_none_or(|p| path_matches(p, c.path()))
            && spec.matchers.iter().all(|m| {
                check::evaluate(m, &c.observation(0.0), &ctx.templater, &state.vars).passed
            })
    };
    let mut source = Source::new(dep, since, state.hops.since_us);
    let (found, others) = match source.wait(ctx, spec.timeout, matches).await {
        Ok(f) => f,
        Err(e) => return Attempt::failed(Some(source.request), e),
    };
    let awaited = Awaited {
        request: source.request,
        found,
        others,
        wanted,
        started_us,
    };
    judge_call(step, spec, state, ctx, awaited)
}

/// What an `await: call` found in the journal.
struct Awaited {
    request: SentRequest,
    found: Option<Call>,
    /// The calls seen that did not match ("METHOD /path").
    others: Vec<String>,
    wanted: String,
    /// When the step started: the hop's origin when no hop came before.
    started_us: u64,
}

/// The verdict on what came (or did not), with the hop's latency and the step's checks.
fn judge_call(
    step: &Step,
    spec: &AwaitCall,
    state: &mut RunState,
    ctx: &RunContext,
    a: Awaited,
) -> Attempt {
    let window = humantime::format_duration(spec.timeout).to_string();
    let (request, wanted) = (Some(a.request), a.wanted);
    let verdict = |passed: bool, expected: String, observed: String| CheckResult {
        name: "call".into(),
        span: step.span,
        passed,
        expected,
        observed,
    };
    let silence = format!("no {wanted} within {window}");
    let Some(call) = a.found else {
        let checks = vec![match (spec.expect_none, a.others.as_slice()) {
            (true, _) => verdict(true, silence, "none".into()),
            (false, []) => {
                let observed = format!("no call to `{}` within {window}", spec.service);
                verdict(false, wanted, observed)
            }
            (false, o) => {
                let shown = o.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
                let observed = format!(
                    "no match within {window}; the app made {} other call(s) to `{}`: {shown}",
                    o.len(),
                    spec.service
                );
                verdict(false, wanted, observed)
            }
        }];
        return Attempt {
            request,
            checks,
            ..Attempt::default()
        };
    };
    let from = state.hops.last_event_us.unwrap_or(a.started_us);
    let latency = Duration::from_micros(call.at_unix_us.saturating_sub(from));
    let seen = format!("{} {}", call.method(), call.path());
    if spec.expect_none {
        return Attempt {
            request,
            checks: vec![verdict(false, silence, seen)],
            duration: Some(latency),
            ..Attempt::default()
        };
    }
    state.hops.consumed.insert(spec.service.clone(), call.seq);
    state.hops.last_event_us = Some(call.at_unix_us);
    let obs = call.observation(latency.as_secs_f64() * 1000.0);
    let mut checks = vec![verdict(true, wanted, seen)];
    checks.extend(
        step.checks
            .iter()
            .map(|c| check::evaluate(c, &obs, &ctx.templater, &state.vars)),
    );
    Attempt {
        request,
        response: Some(call.response.clone()),
        // What checks read, captures read too: the body the app sent.
        message: Some(call.entry["payload"]["body"].clone()),
        checks,
        duration: Some(latency),
        ..Attempt::default()
    }
}

fn describe(spec: &AwaitCall, path: Option<&str>) -> String {
    let mut s = format!(
        "call to `{}`: {} {}",
        spec.service,
        spec.method.as_deref().unwrap_or("any method"),
        path.unwrap_or("any path")
    );
    let matchers: Vec<String> = spec.matchers.iter().map(check::describe).collect();
    if !matchers.is_empty() {
        s.push_str(&format!(" with {}", matchers.join(" and ")));
    }
    s
}

/// Where an `await: call` reads the dependency's journal: its bus in this process, or its
/// control API.
struct Source<'a> {
    dep: &'a RunDependency,
    since: u64,
    /// Calls journaled before this Unix µs are older than the last injection.
    not_before_us: u64,
    request: SentRequest,
}

impl<'a> Source<'a> {
    fn new(dep: &'a RunDependency, since: u64, not_before_us: u64) -> Self {
        let base = dep.url.as_deref().unwrap_or("");
        let url = match &dep.bus {
            Some(_) => format!("{base}/__harness/outbound (its bus, in process)"),
            None => format!("{base}/__harness/outbound"),
        };
        let request = SentRequest {
            method: "GET".into(),
            url,
            headers: Vec::new(),
            body: None,
        };
        Source {
            dep,
            since,
            not_before_us,
            request,
        }
    }

    /// The first journaled call that `matches`, or `None` when `timeout` passed; with the
    /// other calls seen meanwhile ("METHOD /path").
    async fn wait(
        &mut self,
        ctx: &RunContext,
        timeout: Duration,
        matches: impl Fn(&Call) -> bool,
    ) -> Result<(Option<Call>, Vec<String>), ExchangeError> {
        let deadline = Instant::now() + timeout;
        let mut others = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            for entry in self.next(ctx, left).await? {
                let call = Call::of(entry);
                self.since = self.since.max(call.seq);
                if call.at_unix_us < self.not_before_us {
                    continue;
                }
                if matches(&call) {
                    return Ok((Some(call), others));
                }
                others.push(format!("{} {}", call.method(), call.path()));
            }
            if Instant::now() >= deadline {
                return Ok((None, others));
            }
        }
    }

    /// The entries after `since`, waiting up to `wait` for one.
    async fn next(
        &mut self,
        ctx: &RunContext,
        wait: Duration,
    ) -> Result<Vec<Value>, ExchangeError> {
        // Each dependency is a simulator of its own: everything on its bus is its calls.
        let filter = OutboundFilter {
            since: self.since,
            ..Default::default()
        };
        if let Some(bus) = &self.dep.bus {
            let found = bus.wait_for(&filter, 1000, wait).await;
            return Ok(found
                .iter()
                .map(|m| serde_json::to_value(&**m).unwrap_or_default())
                .collect());
        }
        let base = base(self.dep, "`await: call`")?;
        self.request.url = format!(
            "{base}/__harness/outbound?since={}&wait_ms={}",
            self.since,
            wait.as_millis()
        );
        let request = self.request.clone();
        let exchange = http::send(&ctx.client, request, None, wait + Duration::from_secs(5)).await;
        let response = exchange.result?;
        if response.status != 200 {
            return Err(invalid(format!(
                "the dependency's journal answered {}: {}",
                response.status,
                response.text()
            )));
        }
        serde_json::from_slice(&response.body)
            .map_err(|e| invalid(format!("the dependency's journal is not a JSON list: {e}")))
    }
}
