//! Running your own app against the simulator: an Evolution instance token given with
//! `HARNESS_EVOLUTION_INSTANCE=name:token` on a `--sim-port` run, and the reference app's
//! WhatsApp structure (list, buttons, voice note, location) through the real simulators.

use crate::support::{assert_exit, free_port, run_in, scenario_dir, start_app, text};

const TOKEN_SCENARIO: &str = r#"
name: instance-token
steps:
  - name: the given token opens the instance
    http:
      url: "{{ provider.url }}/instance/connectionState/{{ provider.instance }}"
      headers: { apikey: "{{ provider.instance_token }}" }
    checks:
      status: 200
      jsonpath:
        $.instance.instanceName: "{{ provider.instance }}"
        $.instance.state: open
  - name: another instance's built-in token does not
    http:
      url: "{{ provider.url }}/instance/connectionState/{{ provider.instance }}"
      headers: { apikey: "CLINICA-NORTE-TOKEN" }
    checks:
      status: 401
  - name: nor does the built-in NAME-TOKEN it replaces
    http:
      url: "{{ provider.url }}/instance/connectionState/{{ provider.instance }}"
      headers: { apikey: "MINHA-CLINICA-TOKEN" }
    checks:
      status: 401
"#;

#[test]
fn an_instance_token_given_with_the_instance_name_opens_it_on_a_sim_port_run() {
    let (dir, _) = scenario_dir("token.yaml", TOKEN_SCENARIO);
    let sim_port = free_port().to_string();
    let env = [
        ("HARNESS_EVOLUTION_API_KEY", "own-app-key"),
        (
            "HARNESS_EVOLUTION_INSTANCE",
            "minha-clinica:own-instance-token-77",
        ),
    ];
    let args = [
        "run",
        "token.yaml",
        "--sim-port",
        &sim_port,
        "--app-url",
        "http://127.0.0.1:9",
        "--json",
        "r.json",
    ];
    let out = run_in(dir.path(), &args, &env);
    assert_exit(&out, 0);
    let report = std::fs::read_to_string(dir.path().join("r.json")).unwrap();
    let all = format!("{}{}{report}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("minha-clinica"), "the name is not a secret");
    assert!(
        !all.contains("own-instance-token-77"),
        "the instance token is a secret"
    );
}

/// The first turn of both structure scenarios, up to the list's own matchers.
const ASK_FOR_SLOTS: &str = r#"
variables:
  customer: "{{ phone() }}"
steps:
  - name: ask
    inject: { from: "{{ customer }}", text: "Necesito una cita con cardiología para mañana" }
  - name: slots as a list
    await:
      text: "Horarios disponibles de cardiología"
      jsonpath:"#;

/// A structure scenario: [`ASK_FOR_SLOTS`] then `rest` (the list's matchers first).
fn structure(rest: &str) -> String {
    format!("name: app-structure{ASK_FOR_SLOTS}{rest}")
}

/// The reference app through the Meta simulator: slots as a list, a tap on a row by its id,
/// the confirmation with buttons, a tap on "Mis citas", a voice note downloaded and checked
/// (the reply says so), a location answered with the nearest site.
const META_STRUCTURE: &str = r#"
        $.payload.type: interactive
        $.payload.interactive.type: list
        $.payload.interactive.action.sections[0].rows[1].title: { matches: "^\\d\\d:\\d\\d$" }
    capture:
      row: { jsonpath: "$.payload.interactive.action.sections[0].rows[1].id" }
      doctor: { regex: "2\\. \\d\\d:\\d\\d con ([^\\n]+)" }
  - name: tap the second row
    inject: { from: "{{ customer }}", list_reply: { id: "{{ row }}", title: "x" } }
  - name: confirmation with buttons
    await:
      text: "✅ Cita confirmada"
      jsonpath:
        $.payload.interactive.type: button
        $.payload.interactive.action.buttons[0].reply.id: citas
    checks:
      body: { contains: "con {{ doctor }}" }
  - name: tap my appointments
    inject: { from: "{{ customer }}", button_reply: { id: citas, title: "Mis citas" } }
  - name: listed
    await: { text: "Sus citas:" }
  - name: a voice note
    http:
      method: POST
      url: "{{ provider.url }}/__harness/inbound"
      json: { from: "{{ customer }}", audio: { data_base64: "T2dnUwACAAAAAAAAAAA=", mime_type: "audio/ogg; codecs=opus" } }
    checks: { status: 200 }
  - name: downloaded, checked, asked to write
    await: { text: "🎤 Recibí su nota de voz, pero todavía no puedo escuchar audios" }
  - name: a location
    http:
      method: POST
      url: "{{ provider.url }}/__harness/inbound"
      json: { from: "{{ customer }}", location: { latitude: 4.6765, longitude: -74.0482 } }
    checks: { status: 200 }
  - name: nearest site
    await: { text: "📍 La sede más cercana es Sede Norte" }
"#;

/// Through the Evolution simulator: the list goes by `sendList`, with one row id per slot.
const EVOLUTION_STRUCTURE: &str = r#"
        $.payload.buttonText: "Ver horarios"
        $.payload.sections[0].rows[0].rowId: { matches: "^slot:\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d+$" }
  - name: choose by number
    inject: { from: "{{ customer }}", text: "1" }
  - name: confirmation with buttons
    await:
      text: "✅ Cita confirmada"
      jsonpath:
        $.payload.buttons[0].id: citas
        $.payload.buttons[1].id: { matches: "^cancelar:\\d+$" }
"#;

#[test]
fn the_reference_app_sends_lists_and_buttons_reads_taps_voice_notes_and_locations() {
    for (provider, rest) in [("meta", META_STRUCTURE), ("evolution", EVOLUTION_STRUCTURE)] {
        let (dir, _) = scenario_dir("s.yaml", &structure(rest));
        let out = run_in(dir.path(), &["run", "s.yaml", "--provider", provider], &[]);
        assert_exit(&out, 0);
    }
}

#[test]
fn a_plain_text_app_sends_the_text_of_its_lists_and_buttons() {
    let (sim_port, app_port) = (free_port(), free_port());
    let env = [("HARNESS_EVOLUTION_API_KEY", "plain-text-key")];
    let _app = start_app("evolution", sim_port, app_port, &["--plain-text"], &env);
    let scenario = structure(EVOLUTION_STRUCTURE).replace(
        "jsonpath:\n        $.payload.buttonText: \"Ver horarios\"",
        "jsonpath:\n        $.kind: text\n        $.payload.buttonText: { exists: false }",
    );
    let scenario = scenario.replace(
        "jsonpath:\n        $.payload.buttons[0].id: citas",
        "jsonpath:\n        $.kind: text\n        $.payload.text: { matches: \"^✅\" }",
    );
    let scenario = scenario.replace(
        "        $.payload.sections[0].rows[0].rowId: { matches: \"^slot:\\\\d{4}-\\\\d\\\\d-\\\\d\\\\dT\\\\d\\\\d:\\\\d\\\\d:\\\\d+$\" }\n",
        "",
    );
    let scenario = scenario.replace(
        "        $.payload.buttons[1].id: { matches: \"^cancelar:\\\\d+$\" }\n",
        "",
    );
    let (dir, _) = scenario_dir("s.yaml", &scenario);
    let args = [
        "run",
        "s.yaml",
        "--sim-port",
        &sim_port.to_string(),
        "--app-url",
        &format!("http://127.0.0.1:{app_port}"),
    ];
    let out = run_in(dir.path(), &args, &env);
    assert_exit(&out, 0);
    assert!(!scenario.contains("rowId"), "{scenario}");
}

/// Evolution refuses `sendList` (a 400, as for a number that cannot take lists): the app sends
/// the list's text at once and counts the fallback.
const REFUSED_LIST: &str = r#"
name: refused-list
variables:
  customer: "{{ phone() }}"
steps:
  - name: the provider refuses lists
    http:
      method: POST
      url: "{{ provider.url }}/__harness/faults"
      json:
        rules:
          - endpoint: "/message/sendList/{instance}"
            error: { rate: 1.0, status: 400, body: { status: 400, error: Bad Request, response: { message: ["lists are not supported"] } } }
    checks: { status: 200 }
  - name: ask
    inject: { from: "{{ customer }}", text: "Necesito una cita con cardiología para mañana" }
  - name: the slots come as text
    await:
      text: "Horarios disponibles de cardiología"
      jsonpath: { $.kind: text, $.payload.text: { contains: "1. " } }
  - name: counted
    http: { url: "{{ app.url }}/metrics" }
    checks: { body: { contains: "app_interactive_fallbacks_total 1\n" } }
"#;

/// Meta accepts the list, then says the phone cannot show it (status `failed`, 131026): the
/// app sends its text, and from then on plain text to that customer.
const UNDELIVERABLE_LIST: &str = r#"
name: undeliverable-list
variables:
  customer: "{{ phone() }}"
steps:
  - name: every message fails on the phone
    http:
      method: POST
      url: "{{ provider.url }}/__harness/faults"
      json: { rules: [ { failed_status: { rate: 1.0, code: 131026 } } ] }
    checks: { status: 200 }
  - name: ask
    inject: { from: "{{ customer }}", text: "Necesito una cita con cardiología para mañana" }
  - name: the failed list is sent again as text
    http: { url: "{{ app.url }}/metrics" }
    retry: { interval: 100ms, timeout: 10s }
    checks: { body: { contains: "app_interactive_fallbacks_total 1\n" } }
  - name: phones work again
    http: { method: DELETE, url: "{{ provider.url }}/__harness/faults" }
    checks: { status: 200 }
  - name: ask again
    inject: { from: "{{ customer }}", text: "cita con dermatología mañana" }
  - name: this customer now gets text
    await:
      text: "Horarios disponibles de dermatología"
      jsonpath: { $.payload.type: text }
"#;

#[test]
fn interactive_replies_fall_back_to_text_when_refused_or_undeliverable() {
    for (provider, scenario) in [("evolution", REFUSED_LIST), ("meta", UNDELIVERABLE_LIST)] {
        let (dir, _) = scenario_dir("s.yaml", scenario);
        let out = run_in(dir.path(), &["run", "s.yaml", "--provider", provider], &[]);
        assert_exit(&out, 0);
    }
}
