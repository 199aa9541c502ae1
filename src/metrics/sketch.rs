//! A small latency sketch for per-second figures: logarithmic buckets 1 % wide, only those
//! used kept. An HDR histogram (3 significant digits up to an hour) takes ~180 KB, too much
//! for one per second of a long run; a second's sketch holds a few dozen buckets, and its
//! percentiles are within 1 % — plenty for a chart.

use std::collections::BTreeMap;
use std::time::Duration;

/// Each bucket is this much wider than the previous.
const GROWTH: f64 = 1.01;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sketch {
    buckets: BTreeMap<u32, u64>,
    count: u64,
}

impl Sketch {
    pub fn record(&mut self, latency: Duration) {
        self.record_us(latency.as_micros() as u64, 1);
    }

    /// Adds `n` samples of `us` microseconds.
    pub fn record_us(&mut self, us: u64, n: u64) {
        if n == 0 {
            return;
        }
        let key = ((us.max(1) as f64).ln() / GROWTH.ln()).floor() as u32;
        *self.buckets.entry(key).or_default() += n;
        self.count += n;
    }

    pub fn merge(&mut self, other: &Sketch) {
        for (k, n) in &other.buckets {
            *self.buckets.entry(*k).or_default() += n;
        }
        self.count += other.count;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The latency at `q` (0..=1) in ms (the middle of its bucket); `None` when empty.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (k, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(GROWTH.powf(f64::from(*k) + 0.5) / 1000.0);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_one_percent_and_merge_adds_up() {
        let mut a = Sketch::default();
        let mut b = Sketch::default();
        for ms in 1..=50 {
            a.record(Duration::from_millis(ms));
        }
        for ms in 51..=100 {
            b.record(Duration::from_millis(ms));
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        for (q, want) in [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (1.0, 100.0)] {
            let got = a.quantile_ms(q).unwrap();
            assert!((got - want).abs() / want < 0.01, "q{q}: {got} vs {want}");
        }
        assert_eq!(Sketch::default().quantile_ms(0.5), None);
        // Few buckets for many samples of one value.
        let mut c = Sketch::default();
        c.record_us(2_000, 1_000);
        assert_eq!(c.buckets.len(), 1);
    }
}
