//! `harness compare` through the real binary: the promotion gate's exit code. Quiet when
//! nothing changed, exit 1 on a real regression with why, exit 2 for reports that cannot be
//! compared (unless `--force`), percentages with or without `%`.

use std::path::Path;

use serde_json::Value;

use crate::support::{assert_exit, read_report, run_in, text};

const NO_SUMMARY: [(&str, &str); 1] = [("GITHUB_STEP_SUMMARY", "")];

/// Runs `harness run smoke` in `dir`, writing `name`; returns the report.
fn smoke(dir: &Path, name: &str) -> Value {
    let out = run_in(dir, &["run", "smoke", "--json", name], &NO_SUMMARY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    read_report(&dir.join(name))
}

/// A copy of `report` as if every step had `n` latency samples with the given p50 and p95
/// (p99 held at 1 s), failures cleared: what a load run's report carries.
fn with_latency(report: &Value, n: u64, p50: f64, p95: f64) -> Value {
    let mut r = report.clone();
    for step in r["steps"].as_array_mut().unwrap() {
        step["failures"] = 0.into();
        step["histogram"] = serde_json::json!([{ "le_ms": 1000.0, "count": n }]);
        let l = &mut step["latency_ms"];
        if l.is_object() {
            l["p50"] = p50.into();
            l["p95"] = p95.into();
            l["p99"] = 1000.0.into();
        }
    }
    r
}

fn write(dir: &Path, name: &str, report: &Value) {
    std::fs::write(dir.join(name), serde_json::to_string(report).unwrap()).unwrap();
}

fn compare(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["compare"];
    all.extend_from_slice(args);
    let out = run_in(dir, &all, &NO_SUMMARY);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn the_same_report_twice_and_two_runs_of_the_same_build_pass() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    smoke(d, "a.json");
    let (code, out, err) = compare(d, &["a.json", "a.json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("PASSED: nothing beyond the limits"), "{out}");
    // A smoke step runs once: its percentiles are not judged, and the output says why.
    assert!(
        out.contains("not judged: 1 sample < 10 (p50 needs 5 beyond it)"),
        "{out}"
    );
    // Two real runs: what issue 9 saw fail (p99 2.17 → 3.44 ms of a one-request step).
    smoke(d, "b.json");
    let (code, out, err) = compare(d, &["a.json", "b.json"]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn a_60_percent_slower_p95_fails_with_why_in_every_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let saved = smoke(d, "run.json");
    write(d, "base.json", &with_latency(&saved, 200, 90.0, 100.0));
    write(d, "slow.json", &with_latency(&saved, 200, 90.0, 160.0));
    write(d, "ok.json", &with_latency(&saved, 200, 90.0, 110.0));
    let (code, out, err) = compare(
        d,
        &[
            "base.json",
            "slow.json",
            "--html",
            "cmp.html",
            "--summary-md",
            "cmp.md",
        ],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    let first = saved["steps"][0]["name"].as_str().unwrap();
    let why = "+60% > +50%, +60ms > floor 8.72ms (--min-delta × 4.4 for a p95); 200 → 200 samples";
    assert!(
        err.contains(&format!(
            "regressed: p95 of \"{first}\": 100ms → 160ms (+60%): {why}"
        )),
        "{err}"
    );
    assert!(out.contains(&format!("REGRESSED: {why}")), "{out}");
    // 200 samples are too few for a p99 (5000), enough for a p95 (100).
    assert!(
        out.contains("not judged: 200 samples < 5000 (p99 needs 50 beyond it)"),
        "{out}"
    );
    let page = std::fs::read_to_string(d.join("cmp.html")).unwrap();
    oxml::parse(&page).expect("the comparison page is well-formed");
    assert!(page.contains("<h2>Regressions</h2>") && page.contains("200 → 200 samples"));
    let md = std::fs::read_to_string(d.join("cmp.md")).unwrap();
    assert!(md.contains("100ms → 160ms (+60%) ❌"), "{md}");
    assert!(md.contains("+60ms &gt; floor 8.72ms"), "{md}");

    let (code, out, _) = compare(d, &["base.json", "ok.json"]);
    assert_eq!(code, Some(0), "{out}");
    // A stricter limit turns the 10 % into a regression.
    let (code, out, _) = compare(d, &["base.json", "ok.json", "--max-regression", "5%"]);
    assert_eq!(code, Some(1), "{out}");
}

#[test]
fn percentages_mean_the_same_with_or_without_the_sign() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let saved = smoke(d, "run.json");
    write(d, "base.json", &with_latency(&saved, 200, 90.0, 100.0));
    write(d, "slow.json", &with_latency(&saved, 200, 90.0, 160.0));
    for limit in ["50", "50%"] {
        let (code, out, _) = compare(d, &["base.json", "slow.json", "--max-regression", limit]);
        assert_eq!(code, Some(1), "--max-regression {limit}: {out}");
    }
    for limit in ["70", "70%"] {
        let (code, out, _) = compare(d, &["base.json", "slow.json", "--max-regression", limit]);
        assert_eq!(code, Some(0), "--max-regression {limit}: {out}");
        assert!(out.contains("grows by more than +70%"), "{out}");
    }
    // A bare fraction is ambiguous (0.5 % or 50 %?): refused, with both spellings offered.
    let (code, _, err) = compare(d, &["base.json", "slow.json", "--max-regression", "0.5"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("`0.5%`") && err.contains("`50%`"), "{err}");
}

#[test]
fn reports_of_different_scenarios_exit_2_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let saved = smoke(d, "smoke.json");
    let mut other = saved.clone();
    other["scenario"] = "volume".into();
    other["file"] = "scenarios/volume.yaml".into();
    write(d, "volume.json", &other);
    let (code, out, err) = compare(d, &["smoke.json", "volume.json"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("not comparable: the baseline is a report of scenario `smoke`")
            && err.contains("`volume`")
            && err.contains("--force"),
        "{err}"
    );
    let (code, out, err) = compare(d, &["smoke.json", "volume.json", "--force"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("forced (--force): the baseline is a report of scenario `smoke`"),
        "{out}"
    );

    // A load run against a functional run of the same scenario: not comparable either.
    let mut load = saved.clone();
    load["load"] = serde_json::json!({
        "model": "open", "target_rps": 10.0, "achieved_rps": 10.0, "iterations": 10,
        "completed": 10, "failed": 0, "dropped": 0, "abandoned": 0, "duration_s": 1.0,
        "max_in_flight": 100, "peak_in_flight": 1, "users": null, "think_time_ms": null,
        "poisson": false, "aborted": false, "latency_ms": null, "service_ms": null,
        "histogram": [], "errors": {}, "time_series": []
    });
    write(d, "load.json", &load);
    let (code, _, err) = compare(d, &["smoke.json", "load.json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("a functional run"), "{err}");

    let (code, _, err) = compare(d, &["smoke.json", "missing.json"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("missing.json"), "{err}");
}

#[test]
fn merge_sums_two_runs_and_refuses_different_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = smoke(d, "a.json");
    let b = smoke(d, "b.json");
    assert!(
        a["histograms"]["steps"].as_array().unwrap().len() == a["steps"].as_array().unwrap().len()
    );
    let out = run_in(
        d,
        &["merge", "a.json", "b.json", "--json", "m.json"],
        &NO_SUMMARY,
    );
    assert_exit(&out, 0);
    let m = read_report(&d.join("m.json"));
    let n = |r: &Value, k: &str| r["totals"][k].as_u64().unwrap();
    assert_eq!(n(&m, "requests"), n(&a, "requests") + n(&b, "requests"));
    assert_eq!(
        n(&m, "checks_passed"),
        n(&a, "checks_passed") + n(&b, "checks_passed")
    );
    assert_eq!(m["scenario_hash"], a["scenario_hash"]);
    assert!(m["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["passed"] == true));

    // A matrix of three (tenants' runs), one of which lost a request: one report, one exit
    // code, the scenario's `error_rate < 1%` evaluated on the three together.
    let mut c = b.clone();
    c["totals"]["failures"] = 1.into();
    c["totals"]["failed_iterations"] = 1.into();
    c["steps"][0]["failures"] = 1.into();
    c["steps"][0]["passed"] = false.into();
    write(d, "c.json", &c);
    let args = ["merge", "a.json", "b.json", "c.json", "--json", "m3.json"];
    assert_exit(&run_in(d, &args, &NO_SUMMARY), 1);
    let m3 = read_report(&d.join("m3.json"));
    // One iteration (run) in three failed: error_rate is per iteration.
    let total = n(&a, "iterations") * 3;
    let rate = m3["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["expr"] == "error_rate < 1%")
        .unwrap();
    assert_eq!(rate["passed"], false);
    assert_eq!(rate["observed"].as_f64(), Some(1.0 / total as f64));
    assert_eq!(m3["passed"], false);

    // Another scenario file: refused with exit 2, naming both files.
    let out = run_in(d, &["run", "e2e-booking", "--json", "e.json"], &NO_SUMMARY);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_in(
        d,
        &["merge", "a.json", "e.json", "--json", "x.json"],
        &NO_SUMMARY,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("a.json and e.json cannot be merged: scenarios"),
        "{err}"
    );
    assert!(!d.join("x.json").exists());
}

/// Issue 16's matrix: one e2e run per tenant (three CI jobs), merged into one report with one
/// exit code; a tenant whose run failed fails the merged gate.
#[test]
fn a_matrix_of_e2e_runs_for_three_tenants_merges_into_one_gate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tenants = ["clinica-centro", "clinica-norte", "clinica-sur"];
    let mut files = Vec::new();
    for t in tenants {
        let name = format!("{t}.json");
        let env = [
            ("GITHUB_STEP_SUMMARY", ""),
            ("HARNESS_EVOLUTION_INSTANCE", t),
        ];
        let out = run_in(d, &["run", "e2e-booking", "--json", &name], &env);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        files.push(name);
    }
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    args.extend(["--json", "matrix.json"]);
    assert_exit(&run_in(d, &args, &NO_SUMMARY), 0);
    let m = read_report(&d.join("matrix.json"));
    assert_eq!(m["totals"]["iterations"], 3);
    let one = read_report(&d.join(&files[0]));
    assert_eq!(
        m["e2e"]["count"].as_u64(),
        one["e2e"]["count"].as_u64().map(|n| n * 3)
    );
    // The second tenant's run lost its confirmation: the merged gate fails.
    let mut bad = read_report(&d.join(&files[1]));
    bad["totals"]["failed_iterations"] = 1.into();
    bad["steps"][3]["passed"] = false.into();
    bad["steps"][3]["failures"] = 1.into();
    bad["passed"] = false.into();
    write(d, &files[1], &bad);
    args.pop();
    args.push("matrix2.json");
    assert_exit(&run_in(d, &args, &NO_SUMMARY), 1);
    let m2 = read_report(&d.join("matrix2.json"));
    assert_eq!(m2["totals"]["failed_iterations"], 1);
    assert_eq!(m2["passed"], false);
}
