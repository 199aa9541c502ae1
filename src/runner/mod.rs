//! Executes one scenario, step by step, sequentially.
//!
//! A step is rendered with the variables known so far, executed (polled with `retry`), judged
//! by its checks; its captures extend the variables. Failures are data in [`StepResult`]; the
//! run goes on. Ctrl-C is observed between and during steps: what ran is kept, interrupted.

pub mod check;
mod deps;
mod device;
mod drive;
mod e2e;
pub mod http;
mod inject_body;
mod inject_local;
mod journal_poll;
pub mod template;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::metrics::Series;
use crate::scenario::targets::ProviderMode;
use crate::scenario::{Action, ProviderKind, Scenario, Span, Step};
use check::{CheckResult, Observation};
use http::{ExchangeError, Response, SentRequest};
use template::{TemplateError, Templater, Vars};

/// What every step of a run shares.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub client: reqwest::Client,
    /// The target, typed: which provider, real or simulated, where. `None` for scenarios run
    /// without one (plain HTTP); `inject`/`await` then say what they need.
    pub target: Option<RunTarget>,
    pub templater: Templater,
    pub cancel: CancellationToken,
    /// Per-request timeout when a step sets none.
    pub default_timeout: Duration,
    /// Stop the scenario at the first failed step.
    pub fail_fast: bool,
    /// Told as each step starts and ends (the live progress of `harness run`).
    pub progress: Option<StepProgress>,
    /// The embedded simulator's bus and routes: `await` waits on the bus, `inject` calls its
    /// control API, in process; `None` for a simulator in another process (HTTP then).
    pub sim_bus: Option<crate::sim::Bus>,
    pub sim_local: Option<crate::sim::InProcess>,
}

/// A step starting, or its result.
#[derive(Debug)]
pub enum StepEvent<'a> {
    Started(&'a Step),
    Finished(&'a StepResult),
}

/// What `run_scenario` calls with each [`StepEvent`].
#[derive(Clone)]
pub struct StepProgress(pub std::sync::Arc<dyn Fn(StepEvent<'_>) + Send + Sync>);

impl std::fmt::Debug for StepProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepProgress")
    }
}

impl RunContext {
    pub fn new(templater: Templater, cancel: CancellationToken, target: Option<RunTarget>) -> Self {
        Self {
            client: default_client(),
            target,
            templater,
            cancel,
            default_timeout: Duration::from_secs(30),
            fail_fast: false,
            progress: None,
            sim_bus: None,
            sim_local: None,
        }
    }
}

impl RunContext {
    /// The target's provider, if there is a target.
    pub fn provider(&self) -> Option<ProviderKind> {
        self.target.as_ref().map(|t| t.provider)
    }

    /// Whether `step` is for another provider than the target's (`provider:` on the step).
    pub fn skips(&self, step: &Step) -> bool {
        step.provider.is_some_and(|p| self.provider() != Some(p))
    }
}

/// The target as the runner needs it, resolved once (`target::Target::run_target`): the
/// runner never reads configuration back out of template variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunTarget {
    pub provider: ProviderKind,
    pub mode: ProviderMode,
    /// The provider's (or simulator's) base URL, without a trailing slash.
    pub provider_url: Option<String>,
    /// The default tenant: Evolution instance or Meta phone-number-id.
    pub tenant: Option<String>,
    /// Meta's app secret, to sign raw webhooks.
    pub app_secret: Option<String>,
    /// Where the provider delivers webhooks to the app.
    pub webhook_url: Option<String>,
    /// The app's other dependencies (LLM, payments, HTTP APIs) of this run.
    pub dependencies: Vec<RunDependency>,
    /// Customer-device mode: the Evolution instance that plays the customer.
    pub device: Option<DeviceTarget>,
}

pub use check::CheckCounts;
pub use deps::{service_of, RunDependency};
pub use device::{unsupported as device_unsupported, DeviceTarget};

/// The HTTP client of functional runs: keep-alive, no proxy (targets are explicit), rustls.
pub fn default_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What kind of step produced a result; `await` steps' latencies are end-to-end latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Http,
    Inject,
    Await,
    /// `await: { call }` — the app's call to a dependency; its latency is the hop's.
    Call,
}

impl StepKind {
    pub fn of(action: &Action) -> Self {
        match action {
            Action::Http(_) | Action::Faults(_) => StepKind::Http,
            Action::Inject(_) => StepKind::Inject,
            Action::Await(_) => StepKind::Await,
            Action::Call(_) => StepKind::Call,
        }
    }
}

/// The outcome of one step.
#[derive(Debug, Clone)]
pub struct StepResult {
    pub name: String,
    pub span: Span,
    pub kind: StepKind,
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
    /// For `await`: the app's message that matched, as the simulator's journal has it
    /// (`kind`, `text`, `payload`, …): what the transcript shows.
    pub message: Option<serde_json::Value>,
    pub passed: bool,
    /// Not run: the step is for another provider.
    pub skipped: bool,
    /// The dependency an `await: call` or `inject: payment` step is about.
    pub service: Option<String>,
}

impl StepResult {
    /// The result of a step that was not run (it is for another provider).
    pub fn skipped(step: &Step) -> Self {
        let kind = StepKind::of(&step.action);
        Self {
            service: deps::service_of(&step.action),
            ..Self::empty(step.name.clone(), step.span, kind)
        }
    }

    /// A result with nothing in it yet: passed, skipped, no attempt.
    pub fn empty(name: String, span: Span, kind: StepKind) -> Self {
        StepResult {
            name,
            span,
            kind,
            series: Series::new(),
            attempts: 0,
            checks: Vec::new(),
            error: None,
            request: None,
            response: None,
            message: None,
            passed: true,
            skipped: true,
            service: None,
        }
    }
}

/// The outcome of a scenario run.
#[derive(Debug, Clone)]
pub struct ScenarioRun {
    pub started_at: SystemTime,
    pub elapsed: Duration,
    pub interrupted: bool,
    pub steps: Vec<StepResult>,
    /// Iterations of the scenario (no latency samples): a functional run is one iteration
    /// (none when interrupted before its first step); under load, those completed. An
    /// iteration fails when any of its steps failed. The denominator of `error_rate`.
    pub iterations: Series,
    /// Under load, every check evaluated in every iteration (the steps' `checks` then hold
    /// only failure samples); `None`: the steps' `checks` are all there is.
    pub check_counts: Option<CheckCounts>,
}

impl ScenarioRun {
    /// All request latencies (`http` and `inject` steps) and all end-to-end latencies
    /// (`await` steps), each merged into one series.
    pub fn series(&self) -> (Series, Series) {
        let (mut requests, mut e2e) = (Series::new(), Series::new());
        for s in &self.steps {
            match s.kind {
                StepKind::Await => e2e.merge(&s.series),
                // A hop is neither a request of the harness nor an end-to-end reply.
                StepKind::Call => {}
                _ => requests.merge(&s.series),
            }
        }
        (requests, e2e)
    }
}

/// The scenario's `variables:` could not be rendered: nothing ran.
#[derive(Debug, thiserror::Error)]
#[error("variable `{name}` (line {}): {source}", span.line)]
pub struct VariableError {
    pub name: String,
    pub span: Span,
    pub source: TemplateError,
}

/// Takes the next row of each `data:` feeder, then renders the scenario's variables, in
/// order, on top of `vars` (the target's) and the rows.
pub fn init_vars(
    scenario: &Scenario,
    mut vars: Vars,
    templater: &Templater,
) -> Result<Vars, VariableError> {
    let rows = templater.rows().map_err(|e| VariableError {
        name: e.name,
        span: e.span,
        source: TemplateError { message: e.message },
    })?;
    for (name, row) in rows {
        vars.set(name, row);
    }
    for v in &scenario.variables {
        let value = templater
            .render(&v.value, &vars)
            .map_err(|source| VariableError {
                name: v.name.clone(),
                span: v.span,
                source,
            })?;
        templater.redactor().learn_variable(&v.name, &value);
        vars.set(v.name.clone(), serde_json::Value::String(value));
    }
    Ok(vars)
}

/// What a run carries from step to step: the variables, and when each customer was last
/// injected (the start of their end-to-end clock).
#[derive(Debug, Clone, Default)]
pub struct RunState {
    pub vars: Vars,
    pub injections: HashMap<String, Injection>,
    /// The customer of the last `inject`: the default of `await`.
    pub last_customer: Option<String>,
    /// Per customer, the journal sequence number of the last reply an `await` matched: a
    /// reply is awaited once, later awaits look at what came after it.
    pub consumed: HashMap<String, u64>,
    /// The dependency calls already awaited, and when the last hop happened.
    pub hops: deps::HopState,
}

impl RunState {
    pub fn new(vars: Vars) -> Self {
        Self {
            vars,
            ..Self::default()
        }
    }
}

/// A customer message handed to the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injection {
    /// Unix time in microseconds, taken just before the simulator was asked to deliver it (the
    /// simulator stamps the app's replies with the same clock).
    pub at_unix_us: u64,
}

/// Runs every step in order. Never fails: failures are in the results.
pub async fn run_scenario(scenario: &Scenario, vars: Vars, ctx: &RunContext) -> ScenarioRun {
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut state = RunState::new(vars);
    let mut steps = Vec::with_capacity(scenario.steps.len());
    let mut interrupted = false;
    for step in &scenario.steps {
        if ctx.cancel.is_cancelled() {
            interrupted = true;
            break;
        }
        if ctx.skips(step) {
            steps.push(StepResult::skipped(step));
            continue;
        }
        if let Some(p) = &ctx.progress {
            (p.0)(StepEvent::Started(step));
        }
        let result = tokio::select! {
            r = run_step(step, &mut state, ctx) => r,
            () = ctx.cancel.cancelled() => { interrupted = true; break; }
        };
        if let Some(p) = &ctx.progress {
            (p.0)(StepEvent::Finished(&result));
        }
        let failed = !result.passed;
        steps.push(result);
        if failed && ctx.fail_fast {
            break;
        }
    }
    let ran = steps.iter().any(|s| !s.skipped);
    let failed = steps.iter().any(|s| !s.passed);
    ScenarioRun {
        started_at,
        elapsed: start.elapsed(),
        interrupted,
        iterations: Series::from_counts(u64::from(ran), u64::from(ran && failed)),
        check_counts: None,
        steps,
    }
}

/// Runs one step (polling it while it has a `retry` and its checks fail), then takes its
/// captures into the run's variables.
pub async fn run_step(step: &Step, state: &mut RunState, ctx: &RunContext) -> StepResult {
    step_result(step, execute_step(step, state, ctx).await)
}

/// An executed step as a [`StepResult`] (its samples in a histogram).
pub fn step_result(step: &Step, done: ExecutedStep) -> StepResult {
    let kind = StepKind::of(&step.action);
    let mut series = Series::new();
    done.samples.record_into(&mut series);
    StepResult {
        name: step.name.clone(),
        span: step.span,
        kind,
        series,
        attempts: done.attempts,
        checks: done.checks,
        error: done.error,
        request: done.exchange.0,
        response: done.exchange.1,
        // An `http` step's parsed body is its response's; only an awaited message is kept.
        message: done
            .message
            .filter(|_| matches!(kind, StepKind::Await | StepKind::Call)),
        passed: done.passed,
        skipped: false,
        service: deps::service_of(&step.action),
    }
}

/// A step's latency samples, without a histogram (a load iteration records them straight
/// into its worker's): the attempts that were retried, then the final one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepSamples {
    /// Latencies of attempts that were retried (empty, not allocated, without `retry`).
    pub retried: Vec<Duration>,
    /// The final attempt's latency; `None` when it produced none (a template error, an
    /// `await` whose reply never came).
    pub last: Option<Duration>,
    /// Whether the step failed.
    pub failed: bool,
}

impl StepSamples {
    /// Records the samples into `series` as [`Series::record_attempt`] (each retried
    /// attempt) and one execution.
    pub fn record_into(&self, series: &mut Series) {
        for d in &self.retried {
            series.record_attempt(*d);
        }
        match self.last {
            Some(d) => series.record(d, self.failed),
            None => series.record_without_latency(self.failed),
        }
    }
}

/// A step executed (its retries included), before it becomes a [`StepResult`].
#[derive(Debug, Clone)]
pub struct ExecutedStep {
    pub samples: StepSamples,
    pub attempts: u32,
    /// The last attempt's checks, then any capture that could not be taken.
    pub checks: Vec<CheckResult>,
    pub error: Option<ExchangeError>,
    /// The last attempt's request and response.
    pub exchange: (Option<SentRequest>, Option<Response>),
    /// For `await`: the app's message that matched (see [`StepResult::message`]).
    pub message: Option<serde_json::Value>,
    pub passed: bool,
}

/// Runs one step as [`run_step`] does, its samples kept as plain durations.
pub async fn execute_step(step: &Step, state: &mut RunState, ctx: &RunContext) -> ExecutedStep {
    let deadline = step
        .retry
        .as_ref()
        .map(|r| (Instant::now() + r.timeout, r.interval));
    let mut retried = Vec::new();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = attempt(step, state, ctx).await;
        let passed = attempt.error.is_none() && attempt.checks.iter().all(|c| c.passed);
        let rendered = attempt
            .error
            .as_ref()
            .is_none_or(|e| e.kind != http::ErrorKind::Template);
        let retry = deadline
            .filter(|(until, interval)| !passed && rendered && Instant::now() + *interval < *until);
        let Some((_, interval)) = retry else {
            let result = finish(step, state, attempt, retried, attempts);
            if StepKind::of(&step.action) == StepKind::Http {
                state.hops.last_event_us = Some(e2e::unix_us_now());
            }
            learn_secret_captures(step, state, ctx.templater.redactor());
            return result;
        };
        // An attempt that will be retried is a latency sample, not an execution.
        if let Some(d) = attempt.duration {
            retried.push(d);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Captured values whose variable is a secret (by name or `secrets:`) are masked from now on.
fn learn_secret_captures(step: &Step, state: &RunState, redactor: &crate::redact::Redactor) {
    for c in &step.captures {
        if let Some(serde_json::Value::String(value)) = state.vars.get(&c.variable) {
            redactor.learn_variable(&c.variable, value);
        }
    }
}

/// One attempt's raw outcome.
#[derive(Debug, Default)]
struct Attempt {
    request: Option<SentRequest>,
    response: Option<Response>,
    /// For `await`: the message observed (what JSONPath checks and captures read).
    message: Option<serde_json::Value>,
    error: Option<ExchangeError>,
    checks: Vec<CheckResult>,
    /// The latency sample: request to response, or injection to reply for `await`.
    duration: Option<Duration>,
}

impl Attempt {
    fn failed(request: Option<SentRequest>, error: ExchangeError) -> Self {
        Attempt {
            request,
            error: Some(error),
            ..Attempt::default()
        }
    }

    fn observation(&self) -> Option<Observation<'_>> {
        let ms = self.duration.unwrap_or_default().as_secs_f64() * 1000.0;
        self.response.as_ref().map(|r| match &self.message {
            Some(m) => Observation::with_json(r, ms, m.clone()),
            None => Observation::new(r, ms),
        })
    }
}

async fn attempt(step: &Step, state: &mut RunState, ctx: &RunContext) -> Attempt {
    let (request, content_type, timeout) = match &step.action {
        Action::Http(spec) => match http::render(spec, &ctx.templater, &state.vars) {
            Ok((r, ct)) => (r, ct, spec.timeout.unwrap_or(ctx.default_timeout)),
            Err(e) => return Attempt::failed(None, e.into()),
        },
        Action::Inject(crate::scenario::Inject::Payment(p)) => {
            return drive::inject_payment(step, p, state, ctx).await
        }
        Action::Inject(inject) => {
            match e2e::render_inject(inject, &ctx.templater, &state.vars, ctx.target.as_ref()) {
                Ok(r) => return e2e::inject(step, r, state, ctx).await,
                Err(e) => return Attempt::failed(None, e),
            }
        }
        Action::Await(spec) => return e2e::await_reply(step, spec, state, ctx).await,
        Action::Call(spec) => return deps::await_call(step, spec, state, ctx).await,
        Action::Faults(spec) => return drive::faults(step, spec, state, ctx).await,
    };
    let exchange = http::send(&ctx.client, request, content_type, timeout).await;
    judge(step, exchange, &state.vars, ctx)
}

/// Judges an exchange's response with the step's checks. A body parsed as JSON for them is
/// kept as the attempt's `message`, so that captures do not parse it again.
fn judge(step: &Step, exchange: http::Exchange, vars: &Vars, ctx: &RunContext) -> Attempt {
    match exchange.result {
        Ok(response) => {
            let ms = exchange.duration.as_secs_f64() * 1000.0;
            let obs = Observation::new(&response, ms);
            let checks = step
                .checks
                .iter()
                .map(|c| check::evaluate(c, &obs, &ctx.templater, vars))
                .collect();
            let message = obs.into_json();
            Attempt {
                request: exchange.request,
                response: Some(response),
                message,
                error: None,
                checks,
                duration: Some(exchange.duration),
            }
        }
        Err(e) => Attempt {
            duration: Some(exchange.duration),
            ..Attempt::failed(exchange.request, e)
        },
    }
}

fn finish(
    step: &Step,
    state: &mut RunState,
    mut attempt: Attempt,
    retried: Vec<Duration>,
    attempts: u32,
) -> ExecutedStep {
    if !step.captures.is_empty() {
        let mut failed = Vec::new();
        if let Some(obs) = attempt.observation() {
            for c in &step.captures {
                match check::capture(&c.source, &obs) {
                    Ok(value) => state.vars.set(c.variable.clone(), value),
                    Err(why) => failed.push(CheckResult {
                        name: format!("capture {}", c.variable),
                        span: c.span,
                        passed: false,
                        expected: "a value to capture".into(),
                        observed: why,
                    }),
                }
            }
        }
        attempt.checks.extend(failed);
    }
    let Attempt {
        request,
        response,
        error,
        checks,
        duration,
        message,
    } = attempt;
    let passed = error.is_none() && checks.iter().all(|c| c.passed);
    ExecutedStep {
        samples: StepSamples {
            retried,
            last: duration,
            failed: !passed,
        },
        attempts,
        checks,
        error,
        exchange: (request, response),
        message,
        passed,
    }
}
