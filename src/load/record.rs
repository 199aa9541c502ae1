//! What a worker records, and how records merge: per-step series, the iteration latency
//! from the intended start (coordinated-omission free) and from the actual start (service
//! time), errors by kind, one failure sample per step, and the current one-second window
//! that feeds the time series. All fixed-size: HDR histograms and counters, no per-request
//! storage, so memory does not grow with the run's length.

use std::collections::BTreeMap;
use std::time::Duration;

use std::sync::atomic::AtomicU64;

use tokio::time::Instant;

use crate::metrics::{Series, Sketch};
use crate::runner::check::CheckResult;
use crate::runner::http::{ExchangeError, Response, SentRequest};
use crate::runner::{CheckCounts, StepKind, StepSamples};

/// The samples of one executed step of one iteration.
#[derive(Debug)]
pub struct StepRecord {
    /// The step's position in the flow.
    pub index: usize,
    pub kind: StepKind,
    pub samples: Samples,
    /// The step's checks that passed and failed (captures included).
    pub checks: CheckCounts,
}

#[derive(Debug)]
pub enum Samples {
    /// One execution (the quick mode's request): no histogram allocated per iteration.
    One {
        latency: Option<Duration>,
        failed: bool,
    },
    /// A scenario step's samples (attempts of a retried step included), recorded straight
    /// into the worker's histograms: no histogram per step result.
    Step(StepSamples),
}

/// Counters shared by the dispatcher, the workers and the metrics task.
#[derive(Debug)]
pub(super) struct Shared {
    pub t0: Instant,
    pub started: AtomicU64,
    pub dropped: AtomicU64,
    pub in_flight: AtomicU64,
    pub peak_in_flight: AtomicU64,
    /// Per second of the schedule (by intended start; the last slot takes any later one):
    /// iterations started and arrivals dropped. 16 bytes a second.
    pub started_by_second: Vec<AtomicU64>,
    pub dropped_by_second: Vec<AtomicU64>,
}

impl Shared {
    pub fn new(t0: Instant, seconds: u64) -> Self {
        let slots = || (0..=seconds).map(|_| AtomicU64::new(0)).collect();
        Shared {
            t0,
            started: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
            started_by_second: slots(),
            dropped_by_second: slots(),
        }
    }

    /// Counts one in `slots` at the second of `at`.
    pub fn count_at(&self, slots: &[AtomicU64], at: Instant) {
        let second = at.saturating_duration_since(self.t0).as_secs() as usize;
        if let Some(slot) = slots.get(second.min(slots.len().saturating_sub(1))) {
            slot.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

/// What a failed step looked like: kept once per step for the report.
#[derive(Debug, Clone, Default)]
pub struct FailureSample {
    pub error: Option<ExchangeError>,
    pub checks: Vec<CheckResult>,
    pub request: Option<SentRequest>,
    pub response: Option<Response>,
}

/// The result of one iteration, as a flow reports it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub steps: Vec<StepRecord>,
    /// The kind of the iteration's failure (`check`, `timeout`, `connect`, `status`, …);
    /// `None`: it passed.
    pub error: Option<String>,
    /// The failed step and what it looked like; the worker keeps the first per step.
    pub sample: Option<(usize, FailureSample)>,
    /// Quick mode: the response's status code (none when no response came).
    pub status: Option<u16>,
}

/// An iteration that ran, with its three instants.
#[derive(Debug)]
pub struct Done {
    pub outcome: Outcome,
    /// When the schedule meant it to start.
    pub intended: Instant,
    pub started: Instant,
    pub finished: Instant,
}

/// One second of completions (by completion time), as one worker saw them.
#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Seconds since the start of the run.
    pub second: u64,
    /// Iteration latencies from the intended start.
    pub iterations: Series,
    /// Request latencies (`http`, `inject` steps).
    pub requests: Series,
    /// End-to-end latencies (`await` steps).
    pub e2e: Series,
    /// The same iterations by the second they were meant to start in.
    pub by_start: BTreeMap<u64, StartWindow>,
}

/// The iterations meant to start in one second: what the charts place by start time.
#[derive(Debug, Clone, Default)]
pub struct StartWindow {
    /// Latency from the intended start.
    pub latency: Sketch,
    /// Latency from the actual start.
    pub service: Sketch,
    pub e2e: Sketch,
    pub failed: u64,
}

impl StartWindow {
    pub fn merge(&mut self, other: &StartWindow) {
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.e2e.merge(&other.e2e);
        self.failed += other.failed;
    }
}

impl Window {
    pub fn merge(&mut self, other: &Window) {
        self.iterations.merge(&other.iterations);
        self.requests.merge(&other.requests);
        self.e2e.merge(&other.e2e);
        for (s, w) in &other.by_start {
            self.by_start.entry(*s).or_default().merge(w);
        }
    }

    fn is_empty(&self) -> bool {
        self.iterations.count == 0
    }
}

/// A worker's records; merged into one at the end of the run.
#[derive(Debug, Clone)]
pub struct Recorder {
    /// Per step of the flow, in order.
    pub steps: Vec<Series>,
    pub kinds: Vec<Option<StepKind>>,
    /// Intended start → end of the iteration.
    pub iterations: Series,
    /// Actual start → end of the iteration.
    pub service: Series,
    /// Intended start → actual start: how late the generator started iterations (a busy
    /// process, or a dispatcher that fell behind its schedule).
    pub start_lag: Series,
    pub errors: BTreeMap<String, u64>,
    /// Quick mode: responses by status code.
    pub statuses: BTreeMap<u16, u64>,
    pub samples: Vec<Option<FailureSample>>,
    /// Every check evaluated (one per check per execution of its step).
    pub checks: CheckCounts,
    window: Window,
}

impl Recorder {
    pub fn new(steps: usize) -> Self {
        Self {
            steps: (0..steps).map(|_| Series::new()).collect(),
            kinds: vec![None; steps],
            iterations: Series::new(),
            service: Series::new(),
            start_lag: Series::new(),
            errors: BTreeMap::new(),
            statuses: BTreeMap::new(),
            samples: vec![None; steps],
            checks: CheckCounts::default(),
            window: Window::default(),
        }
    }

    /// Records an iteration that finished `second`s into the run and was meant to start
    /// `start_second`s into it; returns the previous window when this one starts a new second.
    pub fn record(&mut self, done: Done, second: u64, start_second: u64) -> Option<Window> {
        let flushed = self.roll(second);
        let Done {
            outcome,
            intended,
            started,
            finished,
        } = done;
        let failed = outcome.error.is_some();
        let latency = finished.saturating_duration_since(intended);
        let service = finished.saturating_duration_since(started);
        self.iterations.record(latency, failed);
        self.service.record(service, failed);
        self.start_lag
            .record(started.saturating_duration_since(intended), false);
        self.window.iterations.record(latency, failed);
        let by_start = self.window.by_start.entry(start_second).or_default();
        by_start.latency.record(latency);
        by_start.service.record(service);
        by_start.failed += u64::from(failed);
        for step in &outcome.steps {
            if let (StepKind::Await, Samples::Step(s)) = (step.kind, &step.samples) {
                for d in s.retried.iter().chain(&s.last) {
                    by_start.e2e.record(*d);
                }
            }
        }
        for step in outcome.steps {
            self.record_step(step);
        }
        if let Some(kind) = outcome.error {
            *self.errors.entry(kind).or_default() += 1;
        }
        if let Some(status) = outcome.status {
            *self.statuses.entry(status).or_default() += 1;
        }
        if let Some((i, sample)) = outcome.sample {
            if let Some(slot @ None) = self.samples.get_mut(i) {
                *slot = Some(sample);
            }
        }
        flushed
    }

    fn record_step(&mut self, step: StepRecord) {
        let Some(series) = self.steps.get_mut(step.index) else {
            return;
        };
        self.kinds[step.index] = Some(step.kind);
        self.checks.add(step.checks);
        let window = match step.kind {
            StepKind::Await => &mut self.window.e2e,
            _ => &mut self.window.requests,
        };
        match step.samples {
            Samples::One { latency, failed } => match latency {
                Some(d) => {
                    series.record(d, failed);
                    window.record(d, failed);
                }
                None => {
                    series.record_without_latency(failed);
                    window.record_without_latency(failed);
                }
            },
            Samples::Step(s) => {
                s.record_into(series);
                s.record_into(window);
            }
        }
    }

    /// Hands over the current window if it is older than `second` (and not empty).
    pub fn roll(&mut self, second: u64) -> Option<Window> {
        if second == self.window.second {
            return None;
        }
        let fresh = Window {
            second,
            ..Window::default()
        };
        let old = std::mem::replace(&mut self.window, fresh);
        (!old.is_empty()).then_some(old)
    }

    /// Hands over the current window, whatever its age.
    pub fn flush(&mut self) -> Option<Window> {
        let second = self.window.second;
        let old = std::mem::replace(
            &mut self.window,
            Window {
                second,
                ..Window::default()
            },
        );
        (!old.is_empty()).then_some(old)
    }

    /// Adds another worker's records (the first failure sample per step wins).
    pub fn merge(&mut self, other: Recorder) {
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.merge(theirs);
        }
        for (mine, theirs) in self.kinds.iter_mut().zip(other.kinds) {
            *mine = mine.or(theirs);
        }
        for (mine, theirs) in self.samples.iter_mut().zip(other.samples) {
            if mine.is_none() {
                *mine = theirs;
            }
        }
        self.iterations.merge(&other.iterations);
        self.service.merge(&other.service);
        self.start_lag.merge(&other.start_lag);
        self.checks.add(other.checks);
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        for (k, n) in other.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(at: Instant, intended_ms: u64, service_ms: u64, error: Option<&str>) -> Done {
        let started = at + Duration::from_millis(intended_ms);
        Done {
            outcome: Outcome {
                steps: vec![StepRecord {
                    index: 0,
                    kind: StepKind::Http,
                    samples: Samples::One {
                        latency: Some(Duration::from_millis(service_ms)),
                        failed: error.is_some(),
                    },
                    checks: CheckCounts::default(),
                }],
                error: error.map(str::to_string),
                sample: error.map(|_| (0, FailureSample::default())),
                status: Some(if error.is_some() { 503 } else { 200 }),
            },
            intended: at,
            started,
            finished: started + Duration::from_millis(service_ms),
        }
    }

    #[test]
    fn latency_counts_from_the_intended_start_and_service_from_the_actual_one() {
        let t0 = Instant::now();
        let mut r = Recorder::new(1);
        r.record(done(t0, 100, 50, None), 0, 0);
        let it = r.iterations.summary().unwrap();
        let sv = r.service.summary().unwrap();
        assert!((it.max - 150.0).abs() < 0.2, "{it:?}");
        assert!((sv.max - 50.0).abs() < 0.1, "{sv:?}");
        assert_eq!(r.steps[0].count, 1);
    }

    #[test]
    fn merge_adds_counts_errors_and_keeps_one_sample_per_step() {
        let t0 = Instant::now();
        let (mut a, mut b, mut all) = (Recorder::new(1), Recorder::new(1), Recorder::new(1));
        for i in 0..200u64 {
            let err = (i % 10 == 0).then_some(if i % 20 == 0 { "timeout" } else { "status" });
            let target = if i % 3 == 0 { &mut a } else { &mut b };
            target.record(done(t0, i % 7, 10 + i, err), i / 50, i / 50);
            all.record(done(t0, i % 7, 10 + i, err), i / 50, i / 50);
        }
        a.merge(b);
        assert_eq!(a.iterations.summary(), all.iterations.summary());
        assert_eq!(a.service.summary(), all.service.summary());
        assert_eq!(a.steps[0].summary(), all.steps[0].summary());
        assert_eq!((a.iterations.count, a.iterations.failures), (200, 20));
        assert_eq!(a.errors, all.errors);
        assert_eq!(a.errors.values().sum::<u64>(), a.iterations.failures);
        assert_eq!(a.statuses, [(200, 180), (503, 20)].into());
        assert!(a.samples[0].is_some());
    }

    #[test]
    fn windows_roll_by_second_and_cover_every_iteration() {
        let t0 = Instant::now();
        let mut r = Recorder::new(1);
        let mut windows = Vec::new();
        for i in 0..30u64 {
            windows.extend(r.record(done(t0, 0, 5, None), i / 10, i / 10));
        }
        windows.extend(r.flush());
        assert_eq!(
            windows.iter().map(|w| w.second).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(windows.iter().all(|w| w.iterations.count == 10));
        assert!(windows.iter().all(|w| w.requests.count == 10));
        assert!(r.flush().is_none());
    }
}
