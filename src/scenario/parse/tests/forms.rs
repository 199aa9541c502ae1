//! Every form of the format parsed to the expected model value.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::{at, checks_of, ok, one_step};
use crate::scenario::model::*;
use crate::scenario::parse::{parse, parse_file, ParseFileError};

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
    let Action::Http(http) = &step.action else {
        panic!("an http step")
    };
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
    let Action::Http(raw) = &s.steps[1].action else {
        panic!("an http step")
    };
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
    assert_eq!(
        status("\"404\"")[0].predicate,
        Predicate::Equals(json!(404))
    );
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
    for (name, t) in crate::scenario::parse::check::TYPES.iter().copied() {
        let checks = checks_of(&format!(
            "    http: {{ url: u }}\n    checks: {{ body: {{ type: {name} }} }}\n"
        ));
        assert_eq!(checks[0].predicate, Predicate::Type(t));
    }
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

/// Every YAML example in `docs/scenario-format.md` is valid: complete files as they are,
/// fragments placed where they belong in a one-step scenario.
#[test]
fn every_example_in_the_format_spec_parses() {
    let doc = include_str!("../../../../docs/scenario-format.md");
    let blocks: Vec<&str> = doc
        .split("```yaml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect();
    assert!(blocks.len() >= 10, "found {} yaml blocks", blocks.len());
    let indent =
        |block: &str, by: &str| -> String { block.lines().map(|l| format!("{by}{l}\n")).collect() };
    let prefix = "name: t\nsteps:\n  - name: s\n";
    let http = "    http: { url: u }\n";
    for block in blocks {
        let first_key = block.split(':').next().unwrap_or_default();
        let src = match first_key {
            "name" => block.to_string(),
            "  - name" => format!("name: t\nsteps:\n{block}"),
            "data" => format!("name: t\n{block}"),

            "variables" | "thresholds" | "watch" => format!("{prefix}{http}{block}"),
            "http" => format!("{prefix}{}", indent(block, "    ")),
            "checks" | "capture" | "retry" => format!("{prefix}{http}{}", indent(block, "    ")),
            "jsonpath" => format!("{prefix}{http}    checks:\n{}", indent(block, "      ")),
            other => panic!("no rule to check a doc example starting with `{other}`"),
        };
        if let Err(d) = parse(Path::new("doc.yaml"), &src) {
            panic!("doc example fails:\n{block}\n{}", d.render(&src, false));
        }
    }
}
