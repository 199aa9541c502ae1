//! Latency over time for a watch of any length, in flat memory: each run's p95 (over its
//! request steps, and end to end) goes into the HDR histogram of its minute; when an hour is
//! over, its minutes are added into one histogram for the hour and dropped; hours older than
//! [`HOURS_KEPT`] are added into one histogram for everything earlier. So a 48-hour watch and a
//! month-long one hold the same number of histograms (at most 60 minutes + 168 hours).
//!
//! The histograms are HDR with 2 significant digits from 1 µs to 1 h in `u32` counts (~13 KB
//! each): runs' latencies to 1 %, which is what a chart of minutes and hours shows. Each
//! run contributes its own p95: the statistic the watch's latency rules judge run by run
//! (`p95 > 5s for 5m`), so the rule's threshold can be drawn on the same chart.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;

/// Hours kept one by one; older ones are summed.
pub const HOURS_KEPT: usize = 168;
const MINUTE_MS: u64 = 60_000;
const HOUR_MS: u64 = 3_600_000;
const MAX_US: u64 = 3_600_000_000;

/// The runs of one stretch of time: their p95 over requests and end to end.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub requests: Histogram<u32>,
    pub e2e: Histogram<u32>,
    pub runs: u64,
}

impl Default for Bucket {
    fn default() -> Self {
        let new = || Histogram::new_with_bounds(1, MAX_US, 2).expect("valid histogram bounds");
        Bucket {
            requests: new(),
            e2e: new(),
            runs: 0,
        }
    }
}

impl Bucket {
    fn add(&mut self, other: &Bucket) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.requests.add(&other.requests);
        let _ = self.e2e.add(&other.e2e);
        self.runs += other.runs;
    }
}

/// One point of the latency-over-time chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Since the watch's start, ms; and how long the point covers.
    pub start_ms: u64,
    pub span_ms: u64,
    pub runs: u64,
    /// p50, p95, p99 over the runs' p95 (ms); `None` without samples.
    pub requests: Option<[f64; 3]>,
    pub e2e: Option<[f64; 3]>,
}

/// Minutes of the current hour, hours before it, and everything earlier.
#[derive(Debug, Default)]
pub struct History {
    /// Keyed by minute since the watch's start.
    minutes: BTreeMap<u64, Bucket>,
    /// Keyed by hour since the watch's start.
    hours: BTreeMap<u64, Bucket>,
    /// Hours older than [`HOURS_KEPT`], summed, and the first hour they cover.
    earlier: Option<(u64, Bucket)>,
}

impl History {
    /// Adds a run that ended `at_ms` after the watch's start, with its p95 over the request
    /// steps and end to end (ms), when it has them.
    pub fn observe(&mut self, at_ms: u64, requests_p95: Option<f64>, e2e_p95: Option<f64>) {
        let minute = at_ms / MINUTE_MS;
        self.roll_up(minute * MINUTE_MS / HOUR_MS);
        let bucket = self.minutes.entry(minute).or_default();
        bucket.runs += 1;
        let us = |ms: f64| ((ms * 1000.0) as u64).clamp(1, MAX_US);
        if let Some(p95) = requests_p95 {
            bucket.requests.saturating_record(us(p95));
        }
        if let Some(p95) = e2e_p95 {
            bucket.e2e.saturating_record(us(p95));
        }
    }

    /// Adds the minutes of hours before `hour` into their hours, and hours past
    /// [`HOURS_KEPT`] into `earlier`.
    fn roll_up(&mut self, hour: u64) {
        let current = self.minutes.split_off(&(hour * 60));
        for (minute, bucket) in std::mem::replace(&mut self.minutes, current) {
            self.hours.entry(minute / 60).or_default().add(&bucket);
        }
        while self.hours.len() > HOURS_KEPT {
            let Some((h, bucket)) = self.hours.pop_first() else {
                break;
            };
            let (_, earlier) = self.earlier.get_or_insert_with(|| (h, Bucket::default()));
            earlier.add(&bucket);
        }
    }

    /// How many histograms it holds (for the flat-memory test and the docs).
    pub fn histograms(&self) -> usize {
        2 * (self.minutes.len() + self.hours.len() + usize::from(self.earlier.is_some()))
    }

    /// The chart's points, oldest first: everything earlier, each hour, each minute.
    pub fn points(&self) -> Vec<Point> {
        let mut out = Vec::new();
        if let Some((first, b)) = &self.earlier {
            let end = self.hours.keys().next().copied().unwrap_or(first + 1);
            out.push(point(first * HOUR_MS, (end - first) * HOUR_MS, b));
        }
        out.extend(
            self.hours
                .iter()
                .map(|(h, b)| point(h * HOUR_MS, HOUR_MS, b)),
        );
        out.extend(
            self.minutes
                .iter()
                .map(|(m, b)| point(m * MINUTE_MS, MINUTE_MS, b)),
        );
        out
    }
}

fn point(start_ms: u64, span_ms: u64, b: &Bucket) -> Point {
    let stats = |h: &Histogram<u32>| {
        (!h.is_empty()).then(|| [0.50, 0.95, 0.99].map(|q| h.value_at_quantile(q) as f64 / 1000.0))
    };
    Point {
        start_ms,
        span_ms,
        runs: b.runs,
        requests: stats(&b.requests),
        e2e: stats(&b.e2e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(h: &mut History, at_ms: u64, p95: f64) {
        h.observe(at_ms, Some(p95), Some(p95));
    }

    #[test]
    fn a_month_of_runs_holds_as_many_histograms_as_a_week() {
        let mut h = History::default();
        let mut peak = 0;
        // 31 days, a run every 30 s (89,280 runs).
        for s in (0..31 * 24 * 3600u64).step_by(30) {
            run(&mut h, s * 1000, 20.0);
            peak = peak.max(h.histograms());
        }
        // At most 60 minutes, 168 hours and the earlier sum, two series each.
        assert!(peak <= 2 * (60 + HOURS_KEPT + 1), "{peak}");
        assert_eq!(h.histograms(), 2 * (60 + HOURS_KEPT + 1));
        let points = h.points();
        let runs: u64 = points.iter().map(|p| p.runs).sum();
        assert_eq!(runs, 31 * 24 * 120);
        // Everything earlier first, then the hours, then the minutes of the last hour.
        assert_eq!(points[0].start_ms, 0);
        assert_eq!(points[1].span_ms, HOUR_MS);
        assert_eq!(points.last().unwrap().span_ms, MINUTE_MS);
        let recent = &points[points.len() - 61];
        assert_eq!(recent.span_ms, HOUR_MS);
        let [p50, _, p99] = recent.requests.unwrap();
        assert!(
            (p50 - 20.0).abs() < 0.5 && (p99 - 20.0).abs() < 0.5,
            "{recent:?}"
        );
    }

    #[test]
    fn minutes_roll_up_into_their_hour_with_the_slow_runs_in_it() {
        let mut h = History::default();
        for s in 0..2 * 3600u64 {
            let p95 = if (600..660).contains(&s) { 900.0 } else { 30.0 };
            run(&mut h, s * 1000, p95);
        }
        run(&mut h, 2 * HOUR_MS + 5, 30.0);
        let points = h.points();
        // Hours 0 and 1, then the first minute of hour 2.
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].runs, 3600);
        let [p50, _, p99] = points[0].requests.unwrap();
        assert!((p50 - 30.0).abs() < 0.5, "{p50}");
        // 60 of 3600 runs at 900 ms: above the 98.3rd percentile, so p99 sees them.
        assert!((p99 - 900.0).abs() < 10.0, "{p99}");
        assert_eq!(points[2].start_ms, 2 * HOUR_MS);
    }
}
