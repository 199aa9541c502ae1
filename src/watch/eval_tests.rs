//! 48 simulated hours of a watch, one run every 30 s, replayed through the evaluator:
//! an outage, slow periods, a memory leak, a disconnected instance and a single flap.

use super::*;
use crate::scenario::watch_rule::parse_flag;

const MIN: u64 = 60;
const HOUR: u64 = 3600;

/// What the world looked like at `t` seconds into the watch.
fn record(t: u64) -> RunRecord {
    let outage = (5 * HOUR..5 * HOUR + 10 * MIN).contains(&t);
    let flap = t == 25 * HOUR;
    let p95 = if (10 * HOUR..10 * HOUR + 20 * MIN).contains(&t) && t != 10 * HOUR + 12 * MIN {
        7000.0 // slow period, with one fast run in the middle
    } else if (15 * HOUR..15 * HOUR + 10 * MIN).contains(&t) {
        400.0 // twice the baseline, well under 5 s
    } else {
        200.0
    };
    let e2e = if (20 * HOUR..20 * HOUR + 3 * MIN).contains(&t) {
        8000.0 // slow, but for less than the rule's 5 minutes
    } else {
        900.0
    };
    let lat = at_p95;
    // Memory: flat, then leaking 3 % a minute between 30 h and 31 h, then flat again.
    let leak_min = (t.clamp(30 * HOUR, 31 * HOUR) - 30 * HOUR) as f64 / 60.0;
    let memory = 100e6 * 1.03f64.powf(leak_min);
    let connected = !(40 * HOUR..40 * HOUR + 5 * MIN).contains(&t);
    let sample = |name: &str, labels: &[(&str, &str)], value: f64| Sample {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
    };
    RunRecord {
        at_ms: t * 1000,
        started_ms: t * 1000,
        passed: !(outage || flap),
        figures: Figures {
            requests: (!outage).then(|| lat(p95)),
            e2e: (!outage).then(|| lat(e2e)),
            steps: vec![("send text".into(), lat(p95))],
        },
        samples: vec![
            sample("process_resident_memory_bytes", &[], memory),
            sample("whatsapp_instance_connected", &[("instance", "other")], 1.0),
            sample(
                "whatsapp_instance_connected",
                &[("instance", "clinica-centro")],
                if connected { 1.0 } else { 0.0 },
            ),
        ],
    }
}

/// A distribution whose every statistic is `p95` (what these rules look at).
fn at_p95(p95: f64) -> Latencies {
    Latencies {
        min: p95,
        p50: p95,
        p90: p95,
        p95,
        p99: p95,
        max: p95,
        mean: p95,
    }
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn replay() -> (Evaluator, Vec<(String, &'static str, String)>, usize) {
    let rules = [
        "rollback: down for 2m",
        "p95 > 5s for 5m",
        "step \"send text\" p95 > 5s for 5m",
        "e2e p95 > 5s for 5m",
        "error_rate > 10% for 5m",
        "uptime < 99%",
        "metric process_resident_memory_bytes grows > 10% per 5m",
        "metric whatsapp_instance_connected{instance=\"clinica-centro\"} == 0 for 1m",
        "p95 > 150% of baseline for 5m",
    ];
    let rules = rules.iter().map(|r| parse_flag(r).unwrap()).collect();
    let baseline = Figures {
        requests: Some(at_p95(200.0)),
        ..Figures::default()
    };
    let mut eval = Evaluator::new(rules, Some(baseline));
    let (mut events, mut widest) = (Vec::new(), 0);
    for t in (0..=48 * HOUR).step_by(30) {
        for e in eval.observe(record(t)) {
            events.push((e.rule.clone(), e.kind.name(), clock(e.at_ms)));
        }
        widest = widest.max(eval.window.len());
    }
    (eval, events, widest)
}

#[test]
fn every_rule_fires_and_resolves_at_the_right_minute() {
    let started = std::time::Instant::now();
    let (eval, events, widest) = replay();
    let e = |rule: &str, kind: &'static str, at: &str| (rule.to_string(), kind, at.to_string());
    let expected = vec![
        // The outage, 05:00 to 05:10: down for 2m holds at 05:02, clear for 2m at 05:12.
        e("down for 2m", "firing", "05:02:00"),
        // 1 of 10 runs in 5 minutes is 10 %, not above: 2 failures at 05:00:30.
        e("uptime < 99%", "firing", "05:03:00"),
        e("error_rate > 10% for 5m", "firing", "05:05:30"),
        e("down for 2m", "resolved", "05:12:00"),
        // The last failure (05:09:30) leaves the 5-minute window at 05:14:30; clear 5m later.
        e("error_rate > 10% for 5m", "resolved", "05:19:00"),
        // Slow period 10:00 to 10:20; the one fast run at 10:12 does not resolve anything.
        e("p95 > 5s for 5m", "firing", "10:05:00"),
        e("step \"send text\" p95 > 5s for 5m", "firing", "10:05:00"),
        e("p95 > 150% of baseline for 5m", "firing", "10:05:00"),
        e("p95 > 5s for 5m", "resolved", "10:25:00"),
        e("step \"send text\" p95 > 5s for 5m", "resolved", "10:25:00"),
        e("p95 > 150% of baseline for 5m", "resolved", "10:25:00"),
        // Twice the baseline from 15:00 to 15:10.
        e("p95 > 150% of baseline for 5m", "firing", "15:05:00"),
        e("p95 > 150% of baseline for 5m", "resolved", "15:15:00"),
        // 2000 runs with 20 failures is 99 % again: run 2000 ends at 16:39:30.
        e("uptime < 99%", "resolved", "16:39:30"),
        // The leak: 1.03^3.5 > 1.1 first at 30:03:30; after it, growth under 10 % at 31:02.
        e(
            "metric process_resident_memory_bytes grows > 10% per 5m",
            "firing",
            "30:03:30",
        ),
        e(
            "metric process_resident_memory_bytes grows > 10% per 5m",
            "resolved",
            "31:02:00",
        ),
        e(
            "metric whatsapp_instance_connected{instance=\"clinica-centro\"} == 0 for 1m",
            "firing",
            "40:01:00",
        ),
        e(
            "metric whatsapp_instance_connected{instance=\"clinica-centro\"} == 0 for 1m",
            "resolved",
            "40:06:00",
        ),
    ];
    assert_eq!(events, expected);
    // The 3-minute e2e slowdown and the single failed run at 25:00 fired nothing, but the
    // flap is an incident of its own.
    assert_eq!(eval.incidents.len(), 2);
    let outage = eval.incidents[0];
    assert_eq!(
        (outage.start_ms, outage.end_ms),
        (5 * HOUR * 1000, Some((5 * HOUR + 10 * MIN) * 1000))
    );
    assert_eq!(outage.failed_runs, 20);
    assert_eq!((eval.runs, eval.passed), (5761, 5740));
    assert!(eval.firing().is_empty());
    // Memory stays flat: the evaluator keeps 5 minutes of records, not 48 hours.
    assert!(widest <= 12, "window of {widest} records");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn health_is_every_rule_clear_and_the_last_run_passing() {
    let rules = vec![parse_flag("down for 1m").unwrap()];
    let mut eval = Evaluator::new(rules, None);
    let at = |s: u64, passed| RunRecord {
        at_ms: s * 1000,
        passed,
        ..RunRecord::default()
    };
    eval.observe(at(0, true));
    eval.observe(at(10, true));
    assert_eq!(eval.healthy_for(10_000), Duration::from_secs(10));
    eval.observe(at(20, false));
    assert_eq!(eval.healthy_for(20_000), Duration::ZERO);
    eval.observe(at(30, true));
    assert_eq!(eval.healthy_for(45_000), Duration::from_secs(15));
}

#[test]
fn evidence_is_the_streak_that_caused_the_transition() {
    let mut eval = Evaluator::new(vec![parse_flag("down for 20s").unwrap()], None);
    let mut fired = None;
    for s in (0..=60).step_by(10) {
        let events = eval.observe(RunRecord {
            at_ms: s * 1000,
            passed: !(10..=40).contains(&s),
            ..RunRecord::default()
        });
        fired = fired.or(events.into_iter().next());
    }
    let fired = fired.unwrap();
    assert_eq!(
        (fired.kind, fired.since_ms, fired.at_ms),
        (EventKind::Firing, 10_000, 30_000)
    );
    let at: Vec<u64> = fired.evidence.iter().map(|p| p.at_ms).collect();
    assert_eq!(at, [10_000, 20_000, 30_000]);
    assert!(fired.evidence.iter().all(|p| p.breached));
}

#[test]
fn a_slow_failed_run_ending_after_the_recovery_belongs_to_the_outage() {
    let mut eval = Evaluator::new(vec![parse_flag("down for 2s").unwrap()], None);
    let run = |started_ms: u64, at_ms: u64, passed: bool| RunRecord {
        at_ms,
        started_ms,
        passed,
        ..RunRecord::default()
    };
    let mut events = Vec::new();
    // One run a second; the outage is from 3 s to 8 s; the run started at 2 s hangs until 9.5 s.
    for s in 0..=10u64 {
        if s == 2 {
            continue;
        }
        let passed = !(3..8).contains(&s);
        events.extend(eval.observe(run(s * 1000, s * 1000 + 100, passed)));
        if s == 9 {
            events.extend(eval.observe(run(2000, 9500, false)));
        }
    }
    assert_eq!(eval.incidents.len(), 1, "{:?}", eval.incidents);
    let outage = eval.incidents[0];
    assert_eq!(
        (outage.start_ms, outage.end_ms, outage.failed_runs),
        (3100, Some(8100), 6)
    );
    let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Firing, EventKind::Resolved]);
    assert_eq!((eval.runs, eval.passed), (11, 5));
}
