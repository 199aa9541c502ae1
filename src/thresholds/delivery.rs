//! The delivery check of open-model loads: a load that was not delivered is not a pass.
//!
//! Thresholds judge the iterations that ran; an open-model run that dropped a quarter of its
//! arrivals (the in-flight cap was reached) has not shown that the target holds the planned
//! rate, whatever its latencies. So every open-model run carries a check on the share of
//! arrivals dropped — overall and per stage of the plan — with a default limit
//! ([`DEFAULT_LIMIT`]) that the scenario (`dropped_rate < 5%`) or the command line
//! (`--max-dropped`, `--allow-dropped`) can change. When arrivals were dropped, [`diagnose`]
//! says which side was the limit: the generator (the harness process out of CPU, starting
//! iterations late) or the target (iterations in flight piled up to the cap because each
//! took longer).
//!
//! Pure: plain numbers in, verdicts out.

use crate::runner::check::compare;
use crate::scenario::{Comparison, Metric, Span, ThresholdSpec};

use super::{format_value, ThresholdResult};

/// Share of arrivals that may be dropped when nothing else is said: 1 %.
pub const DEFAULT_LIMIT: f64 = 0.01;

/// Share of the process's CPU above which the generator counts as saturated.
pub const BUSY_CPU_SHARE: f64 = 0.85;

/// Start lag (p99, ms) above which the generator counts as behind its schedule.
pub const LATE_START_MS: f64 = 100.0;

/// Where the limit on dropped arrivals comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitSource {
    /// [`DEFAULT_LIMIT`].
    Default,
    /// A `dropped_rate` threshold in the scenario.
    Scenario(ThresholdSpec),
    /// `--max-dropped` on the command line (a ratio).
    Flag(f64),
    /// `--allow-dropped`: the check is off.
    Off,
}

impl LimitSource {
    pub fn as_str(&self) -> &'static str {
        match self {
            LimitSource::Default => "default",
            LimitSource::Scenario(_) => "scenario",
            LimitSource::Flag(_) => "flag",
            LimitSource::Off => "off",
        }
    }

    /// The limit on the dropped share, `None` when the check is off.
    pub fn limit(&self) -> Option<f64> {
        self.condition().map(|(_, v, _)| v)
    }

    /// The comparison and limit, `None` when the check is off.
    fn condition(&self) -> Option<(Comparison, f64, Span)> {
        match self {
            LimitSource::Default => Some((Comparison::Lt, DEFAULT_LIMIT, Span::default())),
            LimitSource::Flag(v) => Some((Comparison::Le, *v, Span::default())),
            LimitSource::Scenario(t) => Some((t.comparison, t.value, t.span)),
            LimitSource::Off => None,
        }
    }
}

/// The arrivals of one stage, as planned and as they went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageFigures {
    pub duration_s: f64,
    /// Mean planned rate over the stage (iterations per second).
    pub planned_rps: f64,
    /// Arrivals the schedule reached (started or dropped).
    pub arrivals: u64,
    pub dropped: u64,
}

impl StageFigures {
    pub fn dropped_rate(&self) -> f64 {
        ratio(self.dropped, self.arrivals)
    }

    /// Iterations started per second of the stage.
    pub fn achieved_rps(&self) -> f64 {
        if self.duration_s > 0.0 {
            (self.arrivals - self.dropped) as f64 / self.duration_s
        } else {
            0.0
        }
    }
}

/// The outcome of the delivery check.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub source: LimitSource,
    pub arrivals: u64,
    pub dropped: u64,
    pub stages: Vec<StageFigures>,
    /// The row for the thresholds table; `None` when the check is off.
    pub threshold: Option<ThresholdResult>,
    /// Whether the run passes this check (always when it is off).
    pub passed: bool,
    /// For people: how much of the planned load was delivered.
    pub message: String,
}

/// Judges the arrivals of an open-model run (`stages` in plan order) against `source`.
pub fn check(source: LimitSource, stages: Vec<StageFigures>) -> Delivery {
    let arrivals: u64 = stages.iter().map(|s| s.arrivals).sum();
    let dropped: u64 = stages.iter().map(|s| s.dropped).sum();
    let rate = ratio(dropped, arrivals);
    let delivered = 100.0 * (1.0 - rate);
    let mut message = format!(
        "delivered {} of {arrivals} arrivals ({delivered:.1} % of the planned load); {dropped} dropped",
        arrivals - dropped
    );
    let Some((comparison, limit, span)) = source.condition() else {
        message += "; the delivery check is off (--allow-dropped)";
        return Delivery {
            source,
            arrivals,
            dropped,
            stages,
            threshold: None,
            passed: true,
            message,
        };
    };
    let ok = |r: f64| compare(comparison, r, limit);
    // With several stages, each must be delivered: a dropped peak is not averaged away.
    let worst = stages
        .iter()
        .enumerate()
        .filter(|(_, s)| s.arrivals > 0 && !ok(s.dropped_rate()))
        .max_by(|a, b| a.1.dropped_rate().total_cmp(&b.1.dropped_rate()));
    let passed = ok(rate) && worst.is_none();
    let mut observed_display = format_value(Metric::DroppedRate, rate);
    if let (Some((i, s)), true) = (worst, stages.len() > 1) {
        let stage = format!(
            "; stage {} of {} dropped {} ({:.1}/s of {:.1}/s planned)",
            i + 1,
            stages.len(),
            format_value(Metric::DroppedRate, s.dropped_rate()),
            s.achieved_rps(),
            s.planned_rps
        );
        observed_display += &stage;
        message += &stage;
    }
    let expr = match &source {
        LimitSource::Scenario(t) => t.expr.clone(),
        _ => format!(
            "dropped_rate {} {}",
            crate::scenario::threshold::symbol(comparison),
            format_value(Metric::DroppedRate, limit)
        ),
    };
    let condition = expr.trim_start_matches("dropped_rate").trim().to_string();
    let threshold = ThresholdResult {
        expr,
        step: None,
        metric: "dropped_rate".into(),
        condition,
        observed: Some(rate),
        observed_display,
        limit,
        passed,
        span,
    };
    Delivery {
        source,
        arrivals,
        dropped,
        stages,
        threshold: Some(threshold),
        passed,
        message,
    }
}

/// What the generator and the target looked like during the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saturation {
    /// Share of the available CPU the harness process used, 0..=1.
    pub cpu_share: f64,
    pub cores: usize,
    /// The machine's 1-minute load average at the end of the run, where the system tells it:
    /// above the core count, other processes competed for the CPU.
    pub load_average: Option<f64>,
    /// How late iterations started against their intended instant, p99 in ms.
    pub start_lag_p99_ms: Option<f64>,
    /// Service time of iterations (actual start → end), p50 in ms.
    pub service_p50_ms: Option<f64>,
    /// The in-flight cap and the highest number seen in flight.
    pub cap: u64,
    pub peak_in_flight: u64,
    pub planned_rps: Option<f64>,
    /// The simulator and the reference app run inside the harness process (embedded default).
    pub embedded: bool,
}

/// Which side limited the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// The harness process: out of CPU, or starting iterations late.
    Generator,
    /// The system under test: iterations took longer, in-flight ones reached the cap.
    Target,
}

impl Limiter {
    pub fn as_str(self) -> &'static str {
        match self {
            Limiter::Generator => "generator",
            Limiter::Target => "target",
        }
    }
}

impl Saturation {
    /// The generator was at its limit: CPU nearly all used, or iterations started late.
    pub fn generator_busy(&self) -> bool {
        self.cpu_share >= BUSY_CPU_SHARE
            || self.start_lag_p99_ms.is_some_and(|l| l >= LATE_START_MS)
    }
}

/// The 1-minute load average (`/proc/loadavg`), where the system has one.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Names the limit of a run that dropped arrivals (or whose generator was saturated), with
/// the evidence; `None` when neither happened.
pub fn diagnose(s: &Saturation, dropped: u64) -> Option<(Limiter, String)> {
    let mut cpu = format!(
        "the harness process used {:.0} % of its {} core{}",
        100.0 * s.cpu_share,
        s.cores,
        if s.cores == 1 { "" } else { "s" }
    );
    if let Some(load) = s.load_average.filter(|l| *l > s.cores as f64) {
        cpu += &format!(" (the machine was busy: load average {load:.1})");
    }
    let lag = s.start_lag_p99_ms.map_or(String::new(), |l| {
        format!(
            " and started iterations up to {} late (p99)",
            super::format_ms(l)
        )
    });
    if s.generator_busy() {
        let mut why = format!("the generator was the limit: {cpu}{lag}");
        if s.embedded {
            why += "; the embedded simulator and reference app run in this process too, so these figures do not measure your app — lower the rate or run the app and the harness apart";
        } else {
            why += "; give the harness more CPU (or run shards) before judging the target";
        }
        return Some((Limiter::Generator, why));
    }
    if dropped == 0 {
        return None;
    }
    let service = s.service_p50_ms.map_or(String::new(), |p50| {
        let most = s.cap as f64 / (p50 / 1000.0);
        let planned = s
            .planned_rps
            .map_or(String::new(), |p| format!(" against the planned {p:.1}/s"));
        format!(
            ": iterations took {} (p50), so {} in flight sustain at most ≈ {most:.1} it/s{planned}",
            super::format_ms(p50),
            s.cap
        )
    });
    let why = format!(
        "the target was the limit: the in-flight cap ({}) was reached (peak {}){service}; {cpu}",
        s.cap, s.peak_in_flight
    );
    Some((Limiter::Target, why))
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(arrivals: u64, dropped: u64) -> StageFigures {
        StageFigures {
            duration_s: 10.0,
            planned_rps: arrivals as f64 / 10.0,
            arrivals,
            dropped,
        }
    }

    #[test]
    fn the_default_limit_fails_a_load_that_was_not_delivered() {
        let d = check(LimitSource::Default, vec![stage(20_000, 15_351)]);
        assert!(!d.passed);
        let t = d.threshold.unwrap();
        assert_eq!(t.expr, "dropped_rate < 1%");
        assert_eq!(t.observed_display, "76.8%");
        assert!(
            d.message
                .starts_with("delivered 4649 of 20000 arrivals (23.2 %"),
            "{}",
            d.message
        );
        let ok = check(LimitSource::Default, vec![stage(6000, 0)]);
        assert!(ok.passed && ok.threshold.unwrap().passed);
    }

    #[test]
    fn a_scenario_or_flag_sets_the_limit_and_allow_dropped_turns_it_off() {
        let spec = ThresholdSpec {
            span: Span { line: 9, col: 5 },
            expr: "dropped_rate < 5%".into(),
            series: crate::scenario::Series::Latency,
            metric: Metric::DroppedRate,
            comparison: Comparison::Lt,
            value: 0.05,
        };
        let d = check(LimitSource::Scenario(spec), vec![stage(1000, 30)]);
        assert!(d.passed);
        assert_eq!(d.threshold.as_ref().unwrap().span.line, 9);
        assert!(!check(LimitSource::Flag(0.02), vec![stage(1000, 30)]).passed);
        let off = check(LimitSource::Off, vec![stage(1000, 900)]);
        assert!(off.passed && off.threshold.is_none());
        assert!(off.message.contains("off"), "{}", off.message);
        assert_eq!(off.source.as_str(), "off");
    }

    #[test]
    fn a_dropped_stage_fails_even_when_the_total_is_under_the_limit() {
        let d = check(
            LimitSource::Default,
            vec![stage(10_000, 0), stage(10_000, 0), stage(500, 100)],
        );
        // 100 of 20,500 overall (0.49 %), but the last stage dropped 20 %.
        assert!(!d.passed);
        assert!(
            d.message.contains("stage 3 of 3 dropped 20%"),
            "{}",
            d.message
        );
    }

    fn saturation(cpu_share: f64, lag: f64) -> Saturation {
        Saturation {
            cpu_share,
            cores: 2,
            start_lag_p99_ms: Some(lag),
            service_p50_ms: Some(500.0),
            cap: 10,
            peak_in_flight: 10,
            planned_rps: Some(100.0),
            embedded: false,
            load_average: None,
        }
    }

    #[test]
    fn a_busy_process_names_the_generator_and_a_full_cap_the_target() {
        let (who, why) = diagnose(&saturation(0.97, 900.0), 1000).unwrap();
        assert_eq!(who, Limiter::Generator);
        assert!(why.contains("97 % of its 2 cores"), "{why}");
        let (who, why) = diagnose(&saturation(0.1, 0.4), 1000).unwrap();
        assert_eq!(who, Limiter::Target);
        assert!(
            why.contains("at most ≈ 20.0 it/s against the planned 100.0/s"),
            "{why}"
        );
        assert_eq!(diagnose(&saturation(0.1, 0.4), 0), None);
        // Late starts alone are enough to suspect the generator.
        assert_eq!(
            diagnose(&saturation(0.3, 250.0), 5).unwrap().0,
            Limiter::Generator
        );
    }
}
