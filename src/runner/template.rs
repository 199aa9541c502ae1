//! Templating of scenario strings.
//!
//! Two passes: `${VAR}` / `${VAR:-default}` read the environment (a value whose variable is a
//! secret by its name or the scenario's `secrets:` is handed to the [`Redactor`]); then `{{ expression }}` is rendered by minijinja over
//! the run's variables, with strict undefined-variable errors and these built-ins:
//! `uuid()`, `now()` (RFC 3339, UTC), `timestamp()` (Unix seconds), `phone()` (a phone number
//! unique within the run), `seq()` (1, 2, 3, … within the run).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use minijinja::{Environment, UndefinedBehavior};
use regex::Regex;
use serde_json::Value;

use crate::redact::Redactor;

/// Where `${VAR}` values come from: the process environment, or a map in tests.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok())
}

/// A failed rendering: the template and why.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
}

static ENV_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}").expect("valid regex")
});

/// Renders templates for one run (or one load-test iteration): shared built-in counters,
/// the environment and the redactor.
#[derive(Clone)]
pub struct Templater {
    env: Arc<Environment<'static>>,
    lookup: EnvLookup,
    redactor: Redactor,
}

impl std::fmt::Debug for Templater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templater").finish_non_exhaustive()
    }
}

/// How `seq()` and `phone()` count: one process counts 1, 2, 3… from a random phone base;
/// shard I of N (`harness load --shard`) strides by N from offset I−1, so shards never share
/// a value (phones: when they share the base, see `load::shard::Shard::phone_base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub stride: u64,
    pub offset: u64,
    pub phone_base: Option<u64>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            stride: 1,
            offset: 0,
            phone_base: None,
        }
    }
}

impl Templater {
    pub fn new(lookup: EnvLookup, redactor: Redactor) -> Self {
        Self::with_counters(lookup, redactor, Counters::default())
    }

    /// This templater with other counters (fresh ones), the environment and redactor kept.
    pub fn recounted(&self, counters: Counters) -> Self {
        Self::with_counters(self.lookup.clone(), self.redactor.clone(), counters)
    }

    pub fn with_counters(lookup: EnvLookup, redactor: Redactor, counters: Counters) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        // Templates are compiled once: the loader's "name" is the template's source, so
        // `get_template` compiles a string on first use and then finds it in the
        // environment's cache (a scenario has a fixed set of template strings).
        env.set_loader(|source| Ok(Some(source.to_string())));
        let seq = Arc::new(AtomicU64::new(0));
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function("now", || {
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
        });
        env.add_function("timestamp", || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
        // Phone numbers: a random 9-digit base per run plus a counter, so numbers are unique
        // within a run and unlikely to collide across runs that share a simulator.
        let base = counters
            .phone_base
            .unwrap_or_else(|| rand::random_range(100_000_000..800_000_000));
        let phones = Arc::new(AtomicU64::new(0));
        let Counters { stride, offset, .. } = counters;
        env.add_function("phone", move || {
            let k = phones.fetch_add(1, Ordering::Relaxed);
            format!("5511{}", base + k * stride + offset)
        });
        env.add_function("seq", move || {
            seq.fetch_add(1, Ordering::Relaxed) * stride + offset + 1
        });
        Self {
            env: Arc::new(env),
            lookup,
            redactor,
        }
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Renders one template string.
    pub fn render(&self, template: &str, vars: &Vars) -> Result<String, TemplateError> {
        let with_env = self.interpolate_env(template)?;
        if !with_env.contains("{{") && !with_env.contains("{%") {
            return Ok(with_env);
        }
        self.env
            .get_template(&with_env)
            .and_then(|t| t.render(minijinja::Value::from(minijinja::value::Serde(&vars.0))))
            .map_err(|e| TemplateError {
                message: describe(&e, template),
            })
    }

    /// Renders every string leaf of a JSON value (keys are left as written).
    pub fn render_json(&self, value: &Value, vars: &Vars) -> Result<Value, TemplateError> {
        Ok(match value {
            Value::String(s) => Value::String(self.render(s, vars)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, vars))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v, vars)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn interpolate_env(&self, template: &str) -> Result<String, TemplateError> {
        if !template.contains("${") {
            return Ok(template.to_string());
        }
        let mut missing = None;
        let out = ENV_REF.replace_all(template, |caps: &regex::Captures<'_>| {
            let name = &caps[1];
            match ((self.lookup)(name), caps.get(2)) {
                (Some(value), _) => {
                    self.redactor.learn_variable(name, &value);
                    value
                }
                (None, Some(default)) => default.as_str().to_string(),
                (None, None) => {
                    missing.get_or_insert_with(|| name.to_string());
                    String::new()
                }
            }
        });
        match missing {
            Some(name) => Err(TemplateError {
                message: format!(
                    "environment variable `{name}` is not set: export it, or give a default with `${{{name}:-value}}`"
                ),
            }),
            None => Ok(out.into_owned()),
        }
    }
}

fn describe(error: &minijinja::Error, template: &str) -> String {
    let detail = error.detail().map(|d| format!(": {d}")).unwrap_or_default();
    let kind = match error.kind() {
        minijinja::ErrorKind::UndefinedError => "undefined variable".to_string(),
        other => other.to_string(),
    };
    format!("cannot render `{template}`: {kind}{detail}")
}

/// The variables visible to templates: scenario `variables`, captures, and the target's
/// `provider.*` / `app.*` maps. Values are JSON so that captures keep their type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vars(pub BTreeMap<String, Value>);

impl Vars {
    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.0.insert(name.into(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn templater(env: &[(&str, &str)]) -> Templater {
        let env: BTreeMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Templater::new(Arc::new(move |k| env.get(k).cloned()), Redactor::new())
    }

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set("instance", json!("smoke-1"));
        v.set(
            "provider",
            json!({"url": "http://127.0.0.1:1", "api_key": "KEY"}),
        );
        v.set("count", json!(3));
        v
    }

    #[test]
    fn renders_variables_and_nested_maps() {
        let t = templater(&[]);
        assert_eq!(
            t.render(
                "{{ provider.url }}/instance/connect/{{ instance }}",
                &vars()
            )
            .unwrap(),
            "http://127.0.0.1:1/instance/connect/smoke-1"
        );
        assert_eq!(t.render("n={{count + 1}}", &vars()).unwrap(), "n=4");
        assert_eq!(t.render("plain text", &vars()).unwrap(), "plain text");
    }

    #[test]
    fn undefined_variable_is_an_error_naming_it() {
        let err = templater(&[]).render("{{ nope }}", &vars()).unwrap_err();
        assert!(err.message.contains("undefined"), "{}", err.message);
        assert!(err.message.contains("{{ nope }}"), "{}", err.message);
    }

    #[test]
    fn env_values_are_read_defaulted_and_become_secrets() {
        let t = templater(&[("API_KEY", "s3cr3t-value")]);
        assert_eq!(t.render("k=${API_KEY}", &vars()).unwrap(), "k=s3cr3t-value");
        assert_eq!(
            t.render("${MISSING:-fallback}", &vars()).unwrap(),
            "fallback"
        );
        assert_eq!(t.render("${MISSING:-}", &vars()).unwrap(), "");
        assert_eq!(t.redactor().redact("x s3cr3t-value y"), "x *** y");
        // A value whose name says nothing secret stays readable.
        let t = templater(&[("HARNESS_EVOLUTION_INSTANCE", "clinica-centro")]);
        let name = t.render("${HARNESS_EVOLUTION_INSTANCE}", &vars()).unwrap();
        assert_eq!(t.redactor().redact(&name), "clinica-centro");
        let err = t.render("${MISSING}", &vars()).unwrap_err();
        assert!(
            err.message.contains("`MISSING` is not set"),
            "{}",
            err.message
        );
    }

    #[test]
    fn builtins_are_fresh_and_unique() {
        let t = templater(&[]);
        let a = t.render("{{ uuid() }}", &vars()).unwrap();
        let b = t.render("{{ uuid() }}", &vars()).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        let p1 = t.render("{{ phone() }}", &vars()).unwrap();
        let p2 = t.render("{{ phone() }}", &vars()).unwrap();
        assert_ne!(p1, p2);
        assert!(p1.starts_with("5511") && p1.len() == 13, "{p1}");
        assert_eq!(t.render("{{ seq() }},{{ seq() }}", &vars()).unwrap(), "1,2");
        // Shard 2 of 3 strides by 3 from 2, and phones from a shared base likewise.
        let shard = t.recounted(Counters {
            stride: 3,
            offset: 1,
            phone_base: Some(100_000_000),
        });
        assert_eq!(
            shard
                .render(
                    "{{ seq() }},{{ seq() }} {{ phone() }},{{ phone() }}",
                    &vars()
                )
                .unwrap(),
            "2,5 5511100000001,5511100000004"
        );
        assert!(t.render("{{ now() }}", &vars()).unwrap().ends_with('Z'));
        let ts: u64 = t
            .render("{{ timestamp() }}", &vars())
            .unwrap()
            .parse()
            .unwrap();
        assert!(ts > 1_700_000_000);
    }

    #[test]
    fn renders_json_leaves_only() {
        let t = templater(&[]);
        let body = json!({"instanceName": "{{ instance }}", "n": 1, "list": ["{{ count }}"]});
        assert_eq!(
            t.render_json(&body, &vars()).unwrap(),
            json!({"instanceName": "smoke-1", "n": 1, "list": ["3"]})
        );
    }
}
