//! Validation of `POST /{phone-number-id}/messages` bodies.
//!
//! The edge serves three requests, told apart by the body (reference §1.2): a send (`type`,
//! default `text`), a read receipt (`status: "read"` and no `type`) and a read receipt with a
//! typing indicator. [`parse_messages_request`] turns the JSON into a [`MessagesRequest`] or the
//! Graph error the real API gives: top-level Graph parameters (`messaging_product`, `to`) fail
//! with code 100, missing fields inside the message object with 131008, bad values with 131009
//! or 100, unknown types with 131051. Limits follow Meta's documentation and the checks that
//! whatsapp-api-js makes on the client side.

pub mod interactive;

use serde_json::Value;

use super::graph::GraphError;
use super::ids::normalize_phone;
use interactive::check_interactive;

/// Maximum length of a text body.
pub const MAX_TEXT_BODY: usize = 4096;

/// Who a send is addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// `to`: a phone number (normalised to digits).
    Phone(String),
    /// `recipient`: a business-scoped user id.
    UserId(String),
}

/// A parsed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    pub recipient: Recipient,
    /// What was sent as `to` / `recipient` (echoed in `contacts[0].input`).
    pub input: String,
    /// `text`, `template`, `interactive`, `reaction`, `image`, …
    pub kind: String,
    /// The human-readable text, when there is one (text body, interactive body, template name).
    pub text: Option<String>,
    pub biz_opaque_callback_data: Option<String>,
}

impl SendRequest {
    /// Templates may be sent outside the 24-hour customer-service window; nothing else may.
    pub fn needs_service_window(&self) -> bool {
        self.kind != "template"
    }
}

/// What a `/messages` POST asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessagesRequest {
    Send(SendRequest),
    /// Mark an inbound message (and the earlier ones) as read; optionally show "typing…".
    MarkRead {
        message_id: String,
        typing: bool,
    },
}

const MEDIA_TYPES: &[&str] = &["image", "audio", "video", "document", "sticker"];
const OTHER_TYPES: &[&str] = &["location", "contacts"];

/// Parses and validates a `/messages` body.
pub fn parse_messages_request(body: &Value) -> Result<MessagesRequest, GraphError> {
    let Some(obj) = body.as_object() else {
        return Err(GraphError::param_required("messaging_product"));
    };
    match obj.get("messaging_product").and_then(Value::as_str) {
        None => return Err(GraphError::param_required("messaging_product")),
        Some(p) if !p.eq_ignore_ascii_case("whatsapp") => {
            return Err(GraphError::invalid_parameter(format!(
                "Param messaging_product must be one of {{WHATSAPP}} - got \"{p}\"."
            )))
        }
        Some(_) => {}
    }
    if obj.contains_key("status") && !obj.contains_key("type") {
        return parse_mark_read(body);
    }
    parse_send(body)
}

fn parse_mark_read(body: &Value) -> Result<MessagesRequest, GraphError> {
    if body["status"] != "read" {
        return Err(GraphError::invalid_parameter(
            "Param status must be one of {READ}.",
        ));
    }
    let message_id = match body.get("message_id").and_then(Value::as_str) {
        Some(id) if !id.is_empty() => id.to_string(),
        _ => return Err(GraphError::param_required("message_id")),
    };
    let typing = match body.get("typing_indicator") {
        None => false,
        Some(t) if t["type"] == "text" => true,
        Some(_) => {
            return Err(GraphError::invalid_parameter(
                "Param typing_indicator[type] must be one of {TEXT}.",
            ))
        }
    };
    Ok(MessagesRequest::MarkRead { message_id, typing })
}

fn parse_recipient(body: &Value) -> Result<(Recipient, String), GraphError> {
    if let Some(r) = body.get("recipient").and_then(Value::as_str) {
        if !r.is_empty() {
            return Ok((Recipient::UserId(r.to_string()), r.to_string()));
        }
    }
    let to = match body.get("to") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(GraphError::param_required("to")),
    };
    let digits = normalize_phone(&to);
    if !(5..=15).contains(&digits.len()) {
        return Err(GraphError::invalid_parameter(format!(
            "Invalid 'to' parameter: '{to}' is not a valid phone number."
        )));
    }
    Ok((Recipient::Phone(digits), to))
}

fn parse_send(body: &Value) -> Result<MessagesRequest, GraphError> {
    match body.get("recipient_type").and_then(Value::as_str) {
        None | Some("individual") | Some("group") => {}
        Some(other) => {
            return Err(GraphError::invalid_parameter(format!(
                "Param recipient_type must be one of {{INDIVIDUAL, GROUP}} - got \"{other}\"."
            )))
        }
    }
    let (recipient, input) = parse_recipient(body)?;
    let kind = match body.get("type") {
        None => "text".to_string(),
        Some(Value::String(t)) => t.clone(),
        Some(_) => {
            return Err(GraphError::invalid_parameter(
                "Param type must be a string.",
            ))
        }
    };
    // `contacts` is an array (Meta's own form); every other type is an object.
    let content = match body.get(kind.as_str()) {
        Some(c) if c.is_object() && kind != "contacts" => c,
        Some(c) if c.is_array() && kind == "contacts" => c,
        _ if kind_is_known(&kind) => return Err(GraphError::param_required(&kind)),
        _ => return Err(GraphError::unsupported_type(&kind)),
    };
    let text = match kind.as_str() {
        "text" => Some(check_text(content)?),
        "template" => Some(check_template(content)?),
        "interactive" => check_interactive(content)?,
        "reaction" => check_reaction(content)?,
        k if MEDIA_TYPES.contains(&k) => check_media(k, content)?,
        "location" => check_location(content)?,
        "contacts" => check_contacts(content)?,
        k => return Err(GraphError::unsupported_type(k)),
    };
    Ok(MessagesRequest::Send(SendRequest {
        recipient,
        input,
        kind,
        text,
        biz_opaque_callback_data: body
            .get("biz_opaque_callback_data")
            .and_then(Value::as_str)
            .map(str::to_string),
    }))
}

fn kind_is_known(kind: &str) -> bool {
    ["text", "template", "interactive", "reaction"].contains(&kind)
        || MEDIA_TYPES.contains(&kind)
        || OTHER_TYPES.contains(&kind)
}

pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn check_text(content: &Value) -> Result<String, GraphError> {
    let body = match str_field(content, "body") {
        Some(b) if !b.trim().is_empty() => b,
        _ => {
            return Err(GraphError::missing_required(
                "The parameter text['body'] is required.",
            ))
        }
    };
    if body.chars().count() > MAX_TEXT_BODY {
        return Err(GraphError::invalid_parameter(format!(
            "Param text['body'] must be at most {MAX_TEXT_BODY} characters long."
        )));
    }
    Ok(body.to_string())
}

fn check_template(content: &Value) -> Result<String, GraphError> {
    let name = match str_field(content, "name") {
        Some(n) if !n.is_empty() => n,
        _ => {
            return Err(GraphError::missing_required(
                "The parameter template['name'] is required.",
            ))
        }
    };
    match content.get("language").and_then(|l| str_field(l, "code")) {
        Some(c) if !c.is_empty() => Ok(name.to_string()),
        _ => Err(GraphError::missing_required(
            "The parameter template['language']['code'] is required.",
        )),
    }
}

pub(super) fn check_len(what: &str, s: &str, min: usize, max: usize) -> Result<(), GraphError> {
    let n = s.chars().count();
    if n < min || n > max {
        return Err(GraphError::invalid_value(format!(
            "{what} must be between {min} and {max} characters long."
        )));
    }
    Ok(())
}

fn check_reaction(content: &Value) -> Result<Option<String>, GraphError> {
    match str_field(content, "message_id") {
        Some(id) if !id.is_empty() => {}
        _ => {
            return Err(GraphError::missing_required(
                "The parameter reaction['message_id'] is required.",
            ))
        }
    }
    // An empty emoji removes the reaction.
    Ok(str_field(content, "emoji").map(str::to_string))
}

/// Media by `id` or `link` (http/https); `caption` only on image, video and document,
/// `filename` only on document (Meta's "Media messages" page).
fn check_media(kind: &str, content: &Value) -> Result<Option<String>, GraphError> {
    let has = |k: &str| str_field(content, k).is_some_and(|s| !s.is_empty());
    if !has("id") && !has("link") {
        return Err(GraphError::missing_required(format!(
            "The parameter {kind}['id'] or {kind}['link'] is required."
        )));
    }
    if let Some(link) = str_field(content, "link") {
        if !(link.starts_with("http://") || link.starts_with("https://")) {
            return Err(GraphError::invalid_value(format!(
                "{kind}['link'] must be an http or https URL."
            )));
        }
    }
    if content.get("caption").is_some() && !["image", "video", "document"].contains(&kind) {
        return Err(GraphError::invalid_parameter(format!(
            "Param {kind}['caption'] is not allowed: only image, video and document take one."
        )));
    }
    if content.get("filename").is_some() && kind != "document" {
        return Err(GraphError::invalid_parameter(format!(
            "Param {kind}['filename'] is not allowed: only document takes one."
        )));
    }
    Ok(str_field(content, "caption").map(str::to_string))
}

/// `location: {latitude, longitude, name?, address?}` (numbers, or numeric strings).
fn check_location(content: &Value) -> Result<Option<String>, GraphError> {
    let coord = |k: &str, max: f64| -> Result<(), GraphError> {
        let v = match content.get(k) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            None => {
                return Err(GraphError::missing_required(format!(
                    "The parameter location['{k}'] is required."
                )))
            }
            _ => None,
        };
        match v {
            Some(x) if x.abs() <= max => Ok(()),
            _ => Err(GraphError::invalid_value(format!(
                "location['{k}'] must be a number between -{max} and {max}."
            ))),
        }
    };
    coord("latitude", 90.0)?;
    coord("longitude", 180.0)?;
    Ok(str_field(content, "name").map(str::to_string))
}

/// `contacts: [{name: {formatted_name, first_name | last_name | …}, phones?, emails?, …}]`.
fn check_contacts(content: &Value) -> Result<Option<String>, GraphError> {
    let list = content.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        return Err(GraphError::missing_required(
            "The parameter contacts must hold at least one contact.",
        ));
    }
    const PARTS: &[&str] = &["first_name", "last_name", "middle_name", "suffix", "prefix"];
    for (i, c) in list.iter().enumerate() {
        let name = &c["name"];
        if str_field(name, "formatted_name").is_none_or(str::is_empty) {
            return Err(GraphError::missing_required(format!(
                "The parameter contacts[{i}]['name']['formatted_name'] is required."
            )));
        }
        if !PARTS.iter().any(|p| str_field(name, p).is_some()) {
            return Err(GraphError::missing_required(format!(
                "contacts[{i}]['name'] needs one of first_name, last_name, middle_name, suffix, prefix."
            )));
        }
        for (k, field) in [("phones", "phone"), ("emails", "email"), ("urls", "url")] {
            let items = c.get(k).map(|v| v.as_array().map(Vec::as_slice));
            if items == Some(None)
                || items
                    .flatten()
                    .into_iter()
                    .flatten()
                    .any(|x| str_field(x, field).is_none())
            {
                return Err(GraphError::invalid_value(format!(
                    "contacts[{i}]['{k}'] must be a list of objects with '{field}'."
                )));
            }
        }
    }
    Ok(str_field(&list[0]["name"], "formatted_name").map(str::to_string))
}

/// Test helpers shared by this module's tests and `interactive`'s.
#[cfg(test)]
pub(super) mod testing {
    use super::*;

    /// The send a body parses to (panics otherwise).
    pub fn send(v: Value) -> SendRequest {
        match parse_messages_request(&v) {
            Ok(MessagesRequest::Send(s)) => s,
            other => panic!("expected a send, got {other:?}"),
        }
    }

    /// The error a body gets (panics otherwise).
    pub fn err(v: Value) -> GraphError {
        parse_messages_request(&v).expect_err("expected an error")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{err, send};
    use super::*;
    use serde_json::json;

    #[test]
    fn text_send_defaults_type_and_normalises_to() {
        let s = send(
            json!({"messaging_product":"whatsapp","to":"+1 650-555-1234",
            "text":{"body":"Hello"}}),
        );
        assert_eq!(s.recipient, Recipient::Phone("16505551234".into()));
        assert_eq!(s.input, "+1 650-555-1234");
        assert_eq!(s.kind, "text");
        assert_eq!(s.text.as_deref(), Some("Hello"));
        assert!(s.needs_service_window());
    }

    #[test]
    fn recipient_user_id_wins() {
        let s = send(
            json!({"messaging_product":"whatsapp","recipient":"US.1","type":"template",
            "template":{"name":"hello_world","language":{"code":"en_US"}}}),
        );
        assert_eq!(s.recipient, Recipient::UserId("US.1".into()));
        assert!(!s.needs_service_window());
        assert_eq!(s.text.as_deref(), Some("hello_world"));
    }

    #[test]
    fn graph_level_errors_are_code_100() {
        let e = err(json!({"to":"123456","text":{"body":"x"}}));
        assert_eq!(
            e.message(),
            "(#100) The parameter messaging_product is required."
        );
        assert_eq!(
            err(json!({"messaging_product":"sms","to":"123456"})).code,
            100
        );
        let e = err(json!({"messaging_product":"whatsapp","text":{"body":"x"}}));
        assert_eq!(e.message(), "(#100) The parameter to is required.");
        assert_eq!(
            err(json!({"messaging_product":"whatsapp","to":"12"})).code,
            100
        );
        assert_eq!(err(json!("nope")).code, 100);
    }

    #[test]
    fn content_errors() {
        let base = |extra: Value| {
            let mut v = json!({"messaging_product":"whatsapp","to":"16505551234"});
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            v
        };
        assert_eq!(err(base(json!({"type":"text","text":{}}))).code, 131008);
        assert_eq!(err(base(json!({"type":"text"}))).code, 100);
        assert_eq!(
            err(base(json!({"type":"hologram","hologram":{}}))).code,
            131051
        );
        assert_eq!(err(base(json!({"type":"hologram"}))).code, 131051);
        let long = "a".repeat(MAX_TEXT_BODY + 1);
        assert_eq!(err(base(json!({"text":{"body":long}}))).code, 100);
        assert_eq!(
            err(base(json!({"type":"template","template":{"name":"x"}}))).code,
            131008
        );
        assert_eq!(
            err(base(json!({"type":"reaction","reaction":{}}))).code,
            131008
        );
        assert_eq!(err(base(json!({"type":"image","image":{}}))).code, 131008);
        let ok = send(base(
            json!({"type":"image","image":{"link":"http://x/a.png","caption":"c"}}),
        ));
        assert_eq!(ok.text.as_deref(), Some("c"));
        let r = send(base(
            json!({"type":"reaction","reaction":{"message_id":"wamid.A","emoji":""}}),
        ));
        assert_eq!(r.kind, "reaction");
    }

    #[test]
    fn mark_read_and_typing() {
        let v = json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.A"});
        assert_eq!(
            parse_messages_request(&v).unwrap(),
            MessagesRequest::MarkRead {
                message_id: "wamid.A".into(),
                typing: false
            }
        );
        let v = json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.A",
            "typing_indicator":{"type":"text"}});
        assert!(matches!(
            parse_messages_request(&v).unwrap(),
            MessagesRequest::MarkRead { typing: true, .. }
        ));
        let v = json!({"messaging_product":"whatsapp","status":"read"});
        assert_eq!(
            err(v).message(),
            "(#100) The parameter message_id is required."
        );
        let v = json!({"messaging_product":"whatsapp","status":"delivered","message_id":"w"});
        assert_eq!(err(v).code, 100);
    }
}
