//! Judging checks and taking captures on a response. Pure functions over plain data.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::http::Response;
use super::template::{TemplateError, Templater, Vars};
use crate::scenario::threshold::symbol;
use crate::scenario::{CaptureSource, Check, Comparison, JsonType, Predicate, Span, Subject};

/// The verdict on one check: data in the results.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// e.g. `status equals 201`, `jsonpath $.hash exists`.
    pub name: String,
    pub span: Span,
    pub passed: bool,
    /// What was expected, in words (`equals 201`).
    pub expected: String,
    /// What was observed (`401`, `no value`), truncated.
    pub observed: String,
}

impl CheckResult {
    /// One line for terminals and reports.
    pub fn message(&self) -> String {
        if self.passed {
            format!("{}: ok", self.name)
        } else {
            format!(
                "{}: expected {}, got {}",
                self.name, self.expected, self.observed
            )
        }
    }
}

/// What a check or capture reads from: the response and the step's duration.
pub struct Observation<'a> {
    pub response: &'a Response,
    pub duration_ms: f64,
    json: std::cell::OnceCell<Option<Value>>,
}

impl<'a> Observation<'a> {
    pub fn new(response: &'a Response, duration_ms: f64) -> Self {
        Self {
            response,
            duration_ms,
            json: std::cell::OnceCell::new(),
        }
    }

    /// An observation whose JSONPath subject is `json` rather than the body (an awaited
    /// message: the body is its text, JSONPath queries the whole message).
    pub fn with_json(response: &'a Response, duration_ms: f64, json: Value) -> Self {
        let obs = Self::new(response, duration_ms);
        let _ = obs.json.set(Some(json));
        obs
    }

    /// The JSON subject, if a check already read it (parsed once, then handed on).
    pub fn into_json(self) -> Option<Value> {
        self.json.into_inner().flatten()
    }

    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(&self.response.body).ok())
            .as_ref()
    }

    /// The subject's value; `Ok(None)` when it has none, `Err` when it cannot be read.
    fn value(&self, subject: &Subject) -> Result<Option<Value>, String> {
        Ok(match subject {
            Subject::Status => Some(Value::from(self.response.status)),
            Subject::Header(name) => self.response.header(name).map(Value::String),
            Subject::Body => Some(Value::String(self.response.text())),
            Subject::Duration => Some(Value::from(self.duration_ms)),
            Subject::JsonPath(path) => {
                let json = self
                    .json()
                    .ok_or_else(|| "a body that is not JSON".to_string())?;
                query(path, json)?
            }
        })
    }
}

type Cache<T> = std::thread::LocalKey<RefCell<HashMap<String, T>>>;

thread_local! {
    static PATHS: RefCell<HashMap<String, Arc<JsonPath>>> = RefCell::default();
    static REGEXES: RefCell<HashMap<String, regex::Regex>> = RefCell::default();
}

/// Most entries a per-thread cache keeps (a templated pattern may vary per iteration).
const CACHE_LIMIT: usize = 256;

/// `key` compiled by `compile`, once per thread: a scenario's JSONPaths and regexes are
/// compiled on their first use, not for each request. Errors are not kept.
fn compiled<T: Clone>(
    cache: &'static Cache<T>,
    key: &str,
    compile: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    if let Some(hit) = cache.with_borrow(|c| c.get(key).cloned()) {
        return Ok(hit);
    }
    let value = compile(key)?;
    cache.with_borrow_mut(|c| {
        if c.len() >= CACHE_LIMIT {
            c.clear();
        }
        c.insert(key.to_string(), value.clone());
    });
    Ok(value)
}

fn regex(pattern: &str) -> Result<regex::Regex, String> {
    compiled(&REGEXES, pattern, |p| {
        regex::Regex::new(p).map_err(|e| format!("invalid regex: {e}"))
    })
}

/// Runs a JSONPath: no match → `None`, one → that node, several → an array of them.
fn query(path: &str, json: &Value) -> Result<Option<Value>, String> {
    let path = compiled(&PATHS, path, |p| {
        JsonPath::parse(p)
            .map(Arc::new)
            .map_err(|e| format!("invalid JSONPath `{p}`: {e}"))
    })?;
    let nodes = path.query(json).all();
    Ok(match nodes.len() {
        0 => None,
        1 => Some(nodes[0].clone()),
        _ => Some(Value::Array(nodes.into_iter().cloned().collect())),
    })
}

/// Judges `check` against `obs`; templates in expected values are rendered with `vars`.
pub fn evaluate(
    check: &Check,
    obs: &Observation<'_>,
    templater: &Templater,
    vars: &Vars,
) -> CheckResult {
    let name = describe(check);
    let verdict = render_predicate(&check.predicate, templater, vars)
        .map_err(|e| e.message)
        .and_then(|predicate| {
            let actual = obs.value(&check.subject)?;
            Ok((
                judge(&predicate, actual.as_ref()),
                predicate_name(&predicate),
                actual,
            ))
        });
    match verdict {
        Ok((passed, expected, actual)) => CheckResult {
            name,
            span: check.span,
            passed,
            expected,
            observed: actual
                .as_ref()
                .map_or_else(|| "no value".to_string(), |v| truncate(&text(v), 200)),
        },
        Err(observed) => CheckResult {
            name,
            span: check.span,
            passed: false,
            expected: predicate_name(&check.predicate),
            observed,
        },
    }
}

fn render_predicate(p: &Predicate, t: &Templater, vars: &Vars) -> Result<Predicate, TemplateError> {
    Ok(match p {
        Predicate::Equals(v) => Predicate::Equals(t.render_json(v, vars)?),
        Predicate::NotEquals(v) => Predicate::NotEquals(t.render_json(v, vars)?),
        Predicate::OneOf(vs) => Predicate::OneOf(
            vs.iter()
                .map(|v| t.render_json(v, vars))
                .collect::<Result<_, _>>()?,
        ),
        Predicate::Contains(s) => Predicate::Contains(t.render(s, vars)?),
        Predicate::NotContains(s) => Predicate::NotContains(t.render(s, vars)?),
        other => other.clone(),
    })
}

/// The pure rule: does `actual` satisfy `predicate`?
pub fn judge(predicate: &Predicate, actual: Option<&Value>) -> bool {
    let Some(actual) = actual else {
        return matches!(
            predicate,
            Predicate::Exists(false)
                | Predicate::NotEquals(_)
                | Predicate::NotContains(_)
                | Predicate::NotMatches(_)
        );
    };
    match predicate {
        Predicate::Exists(expected) => *expected,
        Predicate::Equals(expected) => loosely_equal(actual, expected),
        Predicate::NotEquals(expected) => !loosely_equal(actual, expected),
        Predicate::OneOf(options) => options.iter().any(|o| loosely_equal(actual, o)),
        Predicate::Contains(needle) => match actual {
            Value::Array(items) => items.iter().any(|i| text(i) == *needle),
            other => text(other).contains(needle.as_str()),
        },
        Predicate::NotContains(needle) => {
            !judge(&Predicate::Contains(needle.clone()), Some(actual))
        }
        Predicate::Matches(pattern) => regex(pattern).is_ok_and(|re| re.is_match(&text(actual))),
        Predicate::NotMatches(pattern) => {
            regex(pattern).is_ok_and(|re| !re.is_match(&text(actual)))
        }
        Predicate::Length(cmp, n) => {
            length(actual).is_some_and(|len| compare(*cmp, len as f64, *n))
        }
        Predicate::Compare(cmp, n) => number(actual).is_some_and(|x| compare(*cmp, x, *n)),
        Predicate::Type(t) => type_of(actual, *t),
        Predicate::StatusClass(class) => number(actual).is_some_and(|x| (x as u16) / 100 == *class),
    }
}

/// JSON equality, plus: numbers compare by value (`201` = `201.0`), and a string equals a
/// number or boolean written the same way (headers and regex captures are always text).
fn loosely_equal(actual: &Value, expected: &Value) -> bool {
    if actual == expected {
        return true;
    }
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::Number(_) | Value::Bool(_)) => {
            a.as_str() == expected.to_string().as_str()
        }
        (Value::Number(_) | Value::Bool(_), Value::String(b)) => {
            actual.to_string().as_str() == b.as_str()
        }
        _ => false,
    }
}

pub fn compare(cmp: Comparison, left: f64, right: f64) -> bool {
    match cmp {
        Comparison::Lt => left < right,
        Comparison::Le => left <= right,
        Comparison::Gt => left > right,
        Comparison::Ge => left >= right,
        Comparison::Eq => left == right,
    }
}

fn length(v: &Value) -> Option<usize> {
    match v {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn type_of(v: &Value, t: JsonType) -> bool {
    match t {
        JsonType::String => v.is_string(),
        JsonType::Number => v.is_number(),
        JsonType::Integer => v.is_i64() || v.is_u64(),
        JsonType::Boolean => v.is_boolean(),
        JsonType::Array => v.is_array(),
        JsonType::Object => v.is_object(),
        JsonType::Null => v.is_null(),
    }
}

/// A value as text: strings raw, everything else as compact JSON.
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}… ({} more bytes)", &s[..i], s.len() - i),
        None => s.to_string(),
    }
}

/// A check in words: `status equals 201`, `jsonpath $.hash exists`.
pub fn describe(check: &Check) -> String {
    format!(
        "{} {}",
        subject_name(&check.subject),
        predicate_name(&check.predicate)
    )
}

fn subject_name(s: &Subject) -> String {
    match s {
        Subject::Status => "status".into(),
        Subject::Header(h) => format!("header {h}"),
        Subject::Body => "body".into(),
        Subject::JsonPath(p) => format!("jsonpath {p}"),
        Subject::Duration => "duration".into(),
    }
}

fn predicate_name(p: &Predicate) -> String {
    match p {
        Predicate::Equals(v) => format!("equals {}", truncate(&text(v), 80)),
        Predicate::NotEquals(v) => format!("not equals {}", truncate(&text(v), 80)),
        Predicate::OneOf(vs) => format!(
            "one of [{}]",
            vs.iter().map(text).collect::<Vec<_>>().join(", ")
        ),
        Predicate::Exists(true) => "exists".into(),
        Predicate::Exists(false) => "does not exist".into(),
        Predicate::Contains(s) => format!("contains {s:?}"),
        Predicate::Matches(re) => format!("matches /{re}/"),
        Predicate::NotContains(s) => format!("does not contain {s:?}"),
        Predicate::NotMatches(re) => format!("does not match /{re}/"),
        Predicate::Length(c, n) => format!("length {} {n}", symbol(*c)),
        Predicate::Compare(c, n) => format!("{} {n}", symbol(*c)),
        Predicate::Type(t) => format!("is {}", format!("{t:?}").to_lowercase()),
        Predicate::StatusClass(c) => format!("is {c}xx"),
    }
}

/// Takes a capture's value from the observation; `Err` says why nothing was captured.
pub fn capture(source: &CaptureSource, obs: &Observation<'_>) -> Result<Value, String> {
    match source {
        CaptureSource::JsonPath(path) => {
            let json = obs.json().ok_or("the body is not JSON")?;
            query(path, json)?.ok_or_else(|| format!("{path} matched nothing"))
        }
        CaptureSource::Header(name) => obs
            .response
            .header(name)
            .map(Value::String)
            .ok_or_else(|| format!("no `{name}` header")),
        CaptureSource::Regex(pattern) => {
            let re = regex(pattern)?;
            let body = obs.response.text();
            let caps = re
                .captures(&body)
                .ok_or_else(|| format!("/{pattern}/ did not match the body"))?;
            let m = caps
                .get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default();
            Ok(Value::String(m))
        }
    }
}

/// How many checks (captures included) passed and failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckCounts {
    pub passed: u64,
    pub failed: u64,
}

impl CheckCounts {
    pub fn of(checks: &[CheckResult]) -> Self {
        let failed = checks.iter().filter(|c| !c.passed).count() as u64;
        CheckCounts {
            passed: checks.len() as u64 - failed,
            failed,
        }
    }

    pub fn add(&mut self, other: CheckCounts) {
        self.passed += other.passed;
        self.failed += other.failed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::Redactor;
    use bytes::Bytes;
    use serde_json::json;
    use std::sync::Arc;

    fn response() -> Response {
        Response {
            status: 201,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: Bytes::from(
                json!({"instance": {"instanceName": "foo", "status": "close"}, "hash": "ABC-123",
                       "qrcode": {"base64": "data:image/png;base64,iVBOR", "count": 1},
                       "items": [1, 2, 3], "s": "42"})
                .to_string(),
            ),
        }
    }

    fn run(subject: Subject, predicate: Predicate) -> CheckResult {
        let t = Templater::new(Arc::new(|_| None), Redactor::new());
        let mut vars = Vars::default();
        vars.set("name", json!("foo"));
        let r = response();
        let obs = Observation::new(&r, 12.5);
        evaluate(
            &Check {
                span: Span { line: 1, col: 1 },
                subject,
                predicate,
            },
            &obs,
            &t,
            &vars,
        )
    }

    #[test]
    fn status_checks() {
        assert!(run(Subject::Status, Predicate::Equals(json!(201))).passed);
        assert!(
            run(
                Subject::Status,
                Predicate::OneOf(vec![json!(200), json!(201)])
            )
            .passed
        );
        assert!(run(Subject::Status, Predicate::StatusClass(2)).passed);
        let bad = run(Subject::Status, Predicate::Equals(json!(200)));
        assert!(!bad.passed);
        assert_eq!(
            bad.message(),
            "status equals 200: expected equals 200, got 201"
        );
    }

    #[test]
    fn header_and_body_checks() {
        assert!(
            run(
                Subject::Header("content-type".into()),
                Predicate::Contains("json".into())
            )
            .passed
        );
        assert!(!run(Subject::Header("x-missing".into()), Predicate::Exists(true)).passed);
        assert!(
            run(
                Subject::Header("x-missing".into()),
                Predicate::Exists(false)
            )
            .passed
        );
        assert!(run(Subject::Body, Predicate::Contains("ABC-123".into())).passed);
        assert!(run(Subject::Body, Predicate::Matches(r#""count":\s*1"#.into())).passed);
        assert!(!run(Subject::Body, Predicate::NotContains("ABC-123".into())).passed);
        assert!(run(Subject::Body, Predicate::NotContains("5511".into())).passed);
        assert!(run(Subject::Body, Predicate::NotMatches(r"\d{10}".into())).passed);
        assert!(!run(Subject::Body, Predicate::NotMatches("ABC".into())).passed);
        let absent = || Subject::Header("x-missing".into());
        assert!(run(absent(), Predicate::NotContains("a".into())).passed);
    }

    #[test]
    fn jsonpath_checks_of_every_kind() {
        let jp = |p: &str| Subject::JsonPath(p.into());
        assert!(
            run(
                jp("$.instance.instanceName"),
                Predicate::Equals(json!("{{ name }}"))
            )
            .passed
        );
        assert!(
            run(
                jp("$.instance.status"),
                Predicate::Matches("^(close|connecting|open)$".into())
            )
            .passed
        );
        assert!(run(jp("$.hash"), Predicate::Type(JsonType::String)).passed);
        assert!(!run(jp("$.hash"), Predicate::Type(JsonType::Number)).passed);
        assert!(run(jp("$.items"), Predicate::Length(Comparison::Eq, 3.0)).passed);
        assert!(run(jp("$.items[*]"), Predicate::Length(Comparison::Ge, 3.0)).passed);
        assert!(
            run(
                jp("$.qrcode.count"),
                Predicate::Compare(Comparison::Gt, 0.0)
            )
            .passed
        );
        assert!(
            run(jp("$.s"), Predicate::Equals(json!(42))).passed,
            "string equals number written alike"
        );
        assert!(run(jp("$.nope"), Predicate::Exists(false)).passed);
        assert!(run(jp("$.items"), Predicate::Contains("2".into())).passed);
        assert!(run(jp("$.hash"), Predicate::NotEquals(json!("x"))).passed);
        let missing = run(jp("$.nope"), Predicate::Equals(json!(1)));
        assert_eq!(
            (missing.passed, missing.observed.as_str()),
            (false, "no value")
        );
    }

    #[test]
    fn duration_check_compares_milliseconds() {
        assert!(run(Subject::Duration, Predicate::Compare(Comparison::Lt, 13.0)).passed);
        assert!(!run(Subject::Duration, Predicate::Compare(Comparison::Lt, 12.0)).passed);
    }

    #[test]
    fn jsonpath_on_a_non_json_body_fails_with_a_reason() {
        let t = Templater::new(Arc::new(|_| None), Redactor::new());
        let r = Response {
            status: 200,
            headers: vec![],
            body: Bytes::from_static(b"<html>"),
        };
        let obs = Observation::new(&r, 1.0);
        let check = Check {
            span: Span::default(),
            subject: Subject::JsonPath("$.a".into()),
            predicate: Predicate::Exists(true),
        };
        let result = evaluate(&check, &obs, &t, &Vars::default());
        assert!(!result.passed);
        assert_eq!(result.observed, "a body that is not JSON");
    }

    #[test]
    fn captures_from_jsonpath_header_and_regex() {
        let r = response();
        let obs = Observation::new(&r, 1.0);
        assert_eq!(
            capture(&CaptureSource::JsonPath("$.hash".into()), &obs),
            Ok(json!("ABC-123"))
        );
        assert_eq!(
            capture(&CaptureSource::JsonPath("$.items[*]".into()), &obs),
            Ok(json!([1, 2, 3]))
        );
        assert!(capture(&CaptureSource::JsonPath("$.none".into()), &obs)
            .unwrap_err()
            .contains("matched nothing"));
        assert_eq!(
            capture(&CaptureSource::Header("Content-Type".into()), &obs),
            Ok(json!("application/json; charset=utf-8"))
        );
        assert_eq!(
            capture(&CaptureSource::Regex(r#""hash":"([A-Z]+)"#.into()), &obs),
            Ok(json!("ABC"))
        );
        assert_eq!(
            capture(&CaptureSource::Regex("ABC-\\d+".into()), &obs),
            Ok(json!("ABC-123"))
        );
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("ñandú", 10), "ñandú");
        assert_eq!(truncate("abcdef", 3), "abc… (3 more bytes)");
    }
}
