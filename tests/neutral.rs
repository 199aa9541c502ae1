//! The provider-neutral view of outbound messages: one scenario text, with `await` matchers on
//! `kind`, `buttons` and `list`, passes unchanged on Evolution and on Meta (only the steps that
//! play the app's provider-specific send carry `provider:`).

use harness::scenario::{parse, ProviderKind};

const SCENARIO: &str = r#"
name: the same awaits on both providers
steps:
  - name: customer writes
    inject: { from: "{{ customer }}", text: "Hola" }
  - name: greeted
    await: { timeout: 20s }
  # The app's sends, as each provider's API takes them.
  - name: list (evolution)
    provider: evolution
    http:
      method: POST
      url: "{{ provider.url }}/message/sendList/{{ provider.instance }}"
      headers: { apikey: "{{ provider.api_key }}" }
      json:
        number: "{{ customer }}"
        title: Horarios
        description: Elija un horario
        buttonText: Ver horarios
        footerText: Clínica
        sections:
          - title: Mañana
            rows:
              - { title: "09:00", description: Dra. Ruiz, rowId: s1 }
              - { title: "10:00", description: Dr. Gómez, rowId: s2 }
    checks: { status: 201 }
  - name: list (meta)
    provider: meta
    http:
      method: POST
      url: "{{ provider.url }}/v25.0/{{ provider.phone_number_id }}/messages"
      headers: { authorization: "Bearer {{ provider.token }}" }
      json:
        messaging_product: whatsapp
        to: "{{ customer }}"
        type: interactive
        interactive:
          type: list
          body: { text: Elija un horario }
          action:
            button: Ver horarios
            sections:
              - title: Mañana
                rows:
                  - { id: s1, title: "09:00", description: Dra. Ruiz }
                  - { id: s2, title: "10:00", description: Dr. Gómez }
    checks: { status: 200 }
  - name: the list, as the customer sees it
    await: { kind: list, list: ["09:00", "10:00"], timeout: 10s }
    checks:
      jsonpath:
        $.list.sections[0].rows[0].id: s1
        $.list.button: Ver horarios
    capture: { list_id: { jsonpath: $.message_id } }
  - name: buttons (evolution)
    provider: evolution
    http:
      method: POST
      url: "{{ provider.url }}/message/sendButtons/{{ provider.instance }}"
      headers: { apikey: "{{ provider.api_key }}" }
      json:
        number: "{{ customer }}"
        title: ¿Confirma?
        description: Lunes 09:00
        footer: Clínica
        buttons:
          - { type: reply, displayText: Reservar, id: book }
          - { type: reply, displayText: Cancelar, id: cancel }
    checks: { status: 201 }
  - name: buttons (meta)
    provider: meta
    http:
      method: POST
      url: "{{ provider.url }}/v25.0/{{ provider.phone_number_id }}/messages"
      headers: { authorization: "Bearer {{ provider.token }}" }
      json:
        messaging_product: whatsapp
        to: "{{ customer }}"
        type: interactive
        interactive:
          type: button
          body: { text: Lunes 09:00 }
          action:
            buttons:
              - { type: reply, reply: { id: book, title: Reservar } }
              - { type: reply, reply: { id: cancel, title: Cancelar } }
    checks: { status: 200 }
  - name: the buttons
    await: { kind: buttons, buttons: [Reservar, Cancelar], timeout: 10s }
    checks:
      jsonpath:
        $.buttons[1].id: cancel
  - name: a list that is not there is not matched
    await: { kind: list, list: ["11:00"], timeout: 300ms, expect: none }
"#;

async fn same_scenario(provider: ProviderKind) {
    let (env, target) = crate::e2e::embedded(provider).await;
    let scenario = parse(std::path::Path::new("neutral.yaml"), SCENARIO).unwrap();
    let run = crate::inject::run_passing(&scenario, &target, provider).await;
    let ran = run.steps.iter().filter(|s| !s.skipped).count();
    // Two provider-specific steps are skipped on each provider.
    assert_eq!(ran, run.steps.len() - 2, "{provider:?}");
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neutral_awaits_pass_on_evolution() {
    same_scenario(ProviderKind::Evolution).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn neutral_awaits_pass_on_meta() {
    same_scenario(ProviderKind::Meta).await;
}
