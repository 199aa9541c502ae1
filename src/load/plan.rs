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
    #[error("invalid stage `{0}`: expected DURATION:RPS, e.g. `30s:10`")]
    Stage(String),
    #[error("invalid duration `{0}` in a stage: {1}")]
    Duration(String, String),
    #[error("invalid rate `{0}` in a stage: a number of iterations per second ≥ 0")]
    Rate(String),
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

/// Parses `--stages "30s:10,1m:100,30s:0"` into `(duration, target rps)` pairs.
pub fn parse_stages(text: &str) -> Result<Vec<(Duration, f64)>, PlanError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (d, r) = part
            .split_once(':')
            .ok_or_else(|| PlanError::Stage(part.to_string()))?;
        let duration = humantime::parse_duration(d.trim())
            .map_err(|e| PlanError::Duration(d.trim().to_string(), e.to_string()))?;
        let rate: f64 = r
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| PlanError::Rate(r.trim().to_string()))?;
        out.push((duration, rate));
    }
    if out.is_empty() {
        return Err(PlanError::Empty);
    }
    Ok(out)
}

/// Parses a rate: iterations per second (`100`, `2.5`), or per unit (`100/s`, `250/min`,
/// `250/m`, `3600/h`).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (n, per) = match text.split_once('/') {
        None => (text, 1.0),
        Some((n, unit)) => match unit.trim() {
            "s" | "sec" | "second" => (n, 1.0),
            "m" | "min" | "minute" => (n, 60.0),
            "h" | "hour" => (n, 3600.0),
            other => return Err(format!("unknown rate unit `{other}`: use /s, /min or /h")),
        },
    };
    let value: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate `{text}`: e.g. `100`, `250/min`"))?;
    if !(value > 0.0 && value.is_finite()) {
        return Err(format!("invalid rate `{text}`: it must be positive"));
    }
    Ok(value / per)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn stages_parse_and_ramp_from_zero() {
        let pairs = parse_stages("30s:10, 1m:100,30s:0").unwrap();
        assert_eq!(pairs, vec![(s(30), 10.0), (s(60), 100.0), (s(30), 0.0)]);
        let plan = Plan::ramps(&pairs, false).unwrap();
        assert_eq!(plan.duration(), s(120));
        // 30 s from 0 to 10: 150; 60 s from 10 to 100: 3300; 30 s from 100 to 0: 1500.
        assert_eq!(plan.planned_iterations(), Some(4950.0));
    }

    #[test]
    fn bad_stages_say_what_is_wrong() {
        assert_eq!(
            parse_stages("30s"),
            Err(PlanError::Stage("30s".to_string()))
        );
        assert_eq!(parse_stages("30s:-1"), Err(PlanError::Rate("-1".into())));
        assert!(matches!(
            parse_stages("3 parsecs:1"),
            Err(PlanError::Duration(..))
        ));
        assert_eq!(parse_stages(" , "), Err(PlanError::Empty));
        assert_eq!(
            Plan::ramps(&[(s(10), 0.0)], false),
            Err(PlanError::ZeroRate)
        );
    }

    #[test]
    fn rates_take_units() {
        assert_eq!(parse_rate("100"), Ok(100.0));
        assert_eq!(parse_rate("300/min"), Ok(5.0));
        assert_eq!(parse_rate("7200/h"), Ok(2.0));
        assert_eq!(parse_rate(" 2.5/s "), Ok(2.5));
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("5/fortnight").unwrap_err().contains("unit"));
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
