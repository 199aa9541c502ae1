//! The report: one view model built from a run, rendered to JSON, the terminal and (later)
//! HTML, JUnit and Markdown. Every string in it has passed through the redactor.
//!
//! The JSON form is the stable interface (schema in `reports/schema.json`, documented in
//! `docs/report-format.md`); `harness report` and `harness compare` read it back.

pub mod chart;
pub mod compare;
pub mod compare_render;
pub mod extras;
pub mod hdr;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod output;
pub mod terminal;

use serde::{Deserialize, Serialize};

use crate::metrics::{LatencySummary, Series};
use crate::redact::Redactor;
use crate::runner::check::truncate;
use crate::runner::http::{Response, SentRequest};
use crate::runner::{ScenarioRun, StepKind};
use crate::scenario::Scenario;
use crate::thresholds::ThresholdResult;

/// Version of the JSON report's shape; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// Bodies kept in failure records are cut to this many characters.
const BODY_LIMIT: usize = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub harness_version: String,
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
    pub faults: Vec<crate::sim::faults::FaultEvent>,
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
    pub latency_ms: Option<LatencySummary>,
    /// Iteration latency from its actual start.
    pub service_ms: Option<LatencySummary>,
    pub histogram: Vec<Bucket>,
    /// Failed iterations by kind (`check`, `timeout`, `connect`, `http_5xx`, …).
    pub errors: std::collections::BTreeMap<String, u64>,
    /// One point per second.
    pub time_series: Vec<crate::load::TimePoint>,
}

/// End-to-end latency: from a customer's injected message to the app's reply observed at the
/// simulated provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct E2eReport {
    /// Awaited replies (`await` steps executed).
    pub count: u64,
    /// Replies missing or not matching (and `expect: none` violated).
    pub failures: u64,
    pub latency_ms: Option<LatencySummary>,
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
    /// Failed executions.
    pub failures: u64,
    pub attempts: u32,
    /// `None` when no response came back at all.
    pub latency_ms: Option<LatencySummary>,
    /// Latency distribution for charts: `(upper bound in ms, count)`, logarithmic buckets.
    pub histogram: Vec<Bucket>,
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub requests: u64,
    pub failures: u64,
    pub error_rate: f64,
    pub latency_ms: Option<LatencySummary>,
    pub checks_passed: usize,
    pub checks_failed: usize,
}

/// Builds the report of a functional run. Every string passes through `redactor`.
pub fn build(
    scenario: &Scenario,
    run: &ScenarioRun,
    thresholds: &[ThresholdResult],
    target: &TargetReport,
    redactor: &Redactor,
) -> Report {
    let r = |s: &str| redactor.redact(s);
    let mut steps = Vec::with_capacity(run.steps.len());
    let mut checks = Vec::new();
    let mut failures = Vec::new();
    let (all, e2e) = run.series();
    for step in &run.steps {
        steps.push(StepReport {
            name: r(&step.name),
            kind: step.kind,
            skipped: step.skipped,
            line: step.span.line,
            passed: step.passed,
            requests: step.series.count,
            failures: step.series.failures,
            attempts: step.attempts,
            latency_ms: step.series.summary(),
            histogram: buckets(&step.series),
        });
        for c in &step.checks {
            checks.push(CheckReport {
                step: r(&step.name),
                name: r(&c.name),
                passed: c.passed,
                message: r(&c.message()),
                expected: r(&c.expected),
                observed: r(&c.observed),
                line: c.span.line,
            });
        }
        let request = step.request.as_ref().map(|q| request_report(q, redactor));
        let response = step.response.as_ref().map(|p| response_report(p, redactor));
        if let Some(e) = &step.error {
            failures.push(FailureReport {
                step: r(&step.name),
                line: step.span.line,
                kind: serde_json::to_value(&e.kind)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                message: r(&e.message),
                request: request.clone(),
                response: response.clone(),
            });
        }
        for c in step.checks.iter().filter(|c| !c.passed) {
            failures.push(FailureReport {
                step: r(&step.name),
                line: c.span.line,
                kind: "check".into(),
                message: r(&c.message()),
                request: request.clone(),
                response: response.clone(),
            });
        }
    }
    let thresholds: Vec<ThresholdReport> = thresholds
        .iter()
        .map(|t| ThresholdReport {
            step: t.step.as_deref().map(r),
            expr: r(&t.expr),
            metric: t.metric.clone(),
            condition: r(&t.condition),
            observed: t.observed,
            observed_display: t.observed_display.clone(),
            passed: t.passed,
            line: t.span.line,
        })
        .collect();
    let checks_failed = checks.iter().filter(|c| !c.passed).count();
    let passed = !run.interrupted
        && run.steps.iter().all(|s| s.passed)
        && thresholds.iter().all(|t| t.passed);
    Report {
        schema_version: SCHEMA_VERSION,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        scenario: r(&scenario.name),
        description: scenario.description.as_deref().map(r),
        file: scenario.path.display().to_string(),
        passed,
        interrupted: run.interrupted,
        started_at: humantime::format_rfc3339_millis(run.started_at).to_string(),
        duration_s: run.elapsed.as_secs_f64(),
        target: TargetReport {
            name: target.name.clone(),
            provider: target.provider.clone(),
            provider_mode: target.provider_mode.clone(),
            provider_url: target.provider_url.as_deref().map(r),
            app_url: target.app_url.as_deref().map(r),
        },
        steps,
        totals: Totals {
            requests: all.count,
            failures: all.failures,
            error_rate: all.error_rate(),
            latency_ms: all.summary(),
            checks_passed: checks.len() - checks_failed,
            checks_failed,
        },
        checks,
        thresholds,
        failures,
        e2e: run
            .steps
            .iter()
            .any(|s| s.kind == StepKind::Await)
            .then(|| E2eReport {
                count: e2e.count,
                failures: e2e.failures,
                latency_ms: e2e.summary(),
                histogram: buckets(&e2e),
            }),
        load: None,
        faults: Vec::new(),
        scenario_hash: Some(hdr::scenario_hash(scenario)),
        histograms: Some(hdr::Histograms::of(run)),
        shard: None,
    }
}

/// The latency distribution of `series` as chart buckets.
pub fn buckets(series: &Series) -> Vec<Bucket> {
    series
        .buckets()
        .into_iter()
        .map(|(le_ms, count)| Bucket { le_ms, count })
        .collect()
}

fn request_report(q: &SentRequest, redactor: &Redactor) -> RequestReport {
    RequestReport {
        method: q.method.clone(),
        url: redact_url(&q.url, redactor),
        headers: q
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), redactor.redact_named(k, v)))
            .collect(),
        body: q
            .body
            .as_deref()
            .map(|b| truncate(&redact_body(b, redactor), BODY_LIMIT)),
    }
}

fn response_report(p: &Response, redactor: &Redactor) -> ResponseReport {
    ResponseReport {
        status: p.status,
        headers: p
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), redactor.redact_named(k, v)))
            .collect(),
        body: truncate(&redact_body(&p.text(), redactor), BODY_LIMIT),
    }
}

/// A JSON body has its sensitive keys masked whole; any body has known secrets masked.
fn redact_body(body: &str, redactor: &Redactor) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) if v.is_object() || v.is_array() => redactor.redact_json(&v).to_string(),
        _ => redactor.redact(body),
    }
}

/// Masks known secrets and the values of sensitive query parameters.
fn redact_url(url: &str, redactor: &Redactor) -> String {
    crate::redact::mask_sensitive_query(&redactor.redact(url))
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
    serde_json::from_str(&text).map_err(|e| ReadReportError::Parse(path.display().to_string(), e))
}

#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("cannot read report {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not a harness JSON report: {1}")]
    Parse(String, serde_json::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_sensitive_query_values_and_known_secrets() {
        let r = Redactor::new();
        r.add("sekret-token");
        assert_eq!(
            redact_url(
                "http://h/p/sekret-token?hub.verify_token=abc&hub.challenge=42",
                &r
            ),
            "http://h/p/***?hub.verify_token=***&hub.challenge=42"
        );
    }

    #[test]
    fn json_bodies_lose_sensitive_keys() {
        let r = Redactor::new();
        assert_eq!(
            redact_body(r#"{"token":"abc","x":1}"#, &r),
            r#"{"token":"***","x":1}"#
        );
        assert_eq!(redact_body("plain", &r), "plain");
    }
}
