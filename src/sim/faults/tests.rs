//! Unit tests of the fault profiles (a file of their own: `mod.rs` stays under 600 lines).

use super::*;

const NO_DRAW: Draws = Draws {
    error: 0.999,
    reset: 0.999,
    latency: [0.5, 0.25],
};

fn req<'a>(method: &'a str, path: &'a str, tenant: Option<&'a str>) -> RequestInfo<'a> {
    RequestInfo {
        method,
        path,
        tenant,
    }
}

#[test]
fn endpoint_patterns_match_params_and_prefixes() {
    assert!(endpoint_matches(
        "/message/sendText/{instance}",
        "/message/sendText/a"
    ));
    assert!(!endpoint_matches(
        "/message/sendText/{instance}",
        "/message/sendText/"
    ));
    assert!(!endpoint_matches(
        "/message/sendText/{instance}",
        "/message/sendMedia/a"
    ));
    assert!(!endpoint_matches(
        "/message/sendText/{i}",
        "/message/sendText/a/b"
    ));
    assert!(endpoint_matches("/message/*", "/message/sendMedia/a"));
    assert!(endpoint_matches("/message/send*", "/message/sendMedia/a"));
    assert!(!endpoint_matches(
        "/message/send*",
        "/chat/whatsappNumbers/a"
    ));
    assert!(endpoint_matches("*", "/anything/at/all"));
    assert!(endpoint_matches("/", "/"));
    assert!(endpoint_matches(
        "/{v}/{id}/messages",
        "/v21.0/123/messages"
    ));
}

#[test]
fn rules_select_on_method_tenant_and_endpoint() {
    let rule = FaultRule {
        method: Some("post".into()),
        tenant: Some("a".into()),
        endpoint: Some("/message/*".into()),
        ..Default::default()
    };
    assert!(rule.matches(&req("POST", "/message/sendText/a", Some("a"))));
    assert!(!rule.matches(&req("GET", "/message/sendText/a", Some("a"))));
    assert!(!rule.matches(&req("POST", "/message/sendText/b", Some("b"))));
    assert!(!rule.matches(&req("POST", "/chat/x/a", Some("a"))));
    assert!(FaultRule::default().matches(&req("GET", "/", None)));
}

#[test]
fn failed_status_matches_rule_and_draw() {
    let yaml = "rules:\n  - tenant: a\n    failed_status: {rate: 0.5, code: 131026}\n";
    let p = FaultProfile::parse(yaml).unwrap();
    let req = |tenant| RequestInfo {
        method: "POST",
        path: "/a/messages",
        tenant: Some(tenant),
    };
    assert_eq!(p.failed_status(&req("a"), 0.2), Some(131026));
    assert_eq!(p.failed_status(&req("a"), 0.7), None);
    assert_eq!(p.failed_status(&req("b"), 0.2), None);
}

#[test]
fn error_rate_uses_the_draw() {
    let profile = FaultProfile {
        rules: vec![FaultRule {
            error: Some(ErrorFault {
                rate: 0.3,
                status: 500,
                body: serde_json::json!({"x": 1}),
                headers: Default::default(),
            }),
            ..Default::default()
        }],
    };
    let r = req("POST", "/x", None);
    let hit = Draws {
        error: 0.29,
        ..NO_DRAW
    };
    assert_eq!(
        decide(&profile, &r, Duration::ZERO, &hit).outcome,
        Outcome::Respond {
            status: 500,
            body: Some(serde_json::json!({"x": 1})),
            headers: Default::default(),
        }
    );
    assert_eq!(
        decide(&profile, &r, Duration::ZERO, &NO_DRAW).outcome,
        Outcome::Pass
    );
}

#[test]
fn reset_rate_and_downtime_windows() {
    let down = Downtime {
        start: Duration::from_secs(10),
        duration: Duration::from_secs(5),
        every: Some(Duration::from_secs(60)),
        mode: DowntimeMode::Unavailable,
    };
    assert!(!down.is_active(Duration::from_secs(9)));
    assert!(down.is_active(Duration::from_secs(10)));
    assert!(down.is_active(Duration::from_millis(14_999)));
    assert!(!down.is_active(Duration::from_secs(15)));
    assert!(down.is_active(Duration::from_secs(72)));
    let once = Downtime {
        every: None,
        ..down.clone()
    };
    assert!(!once.is_active(Duration::from_secs(72)));

    let profile = FaultProfile {
        rules: vec![FaultRule {
            downtime: vec![Downtime {
                mode: DowntimeMode::Refuse,
                ..down
            }],
            reset_rate: 0.5,
            ..Default::default()
        }],
    };
    let r = req("GET", "/", None);
    let during = decide(&profile, &r, Duration::from_secs(11), &NO_DRAW);
    assert_eq!(during.outcome, Outcome::Connection(ConnectionFault::Reset));
    let closing = FaultProfile {
        rules: vec![FaultRule {
            downtime: vec![Downtime {
                mode: DowntimeMode::Close,
                ..once.clone()
            }],
            ..Default::default()
        }],
    };
    let closed = decide(&closing, &r, Duration::from_secs(11), &NO_DRAW);
    assert_eq!(closed.outcome, Outcome::Connection(ConnectionFault::Close));
    let outside = decide(&profile, &r, Duration::from_secs(1), &NO_DRAW);
    assert_eq!(outside.outcome, Outcome::Pass);
    let reset = Draws {
        reset: 0.1,
        ..NO_DRAW
    };
    let drawn = decide(&profile, &r, Duration::from_secs(1), &reset);
    assert_eq!(drawn.outcome, Outcome::Connection(ConnectionFault::Reset));
}

#[test]
fn latencies_sample_as_specified_and_add_up() {
    let fixed = Latency::Fixed {
        delay: Duration::from_millis(100),
    };
    assert_eq!(fixed.sample([0.9, 0.9]), Duration::from_millis(100));
    let uniform = Latency::Uniform {
        min: Duration::from_millis(100),
        max: Duration::from_millis(300),
    };
    assert_eq!(uniform.sample([0.5, 0.0]), Duration::from_millis(200));
    let ln = Latency::LogNormal {
        median: Duration::from_millis(100),
        p99: Duration::from_millis(1000),
    };
    // u1 = 1 - e^{-1/2·z²}… choose draws giving z = 0 (cos(τ/4) = 0): the median.
    let median = ln.sample([0.3, 0.25]);
    assert!((median.as_secs_f64() - 0.1).abs() < 1e-9, "{median:?}");
    // z = p99's z-score gives p99: -2 ln(1-u0) = z², cos(τ u1) = 1 at u1 = 0.
    let u0 = 1.0 - (-(Z_P99 * Z_P99) / 2.0).exp();
    let p99 = ln.sample([u0, 0.0]);
    assert!((p99.as_secs_f64() - 1.0).abs() < 1e-6, "{p99:?}");
    let params = Latency::LogNormalParams {
        mu: (50f64).ln(),
        sigma: 1.0,
    };
    assert!((params.sample([0.3, 0.25]).as_secs_f64() - 0.05).abs() < 1e-9);

    let profile = FaultProfile {
        rules: vec![
            FaultRule {
                latency: Some(fixed.clone()),
                ..Default::default()
            },
            FaultRule {
                latency: Some(fixed),
                endpoint: Some("/a".into()),
                ..Default::default()
            },
        ],
    };
    let d = decide(&profile, &req("GET", "/a", None), Duration::ZERO, &NO_DRAW);
    assert_eq!(d.delay, Duration::from_millis(200));
    let d = decide(&profile, &req("GET", "/b", None), Duration::ZERO, &NO_DRAW);
    assert_eq!(d.delay, Duration::from_millis(100));
}

#[test]
fn sampled_latencies_have_the_requested_distribution() {
    let ln = Latency::LogNormal {
        median: Duration::from_millis(100),
        p99: Duration::from_millis(800),
    };
    let mut rng = rand::rng();
    let mut xs: Vec<Duration> = (0..20_000)
        .map(|_| ln.sample(Draws::sample(&mut rng).latency))
        .collect();
    xs.sort();
    let median = xs[10_000].as_secs_f64();
    let p99 = xs[19_800].as_secs_f64();
    assert!((0.09..0.11).contains(&median), "median {median}");
    assert!((0.65..0.95).contains(&p99), "p99 {p99}");
}

#[test]
fn profiles_parse_from_yaml_and_json_with_both_duration_forms() {
    let yaml = "rules:\n  - endpoint: /message/sendText/{instance}\n    tenant: a\n    latency: {kind: uniform, min: 100, max: 2s}\n    error: {rate: 0.1, status: 500, body: {status: 500}}\n    downtime:\n      - {start: 1m, duration: 30s, mode: refuse}\n";
    let p = FaultProfile::parse(yaml).unwrap();
    let rule = &p.rules[0];
    assert_eq!(
        rule.latency,
        Some(Latency::Uniform {
            min: Duration::from_millis(100),
            max: Duration::from_secs(2)
        })
    );
    assert_eq!(rule.downtime[0].start, Duration::from_secs(60));
    assert_eq!(rule.downtime[0].mode, DowntimeMode::Refuse);
    let json = serde_json::to_string(&p).unwrap();
    assert_eq!(FaultProfile::parse(&json).unwrap(), p);
    let err = FaultProfile::parse("rules: [{latncy: 1}]").unwrap_err();
    assert!(err.to_string().contains("latncy"), "{err}");
    assert!(FaultProfile::parse("rules: [").is_err());
}

#[test]
fn bundled_profiles_in_mocks_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/faults");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "json")
        ) {
            let p = FaultProfile::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(!p.rules.is_empty(), "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 3, "profiles found: {n}");
}

#[test]
fn rates_outside_zero_to_one_are_refused_with_the_fix() {
    for yaml in [
        "rules:\n  - failed_status: {rate: 2, code: 131026}\n",
        "rules:\n  - reset_rate: 50\n",
        "rules:\n  - truncate_stream: {rate: -0.1}\n",
    ] {
        let err = FaultProfile::parse(yaml).unwrap_err().to_string();
        assert!(
            err.contains("not a probability") && err.contains("0.5 for 50 %"),
            "{yaml}: {err}"
        );
    }
    assert!(FaultProfile::parse("rules:\n  - reset_rate: 1\n").is_ok());
}
