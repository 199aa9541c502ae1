//! The runner against arbitrary HTTP targets (wiremock test doubles), in process.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use harness::redact::Redactor;
use harness::report::{self, TargetReport};
use harness::runner::http::ErrorKind;
use harness::runner::template::{Templater, Vars};
use harness::runner::{init_vars, run_scenario, RunContext, ScenarioRun};
use harness::scenario::{parse, Scenario};
use harness::thresholds;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::assert_valid_report;

struct Run {
    scenario: Scenario,
    run: ScenarioRun,
    report: report::Report,
}

async fn run_yaml(yaml: &str, base: &str, env: &[(&str, &str)]) -> Run {
    let scenario =
        parse(Path::new("test.yaml"), yaml).unwrap_or_else(|d| panic!("{}", d.render(yaml, false)));
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let redactor = Redactor::new();
    let templater = Templater::new(
        Arc::new(move |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())),
        redactor.clone(),
    );
    let mut vars = Vars::default();
    vars.set("app", json!({ "url": base }));
    let vars = init_vars(&scenario, vars, &templater).unwrap();
    let mut ctx = RunContext::new(templater, CancellationToken::new(), None);
    ctx.default_timeout = Duration::from_secs(5);
    let run = run_scenario(&scenario, vars, &ctx).await;
    let verdicts = thresholds::evaluate_run(&scenario, &run);
    let report = report::build(
        &scenario,
        &run,
        &verdicts,
        &TargetReport::default(),
        &redactor,
    );
    assert_valid_report(&serde_json::to_value(&report).unwrap());
    Run {
        scenario,
        run,
        report,
    }
}

#[tokio::test]
async fn login_token_is_captured_and_every_check_kind_passes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/auth/login"))
        .and(body_json(json!({"username": "admin", "password": "pw"})))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-7")
                .set_body_json(json!({"token": "tok-123"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/leads"))
        .and(header("authorization", "Bearer tok-123"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"leads": [{"id": 1, "name": "Ana"}, {"id": 2, "name": "Luis"}], "total": 2}),
        ))
        .mount(&server)
        .await;
    let yaml = r#"
name: rest
steps:
  - name: login
    http:
      method: POST
      url: "{{ app.url }}/api/auth/login"
      json: { username: admin, password: "${PASSWORD}" }
    checks:
      status: 200
      headers: { content-type: { contains: json }, x-request-id: req-7 }
      body: tok-123
      jsonpath:
        $.token: { type: string, matches: "^tok-\\d+$", length: 7 }
      duration: "< 5s"
    capture:
      token: { jsonpath: $.token }
      request_id: { header: x-request-id }
      digits: { regex: "tok-(\\d+)" }
  - name: leads
    http:
      url: "{{ app.url }}/api/leads"
      headers: { Authorization: "Bearer {{ token }}", x-digits: "{{ digits }}" }
    checks:
      status: [200, 201]
      jsonpath:
        $.leads: { length: ">= 2" }
        $.leads[0].name: Ana
        $.total: { gt: 1, le: 2 }
        $.missing: { exists: false }
    thresholds: ["p95 < 5s", "count >= 1"]
thresholds: ["error_rate < 1%"]
"#;
    let r = run_yaml(yaml, &server.uri(), &[("PASSWORD", "pw")]).await;
    for s in &r.run.steps {
        assert!(s.passed, "{}: {:?} {:?}", s.name, s.checks, s.error);
    }
    assert!(r.report.passed);
    assert_eq!(r.report.thresholds.len(), 3);
    assert_eq!(r.report.totals.checks_failed, 0);
    assert!(
        r.report.totals.checks_passed >= 14,
        "{}",
        r.report.totals.checks_passed
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        2,
        "one request per step"
    );
}

#[tokio::test]
async fn failed_checks_are_data_with_request_and_response_and_the_run_goes_on() {
    let server = MockServer::start().await;
    Mock::given(path("/health"))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"status": "down", "db": "fail"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/version"))
        .respond_with(ResponseTemplate::new(200).set_body_string("1.2.3"))
        .mount(&server)
        .await;
    let yaml = r#"
name: failing
steps:
  - name: health
    http: { url: "{{ app.url }}/health" }
    checks:
      status: 200
      jsonpath: { $.status: ok }
  - name: version
    http: { url: "{{ app.url }}/version" }
    checks: { body: "1.2" }
"#;
    let r = run_yaml(yaml, &server.uri(), &[]).await;
    assert!(!r.report.passed);
    assert!(!r.run.steps[0].passed);
    assert!(r.run.steps[1].passed, "the run went on after a failed step");
    let failures = &r.report.failures;
    assert_eq!(failures.len(), 2);
    assert_eq!(
        failures[0].message,
        "status equals 200: expected equals 200, got 503"
    );
    assert_eq!(
        failures[1].message,
        "jsonpath $.status equals ok: expected equals ok, got down"
    );
    assert_eq!(failures[0].line, 7, "the line of `status: 200`");
    let response = failures[0].response.as_ref().unwrap();
    assert_eq!(response.status, 503);
    assert!(response.body.contains("\"db\":\"fail\""));
    assert!(failures[0]
        .request
        .as_ref()
        .unwrap()
        .url
        .ends_with("/health"));
    assert_eq!(r.report.steps[0].failures, 1);
}

#[tokio::test]
async fn refused_connections_and_timeouts_are_failures_not_crashes() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = format!(
        r#"
name: errors
steps:
  - name: refused
    http: {{ url: "http://{closed}/x" }}
    checks: {{ status: 200 }}
  - name: slow
    http: {{ url: "{{{{ app.url }}}}/slow", timeout: 200ms }}
    checks: {{ status: 200 }}
  - name: undefined variable
    http: {{ url: "{{{{ app.url }}}}/{{{{ nope }}}}" }}
"#
    );
    let r = run_yaml(&yaml, &server.uri(), &[]).await;
    let kinds: Vec<Option<ErrorKind>> = r
        .run
        .steps
        .iter()
        .map(|s| s.error.as_ref().map(|e| e.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            Some(ErrorKind::Connect),
            Some(ErrorKind::Timeout),
            Some(ErrorKind::Template)
        ]
    );
    let kinds: Vec<&str> = r.report.failures.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["connect", "timeout", "template"]);
    assert!(
        r.report.failures[2].message.contains("undefined"),
        "{}",
        r.report.failures[2].message
    );
    assert!(!r.report.passed);
}

#[tokio::test]
async fn retry_polls_until_the_checks_pass() {
    let server = MockServer::start().await;
    Mock::given(path("/state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"state": "connecting"})))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path("/state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"state": "open"})))
        .with_priority(2)
        .mount(&server)
        .await;
    let yaml = r#"
name: poll
steps:
  - name: wait for open
    http: { url: "{{ app.url }}/state" }
    checks: { jsonpath: { $.state: open } }
    retry: { interval: 20ms, timeout: 5s }
"#;
    let r = run_yaml(yaml, &server.uri(), &[]).await;
    let step = &r.run.steps[0];
    assert!(step.passed);
    assert_eq!(step.attempts, 4);
    assert_eq!((step.series.count, step.series.failures), (4, 0));
}

#[tokio::test]
async fn retry_gives_up_at_its_deadline_with_the_last_observation() {
    let server = MockServer::start().await;
    Mock::given(path("/state"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"state": "close"})))
        .mount(&server)
        .await;
    let yaml = r#"
name: poll
steps:
  - name: never open
    http: { url: "{{ app.url }}/state" }
    checks: { jsonpath: { $.state: open } }
    retry: { interval: 50ms, timeout: 300ms }
"#;
    let r = run_yaml(yaml, &server.uri(), &[]).await;
    let step = &r.run.steps[0];
    assert!(!step.passed);
    assert!(
        step.attempts >= 3 && step.attempts <= 7,
        "{}",
        step.attempts
    );
    assert_eq!(
        step.series.failures, 1,
        "one failed execution, however many attempts"
    );
    assert_eq!(
        r.report.failures[0].message,
        "jsonpath $.state equals open: expected equals open, got close"
    );
}

#[tokio::test]
async fn an_impossible_threshold_fails_with_its_observed_value_and_line() {
    let server = MockServer::start().await;
    Mock::given(path("/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let yaml = "name: t\nsteps:\n  - name: root\n    http: { url: \"{{ app.url }}/\" }\n    thresholds: [\"p95 < 1us\"]\n";
    let r = run_yaml(yaml, &server.uri(), &[]).await;
    assert!(r.run.steps[0].passed);
    assert!(!r.report.passed);
    let t = &r.report.thresholds[0];
    assert_eq!(
        (t.metric.as_str(), t.condition.as_str(), t.passed, t.line),
        ("p95", "< 1us", false, 5)
    );
    assert!(t.observed.unwrap() > 0.001);
    assert_eq!(r.scenario.steps[0].thresholds.len(), 1);
}

#[tokio::test]
async fn secrets_from_the_environment_never_reach_the_report() {
    let server = MockServer::start().await;
    Mock::given(path("/echo"))
        .respond_with(ResponseTemplate::new(401).set_body_string("bad key s3cr3t-from-env given"))
        .mount(&server)
        .await;
    let yaml = r#"
name: secret
steps:
  - name: echo
    http:
      url: "{{ app.url }}/echo?key=${API_KEY}"
      headers: { apikey: "${API_KEY}", x-custom: "v=${API_KEY}" }
      json: { token: "${API_KEY}", other: "{{ app.url }}" }
    checks: { status: 200, body: { contains: "${API_KEY}" } }
"#;
    let r = run_yaml(yaml, &server.uri(), &[("API_KEY", "s3cr3t-from-env")]).await;
    let json = serde_json::to_string(&r.report).unwrap();
    assert!(!json.contains("s3cr3t-from-env"), "{json}");
    assert!(json.contains("***"));
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        sent.headers.get("apikey").unwrap(),
        "s3cr3t-from-env",
        "the real value is sent"
    );
}
