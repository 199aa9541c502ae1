//! `harness load`: a scenario (or one URL) under an arrival rate, one report, one verdict.
//!
//! The load shape comes from the flags, else the scenario's `load:` section (flags win key
//! by key; any shape flag — `--rps`, `--stages`, `--users`, `--connections` — replaces the
//! file's shape). Without a scenario and without `--url`, the built-in `volume` scenario runs
//! against the embedded simulator and reference app.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::load_report::{finish, load_summary, DeliveryFlags, FinishContext};
use super::setup::{
    check_references, check_report_dirs, fault_history, new_run_id, prepare, shut_down,
    write_report,
};
use super::signals::Stop;
use super::ReportFiles;
use anyhow::Context as _;

use super::{load_scenario, CommandError, TargetOverrides};
use crate::exit;
use crate::load::flow::{QuickFlow, QuickRequest, ScenarioFlow};
use crate::load::hyper_flow::HyperFlow;
use crate::load::shard::Shard;
use crate::load::timeline::{AbortFn, ProgressFn};
use crate::load::{self, EngineOptions, Flow, Hooks, Live, LoadResult, Plan, Progress};
use crate::report::{terminal, Report, TargetReport};
use crate::runner::check::compare;
use crate::runner::{init_vars, RunContext, StepKind};
use crate::scenario::{
    Comparison, LoadSpec, Metric, Scenario, Series as SeriesKind, ThresholdSpec,
};

/// The scenario `harness load` runs when given none.
pub const DEFAULT_SCENARIO: &str = "volume";
/// Run length when neither the flags nor the scenario give one.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);
/// Cap on iterations in flight when neither the flags nor the scenario give one.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1000;

/// The load shape as given on the command line; `None`: not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadShape {
    pub rps: Option<f64>,
    pub duration: Option<Duration>,
    pub stages: Option<Vec<(Duration, f64)>>,
    pub users: Option<usize>,
    pub think_time: Option<Duration>,
    pub poisson: bool,
    pub max_in_flight: Option<usize>,
    /// Quick mode: keep-alive connections; alone, a closed loop at maximum rate over them.
    pub connections: Option<usize>,
    /// `--shard I/N`: this process runs its part of the plan.
    pub shard: Option<Shard>,
}

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// A scenario name or file; `None`: `--url`, else the built-in `volume`.
    pub scenario: Option<String>,
    /// Quick mode (`--url`): method, URL, `K: V` headers, body (`@FILE` reads a file).
    pub url: Option<String>,
    pub method: String,
    pub headers: Vec<String>,
    pub body: Option<String>,
    pub shape: LoadShape,
    pub target: TargetOverrides,
    pub files: ReportFiles,
    pub timeout: Duration,
    /// How long iterations in flight may finish after the end or Ctrl-C.
    pub grace: Duration,
    pub quiet: bool,
    pub abort_on_fail: bool,
    pub verbose: u8,
    /// Quick mode's client (`hyper` for plain http, the faster; `reqwest` to compare).
    pub http_client: HttpClient,
    /// `--allow-dropped`, `--max-dropped`: the delivery check's limit.
    pub delivery: DeliveryFlags,
    /// `--start-at`: wait for this instant before the first arrival.
    pub start_at: Option<SystemTime>,
}

/// Quick mode's HTTP client. TLS URLs always use reqwest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HttpClient {
    #[default]
    Hyper,
    Reqwest,
}

impl HttpClient {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpClient::Hyper => "hyper",
            HttpClient::Reqwest => "reqwest",
        }
    }

    /// `hyper` or `reqwest` (the `--http-client` flag).
    pub fn parse(name: &str) -> Result<HttpClient, String> {
        [HttpClient::Hyper, HttpClient::Reqwest]
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| format!("unknown HTTP client `{name}`: expected hyper or reqwest"))
    }
}

/// The plan and in-flight cap for `shape` over the scenario's `load:` section.
pub fn resolve_plan(shape: &LoadShape, file: Option<&LoadSpec>) -> Result<(Plan, usize), String> {
    let empty = LoadSpec::default();
    let file = file.unwrap_or(&empty);
    let cli_shape = shape.rps.is_some()
        || shape.stages.is_some()
        || shape.users.is_some()
        || shape.connections.is_some();
    let (rps, stages, users) = if cli_shape {
        (
            shape.rps,
            shape.stages.clone(),
            shape
                .users
                .or(shape.connections.filter(|_| shape.rps.is_none())),
        )
    } else {
        (
            file.rps,
            (!file.stages.is_empty()).then(|| file.stages.clone()),
            file.users,
        )
    };
    let duration = shape.duration.or(file.duration).unwrap_or(DEFAULT_DURATION);
    let think = shape.think_time.or(file.think_time).unwrap_or_default();
    let poisson = shape.poisson || file.poisson;
    let cap = shape
        .max_in_flight
        .or(file.max_in_flight)
        .or(shape.connections)
        .unwrap_or(DEFAULT_MAX_IN_FLIGHT);
    let plan = match (rps, stages, users) {
        (_, _, Some(users)) if rps.is_none() => Plan::closed(users, think, duration),
        (Some(_), Some(_), _) => return Err("give either a rate or stages, not both".into()),
        (Some(_), _, Some(_)) => {
            return Err("`--users` (closed model) does not go with a rate (open model)".into())
        }
        (Some(rps), None, None) => Plan::constant(rps, duration, poisson),
        (None, Some(stages), _) => Plan::ramps(&stages, poisson),
        (None, None, _) => {
            return Err("no load shape: give --rps N (or --stages, --users, --connections), or a `load:` section in the scenario".into())
        }
    };
    let plan = match shape.shard {
        Some(shard) => {
            let shard = shard.check()?;
            plan.and_then(|p| shard.plan(p)).map_err(|e| match e {
                crate::load::PlanError::NoUsers => format!(
                    "shard {}/{} has no user: give at least {} users",
                    shard.index, shard.count, shard.count
                ),
                e => e.to_string(),
            })
        }
        None => plan.map_err(|e| e.to_string()),
    };
    plan.map(|p| (p, cap))
}

/// Runs the load, prints the summary, writes the JSON report; returns the exit code.
pub async fn load(opts: LoadOptions) -> Result<u8, CommandError> {
    let stop = Stop::listen().context("cannot listen for signals")?;
    let run_id = new_run_id();
    let color = super::out::color();
    let invalid = |e: String| CommandError::Invalid(format!("error: {e}"));
    if let Some(url) = opts.url.clone() {
        return load_url(&opts, url, &stop, run_id).await;
    }
    let name = opts.scenario.as_deref().unwrap_or(DEFAULT_SCENARIO);
    let scenario = load_scenario(name, color)?;
    let (plan, cap) = resolve_plan(&opts.shape, scenario.load.as_ref())
        .map_err(|e| invalid(format!("{}: {e}", scenario.path.display())))?;
    let p = super::setup::not_for_load(prepare(&scenario, &opts.target, color).await?).await?;
    check_references(&scenario, &p.target, color)?;
    check_report_dirs(&opts.files)?;
    let base = p.target.vars();
    // Rendered once up front so a broken `variables:` is an error, not N failed iterations.
    let templater = match opts.shape.shard {
        Some(s) => p.templater.recounted(crate::runner::template::Counters {
            stride: u64::from(s.count),
            offset: u64::from(s.index - 1),
            phone_base: opts.start_at.map(Shard::phone_base),
        }),
        None => p.templater.clone(),
    };
    init_vars(&scenario, base.clone(), &templater.rehearsal())
        .map_err(|e| invalid(format!("{}: {e}", scenario.path.display())))?;
    let mut ctx = RunContext::new(
        templater,
        CancellationToken::new(),
        Some(p.target.run_target()),
    );
    ctx.default_timeout = opts.timeout;
    p.embed(&mut ctx);
    let abort = opts
        .abort_on_fail
        .then(|| abort_check(&scenario, plan.planned_iterations()));
    let flow = Arc::new(ScenarioFlow::new(scenario.clone(), base, ctx));
    let result = drive(flow.clone(), &opts, (plan.clone(), cap), abort, &stop).await;
    let target = p.target.report();
    let cx = FinishContext {
        plan: &plan,
        cap,
        target: &target,
        redactor: &p.redactor,
        delivery: opts.delivery,
    };
    let mut report = finish(&scenario, &result, &cx);
    report.transcripts = super::load_report::kept_transcripts(flow.kept(), &p.redactor);
    report.run_id = run_id;
    report.shard = opts.shape.shard.map(shard_report);
    if !stop.hard.is_cancelled() {
        report.faults = fault_history(&p.target, &p.redactor).await;
    }
    let code = conclude(&report, &result, &opts, (color, &p.redactor));
    shut_down(p.embedded, &stop.hard).await;
    code
}

fn shard_report(s: Shard) -> crate::report::hdr::Shard {
    crate::report::hdr::Shard {
        index: s.index,
        count: s.count,
    }
}

/// Quick mode (`--url`): one request per iteration, on hand-held hyper connections (or
/// reqwest, for TLS or comparison).
async fn load_url(
    opts: &LoadOptions,
    url: String,
    stop: &Stop,
    run_id: String,
) -> Result<u8, CommandError> {
    let color = super::out::color();
    let invalid = |e: String| CommandError::Invalid(format!("error: {e}"));
    let quick = quick_request(opts, url).map_err(invalid)?;
    let scenario = quick_scenario(&quick);
    let (plan, cap) = resolve_plan(&opts.shape, None).map_err(invalid)?;
    check_report_dirs(&opts.files)?;
    let conns = opts.shape.connections.unwrap_or(cap.min(100));
    let target = TargetReport {
        name: "cli".into(),
        app_url: Some(quick.url.clone()),
        ..TargetReport::default()
    };
    let redactor = crate::redact::Redactor::new();
    let hyper = match opts.http_client {
        HttpClient::Hyper => HyperFlow::new(&quick),
        HttpClient::Reqwest => None,
    };
    let result = match hyper {
        Some(flow) => {
            let flow = flow.map_err(|e| invalid(e.message))?;
            drive(Arc::new(flow), opts, (plan.clone(), cap), None, stop).await
        }
        None => {
            let flow = QuickFlow::new(&quick, conns).map_err(|e| invalid(e.message))?;
            drive(Arc::new(flow), opts, (plan.clone(), cap), None, stop).await
        }
    };
    let cx = FinishContext {
        plan: &plan,
        cap,
        target: &target,
        redactor: &redactor,
        delivery: opts.delivery,
    };
    let mut report = finish(&scenario, &result, &cx);
    report.run_id = run_id;
    report.shard = opts.shape.shard.map(shard_report);
    conclude(&report, &result, opts, (color, &redactor))
}

/// Runs the engine with the signals and the progress line wired in.
async fn drive<F: Flow>(
    flow: Arc<F>,
    opts: &LoadOptions,
    (plan, max_in_flight): (Plan, usize),
    abort: Option<AbortFn>,
    stop: &Stop,
) -> LoadResult {
    let bar =
        (!opts.quiet && std::io::stderr().is_terminal()).then(|| progress_bar(plan.duration()));
    let hooks = Hooks {
        stop: stop.soft.clone(),
        hard_stop: stop.hard.clone(),
        progress: bar.as_ref().map(|b| progress_fn(b.clone())),
        abort,
    };
    let engine = EngineOptions {
        plan,
        max_in_flight,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        grace: opts.grace,
        seed: None,
        phase: opts.shape.shard.map_or(0.0, |s| s.phase()),
    };
    if let Some(wait) = opts
        .start_at
        .and_then(|at| load::shard::wait_for(at, SystemTime::now()))
    {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = hooks.stop.cancelled() => {}
        }
    }
    let result = load::run(flow, &engine, hooks).await;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    result
}

fn progress_bar(total: Duration) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total.as_secs().max(1));
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let style = indicatif::ProgressStyle::with_template("{bar:24} {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

fn progress_fn(bar: indicatif::ProgressBar) -> ProgressFn {
    Box::new(move |p: &Progress| {
        bar.set_position(p.elapsed.as_secs());
        bar.set_message(progress_line(p));
    })
}

/// `12s/60s  100.0 it/s  p95 84.2ms  errors 0  in flight 9  dropped 0`.
pub fn progress_line(p: &Progress) -> String {
    let p95 = p.p95_ms.map_or("-".into(), |v| format!("{v:.1}ms"));
    format!(
        "{}s/{}s  {:.1} it/s  p95 {p95}  errors {}  in flight {}  dropped {}",
        p.elapsed.as_secs(),
        p.total.as_secs(),
        p.rps,
        p.errors,
        p.in_flight,
        p.dropped
    )
}

fn quick_request(opts: &LoadOptions, url: String) -> Result<QuickRequest, String> {
    let mut headers = Vec::new();
    for h in &opts.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| format!("invalid header `{h}`: expected 'Name: value'"))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let body = match opts.body.as_deref() {
        None => None,
        Some(b) => Some(match b.strip_prefix('@') {
            Some(file) => {
                std::fs::read(file).map_err(|e| format!("cannot read the body from {file}: {e}"))?
            }
            None => b.as_bytes().to_vec(),
        }),
    };
    Ok(QuickRequest {
        method: opts.method.to_uppercase(),
        url,
        headers,
        body,
        timeout: opts.timeout,
    })
}

/// The one-step scenario a quick run reports as.
fn quick_scenario(q: &QuickRequest) -> Scenario {
    use crate::scenario::{Action, Body, HttpRequest, Span, Step};
    let title = format!("{} {}", q.method, q.url);
    Scenario {
        name: "load-url".into(),
        description: Some(title.clone()),
        provider: None,
        path: PathBuf::from("<command line>"),
        source: String::new(),
        variables: Vec::new(),
        secrets: Vec::new(),
        data: Vec::new(),
        dependencies: Vec::new(),
        steps: vec![Step {
            name: title,
            span: Span::default(),
            provider: None,

            action: Action::Http(HttpRequest {
                method: q.method.clone(),
                url: q.url.clone(),
                headers: q.headers.clone(),
                query: Vec::new(),
                body: q
                    .body
                    .as_ref()
                    .map(|b| Body::Raw(String::from_utf8_lossy(b).into_owned())),
                timeout: Some(q.timeout),
            }),
            checks: Vec::new(),
            captures: Vec::new(),
            retry: None,
            thresholds: Vec::new(),
        }],
        thresholds: Vec::new(),
        load: None,
        watch: None,
    }
}

fn conclude(
    report: &Report,
    result: &LoadResult,
    opts: &LoadOptions,
    (color, redactor): (bool, &crate::redact::Redactor),
) -> Result<u8, CommandError> {
    let style = terminal::Style {
        color,
        verbose: opts.verbose > 0,
    };
    super::out::print(terminal::render(report, style));
    if let Some(l) = &report.load {
        super::out::print(load_summary(l));
    }
    if result.aborted {
        super::out::println("aborted: a threshold could no longer pass (--abort-on-fail)");
    }
    write_report(report, &opts.files, redactor)?;
    Ok(if report.passed {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}

/// `--abort-on-fail`: true once a scenario-level threshold can no longer pass whatever the
/// rest of the run does — a `max` or `count` already over its limit, or an error rate whose
/// failures already exceed the limit over every request the plan can still make.
fn abort_check(scenario: &Scenario, planned: Option<f64>) -> AbortFn {
    let specs = scenario.thresholds.clone();
    let count = |kind: StepKind| {
        scenario
            .steps
            .iter()
            .filter(|s| (StepKind::of(&s.action) == StepKind::Await) == (kind == StepKind::Await))
            .count() as f64
    };
    let most = (
        planned.map(|p| p * count(StepKind::Http)),
        planned.map(|p| p * count(StepKind::Await)),
    );
    Box::new(move |live: &Live<'_>| {
        specs.iter().any(|t| match (t.series, t.metric) {
            // Per iteration, as the threshold is judged.
            (SeriesKind::Latency, Metric::ErrorRate) => doomed(t, live.iterations, planned),
            (SeriesKind::Latency, _) => doomed(t, live.requests, most.0),
            (SeriesKind::E2e, _) => doomed(t, live.e2e, most.1),
        })
    })
}

/// Whether `spec` fails whatever comes after `so_far` (at most `most` executions in all).
pub fn doomed(spec: &ThresholdSpec, so_far: &crate::metrics::Series, most: Option<f64>) -> bool {
    if !matches!(spec.comparison, Comparison::Lt | Comparison::Le) {
        return false;
    }
    let observed = match spec.metric {
        Metric::Max => so_far.summary().map(|s| s.max),
        Metric::Count => Some(so_far.count as f64),
        Metric::ErrorRate => most
            .filter(|m| *m > 0.0)
            .map(|m| so_far.failures as f64 / m),
        _ => None,
    };
    observed.is_some_and(|v| !compare(spec.comparison, v, spec.value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Series;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn flags_override_the_file_key_by_key() {
        let file = LoadSpec {
            rps: Some(8.0),
            duration: Some(s(30)),
            max_in_flight: Some(50),
            ..LoadSpec::default()
        };
        let (plan, cap) = resolve_plan(&LoadShape::default(), Some(&file)).unwrap();
        assert_eq!(
            (plan.target_rps(), plan.duration(), cap),
            (Some(8.0), s(30), 50)
        );
        let cli = LoadShape {
            rps: Some(100.0),
            duration: Some(s(60)),
            ..LoadShape::default()
        };
        let (plan, cap) = resolve_plan(&cli, Some(&file)).unwrap();
        assert_eq!((plan.planned_iterations(), cap), (Some(6000.0), 50));
    }

    #[test]
    fn connections_alone_make_a_closed_loop() {
        let cli = LoadShape {
            connections: Some(50),
            duration: Some(s(10)),
            ..LoadShape::default()
        };
        let (plan, cap) = resolve_plan(&cli, None).unwrap();
        assert_eq!(plan, Plan::closed(50, Duration::ZERO, s(10)).unwrap());
        assert_eq!(cap, 50);
        let with_rate = LoadShape {
            rps: Some(10.0),
            ..cli
        };
        let (plan, cap) = resolve_plan(&with_rate, None).unwrap();
        assert_eq!((plan.target_rps(), cap), (Some(10.0), 50));
    }

    #[test]
    fn a_missing_or_contradictory_shape_is_an_error() {
        assert!(resolve_plan(&LoadShape::default(), None)
            .unwrap_err()
            .contains("--rps"));
        let both = LoadShape {
            rps: Some(1.0),
            users: Some(2),
            ..LoadShape::default()
        };
        assert!(resolve_plan(&both, None).is_err());
    }

    #[test]
    fn the_progress_line_shows_the_live_figures() {
        let p = Progress {
            elapsed: s(12),
            total: s(60),
            started: 1200,
            completed: 1190,
            errors: 3,
            dropped: 1,
            in_flight: 9,
            rps: 100.0,
            p95_ms: Some(84.23),
        };
        assert_eq!(
            progress_line(&p),
            "12s/60s  100.0 it/s  p95 84.2ms  errors 3  in flight 9  dropped 1"
        );
    }

    fn spec(metric: Metric, value: f64) -> ThresholdSpec {
        ThresholdSpec {
            span: Default::default(),
            expr: String::new(),
            series: SeriesKind::Latency,
            metric,
            comparison: Comparison::Lt,
            value,
        }
    }

    #[test]
    fn doomed_thresholds_are_those_the_rest_of_the_run_cannot_save() {
        let mut so_far = Series::new();
        for i in 0..100 {
            so_far.record(Duration::from_millis(10), i < 5);
        }
        // 5 failures: over 1 % of at most 400 requests, but not of at most 1,000.
        assert!(doomed(&spec(Metric::ErrorRate, 0.01), &so_far, Some(400.0)));
        assert!(!doomed(
            &spec(Metric::ErrorRate, 0.01),
            &so_far,
            Some(1000.0)
        ));
        assert!(!doomed(&spec(Metric::ErrorRate, 0.01), &so_far, None));
        assert!(doomed(&spec(Metric::Max, 5.0), &so_far, None));
        assert!(!doomed(&spec(Metric::Max, 50.0), &so_far, None));
        // A percentile may still come down: never doomed early.
        assert!(!doomed(&spec(Metric::P95, 1.0), &so_far, None));
    }
}
