//! The metrics task: merges the workers' one-second windows into the run's time series
//! (one point per second: completions, errors, iterations started, dropped and in flight, and
//! the percentiles of the iterations by the second they were meant to start in) and into
//! running totals for the live progress line and `--abort-on-fail`.
//!
//! Completions are counted in the second they happen; latencies are placed by the intended
//! start, so a stretch of slow or failing iterations shows where it began, not seconds later
//! when its timeouts ran out. Those per-start figures are kept as small sketches
//! ([`Sketch`](crate::metrics::Sketch), a few KB per second) until the end of the run, since an
//! iteration may finish long after it started.
//!
//! Protocol: workers send a [`Window`] when a second is over for them (at their next
//! completion, or at their 250 ms tick); this task ticks every 250 ms, samples the in-flight
//! gauge, and closes the seconds that are two seconds old, so a window that comes a little
//! late still lands in its second. A window later than that adds its counts to the closed
//! point (its percentiles stay as they were). The task ends when every worker has dropped
//! its sender, then closes whatever is left.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::record::{Shared, StartWindow, Window};
use crate::metrics::Series;

/// One second of the run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimePoint {
    /// Seconds since the start (the point covers [t_s, t_s + 1)).
    pub t_s: u64,
    /// Iterations completed in that second (= iterations per second).
    pub iterations: u64,
    /// Request steps completed in that second (= requests per second).
    pub requests: u64,
    /// Iterations completed in that second that failed.
    pub errors: u64,
    /// Iterations started, and arrivals dropped, in that second.
    pub started: u64,
    pub dropped: u64,
    /// Of the iterations meant to start in that second, those that failed.
    pub failed_started: u64,
    /// Latency from the intended start of the iterations meant to start in that second, ms.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Service time p95 of those iterations, ms.
    pub service_p95_ms: Option<f64>,
    /// End-to-end p95 of those iterations, ms (flows with `await` steps).
    pub e2e_p95_ms: Option<f64>,
    /// Highest number of iterations in flight seen during that second.
    pub in_flight: u64,
}

/// The live view, for the progress line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub elapsed: Duration,
    pub total: Duration,
    pub started: u64,
    pub completed: u64,
    pub errors: u64,
    pub dropped: u64,
    pub in_flight: u64,
    /// Iterations completed in the last full second.
    pub rps: f64,
    /// Iteration latency p95 so far, ms.
    pub p95_ms: Option<f64>,
}

/// Running totals, for deciding early that a threshold can no longer pass.
#[derive(Debug)]
pub struct Live<'a> {
    pub iterations: &'a Series,
    pub requests: &'a Series,
    pub e2e: &'a Series,
    pub started: u64,
}

pub type ProgressFn = Box<dyn FnMut(&Progress) + Send>;
pub type AbortFn = Box<dyn Fn(&Live<'_>) -> bool + Send>;

/// What the metrics task hands back.
#[derive(Debug, Default)]
pub struct Timeline {
    pub points: Vec<TimePoint>,
    /// `--abort-on-fail` stopped the run.
    pub aborted: bool,
}

pub(super) struct Collector {
    pub shared: Arc<Shared>,
    pub total: Duration,
    pub progress: Option<ProgressFn>,
    pub abort: Option<AbortFn>,
    /// Cancelled when the abort check fires (stops new iterations).
    pub stop: CancellationToken,
}

struct Open {
    window: Window,
    in_flight: u64,
}

impl Collector {
    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Window>) -> Timeline {
        let mut open: BTreeMap<u64, Open> = BTreeMap::new();
        let mut closed: BTreeMap<u64, TimePoint> = BTreeMap::new();
        let mut total = Window::default();
        let mut by_start: BTreeMap<u64, StartWindow> = BTreeMap::new();
        let mut aborted = false;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                w = rx.recv() => match w {
                    Some(mut w) => {
                        for (s, sw) in std::mem::take(&mut w.by_start) {
                            by_start.entry(s).or_default().merge(&sw);
                        }
                        total.merge(&w);
                        match closed.get_mut(&w.second) {
                            Some(p) => {
                                p.iterations += w.iterations.count;
                                p.requests += w.requests.count;
                                p.errors += w.iterations.failures;
                            }
                            None => open_at(&mut open, w.second).window.merge(&w),
                        }
                    }
                    None => break,
                },
                _ = tick.tick() => {
                    let now = self.shared.t0.elapsed().as_secs();
                    let in_flight = self.shared.in_flight.load(Ordering::Relaxed);
                    let slot = open_at(&mut open, now);
                    slot.in_flight = slot.in_flight.max(in_flight);
                    close_before(&mut open, &mut closed, now.saturating_sub(1));
                    self.report(&closed, &total);
                    if !aborted && self.abort_now(&total) {
                        aborted = true;
                        self.stop.cancel();
                    }
                }
            }
        }
        close_before(&mut open, &mut closed, u64::MAX);
        place_by_start(&mut closed, by_start, &self.shared);
        self.report(&closed, &total);
        Timeline {
            points: closed.into_values().collect(),
            aborted,
        }
    }

    fn report(&mut self, closed: &BTreeMap<u64, TimePoint>, total: &Window) {
        let Some(progress) = self.progress.as_mut() else {
            return;
        };
        let s = &self.shared;
        progress(&Progress {
            elapsed: s.t0.elapsed(),
            total: self.total,
            started: s.started.load(Ordering::Relaxed),
            completed: total.iterations.count,
            errors: total.iterations.failures,
            dropped: s.dropped.load(Ordering::Relaxed),
            in_flight: s.in_flight.load(Ordering::Relaxed),
            rps: closed.values().last().map_or(0.0, |p| p.iterations as f64),
            p95_ms: total.iterations.quantile_ms(0.95),
        });
    }

    fn abort_now(&self, total: &Window) -> bool {
        self.abort.as_ref().is_some_and(|check| {
            check(&Live {
                iterations: &total.iterations,
                requests: &total.requests,
                e2e: &total.e2e,
                started: self.shared.started.load(Ordering::Relaxed),
            })
        })
    }
}

fn open_at(open: &mut BTreeMap<u64, Open>, second: u64) -> &mut Open {
    open.entry(second).or_insert_with(|| Open {
        window: Window {
            second,
            ..Window::default()
        },
        in_flight: 0,
    })
}

/// Sets each second's starts, drops, percentiles and failures from the iterations meant to
/// start in it.
fn place_by_start(
    closed: &mut BTreeMap<u64, TimePoint>,
    by_start: BTreeMap<u64, StartWindow>,
    shared: &Shared,
) {
    let counts = shared
        .started_by_second
        .iter()
        .zip(&shared.dropped_by_second);
    for (second, (started, dropped)) in (0u64..).zip(counts) {
        let (started, dropped) = (
            started.load(Ordering::Relaxed),
            dropped.load(Ordering::Relaxed),
        );
        if started + dropped > 0 {
            let p = closed
                .entry(second)
                .or_insert_with(|| TimePoint::empty(second));
            (p.started, p.dropped) = (started, dropped);
        }
    }
    for (second, w) in by_start {
        let p = closed
            .entry(second)
            .or_insert_with(|| TimePoint::empty(second));
        p.failed_started = w.failed;
        p.p50_ms = w.latency.quantile_ms(0.50);
        p.p95_ms = w.latency.quantile_ms(0.95);
        p.p99_ms = w.latency.quantile_ms(0.99);
        p.service_p95_ms = w.service.quantile_ms(0.95);
        p.e2e_p95_ms = w.e2e.quantile_ms(0.95);
    }
}

/// Closes every open second before `limit` into a point.
fn close_before(open: &mut BTreeMap<u64, Open>, closed: &mut BTreeMap<u64, TimePoint>, limit: u64) {
    let keep = if limit == u64::MAX {
        BTreeMap::new()
    } else {
        open.split_off(&limit)
    };
    for (second, o) in std::mem::replace(open, keep) {
        let w = &o.window;
        closed.insert(
            second,
            TimePoint {
                t_s: second,
                iterations: w.iterations.count,
                requests: w.requests.count,
                errors: w.iterations.failures,
                in_flight: o.in_flight,
                ..TimePoint::empty(second)
            },
        );
    }
}

impl TimePoint {
    /// A second in which nothing completed.
    pub fn empty(t_s: u64) -> TimePoint {
        TimePoint {
            t_s,
            ..TimePoint::default()
        }
    }
}

/// Fills the seconds in which nothing completed, so the series has one point per second.
pub fn fill_gaps(points: Vec<TimePoint>, seconds: u64) -> Vec<TimePoint> {
    let mut by_second: BTreeMap<u64, TimePoint> = points.into_iter().map(|p| (p.t_s, p)).collect();
    for t_s in 0..seconds {
        by_second.entry(t_s).or_insert(TimePoint::empty(t_s));
    }
    by_second.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_filled_and_points_stay_ordered() {
        let p = |t_s| TimePoint {
            t_s,
            iterations: 1,
            requests: 1,
            p50_ms: Some(1.0),
            p95_ms: Some(1.0),
            p99_ms: Some(1.0),
            ..TimePoint::empty(t_s)
        };
        let filled = fill_gaps(vec![p(3), p(0)], 5);
        let seconds: Vec<u64> = filled.iter().map(|p| p.t_s).collect();
        assert_eq!(seconds, [0, 1, 2, 3, 4]);
        assert_eq!(filled[1].iterations, 0);
        assert_eq!(filled[3].iterations, 1);
    }

    #[test]
    fn closing_keeps_the_recent_seconds_open() {
        let mut open = BTreeMap::new();
        let mut closed = BTreeMap::new();
        for s in 0..4 {
            let slot = open_at(&mut open, s);
            slot.window
                .iterations
                .record(Duration::from_millis(5), s == 2);
        }
        close_before(&mut open, &mut closed, 2);
        assert_eq!(closed.keys().copied().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(open.keys().copied().collect::<Vec<_>>(), [2, 3]);
        close_before(&mut open, &mut closed, u64::MAX);
        assert!(open.is_empty());
        assert_eq!(closed[&2].errors, 1);
    }
}
