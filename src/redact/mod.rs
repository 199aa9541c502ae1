//! Secrets never reach output: every string written to a terminal, a log or a report passes
//! through a [`Redactor`], which replaces known secret values by `***`.
//!
//! What is a secret is decided by what a value *is*, not by where it came from: the target's
//! provider credentials; the values of sensitive headers, query parameters and JSON keys
//! ([`is_sensitive_name`]: `apikey`, `authorization`, `*token*`, `*secret*`, `*password*`, …);
//! and the values of environment variables, `variables:` and captures whose name says they are
//! secrets ([`is_secret_name`]: `*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, …) or that the
//! scenario lists under `secrets:`. Other values — instance names, phone-number-ids read from
//! `HARNESS_*` variables — stay readable in failure output.
//!
//! The same [`Redactor`] keeps customers' personal data out of files (the `personal`
//! module): what the run learns of numbers, profile names and messages is masked by
//! [`Redactor::mask_personal_json`] wherever a file is written, unless `--show-personal-data`
//! (then the writers do not call it).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, RwLock};

use aho_corasick::AhoCorasick;

mod personal;
pub use personal::{embedded_json, phone_digits, Kind as PersonalKind};

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

/// Parts of a header, query-parameter or JSON key name that make its value a secret
/// (`refresh_token`, `client_secret`, `x-auth-token`, `adminPassword`).
const SENSITIVE_PARTS: &[&str] = &["token", "secret", "password", "passwd", "apikey", "api_key"];

/// Words of a variable name (split at `_`, `-`, `.`) that make its value a secret:
/// `HARNESS_EVOLUTION_API_KEY`, `DB_PASS`, `CRM_AUTH`. Matched as whole words, so that
/// `HARNESS_EVOLUTION_INSTANCE` or `PHONE_NUMBER_ID` are not.
const SECRET_WORDS: &[&str] = &[
    "key",
    "pass",
    "pwd",
    "auth",
    "credential",
    "credentials",
    "private",
    "signature",
    "bearer",
    "jwt",
    "cookie",
];

/// Whether a header, query-parameter or JSON key name carries a secret by its nature.
pub fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SENSITIVE_NAMES.contains(&lower.as_str()) || SENSITIVE_PARTS.iter().any(|p| lower.contains(p))
}

/// Whether an environment variable, scenario variable or capture called `name` holds a secret
/// by its name: a sensitive name, a secret word in it, or a camel-case `…Key` (`apiKey`).
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    is_sensitive_name(name)
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| SECRET_WORDS.contains(&w))
        || (name.ends_with("Key") && name.len() > 3)
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
    secrets: Arc<Mutex<Secrets>>,
    /// Variable names marked secret by the scenario (`secrets:`).
    marked: Arc<RwLock<Vec<String>>>,
    /// Customers' numbers, names and messages, masked in files ([`Redactor::mask_personal`]).
    personal: Arc<Mutex<personal::Personal>>,
}

/// The secret values, and the automaton that finds them all in one pass over a text (built
/// when first needed after a change): redacting costs the same with 3 secrets or with the
/// 10,000 tokens a load test captured, one per iteration.
#[derive(Debug, Default)]
struct Secrets {
    values: Vec<String>,
    known: HashSet<String>,
    finder: Option<AhoCorasick>,
}

impl Secrets {
    /// The byte ranges of `text` covered by secrets, overlapping matches merged: a secret that
    /// overlaps or contains another is masked whole.
    fn ranges(&mut self, text: &str) -> Vec<(usize, usize)> {
        if self.values.is_empty() {
            return Vec::new();
        }
        if self.finder.is_none() {
            self.finder = AhoCorasick::new(&self.values).ok();
        }
        let Some(finder) = &self.finder else {
            return Vec::new();
        };
        let mut found: Vec<(usize, usize)> = finder
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        found.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(found.len());
        for (start, end) in found {
            match merged.last_mut() {
                Some(last) if start < last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }
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
        let mut secrets = self.secrets.lock().unwrap_or_else(|e| e.into_inner());
        if secrets.known.insert(value.to_string()) {
            secrets.values.push(value.to_string());
            secrets.finder = None;
        }
    }

    /// Marks the variable `name` (environment, `variables:` or capture) as a secret, whatever
    /// its name says.
    pub fn mark_secret(&self, name: &str) {
        let mut marked = self.marked.write().unwrap_or_else(|e| e.into_inner());
        if !marked.iter().any(|m| m == name) {
            marked.push(name.to_string());
        }
    }

    /// Whether the value of the variable `name` is a secret: by its name, or marked so.
    pub fn is_secret_variable(&self, name: &str) -> bool {
        is_secret_name(name)
            || self
                .marked
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|m| m == name)
    }

    /// Learns `value` as a secret when the variable `name` holds one.
    pub fn learn_variable(&self, name: &str, value: &str) {
        if self.is_secret_variable(name) {
            self.add(value);
        }
    }

    /// Learns the value of a sensitive header or query parameter as a secret, so that it is
    /// masked wherever else it shows (an echo in a body, a log line); for `Bearer X` or
    /// `Basic X` the credential `X` too.
    pub fn learn_named(&self, name: &str, value: &str) {
        if !is_sensitive_name(name) {
            return;
        }
        self.add(value);
        if let Some((scheme, credential)) = value.split_once(' ') {
            if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic") {
                self.add(credential.trim());
            }
        }
    }

    /// Learns every string under a sensitive key of a JSON value (a `password` in a login
    /// body) as a secret.
    pub fn learn_json(&self, value: &serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::Array(items) => items.iter().for_each(|v| self.learn_json(v)),
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) if is_sensitive_name(k) => self.add(s),
                        other => self.learn_json(other),
                    }
                }
            }
            _ => {}
        }
    }

    /// `text` with every known secret replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        let ranges = self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .ranges(text);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end) in ranges {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Remembers a customer's number, name or message text, to be masked in files.
    pub fn learn_personal(&self, kind: PersonalKind, value: &str) {
        self.personal().add(kind, value);
    }

    /// Learns the personal values a provider payload carries, by its keys (see
    /// docs/privacy.md).
    pub fn learn_personal_json(&self, value: &serde_json::Value) {
        personal::learn_json(&mut self.personal(), value);
    }

    /// `text` as a file may hold it: customers' numbers, names and messages masked.
    pub fn mask_personal(&self, text: &str) -> String {
        self.personal().mask(text)
    }

    /// A JSON value as a file may hold it: the personal values it carries learnt, then every
    /// string masked as by [`Redactor::mask_personal`] (JSON bodies inside strings too).
    pub fn mask_personal_json(&self, value: &serde_json::Value) -> serde_json::Value {
        let mut personal = self.personal();
        personal::learn_json(&mut personal, value);
        personal::mask_json(&mut personal, value)
    }

    fn personal(&self) -> std::sync::MutexGuard<'_, personal::Personal> {
        self.personal.lock().unwrap_or_else(|e| e.into_inner())
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
    fn secrets_are_told_by_their_names_not_by_where_they_come_from() {
        for secret in [
            "HARNESS_EVOLUTION_API_KEY",
            "HARNESS_META_TOKEN",
            "HARNESS_META_APP_SECRET",
            "APP_ADMIN_PASSWORD",
            "DB_PASS",
            "MY_KEY",
            "apiKey",
            "refresh_token",
            "CRM_AUTH",
        ] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for plain in [
            "HARNESS_EVOLUTION_INSTANCE",
            "HARNESS_META_PHONE_NUMBER_ID",
            "HARNESS_WEBHOOK_URL",
            "customer",
            "MONKEY_COUNT",
            "bypass_count",
        ] {
            assert!(!is_secret_name(plain), "{plain}");
        }
        let r = Redactor::new();
        assert!(!r.is_secret_variable("session"));
        r.mark_secret("session");
        r.learn_variable("session", "S3SSION-ID");
        r.learn_variable("instance", "clinic-1");
        assert_eq!(r.redact("S3SSION-ID clinic-1"), "*** clinic-1");
    }

    #[test]
    fn values_of_auth_headers_and_sensitive_json_keys_are_learnt() {
        let r = Redactor::new();
        r.learn_named("Authorization", "Bearer eyJ-token-value");
        r.learn_named("accept", "application/json");
        r.learn_json(&serde_json::json!({"user": "ana", "creds": [{"password": "hunter22"}]}));
        assert_eq!(
            r.redact("echo eyJ-token-value hunter22 ana application/json"),
            "echo *** *** ana application/json"
        );
    }

    #[test]
    fn overlapping_secrets_are_masked_whole_and_many_secrets_stay_cheap() {
        let r = Redactor::new();
        r.add("abcd");
        r.add("cdef-long");
        assert_eq!(r.redact("x abcdef-long y"), "x *** y");
        for i in 0..20_000 {
            r.add(&format!("token-{i:08}"));
        }
        let text = "plain text ".repeat(1000) + "token-00019999";
        let start = std::time::Instant::now();
        for _ in 0..100 {
            assert!(r.redact(&text).ends_with("text ***"));
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
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
