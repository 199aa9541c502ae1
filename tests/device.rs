//! Customer-device mode offline: a simulated Evolution instance plays the customer, on the
//! simulated WhatsApp network with the app's provider simulator (Evolution or Meta), the
//! reference app in front; `inject` goes out through the device's `sendText`/`sendLocation`
//! routes, `await` reads the replies the device's webhook brings to the harness's listener.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{assert_code, harness, read_report};

/// The example scenario the docs show: text, a voice note and a location, no taps.
fn scenario() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios/examples/customer-device.yaml")
        .display()
        .to_string()
}

/// A folder with a `harness.yaml` of device targets (one per provider, and one that writes
/// to a number nobody owns).
fn targets() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("harness.yaml");
    std::fs::write(
        &config,
        "targets:\n  device-evolution:\n    customer_device: { simulated: true }\n  wrong-number:\n    customer_device: { simulated: true, business_number: \"15559990000\" }\n  no-number:\n    customer_device: { simulated: true, business_number: \"123\" }\n",
    )
    .unwrap();
    (dir, config)
}

fn run(scenario: &str, config: &Path, target: Option<&str>, json: &Path) -> harness::CliOutcome {
    let (config, json) = (config.display().to_string(), json.display().to_string());
    let mut args = vec!["run", scenario, "-q", "--json", &json, "--config", &config];
    if let Some(t) = target {
        args.extend(["--target", t]);
    }
    harness(&args)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_device_drives_the_reference_app_on_both_providers_with_e2e_latency() {
    let (dir, config) = targets();
    let c = config.display().to_string();
    // Evolution by a harness.yaml target, Meta by the flag alone.
    let ways: [&[&str]; 2] = [
        &["--target", "device-evolution"],
        &["--provider", "meta", "--customer-device", "simulated"],
    ];
    for (i, way) in ways.into_iter().enumerate() {
        let json = dir.path().join(format!("{i}.json"));
        let j = json.display().to_string();
        let (s, mut args) = (scenario(), vec!["run"]);
        args.extend([s.as_str(), "-q", "--json", &j, "--config", &c]);
        args.extend(way);
        let out = tokio::task::block_in_place(|| harness(&args));
        assert_code(&out, 0);
        assert!(
            out.stderr
                .contains("customer device: instance `customer-device` plays the customer"),
            "said once that the device plays the customer: {}",
            out.stderr
        );
        assert_eq!(out.stderr.matches("plays the customer").count(), 1);
        let report: Value = read_report(&json);
        assert_eq!(report["target"]["provider"], ["evolution", "meta"][i]);
        let e2e = &report["e2e"];
        assert_eq!(e2e["count"], 7, "{way:?}: seven replies awaited: {e2e}");
        assert_eq!(e2e["missing"], 0, "{way:?}");
        let p95 = e2e["latency_ms"]["p95"].as_f64().unwrap();
        assert!(p95 > 0.0 && p95 < 5_000.0, "{way:?}: e2e p95 {p95} ms");
        // The device's number (read from the device) is personal data: masked in files.
        let text = std::fs::read_to_string(&json).unwrap();
        let device = harness::sim::evolution::number_for(harness::embedded::DEVICE_INSTANCE);
        assert!(
            !text.contains(&device),
            "{way:?}: the device's number in the report"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_scenario_passes_in_the_usual_simulated_mode_on_both_providers() {
    let (dir, config) = targets();
    for provider in ["evolution", "meta"] {
        let json = dir.path().join(format!("{provider}.json"));
        let (c, j) = (config.display().to_string(), json.display().to_string());
        let out = tokio::task::block_in_place(|| {
            harness(&[
                "run",
                &scenario(),
                "-q",
                "--json",
                &j,
                "--config",
                &c,
                "--provider",
                provider,
            ])
        });
        assert_code(&out, 0);
        assert!(!out.stderr.contains("customer device"), "{}", out.stderr);
        assert_eq!(read_report(&json)["e2e"]["count"], 7, "{provider}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_writing_to_a_number_nobody_answers_fails_at_the_first_await() {
    let (dir, config) = targets();
    let scenario = dir.path().join("short.yaml");
    std::fs::write(
        &scenario,
        "name: short\nsteps:\n  - name: hello\n    inject: { from: \"+5511900000000\", text: \"Hola, quiero pedir una cita\" }\n  - name: asked for the specialty\n    await:\n      text: { contains: \"especialidad\" }\n      timeout: 1s\n",
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let s = scenario.display().to_string();
    let out = tokio::task::block_in_place(|| run(&s, &config, Some("wrong-number"), &json));
    assert_code(&out, 1);
    assert!(
        out.stdout.contains("✗ asked for the specialty"),
        "{}",
        out.stdout
    );
    let report = read_report(&json);
    assert_eq!(report["e2e"]["missing"], 1, "{}", report["e2e"]);
    // The failure names the customer: the device's number, masked in the file.
    let device = harness::sim::evolution::number_for(harness::embedded::DEVICE_INSTANCE);
    assert!(!std::fs::read_to_string(&json).unwrap().contains(&device));
    // A number WhatsApp does not have: the device's send is refused (Evolution's 400
    // `exists: false`), and the inject fails saying so.
    let out = tokio::task::block_in_place(|| run(&s, &config, Some("no-number"), &json));
    assert_code(&out, 1);
    assert!(out.stdout.contains("✗ hello"), "{}", out.stdout);
    let report = std::fs::read_to_string(&json).unwrap();
    assert!(report.contains("the device sent the message"), "{report}");
    assert!(report.contains(r#"\"exists\":false"#), "{report}");
    // Against the right number the same scenario passes: the failure is the number's.
    let out = tokio::task::block_in_place(|| run(&s, &config, Some("device-evolution"), &json));
    assert_code(&out, 0);
}

/// Writes `yaml` as `NAME.yaml` in `dir` and runs it on the `device-evolution` target: the
/// scenario's path and the outcome.
fn on_the_device(
    dir: &tempfile::TempDir,
    config: &Path,
    name: &str,
    yaml: &str,
) -> (String, harness::CliOutcome) {
    let scenario = dir.path().join(format!("{name}.yaml"));
    std::fs::write(&scenario, yaml).unwrap();
    let s = scenario.display().to_string();
    let json = dir.path().join(format!("{name}.json"));
    let out = run(&s, config, Some("device-evolution"), &json);
    (s, out)
}

#[test]
fn a_tap_cannot_be_sent_from_a_customer_device_exit_2_at_its_line() {
    let (dir, config) = targets();
    let (s, out) = on_the_device(
        &dir,
        &config,
        "tap",
        "name: tap\nsteps:\n  - name: hello\n    inject: { from: \"+5511900000000\", text: \"hola\" }\n  - name: tap\n    inject: { from: \"+5511900000000\", button_reply: { id: citas, title: \"Mis citas\" } }\n",
    );
    assert_code(&out, 2);
    assert!(out.stderr.contains("tap.yaml:5"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot be sent through the Evolution API"),
        "{}",
        out.stderr
    );
    // Without the device, the same scenario is valid.
    let out = run(&s, &config, None, &dir.path().join("r.json"));
    assert_code(&out, 0);
    // `tenant:` names one of the app's numbers, which a device cannot tell apart: refused at
    // its line, on an inject and on an await, rather than ignored.
    let (_, out) = on_the_device(
        &dir,
        &config,
        "tenant",
        "name: tenant\nsteps:\n  - name: hello\n    inject: { from: \"+5511900000000\", tenant: clinica-norte, text: \"hola\" }\n  - name: answer\n    await: { tenant: clinica-norte, timeout: 5s }\n",
    );
    assert_code(&out, 2);
    for line in ["tenant.yaml:3", "tenant.yaml:5"] {
        assert!(out.stderr.contains(line), "{line}: {}", out.stderr);
    }
    assert!(out.stderr.contains("business number"), "{}", out.stderr);
    // A load needs many customers: refused.
    let json = dir.path().join("l.json").display().to_string();
    let args = [
        "load",
        "examples/customer-device",
        "--customer-device",
        "simulated",
    ];
    let out = harness(
        &[
            &args[..],
            &["--rps", "1", "--duration", "1s", "--json", &json],
        ]
        .concat(),
    );
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("one device is one customer"),
        "{}",
        out.stderr
    );
}

/// The staging recipe with a device of its own (`url`, `instance`, `api_key`): an Evolution
/// server (here a simulator on the simulated network) hosts the app's instance and the test
/// phone's; the app's provider is "real" to the harness (no control API used). The device's
/// number is read from `fetchInstances`, its webhook set at the start and turned off at the end.
#[tokio::test(flavor = "multi_thread")]
async fn a_device_of_its_own_on_a_real_provider_plays_the_customer() {
    use harness::sim::evolution::{self, EvolutionConfig, SeedInstance};
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let app_url = format!("http://{}", app_listener.local_addr().unwrap());
    let hook = format!("{app_url}{}", harness::app::server::EVOLUTION_WEBHOOK_PATH);
    let config = EvolutionConfig {
        api_key: "GLOBAL-KEY-0001".into(),
        instances: vec![
            SeedInstance::open("clinic", "CLINIC-TOKEN-01", Some(&hook)),
            SeedInstance::open("phone", "PHONE-TOKEN-001", None),
        ],
        network: Some(harness::sim::network::Network::new()),
        ..Default::default()
    };
    let sim = evolution::start(config, sim_listener).await.unwrap();
    let mut app_config = harness::app::AppConfig::new(
        harness::scenario::ProviderKind::Evolution,
        &sim_url,
        "GLOBAL-KEY-0001",
    );
    app_config.tenants = vec![harness::app::TenantConfig::new("clinic")];
    let app = harness::app::start(app_config, app_listener).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("harness.yaml");
    std::fs::write(
        &config,
        format!(
            "targets:\n  staging:\n    app_url: {app_url}\n    provider_url: {sim_url}\n    api_key: GLOBAL-KEY-0001\n    instance: clinic\n    customer_device:\n      url: {sim_url}\n      instance: phone\n      api_key: PHONE-TOKEN-001\n      business_number: \"+{}\"\n",
            evolution::number_for("clinic")
        ),
    )
    .unwrap();
    let json = dir.path().join("r.json");
    let out = tokio::task::block_in_place(|| run(&scenario(), &config, Some("staging"), &json));
    assert_code(&out, 0);
    assert_eq!(read_report(&json)["e2e"]["count"], 7);
    // The device's webhook is off again.
    let found = phone_webhook(&sim_url).await;
    assert_eq!(found["enabled"], false, "{found}");
    app.shutdown().await;
    sim.shutdown().await;
}

// The listener takes posts only with this run's token, which it gives the device's webhook
// as a header (`webhook/set` `headers`, which the server posts with every event: evolution-api
// 2.3.6 src/api/integrations/event/webhook/webhook.controller.ts, `emit`).
#[tokio::test(flavor = "multi_thread")]
async fn the_device_listener_refuses_posts_without_the_runs_token() {
    use harness::device::{ListenAt, TOKEN_HEADER};
    use harness::sim::evolution::{self, EvolutionConfig, SeedInstance};
    let sim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", sim_listener.local_addr().unwrap());
    let config = EvolutionConfig {
        api_key: "GLOBAL-KEY-0001".into(),
        instances: vec![SeedInstance::open("phone", "PHONE-TOKEN-001", None)],
        ..Default::default()
    };
    let sim = evolution::start(config, sim_listener).await.unwrap();
    let spec = harness::target::DeviceSpec {
        url: Some(sim_url.clone()),
        instance: Some("phone".into()),
        api_key: Some("PHONE-TOKEN-001".into()),
        number: None,
        business_number: Some("+15550783881".into()),
    };
    let at = ListenAt {
        addr: "127.0.0.1:0".parse().unwrap(),
        public_url: None,
    };
    let listener = harness::device::start(&spec, at).await.unwrap();
    let client = reqwest::Client::new();
    let found = phone_webhook(&sim_url).await;
    assert_eq!(found["url"], listener.webhook_url.as_str(), "{found}");
    let token = found["headers"][TOKEN_HEADER].as_str().unwrap().to_string();
    assert_eq!(token.len(), 32, "{found}");
    // upstream: evolution-api 2.3.6 whatsapp.baileys.service.ts messages.upsert
    let reply = serde_json::json!({"event": "messages.upsert", "instance": "phone", "data": {
        "key": {"remoteJid": "15550783881@s.whatsapp.net", "fromMe": false, "id": "R1"},
        "message": {"conversation": "Hola"}, "messageType": "conversation"}});
    let post = |value: Option<&str>| {
        let mut req = client.post(&listener.webhook_url).json(&reply);
        if let Some(v) = value {
            req = req.header(TOKEN_HEADER, v);
        }
        req.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(
        post(Some("0".repeat(32).as_str())).await.unwrap().status(),
        401
    );
    assert_eq!(listener.bus.journal_stats().0, 0, "nothing published");
    assert_eq!(post(Some(&token)).await.unwrap().status(), 200);
    assert_eq!(listener.bus.journal_stats().0, 1, "the reply is published");
    listener.shutdown().await;
    sim.shutdown().await;
}

/// The `phone` instance's webhook row (`GET /webhook/find/phone`) on the simulator at `sim_url`.
async fn phone_webhook(sim_url: &str) -> Value {
    let answer = reqwest::Client::new()
        .get(format!("{sim_url}/webhook/find/phone"))
        .header("apikey", "PHONE-TOKEN-001")
        .send()
        .await
        .unwrap();
    answer.json().await.unwrap()
}
