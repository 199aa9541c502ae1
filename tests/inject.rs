//! `inject` of every inbound type through the runner, on both providers: each step is
//! delivered by the simulator (its control API answers 2xx), starts the customer's clock, and
//! the app's answer to the first message is awaited. The shape of each delivered webhook is
//! checked field by field in sim_evolution::inbound and sim_meta::inbound.

use std::sync::Arc;

use harness::redact::Redactor;
use harness::runner::template::Templater;
use harness::runner::{init_vars, run_scenario, RunContext};
use harness::scenario::{parse_file, ProviderKind};
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
    let templater = Templater::new(Arc::new(|_| None), Redactor::new());
    let mut vars = target.vars();
    vars.set("customer", serde_json::json!("5511977776666"));
    let vars = init_vars(&scenario, vars, &templater).unwrap();
    let ctx = RunContext::new(
        templater,
        CancellationToken::new(),
        Some(target.run_target()),
    );
    let run = run_scenario(&scenario, vars, &ctx).await;
    for s in &run.steps {
        assert!(
            s.passed,
            "{provider:?} {}: {:?} {:?}",
            s.name, s.checks, s.error
        );
    }
    assert_eq!(run.steps.len(), 14);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbound_type_is_injected_on_evolution() {
    every_type(ProviderKind::Evolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_inbound_type_is_injected_on_meta() {
    every_type(ProviderKind::Meta).await;
}
