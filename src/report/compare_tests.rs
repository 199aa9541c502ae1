//! Unit tests of `compare` (a file of their own: compare.rs stays under 600 lines).

use super::*;
use crate::report::output::sample_report;

/// A clean report (no failures) whose first step has `n` samples, the given p50/p95, and
/// p99 held at 1 s.
fn step_with(n: u64, p50: f64, p95: f64) -> Report {
    let mut r = sample_report();
    for s in &mut r.steps {
        s.failures = 0;
    }
    r.totals.failures = 0;
    let s = &mut r.steps[0];
    s.histogram = vec![Bucket {
        le_ms: p95,
        count: n,
    }];
    if let Some(l) = s.latency_ms.as_mut() {
        l.p50 = p50;
        l.p95 = p95;
        l.p99 = 1000.0;
    }
    r
}

fn first_row(c: &Comparison) -> &RowDelta {
    &c.rows[0]
}

#[test]
fn a_60_percent_p95_regression_fails_and_10_percent_passes() {
    let base = step_with(1000, 90.0, 100.0);
    let bad = compare(&base, &step_with(1000, 90.0, 160.0), Limits::default());
    assert!(!bad.passed());
    assert_eq!(
        bad.regressions(),
        vec![
            "p95 of \"create\": 100ms → 160ms (+60%): +60% > +50%, +60ms > floor 8.72ms \
             (--min-delta × 4.4 for a p95); 1000 → 1000 samples"
                .to_string()
        ]
    );
    let ok = compare(&base, &step_with(1000, 90.0, 110.0), Limits::default());
    assert!(ok.passed(), "{:?}", ok.regressions());
}

#[test]
fn the_same_report_twice_passes_with_nothing_but_within() {
    let r = step_with(1000, 90.0, 100.0);
    let c = compare(&r, &r, Limits::default());
    assert!(c.passed());
    assert!(c.lines(Verdict::Noise).is_empty());
}

#[test]
fn too_few_samples_are_not_judged_and_say_how_many_are_needed() {
    let base = step_with(99, 90.0, 100.0);
    let c = compare(&base, &step_with(99, 90.0, 300.0), Limits::default());
    assert!(c.passed());
    let p95 = &first_row(&c).metrics[1];
    assert_eq!(p95.verdict, Verdict::NotJudged);
    assert_eq!(p95.reason, "99 samples < 100 (p95 needs 5 beyond it)");
    // p50 has enough: 10 samples.
    assert_eq!(first_row(&c).metrics[0].verdict, Verdict::Within);
    assert_eq!(Metric::P99.min_samples(), 5000);
}

#[test]
fn growth_under_the_floor_is_noise_and_says_why() {
    // Sub-millisecond growth of a fast step: +200 % but under --min-delta.
    let c = compare(
        &step_with(1000, 0.2, 0.2),
        &step_with(1000, 0.6, 0.6),
        Limits::default(),
    );
    assert!(c.passed());
    assert_eq!(
        c.lines(Verdict::Noise)[0],
        "p50 of \"create\": 200µs → 600µs (+200%): +200% > +50%, +400µs ≤ floor 2ms (--min-delta)"
    );
    // A median moving by less than half the spread of a wide distribution is noise too.
    let c = compare(
        &step_with(1000, 240.0, 900.0),
        &step_with(1000, 390.0, 910.0),
        Limits::default(),
    );
    assert!(c.passed(), "{:?}", c.regressions());
    assert!(c.lines(Verdict::Noise)[0].contains("≤ floor 330ms"));
    // A sub-ms step's p95 jumping by a scheduling stall (seen between two runs of the same
    // build): under the p95's scaled floor.
    let c = compare(
        &step_with(1000, 0.4, 0.66),
        &step_with(1000, 0.4, 1.96),
        Limits::default(),
    );
    assert!(c.passed(), "{:?}", c.regressions());
    assert!(c.lines(Verdict::Noise)[0].contains("≤ floor 8.72ms (--min-delta × 4.4 for a p95)"));
    assert!((tail_factor(Metric::P99) - 9.95).abs() < 0.01);
}

#[test]
fn error_rate_is_an_absolute_limit_with_the_counts() {
    let base = step_with(1000, 90.0, 100.0);
    let mut failing = base.clone();
    failing.steps[0].failures = 1;
    let c = compare(&base, &failing, Limits::default());
    assert_eq!(
        c.regressions(),
        vec!["error rate of \"create\": 0.0% → 50.0%: 1 of 2 failed: 50.0% > limit 5.0%"]
    );
}

#[test]
fn steps_only_in_one_report_are_listed_not_failed() {
    let base = step_with(1000, 90.0, 100.0);
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
fn different_scenarios_or_kinds_of_run_are_a_mismatch() {
    let base = sample_report();
    assert_eq!(mismatch(&base, &base), None);
    let mut other = base.clone();
    other.scenario = "volume".into();
    let why = mismatch(&base, &other).unwrap();
    assert!(
        why.contains("`booking <script>`") && why.contains("`volume`"),
        "{why}"
    );
}

#[test]
fn percentages_parse_with_or_without_the_sign() {
    assert_eq!(parse_ratio("50%"), Ok(0.5));
    assert_eq!(parse_ratio("50"), Ok(0.5));
    assert_eq!(parse_ratio(" 5 % "), Ok(0.05));
    assert_eq!(parse_ratio("0.5%"), Ok(0.005));
    assert_eq!(parse_ratio("0"), Ok(0.0));
    assert_eq!(parse_ratio("150"), Ok(1.5));
    let e = parse_ratio("0.05").unwrap_err();
    assert!(e.contains("ambiguous") && e.contains("`5%`"), "{e}");
    assert!(parse_ratio("lots").is_err());
    assert!(parse_ratio("-5%").is_err());
}
