//! Validation of `interactive` sends: every subtype of Meta's reference, with Meta's codes
//! (131008 for a missing field, 131009 for a bad value).
//!
//! Sources: reference §1.2 and Meta's pages "Interactive reply buttons", "Interactive list",
//! "Interactive CTA URL button", "Interactive Flow", "Location request", "Interactive media
//! carousel", "Call permission request", "Single- and multi-product messages", "Catalog
//! messages"; the client-side limits whatsapp-api-js checks (`src/messages/interactive.ts`):
//! body ≤ 1024, header and footer ≤ 60, button title 1–20 and unique, list button 1–20, row id
//! ≤ 200, row title ≤ 24, row description ≤ 72, CTA display text ≤ 20.

use serde_json::Value;

use super::super::graph::GraphError;
use super::{check_len, str_field};

/// Subtypes that need `body.text`.
const NEEDS_BODY: &[&str] = &[
    "button",
    "list",
    "cta_url",
    "flow",
    "location_request_message",
    "call_permission_request",
    "carousel",
    "product_list",
    "catalog_message",
];

fn missing(what: &str) -> GraphError {
    GraphError::missing_required(format!("The parameter {what} is required."))
}

fn invalid(details: impl Into<String>) -> GraphError {
    GraphError::invalid_value(details)
}

/// Checks an `interactive` object; returns its body text.
pub fn check_interactive(content: &Value) -> Result<Option<String>, GraphError> {
    let kind = str_field(content, "type").unwrap_or_default();
    let body = content.get("body").and_then(|b| str_field(b, "text"));
    if NEEDS_BODY.contains(&kind) && body.is_none() {
        return Err(missing("interactive['body']['text']"));
    }
    if let Some(b) = body {
        check_len("interactive['body']['text']", b, 1, 1024)?;
    }
    if let Some(h) = content.get("header") {
        check_header(kind, h)?;
    }
    if let Some(f) = content.get("footer").and_then(|f| str_field(f, "text")) {
        check_len("interactive['footer']['text']", f, 1, 60)?;
    }
    let action = content.get("action").unwrap_or(&Value::Null);
    if !kind.is_empty() && action.is_null() && kind != "product_list" {
        return Err(missing("interactive['action']"));
    }
    match kind {
        "button" => check_buttons(action)?,
        "list" => check_list(action)?,
        "cta_url" => check_cta_url("interactive['action']", action)?,
        "flow" => check_flow(action)?,
        "location_request_message" => check_action_name(action, "send_location")?,
        "call_permission_request" => check_action_name(action, "call_permission_request")?,
        "catalog_message" => check_action_name(action, "catalog_message")?,
        "carousel" => check_carousel(action)?,
        "product" => check_product(action)?,
        "product_list" => check_product_list(content, action)?,
        "" => return Err(missing("interactive['type']")),
        other => return Err(invalid(format!("Interactive type '{other}' is not valid."))),
    }
    Ok(body.map(str::to_string))
}

/// Reply buttons and CTA URL messages take a text, image, video or document header; lists,
/// product lists and flows a text one only.
fn check_header(kind: &str, h: &Value) -> Result<(), GraphError> {
    let allowed: &[&str] = match kind {
        "button" | "cta_url" => &["text", "image", "video", "document"],
        _ => &["text"],
    };
    let t = str_field(h, "type").unwrap_or("text");
    if !allowed.contains(&t) {
        return Err(invalid(format!(
            "interactive['header']['type'] must be one of {allowed:?} for {kind} messages."
        )));
    }
    if t == "text" {
        let text = str_field(h, "text").ok_or_else(|| missing("interactive['header']['text']"))?;
        return check_len("interactive['header']['text']", text, 1, 60);
    }
    let media = &h[t];
    if str_field(media, "id").is_none() && str_field(media, "link").is_none() {
        return Err(missing(&format!("interactive['header']['{t}']['link']")));
    }
    Ok(())
}

fn check_action_name(action: &Value, name: &str) -> Result<(), GraphError> {
    match str_field(action, "name") {
        Some(n) if n == name => Ok(()),
        None => Err(missing("interactive['action']['name']")),
        Some(other) => Err(invalid(format!(
            "interactive['action']['name'] must be '{name}', got '{other}'."
        ))),
    }
}

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && s.len() > 8
}

/// `action: {name: "cta_url", parameters: {display_text (≤ 20), url}}`.
fn check_cta_url(at: &str, action: &Value) -> Result<(), GraphError> {
    check_action_name(action, "cta_url")?;
    let params = action.get("parameters").unwrap_or(&Value::Null);
    let Some(text) = str_field(params, "display_text") else {
        return Err(missing(&format!("{at}['parameters']['display_text']")));
    };
    check_len("display_text", text, 1, 20)?;
    match str_field(params, "url") {
        None => Err(missing(&format!("{at}['parameters']['url']"))),
        Some(u) if is_url(u) => Ok(()),
        Some(u) => Err(invalid(format!("'{u}' is not a valid URL."))),
    }
}

/// `action: {name: "flow", parameters: {flow_message_version: "3", flow_id | flow_name,
/// flow_cta (≤ 30), mode?, flow_action?, flow_action_payload?}}`.
fn check_flow(action: &Value) -> Result<(), GraphError> {
    check_action_name(action, "flow")?;
    let p = action.get("parameters").unwrap_or(&Value::Null);
    if str_field(p, "flow_message_version") != Some("3") {
        return Err(invalid("flow_message_version must be \"3\"."));
    }
    if str_field(p, "flow_id").is_none() && str_field(p, "flow_name").is_none() {
        return Err(missing("interactive['action']['parameters']['flow_id']"));
    }
    let Some(cta) = str_field(p, "flow_cta") else {
        return Err(missing("interactive['action']['parameters']['flow_cta']"));
    };
    check_len("flow_cta", cta, 1, 30)?;
    if let Some(m) = str_field(p, "mode").filter(|m| !["draft", "published"].contains(m)) {
        return Err(invalid(format!(
            "mode must be draft or published, got '{m}'."
        )));
    }
    match str_field(p, "flow_action") {
        None | Some("data_exchange") => Ok(()),
        Some("navigate") if p["flow_action_payload"]["screen"].is_string() => Ok(()),
        Some("navigate") => Err(missing(
            "interactive['action']['parameters']['flow_action_payload']['screen']",
        )),
        Some(other) => Err(invalid(format!(
            "flow_action must be navigate or data_exchange, got '{other}'."
        ))),
    }
}

/// `action: {cards: [2..=10 × {card_index, type: "cta_url", header: {type: image|video, …},
/// action: cta_url | buttons (quick replies)}]}`; every card has the same header type.
fn check_carousel(action: &Value) -> Result<(), GraphError> {
    let cards = action
        .get("cards")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !(2..=10).contains(&cards.len()) {
        return Err(invalid(
            "interactive['action']['cards'] must hold between 2 and 10 cards.",
        ));
    }
    let mut header_kind = None;
    for (i, card) in cards.iter().enumerate() {
        if card["card_index"].as_u64() != Some(i as u64) {
            return Err(invalid(format!("cards[{i}]['card_index'] must be {i}.")));
        }
        let kind = str_field(&card["header"], "type").unwrap_or_default();
        if !["image", "video"].contains(&kind) {
            return Err(invalid(format!(
                "cards[{i}]['header']['type'] must be image or video."
            )));
        }
        let media = &card["header"][kind];
        if str_field(media, "link").is_none() && str_field(media, "id").is_none() {
            return Err(missing(&format!("cards[{i}]['header']['{kind}']['link']")));
        }
        if *header_kind.get_or_insert(kind) != kind {
            return Err(invalid("Every card must have the same header type."));
        }
        let at = format!("cards[{i}]['action']");
        if card["action"].get("buttons").is_some() {
            check_buttons(&card["action"])?;
        } else {
            check_cta_url(&at, &card["action"])?;
        }
    }
    Ok(())
}

fn check_catalog_id(action: &Value) -> Result<(), GraphError> {
    str_field(action, "catalog_id")
        .filter(|c| !c.is_empty())
        .map(|_| ())
        .ok_or_else(|| missing("interactive['action']['catalog_id']"))
}

/// `action: {catalog_id, product_retailer_id}`.
fn check_product(action: &Value) -> Result<(), GraphError> {
    check_catalog_id(action)?;
    str_field(action, "product_retailer_id")
        .map(|_| ())
        .ok_or_else(|| missing("interactive['action']['product_retailer_id']"))
}

/// A text header, `action: {catalog_id, sections: [1..=10 × {title, product_items}]}`, at
/// most 30 products.
fn check_product_list(content: &Value, action: &Value) -> Result<(), GraphError> {
    if str_field(&content["header"], "text").is_none() {
        return Err(missing("interactive['header']['text']"));
    }
    check_catalog_id(action)?;
    let sections = action
        .get("sections")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !(1..=10).contains(&sections.len()) {
        return Err(invalid(
            "interactive['action']['sections'] must hold between 1 and 10 sections.",
        ));
    }
    let mut items = 0;
    for s in sections {
        let list = s["product_items"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if list.is_empty()
            || list
                .iter()
                .any(|p| str_field(p, "product_retailer_id").is_none())
        {
            return Err(missing(
                "sections[]['product_items'][]['product_retailer_id']",
            ));
        }
        items += list.len();
    }
    if items > 30 {
        return Err(invalid("A product list holds at most 30 products."));
    }
    Ok(())
}

fn check_buttons(action: &Value) -> Result<(), GraphError> {
    let buttons = action
        .get("buttons")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if buttons.is_empty() || buttons.len() > 3 {
        return Err(GraphError::invalid_value(
            "interactive['action']['buttons'] must hold between 1 and 3 buttons.",
        ));
    }
    let mut titles = Vec::with_capacity(buttons.len());
    for b in buttons {
        let reply = b.get("reply").unwrap_or(&Value::Null);
        let id = str_field(reply, "id").unwrap_or_default();
        let title = str_field(reply, "title").unwrap_or_default();
        check_len("Button id", id, 1, 256)?;
        if id.trim() != id {
            return Err(GraphError::invalid_value(
                "Button id must not have leading or trailing spaces.",
            ));
        }
        check_len("Button title", title, 1, 20)?;
        if titles.contains(&title) {
            return Err(GraphError::invalid_value("Button titles must be unique."));
        }
        titles.push(title);
    }
    Ok(())
}

fn check_list(action: &Value) -> Result<(), GraphError> {
    check_len(
        "interactive['action']['button']",
        str_field(action, "button").unwrap_or_default(),
        1,
        20,
    )?;
    let sections = action
        .get("sections")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if sections.is_empty() || sections.len() > 10 {
        return Err(GraphError::invalid_value(
            "interactive['action']['sections'] must hold between 1 and 10 sections.",
        ));
    }
    let mut rows = 0;
    for s in sections {
        if sections.len() > 1 && str_field(s, "title").is_none_or(str::is_empty) {
            return Err(GraphError::invalid_value(
                "Every section needs a title when there are several sections.",
            ));
        }
        for row in s
            .get("rows")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            rows += 1;
            check_len("Row id", str_field(row, "id").unwrap_or_default(), 1, 200)?;
            check_len(
                "Row title",
                str_field(row, "title").unwrap_or_default(),
                1,
                24,
            )?;
            if let Some(d) = str_field(row, "description") {
                check_len("Row description", d, 0, 72)?;
            }
        }
    }
    if rows == 0 || rows > 10 {
        return Err(GraphError::invalid_value(
            "A list message must hold between 1 and 10 rows in total.",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{err, send};
    use super::*;
    use serde_json::json;

    #[test]
    fn interactive_limits() {
        let button = |buttons: Value| {
            json!({"messaging_product":"whatsapp","to":"16505551234","type":"interactive",
                "interactive":{"type":"button","body":{"text":"Pick"},"action":{"buttons":buttons}}})
        };
        let b = |id: &str, t: &str| json!({"type":"reply","reply":{"id":id,"title":t}});
        let s = send(button(json!([b("yes", "Yes"), b("no", "No")])));
        assert_eq!(s.text.as_deref(), Some("Pick"));
        assert_eq!(err(button(json!([]))).code, 131009);
        assert_eq!(
            err(button(json!([
                b("a", "A"),
                b("b", "B"),
                b("c", "C"),
                b("d", "D")
            ])))
            .code,
            131009
        );
        assert_eq!(
            err(button(json!([b("a", "Same"), b("b", "Same")]))).code,
            131009
        );
        assert_eq!(err(button(json!([b("a", &"t".repeat(21))]))).code, 131009);
        assert_eq!(err(button(json!([b(" a", "A")]))).code, 131009);

        let list = |sections: Value| {
            json!({"messaging_product":"whatsapp","to":"16505551234","type":"interactive",
                "interactive":{"type":"list","body":{"text":"Choose"},
                    "action":{"button":"Options","sections":sections}}})
        };
        let row = |i: usize| json!({"id": format!("r{i}"), "title": format!("Row {i}")});
        send(list(json!([{"title":"S","rows":[row(1), row(2)]}])));
        let eleven: Vec<Value> = (0..11).map(row).collect();
        assert_eq!(err(list(json!([{"title":"S","rows":eleven}]))).code, 131009);
        assert_eq!(
            err(list(json!([{"rows":[row(1)]},{"rows":[row(2)]}]))).code,
            131009
        );
        let no_body = json!({"messaging_product":"whatsapp","to":"16505551234","type":"interactive",
            "interactive":{"type":"button","action":{"buttons":[b("a","A")]}}});
        assert_eq!(err(no_body).code, 131008);
    }
}
