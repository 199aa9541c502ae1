//! Merging the `load` sections of shard reports: counts summed, the per-second series aligned
//! on wall-clock seconds, the delivery check judged again on the summed arrivals.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::{
    buckets, latency, DeliveryReport, LoadReport, Report, SecondReport, StageDeliveryReport,
    ThresholdReport,
};
use crate::metrics::Series;
use crate::runner::check::compare;
use crate::scenario::{parse_threshold, Metric};
use crate::thresholds::format_value;

/// When a report's run started (the epoch when unreadable).
pub(super) fn started_at(r: &Report) -> SystemTime {
    humantime::parse_rfc3339_weak(&r.started_at).unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Sums of the `load` sections; the series aligned on wall-clock seconds from `start`.
pub(super) fn merged_load(
    reports: &[&Report],
    start: SystemTime,
    iterations: Option<&Series>,
    service: Option<&Series>,
) -> LoadReport {
    let loads: Vec<&LoadReport> = reports.iter().filter_map(|r| r.load.as_ref()).collect();
    let mut out = loads[0].clone();
    let sum = |f: fn(&LoadReport) -> u64| loads.iter().map(|l| f(l)).sum::<u64>();
    out.target_rps = loads.iter().map(|l| l.target_rps).sum::<Option<f64>>();
    out.achieved_rps = loads.iter().map(|l| l.achieved_rps).sum();
    out.iterations = sum(|l| l.iterations);
    out.completed = sum(|l| l.completed);
    out.failed = sum(|l| l.failed);
    out.dropped = sum(|l| l.dropped);
    out.abandoned = sum(|l| l.abandoned);
    out.duration_s = loads.iter().map(|l| l.duration_s).fold(0.0, f64::max);
    out.max_in_flight = loads.iter().map(|l| l.max_in_flight).sum();
    out.peak_in_flight = sum(|l| l.peak_in_flight);
    out.users = loads.iter().map(|l| l.users).sum();
    out.aborted = loads.iter().any(|l| l.aborted);
    out.latency_ms = iterations.and_then(latency);
    out.service_ms = service.and_then(latency);
    out.histogram = iterations.map(buckets).unwrap_or_default();
    out.errors = BTreeMap::new();
    out.status_codes = BTreeMap::new();
    for l in &loads {
        for (k, v) in &l.errors {
            *out.errors.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &l.status_codes {
            *out.status_codes.entry(k.clone()).or_default() += v;
        }
    }
    out.time_series = aligned_series(reports, start);
    out.delivery = merged_delivery(&loads);
    // The most loaded generator speaks for the merged run.
    if let Some(busiest) = loads
        .iter()
        .max_by(|a, b| a.saturation.cpu_share.total_cmp(&b.saturation.cpu_share))
    {
        out.saturation = busiest.saturation.clone();
    }
    out
}

/// The shards' delivery checks summed: arrivals and drops per stage and overall.
fn merged_delivery(loads: &[&LoadReport]) -> Option<DeliveryReport> {
    let all: Vec<&DeliveryReport> = loads.iter().filter_map(|l| l.delivery.as_ref()).collect();
    let first = *all.first()?;
    let mut out = first.clone();
    out.arrivals = all.iter().map(|d| d.arrivals).sum();
    out.dropped = all.iter().map(|d| d.dropped).sum();
    out.dropped_rate = Series::from_counts(out.arrivals, out.dropped).error_rate();
    for (i, stage) in out.stages.iter_mut().enumerate() {
        let each = || all.iter().filter_map(move |d| d.stages.get(i));
        *stage = StageDeliveryReport {
            duration_s: each().map(|s| s.duration_s).fold(0.0, f64::max),
            planned_rps: each().map(|s| s.planned_rps).sum(),
            achieved_rps: each().map(|s| s.achieved_rps).sum(),
            arrivals: each().map(|s| s.arrivals).sum(),
            dropped: each().map(|s| s.dropped).sum(),
        };
    }
    out.message = format!(
        "delivered {} of {} arrivals ({:.1} % of the planned load); {} dropped (merged)",
        out.arrivals - out.dropped,
        out.arrivals,
        100.0 * (1.0 - out.dropped_rate),
        out.dropped
    );
    Some(out)
}

/// Judges the delivery check again on the merged arrivals: the overall share and each stage's
/// against the limit, its row put back among the thresholds.
pub(super) fn reevaluate_delivery(load: &mut LoadReport, thresholds: &mut Vec<ThresholdReport>) {
    let Some(d) = load.delivery.as_mut() else {
        return;
    };
    let Some(limit) = d.limit else {
        d.passed = true;
        return;
    };
    let declared = thresholds
        .iter()
        .find(|t| t.metric == "dropped_rate")
        .cloned();
    let expr = declared.as_ref().map_or_else(
        || {
            format!(
                "dropped_rate < {}",
                format_value(Metric::DroppedRate, limit)
            )
        },
        |t| t.expr.clone(),
    );
    let Ok((_, _, comparison, value)) = parse_threshold(&expr) else {
        return;
    };
    let rate_of = |arrivals: u64, dropped: u64| Series::from_counts(arrivals, dropped).error_rate();
    d.passed = compare(comparison, d.dropped_rate, value)
        && d.stages
            .iter()
            .filter(|s| s.arrivals > 0)
            .all(|s| compare(comparison, rate_of(s.arrivals, s.dropped), value));
    thresholds.push(ThresholdReport {
        step: None,
        condition: expr.trim_start_matches("dropped_rate").trim().to_string(),
        expr,
        metric: "dropped_rate".into(),
        observed: Some(d.dropped_rate),
        observed_display: format_value(Metric::DroppedRate, d.dropped_rate),
        limit: Some(value),
        passed: d.passed,
        line: declared.map_or(0, |t| t.line),
    });
}

fn aligned_series(reports: &[&Report], start: SystemTime) -> Vec<SecondReport> {
    let mut by_second: BTreeMap<u64, SecondReport> = BTreeMap::new();
    let max = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    for r in reports {
        let offset = started_at(r)
            .duration_since(start)
            .unwrap_or_default()
            .as_secs_f64()
            .round() as u64;
        for p in r.load.iter().flat_map(|l| &l.time_series) {
            let t = p.t_s + offset;
            let e = by_second.entry(t).or_insert_with(|| SecondReport::empty(t));
            e.iterations += p.iterations;
            e.requests += p.requests;
            e.errors += p.errors;
            e.in_flight += p.in_flight;
            e.started += p.started;
            e.dropped += p.dropped;
            e.failed_started += p.failed_started;
            e.service_p95_ms = max(e.service_p95_ms, p.service_p95_ms);
            e.p50_ms = max(e.p50_ms, p.p50_ms);
            e.p95_ms = max(e.p95_ms, p.p95_ms);
            e.p99_ms = max(e.p99_ms, p.p99_ms);
            e.e2e_p95_ms = max(e.e2e_p95_ms, p.e2e_p95_ms);
        }
    }
    by_second.into_values().collect()
}
