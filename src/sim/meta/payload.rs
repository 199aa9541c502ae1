//! Webhook payloads, built as `serde_json::Value` in the documented envelope (reference §4).
//!
//! One item per POST: every builder returns an envelope holding exactly one message or one
//! status, because every client library reads only `entry[0].changes[0]` and `messages[0]` /
//! `statuses[0]`. `contacts[]` (with `wa_id`, `user_id` and `profile.name`) is included in
//! statuses too, since pywa 4.x needs it. Timestamps are strings of Unix seconds.

use serde_json::{json, Value};

use super::graph::GraphError;

/// Which business phone number an event belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Business {
    /// WhatsApp Business Account id (`entry[].id`).
    pub waba_id: String,
    /// The phone-number-id.
    pub phone_number_id: String,
    /// The display number, digits only.
    pub display_phone_number: String,
}

/// The customer on the other side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Phone number, digits only (`wa_id`).
    pub wa_id: String,
    /// Business-scoped user id.
    pub user_id: String,
    /// Profile name.
    pub name: String,
    /// `profile.username`, if the customer adopted one.
    pub username: Option<String>,
    /// Withhold `from` and `wa_id` (a username user with no recent exchange with the business):
    /// only the business-scoped id identifies the customer.
    pub phone_hidden: bool,
}

/// What the customer sent.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundContent {
    /// A text message.
    Text { body: String },
    /// A tap on an interactive reply button.
    ButtonReply { id: String, title: String },
    /// A choice in an interactive list.
    ListReply {
        id: String,
        title: String,
        description: Option<String>,
    },
    /// A tap on a template quick-reply button.
    TemplateButton { payload: String, text: String },
    /// A photo, document, audio, video or sticker, already in the media store under `id`.
    Media {
        /// `image`, `document`, `audio`, `video` or `sticker`.
        kind: String,
        id: String,
        mime_type: String,
        sha256: String,
        caption: Option<String>,
        filename: Option<String>,
        /// An audio recorded as a voice note (`voice: true`).
        voice: bool,
    },
    /// Shared contact cards.
    Contacts(Vec<crate::sim::inbound::ContactIn>),
    /// A completed WhatsApp Flow (`interactive.nfm_reply`).
    FlowReply { response_json: String, body: String },
    /// A reaction to a business message.
    Reaction { message_id: String, emoji: String },
    /// A shared location.
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
}

impl InboundContent {
    /// The text a human would read (for logs and the runner).
    pub fn text(&self) -> &str {
        match self {
            InboundContent::Text { body } => body,
            InboundContent::ButtonReply { title, .. } | InboundContent::ListReply { title, .. } => {
                title
            }
            InboundContent::TemplateButton { text, .. } => text,
            InboundContent::Media { caption, .. } => caption.as_deref().unwrap_or_default(),
            InboundContent::Reaction { emoji, .. } => emoji,
            InboundContent::Location { name, .. } => name.as_deref().unwrap_or_default(),
            InboundContent::Contacts(c) => c.first().map_or("", |c| c.name.as_str()),
            InboundContent::FlowReply { body, .. } => body,
        }
    }
}

/// An inbound message event.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub id: String,
    pub timestamp: u64,
    pub content: InboundContent,
    /// `context`: the wamid of the business message this one replies to.
    pub context_id: Option<String>,
}

/// Lifecycle states of an outbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Sent,
    Delivered,
    Read,
    /// A voice message was played.
    Played,
    Failed,
}

impl StatusKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read => "read",
            StatusKind::Played => "played",
            StatusKind::Failed => "failed",
        }
    }
}

/// A status event for an outbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    /// The wamid of the outbound message.
    pub id: String,
    pub status: StatusKind,
    pub timestamp: u64,
    /// The message was addressed by BSUID (`recipient`): report `recipient_user_id`.
    pub by_user_id: bool,
    /// Echo of the send's `biz_opaque_callback_data`.
    pub biz_opaque_callback_data: Option<String>,
    /// Conversation id (service window); absent on failed statuses.
    pub conversation_id: Option<String>,
    /// Pricing category: `service`, `utility`, `marketing`, `authentication`.
    pub category: String,
    /// For `failed`: the error.
    pub error: Option<GraphError>,
}

fn envelope(business: &Business, value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": business.waba_id,
            "changes": [{"field": "messages", "value": value}],
        }],
    })
}

fn base_value(business: &Business, customer: &Customer) -> serde_json::Map<String, Value> {
    let mut v = serde_json::Map::new();
    v.insert("messaging_product".into(), json!("whatsapp"));
    v.insert(
        "metadata".into(),
        json!({
            "display_phone_number": business.display_phone_number,
            "phone_number_id": business.phone_number_id,
        }),
    );
    let mut profile = json!({"name": customer.name});
    if let Some(u) = &customer.username {
        profile["username"] = json!(u);
    }
    let mut contact = json!({"profile": profile});
    if !customer.phone_hidden {
        contact["wa_id"] = json!(customer.wa_id);
    }
    contact["user_id"] = json!(customer.user_id);
    v.insert("contacts".into(), json!([contact]));
    v
}

/// The webhook for a message sent by `customer` to `business`.
pub fn inbound_webhook(business: &Business, customer: &Customer, msg: &InboundMessage) -> Value {
    let mut m = json!({});
    if !customer.phone_hidden {
        m["from"] = json!(customer.wa_id);
    }
    m["from_user_id"] = json!(customer.user_id);
    m["id"] = json!(msg.id);
    m["timestamp"] = json!(msg.timestamp.to_string());
    if let Some(ctx) = &msg.context_id {
        m["context"] = json!({"from": business.display_phone_number, "id": ctx});
    }
    match &msg.content {
        InboundContent::Text { body } => {
            m["type"] = json!("text");
            m["text"] = json!({ "body": body });
        }
        InboundContent::ButtonReply { id, title } => {
            m["type"] = json!("interactive");
            m["interactive"] =
                json!({"type": "button_reply", "button_reply": {"id": id, "title": title}});
        }
        InboundContent::ListReply {
            id,
            title,
            description,
        } => {
            let mut reply = json!({"id": id, "title": title});
            if let Some(d) = description {
                reply["description"] = json!(d);
            }
            m["type"] = json!("interactive");
            m["interactive"] = json!({"type": "list_reply", "list_reply": reply});
        }
        InboundContent::TemplateButton { payload, text } => {
            m["type"] = json!("button");
            m["button"] = json!({"payload": payload, "text": text});
        }
        other => extra_content(&mut m, other),
    }
    let mut value = base_value(business, customer);
    value.insert("messages".into(), json!([m]));
    envelope(business, Value::Object(value))
}

/// Media, reactions and locations (split from [`inbound_webhook`] for size).
fn extra_content(m: &mut Value, content: &InboundContent) {
    match content {
        InboundContent::Media {
            kind,
            id,
            mime_type,
            sha256,
            caption,
            filename,
            voice,
        } => {
            let mut media = json!({"mime_type": mime_type, "sha256": sha256, "id": id});
            if let Some(c) = caption {
                media["caption"] = json!(c);
            }
            if let Some(f) = filename {
                media["filename"] = json!(f);
            }
            // Meta states `voice` on every audio and `animated` on every sticker.
            match kind.as_str() {
                "audio" => media["voice"] = json!(voice),
                "sticker" => media["animated"] = json!(false),
                _ => {}
            }
            m["type"] = json!(kind);
            m[kind.as_str()] = media;
        }
        InboundContent::Reaction { message_id, emoji } => {
            m["type"] = json!("reaction");
            m["reaction"] = json!({"message_id": message_id, "emoji": emoji});
        }
        InboundContent::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            let mut loc = json!({"latitude": latitude, "longitude": longitude});
            if let Some(n) = name {
                loc["name"] = json!(n);
            }
            if let Some(a) = address {
                loc["address"] = json!(a);
            }
            m["type"] = json!("location");
            m["location"] = loc;
        }
        InboundContent::Contacts(cards) => {
            m["type"] = json!("contacts");
            m["contacts"] = cards.iter().map(contact_card).collect();
        }
        InboundContent::FlowReply {
            response_json,
            body,
        } => {
            m["type"] = json!("interactive");
            m["interactive"] = json!({"type": "nfm_reply", "nfm_reply": {
                "name": "flow", "body": body, "response_json": response_json}});
        }
        // Text and replies are written by `inbound_webhook` itself.
        _ => {}
    }
}

/// A contact card as the `contacts` message carries it (name and phone; `wa_id` when the
/// number is on WhatsApp, which a simulated customer always is).
fn contact_card(c: &crate::sim::inbound::ContactIn) -> Value {
    let first = c.name.split_whitespace().next().unwrap_or_default();
    json!({
        "name": {"formatted_name": c.name, "first_name": first},
        "phones": [{"phone": c.phone, "wa_id": crate::sim::bus::phone_digits(&c.phone),
                    "type": "CELL"}],
    })
}

/// The webhook for one status change of a message sent by `business` to `customer`.
pub fn status_webhook(business: &Business, customer: &Customer, ev: &StatusEvent) -> Value {
    let mut s = json!({
        "id": ev.id,
        "status": ev.status.as_str(),
        "timestamp": ev.timestamp.to_string(),
    });
    if ev.by_user_id {
        s["recipient_user_id"] = json!(customer.user_id);
    } else {
        s["recipient_id"] = json!(customer.wa_id);
    }
    if let Some(data) = &ev.biz_opaque_callback_data {
        s["biz_opaque_callback_data"] = json!(data);
    }
    if ev.status == StatusKind::Failed {
        let errors: Vec<Value> = ev.error.iter().map(GraphError::webhook_error).collect();
        s["errors"] = json!(errors);
    } else {
        if let Some(conv) = &ev.conversation_id {
            let mut c = json!({"id": conv, "origin": {"type": ev.category}});
            if ev.status == StatusKind::Sent {
                c["expiration_timestamp"] = json!((ev.timestamp + 24 * 3600).to_string());
            }
            s["conversation"] = c;
        }
        let pricing_type = if ev.category == "service" {
            "free_customer_service"
        } else {
            "regular"
        };
        s["pricing"] = json!({
            "billable": ev.category != "service",
            "pricing_model": "PMP",
            "type": pricing_type,
            "category": ev.category,
        });
    }
    let mut value = base_value(business, customer);
    value.insert("statuses".into(), json!([s]));
    envelope(business, Value::Object(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn business() -> Business {
        Business {
            waba_id: "102290129340398".into(),
            phone_number_id: "106540352242922".into(),
            display_phone_number: "15550783881".into(),
        }
    }

    fn customer() -> Customer {
        Customer {
            wa_id: "16505551234".into(),
            user_id: "US.13491208655302741918".into(),
            name: "Sheena Nelson".into(),
            username: None,
            phone_hidden: false,
        }
    }

    #[test]
    fn inbound_text_has_the_full_envelope() {
        let msg = InboundMessage {
            id: "wamid.X".into(),
            timestamp: 1749416383,
            content: InboundContent::Text {
                body: "Does it come in another color?".into(),
            },
            context_id: None,
        };
        let v = inbound_webhook(&business(), &customer(), &msg);
        assert_eq!(v["object"], "whatsapp_business_account");
        assert_eq!(v["entry"][0]["id"], "102290129340398");
        let change = &v["entry"][0]["changes"][0];
        assert_eq!(change["field"], "messages");
        let val = &change["value"];
        assert_eq!(val["messaging_product"], "whatsapp");
        assert_eq!(val["metadata"]["phone_number_id"], "106540352242922");
        assert_eq!(val["metadata"]["display_phone_number"], "15550783881");
        assert_eq!(val["contacts"][0]["profile"]["name"], "Sheena Nelson");
        assert_eq!(val["contacts"][0]["wa_id"], "16505551234");
        assert_eq!(val["contacts"][0]["user_id"], "US.13491208655302741918");
        let m = &val["messages"][0];
        assert_eq!(m["from"], "16505551234");
        assert_eq!(m["from_user_id"], "US.13491208655302741918");
        assert_eq!(m["timestamp"], "1749416383");
        assert_eq!(m["type"], "text");
        assert_eq!(m["text"]["body"], "Does it come in another color?");
        assert_eq!(val["messages"].as_array().unwrap().len(), 1);
        assert!(m.get("context").is_none());
    }

    #[test]
    fn username_users_without_a_phone() {
        let mut c = customer();
        c.username = Some("@sheena".into());
        c.phone_hidden = true;
        let msg = InboundMessage {
            id: "wamid.U".into(),
            timestamp: 1,
            content: InboundContent::Text { body: "hi".into() },
            context_id: None,
        };
        let v = inbound_webhook(&business(), &c, &msg);
        let val = &v["entry"][0]["changes"][0]["value"];
        assert_eq!(val["contacts"][0]["profile"]["username"], "@sheena");
        assert!(val["contacts"][0].get("wa_id").is_none());
        assert!(val["messages"][0].get("from").is_none());
        assert_eq!(
            val["messages"][0]["from_user_id"],
            "US.13491208655302741918"
        );
    }

    #[test]
    fn interactive_replies_and_context() {
        let mut msg = InboundMessage {
            id: "wamid.Y".into(),
            timestamp: 1,
            content: InboundContent::ButtonReply {
                id: "yes".into(),
                title: "Yes".into(),
            },
            context_id: Some("wamid.OUT".into()),
        };
        let v = inbound_webhook(&business(), &customer(), &msg);
        let m = &v["entry"][0]["changes"][0]["value"]["messages"][0];
        assert_eq!(m["type"], "interactive");
        assert_eq!(m["interactive"]["type"], "button_reply");
        assert_eq!(m["interactive"]["button_reply"]["id"], "yes");
        assert_eq!(m["context"]["id"], "wamid.OUT");
        assert_eq!(m["context"]["from"], "15550783881");

        msg.content = InboundContent::ListReply {
            id: "r1".into(),
            title: "Row".into(),
            description: Some("opt".into()),
        };
        let v = inbound_webhook(&business(), &customer(), &msg);
        let m = &v["entry"][0]["changes"][0]["value"]["messages"][0];
        assert_eq!(m["interactive"]["list_reply"]["description"], "opt");
        assert_eq!(msg.content.text(), "Row");

        msg.content = InboundContent::TemplateButton {
            payload: "P".into(),
            text: "Confirm".into(),
        };
        let v = inbound_webhook(&business(), &customer(), &msg);
        let m = &v["entry"][0]["changes"][0]["value"]["messages"][0];
        assert_eq!(m["type"], "button");
        assert_eq!(m["button"]["payload"], "P");
    }

    #[test]
    fn media_reaction_and_location() {
        let mut msg = InboundMessage {
            id: "wamid.M".into(),
            timestamp: 1,
            content: InboundContent::Media {
                kind: "image".into(),
                id: "123".into(),
                mime_type: "image/png".into(),
                sha256: "ab".into(),
                caption: Some("foto".into()),
                filename: None,
                voice: false,
            },
            context_id: None,
        };
        let m = |msg: &InboundMessage| {
            inbound_webhook(&business(), &customer(), msg)["entry"][0]["changes"][0]["value"]
                ["messages"][0]
                .clone()
        };
        let v = m(&msg);
        assert_eq!(v["type"], "image");
        assert_eq!(
            v["image"],
            json!({"mime_type":"image/png","sha256":"ab","id":"123","caption":"foto"})
        );
        msg.content = InboundContent::Reaction {
            message_id: "wamid.OUT".into(),
            emoji: "👍".into(),
        };
        assert_eq!(m(&msg)["reaction"]["emoji"], "👍");
        msg.content = InboundContent::Location {
            latitude: 4.6,
            longitude: -74.08,
            name: Some("Clínica".into()),
            address: None,
        };
        let v = m(&msg);
        assert_eq!(v["type"], "location");
        assert_eq!(v["location"]["longitude"], -74.08);
        assert_eq!(msg.content.text(), "Clínica");
    }

    fn status(kind: StatusKind) -> StatusEvent {
        StatusEvent {
            id: "wamid.OUT".into(),
            status: kind,
            timestamp: 1698266945,
            by_user_id: false,
            biz_opaque_callback_data: Some("cb".into()),
            conversation_id: Some("conv1".into()),
            category: "service".into(),
            error: None,
        }
    }

    #[test]
    fn sent_status_carries_conversation_pricing_and_contacts() {
        let v = status_webhook(&business(), &customer(), &status(StatusKind::Sent));
        let val = &v["entry"][0]["changes"][0]["value"];
        let s = &val["statuses"][0];
        assert_eq!(s["status"], "sent");
        assert_eq!(s["recipient_id"], "16505551234");
        assert_eq!(s["timestamp"], "1698266945");
        assert_eq!(s["biz_opaque_callback_data"], "cb");
        assert_eq!(s["conversation"]["expiration_timestamp"], "1698353345");
        assert_eq!(s["pricing"]["pricing_model"], "PMP");
        assert_eq!(s["pricing"]["category"], "service");
        assert_eq!(val["contacts"][0]["wa_id"], "16505551234");
        assert!(val.get("messages").is_none());

        let v = status_webhook(&business(), &customer(), &status(StatusKind::Delivered));
        let s = &v["entry"][0]["changes"][0]["value"]["statuses"][0];
        assert!(s["conversation"].get("expiration_timestamp").is_none());
    }

    #[test]
    fn failed_status_has_errors_and_no_pricing() {
        let mut ev = status(StatusKind::Failed);
        ev.error = Some(GraphError::re_engagement());
        ev.by_user_id = true;
        let v = status_webhook(&business(), &customer(), &ev);
        let s = &v["entry"][0]["changes"][0]["value"]["statuses"][0];
        assert_eq!(s["status"], "failed");
        assert_eq!(s["errors"][0]["code"], 131047);
        assert_eq!(s["recipient_user_id"], "US.13491208655302741918");
        assert!(s.get("recipient_id").is_none());
        assert!(s.get("pricing").is_none() && s.get("conversation").is_none());
    }
}
