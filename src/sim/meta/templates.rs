//! Message templates of a WhatsApp Business Account: the catalogue behind
//! `GET|POST|DELETE /{waba-id}/message_templates` and `GET|POST /{template-id}`, the review
//! lifecycle, and the checks a template send meets.
//!
//! Facts (Meta's "Message templates" and "Error codes" pages, mirrored by pywa
//! `pywa/api.py` `create_template`/`get_templates`/`delete_template`/`update_template` and
//! `tests/data/updates/template_*.json`):
//! - a template is (name, language) with a `category` (`AUTHENTICATION`, `MARKETING`,
//!   `UTILITY`), `components` (`HEADER`, `BODY`, `FOOTER`, `BUTTONS`) and an optional
//!   `parameter_format` (`POSITIONAL` `{{1}}` or `NAMED` `{{first_name}}`); creation answers
//!   `{"id", "status": "PENDING", "category"}`;
//! - review moves it to `APPROVED` or `REJECTED` (with a `reason`) and Meta sends a
//!   `message_template_status_update` webhook; quality changes send
//!   `message_template_quality_update`; a template can be `PAUSED` or `DISABLED`;
//! - every WABA starts with Meta's sample `hello_world` in `en_US`, approved;
//! - a send names (name, language): 132001 when no such approved template exists, 132015 when
//!   paused, 132016 when disabled, 132000 when the parameter count per component differs,
//!   132012 when a parameter's format differs from the template's.

use serde_json::{json, Value};

use super::graph::{filter_fields, GraphError};

/// Review outcome or later state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateStatus {
    Pending,
    Approved,
    Rejected,
    Paused,
    Disabled,
}

impl TemplateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateStatus::Pending => "PENDING",
            TemplateStatus::Approved => "APPROVED",
            TemplateStatus::Rejected => "REJECTED",
            TemplateStatus::Paused => "PAUSED",
            TemplateStatus::Disabled => "DISABLED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_uppercase().as_str() {
            "PENDING" => TemplateStatus::Pending,
            "APPROVED" => TemplateStatus::Approved,
            "REJECTED" => TemplateStatus::Rejected,
            "PAUSED" => TemplateStatus::Paused,
            "DISABLED" => TemplateStatus::Disabled,
            _ => return None,
        })
    }
}

pub const CATEGORIES: &[&str] = &["AUTHENTICATION", "MARKETING", "UTILITY"];

/// One stored template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub components: Vec<Value>,
    /// `POSITIONAL` or `NAMED`.
    pub parameter_format: String,
    pub status: TemplateStatus,
    /// Why review rejected it (`NONE` otherwise).
    pub reason: String,
    /// `GREEN`, `YELLOW`, `RED` or `UNKNOWN` (new templates).
    pub quality: String,
}

impl Template {
    /// Meta's sample template, present in every WABA.
    pub fn hello_world(id: String) -> Self {
        Template {
            id,
            name: "hello_world".into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            components: vec![
                json!({"type": "HEADER", "format": "TEXT", "text": "Hello World"}),
                json!({"type": "BODY", "text": "Welcome and congratulations!! This message \
                    demonstrates your ability to send a WhatsApp message notification from the \
                    Cloud API, hosted by Meta. Thank you for taking the time to test with us."}),
                json!({"type": "FOOTER", "text": "WhatsApp Business Platform sample message"}),
            ],
            parameter_format: "POSITIONAL".into(),
            status: TemplateStatus::Approved,
            reason: "NONE".into(),
            quality: "GREEN".into(),
        }
    }

    /// The Graph object (`GET /{template-id}`, items of the list), filtered by `fields`.
    pub fn describe(&self, fields: Option<&str>) -> Value {
        let full = json!({
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status.as_str(),
            "category": self.category,
            "quality_score": {"score": self.quality},
            "rejected_reason": self.reason,
            "id": self.id,
        });
        filter_fields(full, fields)
    }

    /// The `message_template_status_update` webhook value.
    pub fn status_update(&self) -> Value {
        let mut v = json!({
            "event": self.status.as_str(),
            "message_template_id": self.id.parse::<u64>().map_or(json!(self.id), |n| json!(n)),
            "message_template_name": self.name,
            "message_template_language": self.language,
            "reason": self.reason,
            "message_template_category": self.category,
        });
        if self.status == TemplateStatus::Rejected {
            v["rejection_info"] = json!({"reason": rejection_text(&self.reason),
                "recommendation": "Fix the template and submit it again."});
        }
        v
    }

    /// The `message_template_quality_update` webhook value.
    pub fn quality_update(&self, previous: &str) -> Value {
        json!({
            "previous_quality_score": previous,
            "new_quality_score": self.quality,
            "message_template_id": self.id.parse::<u64>().map_or(json!(self.id), |n| json!(n)),
            "message_template_name": self.name,
            "message_template_language": self.language,
        })
    }

    /// The pricing category of a send of this template (`marketing`, `utility`, …).
    pub fn pricing_category(&self) -> String {
        self.category.to_ascii_lowercase()
    }
}

fn rejection_text(reason: &str) -> &'static str {
    match reason {
        "INVALID_FORMAT" => {
            "Your template has parameters placed next to each other (like {{1}}{{2}}) or at \
             the start or end of the body, or parameters that are not numbered in sequence."
        }
        _ => "The template does not comply with WhatsApp's policies.",
    }
}

/// `{{1}}`, `{{name}}` placeholders in order of appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push(after[..end].trim().to_string());
        rest = &after[end + 2..];
    }
    out
}

fn component<'a>(components: &'a [Value], kind: &str) -> Option<&'a Value> {
    components.iter().find(|c| {
        c["type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case(kind))
    })
}

fn bad(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

/// Validates a creation body; returns (name, language, category, components, format).
pub fn parse_create(body: &Value) -> Result<Template, GraphError> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let name = s("name");
    if name.is_empty() {
        return Err(GraphError::param_required("name"));
    }
    if name.len() > 512
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(bad(
            "Param name must contain only lowercase letters, digits and underscores (at most 512).",
        ));
    }
    let language = s("language");
    if language.is_empty() {
        return Err(GraphError::param_required("language"));
    }
    let category = s("category").to_ascii_uppercase();
    if category.is_empty() {
        return Err(GraphError::param_required("category"));
    }
    if !CATEGORIES.contains(&category.as_str()) {
        return Err(bad(format!(
            "Param category must be one of {{AUTHENTICATION, MARKETING, UTILITY}} - got \"{}\".",
            s("category")
        )));
    }
    let format = match s("parameter_format").to_ascii_uppercase().as_str() {
        "" | "POSITIONAL" => "POSITIONAL",
        "NAMED" => "NAMED",
        _ => {
            return Err(bad(
                "Param parameter_format must be one of {POSITIONAL, NAMED}.",
            ))
        }
    };
    let Some(components) = body.get("components").and_then(Value::as_array) else {
        return Err(GraphError::param_required("components"));
    };
    check_components(components)?;
    Ok(Template {
        id: String::new(),
        name: name.to_string(),
        language: language.to_string(),
        category,
        components: components.clone(),
        parameter_format: format.to_string(),
        status: TemplateStatus::Pending,
        reason: "NONE".into(),
        quality: "UNKNOWN".into(),
    })
}

/// Synchronous component checks: a BODY, known types, examples for variables.
pub fn check_components(components: &[Value]) -> Result<(), GraphError> {
    const TYPES: &[&str] = &["HEADER", "BODY", "FOOTER", "BUTTONS"];
    for c in components {
        let t = c["type"].as_str().unwrap_or_default().to_ascii_uppercase();
        if !TYPES.contains(&t.as_str()) {
            return Err(bad(format!(
                "Param components[type] must be one of {{HEADER, BODY, FOOTER, BUTTONS}} - got \"{t}\"."
            )));
        }
    }
    check_parts(components)?;
    let Some(body) = component(components, "BODY") else {
        return Err(bad("A template needs a BODY component."));
    };
    let text = body["text"].as_str().unwrap_or_default();
    if text.is_empty() || text.chars().count() > 1024 {
        return Err(bad("The BODY text must be 1 to 1024 characters long."));
    }
    for c in components {
        let vars = placeholders(c["text"].as_str().unwrap_or_default());
        if !vars.is_empty() && c.get("example").is_none() {
            let mut e = bad(format!(
                "{} has variables but no example values (components[example]).",
                c["type"].as_str().unwrap_or_default()
            ));
            e.subcode = Some(2388043);
            return Err(e);
        }
    }
    Ok(())
}

/// HEADER (format, text ≤ 60 with at most one variable), FOOTER (≤ 60, no variables) and
/// BUTTONS (1 to 10, text ≤ 25, a `url` on URL buttons, a `phone_number` on phone buttons).
fn check_parts(components: &[Value]) -> Result<(), GraphError> {
    const FORMATS: &[&str] = &["TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"];
    const BUTTONS: &[&str] = &[
        "QUICK_REPLY",
        "URL",
        "PHONE_NUMBER",
        "COPY_CODE",
        "OTP",
        "FLOW",
        "CATALOG",
        "MPM",
    ];
    let text = |c: &Value| c["text"].as_str().unwrap_or_default().to_string();
    if let Some(h) = component(components, "HEADER") {
        let format = h["format"].as_str().unwrap_or("TEXT").to_ascii_uppercase();
        if !FORMATS.contains(&format.as_str()) {
            return Err(bad(format!(
                "Param components[HEADER][format] must be one of {FORMATS:?}."
            )));
        }
        let t = text(h);
        if format == "TEXT"
            && (t.is_empty() || t.chars().count() > 60 || placeholders(&t).len() > 1)
        {
            return Err(bad(
                "A TEXT header needs 1 to 60 characters and at most one variable.",
            ));
        }
    }
    if let Some(f) = component(components, "FOOTER") {
        let t = text(f);
        if t.is_empty() || t.chars().count() > 60 || !placeholders(&t).is_empty() {
            return Err(bad("A FOOTER needs 1 to 60 characters and no variables."));
        }
    }
    if let Some(b) = component(components, "BUTTONS") {
        let list = b["buttons"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if !(1..=10).contains(&list.len()) {
            return Err(bad("BUTTONS must hold 1 to 10 buttons."));
        }
        for btn in list {
            let kind = btn["type"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let t = text(btn);
            let ok = BUTTONS.contains(&kind.as_str())
                && t.chars().count() <= 25
                && (kind != "URL" || btn["url"].is_string())
                && (kind != "PHONE_NUMBER" || btn["phone_number"].is_string());
            if !ok {
                return Err(bad(format!(
                    "Invalid {kind} button: text at most 25 characters, type one of {BUTTONS:?}, \
                     url / phone_number where its type needs one."
                )));
            }
        }
    }
    Ok(())
}

/// The review rules: `Some(reason)` rejects. Meta rejects adjacent variables, variables at
/// the start or end of the body, and positional variables not numbered 1, 2, 3, ….
pub fn review(t: &Template) -> Option<&'static str> {
    let body = component(&t.components, "BODY")?["text"].as_str()?.trim();
    let vars = placeholders(body);
    let adjacent = body.contains("}}{{");
    let at_edges = body.starts_with("{{") || body.ends_with("}}");
    let out_of_sequence = t.parameter_format == "POSITIONAL"
        && vars
            .iter()
            .enumerate()
            .any(|(i, v)| *v != (i + 1).to_string());
    (adjacent || at_edges || out_of_sequence).then_some("INVALID_FORMAT")
}

/// The parameters a send gives for one component kind (`body`, `header`, `button`).
fn sent_params<'a>(sent: &'a [Value], kind: &str) -> Vec<&'a Value> {
    sent.iter()
        .filter(|c| {
            c["type"]
                .as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
        .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
        .collect()
}

fn count_mismatch(kind: &str, got: usize, want: usize) -> GraphError {
    GraphError::template_error(
        132000,
        "Number of parameters does not match the expected number of params",
        format!("{kind}: number of localizable_params ({got}) does not match the expected number of params ({want})"),
    )
}

fn format_mismatch(details: String) -> GraphError {
    GraphError::template_error(
        132012,
        "Parameter format does not match format in the created template",
        details,
    )
}

/// Checks a send's `template.components` against the stored template (132000, 132012).
pub fn check_send_params(t: &Template, sent: &[Value]) -> Result<(), GraphError> {
    let named = t.parameter_format == "NAMED";
    for (kind, upper) in [("header", "HEADER"), ("body", "BODY")] {
        let stored = component(&t.components, upper);
        let got = sent_params(sent, kind);
        let header_media = stored
            .and_then(|c| c["format"].as_str())
            .map(str::to_ascii_lowercase)
            .filter(|f| ["image", "video", "document", "location"].contains(&f.as_str()));
        if let Some(media) = header_media {
            check_media_header(&media, &got)?;
            continue;
        }
        let want = stored
            .map(|c| placeholders(c["text"].as_str().unwrap_or_default()))
            .unwrap_or_default();
        if got.len() != want.len() {
            return Err(count_mismatch(kind, got.len(), want.len()));
        }
        for (p, var) in got.iter().zip(&want) {
            check_text_param(kind, p, named.then_some(var.as_str()))?;
        }
    }
    check_url_buttons(t, sent)
}

/// A URL button whose `url` has a variable needs a `{type: button, sub_type: url, index}`
/// component with one text parameter.
fn check_url_buttons(t: &Template, sent: &[Value]) -> Result<(), GraphError> {
    let Some(buttons) = component(&t.components, "BUTTONS").and_then(|b| b["buttons"].as_array())
    else {
        return Ok(());
    };
    for (i, b) in buttons.iter().enumerate() {
        let dynamic = b["type"]
            .as_str()
            .is_some_and(|k| k.eq_ignore_ascii_case("URL"))
            && !placeholders(b["url"].as_str().unwrap_or_default()).is_empty();
        if !dynamic {
            continue;
        }
        let index = |c: &Value| match &c["index"] {
            Value::String(s) => s.parse::<usize>().ok(),
            v => v.as_u64().map(|n| n as usize),
        };
        let got: Vec<&Value> = sent
            .iter()
            .filter(|c| c["type"] == "button" && index(c) == Some(i))
            .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
            .collect();
        if got.len() != 1 {
            return Err(count_mismatch(&format!("button {i}"), got.len(), 1));
        }
        check_text_param("button", got[0], None)?;
    }
    Ok(())
}

fn check_media_header(media: &str, got: &[&Value]) -> Result<(), GraphError> {
    match got {
        [] => Err(count_mismatch("header", 0, 1)),
        [p] if p["type"] == media && p.get(media).is_some_and(Value::is_object) => Ok(()),
        [p] => Err(format_mismatch(format!(
            "header: parameter type {} does not match the template's {} header",
            p["type"],
            media.to_ascii_uppercase()
        ))),
        _ => Err(count_mismatch("header", got.len(), 1)),
    }
}

fn check_text_param(kind: &str, p: &Value, name: Option<&str>) -> Result<(), GraphError> {
    let t = p["type"].as_str().unwrap_or_default();
    let ok_type = ["text", "currency", "date_time"].contains(&t);
    let text_ok = t != "text" || p["text"].as_str().is_some_and(|s| !s.trim().is_empty());
    if !ok_type || !text_ok {
        return Err(format_mismatch(format!(
            "{kind}: parameter of type \"{t}\" must be a non-empty text, currency or date_time"
        )));
    }
    if let Some(name) = name {
        if p["parameter_name"].as_str() != Some(name) {
            return Err(format_mismatch(format!(
                "{kind}: the template uses named parameters; expected parameter_name \"{name}\""
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(body: Value) -> Template {
        parse_create(&body).unwrap()
    }

    fn order() -> Value {
        json!({"name":"order_update","language":"en_US","category":"utility","components":[
            {"type":"BODY","text":"Hi {{1}}, order {{2}} is ready.",
             "example":{"body_text":[["Ann","42"]]}}]})
    }

    #[test]
    fn create_validates_and_review_decides() {
        let t = created(order());
        assert_eq!(
            (t.category.as_str(), t.status),
            ("UTILITY", TemplateStatus::Pending)
        );
        assert_eq!(review(&t), None);
        let mut bad_body = order();
        bad_body["components"][0]["text"] = json!("Hi {{1}}{{2}} now");
        assert_eq!(review(&created(bad_body)), Some("INVALID_FORMAT"));
        let mut no_example = order();
        no_example["components"][0]
            .as_object_mut()
            .unwrap()
            .remove("example");
        assert_eq!(
            parse_create(&no_example).unwrap_err().subcode,
            Some(2388043)
        );
        let mut cat = order();
        cat["category"] = json!("PROMO");
        assert_eq!(parse_create(&cat).unwrap_err().code, 100);
        let mut name = order();
        name["name"] = json!("Bad Name");
        assert_eq!(parse_create(&name).unwrap_err().code, 100);
    }

    #[test]
    fn sends_are_checked_against_the_template() {
        let t = created(order());
        let p = |s: &str| json!({"type":"text","text":s});
        let body = |ps: Vec<Value>| vec![json!({"type":"body","parameters":ps})];
        assert!(check_send_params(&t, &body(vec![p("Ann"), p("42")])).is_ok());
        assert_eq!(
            check_send_params(&t, &body(vec![p("Ann")]))
                .unwrap_err()
                .code,
            132000
        );
        assert_eq!(check_send_params(&t, &[]).unwrap_err().code, 132000);
        let img = json!({"type":"image","image":{"link":"http://x"}});
        assert_eq!(
            check_send_params(&t, &body(vec![p("Ann"), img]))
                .unwrap_err()
                .code,
            132012
        );
        let mut with_url = order();
        with_url["components"].as_array_mut().unwrap().push(
            json!({"type":"BUTTONS","buttons":[{"type":"URL","text":"Track",
                "url":"https://x.example/{{1}}","example":["https://x.example/42"]}]}),
        );
        let u = created(with_url);
        let two = || vec![p("Ann"), p("42")];
        assert_eq!(
            check_send_params(&u, &body(two())).unwrap_err().code,
            132000
        );
        let mut sent = body(two());
        sent.push(json!({"type":"button","sub_type":"url","index":"0","parameters":[p("42")]}));
        assert!(check_send_params(&u, &sent).is_ok());
        let mut bad_parts = order();
        bad_parts["components"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type":"FOOTER","text":"x".repeat(61)}));
        assert_eq!(parse_create(&bad_parts).unwrap_err().code, 100);
        let hello = Template::hello_world("1".into());
        assert!(check_send_params(&hello, &[]).is_ok());
        assert_eq!(
            check_send_params(&hello, &body(vec![p("x")]))
                .unwrap_err()
                .code,
            132000
        );
    }

    #[test]
    fn named_parameters_need_their_names() {
        let t = created(
            json!({"name":"n","language":"es","category":"UTILITY","parameter_format":"NAMED",
            "components":[{"type":"BODY","text":"Hi {{first}}.","example":{}}]}),
        );
        let sent = |name: &str| {
            vec![json!({"type":"body","parameters":[
            {"type":"text","text":"Ana","parameter_name":name}]})]
        };
        assert!(check_send_params(&t, &sent("first")).is_ok());
        assert_eq!(
            check_send_params(&t, &sent("last")).unwrap_err().code,
            132012
        );
    }

    #[test]
    fn placeholders_in_order() {
        assert_eq!(placeholders("a {{1}} b {{ name }}"), vec!["1", "name"]);
        assert!(placeholders("none").is_empty());
    }
}
