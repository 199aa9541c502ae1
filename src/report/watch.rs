//! The `watch` section of a report (`harness watch`): uptime, incidents, alerts with their
//! evidence, missed starts. The report's own types, filled by the watch command.

use std::fmt::Write;

use super::chart::{self, Limit, Line};
use crate::thresholds::format_ms;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchReport {
    /// Seconds between scheduled starts.
    pub every_s: f64,
    /// Why the watch ended: `budget` (`--for` ran out), `healthy` (`--until-healthy-for`
    /// reached), `rollback` (a rollback rule fired), `interrupted` (SIGINT/SIGTERM).
    pub ended: String,
    /// Runs started, and of those judged (finished), passed and failed.
    pub started: u64,
    pub runs: u64,
    pub passed: u64,
    pub failed: u64,
    /// Passed runs over judged runs (1 with none).
    pub uptime: f64,
    /// Scheduled starts that did not happen: the overlap cap was reached or the harness fell
    /// behind. Counted, never hidden.
    pub missed_starts: u64,
    /// The cap on runs at once (`--max-overlap`), and the most that ran at once.
    pub max_overlap: u64,
    pub peak_overlap: u64,
    pub rules: Vec<WatchRuleReport>,
    /// Stretches of failed runs, oldest first.
    pub incidents: Vec<IncidentReport>,
    /// Every rule transition, oldest first.
    pub alerts: Vec<AlertReport>,
    /// Latency over time: per minute for the last hour, per hour before, the rest summed
    /// (absent in reports of older versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency: Vec<WatchLatencyReport>,
}

/// The runs of one minute or hour: p50, p95 and p99 over each run's p95.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchLatencyReport {
    /// Since the watch's start, and how long the point covers (60, 3600, or more for the
    /// sum of the oldest hours).
    pub start_offset_s: f64,
    pub span_s: f64,
    pub runs: u64,
    /// Over the request steps: `[p50, p95, p99]` of the runs' p95, ms.
    pub requests_ms: Option<[f64; 3]>,
    /// End to end, likewise.
    pub e2e_ms: Option<[f64; 3]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchRuleReport {
    pub name: String,
    /// The rule as written.
    pub expr: String,
    /// `warn` or `rollback`.
    pub severity: String,
    /// Times it fired.
    pub fired: u64,
    /// Firing when the watch ended.
    pub firing: bool,
    /// A latency rule's limit in ms, and what it judges (`requests`, `e2e` or a step's
    /// name): the line drawn on the latency chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentReport {
    /// RFC 3339: when the first failed run ended.
    pub start: String,
    /// The same, in seconds since the watch's start (for the availability timeline).
    pub start_offset_s: f64,
    /// When the next passed run ended; `None` if the watch ended first.
    pub end: Option<String>,
    /// `end − start`, or up to the watch's end while still open.
    pub duration_s: f64,
    pub failed_runs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertReport {
    pub rule: String,
    pub expr: String,
    pub severity: String,
    /// `firing` or `resolved`.
    pub state: String,
    /// RFC 3339: the transition, and since when the condition held (or was clear).
    pub at: String,
    pub since: String,
    /// The value observed at the transition (ms for latencies, a ratio for rates and uptime,
    /// 1/0 for `down`, the sample for metrics).
    pub value: f64,
    /// The evaluations that caused it.
    pub evidence: Vec<EvidenceReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceReport {
    pub at: String,
    pub breached: bool,
    pub value: f64,
}

/// The availability timeline for the HTML report: the watch's length as a green band, each
/// incident a red one where and as long as it was (an SVG, 100 % wide).
pub fn timeline_svg(w: &WatchReport, duration_s: f64) -> String {
    let total = duration_s.max(1e-9);
    let mut svg = String::from(
        "<svg class=\"timeline\" viewBox=\"0 0 1000 24\" preserveAspectRatio=\"none\" width=\"100%\" height=\"24\" role=\"img\" aria-label=\"availability: up (green) and down (red)\"><rect x=\"0\" y=\"0\" width=\"1000\" height=\"24\" fill=\"#2e7d32\"/>",
    );
    for i in &w.incidents {
        let x = (i.start_offset_s / total * 1000.0).clamp(0.0, 1000.0);
        // At least one unit wide (a short incident stays visible), never past the end.
        let width = (i.duration_s / total * 1000.0).max(1.0).min(1000.0 - x);
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"0\" width=\"{width:.1}\" height=\"24\" fill=\"#c62828\"><title>down {:.1}s from {}</title></rect>",
            i.duration_s,
            crate::report::escape(&i.start)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Lines for the terminal, Markdown and JUnit: uptime, incidents, alerts.
pub fn summary_lines(w: &WatchReport) -> Vec<String> {
    let mut lines = vec![format!(
        "watch: {} run(s), {} passed, {} failed — uptime {:.2}%; {} missed start(s); ended: {}",
        w.runs,
        w.passed,
        w.failed,
        w.uptime * 100.0,
        w.missed_starts,
        w.ended
    )];
    for i in &w.incidents {
        let mut line = format!(
            "incident: {} for {:.1}s ({} failed run(s))",
            i.start, i.duration_s, i.failed_runs
        );
        if i.end.is_none() {
            line.push_str(", still open at the end");
        }
        lines.push(line);
    }
    for r in &w.rules {
        let named = if r.name == r.expr {
            r.expr.clone()
        } else {
            format!("{} (`{}`)", r.name, r.expr)
        };
        let mut line = format!("rule [{}] {named}: fired {} time(s)", r.severity, r.fired);
        if r.firing {
            let _ = write!(line, ", FIRING at the end");
        }
        lines.push(line);
    }
    lines.extend(latency_lines(w));
    lines
}

/// One series of a latency point.
type Pick = fn(&WatchLatencyReport) -> Option<[f64; 3]>;

/// Latency over time in one line per series: a sparkline of the p95 over the runs' p95, per
/// point (hours, then the last hour's minutes), with its range and the rules' limits.
fn latency_lines(w: &WatchReport) -> Vec<String> {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let pick: [(&str, Pick); 2] = [("requests", |p| p.requests_ms), ("e2e", |p| p.e2e_ms)];
    let mut out = Vec::new();
    for (scope, get) in pick {
        let p95: Vec<f64> = w
            .latency
            .iter()
            .filter_map(|p| get(p).map(|v| v[1]))
            .collect();
        let (Some(lo), Some(hi)) = (
            p95.iter().copied().reduce(f64::min),
            p95.iter().copied().reduce(f64::max),
        ) else {
            continue;
        };
        let spark: String = p95
            .iter()
            .map(|v| {
                let i = if hi > lo {
                    (v - lo) / (hi - lo) * 7.0
                } else {
                    0.0
                };
                BARS[(i.round() as usize).min(7)]
            })
            .collect();
        let limits: Vec<String> = w
            .rules
            .iter()
            .filter(|r| r.scope.as_deref() == Some(scope))
            .filter_map(|r| Some(format!("`{}` at {}", r.expr, format_ms(r.limit_ms?))))
            .collect();
        let mut line = format!(
            "latency over time ({scope}, p95 of the runs' p95 per minute/hour): {spark} {}–{}",
            format_ms(lo),
            format_ms(hi)
        );
        if !limits.is_empty() {
            let _ = write!(line, "; rule {}", limits.join(", "));
        }
        out.push(line);
    }
    out
}

/// Latency over time for the HTML report: p50/p95/p99 of the runs' p95 per point, the
/// latency rules' limits drawn in.
pub fn latency_svg(w: &WatchReport) -> String {
    let x: Vec<f64> = w.latency.iter().map(|p| p.start_offset_s).collect();
    let col = |f: Pick, i: usize| -> Vec<f64> {
        w.latency
            .iter()
            .map(|p| f(p).map_or(f64::NAN, |v| v[i]))
            .collect()
    };
    let (p50, p95, p99) = (
        col(|p| p.requests_ms, 0),
        col(|p| p.requests_ms, 1),
        col(|p| p.requests_ms, 2),
    );
    let e2e = col(|p| p.e2e_ms, 1);
    let mut series = vec![
        Line {
            name: "p50",
            values: &p50,
        },
        Line {
            name: "p95",
            values: &p95,
        },
        Line {
            name: "p99",
            values: &p99,
        },
    ];
    if e2e.iter().any(|v| v.is_finite()) {
        series.push(Line {
            name: "e2e p95",
            values: &e2e,
        });
    }
    let limits: Vec<Limit> = w
        .rules
        .iter()
        .filter_map(|r| {
            Some(Limit {
                label: r.expr.clone(),
                value: r.limit_ms?,
            })
        })
        .collect();
    chart::lines(
        "latency over time: each run's p95, per minute then per hour",
        "ms",
        &x,
        &series,
        &limits,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    fn watched() -> crate::report::Report {
        let mut r = sample_report();
        let at = "2026-11-22T10:15:40.000Z".to_string();
        r.watch = Some(WatchReport {
            every_s: 2.0,
            ended: "rollback".into(),
            started: 30,
            runs: 30,
            passed: 20,
            failed: 10,
            uptime: 20.0 / 30.0,
            missed_starts: 1,
            max_overlap: 4,
            peak_overlap: 2,
            rules: vec![WatchRuleReport {
                name: "api down".into(),
                expr: "down for 20s".into(),
                severity: "rollback".into(),
                fired: 1,
                firing: true,
                limit_ms: None,
                scope: None,
            }],
            latency: Vec::new(),
            incidents: vec![IncidentReport {
                start: at.clone(),
                start_offset_s: 40.0,
                end: None,
                duration_s: 20.0,
                failed_runs: 10,
            }],
            alerts: vec![AlertReport {
                rule: "api down".into(),
                expr: "down for 20s".into(),
                severity: "rollback".into(),
                state: "firing".into(),
                at: at.clone(),
                since: at.clone(),
                value: 1.0,
                evidence: vec![EvidenceReport {
                    at,
                    breached: true,
                    value: 1.0,
                }],
            }],
        });
        r
    }

    #[test]
    fn latency_over_time_is_drawn_with_the_rules_limits() {
        let mut r = watched();
        let w = r.watch.as_mut().unwrap();
        w.rules.push(WatchRuleReport {
            name: "slow".into(),
            expr: "p95 > 5s for 5m".into(),
            severity: "warn".into(),
            fired: 0,
            firing: false,
            limit_ms: Some(5000.0),
            scope: Some("requests".into()),
        });
        let point = |start: f64, p95: f64| WatchLatencyReport {
            start_offset_s: start,
            span_s: 3600.0,
            runs: 120,
            requests_ms: Some([p95 / 2.0, p95, p95 * 1.5]),
            e2e_ms: None,
        };
        w.latency = vec![point(0.0, 20.0), point(3600.0, 900.0), point(7200.0, 20.0)];
        let lines = summary_lines(w);
        let last = lines.last().unwrap();
        assert!(last.contains("▁█▁ 20ms–900ms"), "{last}");
        assert!(last.contains("rule `p95 > 5s for 5m` at 5s"), "{last}");
        let svg = latency_svg(w);
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(svg.contains("<line class=\"limit\"") && svg.contains(">p95 &gt; 5s for 5m<"));
        let html = crate::report::html::render(&r, &crate::report::html::HtmlContext::default());
        assert!(html.contains("latency over time"));
    }

    #[test]
    fn every_format_shows_uptime_incidents_and_rules() {
        let mut r = watched();
        r.duration_s = 100.0;
        let lines = summary_lines(r.watch.as_ref().unwrap());
        assert!(lines[0].contains("uptime 66.67%") && lines[0].contains("1 missed start(s)"));
        assert!(lines[1].contains("for 20.0s (10 failed run(s)), still open at the end"));
        assert!(lines[2].contains("api down (`down for 20s`): fired 1 time(s), FIRING"));
        let md = crate::report::markdown::render(&r);
        assert!(md.contains("uptime 66.67%"), "{md}");
        let ctx = crate::report::html::HtmlContext { git_commit: None };
        let html = crate::report::html::render(&r, &ctx);
        assert!(
            html.contains("<h2>Watch</h2>") && html.contains("still open"),
            "{html}"
        );
        let xml = crate::report::junit::render(&r).unwrap();
        assert!(
            xml.contains(r#"<testcase name="api down""#) && xml.contains(r#"type="rollback""#),
            "{xml}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            serde_json::from_value::<crate::report::Report>(json).unwrap(),
            r
        );
    }
}
