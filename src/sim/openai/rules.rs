//! The LLM simulator's rules: which reply a request gets.
//!
//! Why rules and not a model: a test needs the same answer every time, chosen by what the app
//! sent. A rules file (YAML or JSON) holds `rules:` (tried in order; the first whose `match`
//! holds answers), `transcriptions:` (the same for `/v1/audio/transcriptions`), `fallback:`
//! and `rate_limit:`. Matchers are regular expressions over the last user message, the system
//! prompt and the model; `tool` names a function the request must offer. Replies are text, a
//! tool call (arguments as YAML), a JSON document (for `response_format`), or an OpenAI error.
//! Strings in replies are minijinja templates over `last_user`, `system`, `model` and the named
//! groups of the matching regexes (`(?P<day>lunes|martes)` → `{{ day }}`).
//!
//! Fallback when no rule matches: `fallback.text`, by default
//! `"(harness) no rule matched: {{ last_user }}"`; with `response_format` `json_schema`, a JSON
//! document built from the schema (first enum value, `""`, `0`, `false`, `[]`, nested objects
//! with every property), with `json_object`, `{"reply": <the fallback text>}`.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::sim::duration_serde;

/// Errors reading a rules file.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read rules file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("rules file is not valid YAML/JSON: {0}")]
    Syntax(String),
    #[error("invalid rules: {0} (see docs/dependencies.md#rules)")]
    Invalid(String),
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRules {
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    transcriptions: Vec<RawTranscription>,
    #[serde(default)]
    fallback: Fallback,
    #[serde(default)]
    rate_limit: Option<RateLimit>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "match")]
    when: RawMatch,
    reply: Reply,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    last_user: Option<String>,
    system: Option<String>,
    model: Option<String>,
    tool: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTranscription {
    #[serde(default, rename = "match")]
    when: RawAudioMatch,
    text: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudioMatch {
    filename: Option<String>,
    prompt: Option<String>,
    /// A string the uploaded file's bytes contain.
    audio_contains: Option<String>,
}

/// What a rule answers. Exactly one of the fields.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub tool_call: Option<ToolCallReply>,
    #[serde(default)]
    pub json: Option<Value>,
    #[serde(default)]
    pub error: Option<ErrorReply>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCallReply {
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
}

/// An OpenAI error answer (`{"error":{"message","type","param","code"}}`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorReply {
    pub status: u16,
    #[serde(default = "default_error_message")]
    pub message: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    /// Seconds, sent as `retry-after`.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

fn default_error_message() -> String {
    "The server had an error while processing your request. Sorry about that!".into()
}

/// What answers when no rule matches.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fallback {
    pub text: String,
    pub transcript: String,
}

impl Default for Fallback {
    fn default() -> Self {
        Self {
            text: "(harness) no rule matched: {{ last_user }}".into(),
            transcript: "(harness) no transcription rule matched".into(),
        }
    }
}

/// Requests (and estimated tokens) allowed per window, per API key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests: u64,
    #[serde(default)]
    pub tokens: Option<u64>,
    #[serde(default = "default_window", with = "duration_serde")]
    pub window: Duration,
}

fn default_window() -> Duration {
    Duration::from_secs(60)
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    last_user: Option<Regex>,
    system: Option<Regex>,
    model: Option<Regex>,
    tool: Option<String>,
    pub reply: Reply,
}

#[derive(Debug, Clone)]
struct Transcription {
    filename: Option<Regex>,
    prompt: Option<Regex>,
    audio_contains: Option<String>,
    text: String,
}

/// The compiled rules file.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
    transcriptions: Vec<Transcription>,
    pub fallback: Fallback,
    pub rate_limit: Option<RateLimit>,
}

/// What a chat request offers the rules.
#[derive(Debug, Clone, Default)]
pub struct Prompt<'a> {
    pub model: &'a str,
    pub system: String,
    pub last_user: String,
    pub tools: Vec<&'a str>,
}

/// The chosen reply, with the template context it is rendered in.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub rule: Option<String>,
    pub reply: Reply,
    pub context: BTreeMap<String, String>,
}

fn compile(field: &str, rule: &str, pattern: Option<String>) -> Result<Option<Regex>, RulesError> {
    pattern
        .map(|p| {
            Regex::new(&p).map_err(|e| {
                RulesError::Invalid(format!(
                    "{rule}: match.{field}: invalid regular expression: {e}"
                ))
            })
        })
        .transpose()
}

impl Rules {
    /// Parses and compiles a rules file's text.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let value = crate::sim::yaml_to_json(text).map_err(RulesError::Syntax)?;
        let value = if value.is_null() { json!({}) } else { value };
        let raw: RawRules =
            serde_json::from_value(value).map_err(|e| RulesError::Invalid(e.to_string()))?;
        let mut rules = Vec::new();
        for (i, r) in raw.rules.into_iter().enumerate() {
            let name = r.name.unwrap_or_else(|| format!("rule {}", i + 1));
            let kinds = [
                r.reply.text.is_some(),
                r.reply.tool_call.is_some(),
                r.reply.json.is_some(),
                r.reply.error.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                return Err(RulesError::Invalid(format!(
                    "{name}: reply needs exactly one of text, tool_call, json, error"
                )));
            }
            rules.push(Rule {
                last_user: compile("last_user", &name, r.when.last_user)?,
                system: compile("system", &name, r.when.system)?,
                model: compile("model", &name, r.when.model)?,
                tool: r.when.tool,
                reply: r.reply,
                name,
            });
        }
        let mut transcriptions = Vec::new();
        for (i, t) in raw.transcriptions.into_iter().enumerate() {
            let name = format!("transcription {}", i + 1);
            transcriptions.push(Transcription {
                filename: compile("filename", &name, t.when.filename)?,
                prompt: compile("prompt", &name, t.when.prompt)?,
                audio_contains: t.when.audio_contains,
                text: t.text,
            });
        }
        Ok(Self {
            rules,
            transcriptions,
            fallback: raw.fallback,
            rate_limit: raw.rate_limit,
        })
    }

    /// Reads a rules file.
    pub fn load(path: &std::path::Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|e| match e {
            RulesError::Invalid(m) => RulesError::Invalid(format!("{}: {m}", path.display())),
            RulesError::Syntax(m) => RulesError::Syntax(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// The first matching rule's reply, or the fallback text.
    pub fn choose(&self, prompt: &Prompt<'_>) -> Chosen {
        let mut context = BTreeMap::from([
            ("last_user".to_string(), prompt.last_user.clone()),
            ("system".to_string(), prompt.system.clone()),
            ("model".to_string(), prompt.model.to_string()),
        ]);
        for rule in &self.rules {
            if let Some(captures) = rule.matches(prompt) {
                context.extend(captures);
                return Chosen {
                    rule: Some(rule.name.clone()),
                    reply: rule.reply.clone(),
                    context,
                };
            }
        }
        Chosen {
            rule: None,
            reply: Reply {
                text: Some(self.fallback.text.clone()),
                ..Reply::default()
            },
            context,
        }
    }

    /// The transcript of an uploaded audio file.
    pub fn transcribe(&self, filename: &str, prompt: &str, audio: &[u8]) -> String {
        self.transcriptions
            .iter()
            .find(|t| {
                t.filename.as_ref().is_none_or(|r| r.is_match(filename))
                    && t.prompt.as_ref().is_none_or(|r| r.is_match(prompt))
                    && t.audio_contains.as_ref().is_none_or(|needle| {
                        let n = needle.as_bytes();
                        !n.is_empty() && audio.windows(n.len()).any(|w| w == n)
                    })
            })
            .map_or_else(|| self.fallback.transcript.clone(), |t| t.text.clone())
    }
}

impl Rule {
    /// The named captures when the rule matches.
    fn matches(&self, p: &Prompt<'_>) -> Option<BTreeMap<String, String>> {
        let mut captures = BTreeMap::new();
        for (re, text) in [
            (&self.last_user, p.last_user.as_str()),
            (&self.system, p.system.as_str()),
            (&self.model, p.model),
        ] {
            let Some(re) = re else { continue };
            let caps = re.captures(text)?;
            for name in re.capture_names().flatten() {
                if let Some(m) = caps.name(name) {
                    captures.insert(name.to_string(), m.as_str().to_string());
                }
            }
        }
        let offers = self.tool.as_deref().is_none_or(|t| p.tools.contains(&t));
        offers.then_some(captures)
    }
}

/// Renders every string in `value` as a template over `context`.
pub fn render_value(value: &Value, context: &BTreeMap<String, String>) -> Value {
    match value {
        Value::String(s) => Value::String(render(s, context)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_value(v, context)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_value(v, context)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Renders a template; a template error leaves the text as written (and is logged).
pub fn render(template: &str, context: &BTreeMap<String, String>) -> String {
    if !template.contains("{{") && !template.contains("{%") {
        return template.to_string();
    }
    let env = minijinja::Environment::new();
    env.render_str(template, context).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "LLM simulator: reply template failed");
        template.to_string()
    })
}

/// A JSON document that a JSON schema accepts, built from its shape.
pub fn skeleton(schema: &Value) -> Value {
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(any) = schema["anyOf"].as_array().and_then(|a| a.first()) {
        return skeleton(any);
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types.first().and_then(Value::as_str).unwrap_or("null"),
        Value::String(t) => t.as_str(),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match kind {
        "object" => Value::Object(
            schema["properties"]
                .as_object()
                .map(|props| {
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), skeleton(v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        "array" => json!([]),
        "string" => json!(""),
        "integer" | "number" => json!(0),
        "boolean" => json!(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests;
