//! The end-to-end actions. `inject` asks the simulator (its control API: called in process on
//! the embedded simulator, over HTTP on a `harness mock` in another process) to deliver a
//! customer's message to the app, and starts that customer's end-to-end clock; or it posts a
//! raw payload straight to the app's webhook. `await` long-polls the simulator's journal of
//! outbound messages for the app's reply to that customer; the reply's timestamp minus the
//! injection's is the end-to-end latency.
//!
//! Both clocks are the wall clock of this machine (the simulator stamps each outbound message
//! with Unix microseconds), so the latency is right whether the simulator runs in process or
//! beside it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::{json, Value};

use super::check::{self, CheckResult};
use super::http::{ErrorKind, ExchangeError, Response, SentRequest};
use super::journal_poll::{poll, Observed, Wanted};
use super::template::{Templater, Vars};
use super::{judge, Attempt, Injection, RunContext, RunState, RunTarget};
use crate::scenario::targets::ProviderMode;
use crate::scenario::{
    Await, Body, CustomerMessage, Inject, ProviderKind, RawWebhook, Signature, Step, Subject,
};
use crate::sim::bus::phone_digits;
use crate::sim::meta::wire as meta_wire;

/// Unix time now, in microseconds.
pub fn unix_us_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// A rendered `inject`: the request, and the customer whose clock it starts.
pub(super) struct Rendered {
    request: SentRequest,
    content_type: Option<&'static str>,
    customer: Option<String>,
}

pub(super) fn invalid(message: impl Into<String>) -> ExchangeError {
    ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message: message.into(),
    }
}

/// The simulator's URL, for an action that needs a simulated provider.
pub(super) fn provider_url(
    target: Option<&RunTarget>,
    what: &str,
) -> Result<String, ExchangeError> {
    if target.is_some_and(|t| t.mode == ProviderMode::Real) {
        return Err(invalid(format!(
            "{what} needs a simulated provider (the simulator's control API plays the customer), \
             but this target's provider is real: run against the embedded default, --sim-port, or a \
             `harness mock` target with `mode: simulated`"
        )));
    }
    target
        .and_then(|t| t.provider_url.as_deref())
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            invalid(format!(
                "{what} needs the simulator's URL (`provider.url`): run with a simulated provider"
            ))
        })
}

fn is_meta(target: Option<&RunTarget>) -> bool {
    target.is_some_and(|t| t.provider == ProviderKind::Meta)
}

pub(super) fn render_inject(
    inject: &Inject,
    t: &Templater,
    vars: &Vars,
    target: Option<&RunTarget>,
) -> Result<Rendered, ExchangeError> {
    // Customer-device mode: the device sends it (`super::device`).
    match (inject, target.and_then(|t| t.device.as_ref())) {
        (Inject::Customer(m), Some(d)) => {
            super::device::render_customer(m, t, vars, d).map(|(request, customer)| Rendered {
                request,
                content_type: Some("application/json"),
                customer: Some(customer),
            })
        }
        (Inject::Raw(_), Some(_)) => Err(invalid(
            "a raw webhook cannot be sent from a customer device (run it in simulated mode)",
        )),
        (Inject::Customer(m), None) => render_customer(m, t, vars, target),
        (Inject::Raw(raw), None) => render_raw(raw, t, vars, target),
        (Inject::Payment(_), _) => Err(invalid("a payment inject is sent by `runner::deps`")),
    }
}

/// A customer's message, as the simulator's `/__harness/inbound` takes it.
fn render_customer(
    m: &CustomerMessage,
    t: &Templater,
    vars: &Vars,
    target: Option<&RunTarget>,
) -> Result<Rendered, ExchangeError> {
    let r = |s: &String| t.render(s, vars).map_err(ExchangeError::from);
    let from = r(&m.from)?;
    let meta = is_meta(target);
    let mut body = super::inject_body::customer_body(m, t, vars, meta)?;
    body["from"] = json!(from);
    if let Some(name) = &m.name {
        body["name"] = json!(r(name)?);
    }
    let tenant_key = if meta { "phone_number_id" } else { "instance" };
    let tenant = match &m.tenant {
        Some(tn) => Some(r(tn)?),
        None => target.and_then(|t| t.tenant.clone()),
    };
    if let Some(tenant) = tenant {
        body[tenant_key] = json!(tenant);
    }
    learn_customer(&body, t.redactor());
    let url = format!("{}/__harness/inbound", provider_url(target, "`inject`")?);
    let request = SentRequest {
        method: "POST".into(),
        url,
        headers: Vec::new(),
        body: Some(body.to_string()),
    };
    Ok(Rendered {
        request,
        content_type: Some("application/json"),
        customer: Some(phone_digits(&from)),
    })
}

/// The customer's number, name and words in an inject's body, handed to the redactor to be
/// masked in files (docs/privacy.md): what the app sent back is not learnt.
fn learn_customer(body: &Value, redactor: &crate::redact::Redactor) {
    use crate::redact::PersonalKind;
    let text = |path: &str| body.pointer(path).and_then(Value::as_str);
    if let Some(from) = text("/from") {
        redactor.learn_personal(PersonalKind::Phone, from);
    }
    for path in ["/name", "/username"] {
        if let Some(name) = text(path) {
            redactor.learn_personal(PersonalKind::Name, name);
        }
    }
    for path in ["/text", "/caption", "/location/name", "/location/address"] {
        if let Some(words) = text(path) {
            redactor.learn_personal(PersonalKind::Text, words);
        }
    }
    for kind in ["image", "video", "document", "audio", "sticker"] {
        if let Some(words) = text(&format!("/{kind}/caption")) {
            redactor.learn_personal(PersonalKind::Text, words);
        }
    }
    // Contact cards the customer shares: other people's names and numbers.
    for card in body["contacts"].as_array().into_iter().flatten() {
        if let Some(name) = card["name"].as_str() {
            redactor.learn_personal(PersonalKind::Name, name);
        }
        if let Some(phone) = card["phone"].as_str() {
            redactor.learn_personal(PersonalKind::Phone, phone);
        }
    }
}

/// A raw webhook straight to the app, signed as Meta signs it when the target is Meta.
fn render_raw(
    raw: &RawWebhook,
    t: &Templater,
    vars: &Vars,
    target: Option<&RunTarget>,
) -> Result<Rendered, ExchangeError> {
    let r = |s: &String| t.render(s, vars).map_err(ExchangeError::from);
    let url = match &raw.url {
        Some(u) => r(u)?,
        None => target.and_then(|t| t.webhook_url.clone()).ok_or_else(|| {
            invalid("`inject: raw` needs the app's webhook URL: set `url:`, or run with an app URL")
        })?,
    };
    let meta = is_meta(target);
    let (body, content_type) = match &raw.body {
        Body::Json(v) => {
            let v = t.render_json(v, vars).map_err(ExchangeError::from)?;
            // Meta sends ASCII-only JSON (non-ASCII as \uXXXX); so do we, so that
            // libraries that re-escape before verifying the signature agree.
            let text = if meta {
                String::from_utf8_lossy(&meta_wire::to_ascii_json(&v)).into_owned()
            } else {
                v.to_string()
            };
            (text, Some("application/json"))
        }
        Body::Raw(s) => (r(s)?, None),
    };
    if let Some(payload) = crate::redact::embedded_json(&body) {
        t.redactor().learn_personal_json(&payload);
    }
    let mut headers = Vec::with_capacity(raw.headers.len() + 1);
    for (k, v) in &raw.headers {
        headers.push((k.clone(), r(v)?));
    }
    if meta && raw.signature != Signature::None {
        let secret = target
            .and_then(|t| t.app_secret.clone())
            .ok_or_else(|| invalid("a signed Meta webhook needs the target's `app_secret`"))?;
        let key = match raw.signature {
            Signature::Invalid => format!("not-{secret}"),
            _ => secret,
        };
        let signature = meta_wire::signature_header(key.as_bytes(), body.as_bytes());
        headers.push((meta_wire::SIGNATURE_HEADER.into(), signature));
    }
    let request = SentRequest {
        method: "POST".into(),
        url,
        headers,
        body: Some(body),
    };
    Ok(Rendered {
        request,
        content_type,
        customer: None,
    })
}

/// Sends a rendered `inject`; a delivered customer message starts the customer's clock.
pub(super) async fn inject(
    step: &Step,
    r: Rendered,
    state: &mut RunState,
    ctx: &RunContext,
) -> Attempt {
    let at_unix_us = unix_us_now();
    let timeout = ctx.default_timeout;
    let exchange = super::inject_local::send(ctx, r.request, r.content_type, timeout).await;
    let mut attempt = judge(step, exchange, &state.vars, ctx);
    let Some(customer) = r.customer else {
        return attempt;
    };
    if let Some(response) = &attempt.response {
        let declared = step.checks.iter().any(|c| c.subject == Subject::Status);
        let accepted = (200..300).contains(&response.status);
        if !declared {
            let device = ctx.target.as_ref().is_some_and(|t| t.device.is_some());
            let (name, expected) = match device {
                true => (
                    "the device sent the message",
                    "a 2xx answer from the device's Evolution API",
                ),
                false => (
                    "simulator delivered the message",
                    "a 2xx answer from the simulator's control API",
                ),
            };
            attempt.checks.insert(
                0,
                CheckResult {
                    name: name.into(),
                    span: step.span,
                    passed: accepted,
                    expected: expected.into(),
                    observed: format!(
                        "{} {}",
                        response.status,
                        check::truncate(&response.text(), 200)
                    ),
                },
            );
        }
        if accepted {
            state
                .injections
                .insert(customer.clone(), Injection { at_unix_us });
            state.hops.injected(at_unix_us);
            state.last_customer = Some(customer);
        }
    }
    attempt
}

/// Waits for the app's reply (or, with `expect: none`, for silence).
pub(super) async fn await_reply(
    step: &Step,
    spec: &Await,
    state: &mut RunState,
    ctx: &RunContext,
) -> Attempt {
    let (customer, tenant, base) = match await_target(spec, state, ctx) {
        Ok(t) => t,
        Err(e) => return Attempt::failed(None, e),
    };
    let vars = &state.vars;
    let injected_at = state.injections.get(&customer).map(|i| i.at_unix_us);
    let wanted = describe_matchers(spec, &customer);
    let which = Wanted {
        customer: &customer,
        tenant: tenant.as_deref(),
        injected_at,
        after_seq: state.consumed.get(&customer).copied().unwrap_or(0),
    };
    let poll = poll(ctx, &base, &which, spec, vars).await;
    let (request, found, others) = match poll {
        Ok(p) => p,
        Err((request, e)) => return Attempt::failed(Some(request), e),
    };
    let found = Found {
        request,
        message: found,
        others,
        injected_at,
        wanted,
    };
    judge_reply(step, spec, state, ctx, customer, found)
}

/// Who the `await` is for (its `to:`, else the last customer injected), on which tenant, at
/// which simulator.
fn await_target(
    spec: &Await,
    state: &RunState,
    ctx: &RunContext,
) -> Result<(String, Option<String>, String), ExchangeError> {
    let vars = &state.vars;
    // Customer-device mode: one device, one customer; replies come to its listener.
    if let Some(d) = ctx.target.as_ref().and_then(|t| t.device.as_ref()) {
        return Ok((d.number.clone(), None, d.url.clone()));
    }
    let customer = match &spec.to {
        Some(to) => phone_digits(&ctx.templater.render(to, vars)?),
        None => state.last_customer.clone().ok_or_else(|| {
            invalid("`await` has no customer: give `to:`, or `inject` a message first")
        })?,
    };
    let tenant = spec
        .tenant
        .as_ref()
        .map(|t| ctx.templater.render(t, vars))
        .transpose()?;
    let base = provider_url(ctx.target.as_ref(), "`await`")?;
    Ok((customer, tenant, base))
}

/// What the journal gave an `await`.
struct Found {
    request: SentRequest,
    message: Option<Observed>,
    others: Vec<String>,
    injected_at: Option<u64>,
    wanted: String,
}

/// The verdict on what came (or did not) for `customer`, with the end-to-end latency.
fn judge_reply(
    step: &Step,
    spec: &Await,
    state: &mut RunState,
    ctx: &RunContext,
    customer: String,
    f: Found,
) -> Attempt {
    let Found {
        request,
        message: found,
        others,
        injected_at,
        wanted,
    } = f;
    let window = humantime::format_duration(spec.timeout).to_string();
    match (found, spec.expect_none) {
        (None, true) => Attempt {
            request: Some(request),
            checks: vec![verdict(
                step,
                true,
                format!("no {wanted} within {window}"),
                "none".into(),
            )],
            ..Attempt::default()
        },
        // A reply came although none was expected: it has a latency (so it is not counted as
        // a reply that never came).
        (Some(m), true) => Attempt {
            request: Some(request),
            duration: injected_at.map(|at| Duration::from_micros(m.at_unix_us.saturating_sub(at))),
            checks: vec![verdict(
                step,
                false,
                format!("no {wanted} within {window}"),
                check::quote(&m.text),
            )],
            ..Attempt::default()
        },
        (None, false) => Attempt {
            request: Some(request),
            checks: vec![verdict(
                step,
                false,
                wanted,
                no_match(&customer, &window, &others),
            )],
            ..Attempt::default()
        },
        (Some(m), false) => {
            state.consumed.insert(customer, m.seq);
            state.hops.last_event_us = Some(m.at_unix_us);
            reply_came(step, ctx, &state.vars, (request, m), injected_at, wanted)
        }
    }
}

/// The awaited reply came: its end-to-end latency, and the step's checks on it.
fn reply_came(
    step: &Step,
    ctx: &RunContext,
    vars: &Vars,
    (request, m): (SentRequest, Observed),
    injected_at: Option<u64>,
    wanted: String,
) -> Attempt {
    // Without an injection of this customer (e.g. after a raw webhook) there is no clock to
    // read: the reply counts, but gives no end-to-end sample.
    let latency = injected_at.map(|at| Duration::from_micros(m.at_unix_us.saturating_sub(at)));
    let response = Response {
        status: 200,
        headers: Vec::new(),
        body: Bytes::from(m.text.clone()),
    };
    let mut attempt = Attempt {
        request: Some(request),
        response: Some(response),
        message: Some(m.json),
        duration: latency,
        ..Attempt::default()
    };
    let mut checks = vec![verdict(
        step,
        true,
        wanted,
        check::quote(&check::truncate(&m.text, 200)),
    )];
    if let Some(obs) = attempt.observation() {
        checks.extend(
            step.checks
                .iter()
                .map(|c| check::evaluate(c, &obs, &ctx.templater, vars)),
        );
    }
    attempt.checks = checks;
    attempt
}

/// What was seen instead of the awaited reply: nothing, or the app's other messages.
fn no_match(customer: &str, window: &str, others: &[String]) -> String {
    if others.is_empty() {
        return format!("no message to {customer} within {window}");
    }
    let shown: Vec<String> = others
        .iter()
        .take(3)
        .map(|t| check::quote(&check::truncate(t, 120)))
        .collect();
    format!(
        "no match within {window}; the app sent {} other message(s) to {customer}: {}",
        others.len(),
        shown.join(", ")
    )
}

fn verdict(step: &Step, passed: bool, expected: String, observed: String) -> CheckResult {
    CheckResult {
        name: "reply".into(),
        span: step.span,
        passed,
        expected,
        observed,
    }
}

fn describe_matchers(spec: &Await, customer: &str) -> String {
    let matchers: Vec<String> = spec
        .matchers
        .iter()
        .map(|c| {
            let d = check::describe(c);
            d.strip_prefix("body ")
                .map_or(d.clone(), |rest| format!("text {rest}"))
        })
        .collect();
    if matchers.is_empty() {
        format!("message to {customer}")
    } else {
        format!("message to {customer} with {}", matchers.join(" and "))
    }
}
