//! Reading YAML nodes into plain values while collecting diagnostics.
//!
//! Every reader reports what is wrong through [`Ctx`] and returns `None` (or skips the bad
//! entry) instead of stopping, so one pass over the file finds every error in it.

use std::path::Path;
use std::time::Duration;

use saphyr::{MarkedYaml, Scalar, YamlData};

use crate::scenario::diagnostic::Diagnostic;
use crate::scenario::model::Span;
use crate::scenario::threshold::parse_duration;

pub(super) type Node<'a> = MarkedYaml<'a>;

/// For a value that starts with `{{` unquoted, which YAML reads as a mapping.
pub(super) const TEMPLATE_HINT: &str =
    "quote a value that starts with a template: `\"{{ name }}\"`";

/// One `key: value` of a mapping whose key is a scalar.
pub(super) struct Entry<'n> {
    pub key: String,
    pub key_node: &'n Node<'n>,
    pub value: &'n Node<'n>,
}

impl<'n> Entry<'n> {
    /// Where to point at the value: the value itself, or its key when the value is empty
    /// (`url:` with nothing after it has no token to underline).
    pub fn value_node(&self) -> &'n Node<'n> {
        match untag(self.value).data {
            YamlData::Value(Scalar::Null) if self.value.span.is_empty() => self.key_node,
            _ => self.value,
        }
    }
}

/// The known keys of a mapping with a fixed set of keys (unknown ones already reported).
pub(super) struct Fields<'n>(Vec<Entry<'n>>);

impl<'n> Fields<'n> {
    pub fn get(&self, key: &str) -> Option<&Entry<'n>> {
        self.0.iter().find(|e| e.key == key)
    }

    /// In file order.
    pub fn iter(&self) -> std::slice::Iter<'_, Entry<'n>> {
        self.0.iter()
    }
}

/// The parse context: where diagnostics go.
pub(super) struct Ctx<'s> {
    path: &'s Path,
    source: &'s str,
    diags: Vec<Diagnostic>,
    /// The scenario's `dependencies:` (name, kind), read before its steps refer to them.
    pub services: Vec<(String, crate::scenario::model::DependencyKind)>,
}

impl<'s> Ctx<'s> {
    pub fn new(path: &'s Path, source: &'s str) -> Self {
        Ctx {
            path,
            source,
            diags: Vec::new(),
            services: Vec::new(),
        }
    }

    /// The diagnostics in source order.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        self.diags.sort_by_key(|d| d.span);
        self.diags
    }

    pub fn error_at(&mut self, span: Span, len: usize, message: String, hint: Option<String>) {
        let mut d = Diagnostic::new(self.path, span, message).with_len(len);
        d.hint = hint;
        self.diags.push(d);
    }

    /// An error pointing at `node`, underlining it when it sits on one line.
    pub fn error(&mut self, node: &Node, message: impl Into<String>, hint: Option<String>) {
        let (span, len) = position(node);
        let len = self.token_len(node).unwrap_or(len);
        self.error_at(span, len, message.into(), hint);
    }

    /// The width of a one-line node as written. saphyr's spans sometimes take in the blanks
    /// after a scalar and stop before a flow collection's closing bracket: both are fixed here.
    fn token_len(&self, node: &Node) -> Option<usize> {
        let (start, end) = (node.span.start, node.span.end);
        if start.line() != end.line() {
            return None;
        }
        let text = self.raw(node)?.trim_end();
        let closing = match &untag(node).data {
            YamlData::Mapping(_) => Some('}'),
            YamlData::Sequence(_) => Some(']'),
            _ => None,
        };
        let width = text.chars().count();
        let after = self.source.chars().skip(start.index() + width);
        let blanks = after.take_while(|c| *c == ' ').count();
        let next = self.source.chars().nth(start.index() + width + blanks);
        match closing {
            Some(c) if next == Some(c) => Some(width + blanks + 1),
            _ => Some(width),
        }
    }

    /// A mapping's entries, in file order; reports a node that is not a mapping and keys that
    /// are not scalars. `what` names the mapping in messages ("`headers`", "step").
    pub fn entries<'n>(&mut self, node: &'n Node<'n>, what: &str) -> Option<Vec<Entry<'n>>> {
        let YamlData::Mapping(map) = &untag(node).data else {
            self.error(
                node,
                format!("expected a mapping for {what}, found {}", describe(node)),
                None,
            );
            return None;
        };
        let mut entries = Vec::with_capacity(map.len());
        for (key_node, value) in map {
            match self.scalar_text(key_node) {
                Some(key) => entries.push(Entry {
                    key,
                    key_node,
                    value,
                }),
                None => {
                    // A mapping as a key is what YAML makes of an unquoted `{{ var }}`.
                    let is_mapping = matches!(untag(key_node).data, YamlData::Mapping(_));
                    let hint = is_mapping.then(|| TEMPLATE_HINT.to_string());
                    let found = describe(key_node);
                    let message = format!("expected a plain key in {what}, found {found}");
                    self.error(key_node, message, hint);
                }
            }
        }
        Some(entries)
    }

    /// A mapping with a fixed set of keys; each unknown key is reported with a "did you mean"
    /// when one known key is close, else with the list of allowed keys.
    pub fn fields<'n>(
        &mut self,
        node: &'n Node<'n>,
        what: &str,
        allowed: &[&str],
    ) -> Option<Fields<'n>> {
        let entries = self.entries(node, what)?;
        let mut known = Vec::with_capacity(entries.len());
        for entry in entries {
            if allowed.contains(&entry.key.as_str()) {
                known.push(entry);
            } else {
                let hint = unknown_hint(&entry.key, allowed);
                self.error(
                    entry.key_node,
                    format!("unknown key `{}` in {what}", entry.key),
                    Some(hint),
                );
            }
        }
        Some(Fields(known))
    }

    /// `fields.get(key)`, reporting its absence at `owner` (the parent's key or node).
    pub fn required<'f, 'n>(
        &mut self,
        fields: &'f Fields<'n>,
        key: &str,
        owner: &Node,
        what: &str,
    ) -> Option<&'f Entry<'n>> {
        let entry = fields.get(key);
        if entry.is_none() {
            self.error(
                owner,
                format!("missing required key `{key}` in {what}"),
                None,
            );
        }
        entry
    }

    /// A string value (not a number or a boolean): names, URLs, regexes, JSONPaths.
    pub fn string(&mut self, entry: &Entry) -> Option<String> {
        match &untag(entry.value).data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            _ => {
                self.mismatch(entry, "a string", None);
                None
            }
        }
    }

    /// Reports "expected {expected} for `key`, found {what the value is}".
    /// An unquoted `{{ var }}` is a YAML flow mapping: that case gets a hint to quote it.
    pub fn mismatch(&mut self, entry: &Entry, expected: &str, hint: Option<String>) {
        let message = format!(
            "expected {expected} for `{}`, found {}",
            entry.key,
            describe(entry.value)
        );
        let unquoted_template = matches!(untag(entry.value).data, YamlData::Mapping(_))
            && self.raw(entry.value).is_some_and(|r| r.starts_with("{{"));
        let hint = if unquoted_template {
            Some(TEMPLATE_HINT.to_string())
        } else {
            hint
        };
        self.error(entry.value_node(), message, hint);
    }

    /// The directory relative paths in the file are resolved against.
    pub fn base_dir(&self) -> std::path::PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    /// `true` or `false`.
    pub fn boolean(&mut self, entry: &Entry) -> Option<bool> {
        match &untag(entry.value).data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => {
                self.mismatch(entry, "`true` or `false`", None);
                None
            }
        }
    }

    /// A number (integer or decimal).
    pub fn number(&mut self, entry: &Entry) -> Option<f64> {
        let n = number(entry.value);
        if n.is_none() {
            self.mismatch(entry, "a number", None);
        }
        n
    }

    /// A non-empty string value.
    pub fn non_empty_string(&mut self, entry: &Entry) -> Option<String> {
        let s = self.string(entry)?;
        if s.trim().is_empty() {
            self.error(
                entry.value,
                format!("`{}` must not be empty", entry.key),
                None,
            );
            return None;
        }
        Some(s)
    }

    /// A template: any scalar, numbers and booleans as written (`1.10` stays `1.10`).
    pub fn text(&mut self, entry: &Entry) -> Option<String> {
        let text = self.scalar_text(entry.value);
        if text.is_none() {
            self.mismatch(entry, "a string", None);
        }
        text
    }

    /// A strictly positive duration with a unit (`500ms`, `10s`).
    pub fn duration(&mut self, entry: &Entry) -> Option<Duration> {
        let unit_hint = || Some("durations need a unit, e.g. `500ms`, `10s`, `1m`".to_string());
        let text = match &untag(entry.value).data {
            YamlData::Value(Scalar::String(s)) => s.to_string(),
            YamlData::Value(Scalar::Integer(_) | Scalar::FloatingPoint(_)) => {
                let message = format!("`{}` needs a unit", entry.key);
                self.error(entry.value, message, unit_hint());
                return None;
            }
            _ => {
                self.mismatch(entry, "a duration", unit_hint());
                return None;
            }
        };
        match parse_duration(&text) {
            Ok(d) if d.is_zero() => {
                let message = format!("`{}` must be longer than zero", entry.key);
                self.error(entry.value, message, None);
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.error(entry.value, e, unit_hint());
                None
            }
        }
    }

    /// A YAML value as JSON: request bodies and expected values. String leaves stay templates.
    pub fn json(&mut self, node: &Node) -> Option<serde_json::Value> {
        use serde_json::Value;
        let node = untag(node);
        match &node.data {
            YamlData::Value(Scalar::Null) => Some(Value::Null),
            YamlData::Value(Scalar::Boolean(b)) => Some(Value::Bool(*b)),
            YamlData::Value(Scalar::Integer(i)) => Some(Value::from(*i)),
            YamlData::Value(Scalar::String(s)) => Some(Value::String(s.to_string())),
            YamlData::Value(Scalar::FloatingPoint(f)) => {
                let number = serde_json::Number::from_f64(f.into_inner());
                if number.is_none() {
                    self.error(node, "JSON has no infinite or NaN numbers", None);
                }
                number.map(Value::Number)
            }
            YamlData::Sequence(items) => {
                let values: Vec<_> = items.iter().map(|item| self.json(item)).collect();
                values
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(Value::Array)
            }
            YamlData::Mapping(_) => {
                let mut object = serde_json::Map::new();
                let mut complete = true;
                for entry in self.entries(node, "a JSON object")? {
                    match self.json(entry.value) {
                        Some(v) => {
                            object.insert(entry.key, v);
                        }
                        None => complete = false,
                    }
                }
                complete.then_some(Value::Object(object))
            }
            _ => {
                self.error(node, format!("{} cannot be JSON", describe(node)), None);
                None
            }
        }
    }

    /// A scalar as text; `None` for null and collections.
    pub fn scalar_text(&self, node: &Node) -> Option<String> {
        let node = untag(node);
        match &node.data {
            YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
            YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
            YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
            YamlData::Value(Scalar::FloatingPoint(f)) => {
                // Prefer the text as written: `1.10` as a template is "1.10", not "1.1".
                let raw = self
                    .raw(node)
                    .filter(|r| r.parse::<f64>().ok() == Some(f.into_inner()));
                Some(raw.map_or_else(|| f.to_string(), str::to_string))
            }
            _ => None,
        }
    }

    /// The source text of a node (spans count characters, the source is indexed by bytes).
    fn raw(&self, node: &Node) -> Option<&'s str> {
        let byte = |char_index: usize| {
            if self.source.is_ascii() {
                Some(char_index)
            } else {
                self.source
                    .char_indices()
                    .map(|(b, _)| b)
                    .chain(std::iter::once(self.source.len()))
                    .nth(char_index)
            }
        };
        let start = byte(node.span.start.index())?;
        let end = byte(node.span.end.index())?;
        self.source.get(start..end)
    }
}

/// An optional key's parsed value: absent → `Some(None)`, invalid → `None` (already reported).
pub(super) fn optional<T>(parsed: Option<Option<T>>) -> Option<Option<T>> {
    parsed.map_or(Some(None), |value| value.map(Some))
}

/// The node inside any `!tag`.
pub(super) fn untag<'a, 'n>(node: &'a Node<'n>) -> &'a Node<'n> {
    match &node.data {
        YamlData::Tagged(_, inner) => untag(inner),
        _ => node,
    }
}

/// "a string", "a mapping", … for "expected X, found Y" messages.
pub(super) fn describe(node: &Node) -> &'static str {
    match &untag(node).data {
        YamlData::Value(Scalar::Null) => "nothing (null)",
        YamlData::Value(Scalar::Boolean(_)) => "a boolean",
        YamlData::Value(Scalar::Integer(_)) => "an integer",
        YamlData::Value(Scalar::FloatingPoint(_)) => "a number",
        YamlData::Value(Scalar::String(_)) => "a string",
        YamlData::Sequence(_) => "a list",
        YamlData::Mapping(_) => "a mapping",
        _ => "an invalid value",
    }
}

/// A number (integer or not).
pub(super) fn number(node: &Node) -> Option<f64> {
    match &untag(node).data {
        YamlData::Value(Scalar::Integer(i)) => Some(*i as f64),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.into_inner()),
        _ => None,
    }
}

/// Where a node starts (1-based) and how many characters to underline: the whole token when
/// it sits on one line, else one character.
pub(super) fn position(node: &Node) -> (Span, usize) {
    let (start, end) = (node.span.start, node.span.end);
    let span = Span {
        line: start.line(),
        col: start.col() + 1,
    };
    let len = if start.line() == end.line() {
        end.index().saturating_sub(start.index())
    } else {
        1
    };
    (span, len)
}

/// Variable and capture names: they are referenced as `{{ name }}` in templates.
pub(super) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The closest of `candidates` to a misspelt `word`, when one is close enough to be a likely
/// typo (Jaro-Winkler similarity ≥ 0.8, as clap's suggestions use Jaro).
pub(crate) fn suggest<'k>(word: &str, candidates: &[&'k str]) -> Option<&'k str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                *c,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// "did you mean `checks`?" or "expected one of `a`, `b`".
pub(super) fn unknown_hint(word: &str, allowed: &[&str]) -> String {
    match suggest(word, allowed) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("expected one of {}", quoted_list(allowed)),
    }
}

/// "`a`, `b`, `c`".
pub(super) fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `headers:` / `query:` — name → template, in file order. Header names must be HTTP tokens.
pub(super) fn pairs(
    ctx: &mut Ctx,
    entry: &Entry,
    header_names: bool,
) -> Option<Vec<(String, String)>> {
    let what = format!("`{}`", entry.key);
    let mut complete = true;
    let mut pairs = Vec::new();
    for e in ctx.entries(entry.value, &what)? {
        if header_names && !is_token(&e.key) {
            let message = format!("invalid header name `{}`", e.key);
            let hint = Some("header names are letters, digits and `-`".to_string());
            ctx.error(e.key_node, message, hint);
            complete = false;
        }
        match ctx.text(&e) {
            Some(value) => pairs.push((e.key, value)),
            None => complete = false,
        }
    }
    complete.then_some(pairs)
}

/// An RFC 9110 token (what a header name is made of).
pub(super) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::scenario::parse::step::STEP_KEYS;

    #[test]
    fn suggestions_catch_typos_and_ignore_unrelated_words() {
        assert_eq!(suggest("chekcs", STEP_KEYS), Some("checks"));
        assert_eq!(suggest("retries", STEP_KEYS), Some("retry"));
        assert_eq!(suggest("captures", STEP_KEYS), Some("capture"));
        assert_eq!(suggest("Checks", STEP_KEYS), Some("checks"));
        assert_eq!(suggest("threshold", STEP_KEYS), Some("thresholds"));
        assert_eq!(suggest("request", STEP_KEYS), None);
        assert_eq!(suggest("foo", STEP_KEYS), None);
        assert_eq!(unknown_hint("foo", &["a", "b"]), "expected one of `a`, `b`");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("token"));
        assert!(is_identifier("_x9"));
        assert!(!is_identifier("9x"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier(""));
    }
}
