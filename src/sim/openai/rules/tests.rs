use super::*;

const FILE: &str = r#"
rules:
  - name: booking
    match: { last_user: "(?i)turno (para el )?(?P<day>lunes|martes)", tool: extract_booking }
    reply:
      tool_call: { name: extract_booking, arguments: { intent: book, day: "{{ day }}" } }
  - name: clinic
    match: { system: "Clínica Sol", last_user: "(?i)hola" }
    reply: { text: "Hola, soy el asistente de Clínica Sol. Dijiste: {{ last_user }}" }
  - name: overloaded
    match: { model: "^gpt-overloaded$" }
    reply: { error: { status: 503, message: "overloaded", type: server_error } }
transcriptions:
  - match: { audio_contains: "TURNO-LUNES" }
    text: quiero un turno para el lunes
fallback: { text: "no entendí: {{ last_user }}" }
rate_limit: { requests: 3, window: 2s }
"#;

fn prompt<'a>(model: &'a str, system: &str, user: &str, tools: Vec<&'a str>) -> Prompt<'a> {
    Prompt {
        model,
        system: system.into(),
        last_user: user.into(),
        tools,
    }
}

#[test]
fn the_first_matching_rule_answers_with_its_captures() {
    let rules = Rules::parse(FILE).unwrap();
    let c = rules.choose(&prompt(
        "gpt-4",
        "",
        "Quiero un turno para el martes",
        vec!["extract_booking"],
    ));
    assert_eq!(c.rule.as_deref(), Some("booking"));
    let call = c.reply.tool_call.unwrap();
    let args = render_value(&call.arguments, &c.context);
    assert_eq!(args, json!({"intent": "book", "day": "martes"}));
    // Same words without the tool offered: not that rule, the fallback.
    let c = rules.choose(&prompt("gpt-4", "", "turno lunes", vec![]));
    assert_eq!(c.rule, None);
    assert_eq!(
        render(c.reply.text.as_ref().unwrap(), &c.context),
        "no entendí: turno lunes"
    );
}

#[test]
fn system_prompt_and_model_select_rules() {
    let rules = Rules::parse(FILE).unwrap();
    let c = rules.choose(&prompt(
        "gpt-4",
        "Eres el bot de Clínica Sol",
        "Hola!",
        vec![],
    ));
    assert_eq!(c.rule.as_deref(), Some("clinic"));
    assert_eq!(
        render(c.reply.text.as_ref().unwrap(), &c.context),
        "Hola, soy el asistente de Clínica Sol. Dijiste: Hola!"
    );
    let c = rules.choose(&prompt("gpt-overloaded", "", "x", vec![]));
    assert_eq!(c.reply.error.unwrap().status, 503);
    assert_eq!(rules.rate_limit.unwrap().window, Duration::from_secs(2));
}

#[test]
fn transcripts_are_chosen_by_rule_with_a_fallback() {
    let rules = Rules::parse(FILE).unwrap();
    assert_eq!(
        rules.transcribe("voice.ogg", "", b"OggS....TURNO-LUNES...."),
        "quiero un turno para el lunes"
    );
    assert_eq!(
        rules.transcribe("voice.ogg", "", b"OggS"),
        Fallback::default().transcript
    );
}

#[test]
fn bad_rules_are_clear_errors() {
    let e = Rules::parse("rules:\n  - reply: {text: a, json: {}}\n").unwrap_err();
    assert!(
        e.to_string().contains("rule 1: reply needs exactly one of"),
        "{e}"
    );
    let e =
        Rules::parse("rules:\n  - name: x\n    match: {last_user: '('}\n    reply: {text: a}\n")
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("x: match.last_user: invalid regular expression"),
        "{e}"
    );
    let e = Rules::parse("rulez: []\n").unwrap_err();
    assert!(e.to_string().contains("unknown field `rulez`"), "{e}");
    assert!(Rules::parse("").unwrap().rules.is_empty());
}

#[test]
fn skeleton_satisfies_the_schema_shape() {
    let schema = json!({
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": ["book", "cancel"]},
            "day": {"type": ["string", "null"]},
            "count": {"type": "integer"},
            "slots": {"type": "array", "items": {"type": "string"}},
            "ok": {"type": "boolean"},
            "nested": {"properties": {"x": {"type": "number"}}}
        }
    });
    assert_eq!(
        skeleton(&schema),
        json!({"intent": "book", "day": "", "count": 0, "slots": [], "ok": false, "nested": {"x": 0}})
    );
}
