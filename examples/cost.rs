//! Fixed workloads whose instruction counts `benches/callgrind.sh` measures under
//! `valgrind --tool=callgrind` and checks against `benches/callgrind-budget.txt`: a regression
//! guard that does not depend on wall time (counts repeat on a busy machine).
//!
//!   cargo run --example cost -- parse|scenario|send
//!
//! Only what runs inside [`measured`] is counted (callgrind's `--toggle-collect`); set-up and
//! one warm-up round (connections, first compilations) are not. Everything runs on one thread
//! (a current-thread runtime), so the count covers both sides: the in-process server and the
//! client.

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Json;
use harness::load::flow::ScenarioFlow;
use harness::load::Flow;
use harness::redact::Redactor;
use harness::runner::template::{Templater, Vars};
use harness::runner::RunContext;
use harness::sim::meta::{self, MetaConfig, MetaLimits, StatusDelays};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Rounds per workload (after the warm-up round).
const ROUNDS: usize = 100;

/// Login → capture `$.token` → GET with the bearer token → JSONPath check: the scenario row of
/// docs/benchmarks.md.
const SCENARIO: &str = r#"
name: cost
steps:
  - name: login
    http:
      method: POST
      url: "{{ app.url }}/login"
      json: { username: "u{{ n }}", password: "secret" }
    checks: { status: 200 }
    capture:
      token: { jsonpath: $.token }
  - name: me
    http:
      url: "{{ app.url }}/me"
      headers: { Authorization: "Bearer {{ token }}" }
    checks:
      status: 200
      jsonpath:
        $.id: 1
variables:
  n: "{{ seq() }}"
"#;

fn main() {
    let which = std::env::args().nth(1).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    match which.as_str() {
        "parse" => {
            parse_all();
            measured_parse();
        }
        "scenario" => {
            let flow = rt.block_on(scenario());
            measured(&rt, async {
                for _ in 0..ROUNDS {
                    assert!(flow.iterate().await.error.is_none());
                }
            });
        }
        "send" => {
            let (_sim, send) = rt.block_on(send());
            measured(&rt, async {
                for _ in 0..ROUNDS {
                    send.once().await;
                }
            });
        }
        _ => {
            eprintln!("usage: cost parse|scenario|send");
            std::process::exit(2);
        }
    }
}

/// Four built-in scenarios as they were when the budget was set (07af8a0), parsed: a frozen
/// corpus, so that the count follows the parser, not the scenarios' growth (e2e-booking.yaml
/// has grown by half since).
fn parse_all() -> usize {
    let files = [
        (
            "volume.yaml",
            include_str!("../benches/callgrind/volume.yaml"),
        ),
        (
            "e2e-booking.yaml",
            include_str!("../benches/callgrind/e2e-booking.yaml"),
        ),
        (
            "smoke.yaml",
            include_str!("../benches/callgrind/smoke.yaml"),
        ),
        (
            "errors.yaml",
            include_str!("../benches/callgrind/errors.yaml"),
        ),
    ];
    let mut steps = 0;
    for (name, text) in files {
        let s = harness::scenario::parse::parse(std::path::Path::new(name), text)
            .expect("a built-in scenario parses");
        steps += s.steps.len();
    }
    steps
}

/// The counted part: callgrind collects only inside this function.
#[inline(never)]
fn measured<F: std::future::Future<Output = ()>>(rt: &tokio::runtime::Runtime, work: F) {
    rt.block_on(work);
}

#[inline(never)]
fn measured_parse() {
    for _ in 0..ROUNDS / 50 {
        std::hint::black_box(parse_all());
    }
}

/// An in-process app and the cost scenario's flow against it, warmed up.
async fn scenario() -> ScenarioFlow {
    let app = axum::Router::new()
        .route(
            "/login",
            post(|| async { Json(json!({"token": "0123456789abcdef0123456789abcdef"})) }),
        )
        .route("/me", get(|| async { Json(json!({"id": 1, "name": "u"})) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let scenario = harness::scenario::parse::parse(std::path::Path::new("cost.yaml"), SCENARIO)
        .expect("the cost scenario parses");
    let templater = Templater::new(Arc::new(|_| None), Redactor::new());
    let mut vars = Vars::default();
    vars.set("app", json!({ "url": url }));
    let ctx = RunContext::new(templater, CancellationToken::new(), None);
    let flow = ScenarioFlow::new(scenario, vars, ctx);
    let warm = flow.iterate().await;
    assert!(warm.error.is_none(), "the cost scenario passes: {warm:?}");
    flow
}

/// One template send to the Meta simulator.
struct Send {
    client: reqwest::Client,
    url: String,
    body: serde_json::Value,
}

impl Send {
    async fn once(&self) {
        let r = self
            .client
            .post(&self.url)
            .bearer_auth("harness-meta-token")
            .json(&self.body)
            .send()
            .await
            .expect("the simulator answers");
        assert_eq!(r.status(), 200);
        r.bytes().await.expect("a body");
    }
}

/// The Meta simulator (no limits, no status timer while counting) and a warmed-up sender.
async fn send() -> (harness::sim::SimHandle, Send) {
    let config = MetaConfig {
        limits: MetaLimits::unlimited(),
        // No status timer fires while counting: their number would depend on wall time.
        status_delays: StatusDelays {
            sent: std::time::Duration::from_secs(3600),
            delivered: None,
            read: None,
            played: None,
        },
        ..MetaConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = meta::start(config, listener)
        .await
        .expect("the simulator starts");
    let send = Send {
        client: reqwest::Client::new(),
        url: format!("{}/v21.0/106540352242922/messages", sim.base_url),
        body: json!({"messaging_product": "whatsapp", "to": "5511988887777", "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}}}),
    };
    send.once().await;
    (sim, send)
}
