//! JUnit XML, so a CI's test tab shows what failed: one test suite per scenario, one test
//! case per check and per threshold (and one per failed exchange or interruption, which have
//! no check to carry them). Written with quick-junit; the format is the Jenkins/Ant one that
//! GitLab, GitHub reporters and Jenkins read (validated against `tests/fixtures/junit.xsd`).

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use super::Report;

#[derive(Debug, thiserror::Error)]
#[error("cannot write JUnit XML: {0}")]
pub struct JunitError(#[from] quick_junit::SerializeError);

/// Renders `report` as a JUnit XML document.
pub fn render(report: &Report) -> Result<String, JunitError> {
    let mut out = quick_junit::Report::new("harness");
    out.add_test_suite(suite(report));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
        out.set_timestamp(t);
    }
    out.set_time(seconds(report.duration_s));
    Ok(out.to_string()?)
}

fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

fn suite(r: &Report) -> TestSuite {
    let mut suite = TestSuite::new(r.scenario.as_str());
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&r.started_at) {
        suite.set_timestamp(t);
    }
    suite.set_time(seconds(r.duration_s));
    let t = &r.target;
    let props = [
        ("file", Some(r.file.as_str())),
        ("target", Some(t.name.as_str())),
        ("provider", t.provider.as_deref()),
        ("provider_mode", t.provider_mode.as_deref()),
        ("harness_version", Some(r.harness_version.as_str())),
    ];
    suite.add_properties(
        props
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| Property::new(k, v))),
    );
    suite.add_test_cases(cases(r));
    suite
}

/// A test case that failed (`Failure`: an expectation not met) or errored (`Error`: nothing
/// to check), with its message, type and details (none when empty).
fn not_passed(kind: NonSuccessKind, message: String, ty: &str, details: String) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(ty);
    if !details.is_empty() {
        s.set_description(details);
    }
    s
}

fn case(name: String, classname: String, status: TestCaseStatus) -> TestCase {
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case
}

/// Checks, failed exchanges, skipped steps, thresholds, then the interruption if any.
fn cases(r: &Report) -> Vec<TestCase> {
    let class = |step: &str| format!("{}.{}", r.scenario, step);
    let mut out = Vec::new();
    for c in &r.checks {
        let status = if c.passed {
            TestCaseStatus::success()
        } else {
            let details = format!(
                "{}:{}\nexpected: {}\nobserved: {}",
                r.file, c.line, c.expected, c.observed
            );
            not_passed(NonSuccessKind::Failure, c.message.clone(), "check", details)
        };
        out.push(case(c.name.clone(), class(&c.step), status));
    }
    for f in r.failures.iter().filter(|f| f.kind != "check") {
        let details = format!("{}:{}", r.file, f.line);
        let status = not_passed(NonSuccessKind::Error, f.message.clone(), &f.kind, details);
        out.push(case("exchange".into(), class(&f.step), status));
    }
    for s in r.steps.iter().filter(|s| s.skipped) {
        let mut status = TestCaseStatus::skipped();
        status.set_message("another provider's step");
        out.push(case(s.name.clone(), class(&s.name), status));
    }
    for t in &r.thresholds {
        let status = if t.passed {
            TestCaseStatus::success()
        } else {
            let message = format!(
                "{} {} not met: observed {}",
                t.metric, t.condition, t.observed_display
            );
            let details = match t.line {
                0 => "the delivery check of `harness load` (default or command-line limit)".into(),
                line => format!("{}:{line}", r.file),
            };
            not_passed(NonSuccessKind::Failure, message, "threshold", details)
        };
        let scope = t.step.as_deref().unwrap_or("scenario");
        let name = format!("{scope}: {} {}", t.metric, t.condition);
        out.push(case(name, class("thresholds"), status));
    }
    if r.load.is_some() {
        // Under load, failed iterations fail the run unless an `error_rate` threshold (its own
        // case above) says how many are tolerated.
        let tolerated = r.thresholds.iter().any(|t| t.metric == "error_rate");
        let message = super::error_rate_line(&r.totals);
        let status = if r.totals.failed_iterations == 0 || tolerated {
            TestCaseStatus::success()
        } else {
            let details = "no error_rate threshold allows failed iterations".to_string();
            not_passed(NonSuccessKind::Failure, message, "iterations", details)
        };
        out.push(case("iterations".into(), class("load"), status));
    }
    if let Some(w) = &r.watch {
        out.extend(watch_cases(r, w));
    }
    if r.interrupted {
        let message = "the run was interrupted before its end".to_string();
        let status = not_passed(NonSuccessKind::Error, message, "interrupted", String::new());
        out.push(case("run completed".into(), r.scenario.clone(), status));
    }
    out
}

/// `harness watch`: one case per rule, failed when a rollback rule fired (a warn rule that
/// fired passes, with its count in the message).
fn watch_cases(r: &Report, w: &super::watch::WatchReport) -> Vec<TestCase> {
    let class = format!("{}.watch", r.scenario);
    w.rules
        .iter()
        .map(|rule| {
            let message = format!(
                "fired {} time(s); uptime {:.2}%",
                rule.fired,
                w.uptime * 100.0
            );
            let status = if rule.severity == "rollback" && rule.fired > 0 {
                not_passed(
                    NonSuccessKind::Failure,
                    message,
                    "rollback",
                    rule.expr.clone(),
                )
            } else {
                let mut ok = TestCaseStatus::success();
                ok.set_message(message);
                ok
            };
            case(rule.name.clone(), class.clone(), status)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    #[test]
    fn one_case_per_check_and_threshold_with_failures_explained() {
        let xml = render(&sample_report()).unwrap();
        assert!(
            xml.contains(r#"<testsuite name="booking &lt;script&gt;" tests="4" skipped="0" errors="0" failures="2""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<testcase name="scenario: error_rate &lt; 1%" classname="booking &lt;script&gt;.thresholds">"#), "{xml}");
        assert!(
            xml.contains(r#"message="error_rate &lt; 1% not met: observed 33.3%""#),
            "{xml}"
        );
        assert!(xml.contains("expected: equals 201\nobserved: 500"), "{xml}");
        assert!(xml.contains(r#"timestamp="2026-11-22T10:15:00"#), "{xml}");
    }

    #[test]
    fn skipped_steps_are_skipped_cases() {
        let mut r = sample_report();
        r.steps[0].skipped = true;
        let xml = render(&r).unwrap();
        assert!(xml.contains(r#"tests="5" skipped="1""#), "{xml}");
        assert!(
            xml.contains(r#"<skipped message="another provider&apos;s step"/>"#),
            "{xml}"
        );
    }

    #[test]
    fn failed_exchanges_and_interruptions_are_errors() {
        let mut r = sample_report();
        r.failures[0].kind = "timeout".into();
        r.interrupted = true;
        let xml = render(&r).unwrap();
        assert!(
            xml.contains(r#"tests="6" skipped="0" errors="2" failures="2""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<error message="the run was interrupted before its end" type="interrupted"/>"#
            ),
            "{xml}"
        );
    }
}
