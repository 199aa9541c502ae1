//! Secrets never reach output: every string written to a terminal, a log or a report passes
//! through a [`Redactor`], which replaces known secret values by `***`.
//!
//! Secrets are learnt as the run goes: every value read from the environment by `${VAR}`, the
//! provider credentials of the target, and the values of sensitive headers and query
//! parameters (see [`is_sensitive_name`]).

use std::sync::{Arc, RwLock};

/// What replaces a secret in output.
pub const MASK: &str = "***";

/// Shortest value treated as a secret: masking every `1` or `a` would destroy the output
/// without protecting anything.
const MIN_SECRET_LEN: usize = 4;

/// Header and query-parameter names whose values are always masked.
const SENSITIVE_NAMES: &[&str] = &[
    "apikey",
    "api-key",
    "x-api-key",
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "hub.verify_token",
    "verify_token",
    "access_token",
    "token",
    "password",
    "app_secret",
    "x-hub-signature-256",
];

/// Whether a header, query-parameter or JSON key name carries a secret by its nature.
pub fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_NAMES.contains(&lower.as_str())
}

/// `url` (or a path with a query) with the values of sensitive query parameters
/// (`hub.verify_token`, `access_token`, …) replaced by `***`.
pub fn mask_sensitive_query(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if is_sensitive_name(k) => format!("{k}={MASK}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

/// A shared, growing set of secret values. Cheap to clone.

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Remembers `value` as a secret (values shorter than 4 characters are ignored).
    pub fn add(&self, value: &str) {
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut secrets = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        if !secrets.iter().any(|s| s == value) {
            secrets.push(value.to_string());
            // Longest first, so a secret that contains another is masked whole.
            secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// The value of a header or parameter called `name`, as it may be shown.
    pub fn redact_named(&self, name: &str, value: &str) -> String {
        if is_sensitive_name(name) {
            MASK.to_string()
        } else {
            self.redact(value)
        }
    }

    /// Redacts every string in a JSON value, masking whole values under sensitive keys.
    pub fn redact_json(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_sensitive_name(k) && !v.is_null() {
                            Value::String(MASK.to_string())
                        } else {
                            self.redact_json(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_known_secrets_longest_first() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("abcdef-123");
        r.add("xy"); // too short to be masked
        assert_eq!(r.redact("key=abcdef-123 k2=abcd xy"), "key=*** k2=*** xy");
    }

    #[test]
    fn masks_sensitive_names_and_json_keys() {
        let r = Redactor::new();
        assert_eq!(r.redact_named("ApiKey", "anything"), MASK);
        assert_eq!(r.redact_named("accept", "json"), "json");
        let v = serde_json::json!({"token": "T0KEN-1", "nested": [{"apikey": "k"}], "n": 1});
        assert_eq!(
            r.redact_json(&v),
            serde_json::json!({"token": "***", "nested": [{"apikey": "***"}], "n": 1})
        );
    }
}
