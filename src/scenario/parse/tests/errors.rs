//! Errors: exact positions, messages, hints and rendered carets; every error reported.

use std::path::Path;

use super::{errors, one_step};
use crate::scenario::parse::parse;

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
            "3:1 (5) unknown key `bogus` in the scenario [expected one of `name`, `description`, `provider`, `variables`, `secrets`, `steps`, `thresholds`, `load`, `watch`, `data`, `dependencies`]",
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
            "20:18 (10) invalid threshold: unknown metric `p96`: expected one of p50, p90, p95, p99, max, mean, error_rate, count, rps, dropped_rate",
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
        ["3:5 (1) step has no action [add one of `http`, `inject`, `await`, `faults`]"]
    );
    assert_eq!(
        errors(&one_step("    http: { url: u }\n    inject: { text: hi }\n")),
        ["5:5 (6) step has several actions: `http` and `inject` [a step does one thing: split it into two steps]"]
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
            "8:13 (3) empty predicate object [add one of `equals`, `not_equals`, `one_of`, `exists`, `contains`, `not_contains`, `matches`, `not_matches`, `length`, `lt`, `le`, `gt`, `ge`, `type`]",
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

/// Found by the `scenario_parse` fuzz target: a flow sequence left open at the end of a file
/// without a final newline put the diagnostic on a line the file does not have.
#[test]
fn a_syntax_error_at_the_end_of_input_points_inside_the_file() {
    let text = "# slow tenant\nrules:\n  -  { date: \"{{ request.query.d`te }}\", slots: [\"09:00\",0/min\n  ";
    let lines = text.split('\n').count();
    let diagnostics = crate::scenario::parse(std::path::Path::new("f.yaml"), text).unwrap_err();
    for d in diagnostics.iter() {
        assert!(d.span.line >= 1 && d.span.line <= lines, "{d:?}");
        let chars = text
            .split('\n')
            .nth(d.span.line - 1)
            .unwrap()
            .chars()
            .count();
        assert!(d.span.col <= chars + 1, "{d:?}");
    }
}

#[test]
fn unquoted_templates_and_tabs_get_a_hint() {
    const QUOTE: &str = "[quote a value that starts with a template: `\"{{ name }}\"`]";
    assert_eq!(
        errors(&one_step("    http:\n      url: {{ base }}/x\n")),
        [format!("5:22 (1) invalid YAML: while parsing a block mapping, did not find expected key {QUOTE}")]
    );
    assert_eq!(
        errors(&one_step(
            "    http:\n      url: {{ base }}\n      json: { id: {{ id }} }\n"
        )),
        [
            format!("5:12 (10) expected a string for `url`, found a mapping {QUOTE}"),
            format!("6:20 (6) expected a plain key in a JSON object, found a mapping {QUOTE}"),
        ]
    );
    assert_eq!(
        errors("name: t\nsteps:\n\t- name: a\n"),
        ["3:2 (1) invalid YAML: tabs disallowed within this context (block indentation) [indent with spaces, not tabs]"]
    );
}

#[test]
fn rendered_carets_underline_the_offending_token() {
    let src = one_step(concat!(
        "    http: { url: u, method: FETCH }\n",
        "    checks:\n",
        "      jsonpath:\n",
        "        \"$.items[\": 1\n",
    ));
    let rendered = parse(Path::new("s.yaml"), &src)
        .unwrap_err()
        .render(&src, false);
    assert_eq!(
        rendered,
        r#"error: unknown HTTP method `FETCH`
 --> s.yaml:4:29
  |
4 |     http: { url: u, method: FETCH }
  |                             ^^^^^ expected one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS

error: invalid JSONPath `$.items[`: unexpected `[`
 --> s.yaml:7:17
  |
7 |         "$.items[": 1
  |                 ^ e.g. `$.instance.state` or `$.items[0].id`
"#
    );
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_keep_positions() {
    let src =
        "\u{feff}name: t\r\nsteps:\r\n  - name: a\r\n    http: { url: u }\r\n    chekcs: {}\r\n";
    let rendered = parse(Path::new("w.yaml"), src)
        .unwrap_err()
        .render(src, false);
    assert_eq!(
        rendered,
        "error: unknown key `chekcs` in step\n --> w.yaml:5:5\n  |\n5 |     chekcs: {}\n  |     ^^^^^^ did you mean `checks`?\n"
    );
    let non_ascii = "name: café ☕\nsteps:\n  - name: ñ\n    http: { url: u, método: GET }\n";
    assert_eq!(
        errors(non_ascii),
        ["4:21 (6) unknown key `método` in `http` [expected one of `method`, `url`, `headers`, `query`, `json`, `body`, `timeout`]"]
    );
}

#[test]
fn secrets_is_a_list_of_variable_names() {
    let steps = "steps:\n  - name: s\n    http: { url: \"http://x\" }\n";
    let s = super::ok(&format!("name: t\nsecrets: [CRM_LOGIN, session]\n{steps}"));
    assert_eq!(s.secrets, ["CRM_LOGIN", "session"]);
    assert_eq!(
        errors(&format!("name: t\nsecrets: [ok, \"not a name\"]\n{steps}")),
        ["2:15 (12) expected a variable name (letters, digits, `_`) [e.g. `secrets: [CRM_LOGIN, session]`]"]
    );
    assert_eq!(
        errors(&format!("name: t\nsecrets: CRM_LOGIN\n{steps}")),
        ["2:10 (9) expected a list of names for `secrets`, found a string [e.g. `secrets: [CRM_LOGIN, session]`]"]
    );
}
