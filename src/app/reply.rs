//! What the app sends: plain text, a list menu or reply buttons, and the provider's request
//! for each (pure, so a test compares them with the providers' references).
//!
//! Every interactive reply carries its own plain-text form, sent instead when the tenant is
//! set to plain text or the provider (or the customer's phone) refuses interactive messages:
//! the text numbers the options, so "1" works as well as a tap.

use serde_json::{json, Value};

use super::webhook::Customer;

/// A list row: the id comes back in the customer's `list_reply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    /// At most 24 characters (Meta).
    pub title: String,
    /// At most 72 characters (Meta).
    pub description: String,
}

/// A reply button: the id comes back in the customer's `button_reply`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub id: String,
    /// At most 20 characters (Meta).
    pub title: String,
}

/// A list menu: `text` is the message (and the plain-text fallback), `button` opens the one
/// section of `rows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub text: String,
    pub button: String,
    pub section: String,
    pub rows: Vec<Row>,
}

/// The body of one reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Text(String),
    /// A list menu.
    List(Menu),
    /// Up to three reply buttons under `text`.
    Buttons {
        text: String,
        buttons: Vec<Button>,
    },
}

impl Body {
    /// The text (of an interactive body: its plain-text form).
    pub fn text(&self) -> &str {
        match self {
            Body::Text(t) | Body::List(Menu { text: t, .. }) | Body::Buttons { text: t, .. } => t,
        }
    }

    pub fn is_interactive(&self) -> bool {
        !matches!(self, Body::Text(_))
    }

    /// The plain-text form.
    pub fn plain(&self) -> Body {
        Body::Text(self.text().to_string())
    }
}

/// Meta Cloud API `POST /{phone-number-id}/messages` body for `body` to `to`.
/// Meta Cloud API reference, Messages (text; interactive `list` and `button`):
/// shared/reference/meta-cloud-api.md §1 [M-btn].
pub fn meta_payload(to: &Customer, body: &Body) -> Value {
    let mut p = json!({"messaging_product": "whatsapp", "recipient_type": "individual"});
    match to {
        Customer::Phone(phone) => p["to"] = json!(phone),
        Customer::UserId(user) => p["recipient"] = json!(user),
    }
    match body {
        Body::Text(text) => {
            p["type"] = json!("text");
            p["text"] = json!({"preview_url": false, "body": text});
        }
        Body::List(m) => {
            let rows: Vec<Value> = m
                .rows
                .iter()
                .map(|r| json!({"id": r.id, "title": r.title, "description": r.description}))
                .collect();
            p["type"] = json!("interactive");
            p["interactive"] = json!({"type": "list", "body": {"text": m.text},
                "action": {"button": m.button, "sections": [{"title": m.section, "rows": rows}]}});
        }
        Body::Buttons { text, buttons } => {
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                .collect();
            p["type"] = json!("interactive");
            p["interactive"] =
                json!({"type": "button", "body": {"text": text}, "action": {"buttons": buttons}});
        }
    }
    p
}

/// Evolution API route (`sendText`, `sendList`, `sendButtons`) and body for `body` to `number`.
/// upstream: evolution-api 2.3.6 src/validate/message.schema.ts (`textMessageSchema`,
/// `listMessageSchema`: number, title, footerText, buttonText, sections[].rows[].rowId required;
/// `buttonsMessageSchema`: buttons[].{type: reply, displayText, id}).
pub fn evolution_payload(number: &str, body: &Body) -> (&'static str, Value) {
    match body {
        Body::Text(text) => ("sendText", json!({"number": number, "text": text})),
        Body::List(m) => {
            let rows: Vec<Value> = m
                .rows
                .iter()
                .map(|r| json!({"title": r.title, "description": r.description, "rowId": r.id}))
                .collect();
            let body = json!({"number": number, "title": m.section, "description": m.text,
                "buttonText": m.button, "footerText": "Clínica",
                "sections": [{"title": m.section, "rows": rows}]});
            ("sendList", body)
        }
        Body::Buttons { text, buttons } => {
            let buttons: Vec<Value> = buttons
                .iter()
                .map(|b| json!({"type": "reply", "displayText": b.title, "id": b.id}))
                .collect();
            let body = json!({"number": number, "title": "Clínica", "description": text,
                "footer": "Clínica", "buttons": buttons});
            ("sendButtons", body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Body {
        Body::List(Menu {
            text: "Horarios:\n1. 09:00".into(),
            button: "Ver horarios".into(),
            section: "cardiología".into(),
            rows: vec![Row {
                id: "slot:2026-11-23T09:00:0".into(),
                title: "09:00".into(),
                description: "Dra. Ana Pérez".into(),
            }],
        })
    }

    fn buttons() -> Body {
        Body::Buttons {
            text: "✅ Cita confirmada".into(),
            buttons: vec![Button {
                id: "citas".into(),
                title: "Mis citas".into(),
            }],
        }
    }

    #[test]
    fn meta_shapes_follow_the_reference() {
        let to = Customer::Phone("16505551234".into());
        let p = meta_payload(&to, &list());
        assert_eq!(p["type"], "interactive");
        assert_eq!(p["to"], "16505551234");
        assert_eq!(p["interactive"]["type"], "list");
        assert_eq!(p["interactive"]["body"]["text"], "Horarios:\n1. 09:00");
        assert_eq!(p["interactive"]["action"]["button"], "Ver horarios");
        let row = &p["interactive"]["action"]["sections"][0]["rows"][0];
        assert_eq!(
            (row["id"].as_str(), row["title"].as_str()),
            (Some("slot:2026-11-23T09:00:0"), Some("09:00"))
        );
        let b = meta_payload(&Customer::UserId("US.1".into()), &buttons());
        assert_eq!(b["recipient"], "US.1");
        assert!(b.get("to").is_none());
        assert_eq!(
            b["interactive"]["action"]["buttons"][0],
            json!({"type": "reply", "reply": {"id": "citas", "title": "Mis citas"}})
        );
        let t = meta_payload(&to, &buttons().plain());
        assert_eq!(t["text"]["body"], "✅ Cita confirmada");
    }

    #[test]
    fn evolution_shapes_follow_the_schema() {
        let (route, b) = evolution_payload("5511988887777", &list());
        assert_eq!(route, "sendList");
        for required in ["number", "title", "footerText", "buttonText", "sections"] {
            assert!(b.get(required).is_some(), "{required}");
        }
        assert_eq!(
            b["sections"][0]["rows"][0]["rowId"],
            "slot:2026-11-23T09:00:0"
        );
        let (route, b) = evolution_payload("5511988887777", &buttons());
        assert_eq!(route, "sendButtons");
        assert_eq!(
            b["buttons"][0],
            json!({"type": "reply", "displayText": "Mis citas", "id": "citas"})
        );
        let (route, b) = evolution_payload("1", &Body::Text("hola".into()));
        assert_eq!((route, b["text"].as_str()), ("sendText", Some("hola")));
        assert!(list().is_interactive() && !list().plain().is_interactive());
    }
}
