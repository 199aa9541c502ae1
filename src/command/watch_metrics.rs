//! `--metrics-port P`: the watch's own Prometheus metrics on `127.0.0.1:P/metrics` (uptime,
//! last verdict, latencies, rule states), so an existing Prometheus, Grafana or
//! Alertmanager can take it from there. The page is rendered after every run and served as
//! is.

use std::fmt::Write;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::CommandError;
use crate::app::metrics::escape_label;
use crate::watch::{Evaluator, RunRecord};

/// The page served, replaced after every run.
#[derive(Clone, Default)]
pub(super) struct Page(Arc<Mutex<String>>);

impl Page {
    pub fn set(&self, text: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = text;
    }

    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves the page on loopback until `stop` is cancelled; a port in use is exit 3.
pub(super) async fn serve(port: u16, stop: CancellationToken) -> Result<Page, CommandError> {
    let page = Page::default();
    let served = page.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let text = served.get();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
                    text,
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot serve --metrics-port {port}"))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    Ok(page)
}

/// The page after a run: the schedule's counters, the evaluator's state, the last run.
pub(super) fn render(eval: &Evaluator, missed: u64, last: &RunRecord, duration_s: f64) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
        );
    };
    metric(
        "harness_watch_runs_total",
        "counter",
        "Runs judged.",
        eval.runs as f64,
    );
    let failed = (eval.runs - eval.passed) as f64;
    metric(
        "harness_watch_runs_failed_total",
        "counter",
        "Runs that failed.",
        failed,
    );
    metric(
        "harness_watch_missed_starts_total",
        "counter",
        "Scheduled starts that did not happen.",
        missed as f64,
    );
    metric(
        "harness_watch_uptime_ratio",
        "gauge",
        "Passed runs over runs.",
        eval.uptime(),
    );
    let passed = if last.passed { 1.0 } else { 0.0 };
    metric(
        "harness_watch_last_run_passed",
        "gauge",
        "1 when the last run passed.",
        passed,
    );
    metric(
        "harness_watch_last_run_duration_seconds",
        "gauge",
        "The last run's duration.",
        duration_s,
    );
    let figures = [
        ("requests", &last.figures.requests),
        ("e2e", &last.figures.e2e),
    ];
    let _ = writeln!(
        out,
        "# HELP harness_watch_last_run_p95_seconds The last run's p95 latency.\n# TYPE harness_watch_last_run_p95_seconds gauge"
    );
    for (series, l) in figures {
        if let Some(l) = l {
            let p95 = l.p95 / 1000.0;
            let _ = writeln!(
                out,
                "harness_watch_last_run_p95_seconds{{series=\"{series}\"}} {p95}"
            );
        }
    }
    let firing: Vec<String> = eval.firing().iter().map(|r| r.name.clone()).collect();
    let _ = writeln!(
        out,
        "# HELP harness_watch_rule_firing 1 while the rule fires.\n# TYPE harness_watch_rule_firing gauge"
    );
    for r in eval.rules() {
        let on = u8::from(firing.contains(&r.name));
        let _ = writeln!(
            out,
            "harness_watch_rule_firing{{rule=\"{}\",severity=\"{}\"}} {on}",
            escape_label(&r.name),
            r.severity.name()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::parse_flag;

    #[test]
    fn the_page_parses_as_prometheus_text_with_the_rule_states() {
        let mut eval = Evaluator::new(vec![parse_flag("rollback: down").unwrap()], None);
        let last = RunRecord {
            at_ms: 1000,
            passed: false,
            ..RunRecord::default()
        };
        eval.observe(last.clone());
        let page = render(&eval, 2, &last, 0.25);
        let samples = crate::watch::exposition::parse(&page).unwrap();
        let get = |name: &str| samples.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(get("harness_watch_runs_failed_total"), Some(1.0));
        assert_eq!(get("harness_watch_missed_starts_total"), Some(2.0));
        assert_eq!(get("harness_watch_uptime_ratio"), Some(0.0));
        let rule = samples
            .iter()
            .find(|s| s.name == "harness_watch_rule_firing")
            .unwrap();
        assert_eq!(rule.value, 1.0);
        assert!(rule
            .labels
            .contains(&("severity".into(), "rollback".into())));
    }
}
