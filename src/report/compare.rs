//! Comparing a report with a baseline: the promotion gate's rollback rule ("performance
//! degrades by more than 50 %, or the error rate passes 5 %"). Pure: two [`Report`]s in, a
//! [`Comparison`] with a judged verdict and its reason per metric out; rendering lives in
//! `compare_render`.
//!
//! Rows: the steps, paired by name (a step only in one report is listed, never judged), end to
//! end when either report has it, and all requests. Per row: p50, p95, p99, error rate and
//! throughput. The gate must be quiet when nothing changed: two runs of the same build on a
//! shared machine differ by scheduling noise, and a single slow sample moves a tail percentile
//! of a small step. So a latency percentile *regressed* only when all of these hold:
//!
//! 1. **Enough samples**: both reports have enough samples *beyond* the percentile in that
//!    row ([`Metric::samples_beyond`]): 5 for p50 and p95 (10 and 100 samples), 50 for p99
//!    (5,000 samples: the far tail of a run on a shared machine is where scheduling stalls
//!    land, so a p99 is judged only from a long run), so one outlier cannot move
//!    it. With fewer, the percentile is *not judged* (a one-request smoke step has no p95).
//! 2. **Relative margin**: it grew by more than `max_regression` (+50 % by default).
//! 3. **Absolute margin**: it grew by more than a floor that scales with the percentile and
//!    the step: the larger of
//!    - `min_delta` (2 ms) × √(q / (1 − q)) — 1× for p50, 4.4× for p95 (8.7 ms), 9.9× for
//!      p99 (19.9 ms). A tail percentile rests on few samples and the sampling error of a
//!      quantile of an exponential-like tail grows as √(q / (1 − q)) relative to the median;
//!      on a shared machine one scheduling stall of a few ms moves the p95 of a sub-ms step
//!      (observed: p95 662 µs → 1.96 ms between two runs of the same build);
//!    - half the baseline's spread (its p95 − p50 in that row): a median that moves by less
//!      than half the distance to the tail is the run-to-run wander of a loaded system
//!      (queueing on a saturated machine moves the median first), not a regression.
//!
//!    A tight distribution with real latency (a steady 50 ms service) keeps a floor of a few
//!    ms, so +60 % on it fails.
//!
//! Growth beyond the relative margin but under the floor is reported as *noise*, with why.
//! The error rate is an absolute limit (above `max_error_rate` is a regression, as in the
//! plans). Throughput is judged only when both reports are load runs (a functional run's
//! throughput is an accident of its duration): a fall by more than `max_regression`.
//!
//! Reports of different scenarios, or a load run against a functional run, are not
//! comparable: [`mismatch`] says why, and the command refuses them unless forced.

use super::{Bucket, Report};
use super::{Latency, StepKind};
use crate::thresholds::format_ms;

/// The share of the baseline's spread (p95 − p50) that a latency must grow by to count.
pub const SPREAD_SHARE: f64 = 0.5;

/// How much `min_delta` is scaled for `metric`: √(q / (1 − q)), 1 at the median.
pub fn tail_factor(metric: Metric) -> f64 {
    metric.quantile().map_or(1.0, |q| (q / (1.0 - q)).sqrt())
}

/// The gate's limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Largest tolerated growth of a latency percentile, as a ratio (0.5 = +50 %).
    pub max_regression: f64,
    /// Largest tolerated error rate, as a ratio (0.05 = 5 %).
    pub max_error_rate: f64,
    /// Latency growth up to this many milliseconds (at the median; scaled by [`tail_factor`]
    /// for p95 and p99) is never a regression.
    pub min_delta_ms: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_regression: 0.5,
            max_error_rate: 0.05,
            min_delta_ms: 2.0,
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

    /// The percentile as a quantile (latency metrics only).
    fn quantile(self) -> Option<f64> {
        match self {
            Metric::P50 => Some(0.50),
            Metric::P95 => Some(0.95),
            Metric::P99 => Some(0.99),
            _ => None,
        }
    }

    /// A percentile is judged only with at least this many samples beyond it, in both
    /// reports: 5 for p50 and p95; 50 for p99, whose few tail samples on a shared machine are
    /// mostly scheduling stalls.
    pub fn samples_beyond(self) -> u64 {
        match self {
            Metric::P99 => 50,
            _ => 5,
        }
    }

    /// Samples needed on both sides to judge this percentile: 10 (p50), 100 (p95), 5,000 (p99).
    pub fn min_samples(self) -> u64 {
        self.quantile().map_or(0, |q| {
            (self.samples_beyond() as f64 / (1.0 - q)).round() as u64
        })
    }
}

/// How a metric was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limits (or better).
    Within,
    /// Grew beyond the relative margin, but not beyond the absolute floor: run-to-run noise.
    Noise,
    /// Not judged: too few samples, missing on one side, or not gated for this kind of run.
    NotJudged,
    /// Beyond every margin: fails the gate.
    Regressed,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Within => "ok",
            Verdict::Noise => "noise",
            Verdict::NotJudged => "not judged",
            Verdict::Regressed => "REGRESSED",
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
    pub verdict: Verdict,
    /// Why the verdict, for people (empty when simply within the limits).
    pub reason: String,
}

impl MetricDelta {
    pub fn regressed(&self) -> bool {
        self.verdict == Verdict::Regressed
    }
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
    /// Latency samples of the row in the baseline and the current report.
    pub samples: (Option<u64>, Option<u64>),
    pub metrics: Vec<MetricDelta>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub baseline: String,
    pub current: String,
    pub limits: Limits,
    /// Why the reports were not comparable, when `--force` compared them anyway.
    pub forced: Option<String>,
    pub rows: Vec<RowDelta>,
}

impl Comparison {
    /// One line per metric with `verdict`:
    /// `p95 of "create instance": 100ms → 160ms (+60%): +60% > +50% and +60ms > floor 1ms`.
    pub fn lines(&self, verdict: Verdict) -> Vec<String> {
        let mut out = Vec::new();
        for row in &self.rows {
            for m in row.metrics.iter().filter(|m| m.verdict == verdict) {
                out.push(format!(
                    "{} of \"{}\": {} → {}{}: {}",
                    m.metric.name(),
                    row.name,
                    format_value(m.metric, m.baseline),
                    format_value(m.metric, m.current),
                    m.change
                        .map(|c| format!(" ({})", format_change(c)))
                        .unwrap_or_default(),
                    m.reason
                ));
            }
        }
        out
    }

    /// What failed the gate, one line each, with why.
    pub fn regressions(&self) -> Vec<String> {
        self.lines(Verdict::Regressed)
    }

    pub fn passed(&self) -> bool {
        self.rows
            .iter()
            .all(|r| r.metrics.iter().all(|m| !m.regressed()))
    }
}

/// Why `baseline` and `current` cannot be compared, if they cannot: different scenarios,
/// or a load run against a functional run. Steps are paired by name, so either would pair
/// unrelated measurements.
pub fn mismatch(baseline: &Report, current: &Report) -> Option<String> {
    if baseline.scenario != current.scenario {
        return Some(format!(
            "the baseline is a report of scenario `{}` ({}), the current one of `{}` ({}): \
             steps of different scenarios cannot be compared",
            baseline.scenario, baseline.file, current.scenario, current.file
        ));
    }
    let kind = |r: &Report| {
        if r.load.is_some() {
            "a load run"
        } else {
            "a functional run"
        }
    };
    if baseline.load.is_some() != current.load.is_some() {
        return Some(format!(
            "the baseline is {} of `{}`, the current report {}: their latencies measure \
             different things",
            kind(baseline),
            baseline.scenario,
            kind(current)
        ));
    }
    None
}

/// The measurements of one row of one report.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    latency: Option<Latency>,
    /// Latency samples (the histogram's count; else the requests).
    samples: u64,
    requests: u64,
    failures: u64,
}

impl Sample {
    fn new(latency: Option<Latency>, histogram: &[Bucket], requests: u64, failures: u64) -> Self {
        let counted: u64 = histogram.iter().map(|b| b.count).sum();
        Sample {
            latency,
            samples: if counted > 0 { counted } else { requests },
            requests,
            failures,
        }
    }

    fn error_rate(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.failures as f64 / self.requests as f64)
    }
}

/// Compares `current` with `baseline` under `limits` (whether they are comparable at all is
/// [`mismatch`]'s question).
pub fn compare(baseline: &Report, current: &Report, limits: Limits) -> Comparison {
    let ctx = RowContext {
        limits,
        gate_throughput: baseline.load.is_some() && current.load.is_some(),
        base_s: baseline.duration_s,
        cur_s: current.duration_s,
    };
    let step = |r: &Report, name: &str| {
        r.steps
            .iter()
            .find(|s| s.name == name && !s.skipped)
            .map(|s| Sample::new(s.latency_ms, &s.histogram, s.requests, s.failures))
    };
    let mut rows = Vec::new();
    for s in current.steps.iter().filter(|s| !s.skipped) {
        rows.push(ctx.row(&s.name, step(baseline, &s.name), step(current, &s.name)));
    }
    for s in baseline.steps.iter().filter(|s| !s.skipped) {
        if step(current, &s.name).is_none() {
            rows.push(ctx.row(&s.name, step(baseline, &s.name), None));
        }
    }
    let e2e = |r: &Report| {
        r.e2e
            .as_ref()
            .map(|e| Sample::new(e.latency_ms, &e.histogram, e.count, e.failures))
    };
    let (be, ce) = (e2e(baseline), e2e(current));
    if be.is_some() || ce.is_some() {
        rows.push(ctx.row("end to end", be, ce));
    }
    let total = |r: &Report| {
        let t = &r.totals;
        // The request steps' histograms together: the samples behind the totals' latency.
        let histogram: Vec<Bucket> = r
            .steps
            .iter()
            .filter(|s| s.kind != StepKind::Await)
            .flat_map(|s| s.histogram.iter().cloned())
            .collect();
        Sample::new(t.latency_ms, &histogram, t.requests, t.failures)
    };
    rows.push(ctx.row("all requests", Some(total(baseline)), Some(total(current))));
    Comparison {
        baseline: baseline.scenario.clone(),
        current: current.scenario.clone(),
        limits,
        forced: None,
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
        let mut metrics = Vec::with_capacity(Metric::ALL.len());
        for metric in [Metric::P50, Metric::P95, Metric::P99] {
            metrics.push(self.latency(metric, base.as_ref(), cur.as_ref()));
        }
        metrics.push(self.error_rate(base.as_ref(), cur.as_ref()));
        metrics.push(self.throughput(base.as_ref(), cur.as_ref()));
        RowDelta {
            name: name.to_string(),
            presence,
            samples: (base.map(|s| s.samples), cur.map(|s| s.samples)),
            metrics,
        }
    }

    /// A latency percentile, under the three rules of the module docs.
    fn latency(&self, metric: Metric, base: Option<&Sample>, cur: Option<&Sample>) -> MetricDelta {
        let pick = |l: &Latency| match metric {
            Metric::P50 => l.p50,
            Metric::P95 => l.p95,
            _ => l.p99,
        };
        let lat = |s: Option<&Sample>| s.and_then(|s| s.latency);
        let (b, c) = (lat(base).map(|l| pick(&l)), lat(cur).map(|l| pick(&l)));
        let mut d = delta(metric, b, c);
        let (Some(bv), Some(cv), Some(bs), Some(cs), Some(bl)) = (b, c, base, cur, lat(base))
        else {
            d.verdict = Verdict::NotJudged;
            d.reason = "not in both reports".into();
            return d;
        };
        let need = metric.min_samples();
        let fewest = bs.samples.min(cs.samples);
        if fewest < need {
            d.verdict = Verdict::NotJudged;
            d.reason = format!(
                "{fewest} sample{} < {need} ({} needs {} beyond it)",
                if fewest == 1 { "" } else { "s" },
                metric.name(),
                metric.samples_beyond()
            );
            return d;
        }
        let grew = cv - bv;
        let relative = bv * self.limits.max_regression;
        if grew <= relative || grew <= 0.0 {
            return d;
        }
        let spread = SPREAD_SHARE * (bl.p95 - bl.p50).max(0.0);
        let scaled = self.limits.min_delta_ms * tail_factor(metric);
        let (floor, why) = if spread > scaled {
            (spread, "half the baseline's p95−p50 spread".to_string())
        } else if metric == Metric::P50 {
            (scaled, "--min-delta".to_string())
        } else {
            let f = tail_factor(metric);
            (
                scaled,
                format!("--min-delta × {f:.1} for a {}", metric.name()),
            )
        };
        let margins = format!(
            "{} > +{:.0}%, +{} {} floor {} ({why})",
            d.change.map_or_else(|| "from 0".to_string(), format_change),
            self.limits.max_regression * 100.0,
            format_ms(grew),
            if grew > floor { ">" } else { "≤" },
            format_ms(floor)
        );
        if grew > floor {
            d.verdict = Verdict::Regressed;
            d.reason = format!("{margins}; {} → {} samples", bs.samples, cs.samples);
        } else {
            d.verdict = Verdict::Noise;
            d.reason = margins;
        }
        d
    }

    fn error_rate(&self, base: Option<&Sample>, cur: Option<&Sample>) -> MetricDelta {
        let (b, c) = (
            base.and_then(Sample::error_rate),
            cur.and_then(Sample::error_rate),
        );
        let mut d = delta(Metric::ErrorRate, b, c);
        if let (Some(rate), Some(s)) = (c, cur) {
            if rate > self.limits.max_error_rate {
                d.verdict = Verdict::Regressed;
                d.reason = format!(
                    "{} of {} failed: {} > limit {}",
                    s.failures,
                    s.requests,
                    format_value(Metric::ErrorRate, Some(rate)),
                    format_value(Metric::ErrorRate, Some(self.limits.max_error_rate))
                );
            }
        }
        d
    }

    fn throughput(&self, base: Option<&Sample>, cur: Option<&Sample>) -> MetricDelta {
        let rate = |s: Option<&Sample>, secs: f64| {
            s.filter(|_| secs > 0.0).map(|s| s.requests as f64 / secs)
        };
        let (b, c) = (rate(base, self.base_s), rate(cur, self.cur_s));
        let mut d = delta(Metric::Throughput, b, c);
        if !self.gate_throughput {
            d.verdict = Verdict::NotJudged;
            d.reason = "functional run (judged for load runs only)".into();
        } else if let (Some(b), Some(c)) = (b, c) {
            if c < b * (1.0 - self.limits.max_regression) {
                d.verdict = Verdict::Regressed;
                d.reason = format!(
                    "fell {} > {:.0}%",
                    format_change((c - b) / b),
                    self.limits.max_regression * 100.0
                );
            }
        }
        d
    }
}

fn delta(metric: Metric, baseline: Option<f64>, current: Option<f64>) -> MetricDelta {
    let change = match (baseline, current) {
        (Some(b), Some(c)) if b != 0.0 => Some((c - b) / b),
        _ => None,
    };
    MetricDelta {
        metric,
        baseline,
        current,
        change,
        verdict: Verdict::Within,
        reason: String::new(),
    }
}

/// A metric's value for people: `612ms`, `2.5%`, `41.2/s`, `—`.
pub fn format_value(metric: Metric, v: Option<f64>) -> String {
    match (metric, v) {
        (_, None) => "—".to_string(),
        (Metric::ErrorRate, Some(v)) => format!("{:.1}%", v * 100.0),
        (Metric::Throughput, Some(v)) => format!("{v:.1}/s"),
        (_, Some(v)) => format_ms(v),
    }
}

/// `+60%`, `-12%`.
pub fn format_change(c: f64) -> String {
    format!("{:+.0}%", c * 100.0)
}

/// Parses a percentage into a ratio: `50%` and `50` both mean 0.5. A bare number below 1
/// (`0.5`) is refused as ambiguous (half a percent, or the ratio 50 %?): write `0.5%` or `50%`.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (number, explicit) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), true),
        None => (t, false),
    };
    let v: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage: write e.g. `50%` or `50`"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("`{s}` must be a positive percentage, e.g. `50%`"));
    }
    if !explicit && v > 0.0 && v < 1.0 {
        return Err(format!(
            "`{s}` is ambiguous: write `{v}%` for {v} percent, or `{}%` for the ratio {v}",
            v * 100.0
        ));
    }
    Ok(v / 100.0)
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
