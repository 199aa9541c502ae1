//! Rule evaluation over a timeline of run records: each record in, the transitions it caused
//! out. A rule fires once its condition has held at every run for its `for` duration, and a
//! firing rule resolves once the condition has been clear for as long (hysteresis: one good
//! run in a bad period does not resolve it, one bad run does not fire it).
//!
//! Memory is bounded: the evaluator keeps the records of the longest window a rule needs, a
//! few evidence points per rule, and counters.

use std::collections::VecDeque;
use std::time::Duration;

use crate::scenario::model::{Comparison, Metric};
use crate::scenario::watch_rule::{Condition, Rule, Scope, Selector, Severity};

/// Evidence points kept per rule (the runs that made it fire or resolve).
const EVIDENCE: usize = 20;

/// One latency distribution's statistics, in milliseconds.
pub use crate::metrics::LatencySummary as Latencies;

/// `metric` of `latencies`; `None` for a metric that is not a latency.
fn latency_stat(l: &Latencies, metric: Metric) -> Option<f64> {
    Some(match metric {
        Metric::P50 => l.p50,
        Metric::P90 => l.p90,
        Metric::P95 => l.p95,
        Metric::P99 => l.p99,
        Metric::Max => l.max,
        Metric::Mean => l.mean,
        _ => return None,
    })
}

/// A run's (or a baseline report's) latency figures.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Figures {
    /// Over every request step; `None` without samples.
    pub requests: Option<Latencies>,
    pub e2e: Option<Latencies>,
    pub steps: Vec<(String, Latencies)>,
}

impl Figures {
    fn stat(&self, scope: &Scope, metric: Metric) -> Option<f64> {
        let latencies = match scope {
            Scope::Requests => self.requests.as_ref(),
            Scope::E2e => self.e2e.as_ref(),
            Scope::Step(name) => self.steps.iter().find(|(n, _)| n == name).map(|(_, l)| l),
        };
        latencies.and_then(|l| latency_stat(l, metric))
    }
}

/// One scraped Prometheus sample.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// What one run of the scenario showed (stored as JSON in a watch's database).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    /// When the run ended, in milliseconds on the watch's clock (non-decreasing).
    pub at_ms: u64,
    /// When it started. Runs overlap: one that started before the newest run judged so far
    /// ends out of order, and tells about an older instant (see [`Evaluator::observe`]).
    #[serde(default)]
    pub started_ms: u64,
    pub passed: bool,
    pub figures: Figures,
    pub samples: Vec<Sample>,
}

impl RunRecord {
    fn sample(&self, selector: &Selector) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| selector.matches(&s.name, &s.labels))
            .map(|s| s.value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Firing,
    Resolved,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Firing => "firing",
            EventKind::Resolved => "resolved",
        }
    }
}

/// One evaluation of a rule: when, whether the condition held, what was observed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub at_ms: u64,
    pub breached: bool,
    pub value: f64,
}

/// A rule's transition, with the evaluations that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub rule: String,
    pub expr: String,
    pub severity: Severity,
    pub kind: EventKind,
    pub at_ms: u64,
    /// Since when the condition held (firing) or was clear (resolved).
    pub since_ms: u64,
    /// The value observed at the transition.
    pub value: f64,
    /// The evaluations since `since_ms` (the last [`EVIDENCE`] of them).
    pub evidence: Vec<Point>,
}

/// A stretch of failed runs: from the first failed run to the next passed one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Incident {
    pub start_ms: u64,
    /// `None` while it lasts.
    pub end_ms: Option<u64>,
    pub failed_runs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Ok,
    Pending { since: u64 },
    Firing,
    Clearing { since: u64 },
}

#[derive(Debug, Clone)]
struct RuleState {
    rule: Rule,
    phase: Phase,
    recent: VecDeque<Point>,
}

/// The rules' states over the timeline seen so far.
#[derive(Debug)]
pub struct Evaluator {
    rules: Vec<RuleState>,
    baseline: Option<Figures>,
    window: VecDeque<RunRecord>,
    span_ms: u64,
    /// Runs seen and runs passed, since the watch began.
    pub runs: u64,
    pub passed: u64,
    pub incidents: Vec<Incident>,
    healthy_since: Option<u64>,
    /// The start of the newest run judged so far.
    latest_start: Option<u64>,
    /// Latency over time, per minute then per hour (flat memory).
    pub history: super::history::History,
}

impl Evaluator {
    pub fn new(rules: Vec<Rule>, baseline: Option<Figures>) -> Self {
        let span = rules.iter().map(window_of).max().unwrap_or_default();
        Evaluator {
            rules: rules
                .into_iter()
                .map(|rule| RuleState {
                    rule,
                    phase: Phase::Ok,
                    recent: VecDeque::new(),
                })
                .collect(),
            baseline,
            window: VecDeque::new(),
            span_ms: span.as_millis() as u64,
            runs: 0,
            passed: 0,
            incidents: Vec::new(),
            healthy_since: None,
            latest_start: None,
            history: super::history::History::default(),
        }
    }

    /// Takes one run's record; returns the transitions it caused, in rule order.
    ///
    /// A run that started before the newest run already judged (a slow run overtaken by a
    /// later one) counts for uptime, error rate and incidents, but the rules do not judge
    /// it: the later run has already told them about a later instant.
    pub fn observe(&mut self, mut record: RunRecord) -> Vec<Event> {
        if let Some(last) = self.window.back() {
            record.at_ms = record.at_ms.max(last.at_ms);
        }
        let now = record.at_ms;
        let p95 = |l: &Option<Latencies>| l.as_ref().map(|l| l.p95);
        self.history.observe(
            record.at_ms,
            p95(&record.figures.requests),
            p95(&record.figures.e2e),
        );
        let stale = self.latest_start.is_some_and(|s| record.started_ms < s);
        if !stale {
            self.latest_start = Some(record.started_ms);
        }
        self.count(&record, stale);
        self.window.push_back(record);
        let cutoff = now.saturating_sub(self.span_ms);
        while self.window.len() > 1 && self.window[1].at_ms <= cutoff {
            self.window.pop_front();
        }
        if stale {
            return Vec::new();
        }
        let mut events = Vec::new();
        for i in 0..self.rules.len() {
            let point = self.check(&self.rules[i].rule.condition, self.rules[i].rule.hold);
            if let Some((breached, value)) = point {
                let point = Point {
                    at_ms: now,
                    breached,
                    value,
                };
                events.extend(step(&mut self.rules[i], point));
            }
        }
        let last_passed = self.window.back().is_some_and(|r| r.passed);
        let healthy = last_passed && self.rules.iter().all(|r| r.phase == Phase::Ok);
        self.healthy_since = healthy.then(|| self.healthy_since.unwrap_or(now));
        events
    }

    /// The share of passed runs (1 before the first run).
    pub fn uptime(&self) -> f64 {
        if self.runs == 0 {
            1.0
        } else {
            self.passed as f64 / self.runs as f64
        }
    }

    /// How long every rule has been clear and the runs passing, at `now_ms`.
    pub fn healthy_for(&self, now_ms: u64) -> Duration {
        self.healthy_since.map_or(Duration::ZERO, |s| {
            Duration::from_millis(now_ms.saturating_sub(s))
        })
    }

    /// The rules firing now (a clearing rule still fires).
    pub fn firing(&self) -> Vec<&Rule> {
        self.rules
            .iter()
            .filter(|r| matches!(r.phase, Phase::Firing | Phase::Clearing { .. }))
            .map(|r| &r.rule)
            .collect()
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|r| &r.rule)
    }

    /// Uptime and incidents. A stale failed run that started before the last incident
    /// ended belongs to it; a stale passed run closes nothing (it is older news).
    fn count(&mut self, record: &RunRecord, stale: bool) {
        self.runs += 1;
        let last = self.incidents.last_mut();
        if record.passed {
            self.passed += 1;
            if let Some(open) = last.filter(|i| i.end_ms.is_none() && !stale) {
                open.end_ms = Some(record.at_ms);
            }
            return;
        }
        match last {
            Some(i) if i.end_ms.is_none_or(|end| stale && record.started_ms < end) => {
                i.failed_runs += 1;
            }
            _ => self.incidents.push(Incident {
                start_ms: record.at_ms,
                end_ms: None,
                failed_runs: 1,
            }),
        }
    }

    /// Whether the condition holds at the newest record, and the value observed; `None`
    /// when the run gives nothing to judge (no such step, metric not scraped, too little
    /// history).
    fn check(&self, condition: &Condition, hold: Duration) -> Option<(bool, f64)> {
        let last = self.window.back()?;
        match condition {
            Condition::Down => Some((!last.passed, if last.passed { 0.0 } else { 1.0 })),
            Condition::Latency {
                scope,
                metric,
                comparison,
                limit_ms,
            } => {
                let v = last.figures.stat(scope, *metric)?;
                Some((compare(v, *comparison, *limit_ms), v))
            }
            Condition::Baseline {
                scope,
                metric,
                comparison,
                ratio,
            } => {
                let base = self.baseline.as_ref()?.stat(scope, *metric)?;
                let v = last.figures.stat(scope, *metric)?;
                Some((compare(v, *comparison, base * ratio), v))
            }
            Condition::ErrorRate { comparison, rate } => {
                let v = self.error_rate(last.at_ms, hold);
                Some((compare(v, *comparison, *rate), v))
            }
            Condition::Uptime { comparison, ratio } => {
                let v = self.uptime();
                Some((compare(v, *comparison, *ratio), v))
            }
            Condition::Metric {
                selector,
                comparison,
                value,
            } => {
                let v = last.sample(selector)?;
                Some((compare(v, *comparison, *value), v))
            }
            Condition::Growth {
                selector,
                comparison,
                ratio,
                period,
            } => {
                let growth = self.growth(selector, *period)?;
                Some((compare(growth, *comparison, *ratio), growth))
            }
        }
    }

    /// Failed runs over runs in the trailing window (since the watch began without one).
    fn error_rate(&self, now: u64, window: Duration) -> f64 {
        if window.is_zero() {
            return 1.0 - self.uptime();
        }
        let from = now.saturating_sub(window.as_millis() as u64);
        let runs = self.window.iter().filter(|r| r.at_ms > from);
        let (n, failed) = runs.fold((0u64, 0u64), |(n, f), r| (n + 1, f + u64::from(!r.passed)));
        if n == 0 {
            0.0
        } else {
            failed as f64 / n as f64
        }
    }

    /// The newest value against the newest one at least `period` older.
    fn growth(&self, selector: &Selector, period: Duration) -> Option<f64> {
        let last = self.window.back()?;
        let now_value = last.sample(selector)?;
        let before = last.at_ms.checked_sub(period.as_millis() as u64)?;
        let then = self
            .window
            .iter()
            .rev()
            .filter(|r| r.at_ms <= before)
            .find_map(|r| r.sample(selector))?;
        (then > 0.0).then(|| (now_value - then) / then)
    }
}

/// The history a rule needs to see.
fn window_of(rule: &Rule) -> Duration {
    match &rule.condition {
        Condition::Growth { period, .. } => *period,
        Condition::ErrorRate { .. } => rule.hold,
        _ => Duration::ZERO,
    }
}

fn compare(value: f64, comparison: Comparison, limit: f64) -> bool {
    match comparison {
        Comparison::Lt => value < limit,
        Comparison::Le => value <= limit,
        Comparison::Gt => value > limit,
        Comparison::Ge => value >= limit,
        Comparison::Eq => (value - limit).abs() < f64::EPSILON * limit.abs().max(1.0),
    }
}

/// Moves one rule's state machine by one evaluation.
fn step(state: &mut RuleState, point: Point) -> Option<Event> {
    let hold = state.rule.hold.as_millis() as u64;
    let now = point.at_ms;
    let (phase, transition) = match (state.phase, point.breached) {
        (Phase::Ok, true) if hold == 0 => (Phase::Firing, Some((EventKind::Firing, now))),
        (Phase::Ok, true) => (Phase::Pending { since: now }, None),
        (Phase::Pending { since }, true) if now - since >= hold => {
            (Phase::Firing, Some((EventKind::Firing, since)))
        }
        (Phase::Pending { .. }, false) => (Phase::Ok, None),
        (Phase::Firing, false) if hold == 0 => (Phase::Ok, Some((EventKind::Resolved, now))),
        (Phase::Firing, false) => (Phase::Clearing { since: now }, None),
        (Phase::Clearing { since }, false) if now - since >= hold => {
            (Phase::Ok, Some((EventKind::Resolved, since)))
        }
        (Phase::Clearing { .. }, true) => (Phase::Firing, None),
        (phase, _) => (phase, None),
    };
    // Evidence is the current streak: restart it when the condition flips.
    if state
        .recent
        .back()
        .is_some_and(|p| p.breached != point.breached)
    {
        state.recent.clear();
    }
    state.recent.push_back(point);
    if state.recent.len() > EVIDENCE {
        state.recent.pop_front();
    }
    state.phase = phase;
    let (kind, since_ms) = transition?;
    Some(Event {
        rule: state.rule.name.clone(),
        expr: state.rule.expr.clone(),
        severity: state.rule.severity,
        kind,
        at_ms: now,
        since_ms,
        value: point.value,
        evidence: state.recent.iter().copied().collect(),
    })
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
