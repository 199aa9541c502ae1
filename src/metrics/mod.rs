//! Latency recording and aggregation. Pure: no I/O, no clocks.
//!
//! Latencies are recorded in HDR histograms in microseconds with 3 significant digits, so
//! every percentile is exact to 0.1 % whatever the range, and memory is fixed whatever the
//! run's length. Load workers each own a [`Series`] and merge them at the end.

use std::time::Duration;

use hdrhistogram::Histogram;

mod sketch;
pub use sketch::Sketch;

/// Highest latency recorded exactly: one hour (longer values are clamped to it).
const MAX_US: u64 = 3_600_000_000;

/// Samples of one series (one step, or end to end): a latency histogram and counts.
#[derive(Debug, Clone)]
pub struct Series {
    histogram: Histogram<u64>,
    /// Requests (or awaits) made, the attempts of a retried step included.
    pub count: u64,
    /// Executions: final outcomes, one per run of a step (or per iteration), whatever the
    /// number of attempts it took. The denominator of the error rate.
    pub executions: u64,
    /// Executions that failed (a check failed or no response came back).
    pub failures: u64,
    /// Failed executions that produced no latency sample: for an `await`, the reply was never
    /// observed.
    pub failed_unsampled: u64,
}

impl Default for Series {
    fn default() -> Self {
        Self::new()
    }
}

impl Series {
    pub fn new() -> Self {
        Self {
            histogram: Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds"),
            count: 0,
            executions: 0,
            failures: 0,
            failed_unsampled: 0,
        }
    }

    /// Counts alone, no latency samples (e.g. a run's iterations).
    pub fn from_counts(executions: u64, failures: u64) -> Self {
        Self {
            count: executions,
            executions,
            failures,
            ..Self::new()
        }
    }

    /// Records one execution (its final attempt) that took `latency`.
    pub fn record(&mut self, latency: Duration, failed: bool) {
        self.record_attempt(latency);
        self.executions += 1;
        if failed {
            self.failures += 1;
        }
    }

    /// Records an attempt that will be retried: a latency sample and a request, not an
    /// execution (its outcome is the final attempt's).
    pub fn record_attempt(&mut self, latency: Duration) {
        let us = (latency.as_micros() as u64).clamp(1, MAX_US);
        self.histogram.saturating_record(us);
        self.count += 1;
    }

    /// Counts an execution that produced no latency sample (a template error, an `await`
    /// whose reply never came, or one that expected silence).
    pub fn record_without_latency(&mut self, failed: bool) {
        self.count += 1;
        self.executions += 1;
        if failed {
            self.failures += 1;
            self.failed_unsampled += 1;
        }
    }

    pub fn merge(&mut self, other: &Series) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.histogram.add(&other.histogram);
        self.count += other.count;
        self.executions += other.executions;
        self.failures += other.failures;
        self.failed_unsampled += other.failed_unsampled;
    }

    /// Failed executions over executions, 0 when nothing ran.
    pub fn error_rate(&self) -> f64 {
        if self.executions == 0 {
            0.0
        } else {
            self.failures as f64 / self.executions as f64
        }
    }

    /// The latency histogram, lossless: HDR V2 with deflate (the `hdrhistogram` crate's
    /// serializer, readable by every HdrHistogram implementation), base64. What the JSON
    /// report carries, so that reports of shards merge exactly.
    pub fn encode_histogram(&self) -> String {
        use base64::Engine as _;
        use hdrhistogram::serialization::{Serializer as _, V2DeflateSerializer};
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail on I/O; a histogram of u64 counts always encodes.
        let _ = V2DeflateSerializer::new().serialize(&self.histogram, &mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// A series from an [`encode_histogram`](Self::encode_histogram) string and its counts.
    pub fn from_encoded(
        encoded: &str,
        count: u64,
        executions: u64,
        failures: u64,
    ) -> Result<Series, String> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let decoded: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .map_err(|e| format!("not an HDR histogram (V2): {e:?}"))?;
        let mut series = Series::new();
        series
            .histogram
            .add(&decoded)
            .map_err(|e| format!("histogram out of range: {e:?}"))?;
        series.count = count;
        series.executions = executions;
        series.failures = failures;
        Ok(series)
    }

    /// Number of latency samples (may be below `count`).
    pub fn samples(&self) -> u64 {
        self.histogram.len()
    }

    /// Latency at `quantile` (0..=1) in milliseconds; `None` without samples.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        (!self.histogram.is_empty())
            .then(|| self.histogram.value_at_quantile(quantile) as f64 / 1000.0)
    }

    pub fn summary(&self) -> Option<LatencySummary> {
        if self.histogram.is_empty() {
            return None;
        }
        let h = &self.histogram;
        let ms = |us: u64| us as f64 / 1000.0;
        Some(LatencySummary {
            min: ms(h.min()),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        })
    }

    /// The distribution as (upper bound ms, count) buckets, for charts: logarithmic buckets
    /// doubling from 0.1 ms.
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        let mut out = Vec::new();
        if self.histogram.is_empty() {
            return out;
        }
        for v in self.histogram.iter_log(100, 2.0) {
            out.push((
                v.value_iterated_to() as f64 / 1000.0,
                v.count_since_last_iteration(),
            ));
        }
        out
    }
}

/// Latency percentiles of a series, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LatencySummary {
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn histograms_survive_encoding_exactly() {
        let mut s = Series::new();
        for i in 1..=5000u64 {
            s.record(Duration::from_micros(i * i % 99_991 + 1), i % 7 == 0);
        }
        let encoded = s.encode_histogram();
        let back = Series::from_encoded(&encoded, s.count, s.executions, s.failures).unwrap();
        assert_eq!(back.histogram, s.histogram);
        assert_eq!(back.summary(), s.summary());
        assert_eq!(back.buckets(), s.buckets());
        assert!(Series::from_encoded("not base64!", 0, 0, 0).is_err());
        assert!(Series::from_encoded("aGVsbG8=", 0, 0, 0)
            .unwrap_err()
            .contains("HDR"));
    }

    #[test]
    fn percentiles_are_ordered_and_close_to_exact() {
        let mut s = Series::new();
        for i in 1..=1000 {
            s.record(ms(i), i % 100 == 0);
        }
        let sum = s.summary().unwrap();
        assert!(sum.min <= sum.p50 && sum.p50 <= sum.p90 && sum.p90 <= sum.p95);
        assert!(sum.p95 <= sum.p99 && sum.p99 <= sum.max);
        assert!((sum.p50 - 500.0).abs() <= 1.0, "{sum:?}");
        assert!((sum.p99 - 990.0).abs() <= 1.0, "{sum:?}");
        assert!((sum.mean - 500.5).abs() <= 1.0, "{sum:?}");
        assert_eq!((s.count, s.failures), (1000, 10));
        assert!((s.error_rate() - 0.01).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_recording_into_one() {
        let (mut a, mut b, mut all) = (Series::new(), Series::new(), Series::new());
        for i in 0..500u64 {
            let d = Duration::from_micros(100 + i * 37);
            if i % 2 == 0 {
                a.record(d, false)
            } else {
                b.record(d, i % 7 == 0)
            }
            all.record(d, i % 2 == 1 && i % 7 == 0);
        }
        a.merge(&b);
        assert_eq!(a.summary(), all.summary());
        assert_eq!((a.count, a.failures), (all.count, all.failures));
    }

    #[test]
    fn empty_series_has_no_summary_and_zero_error_rate() {
        let mut s = Series::new();
        assert_eq!(s.summary(), None);
        assert_eq!(s.error_rate(), 0.0);
        s.record_without_latency(true);
        assert_eq!((s.count, s.failures, s.samples()), (1, 1, 0));
        assert_eq!(s.failed_unsampled, 1);
        assert_eq!(s.error_rate(), 1.0);
    }

    #[test]
    fn retried_attempts_are_requests_not_executions() {
        let mut s = Series::new();
        for _ in 0..4 {
            s.record_attempt(ms(5));
        }
        s.record(ms(5), true);
        assert_eq!((s.count, s.executions, s.failures), (5, 1, 1));
        assert_eq!(s.samples(), 5);
        // One execution, failed: 100 %, not 1 in 5.
        assert_eq!(s.error_rate(), 1.0);
        let counts = Series::from_counts(4, 2);
        assert_eq!((counts.error_rate(), counts.samples()), (0.5, 0));
    }

    #[test]
    fn buckets_cover_every_sample() {
        let mut s = Series::new();
        for i in 1..=100 {
            s.record(ms(i), false);
        }
        let total: u64 = s.buckets().iter().map(|(_, c)| c).sum();
        assert_eq!(total, 100);
    }
}
