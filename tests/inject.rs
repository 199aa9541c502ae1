//! `inject` of every inbound type through the runner, on both providers: each step is
//! delivered by the simulator (its control API answers 2xx), starts the customer's clock, and
//! the app's answer to the first message is awaited. The shape of each delivered webhook is
//! checked field by field in sim_evolution::inbound and sim_meta::inbound.

use std::sync::Arc;

use harness::redact::Redactor;
use harness::runner::template::Templater;
use harness::runner::{init_vars, run_scenario, RunContext, ScenarioRun};
use harness::scenario::{parse_file, ProviderKind, Scenario};
use harness::target::Target;
use tokio_util::sync::CancellationToken;

const SCENARIO: &str = r#"
name: every inbound type
steps:
  - name: hello
    inject: { from: "{{ customer }}", name: Ana, text: "Necesito una cita con cardiología para el lunes" }
  - name: offered
    await: { timeout: 20s }
  - name: photo
    inject: { from: "{{ customer }}", image: { caption: "mi receta" } }
  - name: voice note
    inject: { from: "{{ customer }}", voice: {} }
  - name: document from a file
    inject: { from: "{{ customer }}", document: { file: receta.pdf, caption: Receta } }
  - name: bytes
    inject: { from: "{{ customer }}", video: { bytes: AAAAGGZ0eXBtcDQy, mime: video/mp4 } }
  - name: sticker
    inject: { from: "{{ customer }}", sticker: {} }
  - name: location
    inject: { from: "{{ customer }}", location: { latitude: -23.55, longitude: -46.63, name: Casa } }
  - name: contact
    inject: { from: "{{ customer }}", contacts: [{ name: Beto, phone: "+55 11 96666-5555" }] }
  - name: reaction to the app's last message
    inject: { from: "{{ customer }}", reaction: { emoji: "👍" } }
  - name: list choice
    inject: { from: "{{ customer }}", list_reply: { id: slot-1, title: "09:00" } }
  - name: button tap
    inject: { from: "{{ customer }}", button_reply: { id: yes, title: Confirmar } }
  - name: template button
    inject: { from: "{{ customer }}", button: { payload: P, text: Confirmar } }
  - name: quoted reply
    inject: { from: "{{ customer }}", text: "esa", reply_to: "{{ offered_id }}" }
  - name: a customer with a username (meta)
    provider: meta
    inject: { from: "{{ customer }}", text: "hola", username: ana.b }
  - name: a customer addressed by LID (evolution)
    provider: evolution
    inject: { from: "{{ customer }}", text: "hola", lid: true }
"#;

async fn every_type(provider: ProviderKind) {
    let (env, target) = crate::e2e::embedded(provider).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("receta.pdf"), b"%PDF-1.4 receta").unwrap();
    let path = dir.path().join("inbound.yaml");
    // The quoted reply names the offer by its id, captured from the await.
    let yaml = SCENARIO.replace(
        "    await: { timeout: 20s }\n",
        "    await: { timeout: 20s }\n    capture: { offered_id: { jsonpath: \"$.message_id\" } }\n",
    );
    std::fs::write(&path, yaml).unwrap();
    let scenario = parse_file(&path).unwrap();
    let run = run_passing(&scenario, &target, provider).await;
    assert_eq!(run.steps.len(), 16);
    assert_eq!(run.steps.iter().filter(|s| s.skipped).count(), 1);
    env.shutdown().await;
}

/// Runs `scenario` for customer 5511977776666 against `target`; every step must pass.
pub(crate) async fn run_passing(
    scenario: &Scenario,
    target: &Target,
    provider: ProviderKind,
) -> ScenarioRun {
    let templater = Templater::new(Arc::new(|_| None), Redactor::new());
    let mut vars = target.vars();
    vars.set("customer", serde_json::json!("5511977776666"));
    let vars = init_vars(scenario, vars, &templater).unwrap();
    let ctx = RunContext::new(
        templater,
        CancellationToken::new(),
        Some(target.run_target()),
    );
    let run = run_scenario(scenario, vars, &ctx).await;
    for s in &run.steps {
        assert!(
            s.passed,
            "{provider:?} {}: {:?} {:?}",
            s.name, s.checks, s.error
        );
    }
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbound_type_is_injected_on_evolution() {
    every_type(ProviderKind::Evolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbound_type_is_injected_on_meta() {
    every_type(ProviderKind::Meta).await;
}

// issue 11 done-when: a group scenario on Evolution (create group, add participant, send to
// the group, receive a group message via inject, read the participants) passes, with the
// webhooks checked.
#[test]
fn the_evolution_group_example_passes_with_its_webhooks() {
    let dir = tempfile::tempdir().unwrap();
    let out = crate::support::run_in(
        dir.path(),
        &["run", "examples/evolution-group", "--json", "r.json"],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        crate::support::text(&out.stdout),
        crate::support::text(&out.stderr)
    );
    let report = crate::support::read_report(&dir.path().join("r.json"));
    assert_eq!(report["passed"], true);
    assert_eq!(report["steps"].as_array().unwrap().len(), 7);
    let checks = report["checks"].as_array().unwrap();
    for event in [
        "groups.upsert",
        "group-participants.update",
        "messages.upsert",
    ] {
        let checked = checks
            .iter()
            .any(|c| c["passed"] == true && c["name"].as_str().unwrap().contains(event));
        assert!(checked, "the {event} webhook is checked: {checks:?}");
    }
}

// The bundled app's Evolution instances are subscribed to the one event it handles
// (`MESSAGES_UPSERT`), so a conversation posts it no `send.message`, acks or contact events;
// an app of one's own (`--app-url`) is subscribed to every event, as `webhook/set` stores an
// empty list (evolution-api 2.3.6 src/api/integrations/event/webhook/webhook.controller.ts).
const SUBSCRIPTION: &str = r#"
name: subscription
provider: evolution
steps:
  - name: the instance's webhook
    http:
      url: "{{ provider.url }}/webhook/find/{{ provider.instance }}"
      headers: { apikey: "{{ provider.api_key }}" }
    checks:
      status: 200
      jsonpath:
        $.enabled: true
        $.events: { length: EVENTS }
"#;

const CONVERSATION: &str = r#"
  - name: ask
    inject: { from: "5511977776666", text: "Necesito una cita con cardiología para mañana" }
  - name: offered
    await: { text: { contains: Horarios }, timeout: 10s }
  - name: what reached the app
    http: { url: "{{ provider.url }}/__harness/webhooks" }
    checks:
      status: 200
      jsonpath:
        "$[?@.event == 'messages.upsert'].outcome": delivered
        "$[?@.event == 'send.message']": { exists: false }
        "$[?@.event == 'messages.update']": { exists: false }
"#;

#[test]
fn the_bundled_app_is_subscribed_to_the_event_it_handles_and_an_own_app_to_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = SUBSCRIPTION.replace("EVENTS", "1") + CONVERSATION.trim_start_matches('\n');
    std::fs::write(dir.path().join("bundled.yaml"), bundled).unwrap();
    let out = crate::support::run_in(dir.path(), &["run", "bundled.yaml"], &[]);
    crate::support::assert_exit(&out, 0);
    let every = harness::sim::evolution::rules::EVENT_KEYS.len().to_string();
    std::fs::write(
        dir.path().join("own.yaml"),
        SUBSCRIPTION.replace("EVENTS", &every),
    )
    .unwrap();
    let args = ["run", "own.yaml", "--app-url", "http://127.0.0.1:9"];
    let out = crate::support::run_in(dir.path(), &args, &[]);
    crate::support::assert_exit(&out, 0);
}

const ACCEPTED_AND_REFUSED: &str = r#"
name: inject in process
steps:
  - name: delivered
    inject: { from: "5511977776666", text: "hola" }
  - name: unknown tenant
    inject: { from: "5511977776666", tenant: nowhere, text: "hola" }
  - name: no digits
    inject: { from: "ana", text: "hola" }
"#;

/// Runs [`ACCEPTED_AND_REFUSED`] against `target` with `ctx` (all steps run, pass or fail).
async fn run_injects(target: &Target, ctx: &RunContext) -> ScenarioRun {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("injects.yaml");
    std::fs::write(&path, ACCEPTED_AND_REFUSED).unwrap();
    let scenario = parse_file(&path).unwrap();
    let vars = init_vars(&scenario, target.vars(), &ctx.templater).unwrap();
    run_scenario(&scenario, vars, ctx).await
}

/// On the embedded simulator `inject` calls its control API in process: the same handler
/// judges the message, so the steps' verdicts, requests and answers are those of the HTTP path
/// (only the new message's id differs); and it needs no socket: with an HTTP client that can
/// reach nothing, the in-process inject is still delivered.
async fn in_process_is_judged_as_over_http(provider: ProviderKind) {
    let (env, target) = crate::e2e::embedded(provider).await;
    let templater = Templater::new(Arc::new(|_| None), Redactor::new());
    let run_target = Some(target.run_target());
    let over_http = RunContext::new(templater.clone(), CancellationToken::new(), run_target);
    let mut in_process = over_http.clone();
    in_process.sim_local = Some(env.sim.in_process.clone());
    // Port 9 (discard) is closed here: every HTTP request fails to connect.
    in_process.client = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all("http://127.0.0.1:9").unwrap())
        .build()
        .unwrap();
    let http = run_injects(&target, &over_http).await;
    let local = run_injects(&target, &in_process).await;
    let passed = |r: &ScenarioRun| r.steps.iter().map(|s| s.passed).collect::<Vec<_>>();
    assert_eq!(
        passed(&http),
        [true, false, false],
        "{provider:?}: {:?}",
        http.steps
    );
    assert_eq!(
        passed(&local),
        passed(&http),
        "{provider:?}: {:?}",
        local.steps
    );
    for (h, l) in http.steps.iter().zip(&local.steps) {
        assert_eq!(l.request, h.request, "{provider:?} {}", h.name);
        assert_eq!(l.error, h.error, "{provider:?} {}", h.name);
        let (hr, lr) = (h.response.as_ref().unwrap(), l.response.as_ref().unwrap());
        assert_eq!(lr.status, hr.status, "{provider:?} {}", h.name);
        let names = |r: &harness::runner::http::Response| {
            r.headers.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
        };
        assert_eq!(names(lr), names(hr), "{provider:?} {}", h.name);
        assert_eq!(lr.header("content-length"), Some(lr.body.len().to_string()));
        if !h.passed {
            assert_eq!(lr.body, hr.body, "{provider:?} {}", h.name);
            assert_eq!(l.checks, h.checks, "{provider:?} {}", h.name);
        }
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inject_in_process_is_judged_as_over_http_on_evolution() {
    in_process_is_judged_as_over_http(ProviderKind::Evolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inject_in_process_is_judged_as_over_http_on_meta() {
    in_process_is_judged_as_over_http(ProviderKind::Meta).await;
}
