//! `checks:` and `capture:`: each check entry becomes one or more [`Check`]s (one per
//! predicate), each capture one [`Capture`]; regexes and JSONPaths are compiled here so that
//! a typo fails validation, not the run.

use saphyr::{Scalar, YamlData};
use serde_json::Value;

use super::node::is_token;
use super::node::{describe, is_identifier, number, position, untag, Ctx, Entry, Node};
use crate::scenario::model::{
    Capture, CaptureSource, Check, Comparison, JsonType, Predicate, Subject,
};
use crate::scenario::threshold::{parse_comparison, parse_duration_ms};

const CHECK_KEYS: &[&str] = &["status", "headers", "body", "jsonpath", "duration"];
const PREDICATE_KEYS: &[&str] = &[
    "equals",
    "not_equals",
    "one_of",
    "exists",
    "contains",
    "not_contains",
    "matches",
    "not_matches",
    "length",
    "lt",
    "le",
    "gt",
    "ge",
    "type",
];
const CAPTURE_KEYS: &[&str] = &["jsonpath", "header", "regex"];
/// `type:` names, in the order error messages list them.
pub(super) const TYPES: &[(&str, JsonType)] = &[
    ("string", JsonType::String),
    ("number", JsonType::Number),
    ("integer", JsonType::Integer),
    ("boolean", JsonType::Boolean),
    ("array", JsonType::Array),
    ("object", JsonType::Object),
    ("null", JsonType::Null),
];

/// `checks:` — in file order; a predicate object yields one check per predicate.
pub(super) fn checks(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Check>> {
    let fields = ctx.fields(entry.value, "`checks`", CHECK_KEYS)?;
    let mut checks = Vec::new();
    let mut complete = true;
    for e in fields.iter() {
        let parsed = match e.key.as_str() {
            "status" => status(ctx, e),
            "headers" => headers(ctx, e),
            "body" => body(ctx, e),
            "jsonpath" => jsonpaths(ctx, e),
            _ => duration(ctx, e),
        };
        match parsed {
            Some(more) => checks.extend(more),
            None => complete = false,
        }
    }
    complete.then_some(checks)
}

fn check(key: &Node, subject: Subject, predicate: Predicate) -> Vec<Check> {
    vec![Check {
        span: position(key).0,
        subject,
        predicate,
    }]
}

/// `status: 201`, `status: [200, 201]`, `status: 2xx` or a predicate object.
fn status(ctx: &mut Ctx, e: &Entry) -> Option<Vec<Check>> {
    let hint = || Some("e.g. `status: 201`, `status: [200, 201]` or `status: 2xx`".to_string());
    let predicate = match &untag(e.value).data {
        YamlData::Mapping(_) => return predicates(ctx, e.value, &Subject::Status),
        YamlData::Value(Scalar::Integer(_)) => Predicate::Equals(status_code(ctx, e.value)?),
        YamlData::Sequence(items) if items.is_empty() => {
            ctx.error(e.value, "the list of status codes is empty", hint());
            return None;
        }
        YamlData::Sequence(items) => {
            let codes: Vec<_> = items.iter().map(|i| status_code(ctx, i)).collect();
            Predicate::OneOf(codes.into_iter().collect::<Option<_>>()?)
        }
        YamlData::Value(Scalar::String(s)) => match (status_class(s), s.trim().parse::<i64>()) {
            (Some(class), _) => Predicate::StatusClass(class),
            // A quoted code (`status: "201"`) means the code.
            (None, Ok(code)) if (100..=599).contains(&code) => Predicate::Equals(code.into()),
            _ => {
                let message =
                    format!("invalid status `{s}`: expected a code or a class like `2xx`");
                ctx.error(e.value, message, hint());
                return None;
            }
        },
        _ => {
            ctx.mismatch(e, "a status code", hint());
            return None;
        }
    };
    Some(check(e.key_node, Subject::Status, predicate))
}

fn status_code(ctx: &mut Ctx, node: &Node) -> Option<Value> {
    match &untag(node).data {
        YamlData::Value(Scalar::Integer(code)) if (100..=599).contains(code) => {
            Some((*code).into())
        }
        _ => {
            let message = format!(
                "expected an HTTP status code (100 to 599), found {}",
                shown(node)
            );
            ctx.error(node, message, None);
            None
        }
    }
}

/// `2xx` → 2 (`1xx` to `5xx`, `X` also accepted).
fn status_class(text: &str) -> Option<u16> {
    let mut chars = text.trim().chars();
    let class = chars.next()?.to_digit(10).filter(|d| (1..=5).contains(d))?;
    let rest: Vec<char> = chars.collect();
    (rest.len() == 2 && rest.iter().all(|c| c.eq_ignore_ascii_case(&'x'))).then_some(class as u16)
}

/// `headers:` — header name (stored lower-case) → value (text equality) or predicate object.
pub(super) fn headers(ctx: &mut Ctx, e: &Entry) -> Option<Vec<Check>> {
    let mut checks = Vec::new();
    let mut complete = true;
    for h in ctx.entries(e.value, "`headers` checks")? {
        let name = h.key.to_ascii_lowercase();
        if !is_token(&name) {
            ctx.error(h.key_node, format!("invalid header name `{}`", h.key), None);
            complete = false;
            continue;
        }
        let subject = Subject::Header(name);
        let parsed = match &untag(h.value).data {
            YamlData::Mapping(_) => predicates(ctx, h.value, &subject),
            YamlData::Value(Scalar::Null) | YamlData::Sequence(_) => {
                let message = format!(
                    "expected a value or a predicate object for header `{}`, found {}",
                    h.key,
                    describe(h.value)
                );
                let hint = Some("e.g. `{ contains: json }`, or `{ exists: true }`".to_string());
                ctx.error(h.value_node(), message, hint);
                None
            }
            _ => ctx
                .text(&h)
                .map(|v| check(h.key_node, subject, Predicate::Equals(Value::String(v)))),
        };
        match parsed {
            Some(more) => checks.extend(more),
            None => complete = false,
        }
    }
    complete.then_some(checks)
}

/// `body: "text"` (contains) or a predicate object.
pub(super) fn body(ctx: &mut Ctx, e: &Entry) -> Option<Vec<Check>> {
    match &untag(e.value).data {
        YamlData::Mapping(_) => predicates(ctx, e.value, &Subject::Body),
        YamlData::Value(Scalar::String(s)) => Some(check(
            e.key_node,
            Subject::Body,
            Predicate::Contains(s.to_string()),
        )),
        _ => {
            let hint = Some("e.g. `body: Welcome` or `body: { matches: \"^OK\" }`".to_string());
            ctx.mismatch(e, "a string or a predicate object", hint);
            None
        }
    }
}

/// `jsonpath:` — path → expected value (equality) or predicate object.
pub(super) fn jsonpaths(ctx: &mut Ctx, e: &Entry) -> Option<Vec<Check>> {
    let mut checks = Vec::new();
    let mut complete = true;
    for p in ctx.entries(e.value, "`jsonpath` checks")? {
        let parsed = jsonpath(ctx, &p).and_then(|path| {
            let subject = Subject::JsonPath(path);
            match &untag(p.value).data {
                YamlData::Mapping(_) => predicates(ctx, p.value, &subject),
                _ => ctx
                    .json(p.value)
                    .map(|v| check(p.key_node, subject, Predicate::Equals(v))),
            }
        });
        match parsed {
            Some(more) => checks.extend(more),
            None => complete = false,
        }
    }
    complete.then_some(checks)
}

/// A JSONPath (the entry's key), checked with serde_json_path; an error points at the
/// offending character when the key is written on one line.
fn jsonpath(ctx: &mut Ctx, p: &Entry) -> Option<String> {
    let (offset, reason) = match jsonpath_error(&p.key) {
        None => return Some(p.key.clone()),
        Some(error) => error,
    };
    let (mut span, len) = position(p.key_node);
    let chars = p.key.chars().count();
    if len >= chars {
        // Skip an opening quote, if any, then move to the offending character.
        span.col += (len - chars).min(1) + offset;
    }
    let message = format!("invalid JSONPath `{}`: {reason}", p.key);
    let hint = Some("e.g. `$.instance.state` or `$.items[0].id`".to_string());
    ctx.error_at(span, 1, message, hint);
    None
}

/// Why `path` is not a JSONPath: the offset (in characters) of the offending character and
/// a reason; `None` when it parses.
fn jsonpath_error(path: &str) -> Option<(usize, String)> {
    let err = serde_json_path::JsonPath::parse(path).err()?;
    if !path.starts_with('$') {
        return Some((0, "a JSONPath starts with `$`".to_string()));
    }
    // serde_json_path's position is a 0-based character offset (despite its docs); its
    // message is sometimes only "parser error", so name the offending text instead.
    let offset = err.position().min(path.chars().count());
    let rest: String = path.chars().skip(offset).collect();
    let reason = match (err.message(), rest.is_empty()) {
        ("parser error", true) => "unexpected end".to_string(),
        ("parser error", false) => format!("unexpected `{rest}`"),
        (message, _) => message.to_string(),
    };
    Some((offset, reason))
}

/// `duration: "< 5s"` — the step's duration compared, in milliseconds.
fn duration(ctx: &mut Ctx, e: &Entry) -> Option<Vec<Check>> {
    let hint = Some("e.g. `duration: \"< 5s\"`".to_string());
    let YamlData::Value(Scalar::String(text)) = &untag(e.value).data else {
        ctx.mismatch(e, "a comparison like `< 5s`", hint);
        return None;
    };
    let parsed = parse_comparison(text).and_then(|(comparison, value)| {
        if comparison == Comparison::Eq {
            return Err("`==` makes no sense for a duration: use `<`, `<=`, `>` or `>=`".into());
        }
        parse_duration_ms(value).map(|ms| (comparison, ms))
    });
    match parsed {
        Ok((comparison, ms)) => Some(check(
            e.key_node,
            Subject::Duration,
            Predicate::Compare(comparison, ms),
        )),
        Err(message) => {
            ctx.error(e.value, message, hint);
            None
        }
    }
}

/// A predicate object: `{ exists: true, type: string }` → one check per key.
fn predicates(ctx: &mut Ctx, node: &Node, subject: &Subject) -> Option<Vec<Check>> {
    if matches!(&untag(node).data, YamlData::Mapping(m) if m.is_empty()) {
        let hint = Some(format!(
            "add one of {}",
            super::node::quoted_list(PREDICATE_KEYS)
        ));
        ctx.error(node, "empty predicate object", hint);
        return None;
    }
    let fields = ctx.fields(node, "predicate", PREDICATE_KEYS)?;
    let parsed: Vec<Option<Check>> = fields
        .iter()
        .map(|e| {
            predicate(ctx, e).map(|predicate| Check {
                span: position(e.key_node).0,
                subject: subject.clone(),
                predicate,
            })
        })
        .collect();
    parsed.into_iter().collect()
}

fn predicate(ctx: &mut Ctx, e: &Entry) -> Option<Predicate> {
    match e.key.as_str() {
        "equals" => ctx.json(e.value).map(Predicate::Equals),
        "not_equals" => ctx.json(e.value).map(Predicate::NotEquals),
        "one_of" => match &untag(e.value).data {
            YamlData::Sequence(items) if !items.is_empty() => {
                let values: Vec<_> = items.iter().map(|i| ctx.json(i)).collect();
                values
                    .into_iter()
                    .collect::<Option<_>>()
                    .map(Predicate::OneOf)
            }
            _ => mismatch(ctx, e, "a non-empty list"),
        },
        "exists" => match &untag(e.value).data {
            YamlData::Value(Scalar::Boolean(b)) => Some(Predicate::Exists(*b)),
            _ => mismatch(ctx, e, "`true` or `false`"),
        },
        "contains" => ctx.text(e).map(Predicate::Contains),
        "not_contains" => ctx.text(e).map(Predicate::NotContains),
        "matches" => ctx
            .string(e)
            .and_then(|r| regex(ctx, e, r))
            .map(Predicate::Matches),
        "not_matches" => ctx
            .string(e)
            .and_then(|r| regex(ctx, e, r))
            .map(Predicate::NotMatches),
        "length" => length(ctx, e),
        "type" => {
            // `type: null` is YAML's null; take it as the type's name.
            let name = match &untag(e.value).data {
                YamlData::Value(Scalar::Null) if !e.value.span.is_empty() => "null".to_string(),
                _ => ctx.string(e)?,
            };
            match TYPES.iter().find(|(n, _)| *n == name) {
                Some((_, t)) => Some(Predicate::Type(*t)),
                None => {
                    let names: Vec<&str> = TYPES.iter().map(|(n, _)| *n).collect();
                    let message = format!("unknown type `{name}`");
                    let hint = Some(super::node::unknown_hint(&name, &names));
                    ctx.error(e.value, message, hint);
                    None
                }
            }
        }
        op => match number(e.value) {
            Some(n) => Some(Predicate::Compare(comparison(op), n)),
            None => mismatch(ctx, e, "a number"),
        },
    }
}

fn comparison(op: &str) -> Comparison {
    match op {
        "lt" => Comparison::Lt,
        "le" => Comparison::Le,
        "gt" => Comparison::Gt,
        _ => Comparison::Ge,
    }
}

/// `length: 3` or `length: ">= 1"`.
fn length(ctx: &mut Ctx, e: &Entry) -> Option<Predicate> {
    let parsed = match &untag(e.value).data {
        YamlData::Value(Scalar::Integer(n)) => Ok((Comparison::Eq, *n as f64)),
        YamlData::Value(Scalar::String(s)) => parse_comparison(s).and_then(|(c, n)| {
            n.parse::<f64>()
                .map(|n| (c, n))
                .map_err(|_| format!("expected a number after the operator, found `{n}`"))
        }),
        _ => Err(format!(
            "expected a length (`3` or `\">= 1\"`), found {}",
            describe(e.value)
        )),
    };
    match parsed {
        Ok((c, n)) if n >= 0.0 && n.is_finite() => Some(Predicate::Length(c, n)),
        Ok(_) => {
            ctx.error(e.value, "`length` must be zero or more", None);
            None
        }
        Err(message) => {
            ctx.error(
                e.value_node(),
                message,
                Some("e.g. `length: 3` or `length: \">= 1\"`".into()),
            );
            None
        }
    }
}

/// A regular expression that compiles; the error shows the regex crate's explanation.
fn regex(ctx: &mut Ctx, e: &Entry, pattern: String) -> Option<String> {
    match regex::Regex::new(&pattern) {
        Ok(_) => Some(pattern),
        Err(err) => {
            // Syntax errors are several lines (pattern, caret, "error: …"): keep the last.
            let text = err.to_string();
            let reason = text
                .lines()
                .last()
                .unwrap_or_default()
                .trim_start_matches("error: ");
            ctx.error(
                e.value,
                format!("invalid regular expression: {reason}"),
                None,
            );
            None
        }
    }
}

/// [`Ctx::mismatch`] as an `Option` of any type.
fn mismatch<T>(ctx: &mut Ctx, e: &Entry, expected: &str) -> Option<T> {
    ctx.mismatch(e, expected, None);
    None
}

/// A scalar as written, for messages (`600`, `"abc"`), else its kind.
fn shown(node: &Node) -> String {
    match &untag(node).data {
        YamlData::Value(Scalar::Integer(i)) => format!("`{i}`"),
        YamlData::Value(Scalar::String(s)) => format!("`{s}`"),
        _ => describe(node).to_string(),
    }
}

/// `capture:` — variable → `{ jsonpath: … }`, `{ header: … }` or `{ regex: … }`.
pub(super) fn captures(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Capture>> {
    let parsed: Vec<Option<Capture>> = ctx
        .entries(entry.value, "`capture`")?
        .iter()
        .map(|e| capture(ctx, e))
        .collect();
    parsed.into_iter().collect()
}

fn capture(ctx: &mut Ctx, e: &Entry) -> Option<Capture> {
    let name_ok = is_identifier(&e.key);
    if !name_ok {
        let message = format!("invalid variable name `{}`", e.key);
        ctx.error(e.key_node, message, Some(IDENTIFIER_HINT.to_string()));
    }
    if let YamlData::Value(Scalar::String(s)) = &untag(e.value).data {
        let message = format!("expected a mapping for capture `{}`, found a string", e.key);
        let hint = format!(
            "write `{}: {{ jsonpath: {s} }}` (or `header:`, `regex:`)",
            e.key
        );
        ctx.error(e.value, message, Some(hint));
        return None;
    }
    let fields = ctx.fields(e.value, &format!("capture `{}`", e.key), CAPTURE_KEYS)?;
    let present: Vec<&Entry> = CAPTURE_KEYS.iter().filter_map(|k| fields.get(k)).collect();
    let source = match present.as_slice() {
        [] => {
            let hint = Some(format!(
                "add one of {}",
                super::node::quoted_list(CAPTURE_KEYS)
            ));
            ctx.error(
                e.key_node,
                format!("capture `{}` has no source", e.key),
                hint,
            );
            None
        }
        [s] => capture_source(ctx, s),
        [_, rest @ ..] => {
            for extra in rest {
                let message = format!("capture `{}` has several sources", e.key);
                let hint = Some("a capture reads one thing: keep one source".to_string());
                ctx.error(extra.key_node, message, hint);
            }
            None
        }
    }?;
    name_ok.then(|| Capture {
        span: position(e.key_node).0,
        variable: e.key.clone(),
        source,
    })
}

pub(super) const IDENTIFIER_HINT: &str =
    "names are letters, digits and `_`, and do not start with a digit";

fn capture_source(ctx: &mut Ctx, s: &Entry) -> Option<CaptureSource> {
    let text = ctx.non_empty_string(s)?;
    match s.key.as_str() {
        "jsonpath" => match jsonpath_error(&text) {
            None => Some(CaptureSource::JsonPath(text)),
            Some((_, reason)) => {
                ctx.error(
                    s.value,
                    format!("invalid JSONPath `{text}`: {reason}"),
                    None,
                );
                None
            }
        },
        "header" if is_token(&text) => Some(CaptureSource::Header(text.to_ascii_lowercase())),
        "header" => {
            ctx.error(s.value, format!("invalid header name `{text}`"), None);
            None
        }
        _ => regex(ctx, s, text).map(CaptureSource::Regex),
    }
}
