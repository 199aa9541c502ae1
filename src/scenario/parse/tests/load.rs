//! `load:` — every key, and its errors.

use std::time::Duration;

use super::*;

fn scenario_with(load: &str) -> String {
    format!("name: t\nload:\n{load}steps:\n  - name: s\n    http: {{ url: \"http://x\" }}\n")
}

#[test]
fn load_section_open_and_closed() {
    let s = ok(&scenario_with(
        "  rps: 250/min\n  duration: 1m\n  max_in_flight: 50\n  poisson: true\n",
    ));
    let l = s.load.unwrap();
    assert!((l.rps.unwrap() - 250.0 / 60.0).abs() < 1e-12);
    assert_eq!(
        (l.duration, l.max_in_flight, l.poisson),
        (Some(Duration::from_secs(60)), Some(50), true)
    );
    let s = ok(&scenario_with(
        "  users: 10\n  think_time: 500ms\n  duration: 30s\n",
    ));
    let l = s.load.unwrap();
    assert_eq!(
        (l.users, l.think_time),
        (Some(10), Some(Duration::from_millis(500)))
    );
    let s = ok(&scenario_with("  stages: \"30s:10, 1m:100\"\n"));
    assert_eq!(
        s.load.unwrap().stages,
        vec![
            (Duration::from_secs(30), 10.0),
            (Duration::from_secs(60), 100.0)
        ]
    );
    assert_eq!(
        ok(&one_step("    http: { url: \"http://x\" }\n")).load,
        None
    );
}

#[test]
fn load_section_errors_point_at_the_key() {
    assert_eq!(
        errors(&scenario_with("  rps: 10\n  users: 5\n  rsp: 1\n")),
        [
            "4:3 (5) `users` (closed model) does not go with `rps` [use `rps`/`stages` for an arrival rate, or `users` for N concurrent users]",
            "5:3 (3) unknown key `rsp` in `load` [expected one of `rps`, `duration`, `stages`, `max_in_flight`, `users`, `think_time`, `poisson`]",
        ]
    );
    assert_eq!(
        errors(&scenario_with("  rps: 5/fortnight\n  max_in_flight: 0\n")),
        [
            "3:8 (11) unknown rate unit `fortnight`: use /s, /min or /h [e.g. `rps: 100` or `rps: 250/min`]",
            "4:18 (1) `max_in_flight` must be a whole number ≥ 1",
        ]
    );
    assert_eq!(
        errors(&scenario_with("  stages: \"30s\"\n  duration: 1m\n")),
        [
            "3:11 (5) invalid stage `30s`: expected DURATION:RPS, e.g. `30s:10` [e.g. `stages: \"30s:10, 1m:100, 30s:0\"` (DURATION:RPS, ramped)]",
            "4:3 (8) `duration` does not go with `stages` [the stages' durations add up to the run's: drop `duration`]",
        ]
    );
}
