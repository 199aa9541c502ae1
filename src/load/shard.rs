//! Splitting one load into N processes (`harness load --shard I/N`), so that the shards
//! together run the schedule one process would have run: shard I (1-based) takes the arrivals
//! k ≡ I−1 (mod N) of the full schedule. In the open model that is the plan at 1/N of the rate
//! with the arrival count offset by (I−1)/N ([`Shard::phase`]): the k-th arrival of the full
//! plan comes when its cumulative count N(t) reaches k, so shard I's j-th comes when
//! N(t)/N reaches j + (I−1)/N — the same instants, exactly, ramps included. Poisson arrivals
//! are independent per shard at 1/N of the rate (the sum of independent Poisson processes is
//! the Poisson process of the summed rate). Closed model: the users are dealt out, shard I
//! taking users I, I+N, I+2N, …
//!
//! `seq()` and `phone()` stride by N with offset I−1, so shards never hand out the same
//! sequence number or (with a shared phone base, see [`Shard::phone_base`]) customer number.

use std::time::{Duration, SystemTime};

use super::plan::{Plan, PlanError, Stage};

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` (1 ≤ I ≤ N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard: write I/N with 1 ≤ I ≤ N, e.g. `2/4`");
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard { index, count }.check().map_err(|_| bad())
    }

    /// The shard itself, if it exists (1 ≤ index ≤ count).
    pub fn check(self) -> Result<Shard, String> {
        if self.index == 0 || self.count == 0 || self.index > self.count {
            return Err(format!(
                "there is no shard {}/{}: the index must be between 1 and the count \
                 (--shard-index is 0-based: 0 to count − 1)",
                self.index, self.count
            ));
        }
        Ok(self)
    }

    /// This shard's part of `plan`.
    pub fn plan(&self, plan: Plan) -> Result<Plan, PlanError> {
        let n = f64::from(self.count);
        match plan {
            Plan::Open { stages, poisson } => Ok(Plan::Open {
                stages: stages
                    .into_iter()
                    .map(|s| Stage {
                        duration: s.duration,
                        from_rps: s.from_rps / n,
                        to_rps: s.to_rps / n,
                    })
                    .collect(),
                poisson,
            }),
            Plan::Closed {
                users,
                think,
                duration,
            } => {
                let (i, n) = (self.index as usize, self.count as usize);
                // Users i, i+n, i+2n, … (1-based) of `users`.
                let mine = if users >= i { (users - i) / n + 1 } else { 0 };
                Plan::closed(mine, think, duration)
            }
        }
    }

    /// The arrival-count offset of this shard's schedule: (I−1)/N of one arrival.
    pub fn phase(&self) -> f64 {
        f64::from(self.index - 1) / f64::from(self.count)
    }

    /// `seq()` of this shard: the j-th call (from 1) returns (j−1)·N + I.
    pub fn seq(&self, j: u64) -> u64 {
        (j - 1) * u64::from(self.count) + u64::from(self.index)
    }

    /// The base of `phone()` numbers shared by every shard when they start together
    /// (`--start-at`): derived from the start instant, in the same 9-digit range as a single
    /// process's random base.
    pub fn phone_base(start_at: SystemTime) -> u64 {
        let secs = start_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        100_000_000 + (secs.wrapping_mul(2_654_435_761) % 600_000_000)
    }
}

/// How long to wait for `start_at`; `None` when it has passed (start now).
pub fn wait_for(start_at: SystemTime, now: SystemTime) -> Option<Duration> {
    start_at.duration_since(now).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::super::schedule::tests::stages;
    use super::super::schedule::Arrivals;
    use super::*;
    use crate::scenario::load_shape::parse_stages;

    /// Every arrival of every shard, sorted.
    fn union(plan: &Plan, n: u32) -> Vec<Duration> {
        let mut all: Vec<Duration> = (1..=n)
            .flat_map(|index| {
                let s = Shard { index, count: n };
                Arrivals::new(stages(s.plan(plan.clone()).unwrap())).with_phase(s.phase())
            })
            .collect();
        all.sort();
        all
    }

    #[test]
    fn shards_together_form_the_single_schedule() {
        for plan in [
            Plan::constant(4000.0, Duration::from_secs(10), false).unwrap(),
            Plan::constant(7.0, Duration::from_secs(3), false).unwrap(),
            Plan::ramps(&parse_stages("2s:100,3s:100,2s:0").unwrap(), false).unwrap(),
        ] {
            let single: Vec<Duration> = Arrivals::new(stages(plan.clone())).collect();
            for n in [1, 3, 4] {
                let shards = union(&plan, n);
                assert_eq!(shards.len(), single.len(), "{n} shards");
                for (a, b) in shards.iter().zip(&single) {
                    let gap = a.as_secs_f64() - b.as_secs_f64();
                    assert!(gap.abs() < 1e-6, "{n} shards: {a:?} vs {b:?}");
                }
            }
        }
        // 4 shards of 4000/s for 10 s: 10,000 arrivals each.
        let plan = Plan::constant(4000.0, Duration::from_secs(10), false).unwrap();
        let s = Shard { index: 4, count: 4 };
        assert_eq!(
            Arrivals::new(stages(s.plan(plan).unwrap()))
                .with_phase(s.phase())
                .count(),
            10_000
        );
    }

    #[test]
    fn users_are_dealt_out_and_counters_are_disjoint() {
        let plan = Plan::closed(10, Duration::ZERO, Duration::from_secs(1)).unwrap();
        let users: Vec<usize> = (1..=4)
            .map(
                |index| match (Shard { index, count: 4 }).plan(plan.clone()).unwrap() {
                    Plan::Closed { users, .. } => users,
                    Plan::Open { .. } => unreachable!(),
                },
            )
            .collect();
        assert_eq!(users, vec![3, 3, 2, 2]);
        let few = Plan::closed(2, Duration::ZERO, Duration::from_secs(1)).unwrap();
        assert_eq!(
            Shard { index: 3, count: 4 }.plan(few),
            Err(PlanError::NoUsers)
        );
        let mut seen: Vec<u64> = (1..=3)
            .flat_map(|index| (1..=5).map(move |j| Shard { index, count: 3 }.seq(j)))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=15).collect::<Vec<u64>>());
    }

    #[test]
    fn shards_parse_as_i_of_n() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "2", "a/b", "1/0"] {
            assert!(Shard::parse(bad).unwrap_err().contains("I/N"), "{bad}");
        }
    }
}
