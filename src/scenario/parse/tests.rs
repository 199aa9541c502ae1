//! Parser tests: model values for every form, exact positions and rendered carets for errors.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::scenario::model::*;

fn ok(src: &str) -> Scenario {
    parse(Path::new("t.yaml"), src).unwrap_or_else(|d| panic!("{}", d.render(src, false)))
}

/// Each diagnostic as `line:col (len) message [hint]`.
fn errors(src: &str) -> Vec<String> {
    let diagnostics = parse(Path::new("t.yaml"), src).expect_err("expected errors");
    diagnostics
        .iter()
        .map(|d| {
            let hint = d
                .hint
                .as_deref()
                .map(|h| format!(" [{h}]"))
                .unwrap_or_default();
            format!(
                "{}:{} ({}) {}{hint}",
                d.span.line, d.span.col, d.len, d.message
            )
        })
        .collect()
}

/// A one-step scenario whose step body is `step` (indented by the caller under `  - `).
fn one_step(step: &str) -> String {
    format!("name: t\nsteps:\n  - name: s\n{step}")
}

fn checks_of(step: &str) -> Vec<Check> {
    ok(&one_step(step)).steps.remove(0).checks
}

fn at(line: usize, col: usize) -> Span {
    Span { line, col }
}

const FULL: &str = r#"name: smoke
description: Evolution API v2 smoke checks (plan 000)
variables:
  instance: "smoke-{{ uuid() }}"
  attempts: 3
  ratio: 1.10
steps:
  - name: create instance
    http:
      method: post
      url: "{{ provider.url }}/instance/create"
      headers: { apikey: "{{ provider.api_key }}" }
      query: { number: 5511999 }
      json: { instanceName: "{{ instance }}", integration: WHATSAPP-BAILEYS, qrcode: true, n: 1.5 }
      timeout: 10s
    checks:
      status: 201
      headers:
        Content-Type: { contains: json }
      body: { contains: "Welcome" }
      jsonpath:
        $.instance.instanceName: "{{ instance }}"
        $.hash: { exists: true, type: string }
        $.qrcode.base64: { matches: "^data:image/png;base64," }
        $.items: { length: ">= 1" }
        $.count: { gt: 0 }
      duration: "< 5s"
    capture:
      token: { jsonpath: $.hash }
      location: { header: Location }
      code: { regex: "code=(\\d+)" }
    retry: { interval: 500ms, timeout: 10s }
    thresholds: ["p95 < 5s"]
  - name: raw body
    http:
      url: http://x/y
      body: "raw text"
thresholds:
  - "error_rate < 1%"
  - "e2e p95 < 500ms"
"#;

#[test]
fn full_example_parses_to_the_model() {
    let s = ok(FULL);
    assert_eq!(s.name, "smoke");
    assert_eq!(
        s.description.as_deref(),
        Some("Evolution API v2 smoke checks (plan 000)")
    );
    assert_eq!(s.path, Path::new("t.yaml"));
    assert_eq!(s.source, FULL);
    let vars: Vec<_> = s
        .variables
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str(), v.span))
        .collect();
    assert_eq!(
        vars,
        [
            ("instance", "smoke-{{ uuid() }}", at(4, 3)),
            ("attempts", "3", at(5, 3)),
            ("ratio", "1.10", at(6, 3)),
        ]
    );
    let step = &s.steps[0];
    assert_eq!(
        (step.name.as_str(), step.span),
        ("create instance", at(8, 5))
    );
    let Action::Http(http) = &step.action;
    assert_eq!(
        http,
        &HttpRequest {
            method: "POST".into(),
            url: "{{ provider.url }}/instance/create".into(),
            headers: vec![("apikey".into(), "{{ provider.api_key }}".into())],
            query: vec![("number".into(), "5511999".into())],
            body: Some(Body::Json(json!({
                "instanceName": "{{ instance }}", "integration": "WHATSAPP-BAILEYS",
                "qrcode": true, "n": 1.5
            }))),
            timeout: Some(Duration::from_secs(10)),
        }
    );
    let header = |n: &str| Subject::Header(n.into());
    let path = |p: &str| Subject::JsonPath(p.into());
    let expected = vec![
        (at(17, 7), Subject::Status, Predicate::Equals(json!(201))),
        (
            at(19, 25),
            header("content-type"),
            Predicate::Contains("json".into()),
        ),
        (
            at(20, 15),
            Subject::Body,
            Predicate::Contains("Welcome".into()),
        ),
        (
            at(22, 9),
            path("$.instance.instanceName"),
            Predicate::Equals(json!("{{ instance }}")),
        ),
        (at(23, 19), path("$.hash"), Predicate::Exists(true)),
        (
            at(23, 33),
            path("$.hash"),
            Predicate::Type(JsonType::String),
        ),
        (
            at(24, 28),
            path("$.qrcode.base64"),
            Predicate::Matches("^data:image/png;base64,".into()),
        ),
        (
            at(25, 20),
            path("$.items"),
            Predicate::Length(Comparison::Ge, 1.0),
        ),
        (
            at(26, 20),
            path("$.count"),
            Predicate::Compare(Comparison::Gt, 0.0),
        ),
        (
            at(27, 7),
            Subject::Duration,
            Predicate::Compare(Comparison::Lt, 5000.0),
        ),
    ];
    let got: Vec<_> = step
        .checks
        .iter()
        .map(|c| (c.span, c.subject.clone(), c.predicate.clone()))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        step.captures,
        vec![
            Capture {
                span: at(29, 7),
                variable: "token".into(),
                source: CaptureSource::JsonPath("$.hash".into())
            },
            Capture {
                span: at(30, 7),
                variable: "location".into(),
                source: CaptureSource::Header("location".into())
            },
            Capture {
                span: at(31, 7),
                variable: "code".into(),
                source: CaptureSource::Regex(r"code=(\d+)".into())
            },
        ]
    );
    assert_eq!(
        step.retry,
        Some(Retry {
            interval: Duration::from_millis(500),
            timeout: Duration::from_secs(10)
        })
    );
    assert_eq!(
        step.thresholds,
        vec![ThresholdSpec {
            span: at(33, 18),
            expr: "p95 < 5s".into(),
            series: Series::Latency,
            metric: Metric::P95,
            comparison: Comparison::Lt,
            value: 5000.0,
        }]
    );
    let Action::Http(raw) = &s.steps[1].action;
    assert_eq!(
        (raw.method.as_str(), &raw.body),
        ("GET", &Some(Body::Raw("raw text".into())))
    );
    assert!(s.steps[1].checks.is_empty() && s.steps[1].retry.is_none());
    let scenario_thresholds: Vec<_> = s
        .thresholds
        .iter()
        .map(|t| (t.span, t.series, t.metric, t.value))
        .collect();
    assert_eq!(
        scenario_thresholds,
        [
            (at(39, 5), Series::Latency, Metric::ErrorRate, 0.01),
            (at(40, 5), Series::E2e, Metric::P95, 500.0)
        ]
    );
}

#[test]
fn status_forms() {
    let status = |v: &str| {
        checks_of(&format!(
            "    http: {{ url: u }}\n    checks: {{ status: {v} }}\n"
        ))
    };
    assert_eq!(status("204")[0].predicate, Predicate::Equals(json!(204)));
    assert_eq!(
        status("[200, 201]")[0].predicate,
        Predicate::OneOf(vec![json!(200), json!(201)])
    );
    assert_eq!(status("2xx")[0].predicate, Predicate::StatusClass(2));
    assert_eq!(status("5XX")[0].predicate, Predicate::StatusClass(5));
    let object = status("{ one_of: [200, 202], not_equals: 201, lt: 300 }");
    let predicates: Vec<_> = object.into_iter().map(|c| c.predicate).collect();
    assert_eq!(
        predicates,
        [
            Predicate::OneOf(vec![json!(200), json!(202)]),
            Predicate::NotEquals(json!(201)),
            Predicate::Compare(Comparison::Lt, 300.0),
        ]
    );
}

#[test]
fn predicate_forms() {
    let checks = checks_of(concat!(
        "    http: { url: u }\n",
        "    checks:\n",
        "      jsonpath:\n",
        "        $.a: { equals: { x: [1, null] }, le: 2.5, ge: -1, lt: 3 }\n",
        "        $.b: { exists: false, contains: 12, length: 3 }\n",
        "        $.c: { type: integer, length: \"< 4\" }\n",
        "        $.d: [1, two]\n",
        "        $.e: ~\n",
        "      headers: { x-count: 12 }\n",
        "      body: { matches: \"^OK\", not_equals: \"\" }\n",
    ));
    let got: Vec<_> = checks
        .into_iter()
        .map(|c| (c.subject, c.predicate))
        .collect();
    let path = |p: &str| Subject::JsonPath(p.into());
    assert_eq!(
        got,
        [
            (path("$.a"), Predicate::Equals(json!({ "x": [1, null] }))),
            (path("$.a"), Predicate::Compare(Comparison::Le, 2.5)),
            (path("$.a"), Predicate::Compare(Comparison::Ge, -1.0)),
            (path("$.a"), Predicate::Compare(Comparison::Lt, 3.0)),
            (path("$.b"), Predicate::Exists(false)),
            (path("$.b"), Predicate::Contains("12".into())),
            (path("$.b"), Predicate::Length(Comparison::Eq, 3.0)),
            (path("$.c"), Predicate::Type(JsonType::Integer)),
            (path("$.c"), Predicate::Length(Comparison::Lt, 4.0)),
            (path("$.d"), Predicate::Equals(json!([1, "two"]))),
            (path("$.e"), Predicate::Equals(json!(null))),
            (
                Subject::Header("x-count".into()),
                Predicate::Equals(json!("12"))
            ),
            (Subject::Body, Predicate::Matches("^OK".into())),
            (Subject::Body, Predicate::NotEquals(json!(""))),
        ]
    );
}

#[test]
fn every_type_name_is_known() {
    for (name, t) in super::check::TYPES.iter().copied() {
        let checks = checks_of(&format!(
            "    http: {{ url: u }}\n    checks: {{ body: {{ type: {name} }} }}\n"
        ));
        assert_eq!(checks[0].predicate, Predicate::Type(t));
    }
}

#[test]
fn unknown_key_with_suggestion_renders_like_rustc() {
    let src = "name: smoke\nsteps:\n  - name: one\n    http: { url: \"http://x\" }\n    chekcs:\n      status: 200\n";
    let diagnostics = parse(Path::new("scenarios/smoke.yaml"), src).unwrap_err();
    assert_eq!(
        diagnostics.render(src, false),
        "error: unknown key `chekcs` in step
 --> scenarios/smoke.yaml:5:5
  |
5 |     chekcs:
  |     ^^^^^^ did you mean `checks`?
"
    );
}

#[test]
fn unknown_key_without_suggestion_lists_the_allowed_keys() {
    assert_eq!(
        errors("name: t\nsteps: []\nbogus: 1\n"),
        [
            "2:1 (5) `steps` must not be empty [add at least one step with a `name` and an `http` action]",
            "3:1 (5) unknown key `bogus` in the scenario [expected one of `name`, `description`, `variables`, `steps`, `thresholds`]",
        ]
    );
    assert_eq!(
        errors(&one_step("    http: { url: u, verb: GET }\n")),
        ["4:21 (4) unknown key `verb` in `http` [expected one of `method`, `url`, `headers`, `query`, `json`, `body`, `timeout`]"]
    );
}

#[test]
fn every_error_in_the_file_is_reported_in_source_order() {
    let src = r#"name: errors
descripton: typo
variables:
  1st: x
steps:
  - name: a
    http:
      method: FETCH
      url: http://x
      timeout: 10
    checks:
      status: 700
      jsonpath:
        $.a[: 1
      body: { matches: "(" }
      duration: "5s"
    capture:
      bad-name: { jsonpath: $.x }
    retry: { interval: 1s }
    thresholds: ["p96 < 5s"]
  - name: a
    http: { url: u }
  - http: { url: u, json: {}, body: x }
thresholds:
  - error_rate < 2
"#;
    assert_eq!(
        errors(src),
        [
            "2:1 (10) unknown key `descripton` in the scenario [did you mean `description`?]",
            "4:3 (3) invalid variable name `1st` [names are letters, digits and `_`, and do not start with a digit]",
            "8:15 (5) unknown HTTP method `FETCH` [expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS]",
            "10:16 (2) `timeout` needs a unit [durations need a unit, e.g. `500ms`, `10s`, `1m`]",
            "12:15 (3) expected an HTTP status code (100 to 599), found `700`",
            "14:12 (1) invalid JSONPath `$.a[`: unexpected `[` [e.g. `$.instance.state` or `$.items[0].id`]",
            "15:24 (3) invalid regular expression: unclosed group",
            "16:17 (4) expected a comparison operator (`<`, `<=`, `>`, `>=`), found `5s` [e.g. `duration: \"< 5s\"`]",
            "18:7 (8) invalid variable name `bad-name` [names are letters, digits and `_`, and do not start with a digit]",
            "19:5 (5) missing required key `timeout` in `retry`",
            "20:18 (10) invalid threshold: unknown metric `p96`: expected one of p50, p90, p95, p99, max, mean, error_rate, count, rps",
            "21:11 (1) duplicate step name `a` [step names must be unique; `a` is first used at line 6]",
            "23:5 (1) missing required key `name` in step",
            "23:31 (4) `json` and `body` are mutually exclusive [`json` sends a JSON document, `body` raw text: keep one]",
            "25:5 (14) invalid threshold: `error_rate` must be between 0% and 100% (or a ratio between 0 and 1), found `2`",
        ]
    );
}

#[test]
fn yaml_syntax_errors_point_at_the_marker() {
    let src = "name: t\nsteps:\n  - name: a\n     http: x\n";
    assert_eq!(
        errors(src),
        ["4:10 (1) invalid YAML: mapping values are not allowed in this context"]
    );
    assert_eq!(
        errors("a: 1\na: 2\n"),
        ["2:1 (1) invalid YAML: duplicated key in mapping"]
    );
    let diagnostics = parse(Path::new("s.yaml"), "a: [1, 2\nb: 3\n").unwrap_err();
    assert_eq!(diagnostics.len(), 1);
    assert!(diagnostics
        .render("a: [1, 2\nb: 3\n", false)
        .contains(" --> s.yaml:2:2\n"));
}

#[test]
fn document_shape_errors() {
    assert_eq!(
        errors(""),
        ["1:1 (1) the file is empty [a scenario needs at least `name` and `steps`]"]
    );
    assert_eq!(
        errors("- a\n- b\n"),
        ["1:1 (1) expected a mapping for the scenario, found a list"]
    );
    assert_eq!(
        errors("name: t\n"),
        ["1:1 (1) missing required key `steps` in the scenario"]
    );
    assert_eq!(
        errors("name: t\nsteps:\n  - name: a\n    http: { url: u }\n---\nname: u\n"),
        ["6:1 (1) a scenario file holds one YAML document; found a second one [remove the `---` separator or split the file]"]
    );
    assert_eq!(
        errors("name: [x]\nsteps: {}\n"),
        [
            "1:7 (3) expected a string for `name`, found a list",
            "2:8 (2) expected a list of steps for `steps`, found a mapping",
        ]
    );
}

#[test]
fn actions_exactly_one_per_step() {
    assert_eq!(
        errors(&one_step("    checks: { status: 200 }\n")),
        ["3:5 (1) step has no action [add one of `http`, `inject`, `await`]"]
    );
    assert_eq!(
        errors(&one_step("    http: { url: u }\n    inject: { text: hi }\n")),
        ["5:5 (6) step has several actions: `http` and `inject` [a step does one thing: split it into two steps]"]
    );
    assert_eq!(
        errors(&one_step("    await: { text: hi }\n")),
        ["4:5 (5) `await` steps are not supported yet [they come with the end-to-end feature]"]
    );
}

#[test]
fn http_errors() {
    assert_eq!(
        errors(&one_step("    http:\n      method: POTS\n      url:\n      headers: { \"bad name\": x }\n      query: [a]\n")),
        [
            "5:15 (4) unknown HTTP method `POTS` [did you mean `POST`?]",
            "6:7 (3) expected a string for `url`, found nothing (null)",
            "7:18 (10) invalid header name `bad name` [header names are letters, digits and `-`]",
            "8:14 (3) expected a mapping for `query`, found a list",
        ]
    );
    assert_eq!(
        errors(&one_step(
            "    http: { url: u, timeout: 0s }\n    retry: { interval: 2s, timeout: 1s }\n"
        )),
        [
            "4:30 (2) `timeout` must be longer than zero",
            "5:24 (2) `interval` is longer than `timeout`: the step would be tried once",
        ]
    );
}

#[test]
fn retry_interval_defaults_to_one_second_or_the_timeout() {
    let retry = |r: &str| {
        ok(&one_step(&format!(
            "    http: {{ url: u }}\n    retry: {r}\n"
        )))
        .steps[0]
            .retry
            .clone()
    };
    assert_eq!(
        retry("{ timeout: 30s }"),
        Some(Retry {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(30)
        })
    );
    assert_eq!(
        retry("{ timeout: 300ms }"),
        Some(Retry {
            interval: Duration::from_millis(300),
            timeout: Duration::from_millis(300)
        })
    );
}

#[test]
fn check_and_capture_errors() {
    let src = one_step(concat!(
        "    http: { url: u }\n",
        "    checks:\n",
        "      status: \"20x\"\n",
        "      headers: { etag: }\n",
        "      body: { }\n",
        "      jsonpath:\n",
        "        $.a: { exists: yes, one_of: [], type: text, length: \"~ 3\", gt: x }\n",
        "        \"$.b[\": 1\n",
        "    capture:\n",
        "      a: $.x\n",
        "      b: {}\n",
        "      c: { jsonpath: $.x, header: h }\n",
        "      d: { regex: \"[\" }\n",
    ));
    assert_eq!(
        errors(&src),
        [
            "6:15 (5) invalid status `20x`: expected a code or a class like `2xx` [e.g. `status: 201`, `status: [200, 201]` or `status: 2xx`]",
            "7:18 (4) expected a value or a predicate object for header `etag`, found nothing (null) [e.g. `{ contains: json }`, or `{ exists: true }`]",
            "8:13 (3) empty predicate object [add one of `equals`, `not_equals`, `one_of`, `exists`, `contains`, `matches`, `length`, `lt`, `le`, `gt`, `ge`, `type`]",
            "10:24 (3) expected `true` or `false` for `exists`, found a string",
            "10:37 (2) expected a non-empty list for `one_of`, found a list",
            "10:47 (4) unknown type `text` [expected one of `string`, `number`, `integer`, `boolean`, `array`, `object`, `null`]",
            "10:61 (5) expected a comparison operator (`<`, `<=`, `>`, `>=`), found `~ 3` [e.g. `length: 3` or `length: \">= 1\"`]",
            "10:72 (1) expected a number for `gt`, found a string",
            "11:13 (1) invalid JSONPath `$.b[`: unexpected `[` [e.g. `$.instance.state` or `$.items[0].id`]",
            "13:10 (3) expected a mapping for capture `a`, found a string [write `a: { jsonpath: $.x }` (or `header:`, `regex:`)]",
            "14:7 (1) capture `b` has no source [add one of `jsonpath`, `header`, `regex`]",
            "15:27 (6) capture `c` has several sources [a capture reads one thing: keep one source]",
            "16:19 (3) invalid regular expression: unclosed character class",
        ]
    );
}

#[test]
fn thresholds_must_be_a_list_of_strings() {
    assert_eq!(
        errors("name: t\nsteps:\n  - name: a\n    http: { url: u }\nthresholds: \"p95 < 1s\"\n"),
        ["5:13 (10) expected a list for `thresholds`, found a string [e.g. `thresholds: [\"p95 < 500ms\", \"error_rate < 1%\"]`]"]
    );
    assert_eq!(
        errors("name: t\nsteps:\n  - name: a\n    http: { url: u }\n    thresholds: [5]\n"),
        ["5:18 (1) expected a threshold expression (a string), found an integer"]
    );
}

#[test]
fn parse_file_reads_or_names_the_unreadable_path() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, FULL).unwrap();
    let scenario = parse_file(&good).unwrap();
    assert_eq!((scenario.path, scenario.steps.len()), (good, 2));

    let missing = dir.path().join("missing.yaml");
    let err = parse_file(&missing).unwrap_err();
    assert!(matches!(err, ParseFileError::Read { .. }));
    assert!(err.to_string().starts_with(&format!(
        "cannot read scenario file `{}`: ",
        missing.display()
    )));
    assert!(err
        .render(false)
        .contains(&format!(" --> {}\n", missing.display())));

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: t\nstep: []\n").unwrap();
    let err = parse_file(&bad).unwrap_err();
    let rendered = err.render(false);
    assert!(
        rendered.contains("error: unknown key `step` in the scenario\n"),
        "{rendered}"
    );
    assert!(
        rendered.contains("2 | step: []\n  | ^^^^ did you mean `steps`?\n"),
        "{rendered}"
    );
    assert!(err.to_string().contains("bad.yaml:2:1: unknown key `step`"));
}
