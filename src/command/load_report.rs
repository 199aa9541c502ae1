//! `harness load`'s results as a report: the merged records as a run of the scenario's
//! steps (so thresholds and the report work as for `harness run`), plus the `load` section.

use crate::load::flow::KeptIteration;
use crate::load::{self, LoadResult, Plan};
use crate::metrics::Series;
use crate::redact::Redactor;
use crate::report::transcript::{self, TranscriptReport};
use crate::report::{
    self, DeliveryReport, LoadReport, Report, SaturationReport, StageDeliveryReport, TargetReport,
};
use crate::runner::{ScenarioRun, StepKind, StepResult};
use crate::scenario::{Metric, Scenario};
use crate::thresholds::{self, delivery};
use delivery::{Delivery, LimitSource, Saturation, StageFigures};

/// How the delivery check of an open-model run is set on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DeliveryFlags {
    /// `--allow-dropped`: the check is off.
    pub allow_dropped: bool,
    /// `--max-dropped`: the limit on the dropped share (a ratio).
    pub max_dropped: Option<f64>,
}

/// The limit in force: the command line, else the scenario's `dropped_rate`, else the default.
pub fn limit_source(flags: DeliveryFlags, scenario: &Scenario) -> LimitSource {
    let in_file = scenario
        .thresholds
        .iter()
        .find(|t| t.metric == Metric::DroppedRate);
    if flags.allow_dropped {
        LimitSource::Off
    } else if let Some(v) = flags.max_dropped {
        LimitSource::Flag(v)
    } else if let Some(t) = in_file {
        LimitSource::Scenario(t.clone())
    } else {
        LimitSource::Default
    }
}

/// The merged records as a run of the scenario's steps (one step result per step, with
/// its first failure as the sample), so thresholds and the report work as for `harness run`.
/// A step passes when it never failed (the verdict is [`finish`]'s).
pub fn scenario_run(scenario: &Scenario, result: &LoadResult) -> ScenarioRun {
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
                passed: series.failures == 0,
                checks: sample.checks,
                error: sample.error,
                request: sample.request,
                response: sample.response,
                message: None,
                service: crate::runner::service_of(&step.action),
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
        iterations: Series::from_counts(
            result.records.iterations.executions,
            result.records.iterations.failures,
        ),
        check_counts: Some(result.records.checks),
        steps,
    }
}

/// What [`finish`] needs besides the result.
pub struct FinishContext<'a> {
    pub plan: &'a Plan,
    pub cap: usize,
    pub target: &'a TargetReport,
    pub redactor: &'a Redactor,
    pub delivery: DeliveryFlags,
}

/// Thresholds, the delivery check, the report and its `load` section.
///
/// The verdict: not interrupted or aborted, every threshold (the delivery check included)
/// passed, and — unless the scenario states how many errors it tolerates with an
/// `error_rate` threshold — no failed iteration.
pub(super) fn finish(scenario: &Scenario, result: &LoadResult, cx: &FinishContext) -> Report {
    let run = scenario_run(scenario, result);
    let mut verdicts = thresholds::evaluate_run(scenario, &run);
    let delivery = matches!(cx.plan, Plan::Open { .. }).then(|| {
        delivery::check(
            limit_source(cx.delivery, scenario),
            stage_figures(cx.plan, result),
        )
    });
    verdicts.extend(delivery.as_ref().and_then(|d| d.threshold.clone()));
    let mut report = report::build(scenario, &run, &verdicts, cx.target, cx.redactor);
    let tolerates_errors = scenario
        .thresholds
        .iter()
        .chain(scenario.steps.iter().flat_map(|s| &s.thresholds))
        .any(|t| t.metric == Metric::ErrorRate);
    report.passed = !run.interrupted
        && !result.aborted
        && report.thresholds.iter().all(|t| t.passed)
        && (tolerates_errors || run.iterations.failures == 0);
    let mut load = load_report(result, cx.plan, cx.cap);
    load.delivery = delivery.map(delivery_report);
    load.saturation = saturation(result, cx, &load);
    report.load = Some(load);
    // The merged steps carry no conversation; the kept iterations' are added by the caller.
    report.transcripts = Vec::new();
    report.histograms = report.histograms.map(|h| h.with_load(&result.records));
    report
}

/// Per stage of an open plan: its planned mean rate with the arrivals and drops counted.
fn stage_figures(plan: &Plan, result: &LoadResult) -> Vec<StageFigures> {
    let Plan::Open { stages, .. } = plan else {
        return Vec::new();
    };
    stages
        .iter()
        .zip(
            result
                .stages
                .iter()
                .chain(std::iter::repeat(&Default::default())),
        )
        .map(|(s, a)| StageFigures {
            duration_s: s.duration.as_secs_f64(),
            planned_rps: (s.from_rps + s.to_rps) / 2.0,
            arrivals: a.arrivals,
            dropped: a.dropped,
        })
        .collect()
}

fn delivery_report(d: Delivery) -> DeliveryReport {
    DeliveryReport {
        check: d.source.as_str().into(),
        limit: d.source.limit(),
        arrivals: d.arrivals,
        dropped: d.dropped,
        dropped_rate: if d.arrivals == 0 {
            0.0
        } else {
            d.dropped as f64 / d.arrivals as f64
        },
        passed: d.passed,
        message: d.message,
        stages: d
            .stages
            .iter()
            .map(|s| StageDeliveryReport {
                duration_s: s.duration_s,
                planned_rps: s.planned_rps,
                achieved_rps: s.achieved_rps(),
                arrivals: s.arrivals,
                dropped: s.dropped,
            })
            .collect(),
    }
}

/// The generator's figures, and which side limited the load.
fn saturation(result: &LoadResult, cx: &FinishContext, load: &LoadReport) -> SaturationReport {
    let r = &result.records;
    let s = Saturation {
        cpu_share: result.cpu.share(),
        cores: result.cpu.cores,
        start_lag_p99_ms: r.start_lag.quantile_ms(0.99),
        service_p50_ms: r.service.quantile_ms(0.50),
        cap: cx.cap as u64,
        peak_in_flight: result.peak_in_flight,
        planned_rps: load.target_rps,
        embedded: cx.target.name == "embedded",
        load_average: delivery::load_average(),
    };
    let diagnosis = delivery::diagnose(&s, result.dropped);
    SaturationReport {
        cpu_seconds: result.cpu.seconds,
        cpu_share: s.cpu_share,
        cores: s.cores as u64,
        start_lag_ms: report::latency(&r.start_lag),
        load_average: s.load_average,
        limiter: diagnosis.as_ref().map(|(l, _)| l.as_str().to_string()),
        explanation: diagnosis.map(|(_, why)| why),
    }
}

/// The conversations of the kept iterations (failed first, then the slowest), redacted.
pub fn kept_transcripts(kept: Vec<KeptIteration>, redactor: &Redactor) -> Vec<TranscriptReport> {
    kept.into_iter()
        .filter_map(|k| {
            let t = transcript::of_steps(&k.steps, redactor)?;
            Some(TranscriptReport {
                kept_as: Some(if k.failed { "failed" } else { "slowest" }.into()),
                duration_ms: Some(k.duration.as_secs_f64() * 1000.0),
                ..t
            })
        })
        .collect()
}

/// One point of the engine's time series as the report shows it.
fn second_report(p: load::TimePoint) -> report::SecondReport {
    let load::TimePoint {
        t_s,
        iterations,
        requests,
        errors,
        started,
        dropped,
        failed_started,
        p50_ms,
        p95_ms,
        p99_ms,
        service_p95_ms,
        e2e_p95_ms,
        in_flight,
    } = p;
    report::SecondReport {
        t_s,
        iterations,
        requests,
        errors,
        started,
        dropped,
        failed_started,
        p50_ms,
        p95_ms,
        p99_ms,
        service_p95_ms,
        e2e_p95_ms,
        in_flight,
    }
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
        max_in_flight: matches!(plan, Plan::Open { .. }).then_some(cap as u64),
        peak_in_flight: result.peak_in_flight,
        users,
        think_time_ms: think,
        poisson,
        aborted: result.aborted,
        latency_ms: report::latency(&r.iterations),
        service_ms: report::latency(&r.service),
        histogram: report::buckets(&r.iterations),
        errors: r.errors.clone(),
        status_codes: r
            .statuses
            .iter()
            .map(|(s, n)| (s.to_string(), *n))
            .collect(),
        time_series: load::timeline::fill_gaps(
            result.timeline.clone(),
            result.scheduled.as_secs_f64().ceil() as u64,
        )
        .into_iter()
        .map(second_report)
        .collect(),
        delivery: None,
        saturation: SaturationReport::default(),
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
    let fmt = |s: &Option<report::Latency>| {
        s.map_or("no samples".to_string(), |s| {
            format!(
                "p50 {:.1}ms  p95 {:.1}ms  p99 {:.1}ms  max {:.1}ms",
                s.p50, s.p95, s.p99, s.max
            )
        })
    };
    out += &format!("latency from intended start: {}\n", fmt(&l.latency_ms));
    out += &format!("service time:                {}\n", fmt(&l.service_ms));
    let lag = l.saturation.start_lag_ms.map_or(String::new(), |s| {
        format!(
            ", iterations started up to {} late (p99)",
            thresholds::format_ms(s.p99)
        )
    });
    out += &format!(
        "generator: {:.0} % of {} core{} used{lag}\n",
        100.0 * l.saturation.cpu_share,
        l.saturation.cores,
        if l.saturation.cores == 1 { "" } else { "s" },
    );
    if let Some(d) = &l.delivery {
        out += &format!("delivery: {}\n", d.message);
    }
    if let Some(why) = &l.saturation.explanation {
        out += &format!("limit: {why}\n");
    }
    if !l.errors.is_empty() {
        let kinds: Vec<String> = l.errors.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out += &format!("errors: {}\n", kinds.join(", "));
    }
    // Quick mode, as oha prints it: the latency histogram and the status codes.
    if !l.status_codes.is_empty() {
        out += "latency histogram (from the intended start):\n";
        for line in report::histogram_lines(&l.histogram, 40) {
            out += &format!("{line}\n");
        }
        out += "status codes:\n";
        for line in report::status_lines(&l.status_codes) {
            out += &format!("{line}\n");
        }
    }
    out
}
