//! The open-model schedule: when each iteration is *meant* to start.
//!
//! Arrivals are computed, not timed: the k-th arrival is the instant the plan's cumulative
//! arrival count N(t) reaches k (the integral of a piecewise-linear rate, solved per stage).
//! The dispatcher sleeps until each instant and hands out a ticket carrying it; when the
//! dispatcher is late (a busy core), the ticket still carries the instant it was meant for,
//! so latency measured from it includes the delay (no coordinated omission) and the number
//! of arrivals over the run is exact whatever the timer's resolution.
//!
//! Poisson arrivals use the same map: the cumulative count advances by exponential draws of
//! mean 1 instead of 1 (a time change of a unit-rate Poisson process), so ramps work too.

use std::time::Duration;

use rand::{Rng, SeedableRng};

use super::plan::Stage;

/// Iterator over arrival offsets from the start of the run.
#[derive(Debug)]
pub struct Arrivals {
    stages: Vec<Stage>,
    /// Stage being read, its start offset, and the cumulative count at its start.
    stage: usize,
    stage_start: Duration,
    base: f64,
    /// The cumulative count of the next arrival.
    next: f64,
    poisson: Option<rand::rngs::StdRng>,
}

impl Arrivals {
    /// Evenly spaced arrivals (at a constant rate, exactly `rate × duration` of them).
    pub fn new(stages: Vec<Stage>) -> Self {
        Self {
            stages,
            stage: 0,
            stage_start: Duration::ZERO,
            base: 0.0,
            next: 0.0,
            poisson: None,
        }
    }

    /// Poisson arrivals with the plan's rate as their mean; `seed` makes them reproducible.
    pub fn poisson(stages: Vec<Stage>, seed: Option<u64>) -> Self {
        let rng = match seed {
            Some(s) => rand::rngs::StdRng::seed_from_u64(s),
            None => rand::rngs::StdRng::from_rng(&mut rand::rng()),
        };
        let mut a = Self::new(stages);
        a.poisson = Some(rng);
        a.next = a.draw();
        a
    }

    /// Offsets the arrival count by `phase` (0 ≤ phase < 1) of an arrival: shard I of N runs
    /// the plan at 1/N of the rate with phase (I−1)/N (see `shard`). Poisson arrivals are
    /// independent per shard: no phase.
    pub fn with_phase(mut self, phase: f64) -> Self {
        if self.poisson.is_none() {
            self.next += phase;
        }
        self
    }

    fn draw(&mut self) -> f64 {
        match &mut self.poisson {
            Some(rng) => -(1.0 - rng.random::<f64>()).ln(),
            None => 1.0,
        }
    }
}

/// Time into a stage at which its own cumulative count reaches `n` (0 ≤ n ≤ its iterations).
fn time_into(stage: &Stage, n: f64) -> f64 {
    if n <= 0.0 {
        return 0.0;
    }
    let t = stage.duration.as_secs_f64();
    let (r0, r1) = (stage.from_rps, stage.to_rps);
    let a = (r1 - r0) / t;
    if a.abs() < 1e-12 {
        return n / r0;
    }
    // a/2·x² + r0·x − n = 0, in the form that stays accurate when r0 ≫ a·x.
    let disc = (r0 * r0 + 2.0 * a * n).max(0.0);
    (2.0 * n / (r0 + disc.sqrt())).min(t)
}

impl Iterator for Arrivals {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        loop {
            let stage = self.stages.get(self.stage)?;
            let local = self.next - self.base;
            // Half-open stages: an arrival exactly at a stage's end belongs to the next one.
            if local < stage.iterations() - 1e-9 {
                let at = self.stage_start + Duration::from_secs_f64(time_into(stage, local));
                self.next += self.draw();
                return Some(at);
            }
            self.base += stage.iterations();
            self.stage_start += stage.duration;
            self.stage += 1;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::plan::Plan;
    use super::*;
    use crate::scenario::load_shape::parse_stages;

    /// The stages of an open plan.
    pub(crate) fn stages(plan: Plan) -> Vec<Stage> {
        match plan {
            Plan::Open { stages, .. } => stages,
            Plan::Closed { .. } => unreachable!(),
        }
    }

    #[test]
    fn constant_rate_is_evenly_spaced_and_exact() {
        let plan = Plan::constant(100.0, Duration::from_secs(60), false).unwrap();
        let all: Vec<Duration> = Arrivals::new(stages(plan)).collect();
        assert_eq!(all.len(), 6000);
        assert_eq!(all[0], Duration::ZERO);
        assert_eq!(all[1], Duration::from_millis(10));
        assert_eq!(all[5999], Duration::from_millis(59_990));
    }

    #[test]
    fn ramps_follow_the_integral_of_the_rate() {
        let pairs = parse_stages("10s:100,10s:100,10s:0").unwrap();
        let all: Vec<Duration> =
            Arrivals::new(stages(Plan::ramps(&pairs, false).unwrap())).collect();
        assert_eq!(all.len(), 500 + 1000 + 500);
        // Linear ramp 0 → 100 over 10 s: N(t) = 5 t², so the 125th arrival is at 5 s.
        let secs = |d: Duration| d.as_secs_f64();
        assert!((secs(all[125]) - 5.0).abs() < 1e-9, "{:?}", all[125]);
        // Second half of the first stage holds three quarters of its arrivals.
        assert_eq!(all.iter().filter(|d| secs(**d) < 5.0).count(), 125);
        // Flat stage: 10 ms apart.
        assert!((secs(all[501]) - secs(all[500]) - 0.01).abs() < 1e-9);
        // Ramp down 100 → 0: N = 100 t − 5 t² reaches 375 at t = 5.
        assert!((secs(all[1500 + 375]) - 25.0).abs() < 1e-6);
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
        assert!(secs(*all.last().unwrap()) < 30.0);
    }

    #[test]
    fn poisson_keeps_the_mean_rate() {
        let plan = Plan::constant(1000.0, Duration::from_secs(20), true).unwrap();
        let all: Vec<Duration> = Arrivals::poisson(stages(plan), Some(7)).collect();
        // 20,000 expected; the standard deviation of a Poisson count is √20,000 ≈ 141.
        assert!((all.len() as i64 - 20_000).abs() < 600, "{}", all.len());
        let gaps: Vec<f64> = all
            .windows(2)
            .map(|w| (w[1] - w[0]).as_secs_f64())
            .collect();
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        assert!((mean - 0.001).abs() < 0.0001, "{mean}");
        // Exponential gaps: a sizeable share is below half the mean (1 − e^−½ ≈ 39 %).
        let short = gaps.iter().filter(|g| **g < 0.0005).count() as f64 / gaps.len() as f64;
        assert!((short - 0.393).abs() < 0.03, "{short}");
    }
}
