//! Issue 18's dependency scenarios (scenarios/booking-llm.yaml, llm-down, llm-rate-limited,
//! pms-timeout, payment-duplicate) against the embedded default on both providers, and against
//! the reference app's mishandling build (`HARNESS_APP_MISHANDLE`), where each must fail
//! naming the step that caught it.

use std::path::PathBuf;

use crate::support::{assert_code, assert_exit, harness, read_report, run_in, text};

fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.yaml"))
}

/// Runs `name` on the embedded default with `provider`; exit 0, and the report.
fn passes(name: &str, provider: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("r.json");
    let path = scenario(name);
    let out = harness(&[
        "run",
        path.to_str().unwrap(),
        "--provider",
        provider,
        "--quiet",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_code(&out, 0);
    read_report(&json)
}

#[test]
fn booking_with_the_llm_pms_and_payment_passes_on_both_providers_with_every_hop_timed() {
    for provider in ["evolution", "meta"] {
        let report = passes("booking-llm", provider);
        let hops = report["hops"].as_array().unwrap();
        let services: Vec<&str> = hops
            .iter()
            .map(|h| h["service"].as_str().unwrap())
            .collect();
        assert_eq!(
            services,
            [
                "customer", "llm", "whatsapp", "customer", "whatsapp", "customer", "pms",
                "payments", "whatsapp", "payment", "payments", "whatsapp"
            ],
            "{provider}"
        );
        for h in hops {
            assert!(
                h["latency_ms"]["max"].as_f64().is_some(),
                "{provider}: {h:#}"
            );
        }
        assert_eq!(hops[6]["observed"], "POST /bookings");
        assert_eq!(
            hops[10]["observed"].as_str().unwrap().split('/').nth(2),
            Some("payments")
        );
    }
}

#[test]
fn llm_down_and_rate_limited_pass_on_both_providers() {
    for provider in ["evolution", "meta"] {
        passes("llm-down", provider);
        passes("llm-rate-limited", provider);
    }
}

#[test]
fn pms_timeout_and_a_duplicate_payment_pass_on_both_providers() {
    for provider in ["evolution", "meta"] {
        passes("pms-timeout", provider);
        passes("payment-duplicate", provider);
    }
}

#[test]
fn against_the_mishandling_build_each_fails_at_the_step_that_catches_it() {
    let cases = [
        (
            "llm-down",
            "llm-timeout",
            "a useful reply although the LLM is down",
        ),
        (
            "llm-rate-limited",
            "llm-rate-limit",
            "a useful reply at once",
        ),
        (
            "pms-timeout",
            "pms-timeout",
            "the customer is told it is not booked",
        ),
        (
            "payment-duplicate",
            "duplicate-payment",
            "the duplicate is not confirmed again",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    // The four at once: each waits seconds for what the broken app never sends.
    std::thread::scope(|scope| {
        let runs: Vec<_> = cases
            .iter()
            .map(|(name, flag, step)| {
                let dir = dir.path();
                let run = scope.spawn(move || {
                    let json = format!("{name}.json");
                    let path = scenario(name);
                    let args = ["run", path.to_str().unwrap(), "--quiet", "--json", &json];
                    let out = run_in(dir, &args, &[("HARNESS_APP_MISHANDLE", flag)]);
                    (out, dir.join(json))
                });
                (run, *step)
            })
            .collect();
        for (run, step) in runs {
            let (out, json) = run.join().unwrap();
            assert_exit(&out, 1);
            let stdout = text(&out.stdout);
            assert!(stdout.contains(&format!("✗ {step}")), "{stdout}");
            let report = read_report(&json);
            assert_eq!(
                report["failures"][0]["step"], step,
                "{:#}",
                report["failures"]
            );
        }
    });
}
