//! A scenario run (and a saved report, for baselines) turned into what the rules judge.

use super::eval::{Figures, Latencies, RunRecord, Sample};
use crate::metrics::Series;
use crate::runner::{ScenarioRun, StepKind};
use crate::thresholds::ThresholdResult;

/// A run's record: passed when every step and threshold passed and nothing interrupted it.
pub fn from_run(
    run: &ScenarioRun,
    verdicts: &[ThresholdResult],
    (started_ms, at_ms): (u64, u64),
    samples: Vec<Sample>,
) -> RunRecord {
    let passed = !run.interrupted
        && !run.steps.is_empty()
        && run.steps.iter().all(|s| s.passed)
        && verdicts.iter().all(|v| v.passed);
    let (requests, e2e) = run.series();
    let steps = run
        .steps
        .iter()
        .filter(|s| !s.skipped)
        .filter_map(|s| latencies(&s.series).map(|l| (s.name.clone(), l)))
        .collect();
    RunRecord {
        at_ms,
        started_ms,
        passed,
        figures: Figures {
            requests: latencies(&requests),
            e2e: latencies(&e2e),
            steps,
        },
        samples,
    }
}

/// Whether any step of the run is an `await` (for the terminal line).
pub fn has_e2e(run: &ScenarioRun) -> bool {
    run.steps.iter().any(|s| s.kind == StepKind::Await)
}

fn latencies(series: &Series) -> Option<Latencies> {
    series.summary()
}

/// A saved JSON report's figures, for `… of baseline` rules: `totals.latency_ms`,
/// `e2e.latency_ms` and each step's `latency_ms`.
pub fn baseline_from_json(report: &serde_json::Value) -> Figures {
    let lat = |v: &serde_json::Value| -> Option<Latencies> {
        let f = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
        Some(Latencies {
            min: f("min")?,
            p50: f("p50")?,
            p90: f("p90")?,
            p95: f("p95")?,
            p99: f("p99")?,
            max: f("max")?,
            mean: f("mean")?,
        })
    };
    let steps = report
        .get("steps")
        .and_then(serde_json::Value::as_array)
        .map(|steps| {
            steps
                .iter()
                .filter_map(|s| {
                    let name = s.get("name")?.as_str()?.to_string();
                    Some((name, lat(s.get("latency_ms")?)?))
                })
                .collect()
        })
        .unwrap_or_default();
    Figures {
        requests: report.pointer("/totals/latency_ms").and_then(lat),
        e2e: report.pointer("/e2e/latency_ms").and_then(lat),
        steps,
    }
}
