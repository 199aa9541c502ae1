//! The app's other dependencies in scenarios (issue 18): `dependencies:` started with the run,
//! `await: { call }` on their journals, `inject: { payment }` signed to a webhook, `faults:`
//! switched on a dependency, `harness.yaml` making one real; all on 127.0.0.1, ports 0.

use std::path::Path;

use serde_json::Value;

use crate::support::{assert_code, harness, read_report};

const PMS: &str = r#"service: whatever
routes:
  - name: create booking
    method: POST
    path: /bookings
    response: { status: 201, json: { id: "BK-1", status: confirmed } }
"#;

const HOOK: &str = r#"routes:
  - name: payment webhook
    method: POST
    path: /mp
    response: { status: 200, json: { ok: true } }
"#;

const RULES: &str = r#"rules:
  - name: clinic
    match: { system: "Clínica Sol" }
    reply: { json: { intent: book, day: lunes } }
"#;

/// A folder with the dependency files and `scenario.yaml` holding `steps`.
fn dir_with(steps: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("mocks")).unwrap();
    std::fs::write(dir.path().join("mocks/pms.yaml"), PMS).unwrap();
    std::fs::write(dir.path().join("mocks/hook.yaml"), HOOK).unwrap();
    std::fs::write(dir.path().join("mocks/llm.yaml"), RULES).unwrap();
    let text = format!(
        "name: deps\ndependencies:\n  llm: {{ kind: openai, rules: mocks/llm.yaml }}\n  pms: {{ kind: http, stubs: mocks/pms.yaml }}\n  pay: {{ kind: payments }}\n  hook: {{ kind: http, stubs: mocks/hook.yaml }}\nsteps:\n{steps}"
    );
    let path = dir.path().join("scenario.yaml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn run(dir: &Path, scenario: &Path, extra: &[&str]) -> (harness::CliOutcome, Option<Value>) {
    let json = dir.join("report.json");
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let out = harness(&args);
    let report = json.exists().then(|| read_report(&json));
    (out, report)
}

const BOOKING_CALLS: &str = r#"  - name: the app books in the PMS
    http:
      method: POST
      url: "{{ dependencies.pms.url }}/bookings"
      json: { source: whatsapp, name: Ana, phone_hash: "x" }
    checks: { status: 201 }
  - name: PMS booking call
    await: { call: { service: pms, method: POST, path: /bookings, jsonpath: { $.name: Ana }, timeout: 2s } }
    checks:
      body: { not_contains: "5511" }
      jsonpath: { $.source: whatsapp }
    capture: { guest: { jsonpath: $.name } }
  - name: the app asks the LLM
    http:
      method: POST
      url: "{{ dependencies.llm.base_url }}/chat/completions"
      headers: { authorization: "Bearer {{ dependencies.llm.api_key }}" }
      json: { model: gpt-4o-mini, messages: [ { role: system, content: "Sos el asistente de Clínica Sol" }, { role: user, content: "turno lunes" } ] }
    checks:
      status: 200
      jsonpath: { "$.choices[0].message.content": { contains: lunes } }
  - name: LLM call
    await: { call: { service: llm, path: /v1/*, timeout: 2s } }
    checks:
      jsonpath: { "$.messages[0].content": { contains: "Clínica Sol" } }
      body: { not_matches: "\\d{10}" }
"#;

#[test]
fn awaited_calls_payments_and_faults_pass_with_each_hop_in_the_report() {
    let steps = format!(
        "{BOOKING_CALLS}{}",
        r#"  - name: the PMS times out
    faults: { service: pms, rules: [ { endpoint: /bookings, error: { rate: 1, status: 503 } } ] }
  - name: the app's next booking fails
    http: { method: POST, url: "{{ dependencies.pms.url }}/bookings", json: { source: whatsapp } }
    checks: { status: 503 }
  - name: the PMS is back
    faults: { service: pms, clear: true }
  - name: payment approved, twice
    inject:
      payment: { url: "{{ dependencies.hook.url }}/mp", status: approved, external_reference: "{{ guest }}", amount: 30, duplicate: true }
    checks:
      jsonpath: { "$.payment.status": approved, "$.payment.external_reference": Ana, "$.payment.transaction_amount": 30, "$.deliveries[*].last_status": [200, 200] }
  - name: signed notification
    await: { call: { service: hook, method: POST, path: /mp, headers: { x-signature: { matches: "^ts=\\d+,v1=[0-9a-f]{64}$" } } } }
    checks:
      jsonpath: { $.type: payment, $.action: payment.created }
  - name: its duplicate
    await: { call: { service: hook, path: /mp } }
"#
    );
    let (dir, path) = dir_with(&steps);
    let (out, report) = run(dir.path(), &path, &[]);
    assert_code(&out, 0);
    let report = report.unwrap();
    let hops = report["hops"].as_array().unwrap();
    let calls: Vec<&Value> = hops.iter().filter(|h| h["kind"] == "call").collect();
    assert_eq!(calls.len(), 4, "{hops:#?}");
    assert_eq!(calls[0]["service"], "pms");
    assert_eq!(calls[0]["observed"], "POST /bookings");
    assert!(calls[0]["latency_ms"]["max"].as_f64().unwrap() < 2000.0);
    assert_eq!(calls[1]["observed"], "POST /v1/chat/completions");
    let payment = hops.iter().find(|h| h["service"] == "payment").unwrap();
    assert!(payment["latency_ms"]["max"].as_f64().unwrap() > 0.0);
    // The generated keys never show.
    let text = report.to_string();
    assert!(!text.contains("sk-harness-"), "{text}");
}

#[test]
fn an_awaited_call_that_never_comes_fails_the_step_by_name() {
    let steps = r#"  - name: PMS booking call
    await: { call: { service: pms, method: POST, path: /bookings, timeout: 300ms } }
"#;
    let (dir, path) = dir_with(steps);
    let (out, report) = run(dir.path(), &path, &[]);
    assert_code(&out, 1);
    assert!(out.stdout.contains("PMS booking call"), "{}", out.stdout);
    let report = report.unwrap();
    let failure = &report["failures"][0];
    assert_eq!(failure["step"], "PMS booking call");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("no call to `pms` within 300ms"),
        "{failure:#}"
    );
}

#[test]
fn an_unknown_service_is_exit_2_where_it_is_written() {
    let steps = r#"  - name: PMS booking call
    await: { call: { service: pmss, path: /bookings } }
"#;
    let (dir, path) = dir_with(steps);
    let out = harness(&["validate", path.to_str().unwrap()]);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("unknown service `pmss`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("scenario.yaml:9:"), "{}", out.stderr);
    assert!(out.stderr.contains("did you mean `pms`?"), "{}", out.stderr);
    let (out, _) = run(dir.path(), &path, &[]);
    assert_code(&out, 2);
}

#[test]
fn a_missing_stubs_file_is_exit_2_at_its_key() {
    let (dir, path) = dir_with("  - name: x\n    http: { url: \"{{ dependencies.pms.url }}/\" }\n");
    std::fs::remove_file(dir.path().join("mocks/pms.yaml")).unwrap();
    let out = harness(&["validate", path.to_str().unwrap()]);
    assert_code(&out, 2);
    assert!(out.stderr.contains("scenario.yaml:4:"), "{}", out.stderr);
    assert!(
        out.stderr.contains("cannot read stubs file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_real_dependency_is_not_started_and_cannot_be_awaited() {
    let (dir, path) = dir_with(BOOKING_CALLS);
    let config = dir.path().join("harness.yaml");
    std::fs::write(
        &config,
        "targets:\n  staging:\n    dependencies:\n      pms: { mode: real, url: \"http://127.0.0.1:9\" }\n",
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let (out, _) = run(dir.path(), &path, &["--target", "staging", "--config", cfg]);
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("which this target makes real"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("scenario.yaml:14:"), "{}", out.stderr);

    // Without awaits on it, the scenario sees its URL, and nothing is started there.
    let steps = "  - name: url\n    http: { url: \"{{ dependencies.pms.url }}/\", timeout: 1s }\n    checks: { status: 200 }\n";
    let (dir, path) = dir_with(steps);
    let config = dir.path().join("harness.yaml");
    std::fs::write(&config, "targets:\n  staging:\n    dependencies:\n      pms: { mode: real, url: \"http://127.0.0.1:9\" }\n").unwrap();
    let cfg = config.to_str().unwrap();
    let (out, report) = run(dir.path(), &path, &["--target", "staging", "--config", cfg]);
    assert_code(&out, 1);
    let report = report.unwrap();
    assert!(report["failures"][0]["request"]["url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:9/"));
}

#[test]
fn a_simulated_dependency_running_elsewhere_is_awaited_through_its_control_api() {
    let steps = r#"  - name: the app books
    http: { method: POST, url: "{{ dependencies.pms.url }}/bookings", json: { name: Bea } }
    checks: { status: 201 }
  - name: PMS booking call
    await: { call: { service: pms, method: POST, path: /bookings, jsonpath: { $.name: Bea }, timeout: 3s } }
"#;
    let (dir, path) = dir_with(steps);
    let port = crate::support::free_port();
    let stubs = dir.path().join("mocks/pms.yaml");
    let mut cmd = crate::support::bin();
    cmd.args(["mock", "http", "--stubs", stubs.to_str().unwrap()])
        .args(["--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _mock = crate::support::AppProcess(cmd.spawn().unwrap());
    crate::support::wait_for_port(port, "harness mock http");
    let config = dir.path().join("harness.yaml");
    let url = format!("http://127.0.0.1:{port}");
    std::fs::write(
        &config,
        format!("targets:\n  local:\n    dependencies:\n      pms: {{ mode: simulated, url: \"{url}\" }}\n"),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let (out, report) = run(dir.path(), &path, &["--target", "local", "--config", cfg]);
    // Nothing is started here: the call goes to the mock, and the await long-polls its journal
    // (which journals it as `whatever`, its stubs' `service:`: a simulator is one dependency).
    assert_code(&out, 0);
    let report = report.unwrap();
    let hop = &report["hops"][0];
    assert_eq!(
        (hop["service"].as_str(), hop["observed"].as_str()),
        (Some("pms"), Some("POST /bookings"))
    );

    // The await's request is the long poll; a call that never comes fails it, naming it.
    let steps = "  - name: PMS booking call\n    await: { call: { service: pms, path: /nothing, timeout: 200ms } }\n";
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .split("steps:")
            .next()
            .unwrap()
            .to_string()
            + "steps:\n"
            + steps,
    )
    .unwrap();
    let (out, report) = run(dir.path(), &path, &["--target", "local", "--config", cfg]);
    assert_code(&out, 1);
    let failure = &report.unwrap()["failures"][0];
    let polled = failure["request"]["url"].as_str().unwrap();
    assert!(
        polled.starts_with(&format!("{url}/__harness/outbound?since=")),
        "{polled}"
    );
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("other call(s) to `pms`: POST /bookings"),
        "{failure:#}"
    );
}

#[test]
fn under_load_each_iteration_awaits_its_own_call() {
    let steps = r#"  - name: the app books
    http: { method: POST, url: "{{ dependencies.pms.url }}/bookings", json: { name: "{{ n }}" } }
    checks: { status: 201 }
  - name: PMS booking call
    await: { call: { service: pms, path: /bookings, jsonpath: { $.name: "{{ n }}" }, timeout: 2s } }
"#;
    let (dir, path) = dir_with(steps);
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "steps:\n",
        "variables:\n  n: \"guest-{{ seq() }}\"\nsteps:\n",
    );
    std::fs::write(&path, text).unwrap();
    let json = dir.path().join("load.json");
    let out = harness(&[
        "load",
        path.to_str().unwrap(),
        "--rps",
        "20",
        "--duration",
        "2s",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_code(&out, 0);
    let report = read_report(&json);
    let call = &report["steps"][1];
    assert_eq!(call["kind"], "call");
    assert_eq!(call["failures"], 0, "{call:#}");
    assert!(call["executions"].as_u64().unwrap() >= 30, "{call:#}");
}
