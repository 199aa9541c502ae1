//! The provider-neutral view of an outbound message: one vocabulary for what the app sent,
//! whichever provider carried it, so a scenario's `await` matchers (and JSONPath over the
//! journal) run unchanged on Evolution and Meta. Read from the request body the app sent
//! (Evolution `sendMessage.router.ts` bodies, Meta `/messages` bodies).
//!
//! `kind` is one of: `text`, `image`, `audio`, `voice`, `video`, `document`, `sticker`,
//! `location`, `contacts`, `reaction`, `buttons`, `list`, `template`, `poll`, `cta_url`, `flow`,
//! `carousel`, `location_request`, `call_permission`, `product`, `status`, `other`.

use serde::Serialize;
use serde_json::Value;

/// Whose request bodies a message is (the bus maps its simulator to this).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Evolution,
    Meta,
    /// The LLM and payments simulators: no WhatsApp shape.
    Other,
}

/// A button or a list row: its id and title (and a row's description).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub title: Option<String>,
    pub rows: Vec<Choice>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct List {
    /// The button that opens the list.
    pub button: Option<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Media {
    /// `image`, `audio`, `voice`, `video`, `document` or `sticker`.
    pub kind: String,
    /// The link the app gave (Evolution `media` URL, Meta `link`), or a Meta media id.
    pub url: Option<String>,
    pub mime: Option<String>,
    pub caption: Option<String>,
    pub filename: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Location {
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub name: Option<String>,
    pub address: Option<String>,
}

/// The neutral fields of one outbound message (`kind` is moved to the message itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct View {
    #[serde(skip)]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buttons: Option<Vec<Choice>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub list: Option<List>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The id of the message this one quotes (Evolution `quoted.key.id`, Meta
    /// `context.message_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
}

impl View {
    /// `true` when the view adds nothing to the message's `kind` and `text`.
    pub fn is_empty(&self) -> bool {
        self.buttons.is_none()
            && self.list.is_none()
            && self.media.is_none()
            && self.location.is_none()
            && self.reply_to.is_none()
    }
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn location(v: &Value) -> Location {
    Location {
        latitude: v["latitude"].as_f64(),
        longitude: v["longitude"].as_f64(),
        name: s(&v["name"]),
        address: s(&v["address"]),
    }
}

/// The view of a message the app sent, from the simulator's `kind` and the request body.
pub fn view(provider: Provider, kind: &str, payload: &Value) -> View {
    match provider {
        Provider::Evolution => evolution(kind, payload),
        Provider::Meta => meta(kind, payload),
        Provider::Other => View {
            kind: kind.to_string(),
            ..View::default()
        },
    }
}

fn evolution(kind: &str, b: &Value) -> View {
    let mut v = View {
        kind: kind.to_string(),
        reply_to: s(&b["quoted"]["key"]["id"]),
        ..View::default()
    };
    match kind {
        "media" => {
            let (k, url) = match (b.get("audio"), b.get("sticker"), b.get("video")) {
                (Some(a), _, _) => ("voice".to_string(), a),
                (_, Some(st), _) => ("sticker".to_string(), st),
                (_, _, Some(vd)) => ("video".to_string(), vd),
                _ => (
                    s(&b["mediatype"]).unwrap_or_else(|| "document".into()),
                    &b["media"],
                ),
            };
            v.media = Some(Media {
                kind: k.clone(),
                url: s(url).filter(|u| u.starts_with("http")),
                mime: s(&b["mimetype"]),
                caption: s(&b["caption"]),
                filename: s(&b["fileName"]),
            });
            v.kind = k;
        }
        "location" => v.location = Some(location(b)),
        "buttons" => {
            let buttons = b["buttons"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            v.buttons = Some(
                buttons
                    .iter()
                    .map(|x| Choice {
                        id: s(&x["id"]).unwrap_or_default(),
                        title: s(&x["displayText"]).unwrap_or_default(),
                        description: None,
                    })
                    .collect(),
            );
        }
        "list" => {
            let row = |r: &Value| Choice {
                id: s(&r["rowId"]).unwrap_or_default(),
                title: s(&r["title"]).unwrap_or_default(),
                description: s(&r["description"]),
            };
            v.list = Some(list(&b["sections"], s(&b["buttonText"]), row));
        }
        _ => {}
    }
    v
}

fn list(sections: &Value, button: Option<String>, row: impl Fn(&Value) -> Choice) -> List {
    let sections = sections.as_array().map(Vec::as_slice).unwrap_or(&[]);
    List {
        button,
        sections: sections
            .iter()
            .map(|sec| Section {
                title: s(&sec["title"]),
                rows: sec["rows"]
                    .as_array()
                    .map(|rows| rows.iter().map(&row).collect())
                    .unwrap_or_default(),
            })
            .collect(),
    }
}

const MEDIA: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

fn meta(kind: &str, b: &Value) -> View {
    let mut v = View {
        kind: kind.to_string(),
        reply_to: s(&b["context"]["message_id"]),
        ..View::default()
    };
    if MEDIA.contains(&kind) {
        let m = &b[kind];
        v.media = Some(Media {
            kind: kind.to_string(),
            url: s(&m["link"]).or(s(&m["id"])),
            mime: None,
            caption: s(&m["caption"]),
            filename: s(&m["filename"]),
        });
    } else if kind == "location" {
        v.location = Some(location(&b["location"]));
    } else if kind == "interactive" {
        interactive(&mut v, &b["interactive"]);
    }
    v
}

fn interactive(v: &mut View, i: &Value) {
    let action = &i["action"];
    v.kind = match i["type"].as_str().unwrap_or_default() {
        "button" => {
            let buttons = action["buttons"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            v.buttons = Some(
                buttons
                    .iter()
                    .map(|x| Choice {
                        id: s(&x["reply"]["id"]).unwrap_or_default(),
                        title: s(&x["reply"]["title"]).unwrap_or_default(),
                        description: None,
                    })
                    .collect(),
            );
            "buttons"
        }
        "list" => {
            let row = |r: &Value| Choice {
                id: s(&r["id"]).unwrap_or_default(),
                title: s(&r["title"]).unwrap_or_default(),
                description: s(&r["description"]),
            };
            v.list = Some(list(&action["sections"], s(&action["button"]), row));
            "list"
        }
        "cta_url" => "cta_url",
        "flow" => "flow",
        "carousel" => "carousel",
        "location_request_message" => "location_request",
        "call_permission_request" => "call_permission",
        "product" | "product_list" | "catalog_message" => "product",
        _ => "other",
    }
    .to_string();
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_same_list_reads_the_same_on_both_providers() {
        // upstream: evolution-api 2.3.6 src/validate/message.schema.ts listMessageSchema
        let evo = json!({"number": "1", "title": "Horarios", "description": "Elija",
            "buttonText": "Ver", "footerText": "f",
            "sections": [{"title": "Mañana", "rows": [
                {"title": "09:00", "description": "Dra. Ruiz", "rowId": "s1"}]}]});
        // Meta Cloud API reference: interactive list messages (action.sections[].rows[]).
        let meta = json!({"type": "interactive", "interactive": {"type": "list",
            "body": {"text": "Elija"}, "action": {"button": "Ver", "sections": [
                {"title": "Mañana", "rows": [
                    {"id": "s1", "title": "09:00", "description": "Dra. Ruiz"}]}]}}});
        let a = view(Provider::Evolution, "list", &evo);
        let b = view(Provider::Meta, "interactive", &meta);
        assert_eq!(a, b);
        assert_eq!(a.kind, "list");
        assert_eq!(a.list.unwrap().sections[0].rows[0].id, "s1");
    }

    #[test]
    fn buttons_media_and_replies() {
        let evo = json!({"number": "1", "title": "¿Confirma?", "quoted": {"key": {"id": "Q"}},
            "buttons": [{"type": "reply", "displayText": "Sí", "id": "y"},
                        {"type": "reply", "displayText": "No", "id": "n"}]});
        let meta = json!({"type": "interactive", "context": {"message_id": "Q"},
            "interactive": {"type": "button", "body": {"text": "¿Confirma?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "y", "title": "Sí"}},
                                   {"type": "reply", "reply": {"id": "n", "title": "No"}}]}}});
        assert_eq!(
            view(Provider::Evolution, "buttons", &evo),
            view(Provider::Meta, "interactive", &meta)
        );
        let audio = view(
            Provider::Evolution,
            "media",
            &json!({"audio": "https://x/a.ogg"}),
        );
        assert_eq!(
            (audio.kind.as_str(), audio.media.unwrap().url),
            ("voice", Some("https://x/a.ogg".into()))
        );
        let doc = view(
            Provider::Meta,
            "document",
            &json!({"document": {"link": "https://x/r.pdf", "filename": "r.pdf"}}),
        );
        assert_eq!(doc.media.unwrap().filename.as_deref(), Some("r.pdf"));
        assert_eq!(
            view(
                Provider::Meta,
                "interactive",
                &json!({"interactive": {"type": "cta_url"}})
            )
            .kind,
            "cta_url"
        );
    }
}
