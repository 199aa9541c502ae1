//! Threshold evaluation: a declared [`ThresholdSpec`] against the samples it covers gives a
//! [`ThresholdResult`] with the observed value. Parsing of the expressions lives with the
//! scenario parser (`scenario::threshold`).

use std::time::Duration;

use crate::metrics::Series;
use crate::runner::check::compare;
use crate::runner::ScenarioRun;
use crate::scenario::threshold::symbol;
use crate::scenario::{Metric, Scenario, Series as SeriesKind, Span, ThresholdSpec};

pub mod delivery;

/// The verdict on one threshold.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ThresholdResult {
    /// The expression as written, e.g. `p95 < 500ms`.
    pub expr: String,
    /// The step it belongs to; `None` for scenario-level thresholds.
    pub step: Option<String>,
    /// `p95`, `e2e p95`, `error_rate`, …
    pub metric: String,
    /// `< 500ms`.
    pub condition: String,
    /// The observed value in the metric's unit (ms, ratio, count, req/s); `None` when there
    /// was nothing to observe (no samples), which fails the threshold.
    pub observed: Option<f64>,
    /// The observed value for people: `612.3ms`, `2.5%`.
    pub observed_display: String,
    /// The declared limit in the metric's unit (ms, ratio, count, req/s): what charts draw.
    pub limit: f64,
    pub passed: bool,
    /// Where the threshold was declared.
    #[serde(skip)]
    pub span: Span,
}

/// Evaluates `spec` over `series` (run over `elapsed`, for `rps`).
pub fn evaluate(
    spec: &ThresholdSpec,
    step: Option<&str>,
    series: &Series,
    elapsed: Duration,
) -> ThresholdResult {
    let observed = observe(spec.metric, series, elapsed);
    let passed = observed.is_some_and(|v| compare(spec.comparison, v, spec.value));
    let metric = metric_label(spec.series, spec.metric);
    let condition = spec
        .expr
        .strip_prefix(metric.as_str())
        .map(str::trim)
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "{} {}",
                symbol(spec.comparison),
                format_value(spec.metric, spec.value)
            )
        });
    ThresholdResult {
        expr: spec.expr.clone(),
        step: step.map(str::to_string),
        metric,
        condition,
        observed,
        observed_display: observed.map_or_else(
            || "no samples".to_string(),
            |v| format_value(spec.metric, v),
        ),
        limit: spec.value,
        passed,
        span: spec.span,
    }
}

/// Evaluates every threshold of a run: each step's over its own samples; the scenario's over
/// all steps' samples together — request latencies (`http`, `inject` steps) for plain metrics,
/// end-to-end latencies (`await` steps) for `e2e` ones.
pub fn evaluate_run(scenario: &Scenario, run: &ScenarioRun) -> Vec<ThresholdResult> {
    let mut out = Vec::new();
    let (requests, e2e) = run.series();
    for step in &scenario.steps {
        let empty = Series::new();
        let result = run.steps.iter().find(|r| r.name == step.name);
        if result.is_some_and(|r| r.skipped) {
            continue;
        }
        let series = result.map_or(&empty, |r| &r.series);

        out.extend(
            step.thresholds
                .iter()
                .map(|t| evaluate(t, Some(&step.name), series, run.elapsed)),
        );
    }
    // `dropped_rate` is judged by the load's delivery check (`delivery`), which knows the
    // arrivals; a functional run has none.
    let scenario_level = scenario
        .thresholds
        .iter()
        .filter(|t| t.metric != Metric::DroppedRate);
    out.extend(scenario_level.map(|t| {
        let series = match (t.series, t.metric) {
            // One definition of failure: the share of iterations that failed any step.
            (SeriesKind::Latency, Metric::ErrorRate) => &run.iterations,
            (SeriesKind::Latency, _) => &requests,
            (SeriesKind::E2e, _) => &e2e,
        };
        evaluate(t, None, series, run.elapsed)
    }));
    out
}

fn observe(metric: Metric, series: &Series, elapsed: Duration) -> Option<f64> {
    match metric {
        Metric::P50 => series.quantile_ms(0.50),
        Metric::P90 => series.quantile_ms(0.90),
        Metric::P95 => series.quantile_ms(0.95),
        Metric::P99 => series.quantile_ms(0.99),
        Metric::Max => series.summary().map(|s| s.max),
        Metric::Mean => series.summary().map(|s| s.mean),
        Metric::ErrorRate => (series.executions > 0).then(|| series.error_rate()),
        // Evaluated by `delivery` over the arrivals, never over a series.
        Metric::DroppedRate => None,
        Metric::Count => Some(series.count as f64),
        Metric::Rps => {
            let secs = elapsed.as_secs_f64();
            (secs > 0.0).then(|| series.count as f64 / secs)
        }
    }
}

pub fn metric_label(series: SeriesKind, metric: Metric) -> String {
    let name = match metric {
        Metric::P50 => "p50",
        Metric::P90 => "p90",
        Metric::P95 => "p95",
        Metric::P99 => "p99",
        Metric::Max => "max",
        Metric::Mean => "mean",
        Metric::ErrorRate => "error_rate",
        Metric::Count => "count",
        Metric::Rps => "rps",
        Metric::DroppedRate => "dropped_rate",
    };
    match series {
        SeriesKind::Latency => name.to_string(),
        SeriesKind::E2e => format!("e2e {name}"),
    }
}

/// A metric's value in its unit, for people.
pub fn format_value(metric: Metric, value: f64) -> String {
    match metric {
        Metric::ErrorRate | Metric::DroppedRate => format!("{}%", round(value * 100.0)),
        Metric::Count => format!("{value}"),
        Metric::Rps => format!("{}/s", round(value)),
        _ => format_ms(value),
    }
}

/// Milliseconds for people: `850µs`, `12.3ms`, `2.41s`.
pub fn format_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{}µs", (ms * 1000.0).round())
    } else if ms < 1000.0 {
        format!("{}ms", round(ms))
    } else {
        format!("{}s", round(ms / 1000.0))
    }
}

/// Three significant digits at most, no trailing zeros.
fn round(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let digits = 3 - x.abs().log10().floor() as i32 - 1;
    let factor = 10f64.powi(digits.max(0));
    (x * factor).round() / factor
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Comparison;

    fn spec(expr: &str, metric: Metric, comparison: Comparison, value: f64) -> ThresholdSpec {
        ThresholdSpec {
            span: Span { line: 3, col: 5 },
            expr: expr.into(),
            series: SeriesKind::Latency,
            metric,
            comparison,
            value,
        }
    }

    fn series() -> Series {
        let mut s = Series::new();
        for i in 1..=100 {
            s.record(Duration::from_millis(i), i > 98);
        }
        s
    }

    #[test]
    fn latency_threshold_passes_and_fails_with_observed_value() {
        let ok = evaluate(
            &spec("p95 < 500ms", Metric::P95, Comparison::Lt, 500.0),
            Some("s"),
            &series(),
            Duration::from_secs(1),
        );
        assert!(ok.passed);
        assert_eq!(ok.condition, "< 500ms");
        assert_eq!(ok.observed_display, "95ms");
        let bad = evaluate(
            &spec("p95 < 1us", Metric::P95, Comparison::Lt, 0.001),
            None,
            &series(),
            Duration::from_secs(1),
        );
        assert!(!bad.passed);
        assert_eq!(bad.observed.map(|v| v.round()), Some(95.0));
    }

    #[test]
    fn error_rate_count_and_rps() {
        let s = series();
        let er = evaluate(
            &spec("error_rate < 1%", Metric::ErrorRate, Comparison::Lt, 0.01),
            None,
            &s,
            Duration::from_secs(1),
        );
        assert!(!er.passed);
        assert_eq!(er.observed_display, "2%");
        let count = evaluate(
            &spec("count >= 100", Metric::Count, Comparison::Ge, 100.0),
            None,
            &s,
            Duration::from_secs(1),
        );
        assert!(count.passed);
        let rps = evaluate(
            &spec("rps >= 40", Metric::Rps, Comparison::Ge, 40.0),
            None,
            &s,
            Duration::from_secs(2),
        );
        assert!(rps.passed);
        assert_eq!(rps.observed, Some(50.0));
    }

    #[test]
    fn no_samples_fails_latency_thresholds() {
        let r = evaluate(
            &spec("p99 < 1s", Metric::P99, Comparison::Lt, 1000.0),
            None,
            &Series::new(),
            Duration::from_secs(1),
        );
        assert!(!r.passed);
        assert_eq!(r.observed_display, "no samples");
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_ms(0.85), "850µs");
        assert_eq!(format_ms(12.345), "12.3ms");
        assert_eq!(format_ms(2412.0), "2.41s");
    }
}
