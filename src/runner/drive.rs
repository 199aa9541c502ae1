//! The steps that drive a dependency: `inject: { payment }` has the payments simulator notify
//! the app (signed, with duplicates) and waits for the app's answers; `faults:` switches the
//! fault profile of a dependency or of the provider's simulator.

use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Value};

use super::check::{self, CheckResult, Observation};
use super::deps::{base, simulated};
use super::e2e::{invalid, provider_url, unix_us_now};
use super::http::{self, ExchangeError, Response, SentRequest};
use super::{Attempt, RunContext, RunState};
use crate::scenario::{FaultsSource, FaultsStep, PaymentInject, Step};

/// `inject: { payment }`: the payments simulator notifies the app (signed, with duplicates);
/// the step's latency runs until the app answered every notification.
pub(super) async fn inject_payment(
    step: &Step,
    spec: &PaymentInject,
    state: &mut RunState,
    ctx: &RunContext,
) -> Attempt {
    let what = "`inject: payment`";
    let body = match payment_body(spec, state, ctx) {
        Ok(b) => b,
        Err(e) => return Attempt::failed(None, e),
    };
    let service = spec.service.as_deref().unwrap_or("payments");
    let url = match simulated(ctx, service, what).and_then(|d| base(d, what)) {
        Ok(u) => u,
        Err(e) => return Attempt::failed(None, e),
    };
    let request = SentRequest {
        method: "POST".into(),
        url: format!("{url}/__harness/payments/notify"),
        headers: Vec::new(),
        body: Some(body.to_string()),
    };
    let at_unix_us = unix_us_now();
    let started = Instant::now();
    let exchange = http::send(
        &ctx.client,
        request.clone(),
        Some("application/json"),
        ctx.default_timeout,
    )
    .await;
    let answer = match exchange.result {
        Ok(r) if (200..300).contains(&r.status) => r,
        Ok(r) => {
            let e = invalid(format!(
                "the payments simulator answered {}: {}",
                r.status,
                r.text()
            ));
            return Attempt::failed(Some(request), e);
        }
        Err(e) => return Attempt::failed(Some(request), e),
    };
    state.hops.injected(at_unix_us);
    if let Some(customer) = state.last_customer.clone() {
        state
            .injections
            .insert(customer, super::Injection { at_unix_us });
    }
    let notified: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let ids: Vec<u64> = notified["deliveries"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let deliveries = match wait_deliveries(ctx, &url, &ids, spec.timeout).await {
        Ok(d) => d,
        Err(e) => return Attempt::failed(Some(request), e),
    };
    delivered(
        step,
        state,
        ctx,
        (request, notified, deliveries),
        started.elapsed(),
    )
}

/// The notify request: `{status, external_reference, amount, payment_id, url, duplicates}`.
fn payment_body(
    spec: &PaymentInject,
    state: &RunState,
    ctx: &RunContext,
) -> Result<Value, ExchangeError> {
    let r = |t: &Option<String>| {
        t.as_ref()
            .map(|s| ctx.templater.render(s, &state.vars))
            .transpose()
    };
    let mut body = json!({ "status": ctx.templater.render(&spec.status, &state.vars)?, "duplicates": spec.duplicates });
    if let Some(v) = r(&spec.external_reference)? {
        body["external_reference"] = json!(v);
    }
    if let Some(v) = r(&spec.amount)? {
        let n: f64 = v
            .trim()
            .parse()
            .map_err(|_| invalid(format!("`amount` is not a number: {v:?}")))?;
        body["amount"] = json!(n);
    }
    if let Some(v) = r(&spec.payment_id)? {
        body["payment_id"] = json!(v);
    }
    if let Some(v) = r(&spec.url)? {
        body["url"] = json!(v);
    }
    Ok(body)
}

/// Polls the simulator's delivery log until every delivery of `ids` is settled (or time is up).
async fn wait_deliveries(
    ctx: &RunContext,
    base: &str,
    ids: &[u64],
    timeout: Duration,
) -> Result<Vec<Value>, ExchangeError> {
    let deadline = Instant::now() + timeout;
    loop {
        let request = SentRequest {
            method: "GET".into(),
            url: format!("{base}/__harness/webhooks"),
            headers: Vec::new(),
            body: None,
        };
        let response = http::send(&ctx.client, request, None, Duration::from_secs(5))
            .await
            .result?;
        let log: Vec<Value> = serde_json::from_slice(&response.body).unwrap_or_default();
        let ours: Vec<Value> = log
            .into_iter()
            .filter(|d| d["id"].as_u64().is_some_and(|id| ids.contains(&id)))
            .collect();
        let settled = ours.len() == ids.len() && ours.iter().all(|d| d["outcome"] != "pending");
        if settled || Instant::now() >= deadline {
            return Ok(ours);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The payment inject's verdict: every notification answered 2xx (unless the step checks
/// `status` or the deliveries itself), and its checks on `{payment, action, deliveries}`.
fn delivered(
    step: &Step,
    state: &RunState,
    ctx: &RunContext,
    (request, notified, deliveries): (SentRequest, Value, Vec<Value>),
    took: Duration,
) -> Attempt {
    let ok = !deliveries.is_empty() && deliveries.iter().all(|d| d["outcome"] == "delivered");
    let statuses: Vec<String> = deliveries
        .iter()
        .map(|d| {
            d["last_status"].as_u64().map_or_else(
                || d["outcome"].as_str().unwrap_or("?").to_string(),
                |s| s.to_string(),
            )
        })
        .collect();
    let json = json!({ "payment": notified["payment"], "action": notified["action"], "deliveries": deliveries });
    let response = Response {
        status: 200,
        headers: Vec::new(),
        body: Bytes::from(json.to_string()),
    };
    let obs = Observation::with_json(&response, took.as_secs_f64() * 1000.0, json.clone());
    let mut checks = vec![CheckResult {
        name: "app answered the payment notification".into(),
        span: step.span,
        passed: ok,
        expected: "every notification (and duplicate) answered 2xx by the app".into(),
        observed: format!("answers: [{}]", statuses.join(", ")),
    }];
    checks.extend(
        step.checks
            .iter()
            .map(|c| check::evaluate(c, &obs, &ctx.templater, &state.vars)),
    );
    Attempt {
        request: Some(request),
        response: Some(response),
        message: Some(json),
        checks,
        duration: Some(took),
        ..Attempt::default()
    }
}

/// `faults:` — sets (or clears) the profile of a dependency or of the provider's simulator.
pub(super) async fn faults(
    step: &Step,
    spec: &FaultsStep,
    state: &mut RunState,
    ctx: &RunContext,
) -> Attempt {
    let what = "`faults`";
    let base = if spec.service == "provider" {
        provider_url(ctx.target.as_ref(), what)
    } else {
        simulated(ctx, &spec.service, what).and_then(|d| base(d, what))
    };
    let base = match base {
        Ok(b) => b,
        Err(e) => return Attempt::failed(None, e),
    };
    let (method, body) = match &spec.profile {
        FaultsSource::Inline(v) => ("POST", Some(v.to_string())),
        FaultsSource::File(f) => match std::fs::read_to_string(&f.path) {
            Ok(text) => ("POST", Some(text)),
            Err(e) => {
                return Attempt::failed(
                    None,
                    invalid(format!("cannot read {}: {e}", f.path.display())),
                )
            }
        },
        FaultsSource::Clear => ("DELETE", None),
    };
    let request = SentRequest {
        method: method.into(),
        url: format!("{base}/__harness/faults"),
        headers: Vec::new(),
        body,
    };
    let exchange = http::send(
        &ctx.client,
        request,
        Some("application/json"),
        ctx.default_timeout,
    )
    .await;
    let mut attempt = super::judge(step, exchange, &state.vars, ctx);
    if let Some(r) = &attempt.response {
        if !step
            .checks
            .iter()
            .any(|c| c.subject == crate::scenario::Subject::Status)
        {
            attempt.checks.insert(
                0,
                CheckResult {
                    name: "the simulator took the fault profile".into(),
                    span: step.span,
                    passed: (200..300).contains(&r.status),
                    expected: "a 2xx answer from its control API".into(),
                    observed: format!("{} {}", r.status, check::truncate(&r.text(), 200)),
                },
            );
        }
    }
    attempt
}
