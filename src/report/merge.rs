//! Merging reports of one scenario into one (`harness merge`): the shards of a distributed
//! load, or the e2e runs of a CI matrix (one job per tenant). Pure: reports in, a report out.
//!
//! Exact where it can be: percentiles come from the sum of the reports' HDR histograms
//! ([`super::hdr`]), never from averaging percentiles; counts and rates are summed; thresholds
//! are evaluated again on the merged figures, so the verdict is the one a single process
//! would have given. The per-second series are aligned by wall-clock time (each report's
//! `started_at`): counts add up; a second's percentiles are the highest of the reports'
//! (an upper bound: the per-second histograms are not carried).
//!
//! Refused ([`MergeError`]): reports without histograms, of different scenarios (by
//! `scenario_hash`, the scenario file's content: different targets or tenants are fine), of
//! different schema versions, a load run with a functional one, or the same shard twice.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::hdr::{decode, Histograms};
use super::merge_load::{merged_load, reevaluate_delivery, started_at};
use super::{buckets, latency, E2eReport, Report, StepReport, ThresholdReport, Totals};
use crate::metrics::Series;
use crate::scenario::{parse_threshold, Metric, Series as SeriesKind, Span, ThresholdSpec};

/// Why reports cannot be merged; the message names the file and what differs.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

/// One report to merge and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct Input {
    pub path: String,
    pub report: Report,
}

/// The series of one report, decoded from its histograms.
struct Decoded {
    steps: Vec<Series>,
    all: Series,
    e2e: Option<Series>,
    iterations: Option<Series>,
    service: Option<Series>,
}

/// Merges `inputs` (at least one) into one report.
pub fn merge(inputs: &[Input]) -> Result<Report, MergeError> {
    let first = inputs
        .first()
        .ok_or_else(|| MergeError("nothing to merge: give at least one report".into()))?;
    let decoded = inputs
        .iter()
        .map(|i| check(first, i).and_then(|()| decode_all(i)))
        .collect::<Result<Vec<_>, _>>()?;
    check_shards(inputs)?;
    let sum = |pick: &dyn Fn(&Decoded) -> Option<&Series>| {
        decoded
            .iter()
            .filter_map(pick)
            .fold(None, |acc: Option<Series>, s| {
                let mut acc = acc.unwrap_or_default();
                acc.merge(s);
                Some(acc)
            })
    };
    let steps: Vec<Series> = (0..first.report.steps.len())
        .map(|i| sum(&|d| d.steps.get(i)).unwrap_or_default())
        .collect();
    let all = sum(&|d| Some(&d.all)).unwrap_or_default();
    let e2e = sum(&|d| d.e2e.as_ref());
    let iterations = sum(&|d| d.iterations.as_ref());
    let service = sum(&|d| d.service.as_ref());
    let reports: Vec<&Report> = inputs.iter().map(|i| &i.report).collect();
    let (started, duration) = span(&reports);
    let mut out = first.report.clone();
    out.started_at = humantime::format_rfc3339_millis(started).to_string();
    out.duration_s = duration.as_secs_f64();
    out.interrupted = reports.iter().any(|r| r.interrupted);
    out.target = merged_target(&reports);
    out.steps = merged_steps(&reports, &steps);
    out.checks = reports.iter().flat_map(|r| r.checks.clone()).collect();
    out.failures = reports.iter().flat_map(|r| r.failures.clone()).collect();
    out.faults = reports.iter().flat_map(|r| r.faults.clone()).collect();
    out.totals = merged_totals(&reports, &all, &out.steps);
    out.e2e = e2e.as_ref().map(|s| E2eReport {
        count: s.executions,
        failures: s.failures,
        missing: reports
            .iter()
            .filter_map(|r| r.e2e.as_ref())
            .map(|e| e.missing)
            .sum(),
        latency_ms: latency(s),
        histogram: buckets(s),
    });
    if first.report.load.is_some() {
        out.load = Some(merged_load(
            &reports,
            started,
            iterations.as_ref(),
            service.as_ref(),
        ));
    }
    let runs = MergedSeries {
        steps: &steps,
        all: &all,
        e2e: e2e.as_ref(),
        iterations: Series::from_counts(out.totals.iterations, out.totals.failed_iterations),
    };
    out.thresholds = reevaluate(&first.report.thresholds, &out.steps, &runs, duration)?;
    if let Some(load) = out.load.as_mut() {
        reevaluate_delivery(load, &mut out.thresholds);
    }
    out.histograms = Some(Histograms {
        steps: steps.iter().map(Series::encode_histogram).collect(),
        all: all.encode_histogram(),
        e2e: e2e.as_ref().map(Series::encode_histogram),
        iterations: iterations.as_ref().map(Series::encode_histogram),
        service: service.as_ref().map(Series::encode_histogram),
    });
    out.harness_version = env!("CARGO_PKG_VERSION").to_string();
    out.passed = merged_verdict(&out);
    Ok(out)
}

/// The verdict of `run` (every step passed) or of `load` (thresholds, delivery, and failed
/// iterations only as far as an `error_rate` threshold allows), on the merged figures.
fn merged_verdict(out: &Report) -> bool {
    let steps_ok = match &out.load {
        None => out.steps.iter().all(|s| s.passed),
        Some(_) => {
            out.totals.failed_iterations == 0
                || out.thresholds.iter().any(|t| t.metric == "error_rate")
        }
    };
    !out.interrupted
        && steps_ok
        && out.thresholds.iter().all(|t| t.passed)
        && !out.load.as_ref().is_some_and(|l| l.aborted)
}

/// Whether `input` can be merged with `first`.
fn check(first: &Input, input: &Input) -> Result<(), MergeError> {
    let (a, b) = (&first.report, &input.report);
    let differ = |what: &str, x: &dyn std::fmt::Display, y: &dyn std::fmt::Display| {
        Err(MergeError(format!(
            "{} and {} cannot be merged: {what} differ ({x} and {y})",
            first.path, input.path
        )))
    };
    if a.schema_version != b.schema_version {
        return differ("schema versions", &a.schema_version, &b.schema_version);
    }
    let hash = |r: &Report, path: &str| {
        r.scenario_hash.clone().ok_or_else(|| {
            MergeError(format!(
                "{path} has no `scenario_hash`: it was written by a harness older than `merge`; \
                 run it again"
            ))
        })
    };
    let (ha, hb) = (hash(a, &first.path)?, hash(b, &input.path)?);
    if ha != hb {
        return differ(
            "scenarios (by the content of the scenario file)",
            &format!("`{}` {ha}", a.scenario),
            &format!("`{}` {hb}", b.scenario),
        );
    }
    let names = |r: &Report| {
        r.steps
            .iter()
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if names(a) != names(b) {
        return differ("steps", &names(a), &names(b));
    }
    let kind = |r: &Report| {
        if r.load.is_some() {
            "load run"
        } else {
            "functional run"
        }
    };
    if kind(a) != kind(b) {
        return differ("kinds of run", &kind(a), &kind(b));
    }
    Ok(())
}

/// No shard index twice (reports of `harness load --shard I/N`), and one N.
fn check_shards(inputs: &[Input]) -> Result<(), MergeError> {
    let mut seen: BTreeMap<u32, &str> = BTreeMap::new();
    let mut count = None;
    for i in inputs {
        let Some(shard) = i.report.shard.as_ref() else {
            continue;
        };
        if *count.get_or_insert(shard.count) != shard.count {
            return Err(MergeError(format!(
                "{} is shard {}/{}, but an earlier report is a shard of {}: shards of \
                 different splits overlap",
                i.path,
                shard.index,
                shard.count,
                count.unwrap_or_default()
            )));
        }
        if let Some(other) = seen.insert(shard.index, &i.path) {
            return Err(MergeError(format!(
                "{other} and {} are both shard {}/{}: the same shard twice would count its \
                 iterations twice",
                i.path, shard.index, shard.count
            )));
        }
    }
    Ok(())
}

fn decode_all(input: &Input) -> Result<Decoded, MergeError> {
    let r = &input.report;
    let h = r.histograms.as_ref().ok_or_else(|| {
        MergeError(format!(
            "{} carries no histograms (`histograms`): it was written by a harness older than \
             `merge`; run it again",
            input.path
        ))
    })?;
    let bad = |e: String| MergeError(format!("{}: {e}", input.path));
    if h.steps.len() != r.steps.len() {
        return Err(bad(format!(
            "{} step histograms for {} steps",
            h.steps.len(),
            r.steps.len()
        )));
    }
    let steps = r
        .steps
        .iter()
        .zip(&h.steps)
        .map(|(s, enc)| {
            // Reports before `executions` existed: one execution per request.
            let executions = s.executions.unwrap_or(s.requests);
            let counts = (s.requests, executions, s.failures);
            decode(&format!("step `{}`", s.name), enc, counts)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(bad)?;
    let t = &r.totals;
    let all = decode("totals", &h.all, (t.requests, t.requests, t.failures)).map_err(bad)?;
    let e2e = match (&h.e2e, &r.e2e) {
        (Some(enc), Some(e)) => {
            Some(decode("e2e", enc, (e.count, e.count, e.failures)).map_err(bad)?)
        }
        _ => None,
    };
    let (mut iterations, mut service) = (None, None);
    if let (Some(l), Some(it), Some(sv)) = (&r.load, &h.iterations, &h.service) {
        let (done, failed) = (l.completed, l.failed);
        iterations = Some(decode("load iterations", it, (done, done, failed)).map_err(bad)?);
        service = Some(decode("load service time", sv, (done, done, 0)).map_err(bad)?);
    }
    Ok(Decoded {
        steps,
        all,
        e2e,
        iterations,
        service,
    })
}

/// The earliest start, and the time from it to the latest end.
fn span(reports: &[&Report]) -> (SystemTime, Duration) {
    let start = reports
        .iter()
        .map(|r| started_at(r))
        .min()
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let end = reports
        .iter()
        .map(|r| started_at(r) + Duration::from_secs_f64(r.duration_s.max(0.0)))
        .max()
        .unwrap_or(start);
    (start, end.duration_since(start).unwrap_or_default())
}

/// The common target; where the reports differ (tenants, regions), the names joined and the
/// URLs dropped.
fn merged_target(reports: &[&Report]) -> super::TargetReport {
    let first = reports[0].target.clone();
    if reports.iter().all(|r| r.target == first) {
        return first;
    }
    let mut names: Vec<String> = reports.iter().map(|r| r.target.name.clone()).collect();
    names.dedup();
    let same = |f: fn(&super::TargetReport) -> Option<String>| {
        let v = f(&first);
        reports
            .iter()
            .all(|r| f(&r.target) == v)
            .then_some(v)
            .flatten()
    };
    super::TargetReport {
        name: names.join(", "),
        provider: same(|t| t.provider.clone()),
        provider_mode: same(|t| t.provider_mode.clone()),
        provider_url: same(|t| t.provider_url.clone()),
        app_url: same(|t| t.app_url.clone()),
    }
}

fn merged_steps(reports: &[&Report], series: &[Series]) -> Vec<StepReport> {
    let mut steps = reports[0].steps.clone();
    for (i, step) in steps.iter_mut().enumerate() {
        let each = || reports.iter().filter_map(move |r| r.steps.get(i));
        let s = &series[i];
        step.passed = each().all(|x| x.passed) && s.failures == 0;
        step.skipped = each().all(|x| x.skipped);
        step.attempts = each().fold(0u32, |a, x| a.saturating_add(x.attempts));
        step.requests = s.count;
        step.executions = Some(s.executions);
        step.failures = s.failures;
        step.latency_ms = latency(s);
        step.histogram = buckets(s);
    }
    steps
}

fn merged_totals(reports: &[&Report], all: &Series, steps: &[StepReport]) -> Totals {
    let iterations: u64 = reports.iter().map(|r| r.totals.iterations).sum();
    let failed_iterations: u64 = reports.iter().map(|r| r.totals.failed_iterations).sum();
    let skipped = steps.iter().filter(|s| s.skipped).count();
    let failed = steps.iter().filter(|s| !s.skipped && !s.passed).count();
    Totals {
        requests: all.count,
        failures: all.failures,
        iterations,
        failed_iterations,
        error_rate: Series::from_counts(iterations, failed_iterations).error_rate(),
        latency_ms: latency(all),
        checks_passed: reports.iter().map(|r| r.totals.checks_passed).sum(),
        checks_failed: reports.iter().map(|r| r.totals.checks_failed).sum(),
        steps_passed: steps.len() - skipped - failed,
        steps_failed: failed,
        steps_skipped: skipped,
    }
}

/// The merged series thresholds are evaluated on again.
struct MergedSeries<'a> {
    steps: &'a [Series],
    all: &'a Series,
    e2e: Option<&'a Series>,
    /// The iterations' counts: the scenario-level `error_rate`'s denominator.
    iterations: Series,
}

/// The thresholds of the scenario (as the first report lists them), evaluated again on the
/// merged series.
fn reevaluate(
    declared: &[ThresholdReport],
    steps: &[StepReport],
    runs: &MergedSeries,
    elapsed: Duration,
) -> Result<Vec<ThresholdReport>, MergeError> {
    let empty = Series::new();
    declared
        .iter()
        // The delivery check is judged on the merged arrivals (`reevaluate_delivery`).
        .filter(|t| t.metric != "dropped_rate")
        .map(|t| {
            let (kind, metric, comparison, value) = parse_threshold(&t.expr)
                .map_err(|e| MergeError(format!("threshold `{}`: {e}", t.expr)))?;
            let spec = ThresholdSpec {
                span: Span {
                    line: t.line,
                    col: 0,
                },
                expr: t.expr.clone(),
                series: kind,
                metric,
                comparison,
                value,
            };
            let on = match (&t.step, kind, metric) {
                (Some(name), ..) => steps
                    .iter()
                    .position(|s| &s.name == name)
                    .map_or(&empty, |i| &runs.steps[i]),
                (None, SeriesKind::E2e, _) => runs.e2e.unwrap_or(&empty),
                (None, SeriesKind::Latency, Metric::ErrorRate) => &runs.iterations,
                (None, SeriesKind::Latency, _) => runs.all,
            };
            let r = crate::thresholds::evaluate(&spec, t.step.as_deref(), on, elapsed);
            Ok(ThresholdReport {
                step: t.step.clone(),
                expr: t.expr.clone(),
                metric: r.metric,
                condition: t.condition.clone(),
                observed: r.observed,
                observed_display: r.observed_display,
                limit: Some(r.limit),
                passed: r.passed,
                line: t.line,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    /// A report whose two steps recorded `samples[i]` (µs), with a `p95 < 50ms` threshold,
    /// its histograms, and a scenario hash.
    fn report_of(samples: [&[u64]; 2], started_at: &str) -> Report {
        let mut r = sample_report();
        r.scenario_hash = Some("sha256:abc".into());
        r.started_at = started_at.into();
        let mut all = Series::new();
        let mut encoded = Vec::new();
        for (step, raw) in r.steps.iter_mut().zip(samples) {
            let mut s = Series::new();
            for us in raw {
                s.record(Duration::from_micros(*us), false);
            }
            step.requests = s.count;
            step.failures = 0;
            step.passed = true;
            step.latency_ms = latency(&s);
            step.histogram = buckets(&s);
            all.merge(&s);
            encoded.push(s.encode_histogram());
        }
        r.totals = merged_totals(&[&r], &all, &r.steps);
        r.histograms = Some(Histograms {
            steps: encoded,
            all: all.encode_histogram(),
            ..Histograms::default()
        });
        r.thresholds = vec![ThresholdReport {
            step: None,
            expr: "p95 < 50ms".into(),
            metric: "p95".into(),
            condition: "< 50ms".into(),
            observed: None,
            observed_display: String::new(),
            limit: Some(50.0),
            passed: true,
            line: 7,
        }];
        r
    }

    fn input(path: &str, report: Report) -> Input {
        Input {
            path: path.into(),
            report,
        }
    }

    /// Deterministic, spread-out latencies in µs.
    fn raw(n: u64, seed: u64, scale: u64) -> Vec<u64> {
        (0..n)
            .map(|i| (i * 7919 + seed * 104_729) % scale + 200)
            .collect()
    }

    #[test]
    fn percentiles_are_those_of_all_the_raw_samples_and_thresholds_are_evaluated_again() {
        // Shard A is fast (p95 well under 50 ms), shard B slow: each alone would give another
        // verdict than the union.
        let (a0, a1, b0, b1) = (
            raw(900, 1, 30_000),
            raw(50, 2, 9_000),
            raw(300, 3, 200_000),
            raw(70, 4, 5_000),
        );
        let a = report_of([&a0, &a1], "2026-12-04T10:00:00.000Z");
        let b = report_of([&b0, &b1], "2026-12-04T10:00:00.400Z");
        let merged = merge(&[input("a.json", a.clone()), input("b.json", b)]).unwrap();
        let union = |parts: &[&Vec<u64>]| {
            let mut s = Series::new();
            for us in parts.iter().flat_map(|p| p.iter()) {
                s.record(Duration::from_micros(*us), false);
            }
            s
        };
        let (s0, s1) = (union(&[&a0, &b0]), union(&[&a1, &b1]));
        assert_eq!(merged.steps[0].latency_ms, latency(&s0));
        assert_eq!(merged.steps[1].latency_ms, latency(&s1));
        assert_eq!(merged.steps[0].requests, 1200);
        let everything = union(&[&a0, &a1, &b0, &b1]);
        assert_eq!(merged.totals.latency_ms, latency(&everything));
        assert_eq!(merged.totals.requests, 1320);
        // The threshold on the merged p95, not on either shard's.
        let p95 = everything.quantile_ms(0.95).unwrap();
        assert!(p95 > 50.0, "{p95}");
        assert_eq!(merged.thresholds[0].observed, Some(p95));
        assert!(!merged.thresholds[0].passed && !merged.passed);
        let alone = merge(&[input("a.json", a)]).unwrap();
        assert!(alone.thresholds[0].passed, "{:?}", alone.thresholds[0]);
        // The merged report carries the merged histograms, so it merges again.
        let back = Series::from_encoded(&merged.histograms.as_ref().unwrap().all, 0, 0, 0).unwrap();
        assert_eq!(back.summary(), everything.summary());
        assert_eq!(merged.started_at, "2026-12-04T10:00:00.000Z");
        assert!(
            (merged.duration_s - 1.9).abs() < 1e-9,
            "{}",
            merged.duration_s
        );
    }

    #[test]
    fn different_scenarios_versions_histogramless_reports_and_repeated_shards_are_refused() {
        let a = report_of([&[1000], &[2000]], "2026-12-04T10:00:00.000Z");
        let mut other = a.clone();
        other.scenario_hash = Some("sha256:def".into());
        let e = merge(&[input("a.json", a.clone()), input("b.json", other)]).unwrap_err();
        assert!(
            e.0.contains("a.json and b.json cannot be merged: scenarios"),
            "{e}"
        );
        let mut newer = a.clone();
        newer.schema_version += 1;
        let e = merge(&[input("a.json", a.clone()), input("n.json", newer)]).unwrap_err();
        assert!(e.0.contains("schema versions differ"), "{e}");
        let mut old = a.clone();
        old.histograms = None;
        let e = merge(&[input("a.json", a.clone()), input("old.json", old)]).unwrap_err();
        assert!(e.0.contains("old.json carries no histograms"), "{e}");
        let shard = |index| {
            let mut r = a.clone();
            r.shard = Some(crate::report::hdr::Shard { index, count: 2 });
            r
        };
        let e = merge(&[input("s1.json", shard(1)), input("s1-again.json", shard(1))]).unwrap_err();
        assert!(
            e.0.contains("s1.json and s1-again.json are both shard 1/2"),
            "{e}"
        );
        assert!(merge(&[input("s1.json", shard(1)), input("s2.json", shard(2))]).is_ok());
        // Different targets (tenants) are fine: the names are joined.
        let mut tenant = a.clone();
        tenant.target.name = "clinica-norte".into();
        let m = merge(&[input("a.json", a), input("t.json", tenant)]).unwrap();
        assert_eq!(m.target.name, "embedded, clinica-norte");
    }
}
