//! End to end through WhatsApp: correlation under concurrency, both providers, the
//! separate-process setup, and a deliberately broken app.

use std::sync::Arc;

use harness::embedded::{AppSide, Embedded};
use harness::redact::Redactor;
use harness::runner::template::Templater;
use harness::runner::{init_vars, run_scenario, RunContext};
use harness::scenario::{parse, ProviderKind};
use harness::target::{Credentials, ProviderMode, Target, TargetSpec};
use tokio_util::sync::CancellationToken;

use crate::support::{free_port, read_report, run_in, start_app, text};

const SPECIALTIES: &[&str] = &[
    "cardiología",
    "dermatología",
    "pediatría",
    "medicina general",
    "traumatología",
    "ginecología",
];
const DAYS: &[&str] = &[
    "el lunes",
    "el martes",
    "el miércoles",
    "el jueves",
    "el viernes",
];

pub(crate) async fn embedded(provider: ProviderKind) -> (Embedded, Target) {
    let spec = TargetSpec {
        name: "embedded".into(),
        app_url: None,
        webhook_url: None,
        provider,
        mode: ProviderMode::Simulated,
        provider_url: None,
        credentials: Credentials::default(),
        public_url: None,
        dependencies: Vec::new(),
        customer_device: None,
    };
    let redactor = Redactor::new();
    let templater = Templater::new(Arc::new(|_| None), redactor.clone());
    let resolved = spec.resolve(&templater).unwrap();
    let e = Embedded::start(
        provider,
        None,
        AppSide::Bundled,
        &resolved.credentials,
        &redactor,
    )
    .await
    .unwrap();
    let target = e.target(&resolved);
    (e, target)
}

/// Many customers converse at once, each with its own number, specialty and day: every reply
/// reaches the customer who asked, with that customer's booking.
async fn concurrent_conversations(provider: ProviderKind) {
    let (env, target) = embedded(provider).await;
    let yaml = r#"
name: one customer
steps:
  - name: ask
    inject: { from: "{{ customer }}", text: "Necesito una cita con {{ specialty }} para {{ day }}" }
  - name: offered
    await: { text: { contains: "Horarios disponibles de {{ specialty }}" }, timeout: 20s }
    capture: { time: { regex: "1\\. (\\d\\d:\\d\\d) con " } }
  - name: choose
    inject: { from: "{{ customer }}", text: "1" }
  - name: confirmed
    await: { text: { contains: "✅ Cita confirmada" }, timeout: 20s }
    checks: { body: { contains: "a las {{ time }} con" } }
"#;
    let scenario = Arc::new(parse(std::path::Path::new("c.yaml"), yaml).unwrap());
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (scenario, target) = (scenario.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let templater = Templater::new(Arc::new(|_| None), Redactor::new());
            let mut vars = target.vars();
            vars.set(
                "customer",
                serde_json::json!(format!("55119{:08}", 10_000_000 + i)),
            );
            vars.set(
                "specialty",
                serde_json::json!(SPECIALTIES[i % SPECIALTIES.len()]),
            );
            vars.set(
                "day",
                serde_json::json!(DAYS[(i / SPECIALTIES.len()) % DAYS.len()]),
            );
            let vars = init_vars(&scenario, vars, &templater).unwrap();
            let ctx = RunContext::new(
                templater,
                CancellationToken::new(),
                Some(target.run_target()),
            );
            run_scenario(&scenario, vars, &ctx).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let run = t.await.unwrap();
        for s in &run.steps {
            assert!(
                s.passed,
                "customer {i}, step {}: {:?} {:?}",
                s.name, s.checks, s.error
            );
        }
    }
    // Every message the app sent went to one of the customers, two each, never crossed.
    let journal: Vec<serde_json::Value> =
        reqwest::get(format!("{}/__harness/outbound", env.sim.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(journal.len(), 24 * 2);
    for i in 0..24usize {
        let phone = format!("55119{:08}", 10_000_000 + i);
        let mine: Vec<&serde_json::Value> = journal
            .iter()
            .filter(|m| m["to"] == phone.as_str())
            .collect();
        assert_eq!(mine.len(), 2, "{phone}");
        let specialty = SPECIALTIES[i % SPECIALTIES.len()];
        assert!(
            mine[0]["text"].as_str().unwrap().contains(specialty),
            "{phone} got another customer's offer"
        );
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_customers_never_get_crossed_replies_evolution() {
    concurrent_conversations(ProviderKind::Evolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_customers_never_get_crossed_replies_meta() {
    concurrent_conversations(ProviderKind::Meta).await;
}

#[test]
fn e2e_booking_and_errors_pass_for_meta_with_the_e2e_histogram_in_the_report() {
    for scenario in ["e2e-booking", "errors"] {
        let dir = tempfile::tempdir().unwrap();
        let out = run_in(
            dir.path(),
            &["run", scenario, "--provider", "meta", "--json", "r.json"],
            &[],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{scenario}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let report = read_report(&dir.path().join("r.json"));
        assert_eq!(report["target"]["provider"], "meta");
        assert!(
            report["e2e"]["count"].as_u64().unwrap() >= 5,
            "{}",
            report["e2e"]
        );
        assert_eq!(report["e2e"]["failures"], 0);
        assert!(!report["e2e"]["histogram"].as_array().unwrap().is_empty());
        if scenario == "errors" {
            let faults = report["faults"]
                .as_array()
                .expect("the injected faults are reported");
            assert!(faults.len() >= 3, "{faults:?}");
            assert!(faults[0]["profile"]["rules"][0]["downtime"].is_array());
        }
    }
}

#[test]
fn e2e_report_carries_the_histogram_and_its_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["run", "e2e-booking", "--json", "r.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let report = read_report(&dir.path().join("r.json"));
    let e2e = &report["e2e"];
    assert_eq!(e2e["failures"], 0);
    assert!(e2e["latency_ms"]["p95"].as_f64().unwrap() < 5000.0);
    let t: Vec<&serde_json::Value> = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["metric"] == "e2e p95")
        .collect();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["passed"], true);
    let kinds: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"inject") && kinds.contains(&"await"));
}

const EVOLUTION_ENV: &[(&str, &str)] = &[("HARNESS_EVOLUTION_API_KEY", "separate-process-key-1")];
const META_ENV: &[(&str, &str)] = &[
    ("HARNESS_META_TOKEN", "EAAHseparate"),
    ("HARNESS_META_APP_SECRET", "separate-secret"),
    ("HARNESS_META_VERIFY_TOKEN", "separate-verify"),
];

#[test]
fn the_reference_app_in_a_separate_process_passes_e2e_booking_for_both_providers() {
    for (provider, env) in [("evolution", EVOLUTION_ENV), ("meta", META_ENV)] {
        let (sim_port, app_port) = (free_port(), free_port());
        let _app = start_app(provider, sim_port, app_port, &[], env);
        let dir = tempfile::tempdir().unwrap();
        let app_url = format!("http://127.0.0.1:{app_port}");
        let args = [
            "run",
            "e2e-booking",
            "--provider",
            provider,
            "--sim-port",
            &sim_port.to_string(),
            "--app-url",
            &app_url,
            "--json",
            "r.json",
        ];
        let out = run_in(dir.path(), &args, env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{provider}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let report = read_report(&dir.path().join("r.json"));
        assert_eq!(report["target"]["name"], "cli");
        assert_eq!(report["target"]["app_url"], app_url.as_str());
        let all = format!("{}{}", text(&out.stdout), report);
        for (_, secret) in env {
            assert!(!all.contains(secret), "{provider}: a credential leaked");
        }
    }
}

#[test]
fn a_broken_app_fails_e2e_booking_with_exit_1_naming_the_step_and_the_missing_reply() {
    let (sim_port, app_port) = (free_port(), free_port());
    let _app = start_app(
        "evolution",
        sim_port,
        app_port,
        &["--no-replies"],
        EVOLUTION_ENV,
    );
    let dir = tempfile::tempdir().unwrap();
    let app_url = format!("http://127.0.0.1:{app_port}");
    let args = [
        "run",
        "e2e-booking",
        "--sim-port",
        &sim_port.to_string(),
        "--app-url",
        &app_url,
        "--json",
        "r.json",
        "--html",
        "r.html",
        "--fail-fast",
    ];
    let out = run_in(dir.path(), &args, EVOLUTION_ENV);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ availability offered"), "{stdout}");
    // Standard error is not a terminal here: no live progress.
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("✓ ask for an appointment"), "{stderr}");
    assert!(stdout.contains("no message to"), "{stdout}");
    let report = read_report(&dir.path().join("r.json"));
    let failure = &report["failures"][0];
    assert_eq!(failure["step"], "availability offered");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .starts_with("reply: expected message to "),
        "{failure}"
    );
    assert_eq!(
        report["steps"].as_array().unwrap().len(),
        2,
        "--fail-fast stopped at the first failed step"
    );
    // The conversation up to the failure: the customer's message, then the reply that never
    // came, marked; in the report, the terminal and the HTML.
    let messages = report["transcripts"][0]["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[0]["from"], "customer");
    // The customer's words beyond the first two are masked in files (docs/privacy.md).
    assert_eq!(messages[0]["text"], "Necesito una …‹+5 words›");
    assert_eq!(
        (&messages[1]["from"], &messages[1]["kind"]),
        (&"app".into(), &"none".into())
    );
    assert!(messages[1]["failure"]
        .as_str()
        .unwrap()
        .contains("no message to"));
    let conversation = stdout.split("conversation\n").nth(1).expect(&stdout);
    assert!(
        conversation.starts_with("  → customer text         \"Necesito una cita")
            && conversation.contains("\n  ✗ app      none         (no reply)"),
        "{stdout}"
    );
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    let failures = html.find("<h2>Failures</h2>").unwrap();
    let so_far = html.find("Conversation so far").unwrap();
    let steps = html.find("<h2>Steps</h2>").unwrap();
    assert!(failures < so_far && so_far < steps);
    assert!(html.contains("<p class=\"text\">Necesito una …‹+5 words›</p>"));
    assert_eq!(html.matches("class=\"msg app failed\"").count(), 1);
}
