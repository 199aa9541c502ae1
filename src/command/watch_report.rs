//! A watch's report: the last run's steps (what a run looks like now), with the watch's
//! section (uptime, incidents, alerts, missed starts) and its verdict.

use std::time::{Duration, SystemTime};

use super::setup::Prepared;
use super::watch_events::wall;
use crate::metrics::Series;
use crate::report::watch::{
    summary_lines, AlertReport, EvidenceReport, IncidentReport, WatchLatencyReport, WatchReport,
    WatchRuleReport,
};
use crate::report::{self, terminal, Report};
use crate::runner::ScenarioRun;
use crate::scenario::Scenario;
use crate::thresholds::ThresholdResult;
use crate::watch::{Condition, Evaluator, Event, EventKind, Scope};

/// Why a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Budget,
    Healthy,
    Rollback,
    Interrupted,
    /// Not ended: the report saved in the database after each run.
    Running,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Budget => "budget",
            Ending::Healthy => "healthy",
            Ending::Rollback => "rollback",
            Ending::Interrupted => "interrupted",
            Ending::Running => "running",
        }
    }
}

/// The schedule's figures and the verdict.
pub struct Summary {
    pub ending: Ending,
    pub passed: bool,
    pub every: Duration,
    pub wall_start: SystemTime,
    pub elapsed: Duration,
    pub started: u64,
    pub missed: u64,
    pub peak_overlap: usize,
    pub max_overlap: usize,
}

pub(super) fn build(
    scenario: &Scenario,
    last: Option<(&ScenarioRun, &[ThresholdResult])>,
    eval: &Evaluator,
    events: &[Event],
    s: &Summary,
    p: &Prepared,
) -> Report {
    let empty = ScenarioRun {
        started_at: s.wall_start,
        elapsed: Duration::ZERO,
        interrupted: true,
        steps: Vec::new(),
        iterations: Series::new(),
        check_counts: None,
    };
    let (run, verdicts) = last.unwrap_or((&empty, &[]));
    let mut report = report::build(scenario, run, verdicts, &p.target.report(), &p.redactor);
    report.passed = s.passed;
    report.interrupted = s.ending == Ending::Interrupted;
    report.started_at = wall(s.wall_start, 0);
    report.duration_s = s.elapsed.as_secs_f64();
    report.watch = Some(section(eval, events, s, &p.redactor));
    report
}

fn section(
    eval: &Evaluator,
    events: &[Event],
    s: &Summary,
    redactor: &crate::redact::Redactor,
) -> WatchReport {
    let at = |ms: u64| wall(s.wall_start, ms);
    let end_ms = s.elapsed.as_millis() as u64;
    let firing: Vec<&str> = eval.firing().iter().map(|r| r.name.as_str()).collect();
    let rules = eval
        .rules()
        .map(|r| rule_report(r, events, &firing, redactor))
        .collect();
    let latency = eval
        .history
        .points()
        .into_iter()
        .map(|p| WatchLatencyReport {
            start_offset_s: p.start_ms as f64 / 1000.0,
            span_s: p.span_ms as f64 / 1000.0,
            runs: p.runs,
            requests_ms: p.requests,
            e2e_ms: p.e2e,
        })
        .collect();
    let incidents = eval
        .incidents
        .iter()
        .map(|i| IncidentReport {
            start: at(i.start_ms),
            start_offset_s: i.start_ms as f64 / 1000.0,
            end: i.end_ms.map(at),
            duration_s: (i.end_ms.unwrap_or(end_ms).saturating_sub(i.start_ms)) as f64 / 1000.0,
            failed_runs: i.failed_runs,
        })
        .collect();
    let alerts = events
        .iter()
        .map(|e| AlertReport {
            rule: redactor.redact(&e.rule),
            expr: redactor.redact(&e.expr),
            severity: e.severity.name().to_string(),
            state: e.kind.name().to_string(),
            at: at(e.at_ms),
            since: at(e.since_ms),
            value: e.value,
            evidence: e
                .evidence
                .iter()
                .map(|p| EvidenceReport {
                    at: at(p.at_ms),
                    breached: p.breached,
                    value: p.value,
                })
                .collect(),
        })
        .collect();
    WatchReport {
        every_s: s.every.as_secs_f64(),
        ended: s.ending.name().to_string(),
        started: s.started,
        runs: eval.runs,
        passed: eval.passed,
        failed: eval.runs - eval.passed,
        uptime: eval.uptime(),
        missed_starts: s.missed,
        max_overlap: s.max_overlap as u64,
        peak_overlap: s.peak_overlap as u64,
        rules,
        incidents,
        alerts,
        latency,
    }
}

/// One rule as the report shows it: the times it fired, and a latency rule's limit.
fn rule_report(
    r: &crate::watch::Rule,
    events: &[Event],
    firing: &[&str],
    redactor: &crate::redact::Redactor,
) -> WatchRuleReport {
    WatchRuleReport {
        name: redactor.redact(&r.name),
        expr: redactor.redact(&r.expr),
        severity: r.severity.name().to_string(),
        fired: events
            .iter()
            .filter(|e| e.rule == r.name && e.kind == EventKind::Firing)
            .count() as u64,
        firing: firing.contains(&r.name.as_str()),
        limit_ms: match &r.condition {
            Condition::Latency { limit_ms, .. } => Some(*limit_ms),
            _ => None,
        },
        scope: match &r.condition {
            Condition::Latency { scope, .. } => Some(match scope {
                Scope::Requests => "requests".into(),
                Scope::E2e => "e2e".into(),
                Scope::Step(name) => redactor.redact(name),
            }),
            _ => None,
        },
    }
}

/// The terminal summary: the last run as `harness run` shows it, then the watch's lines.
pub(super) fn terminal(report: &Report, color: bool) -> String {
    let mut out = String::from("\nlast run:\n");
    out.push_str(&terminal::render(
        report,
        terminal::Style {
            color,
            verbose: false,
        },
    ));
    if let Some(w) = &report.watch {
        for line in summary_lines(w) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out.push_str(if report.passed {
        "watch PASSED\n"
    } else {
        "watch FAILED\n"
    });
    out
}
