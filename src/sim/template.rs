//! Response templates of the dependency simulators (LLM replies, HTTP stubs): minijinja over
//! a context, applied to a string or to every string of a JSON document.
//!
//! A template that fails to render is answered as written (and logged): a stub's typo must
//! show up in the app's behaviour and the journal, not crash the simulator.

use serde::Serialize;
use serde_json::Value;

/// Renders `text` over `ctx`; text without `{{`/`{%` is returned as is (no engine built).
pub fn render(text: &str, ctx: &impl Serialize) -> String {
    if !text.contains("{{") && !text.contains("{%") {
        return text.to_string();
    }
    minijinja::Environment::new()
        .render_str(
            text,
            minijinja::value::Value::from(minijinja::value::Serde(ctx)),
        )
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "simulator response template failed");
            text.to_string()
        })
}

/// Renders every string of `value`.
pub fn render_value(value: &Value, ctx: &impl Serialize) -> Value {
    match value {
        Value::String(s) => Value::String(render(s, ctx)),
        Value::Array(a) => Value::Array(a.iter().map(|x| render_value(x, ctx)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), render_value(x, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_render_and_errors_leave_the_text() {
        let ctx = serde_json::json!({"a": {"b": "x"}});
        assert_eq!(render("v={{ a.b }}", &ctx), "v=x");
        assert_eq!(render("plain", &ctx), "plain");
        assert_eq!(render("{{ a.b | nope }}", &ctx), "{{ a.b | nope }}");
        let v = render_value(&serde_json::json!({"k": ["{{ a.b }}", 1]}), &ctx);
        assert_eq!(v, serde_json::json!({"k": ["x", 1]}));
    }
}
