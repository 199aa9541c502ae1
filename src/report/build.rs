//! Building the report of a run: the runner's results, the thresholds' verdicts and the
//! target, converted into the report's own types, every string through the redactor.

use super::{
    hdr, Bucket, CheckReport, E2eReport, FailureReport, Latency, Report, RequestReport,
    ResponseReport, StepKind, StepReport, TargetReport, ThresholdReport, Totals, SCHEMA_VERSION,
};
use crate::metrics::{LatencySummary, Series};
use crate::redact::Redactor;
use crate::runner::check::truncate;
use crate::runner::http::{Response, SentRequest};
use crate::runner::StepKind as RunStepKind;
use crate::runner::{ScenarioRun, StepResult};
use crate::scenario::Scenario;
use crate::thresholds::ThresholdResult;

/// Bodies kept in failure records are cut to this many characters.
const BODY_LIMIT: usize = 2048;

impl From<RunStepKind> for StepKind {
    fn from(k: RunStepKind) -> Self {
        match k {
            RunStepKind::Http => StepKind::Http,
            RunStepKind::Inject => StepKind::Inject,
            RunStepKind::Await => StepKind::Await,
            RunStepKind::Call => StepKind::Call,
        }
    }
}

impl From<LatencySummary> for Latency {
    fn from(l: LatencySummary) -> Self {
        let LatencySummary {
            min,
            p50,
            p90,
            p95,
            p99,
            max,
            mean,
        } = l;
        Latency {
            min,
            p50,
            p90,
            p95,
            p99,
            max,
            mean,
        }
    }
}

/// The percentiles of `series`, `None` without samples.
pub fn latency(series: &Series) -> Option<Latency> {
    series.summary().map(Latency::from)
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
    let (mut checks, mut failures) = (Vec::new(), Vec::new());
    for step in &run.steps {
        step_outcomes(step, redactor, &mut checks, &mut failures);
    }
    let thresholds: Vec<ThresholdReport> = thresholds
        .iter()
        .map(|t| threshold_report(t, redactor))
        .collect();
    let passed = !run.interrupted
        && run.steps.iter().all(|s| s.passed)
        && thresholds.iter().all(|t| t.passed);
    let (all, e2e) = run.series();
    Report {
        schema_version: SCHEMA_VERSION,
        harness_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: String::new(),
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
        steps: run.steps.iter().map(|s| step_report(s, redactor)).collect(),
        totals: totals(run, &all, &checks),
        checks,
        thresholds,
        failures,
        e2e: run
            .steps
            .iter()
            .any(|s| s.kind == RunStepKind::Await)
            .then(|| E2eReport {
                count: e2e.executions,
                failures: e2e.failures,
                missing: e2e.failed_unsampled,
                latency_ms: latency(&e2e),
                histogram: buckets(&e2e),
            }),
        load: None,
        faults: Vec::new(),
        scenario_hash: Some(hdr::scenario_hash(scenario)),
        histograms: Some(hdr::Histograms::of(run)),
        shard: None,
        watch: None,
        transcripts: super::transcript::of_steps(&run.steps, redactor)
            .into_iter()
            .collect(),
        hops: super::hops::of_steps(&run.steps, redactor),
    }
}

fn step_report(step: &StepResult, redactor: &Redactor) -> StepReport {
    StepReport {
        name: redactor.redact(&step.name),
        kind: step.kind.into(),
        skipped: step.skipped,
        line: step.span.line,
        passed: step.passed,
        requests: step.series.count,
        executions: Some(step.series.executions),
        failures: step.series.failures,
        attempts: step.attempts,
        latency_ms: latency(&step.series),
        histogram: buckets(&step.series),
    }
}

/// A step's checks, and its failures (the failed exchange, each failed check) with the
/// request and response they came with.
fn step_outcomes(
    step: &StepResult,
    redactor: &Redactor,
    checks: &mut Vec<CheckReport>,
    failures: &mut Vec<FailureReport>,
) {
    let r = |s: &str| redactor.redact(s);
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
    let failure = |line: usize, kind: &str, message: String| FailureReport {
        step: r(&step.name),
        line,
        kind: kind.to_string(),
        message,
        request: request.clone(),
        response: response.clone(),
    };
    if let Some(e) = &step.error {
        failures.push(failure(step.span.line, e.kind.as_str(), r(&e.message)));
    }
    for c in step.checks.iter().filter(|c| !c.passed) {
        failures.push(failure(c.span.line, "check", r(&c.message())));
    }
}

fn threshold_report(t: &ThresholdResult, redactor: &Redactor) -> ThresholdReport {
    ThresholdReport {
        step: t.step.as_deref().map(|s| redactor.redact(s)),
        expr: redactor.redact(&t.expr),
        metric: t.metric.clone(),
        condition: redactor.redact(&t.condition),
        observed: t.observed,
        observed_display: t.observed_display.clone(),
        limit: Some(t.limit),
        passed: t.passed,
        line: t.span.line,
    }
}

fn totals(run: &ScenarioRun, requests: &Series, checks: &[CheckReport]) -> Totals {
    let (checks_passed, checks_failed) = match run.check_counts {
        Some(n) => (n.passed as usize, n.failed as usize),
        None => {
            let failed = checks.iter().filter(|c| !c.passed).count();
            (checks.len() - failed, failed)
        }
    };
    let skipped = run.steps.iter().filter(|s| s.skipped).count();
    let failed = run.steps.iter().filter(|s| !s.skipped && !s.passed).count();
    Totals {
        requests: requests.count,
        failures: requests.failures,
        iterations: run.iterations.executions,
        failed_iterations: run.iterations.failures,
        error_rate: run.iterations.error_rate(),
        latency_ms: latency(requests),
        checks_passed,
        checks_failed,
        steps_passed: run.steps.len() - skipped - failed,
        steps_failed: failed,
        steps_skipped: skipped,
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
