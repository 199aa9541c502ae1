//! `harness load`'s results as a report: the merged records as a run of the scenario's
//! steps (so thresholds and the report work as for `harness run`), plus the `load` section.

use crate::load::{self, LoadResult, Plan};
use crate::redact::Redactor;
use crate::report::{self, LoadReport, Report, TargetReport};
use crate::runner::{ScenarioRun, StepKind, StepResult};
use crate::scenario::Scenario;
use crate::thresholds;

/// The merged records as a run of the scenario's steps (one step result per step, with
/// its first failure as the sample), so thresholds and the report work as for `harness run`.
/// A step passes when the scenario has thresholds (they decide) or it never failed.
pub fn scenario_run(scenario: &Scenario, result: &LoadResult) -> ScenarioRun {
    let gated =
        !scenario.thresholds.is_empty() || scenario.steps.iter().any(|s| !s.thresholds.is_empty());
    let steps = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let series = result.records.steps.get(i).cloned().unwrap_or_default();
            let sample = result
                .records
                .samples
                .get(i)
                .cloned()
                .flatten()
                .unwrap_or_default();
            StepResult {
                name: step.name.clone(),
                span: step.span,
                kind: StepKind::of(&step.action),
                attempts: u32::try_from(series.count).unwrap_or(u32::MAX),
                passed: gated || series.failures == 0,
                checks: sample.checks,
                error: sample.error,
                request: sample.request,
                response: sample.response,
                // A step for another provider never runs, so it has no samples.
                skipped: step.provider.is_some() && series.count == 0,
                series,
            }
        })
        .collect();
    ScenarioRun {
        started_at: result.started_at,
        elapsed: result.scheduled,
        interrupted: result.interrupted,
        steps,
    }
}

/// Thresholds, the report, and its `load` section.
pub(super) fn finish(
    scenario: &Scenario,
    result: &LoadResult,
    plan: &Plan,
    cap: usize,
    target: &TargetReport,
    redactor: &Redactor,
) -> Report {
    let run = scenario_run(scenario, result);
    let verdicts = thresholds::evaluate_run(scenario, &run);
    let mut report = report::build(scenario, &run, &verdicts, target, redactor);
    report.passed = report.passed && !result.aborted;
    report.load = Some(load_report(result, plan, cap));
    report.histograms = report.histograms.map(|h| h.with_load(&result.records));
    report
}

pub fn load_report(result: &LoadResult, plan: &Plan, cap: usize) -> LoadReport {
    let r = &result.records;
    let (model, users, think, poisson) = match plan {
        Plan::Open { poisson, .. } => ("open", None, None, *poisson),
        Plan::Closed { users, think, .. } => (
            "closed",
            Some(*users as u64),
            Some(think.as_secs_f64() * 1000.0),
            false,
        ),
    };
    LoadReport {
        model: model.into(),
        target_rps: plan.target_rps(),
        achieved_rps: result.achieved_rps(),
        iterations: result.started,
        completed: r.iterations.count,
        failed: r.iterations.failures,
        dropped: result.dropped,
        abandoned: result.abandoned,
        duration_s: result.scheduled.as_secs_f64(),
        max_in_flight: (model == "open").then_some(cap as u64),
        peak_in_flight: result.peak_in_flight,
        users,
        think_time_ms: think,
        poisson,
        aborted: result.aborted,
        latency_ms: r.iterations.summary(),
        service_ms: r.service.summary(),
        histogram: report::buckets(&r.iterations),
        errors: r.errors.clone(),
        time_series: load::timeline::fill_gaps(
            result.timeline.clone(),
            result.scheduled.as_secs_f64().ceil() as u64,
        ),
    }
}

/// The load section for the terminal.
pub fn load_summary(l: &LoadReport) -> String {
    let target = l
        .target_rps
        .map_or(String::new(), |t| format!("target {t:.1} it/s, "));
    let users = l.users.map_or(String::new(), |u| format!(", {u} users"));
    let mut out = format!(
        "load: {} model{users}, {target}achieved {:.1} it/s over {:.1}s\n",
        l.model, l.achieved_rps, l.duration_s
    );
    out += &format!(
        "iterations: {} started, {} completed, {} failed, {} dropped, {} abandoned; peak in flight {}\n",
        l.iterations, l.completed, l.failed, l.dropped, l.abandoned, l.peak_in_flight
    );
    let fmt = |s: &Option<crate::metrics::LatencySummary>| {
        s.map_or("no samples".to_string(), |s| {
            format!(
                "p50 {:.1}ms  p95 {:.1}ms  p99 {:.1}ms  max {:.1}ms",
                s.p50, s.p95, s.p99, s.max
            )
        })
    };
    out += &format!("latency from intended start: {}\n", fmt(&l.latency_ms));
    out += &format!("service time:                {}\n", fmt(&l.service_ms));
    if !l.errors.is_empty() {
        let kinds: Vec<String> = l.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out += &format!("errors: {}\n", kinds.join(", "));
    }
    out
}
