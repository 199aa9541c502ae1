//! Comparing a report with a baseline: the promotion gate's rollback rule ("performance
//! degrades by more than 50 %, or the error rate passes 5 %"). Pure: two [`Report`]s in, a
//! [`Comparison`] with its verdicts out; rendering lives in `compare_render`.
//!
//! Rows: every step of the current report (matched to the baseline's by name), end to end when
//! either report has it, and the whole run. Per row: p50, p95, p99, error rate and throughput.
//! What counts as a regression:
//! - a latency percentile grew by more than `max_regression` (a ratio of the baseline) *and*
//!   by at least `min_delta_ms`, so sub-millisecond noise in functional runs does not fail a
//!   gate;
//! - the current error rate is above `max_error_rate` (an absolute limit, as in the plans);
//! - throughput fell by more than `max_regression`, only when both reports are load runs
//!   (a functional run's throughput is an accident of its duration, not a measurement).

use super::extras::Extras;
use super::Report;
use crate::metrics::LatencySummary;

/// The gate's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest tolerated growth of a latency percentile, as a ratio (0.5 = +50 %).
    pub max_regression: f64,
    /// Largest tolerated error rate, as a ratio (0.05 = 5 %).
    pub max_error_rate: f64,
    /// Latency growth below this many milliseconds is never a regression.
    pub min_delta_ms: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_regression: 0.5,
            max_error_rate: 0.05,
            min_delta_ms: 1.0,
        }
    }
}

/// What a metric measures, which decides its unit and which direction is worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    P50,
    P95,
    P99,
    ErrorRate,
    Throughput,
}

impl Metric {
    /// Every metric, in the order of [`RowDelta::metrics`].
    pub const ALL: [Metric; 5] = [
        Metric::P50,
        Metric::P95,
        Metric::P99,
        Metric::ErrorRate,
        Metric::Throughput,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
            Metric::ErrorRate => "error rate",
            Metric::Throughput => "throughput",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricDelta {
    pub metric: Metric,
    pub baseline: Option<f64>,
    pub current: Option<f64>,
    /// `(current − baseline) / baseline`, when both exist and the baseline is not zero.
    pub change: Option<f64>,
    pub regressed: bool,
}

/// Where a row comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Both,
    /// Only in the current report (a new step).
    Added,
    /// Only in the baseline (a step that no longer runs).
    Removed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RowDelta {
    /// A step's name, `end to end`, or `all requests`.
    pub name: String,
    pub presence: Presence,
    pub metrics: Vec<MetricDelta>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub current: String,
    pub limits: Limits,
    pub rows: Vec<RowDelta>,
}

impl Comparison {
    /// One line per regressed metric: `p95 of "create instance": 100ms → 160ms (+60%)`.
    pub fn regressions(&self) -> Vec<String> {
        let mut out = Vec::new();
        for row in &self.rows {
            for m in row.metrics.iter().filter(|m| m.regressed) {
                out.push(format!(
                    "{} of \"{}\": {} → {}{}",
                    m.metric.name(),
                    row.name,
                    format_value(m.metric, m.baseline),
                    format_value(m.metric, m.current),
                    m.change
                        .map(|c| format!(" ({})", format_change(c)))
                        .unwrap_or_default()
                ));
            }
        }
        out
    }

    pub fn passed(&self) -> bool {
        self.rows
            .iter()
            .all(|r| r.metrics.iter().all(|m| !m.regressed))
    }
}

/// The measurements of one row of one report.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    latency: Option<LatencySummary>,
    requests: u64,
    failures: u64,
}

impl Sample {
    fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failures as f64 / self.requests as f64)
    }
}

/// Compares `current` with `baseline` under `limits`.
pub fn compare(baseline: &Report, current: &Report, limits: Limits) -> Comparison {
    compare_with(
        (baseline, &Extras::of(baseline)),
        (current, &Extras::of(current)),
        limits,
    )
}

/// [`compare`], with each report's optional sections given (as read from its file).
pub fn compare_with(
    (baseline, base_x): (&Report, &Extras),
    (current, cur_x): (&Report, &Extras),
    limits: Limits,
) -> Comparison {
    let load_runs = base_x.load.is_some() && cur_x.load.is_some();
    let ctx = RowContext {
        limits,
        gate_throughput: load_runs,
        base_s: baseline.duration_s,
        cur_s: current.duration_s,
    };
    let step = |r: &Report, name: &str| {
        r.steps.iter().find(|s| s.name == name).map(|s| Sample {
            latency: s.latency_ms,
            requests: s.requests,
            failures: s.failures,
        })
    };
    let mut rows = Vec::new();
    for s in &current.steps {
        rows.push(ctx.row(&s.name, step(baseline, &s.name), step(current, &s.name)));
    }
    for s in &baseline.steps {
        if !current.steps.iter().any(|c| c.name == s.name) {
            rows.push(ctx.row(&s.name, step(baseline, &s.name), None));
        }
    }
    let e2e = |x: &Extras| {
        x.e2e.as_ref().map(|e| Sample {
            latency: e.latency_ms,
            requests: e.count,
            failures: e.failures,
        })
    };
    let (be, ce) = (e2e(base_x), e2e(cur_x));
    if be.is_some() || ce.is_some() {
        rows.push(ctx.row("end to end", be, ce));
    }
    let total = |r: &Report| Sample {
        latency: r.totals.latency_ms,
        requests: r.totals.requests,
        failures: r.totals.failures,
    };
    rows.push(ctx.row("all requests", Some(total(baseline)), Some(total(current))));
    Comparison {
        baseline: baseline.scenario.clone(),
        current: current.scenario.clone(),
        limits,
        rows,
    }
}

struct RowContext {
    limits: Limits,
    gate_throughput: bool,
    base_s: f64,
    cur_s: f64,
}

impl RowContext {
    fn row(&self, name: &str, base: Option<Sample>, cur: Option<Sample>) -> RowDelta {
        let presence = match (&base, &cur) {
            (Some(_), None) => Presence::Removed,
            (None, Some(_)) => Presence::Added,
            _ => Presence::Both,
        };
        let pct = |s: &Option<Sample>, f: fn(&LatencySummary) -> f64| {
            s.as_ref().and_then(|s| s.latency.as_ref()).map(f)
        };
        let rate = |s: &Option<Sample>, secs: f64| {
            s.as_ref()
                .filter(|_| secs > 0.0)
                .map(|s| s.requests as f64 / secs)
        };
        let mut metrics = Vec::with_capacity(5);
        for (metric, f) in [
            (
                Metric::P50,
                (|l: &LatencySummary| l.p50) as fn(&LatencySummary) -> f64,
            ),
            (Metric::P95, |l| l.p95),
            (Metric::P99, |l| l.p99),
        ] {
            let (b, c) = (pct(&base, f), pct(&cur, f));
            let regressed = match (b, c) {
                (Some(b), Some(c)) => {
                    c - b >= self.limits.min_delta_ms && c > b * (1.0 + self.limits.max_regression)
                }
                _ => false,
            };
            metrics.push(delta(metric, b, c, regressed));
        }
        let (b, c) = (
            base.as_ref().and_then(Sample::error_rate),
            cur.as_ref().and_then(Sample::error_rate),
        );
        let regressed = c.is_some_and(|c| c > self.limits.max_error_rate);
        metrics.push(delta(Metric::ErrorRate, b, c, regressed));
        let (b, c) = (rate(&base, self.base_s), rate(&cur, self.cur_s));
        let regressed = self.gate_throughput
            && matches!((b, c), (Some(b), Some(c)) if c < b * (1.0 - self.limits.max_regression));
        metrics.push(delta(Metric::Throughput, b, c, regressed));
        RowDelta {
            name: name.to_string(),
            presence,
            metrics,
        }
    }
}

fn delta(
    metric: Metric,
    baseline: Option<f64>,
    current: Option<f64>,
    regressed: bool,
) -> MetricDelta {
    let change = match (baseline, current) {
        (Some(b), Some(c)) if b != 0.0 => Some((c - b) / b),
        _ => None,
    };
    MetricDelta {
        metric,
        baseline,
        current,
        change,
        regressed,
    }
}

/// A metric's value for people: `612ms`, `2.5%`, `41.2/s`, `—`.
pub fn format_value(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "—".to_string(),
        (Metric::ErrorRate, Some(v)) => format!("{:.1}%", v * 100.0),
        (Metric::Throughput, Some(v)) => format!("{v:.1}/s"),
        (_, Some(v)) => crate::thresholds::format_ms(v),
    }
}

/// `+60%`, `-12%`.
pub fn format_change(c: f64) -> String {
    format!("{:+.0}%", c * 100.0)
}

/// Parses `50%` or `0.5` into a ratio.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let v = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| format!("`{s}` is not a percentage (50%) or a ratio (0.5)"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("`{s}` must be a positive percentage"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    fn with_create_p95(p95: f64) -> Report {
        let mut r = sample_report();
        // A clean run: no failures, so only latency can regress.
        for s in &mut r.steps {
            s.failures = 0;
        }
        r.totals.failures = 0;
        if let Some(l) = r.steps[0].latency_ms.as_mut() {
            l.p95 = p95;
        }
        r
    }

    #[test]
    fn a_60_percent_p95_regression_fails_and_10_percent_passes() {
        let base = with_create_p95(100.0);
        let bad = compare(&base, &with_create_p95(160.0), Limits::default());
        assert!(!bad.passed());
        assert_eq!(
            bad.regressions(),
            vec!["p95 of \"create\": 100ms → 160ms (+60%)".to_string()]
        );
        let ok = compare(&base, &with_create_p95(110.0), Limits::default());
        assert!(ok.passed(), "{:?}", ok.regressions());
    }

    #[test]
    fn tiny_absolute_growth_is_noise_and_error_rate_is_an_absolute_limit() {
        let mut base = with_create_p95(0.2);
        let cur = with_create_p95(0.6);
        assert!(compare(&base, &cur, Limits::default()).passed());
        base.steps[1].failures = 1;
        let mut failing = cur.clone();
        failing.steps[1].failures = 1;
        let c = compare(&base, &failing, Limits::default());
        assert_eq!(
            c.regressions(),
            vec!["error rate of \"<script>alert(1)</script> | book\": 100.0% → 100.0% (+0%)"]
        );
    }

    #[test]
    fn steps_only_in_one_report_are_listed_not_failed() {
        let base = with_create_p95(100.0);
        let mut cur = base.clone();
        cur.steps[0].name = "create v2".into();
        let c = compare(&base, &cur, Limits::default());
        let presence: Vec<(&str, Presence)> = c
            .rows
            .iter()
            .map(|r| (r.name.as_str(), r.presence))
            .collect();
        assert!(presence.contains(&("create v2", Presence::Added)));
        assert!(presence.contains(&("create", Presence::Removed)));
        assert!(c.passed());
    }

    #[test]
    fn ratios_parse_from_percentages_and_fractions() {
        assert_eq!(parse_ratio("50%"), Ok(0.5));
        assert_eq!(parse_ratio("0.05"), Ok(0.05));
        assert!(parse_ratio("lots").is_err());
        assert!(parse_ratio("-5%").is_err());
    }
}
