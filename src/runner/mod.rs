//! Executes one scenario, step by step, sequentially.
//!
//! A step is rendered with the variables known so far, executed (polled when it has a
//! `retry`), judged by its checks, and its captures extend the variables. Failures are data
//! in [`StepResult`]; the run goes on to the next step. Cancellation (Ctrl-C) is observed
//! between and during steps; the steps run so far are kept and the run is marked interrupted.

pub mod check;
pub mod http;
pub mod template;

use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::metrics::Series;
use crate::scenario::{Action, Scenario, Span, Step};
use check::{CheckResult, Observation};
use http::{ExchangeError, Response, SentRequest};
use template::{TemplateError, Templater, Vars};

/// What every step of a run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub client: reqwest::Client,
    pub templater: Templater,
    pub cancel: CancellationToken,
    /// Per-request timeout when a step sets none.
    pub default_timeout: Duration,
}

impl RunContext {
    pub fn new(templater: Templater, cancel: CancellationToken) -> Self {
        Self {
            client: default_client(),
            templater,
            cancel,
            default_timeout: Duration::from_secs(30),
        }
    }
}

/// The HTTP client of functional runs: keep-alive, no proxy (targets are explicit), rustls.
pub fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// The outcome of one step.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub name: String,
    pub span: Span,
    /// Latency of every attempt, and whether the step as a whole failed.
    pub series: Series,
    pub attempts: u32,
    /// The last attempt's checks, then any capture that could not be taken.
    pub checks: Vec<CheckResult>,
    /// Why the last attempt produced no response, if it did not.
    pub error: Option<ExchangeError>,
    /// The last attempt's request and response.
    pub request: Option<SentRequest>,
    pub response: Option<Response>,
    pub passed: bool,
}

/// The outcome of a scenario run.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub steps: Vec<StepResult>,
}

/// The scenario's `variables:` could not be rendered: nothing ran.
#[derive(Debug, thiserror::Error)]
#[error("variable `{name}` (line {}): {source}", span.line)]
pub struct VariableError {
    pub name: String,
    pub span: Span,
    pub source: TemplateError,
}

/// Renders the scenario's variables, in order, on top of `vars` (the target's).
pub fn init_vars(
    scenario: &Scenario,
    mut vars: Vars,
    templater: &Templater,
) -> Result<Vars, VariableError> {
    for v in &scenario.variables {
        let value = templater
            .render(&v.value, &vars)
            .map_err(|source| VariableError {
                name: v.name.clone(),
                span: v.span,
                source,
            })?;
        vars.set(v.name.clone(), serde_json::Value::String(value));
    }
    Ok(vars)
}

/// Runs every step in order. Never fails: failures are in the results.
pub async fn run_scenario(scenario: &Scenario, mut vars: Vars, ctx: &RunContext) -> ScenarioRun {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut steps = Vec::with_capacity(scenario.steps.len());
    let mut interrupted = false;
    for step in &scenario.steps {
        if ctx.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        let result = tokio::select! {
            r = run_step(step, &mut vars, ctx) => r,
            () = ctx.cancel.cancelled() => { interrupted = true; break; }
        };
        steps.push(result);
    }
    ScenarioRun {
        started_at,
        elapsed: start.elapsed(),
        interrupted,
        steps,
    }
}

/// Runs one step (polling it while it has a `retry` and its checks fail), then takes its
/// captures into `vars`.
pub async fn run_step(step: &Step, vars: &mut Vars, ctx: &RunContext) -> StepResult {
    let deadline = step
        .retry
        .as_ref()
        .map(|r| (Instant::now() + r.timeout, r.interval));
    let mut series = Series::new();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = attempt(step, vars, ctx).await;
        let passed = attempt.error.is_none() && attempt.checks.iter().all(|c| c.passed);
        let rendered = attempt
            .error
            .as_ref()
            .is_none_or(|e| e.kind != http::ErrorKind::Template);
        let retry = deadline
            .filter(|(until, interval)| !passed && rendered && Instant::now() + *interval < *until);
        let Some((_, interval)) = retry else {
            return finish(step, vars, attempt, series, attempts);
        };
        // An attempt that will be retried is a latency sample, not a failure.
        if let Some(d) = attempt.duration {
            series.record(d, false);
        }
        tokio::time::sleep(interval).await;
    }
}

/// One attempt's raw outcome.
struct Attempt {
    request: Option<SentRequest>,
    response: Option<Response>,
    error: Option<ExchangeError>,
    checks: Vec<CheckResult>,
    duration: Option<Duration>,
}

async fn attempt(step: &Step, vars: &Vars, ctx: &RunContext) -> Attempt {
    let Action::Http(spec) = &step.action;
    let (request, content_type) = match http::render(spec, &ctx.templater, vars) {
        Ok(r) => r,
        Err(e) => {
            return Attempt {
                request: None,
                response: None,
                error: Some(e.into()),
                checks: Vec::new(),
                duration: None,
            };
        }
    };
    let timeout = spec.timeout.unwrap_or(ctx.default_timeout);
    let exchange = http::send(&ctx.client, request, content_type, timeout).await;
    match exchange.result {
        Ok(response) => {
            let obs = Observation::new(&response, exchange.duration.as_secs_f64() * 1000.0);
            let checks = step
                .checks
                .iter()
                .map(|c| check::evaluate(c, &obs, &ctx.templater, vars))
                .collect();
            Attempt {
                request: exchange.request,
                response: Some(response),
                error: None,
                checks,
                duration: Some(exchange.duration),
            }
        }
        Err(e) => Attempt {
            request: exchange.request,
            response: None,
            error: Some(e),
            checks: Vec::new(),
            duration: Some(exchange.duration),
        },
    }
}

fn finish(
    step: &Step,
    vars: &mut Vars,
    attempt: Attempt,
    mut series: Series,
    attempts: u32,
) -> StepResult {
    let mut checks = attempt.checks;
    if let Some(response) = &attempt.response {
        let obs = Observation::new(
            response,
            attempt.duration.unwrap_or_default().as_secs_f64() * 1000.0,
        );
        for c in &step.captures {
            match check::capture(&c.source, &obs) {
                Ok(value) => vars.set(c.variable.clone(), value),
                Err(why) => checks.push(CheckResult {
                    name: format!("capture {}", c.variable),
                    span: c.span,
                    passed: false,
                    expected: "a value to capture".into(),
                    observed: why,
                }),
            }
        }
    }
    let passed = attempt.error.is_none() && checks.iter().all(|c| c.passed);
    match attempt.duration {
        Some(d) => series.record(d, !passed),
        None => series.record_failure_without_latency(),
    }
    StepResult {
        name: step.name.clone(),
        span: step.span,
        series,
        attempts,
        checks,
        error: attempt.error,
        request: attempt.request,
        response: attempt.response,
        passed,
    }
}
