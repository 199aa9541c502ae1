//! `inject` and `await`: every form, and their errors.

use std::time::Duration;

use super::*;

fn action(step: &str) -> Action {
    ok(&one_step(step)).steps.remove(0).action
}

#[test]
fn inject_a_customer_text() {
    let a = action(
        "    inject: { from: \"{{ customer }}\", name: Ana, text: Hola, tenant: clinica-norte }\n",
    );
    assert_eq!(
        a,
        Action::Inject(Inject::Customer(CustomerMessage {
            from: "{{ customer }}".into(),
            name: Some("Ana".into()),
            tenant: Some("clinica-norte".into()),
            content: Content::Text("Hola".into()),
            reply_to: None,
            group: None,
            lid: false,
            username: None,
            hide_phone: false,
        }))
    );
}

#[test]
fn inject_button_and_list_replies() {
    let Action::Inject(Inject::Customer(m)) =
        action("    inject: { from: \"1\", button_reply: { id: \"1\", title: \"09:00\" } }\n")
    else {
        panic!("a customer message")
    };
    assert_eq!(
        m.content,
        Content::ButtonReply {
            id: "1".into(),
            title: "09:00".into()
        }
    );
    let Action::Inject(Inject::Customer(m)) =
        action("    inject: { from: \"1\", list_reply: { id: r1, title: Cardio } }\n")
    else {
        panic!("a customer message")
    };
    assert_eq!(
        m.content,
        Content::ListReply {
            id: "r1".into(),
            title: "Cardio".into(),
            description: None,
        }
    );
}

fn customer(step: &str) -> CustomerMessage {
    match action(step) {
        Action::Inject(Inject::Customer(m)) => m,
        other => panic!("a customer message, not {other:?}"),
    }
}

#[test]
fn inject_every_inbound_type() {
    let m = customer("    inject: { from: \"1\", voice: {}, reply_to: \"{{ id }}\" }\n");
    assert_eq!(m.reply_to.as_deref(), Some("{{ id }}"));
    assert_eq!(
        m.content,
        Content::Media(InjectMedia {
            kind: "audio",
            voice: true,
            source: MediaSource::Generated,
            mime: None,
            caption: None,
            filename: None,
        })
    );
    let m = customer(
        "    inject: { from: \"1\", image: { bytes: aGk=, mime: image/png, caption: Receta } }\n",
    );
    let Content::Media(media) = m.content else {
        panic!("media")
    };
    assert_eq!(
        (media.kind, &media.source),
        ("image", &MediaSource::Bytes("aGk=".into()))
    );
    assert_eq!(media.caption.as_deref(), Some("Receta"));
    let m = customer("    inject: { from: \"1\", location: { latitude: -23.5, longitude: -46.6, name: Casa } }\n");
    assert_eq!(
        m.content,
        Content::Location {
            latitude: -23.5,
            longitude: -46.6,
            name: Some("Casa".into()),
            address: None
        }
    );
    let m =
        customer("    inject: { from: \"1\", contacts: [{ name: Ana, phone: \"+55 11 5\" }] }\n");
    assert_eq!(
        m.content,
        Content::Contacts(vec![("Ana".into(), "+55 11 5".into())])
    );
    let m = customer(
        "    inject: { from: \"1\", reaction: { emoji: \"👍\" }, group: g@g.us, lid: true }\n",
    );
    assert_eq!(
        m.content,
        Content::Reaction {
            emoji: "👍".into(),
            to_message: None
        }
    );
    assert_eq!((m.group.as_deref(), m.lid), (Some("g@g.us"), true));
    let m = customer("    inject: { from: \"1\", text: a, username: ana.b, hide_phone: true }\n");
    assert_eq!((m.username.as_deref(), m.hide_phone), (Some("ana.b"), true));
    let m = customer("    inject: { from: \"1\", flow_reply: { response: { ok: true } } }\n");
    assert!(matches!(m.content, Content::FlowReply { body: None, .. }));
    let m = customer("    inject: { from: \"1\", button: { payload: P, text: Sí } }\n");
    assert!(matches!(m.content, Content::TemplateButton { .. }));
}

#[test]
fn inject_content_errors() {
    assert_eq!(
        errors(&one_step(
            "    inject: { from: \"1\", image: { file: nope.png } }\n"
        )),
        ["4:41 (8) no file at nope.png [paths are relative to the scenario file]"]
    );
    assert_eq!(
        errors(&one_step(
            "    inject: { from: \"1\", audio: { bytes: x, generated: true } }\n"
        )),
        ["4:26 (5) `audio` has more than one source [one of `file`, `bytes` or `generated`]"]
    );
    assert_eq!(
        errors(&one_step(
            "    inject: { from: \"1\", location: { latitude: 91, longitude: x } }\n"
        )),
        [
            "4:48 (2) `latitude` must be between -90 and 90",
            "4:63 (1) expected a number for `longitude`, found a string"
        ]
    );
    assert_eq!(
        errors(&one_step("    inject: { from: \"1\", button_reply: { id: a, title: b, description: c } }\n")),
        ["4:59 (11) `description` is for `list_reply` [a reply button has only `id` and `title`]"]
    );
    assert_eq!(
        errors(&one_step("    inject: { from: \"1\", imagen: {} }\n")),
        [
            "4:5 (6) `inject` says nothing: no message content [add `text: \"…\"` (or `image`, `voice`, `location`, `button_reply`, …)]",
            "4:26 (6) unknown key `imagen` in `inject` [did you mean `image`?]"
        ]
    );
}

#[test]
fn inject_raw_payloads() {
    let a = action("    inject:\n      raw: { json: { event: x } }\n      signature: invalid\n      headers: { x-a: b }\n");
    assert_eq!(
        a,
        Action::Inject(Inject::Raw(RawWebhook {
            url: None,
            headers: vec![("x-a".into(), "b".into())],
            body: Body::Json(serde_json::json!({"event": "x"})),
            signature: Signature::Invalid,
        }))
    );
    let Action::Inject(Inject::Raw(r)) =
        action("    inject: { raw: { body: \"not json\" }, url: \"{{ app.url }}/hook\" }\n")
    else {
        panic!("a raw webhook")
    };
    assert_eq!(
        (r.body, r.url.as_deref(), r.signature),
        (
            Body::Raw("not json".into()),
            Some("{{ app.url }}/hook"),
            Signature::Valid
        )
    );
}

#[test]
fn await_with_matchers_defaults_and_silence() {
    let Action::Await(a) = action("    await:\n      to: \"{{ c }}\"\n      text: { contains: Horarios }\n      jsonpath: { $.kind: text }\n      timeout: 5s\n") else {
        panic!("an await")
    };
    assert_eq!(
        (a.to.as_deref(), a.timeout, a.expect_none),
        (Some("{{ c }}"), Duration::from_secs(5), false)
    );
    assert_eq!(a.matchers.len(), 2);
    assert_eq!(
        (&a.matchers[0].subject, &a.matchers[0].predicate),
        (&Subject::Body, &Predicate::Contains("Horarios".into()))
    );
    assert_eq!(a.matchers[1].subject, Subject::JsonPath("$.kind".into()));
    let Action::Await(a) = action("    await: { expect: none, timeout: 1s }\n") else {
        panic!("an await")
    };
    assert!(a.expect_none && a.to.is_none() && a.matchers.is_empty());
    let Action::Await(a) = action("    await: { text: Hola }\n") else {
        panic!("an await")
    };
    assert_eq!(a.timeout, Duration::from_secs(10), "default timeout");
    assert_eq!(
        a.matchers[0].predicate,
        Predicate::Contains("Hola".into()),
        "a plain string means contains"
    );
}

#[test]
fn inject_errors_are_all_reported() {
    assert_eq!(
        errors(&one_step("    inject: { name: Ana }\n")),
        [
            "4:5 (6) missing required key `from` in `inject`",
            "4:5 (6) `inject` says nothing: no message content [add `text: \"…\"` (or `image`, `voice`, `location`, `button_reply`, …)]",
        ]
    );
    assert_eq!(
        errors(&one_step(
            "    inject: { from: \"1\", text: a, list_reply: { id: x } }\n"
        )),
        ["4:35 (10) `text` and `list_reply` are mutually exclusive [a message has one content]"]
    );
    assert_eq!(
        errors(&one_step("    inject: { from: \"1\", raw: { body: x }, signature: bogus }\n")),
        ["4:15 (4) `from` does not go with `raw` [`raw` posts a payload as written: drop `from` or `raw`]", "4:55 (5) unknown signature `bogus` [use `valid`, `invalid` or `none`]"]
    );
    assert_eq!(
        errors(&one_step(
            "    inject: { from: \"1\", text: a, signatur: none }\n"
        )),
        ["4:35 (8) unknown key `signatur` in `inject` [did you mean `signature`?]"]
    );
}

#[test]
fn await_neutral_matchers() {
    let Action::Await(a) =
        action("    await: { kind: list, list: [\"09:00\", \"10:00\"], buttons: [Sí] }\n")
    else {
        panic!("an await")
    };
    let subjects: Vec<_> = a
        .matchers
        .iter()
        .map(|c| (&c.subject, &c.predicate))
        .collect();
    assert_eq!(
        subjects,
        [
            (
                &Subject::JsonPath("$.kind".into()),
                &Predicate::Equals(serde_json::json!("list"))
            ),
            (
                &Subject::JsonPath("$.buttons[*].title".into()),
                &Predicate::Equals(serde_json::json!("Sí"))
            ),
            (
                &Subject::JsonPath("$.list.sections[*].rows[*].title".into()),
                &Predicate::Equals(serde_json::json!(["09:00", "10:00"]))
            ),
        ]
    );
    assert_eq!(
        errors(&one_step("    await: { kind: lsit, buttons: Sí }\n")),
        [
            "4:20 (4) unknown message kind `lsit` [did you mean `list`?]",
            "4:35 (2) expected a list of titles for `buttons`, found a string [`buttons: [Reservar, Cancelar]`]"
        ]
    );
}

#[test]
fn await_errors() {
    assert_eq!(
        errors(&one_step("    await: { expect: never, timeout: 5 }\n")),
        [
            "4:22 (5) unknown expectation `never` [`expect: none` waits for silence; `message` (the default) for a reply]",
            "4:38 (1) `timeout` needs a unit [durations need a unit, e.g. `500ms`, `10s`, `1m`]",
        ]
    );
}
