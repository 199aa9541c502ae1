//! Reports through the real binary: `run` writes JSON, HTML, JUnit and Markdown; `report`
//! reproduces them from the JSON (`compare`: tests/compare.rs).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{read_report, run_in, text};

/// Validates JUnit XML against `tests/fixtures/junit.xsd` (pure Rust: xmlschema + oxml).
fn junit_violations(xml: &str) -> Vec<String> {
    let xsd_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/junit.xsd");
    let schema = xmlschema::parse_schema(&std::fs::read_to_string(xsd_path).unwrap())
        .expect("the JUnit XSD parses");
    let doc = oxml::parse(xml).expect("the JUnit file is well-formed XML");
    xmlschema::validate(&doc, &schema)
        .violations
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn assert_valid_junit(xml: &str) {
    let violations = junit_violations(xml);
    assert!(violations.is_empty(), "{}\n{xml}", violations.join("\n"));
}

/// Well-formed (the page is polyglot XHTML), no script, no stylesheet or resource fetched
/// from anywhere.
fn assert_self_contained(page: &str) {
    if let Err(e) = oxml::parse(page) {
        panic!("the HTML is not well-formed: {e}");
    }
    let lower = page.to_ascii_lowercase();
    for banned in [
        "<script", "<link", "<iframe", "<img", "@import", "url(", "src=", "href=",
    ] {
        assert!(!lower.contains(banned), "the HTML contains `{banned}`");
    }
}

/// The one file in `dir/reports` with extension `ext`.
fn report_file(dir: &Path, ext: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// Runs the built-in smoke scenario in a fresh folder with every output asked for.
fn smoke_run() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let summary = d.join("step-summary.md");
    let out = run_in(
        d,
        &["run", "smoke", "--junit", "j.xml", "--summary-md", "s.md"],
        &[
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GIT_COMMIT", "0123abcd"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = report_file(d, "json");
    (dir, json)
}

#[test]
fn run_writes_every_format_and_report_reproduces_them() {
    let (dir, json) = smoke_run();
    let d = dir.path();
    let report = read_report(&json);
    let html_path = report_file(d, "html");
    assert_eq!(html_path.file_stem(), json.file_stem());
    let page = std::fs::read_to_string(&html_path).unwrap();
    assert_self_contained(&page);
    assert!(page.contains(">PASSED<") && page.contains("0123abcd"));
    let steps = report["steps"].as_array().unwrap();
    let ran = steps.iter().filter(|s| s["skipped"] != true).count();
    let e2e = usize::from(report.get("e2e").is_some_and(|e| !e.is_null()));
    assert!(ran > 0);
    // A step measured once is a bar, not a chart; several samples make a histogram.
    let sampled = |s: &&serde_json::Value| {
        s["histogram"].as_array().map_or(0, |b| {
            b.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>()
        })
    };
    let single = steps
        .iter()
        .filter(|s| s["skipped"] != true && sampled(s) <= 1)
        .count();
    assert_eq!(page.matches("class=\"bar-row").count(), single);
    let e2e_chart = e2e > 0 && report["e2e"]["count"].as_u64().unwrap() > 1;
    assert_eq!(
        page.matches("<svg").count(),
        ran - single + usize::from(e2e_chart),
        "one chart per step with samples to distribute, and one end to end"
    );
    for t in report["thresholds"].as_array().unwrap() {
        let shown = format!("{}</td>", t["observed_display"].as_str().unwrap());
        assert!(page.contains(&shown), "threshold {t} not shown");
    }
    let junit = std::fs::read_to_string(d.join("j.xml")).unwrap();
    assert_valid_junit(&junit);
    let md = std::fs::read_to_string(d.join("s.md")).unwrap();
    assert!(md.starts_with("## ✅ smoke — PASSED"), "{md}");
    let appended = std::fs::read_to_string(d.join("step-summary.md")).unwrap();
    assert_eq!(appended, format!("{md}\n"));

    let out = run_in(
        d,
        &[
            "report",
            json.to_str().unwrap(),
            "--html",
            "again.html",
            "--junit",
            "again.xml",
            "--summary-md",
            "again.md",
        ],
        &[
            ("GITHUB_STEP_SUMMARY", d.join("other.md").to_str().unwrap()),
            ("GIT_COMMIT", "0123abcd"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_in(
        d,
        &["report", "missing.json"],
        &[("GITHUB_STEP_SUMMARY", "")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.json"));
    for (first, again) in [
        (html_path, d.join("again.html")),
        (d.join("j.xml"), d.join("again.xml")),
        (d.join("s.md"), d.join("again.md")),
    ] {
        assert_eq!(
            std::fs::read(&first).unwrap(),
            std::fs::read(&again).unwrap(),
            "{} differs from {}",
            again.display(),
            first.display()
        );
    }
}

#[test]
fn failed_checks_and_thresholds_become_junit_failures_that_validate() {
    let (dir, json) = smoke_run();
    let d = dir.path();
    let mut report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    report["passed"] = false.into();
    report["checks"][0]["passed"] = false.into();
    report["checks"][0]["message"] = "status equals 200: expected equals 200, got 503".into();
    report["thresholds"][0]["passed"] = false.into();
    let broken = d.join("broken.json");
    std::fs::write(&broken, serde_json::to_string(&report).unwrap()).unwrap();
    let out = run_in(
        d,
        &["report", "broken.json", "--junit", "broken.xml"],
        &[("GITHUB_STEP_SUMMARY", "")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let xml = std::fs::read_to_string(d.join("broken.xml")).unwrap();
    assert_valid_junit(&xml);
    assert!(xml.contains(r#"failures="2""#), "{xml}");
    assert!(xml.contains("got 503"), "{xml}");
    // The validator does reject what the schema forbids.
    let bad = xml.replacen(r#"failures="2""#, r#"failures="two""#, 1);
    assert!(!junit_violations(&bad).is_empty());
}
