//! The report: one view model built from a run, rendered to JSON, the terminal and (later)
//! HTML, JUnit and Markdown. Every string in it has passed through the redactor.
//!
//! The JSON form is the stable interface (schema in `reports/schema.json`, documented in
//! `docs/report-format.md`); `harness report` and `harness compare` read it back.

mod build;
pub mod chart;
mod chat;
pub mod compare;
pub mod compare_render;
pub mod hdr;
pub mod hops;
pub mod html;
mod html_charts;
pub mod junit;
pub mod markdown;
pub mod merge;
mod merge_load;
pub mod output;
pub mod terminal;
mod text;
pub mod transcript;
pub mod watch;

use serde::{Deserialize, Serialize};

pub use build::{buckets, build, latency};
pub use text::{
    delivery_lines, error_rate_line, escape, histogram_lines, latency_cells, missing_replies,
    status_lines,
};

/// Version of the JSON report's shape; bumped on any incompatible change.
/// 2: `totals.error_rate` is per iteration (a failed `await` counts), with the counts beside
/// it; `load.delivery` and `load.saturation`.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub harness_version: String,
    /// This run's id (UTC start with milliseconds and a random suffix), also in the default
    /// report file names; set by `run` and `load` (empty, and not written, otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    pub scenario: String,
    pub description: Option<String>,
    /// The scenario file.
    pub file: String,
    /// Every check and threshold passed, and the run was not interrupted.
    pub passed: bool,
    pub interrupted: bool,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_s: f64,
    pub target: TargetReport,
    pub steps: Vec<StepReport>,
    pub checks: Vec<CheckReport>,
    pub thresholds: Vec<ThresholdReport>,
    /// Failed checks and failed exchanges, with the request and response (redacted, truncated).
    pub failures: Vec<FailureReport>,
    /// Over the request steps (`http`, `inject`).
    pub totals: Totals,
    /// End to end (inject → reply observed at the provider), over the `await` steps; absent
    /// when the scenario has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e: Option<E2eReport>,
    /// `harness load` only: the load shape, what was achieved, and the per-second series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
    /// Fault profiles set on the simulated provider during the run (by the scenario through
    /// the control API, or at start), oldest first; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultReport>,
    /// `sha256:<hex>` of the scenario file's content: `harness merge` refuses reports whose
    /// scenarios differ (absent in reports of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario_hash: Option<String>,
    /// Every latency histogram, lossless (see [`hdr`]): what `harness merge` adds up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<hdr::Histograms>,
    /// `harness load --shard I/N`: which part of the load this report is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<hdr::Shard>,
    /// `harness watch` only: uptime, incidents, alerts, missed starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<watch::WatchReport>,
    /// The conversations of an end-to-end scenario: the run's (one), or under load those of
    /// the failed and the slowest iterations (a few of each); absent without `inject`/`await`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transcripts: Vec<transcript::TranscriptReport>,
    /// The hops of a scenario with dependencies (inject → LLM call → PMS call → payment →
    /// reply), each with its latency; absent unless it awaits a call or injects a payment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hops: Vec<hops::HopReport>,
}

/// What a load run asked for and achieved (`harness load`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `open` (arrival rate) or `closed` (concurrent users).
    pub model: String,
    /// Planned mean arrival rate (open model).
    pub target_rps: Option<f64>,
    /// Iterations started per second of schedule.
    pub achieved_rps: f64,
    /// Iterations started.
    pub iterations: u64,
    pub completed: u64,
    pub failed: u64,
    /// Arrivals that could not start on time: the in-flight cap was reached.
    pub dropped: u64,
    /// Iterations still in flight when the grace period after the end ran out.
    pub abandoned: u64,
    /// Seconds during which iterations were started.
    pub duration_s: f64,
    /// The cap on iterations in flight (open model).
    pub max_in_flight: Option<u64>,
    pub peak_in_flight: u64,
    /// Closed model: concurrent users and their think time.
    pub users: Option<u64>,
    pub think_time_ms: Option<f64>,
    pub poisson: bool,
    /// `--abort-on-fail` stopped the run: a threshold could no longer pass.
    pub aborted: bool,
    /// Iteration latency from its intended start (includes any wait for the schedule:
    /// coordinated-omission free).
    pub latency_ms: Option<Latency>,
    /// Iteration latency from its actual start.
    pub service_ms: Option<Latency>,
    pub histogram: Vec<Bucket>,
    /// Failed iterations by kind (`check`, `timeout`, `connect`, `http_5xx`, …).
    pub errors: std::collections::BTreeMap<String, u64>,
    /// Quick mode (`--url`): responses by status code (`"200"`, `"503"`); absent otherwise.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub status_codes: std::collections::BTreeMap<String, u64>,
    /// One point per second.
    pub time_series: Vec<SecondReport>,
    /// Open model: the delivery check (arrivals planned, dropped, per stage) and its limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReport>,
    /// How close the generator came to its limit, and which side limited the load.
    #[serde(default)]
    pub saturation: SaturationReport,
}

/// Whether an open-model load was delivered: the share of arrivals dropped against its limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryReport {
    /// Where the limit comes from: `default`, `scenario` (a `dropped_rate` threshold), `flag`
    /// (`--max-dropped`) or `off` (`--allow-dropped`).
    pub check: String,
    /// The limit on the dropped share (a ratio); `None` when the check is off.
    pub limit: Option<f64>,
    /// Arrivals the schedule reached (started or dropped).
    pub arrivals: u64,
    pub dropped: u64,
    pub dropped_rate: f64,
    pub passed: bool,
    /// For people: how much of the planned load was delivered.
    pub message: String,
    /// Per stage of the plan, in order (one for a constant rate).
    pub stages: Vec<StageDeliveryReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageDeliveryReport {
    pub duration_s: f64,
    pub planned_rps: f64,
    pub achieved_rps: f64,
    pub arrivals: u64,
    pub dropped: u64,
}

/// The generator's own figures: is the harness, not the target, the limit?
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SaturationReport {
    /// CPU seconds (user + system) the harness process used during the load.
    pub cpu_seconds: f64,
    /// Share of the available cores used, 0..=1.
    pub cpu_share: f64,
    pub cores: u64,
    /// How late iterations started against their intended instant.
    pub start_lag_ms: Option<Latency>,
    /// The machine's 1-minute load average at the end (other processes compete above the
    /// core count); `None` where the system does not tell it.
    #[serde(default)]
    pub load_average: Option<f64>,
    /// `generator` or `target`: the side that limited the load, when arrivals were dropped or
    /// the generator was at its limit.
    pub limiter: Option<String>,
    /// The evidence, for people.
    pub explanation: Option<String>,
}

/// End-to-end latency: from a customer's injected message to the app's reply observed at the
/// simulated provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct E2eReport {
    /// Awaited replies (`await` steps executed).
    pub count: u64,
    /// Replies missing or not matching (and `expect: none` violated).
    pub failures: u64,
    /// Awaited replies that never came (no message observed before the timeout).
    #[serde(default)]
    pub missing: u64,
    pub latency_ms: Option<Latency>,
    pub histogram: Vec<Bucket>,
}

/// Where the run went (redacted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// `embedded` for the built-in simulators, else the target's name in `harness.yaml`,
    /// or `cli` when given by flags only.
    pub name: String,
    /// `evolution` or `meta`.
    pub provider: Option<String>,
    /// `simulated` or `real`.
    pub provider_mode: Option<String>,
    pub provider_url: Option<String>,
    pub app_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    /// `http`, `inject` or `await` (whose latency is end to end).
    pub kind: StepKind,
    /// Line of the step in the scenario file.
    pub line: usize,
    pub passed: bool,
    /// Not run: the step is for another provider (`provider:` on the step).
    #[serde(default)]
    pub skipped: bool,
    /// Requests sent (attempts included).
    pub requests: u64,
    /// Executions: one per run of the step (per iteration under load), however many attempts
    /// each took; the denominator of the step's error rate. Absent in reports of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executions: Option<u64>,
    /// Failed executions.
    pub failures: u64,
    pub attempts: u32,
    /// `None` when no response came back at all.
    pub latency_ms: Option<Latency>,
    /// Latency distribution for charts: `(upper bound in ms, count)`, logarithmic buckets.
    pub histogram: Vec<Bucket>,
}

/// What kind of step a row is: `await` steps' latencies are end to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Http,
    Inject,
    Await,
    /// `await: { call }`: the app's call to a dependency; its latency is the hop's.
    Call,
}

/// Latency percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

/// One second of a load run. Throughput (`iterations`, `requests`, `errors`) counts what
/// completed in the second; latencies and `failed_started` are placed by the second the
/// iterations were meant to *start* in, so a slow or failing stretch shows where it began.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondReport {
    /// Seconds since the start (the point covers [t_s, t_s + 1)).
    pub t_s: u64,
    /// Iterations completed in that second (= iterations per second).
    pub iterations: u64,
    /// Request steps completed in that second (= requests per second).
    pub requests: u64,
    /// Iterations completed in that second that failed.
    pub errors: u64,
    /// Iterations started in that second (dispatched; absent in reports of older versions).
    #[serde(default)]
    pub started: u64,
    /// Arrivals dropped in that second (the in-flight cap was reached).
    #[serde(default)]
    pub dropped: u64,
    /// Of the iterations started in that second, those that failed.
    #[serde(default)]
    pub failed_started: u64,
    /// Latency from the intended start of the iterations started in that second, ms.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Service time (from the actual start) p95 of the iterations started in that second, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_p95_ms: Option<f64>,
    /// End-to-end p95 of the iterations started in that second, ms (flows with `await` steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_p95_ms: Option<f64>,
    /// Highest number of iterations in flight seen during that second.
    pub in_flight: u64,
}

impl SecondReport {
    /// A second in which nothing completed.
    pub fn empty(t_s: u64) -> SecondReport {
        SecondReport {
            t_s,
            ..SecondReport::default()
        }
    }
}

/// A fault profile set on the simulated provider during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultReport {
    /// RFC 3339, UTC.
    pub set_at: String,
    pub profile: FaultProfileReport,
}

/// The rules of a fault profile, each as the simulator shows it (`GET /__harness/faults`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultProfileReport {
    pub rules: Vec<serde_json::Map<String, serde_json::Value>>,
}

impl FaultReport {
    /// One `(set_at, rule as JSON)` row per rule, for the renderers.
    pub fn rows(faults: &[FaultReport]) -> Vec<(String, String)> {
        faults
            .iter()
            .flat_map(|f| {
                f.profile.rules.iter().map(|r| {
                    (
                        f.set_at.clone(),
                        serde_json::Value::Object(r.clone()).to_string(),
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub le_ms: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub step: String,
    pub name: String,
    pub passed: bool,
    pub message: String,
    pub expected: String,
    pub observed: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdReport {
    /// `None` for scenario-level thresholds.
    pub step: Option<String>,
    pub expr: String,
    pub metric: String,
    pub condition: String,
    pub observed: Option<f64>,
    pub observed_display: String,
    /// The declared limit, in the metric's unit (ms for latencies, a ratio for rates): the
    /// line the HTML charts draw. Absent in reports of older versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<f64>,
    pub passed: bool,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureReport {
    pub step: String,
    pub line: usize,
    /// `check`, or the error kind: `template`, `invalid_request`, `connect`, `timeout`,
    /// `transport`.
    pub kind: String,
    pub message: String,
    pub request: Option<RequestReport>,
    pub response: Option<ResponseReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestReport {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseReport {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The run as a whole. One definition of failure: an iteration that failed any step (an HTTP
/// error, a failed check, a missing or wrong reply, a timeout) is a failed iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Requests of the `http` and `inject` steps (retried attempts included).
    pub requests: u64,
    /// Failed executions of `http` and `inject` steps.
    pub failures: u64,
    /// Iterations run: 1 for `harness run`, those completed under load.
    #[serde(default)]
    pub iterations: u64,
    #[serde(default)]
    pub failed_iterations: u64,
    /// `failed_iterations / iterations` (quick mode: per request, each its own iteration).
    pub error_rate: f64,
    /// Over the `http` and `inject` steps.
    pub latency_ms: Option<Latency>,
    pub checks_passed: usize,
    pub checks_failed: usize,
    /// Steps with no failure, with at least one, and not run (for another provider).
    #[serde(default)]
    pub steps_passed: usize,
    #[serde(default)]
    pub steps_failed: usize,
    #[serde(default)]
    pub steps_skipped: usize,
}

impl Totals {
    /// `3 passed / 1 failed / 2 skipped` (the skipped part only when there are some).
    pub fn steps_line(&self) -> String {
        let mut out = format!(
            "{} passed / {} failed",
            self.steps_passed, self.steps_failed
        );
        if self.steps_skipped > 0 {
            out += &format!(" / {} skipped", self.steps_skipped);
        }
        out
    }
}

/// Writes `report` as pretty JSON to `path`, creating its folder.
pub fn write_json(report: &Report, path: &std::path::Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    std::fs::write(path, json + "\n")
}

/// Reads a JSON report back (for `harness report` and `harness compare`).
pub fn read_json(path: &std::path::Path) -> Result<Report, ReadReportError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ReadReportError::Io(path.display().to_string(), e))?;
    parse_json(&text).map_err(|e| ReadReportError::Parse(path.display().to_string(), e))
}

/// Parses a JSON report (any schema version this harness reads, upgraded to the current one).
pub fn parse_json(text: &str) -> Result<Report, serde_json::Error> {
    let mut report: Report = serde_json::from_str(text)?;
    if report.schema_version < 2 {
        upgrade_v1(&mut report);
    }
    Ok(report)
}

/// A version-1 report has no iteration or step counts: they are derived from what it has
/// (its steps, its verdict, its load section), so summaries of old reports do not read "0 of 0".
/// Its `error_rate` becomes per iteration, as in version 2.
fn upgrade_v1(r: &mut Report) {
    let skipped = r.steps.iter().filter(|s| s.skipped).count();
    let failed = r.steps.iter().filter(|s| !s.skipped && !s.passed).count();
    r.totals.steps_skipped = skipped;
    r.totals.steps_failed = failed;
    r.totals.steps_passed = r.steps.len() - skipped - failed;
    let (iterations, failed_iterations) = match &r.load {
        Some(l) => (l.completed, l.failed),
        None => (1, u64::from(failed > 0)),
    };
    r.totals.iterations = iterations;
    r.totals.failed_iterations = failed_iterations;
    r.totals.error_rate =
        crate::metrics::Series::from_counts(iterations, failed_iterations).error_rate();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_report_gets_its_counts_from_its_steps_and_verdict() {
        let mut r = output::sample_report();
        r.schema_version = 1;
        r.totals.iterations = 0;
        r.totals.failed_iterations = 0;
        r.totals.steps_passed = 0;
        r.totals.steps_failed = 0;
        upgrade_v1(&mut r);
        let t = &r.totals;
        assert_eq!((t.steps_passed, t.steps_failed, t.steps_skipped), (1, 1, 0));
        assert_eq!(
            (t.iterations, t.failed_iterations, t.error_rate),
            (1, 1, 1.0)
        );
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("cannot read report {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not a harness JSON report: {1}")]
    Parse(String, serde_json::Error),
}
