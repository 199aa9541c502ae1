//! The metrics task: merges the workers' one-second windows into the run's time series
//! (one point per second: completions, errors, p50/p95/p99, iterations in flight) and into
//! running totals for the live progress line and `--abort-on-fail`.
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

use super::record::{Shared, Window};
use crate::metrics::Series;

/// One second of the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TimePoint {
    /// Seconds since the start (the point covers [t_s, t_s + 1)).
    pub t_s: u64,
    /// Iterations completed in that second (= iterations per second).
    pub iterations: u64,
    /// Request steps completed in that second (= requests per second).
    pub requests: u64,
    pub errors: u64,
    /// Iteration latency from the intended start, ms.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// End-to-end p95 in that second, ms (flows with `await` steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
        let mut aborted = false;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                w = rx.recv() => match w {
                    Some(w) => {
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
                p50_ms: w.iterations.quantile_ms(0.50),
                p95_ms: w.iterations.quantile_ms(0.95),
                p99_ms: w.iterations.quantile_ms(0.99),
                e2e_p95_ms: w.e2e.quantile_ms(0.95),
                in_flight: o.in_flight,
            },
        );
    }
}

impl TimePoint {
    /// A second in which nothing completed.
    pub fn empty(t_s: u64) -> TimePoint {
        TimePoint {
            t_s,
            iterations: 0,
            requests: 0,
            errors: 0,
            p50_ms: None,
            p95_ms: None,
            p99_ms: None,
            e2e_p95_ms: None,
            in_flight: 0,
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
            errors: 0,
            p50_ms: Some(1.0),
            p95_ms: Some(1.0),
            p99_ms: Some(1.0),
            e2e_p95_ms: None,
            in_flight: 1,
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
