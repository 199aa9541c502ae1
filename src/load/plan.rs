//! Every load shape normalised into one [`Plan`]: a constant rate, `--stages` ramps and the
//! closed model (`--users N` with think time) all become a list of stages the scheduler and
//! the engine read, so neither has a special case per flag.

use std::time::Duration;

/// One stage of an open-model plan: over `duration`, the arrival rate moves linearly from the
/// previous stage's target (0 before the first, unless the plan starts flat) to `target_rps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stage {
    pub duration: Duration,
    /// Rate at the start of the stage (iterations per second).
    pub from_rps: f64,
    /// Rate at the end of the stage.
    pub to_rps: f64,
}

impl Stage {
    /// Iterations this stage starts: the integral of its rate.
    pub fn iterations(&self) -> f64 {
        (self.from_rps + self.to_rps) / 2.0 * self.duration.as_secs_f64()
    }
}

/// How iterations are started.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Open model: iterations start at the planned arrival rate, whatever the target does.
    Open {
        stages: Vec<Stage>,
        /// Exponential gaps between arrivals (same mean rate) instead of a fixed interval.
        poisson: bool,
    },
    /// Closed model: `users` loops, each starting its next iteration `think` after its last
    /// one ended, for `duration`.
    Closed {
        users: usize,
        think: Duration,
        duration: Duration,
    },
}

/// Why a load shape is not a valid plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no stages given")]
    Empty,
    #[error("the load lasts zero seconds")]
    ZeroDuration,
    #[error("the rate must be positive")]
    ZeroRate,
    #[error("the closed model needs at least one user")]
    NoUsers,
}

impl Plan {
    /// A constant rate for `duration`.
    pub fn constant(rps: f64, duration: Duration, poisson: bool) -> Result<Plan, PlanError> {
        if !(rps > 0.0 && rps.is_finite()) {
            return Err(PlanError::ZeroRate);
        }
        if duration.is_zero() {
            return Err(PlanError::ZeroDuration);
        }
        Ok(Plan::Open {
            stages: vec![Stage {
                duration,
                from_rps: rps,
                to_rps: rps,
            }],
            poisson,
        })
    }

    /// Ramps from `(duration, target rps)` pairs, starting from 0 req/s (k6's stages).
    pub fn ramps(targets: &[(Duration, f64)], poisson: bool) -> Result<Plan, PlanError> {
        if targets.is_empty() {
            return Err(PlanError::Empty);
        }
        let mut from = 0.0;
        let mut stages = Vec::with_capacity(targets.len());
        for &(duration, to) in targets {
            stages.push(Stage {
                duration,
                from_rps: from,
                to_rps: to,
            });
            from = to;
        }
        let plan = Plan::Open { stages, poisson };
        if plan.duration().is_zero() {
            return Err(PlanError::ZeroDuration);
        }
        if plan.planned_iterations().is_none_or(|n| n < 1.0) {
            return Err(PlanError::ZeroRate);
        }
        Ok(plan)
    }

    pub fn closed(users: usize, think: Duration, duration: Duration) -> Result<Plan, PlanError> {
        if users == 0 {
            return Err(PlanError::NoUsers);
        }
        if duration.is_zero() {
            return Err(PlanError::ZeroDuration);
        }
        Ok(Plan::Closed {
            users,
            think,
            duration,
        })
    }

    /// How long iterations are started for.
    pub fn duration(&self) -> Duration {
        match self {
            Plan::Open { stages, .. } => stages.iter().map(|s| s.duration).sum(),
            Plan::Closed { duration, .. } => *duration,
        }
    }

    /// Iterations the open model will start (`None` for the closed model, which depends on
    /// the target's speed).
    pub fn planned_iterations(&self) -> Option<f64> {
        match self {
            Plan::Open { stages, .. } => Some(stages.iter().map(Stage::iterations).sum()),
            Plan::Closed { .. } => None,
        }
    }

    /// The planned mean rate over the whole run (open model).
    pub fn target_rps(&self) -> Option<f64> {
        let secs = self.duration().as_secs_f64();
        self.planned_iterations().map(|n| n / secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn stages_parse_and_ramp_from_zero() {
        let pairs = vec![(s(30), 10.0), (s(60), 100.0), (s(30), 0.0)];
        let plan = Plan::ramps(&pairs, false).unwrap();
        assert_eq!(plan.duration(), s(120));
        // 30 s from 0 to 10: 150; 60 s from 10 to 100: 3300; 30 s from 100 to 0: 1500.
        assert_eq!(plan.planned_iterations(), Some(4950.0));
    }

    #[test]
    fn a_plan_that_starts_nothing_is_refused() {
        assert_eq!(
            Plan::ramps(&[(s(10), 0.0)], false),
            Err(PlanError::ZeroRate)
        );
    }

    #[test]
    fn constant_and_closed_plans_validate() {
        let p = Plan::constant(100.0, s(60), false).unwrap();
        assert_eq!(p.planned_iterations(), Some(6000.0));
        assert_eq!(p.target_rps(), Some(100.0));
        assert_eq!(Plan::constant(0.0, s(1), false), Err(PlanError::ZeroRate));
        assert_eq!(
            Plan::constant(1.0, Duration::ZERO, false),
            Err(PlanError::ZeroDuration)
        );
        assert_eq!(
            Plan::closed(0, Duration::ZERO, s(1)),
            Err(PlanError::NoUsers)
        );
        let c = Plan::closed(3, Duration::ZERO, s(2)).unwrap();
        assert_eq!((c.duration(), c.planned_iterations()), (s(2), None));
    }
}
