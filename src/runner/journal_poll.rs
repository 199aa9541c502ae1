//! How an `await` finds the app's reply in the simulator's journal of outbound messages: on
//! the embedded simulator's bus in process (woken only by messages to its customer, looking
//! only at that customer's messages), or by long-polling `GET /__harness/outbound` on a
//! simulator in another process. Both paths judge the same JSON entries the same way.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;

use super::check::{self, Observation};
use super::http::{self, ExchangeError, Response, SentRequest};
use super::template::Vars;
use super::RunContext;
use crate::scenario::Await;
use crate::sim::bus::OutboundFilter;
use crate::sim::Bus;

fn invalid(message: impl Into<String>) -> ExchangeError {
    ExchangeError {
        kind: super::http::ErrorKind::InvalidRequest,
        message: message.into(),
    }
}

/// An outbound message as the simulator's journal reports it.
pub(super) struct Observed {
    pub seq: u64,
    pub json: Value,
    pub text: String,
    pub at_unix_us: u64,
}

/// Which journal entries an `await` considers.
pub(super) struct Wanted<'a> {
    pub customer: &'a str,
    pub tenant: Option<&'a str>,
    /// Only replies stamped after the customer's injection.
    pub injected_at: Option<u64>,
    /// Only entries after the last reply already awaited for this customer.
    pub after_seq: u64,
}

pub(super) type PollResult =
    Result<(SentRequest, Option<Observed>, Vec<String>), (SentRequest, ExchangeError)>;

/// As many journal entries as one look returns (the simulator's own cap).
const POLL_LIMIT: usize = 1_000;

/// Waits until a matching message arrives or the await's time is up: from the embedded
/// simulator's bus in process when there is one, else by long-polling the simulator's journal.
pub(super) async fn poll(
    ctx: &RunContext,
    base: &str,
    w: &Wanted<'_>,
    spec: &Await,
    vars: &Vars,
) -> PollResult {
    let mut seen = Seen {
        w,
        spec,
        ctx,
        vars,
        since: w.after_seq,
        others: Vec::new(),
    };
    match &ctx.sim_bus {
        Some(bus) => {
            // The query the HTTP path would send, as the step's request in the report.
            let wait_ms = spec.timeout.as_millis();
            let url = format!(
                "{base}/__harness/outbound?to={}&since={}&wait_ms={wait_ms}",
                w.customer, w.after_seq
            );
            Ok(poll_bus(bus, seen, get(url)).await)
        }
        None => poll_http(base, &mut seen).await,
    }
}

fn get(url: String) -> SentRequest {
    SentRequest {
        method: "GET".into(),
        url,
        headers: Vec::new(),
        body: None,
    }
}

/// What an `await` has looked at so far.
struct Seen<'a> {
    w: &'a Wanted<'a>,
    spec: &'a Await,
    ctx: &'a RunContext,
    vars: &'a Vars,
    /// The last sequence number looked at.
    since: u64,
    /// The texts of the customer's messages that were not the awaited one.
    others: Vec<String>,
}

impl Seen<'_> {
    /// The first wanted entry of `list` (journal entries as JSON, oldest first).
    fn look(&mut self, list: impl IntoIterator<Item = Value>) -> Option<Observed> {
        let (tenant, injected_at) = (self.w.tenant, self.w.injected_at);
        for json in list {
            let seq = json["seq"].as_u64().unwrap_or(0);
            self.since = self.since.max(seq);
            let at_unix_us = json["at_unix_us"].as_u64().unwrap_or(0);
            if injected_at.is_some_and(|t| at_unix_us < t)
                || tenant.is_some_and(|t| json["tenant"] != t)
            {
                continue;
            }
            let text = json["text"].as_str().unwrap_or_default().to_string();
            if matches(self.spec, &text, &json, self.ctx, self.vars) {
                return Some(Observed {
                    seq,
                    json,
                    text,
                    at_unix_us,
                });
            }
            self.others.push(text);
        }
        None
    }
}

/// The embedded simulator: waits on its bus for this customer's messages (no HTTP, no JSON
/// text; each message becomes the JSON the journal endpoint would have served).
async fn poll_bus(
    bus: &Bus,
    mut seen: Seen<'_>,
    request: SentRequest,
) -> (SentRequest, Option<Observed>, Vec<String>) {
    let deadline = Instant::now() + seen.spec.timeout;
    loop {
        let filter = OutboundFilter {
            to: Some(seen.w.customer.to_string()),
            tenant: None,
            since: seen.since,
        };
        let wait = deadline.saturating_duration_since(Instant::now());
        let list = bus.wait_for(&filter, POLL_LIMIT, wait).await;
        let json = list
            .iter()
            .map(|m| serde_json::to_value(&**m).unwrap_or_default());
        if let Some(found) = seen.look(json) {
            return (request, Some(found), seen.others);
        }
        if Instant::now() >= deadline {
            return (request, None, seen.others);
        }
    }
}

/// Another simulator: long-polls its journal until a matching message arrives or the await's
/// time is up.
async fn poll_http(base: &str, seen: &mut Seen<'_>) -> PollResult {
    let customer = seen.w.customer;
    let deadline = Instant::now() + seen.spec.timeout;
    let mut request = get(String::new());
    loop {
        let wait_ms = deadline
            .saturating_duration_since(Instant::now())
            .as_millis() as u64;
        let since = seen.since;
        request.url =
            format!("{base}/__harness/outbound?to={customer}&since={since}&wait_ms={wait_ms}");
        let timeout = Duration::from_millis(wait_ms) + Duration::from_secs(5);
        let exchange = http::send(&seen.ctx.client, request.clone(), None, timeout).await;
        let response = match exchange.result {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                return Err((
                    request,
                    invalid(format!(
                        "the simulator's journal answered {}: {}",
                        r.status,
                        r.text()
                    )),
                ))
            }
            Err(e) => return Err((request, e)),
        };
        let list: Vec<Value> = match serde_json::from_slice(&response.body) {
            Ok(l) => l,
            Err(e) => {
                return Err((
                    request,
                    invalid(format!("the simulator's journal is not a JSON list: {e}")),
                ))
            }
        };
        if let Some(found) = seen.look(list) {
            return Ok((request, Some(found), std::mem::take(&mut seen.others)));
        }
        if Instant::now() >= deadline {
            return Ok((request, None, std::mem::take(&mut seen.others)));
        }
    }
}

fn matches(spec: &Await, text: &str, json: &Value, ctx: &RunContext, vars: &Vars) -> bool {
    let response = Response {
        status: 200,
        headers: Vec::new(),
        body: Bytes::from(text.to_string()),
    };
    let obs = Observation::with_json(&response, 0.0, json.clone());
    spec.matchers
        .iter()
        .all(|c| check::evaluate(c, &obs, &ctx.templater, vars).passed)
}
