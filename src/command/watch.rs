//! `harness watch`: a scenario on a schedule, alert rules evaluated after every run.
//!
//! The schedule is a schedule: run N starts at `N × every` whether run N−1 has ended or not
//! (runs overlap up to `--max-overlap`); a start that could not happen (the cap was reached,
//! or the harness fell behind) is counted as missed and said, never silently skipped.

use std::{path::PathBuf, sync::Arc, time::Duration, time::SystemTime};

use anyhow::Context;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::setup::{
    check_references, check_report_dirs, fault_history, finish, new_run_id, prepare, safe_name,
};
use super::signals::Stop;
use super::watch_events as events;
use super::watch_metrics::{self, Page};
use super::watch_report::{self, Ending, Summary};
use super::watch_scrape::{metrics_urls, scrape_all};
use super::watch_store::{Resumed, Store};
use super::{load_scenario, CommandError, ReportFiles, TargetOverrides};
use crate::runner::{init_vars, run_scenario, RunContext, ScenarioRun};
use crate::scenario::Scenario;
use crate::thresholds::{self, ThresholdResult};
use crate::watch::{self, Evaluator, Event, EventKind, Rule, Severity};

/// `harness watch`'s options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub scenario: String,
    pub target: TargetOverrides,
    pub files: ReportFiles,
    pub timeout: Duration,
    /// `None`: the scenario's `watch.every`, else [`DEFAULT_EVERY`].
    pub every: Option<Duration>,
    /// `--for`: the watch's budget.
    pub budget: Option<Duration>,
    /// Exit 0 once every rule has held (and the runs passed) for this long.
    pub until_healthy_for: Option<Duration>,
    /// `--alert` rules, `[SEVERITY:] RULE`.
    pub alerts: Vec<String>,
    /// `--metrics-url`: Prometheus pages scraped after every run.
    pub metrics_urls: Vec<String>,
    /// A saved JSON report for `… of baseline` rules.
    pub baseline: Option<PathBuf>,
    pub events: Option<PathBuf>,
    pub notify: Vec<String>,
    pub keep_going: bool,
    pub max_overlap: usize,
    /// `--metrics-port`: serve the watch's own Prometheus metrics on 127.0.0.1:P.
    pub metrics_port: Option<u16>,
    /// The watch's SQLite history; default: `<report-dir>/<scenario>-<run id>.db`. An
    /// existing one of the same scenario is resumed.
    pub db: Option<PathBuf>,
    pub quiet: bool,
}

impl WatchOptions {
    /// The time between scheduled starts.
    pub fn period(&self) -> Duration {
        self.every.unwrap_or(DEFAULT_EVERY)
    }
}

/// One finished run, as the scheduler gets it back.
struct Finished {
    run: ScenarioRun,
    verdicts: Vec<ThresholdResult>,
    samples: Vec<watch::Sample>,
    started_ms: u64,
    at_ms: u64,
}

/// What the loop keeps between runs (bounded: the evaluator's windows and counters).
struct State {
    eval: Evaluator,
    started: u64,
    missed: u64,
    peak_overlap: usize,
    events: Vec<Event>,
    rollback: bool,
    last: Option<Finished>,
    deliveries: JoinSet<()>,
    /// The durable history (`--db`).
    store: Store,
    /// `--metrics-port`: the page to refresh after every run.
    page: Option<Page>,
}

/// Time between runs when neither `--every` nor the scenario's `watch.every` says.
pub const DEFAULT_EVERY: Duration = Duration::from_secs(30);

/// Events kept for the report (the rest are counted; the events file has them all).
const REPORT_EVENTS: usize = 1000;

pub async fn watch(opts: WatchOptions) -> Result<u8, CommandError> {
    let stop = Stop::listen().context("cannot listen for signals")?;
    let run_id = new_run_id();
    let color = super::out::color();
    let scenario = Arc::new(load_scenario(&opts.scenario, color)?);
    let (opts, rules, metric_urls) = resolve(opts, &scenario)?;
    let baseline = baseline(&opts, &rules)?;
    let db = opts.db.clone().unwrap_or_else(|| {
        opts.files
            .report_dir
            .join(format!("{}-{run_id}.db", safe_name(&scenario.name)))
    });
    let (store, resumed) = Store::open(&db, &scenario.name, opts.period())?;
    let p = prepare(&scenario, &opts.target, color).await?;
    check_references(&scenario, &p.target, color)?;
    check_report_dirs(&opts.files)?;
    init_vars(&scenario, p.target.vars(), &p.templater.rehearsal())
        .map_err(|e| CommandError::Invalid(format!("error: {}: {e}", scenario.path.display())))?;
    let mut state = State {
        eval: Evaluator::new(rules, baseline),
        started: 0,
        missed: 0,
        peak_overlap: 0,
        events: Vec::new(),
        rollback: false,
        last: None,
        deliveries: JoinSet::new(),
        store,
        page: None,
    };
    let exporter = CancellationToken::new();
    if let Some(port) = opts.metrics_port {
        state.page = Some(watch_metrics::serve(port, exporter.clone()).await?);
    }
    let wall_start = resume(&mut state, resumed, &db)?;
    let scrape = metrics_urls(&metric_urls, &opts.metrics_urls, &p, &state.eval)?;
    announce(&opts, &scenario, state.eval.rules().count(), &db);
    let runner = Runner {
        scenario: scenario.clone(),
        vars: p.target.vars(),
        scrape: Arc::new(scrape),
        ctx: {
            let mut ctx = RunContext::new(
                p.templater.clone(),
                CancellationToken::new(),
                Some(p.target.run_target()),
            );
            ctx.default_timeout = opts.timeout;
            p.embed(&mut ctx);
            ctx
        },
        journal: p.embedded.embedded().map(|e| e.sim.bus.clone()),
    };
    let snap = Snapshot {
        scenario: &scenario,
        p: &p,
        run_id: &run_id,
    };
    let ending = schedule(&opts, &runner, &mut state, &stop, (wall_start, snap)).await;
    events::drain(&mut state.deliveries, Duration::from_secs(15)).await;
    let mut report = conclude(&opts, &state, ending, wall_start, &scenario, &p);
    report.run_id = run_id.clone();
    if !stop.hard.is_cancelled() {
        report.faults = fault_history(&p.target, &p.redactor).await;
    }
    if let Err(e) = state
        .store
        .save_report(&report, opts.files.privacy(&p.redactor))
    {
        super::out::eprintln(format_args!(
            "warning: the report could not be saved in {}: {e:#}",
            db.display()
        ));
    }
    super::out::print(watch_report::terminal(&report, color));
    exporter.cancel();
    finish(&report, (&opts.files, &p.redactor), p.embedded, &stop.hard).await
}

/// The scenario's `watch:` section under the flags: the schedule, the rules (the
/// scenario's, then `--alert`'s) and the `/metrics` pages to scrape.
fn resolve(
    mut opts: WatchOptions,
    scenario: &Scenario,
) -> Result<(WatchOptions, Vec<Rule>, Vec<String>), CommandError> {
    let spec = scenario.watch.clone().unwrap_or_default();
    opts.every = opts.every.or(spec.every);
    let mut rules = spec.alerts;
    rules.extend(flag_rules(&opts.alerts)?);
    validate(&opts)?;
    for rule in &rules {
        check_step(rule, scenario)?;
    }
    Ok((opts, rules, spec.metrics))
}

/// A `step "NAME"` rule names a step of the scenario: otherwise it could never fire.
fn check_step(rule: &Rule, scenario: &Scenario) -> Result<(), CommandError> {
    let (watch::Condition::Latency { scope, .. } | watch::Condition::Baseline { scope, .. }) =
        &rule.condition
    else {
        return Ok(());
    };
    let watch::Scope::Step(name) = scope else {
        return Ok(());
    };
    if scenario.steps.iter().any(|s| &s.name == name) {
        return Ok(());
    }
    let names: Vec<&str> = scenario.steps.iter().map(|s| s.name.as_str()).collect();
    Err(CommandError::Invalid(format!(
        "error: rule `{}`: {} has no step \"{name}\"; its steps: {}",
        rule.expr,
        scenario.name,
        names.join(", ")
    )))
}

/// A database that already holds runs of this watch: they are replayed through the rules
/// (their events are the report's, not delivered again) and the watch goes on from its
/// original start. Returns the watch's start.
fn resume(
    state: &mut State,
    resumed: Option<Resumed>,
    db: &std::path::Path,
) -> Result<SystemTime, CommandError> {
    let Some(r) = resumed else {
        return Ok(SystemTime::now());
    };
    state.started = r.started;
    state.missed = r.missed;
    let (eval, events) = (&mut state.eval, &mut state.events);
    let runs = state.store.replay(|record| {
        for event in eval.observe(record) {
            if events.len() < REPORT_EVENTS {
                events.push(event);
            }
        }
    })?;
    state.rollback = events
        .iter()
        .any(|e| e.kind == EventKind::Firing && e.severity == Severity::Rollback);
    super::out::println(format_args!(
        "resuming the watch in {} ({runs} run(s) since {})",
        db.display(),
        events::wall(r.wall_start, 0)
    ));
    Ok(r.wall_start)
}

/// The watch's verdict and report.
fn conclude(
    opts: &WatchOptions,
    state: &State,
    ending: Ending,
    wall_start: SystemTime,
    scenario: &Scenario,
    p: &super::setup::Prepared,
) -> crate::report::Report {
    let passed = ending == Ending::Healthy
        || (ending == Ending::Budget && opts.until_healthy_for.is_none() && !state.rollback);
    let summary = Summary {
        ending,
        passed,
        every: opts.period(),
        wall_start,
        elapsed: wall_start.elapsed().unwrap_or_default(),
        started: state.started,
        missed: state.missed,
        peak_overlap: state.peak_overlap,
        max_overlap: opts.max_overlap,
    };
    watch_report::build(
        scenario,
        state.last.as_ref().map(|f| (&f.run, &f.verdicts[..])),
        &state.eval,
        &state.events,
        &summary,
        p,
    )
}

/// What every scheduled run shares.
struct Runner {
    scenario: Arc<Scenario>,
    vars: crate::runner::template::Vars,
    /// The `/metrics` pages to scrape after each run (rendered).
    scrape: Arc<Vec<String>>,
    ctx: RunContext,
    /// The embedded journal: forgotten whenever no run is in flight (flat memory).
    journal: Option<crate::sim::bus::Bus>,
}

impl Runner {
    fn spawn(&self, tasks: &mut JoinSet<Option<Finished>>, clock: Clock) {
        let (scenario, vars, ctx) = (self.scenario.clone(), self.vars.clone(), self.ctx.clone());
        let scrape = self.scrape.clone();
        let started_ms = clock.now_ms();
        if let (true, Some(journal)) = (tasks.is_empty(), &self.journal) {
            journal.clear();
        }
        tasks.spawn(async move {
            // Fresh variables (`uuid()`, `phone()`) for every run, as `harness run` would.
            let vars = init_vars(&scenario, vars, &ctx.templater).ok()?;
            let run = run_scenario(&scenario, vars, &ctx).await;
            let verdicts = thresholds::evaluate_run(&scenario, &run);
            let samples = scrape_all(&ctx.client, &scrape).await;
            let at_ms = clock.now_ms();
            Some(Finished {
                run,
                verdicts,
                samples,
                started_ms,
                at_ms,
            })
        });
    }
}

/// The scheduling loop; returns why it ended.
async fn schedule(
    opts: &WatchOptions,
    runner: &Runner,
    state: &mut State,
    stop: &Stop,
    (wall_start, snap): (SystemTime, Snapshot<'_>),
) -> Ending {
    let clock = Clock {
        start: Instant::now(),
        base_ms: wall_start.elapsed().unwrap_or_default().as_millis() as u64,
    };
    // The budget counts from the watch's start (the first session's, when resumed).
    let spent = Duration::from_millis(clock.base_ms);
    let deadline = opts.budget.map(|b| clock.start + b.saturating_sub(spent));
    let mut next = clock.start;
    let mut running: JoinSet<Option<Finished>> = JoinSet::new();
    let ending = loop {
        tokio::select! {
            biased;
            () = stop.soft.cancelled() => break Ending::Interrupted,
            () = sleep_until(deadline) => break Ending::Budget,
            Some(joined) = running.join_next() => {
                let Ok(Some(finished)) = joined else { continue };
                if let Some(ending) = finished_run(opts, state, finished, &runner.scenario.name, wall_start) {
                    break ending;
                }
                snap.save(opts, state, wall_start);
            }
            () = tokio::time::sleep_until(next) => {
                let late = Instant::now().duration_since(next).as_nanos() / opts.period().as_nanos();
                if late > 0 {
                    note_missed(state, late as u64, "the harness fell behind its schedule", clock);
                }
                next += opts.period() * (late as u32 + 1);
                if running.len() >= opts.max_overlap {
                    note_missed(state, 1, "the previous runs are still going (--max-overlap)", clock);
                } else {
                    runner.spawn(&mut running, clock);
                    state.started += 1;
                    state.peak_overlap = state.peak_overlap.max(running.len());
                }
            }
        }
    };
    // Runs cut short by the end are not judged: they did not finish.
    running.abort_all();
    while running.join_next().await.is_some() {}
    ending
}

/// What the report saved after each run needs.
#[derive(Clone, Copy)]
struct Snapshot<'a> {
    scenario: &'a Scenario,
    p: &'a super::setup::Prepared,
    run_id: &'a str,
}

impl Snapshot<'_> {
    /// Saves the report as of now in the database, so that a watch killed before its end
    /// still has one (`harness report FILE.db`).
    fn save(self, opts: &WatchOptions, state: &State, wall_start: SystemTime) {
        let mut report = conclude(
            opts,
            state,
            Ending::Running,
            wall_start,
            self.scenario,
            self.p,
        );
        report.run_id = self.run_id.to_string();
        if let Err(e) = state
            .store
            .save_report(&report, opts.files.privacy(&self.p.redactor))
        {
            super::out::eprintln(format_args!(
                "warning: the report could not be saved: {e:#}"
            ));
        }
    }
}

/// The watch's clock: milliseconds since its start, a resumed watch's earlier sessions
/// included.
#[derive(Debug, Clone, Copy)]
struct Clock {
    start: Instant,
    base_ms: u64,
}

impl Clock {
    fn now_ms(self) -> u64 {
        self.base_ms + self.start.elapsed().as_millis() as u64
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn note_missed(state: &mut State, n: u64, why: &str, clock: Clock) {
    state.missed += n;
    let at = events::offset(clock.now_ms());
    super::out::eprintln(format_args!(
        "{at}  missed start(s): {n} ({why}); {} so far",
        state.missed
    ));
}

/// Judges one finished run; `Some` when the watch must end.
fn finished_run(
    opts: &WatchOptions,
    state: &mut State,
    mut finished: Finished,
    scenario: &str,
    wall_start: SystemTime,
) -> Option<Ending> {
    let samples = std::mem::take(&mut finished.samples);
    let record = watch::record::from_run(
        &finished.run,
        &finished.verdicts,
        (finished.started_ms, finished.at_ms),
        samples,
    );
    let passed = record.passed;
    if !opts.quiet {
        super::out::println(events::run_line(
            state.eval.runs + 1,
            finished.at_ms,
            &finished.run,
            passed,
        ));
    }
    if let Err(e) = state.store.append(&record, state.started, state.missed) {
        super::out::eprintln(format_args!(
            "warning: the run could not be written to the watch's database: {e:#}"
        ));
    }
    let shown = state
        .page
        .as_ref()
        .map(|page| (page.clone(), record.clone()));
    let fired = state.eval.observe(record);
    if let Some((page, record)) = shown {
        let took = finished.run.elapsed.as_secs_f64();
        page.set(watch_metrics::render(
            &state.eval,
            state.missed,
            &record,
            took,
        ));
    }
    for event in fired {
        deliver(opts, state, &event, scenario, wall_start);
        if event.kind == EventKind::Firing && event.severity == Severity::Rollback {
            state.rollback = true;
        }
        if state.events.len() < REPORT_EVENTS {
            state.events.push(event);
        }
    }
    state.last = Some(finished);
    if state.rollback && !opts.keep_going {
        return Some(Ending::Rollback);
    }
    let healthy = opts.until_healthy_for.is_some_and(|d| {
        state
            .eval
            .healthy_for(state.last.as_ref().map_or(0, |f| f.at_ms))
            >= d
    });
    healthy.then_some(Ending::Healthy)
}

fn deliver(
    opts: &WatchOptions,
    state: &mut State,
    event: &Event,
    scenario: &str,
    start: SystemTime,
) {
    super::out::println(format_args!(
        "{}  {}",
        events::offset(event.at_ms),
        events::describe(event, scenario)
    ));
    if let Some(path) = &opts.events {
        if let Err(e) = events::append_line(path, &events::to_json(event, scenario, start)) {
            super::out::eprintln(format_args!(
                "warning: cannot append to {}: {e}",
                path.display()
            ));
        }
    }
    if !opts.notify.is_empty() {
        let client = crate::runner::default_client();
        let body = events::webhook_body(event, scenario, start);
        events::notify(&mut state.deliveries, &client, &opts.notify, body);
    }
}

/// The `--alert` rules; a bad one is exit 2, naming the flag.
fn flag_rules(alerts: &[String]) -> Result<Vec<Rule>, CommandError> {
    alerts
        .iter()
        .map(|a| {
            watch::parse_flag(a).map_err(|e| {
                CommandError::Invalid(format!(
                    "error: --alert `{a}`: {e}\n  rules read e.g. `down for 2m`, `rollback: p95 > 2s for 5m`, `uptime < 99.9%` (docs/watch.md)"
                ))
            })
        })
        .collect()
}

/// Reads `--baseline` when a rule needs it; a rule that needs one without it is exit 2.
fn baseline(
    opts: &WatchOptions,
    rules: &[Rule],
) -> Result<Option<watch::eval::Figures>, CommandError> {
    let needs = rules
        .iter()
        .find(|r| matches!(r.condition, watch::Condition::Baseline { .. }));
    let Some(path) = &opts.baseline else {
        return match needs {
            Some(r) => Err(CommandError::Invalid(format!(
                "error: --alert `{}` compares with a baseline: give one with --baseline REPORT.json",
                r.expr
            ))),
            None => Ok(None),
        };
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CommandError::Invalid(format!(
            "error: cannot read --baseline {}: {e}",
            path.display()
        ))
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CommandError::Invalid(format!(
            "error: --baseline {} is not a JSON report: {e}",
            path.display()
        ))
    })?;
    Ok(Some(watch::record::baseline_from_json(&json)))
}

fn validate(opts: &WatchOptions) -> Result<(), CommandError> {
    if opts.period().is_zero() {
        return Err(CommandError::Invalid(
            "error: --every must be above zero, e.g. `--every 30s`".into(),
        ));
    }
    if opts.max_overlap == 0 {
        return Err(CommandError::Invalid(
            "error: --max-overlap must be at least 1".into(),
        ));
    }
    Ok(())
}

fn announce(opts: &WatchOptions, scenario: &Scenario, rules: usize, db: &std::path::Path) {
    let budget = opts.budget.map_or_else(
        || "until stopped".to_string(),
        |b| format!("for {}", humantime::format_duration(b)),
    );
    super::out::println(format_args!(
        "watching {} every {} {budget}; {} rule(s){}",
        scenario.name,
        humantime::format_duration(opts.period()),
        rules,
        opts.until_healthy_for
            .map(|d| format!("; done once healthy for {}", humantime::format_duration(d)))
            .unwrap_or_default()
    ));
    for url in &opts.notify {
        super::out::println(format_args!("notify: {}", events::mask_url(url)));
    }
    super::out::println(format_args!("history: {}", db.display()));
}
