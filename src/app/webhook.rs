//! Reading the providers' webhooks: what a customer said (text, a tapped button or list row, a
//! voice note or other media, a location), to which tenant, under which id; and the delivery
//! failures of the app's own messages (to fall back to plain text). Pure functions over the
//! request body; the HTTP layer maps their errors to status codes.

use serde_json::Value;

/// A customer's message, whichever provider delivered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    /// Evolution instance name or Meta phone-number-id.
    pub tenant: String,
    /// The provider's message id (duplicate deliveries carry the same one).
    pub message_id: String,
    /// Where replies go: the phone number (digits) or, for Meta users known only by a
    /// business-scoped user id, that id.
    pub customer: Customer,
    pub name: Option<String>,
    pub content: Content,
}

/// What the customer sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(String),
    /// A tapped reply button or list row: the id the app gave it, and its title.
    Choice {
        id: String,
        title: String,
    },
    Media(Media),
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
    },
    /// Something the app does not read (a reaction, a contact card, …): its type.
    Other(String),
}

/// An attachment, to be downloaded from the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    /// `audio`, `image`, `video`, `document`, `sticker`.
    pub kind: String,
    /// A voice note (Meta `audio.voice`, Evolution `audioMessage.ptt`).
    pub voice: bool,
    pub mime: Option<String>,
    /// The SHA-256 the webhook states (hex or base64, as the provider writes it).
    pub sha256: Option<String>,
    pub source: MediaSource,
}

/// Where the bytes are.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// Meta media id: `GET /{media-id}` gives a URL, downloaded with the same bearer token.
    Meta { id: String },
    /// Evolution: the message id for `POST /chat/getBase64FromMediaMessage/{instance}`, or
    /// the bytes themselves when the webhook carries `message.base64` (`webhookBase64`).
    Evolution {
        message_id: String,
        base64: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Customer {
    Phone(String),
    /// Meta business-scoped user id (`US.123…`), replied to with `recipient`.
    UserId(String),
}

impl Customer {
    pub fn key(&self) -> &str {
        match self {
            Customer::Phone(p) | Customer::UserId(p) => p,
        }
    }
}

/// What a webhook delivery means to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(Inbound),
    /// Meta: one of the app's messages failed (`statuses[].status: failed`) with this code.
    Failed {
        tenant: String,
        message_id: String,
        code: i64,
    },
    /// A valid delivery that needs no answer (acks, statuses, connection updates, own messages).
    Ignored {
        tenant: String,
        what: String,
    },
}

impl Event {
    pub fn tenant(&self) -> &str {
        match self {
            Event::Message(m) => &m.tenant,
            Event::Failed { tenant, .. } | Event::Ignored { tenant, .. } => tenant,
        }
    }
}

/// The payload is not what the provider sends: answered `400 INVALID_WEBHOOK_PAYLOAD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidPayload(pub String);

fn invalid(msg: impl Into<String>) -> InvalidPayload {
    InvalidPayload(msg.into())
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn string_at(v: &Value, pointer: &str) -> Option<String> {
    str_at(v, pointer).map(str::to_string)
}

/// A coordinate as a number or a numeric string.
fn number_at(v: &Value, pointer: &str) -> Option<f64> {
    let n = v.pointer(pointer)?;
    n.as_f64()
        .or_else(|| n.as_str().and_then(|s| s.trim().parse().ok()))
}

/// Parses an Evolution API v2 webhook (`{event, instance, data, …}`).
pub fn evolution(body: &[u8]) -> Result<Event, InvalidPayload> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
    let event = str_at(&v, "/event").ok_or_else(|| invalid("missing string field `event`"))?;
    let tenant = str_at(&v, "/instance")
        .ok_or_else(|| invalid("missing string field `instance`"))?
        .to_string();
    let data = v
        .get("data")
        .ok_or_else(|| invalid("missing field `data`"))?;
    if event != "messages.upsert" {
        return Ok(Event::Ignored {
            tenant,
            what: event.to_string(),
        });
    }
    let id =
        str_at(data, "/key/id").ok_or_else(|| invalid("messages.upsert without `data.key.id`"))?;
    let jid = str_at(data, "/key/remoteJid")
        .ok_or_else(|| invalid("messages.upsert without `data.key.remoteJid`"))?;
    if data.pointer("/key/fromMe").and_then(Value::as_bool) == Some(true) || jid.ends_with("@g.us")
    {
        return Ok(Event::Ignored {
            tenant,
            what: "own or group message".into(),
        });
    }
    let message = data
        .get("message")
        .ok_or_else(|| invalid("messages.upsert without `data.message`"))?;
    // A `@lid` sender is answered at its phone number (`remoteJidAlt`) when the server gives one.
    let address = match str_at(data, "/key/remoteJidAlt") {
        Some(alt) if jid.ends_with("@lid") => alt,
        _ => jid,
    };
    let phone: String = address
        .split('@')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    if phone.is_empty() {
        return Err(invalid(format!(
            "`data.key.remoteJid` has no phone number: {jid:?}"
        )));
    }
    Ok(Event::Message(Inbound {
        tenant,
        message_id: id.to_string(),
        customer: Customer::Phone(phone),
        name: string_at(data, "/pushName"),
        content: evolution_content(message, id, str_at(data, "/messageType")),
    }))
}

/// The content of an Evolution (Baileys) `message` object.
fn evolution_content(message: &Value, id: &str, message_type: Option<&str>) -> Content {
    let text = ["/conversation", "/extendedTextMessage/text"]
        .iter()
        .find_map(|p| string_at(message, p));
    if let Some(text) = text {
        return Content::Text(text);
    }
    // Taps: (id pointer, title pointer) per reply type.
    let choices = [
        (
            "/buttonsResponseMessage/selectedButtonId",
            "/buttonsResponseMessage/selectedDisplayText",
        ),
        (
            "/listResponseMessage/singleSelectReply/selectedRowId",
            "/listResponseMessage/title",
        ),
        (
            "/templateButtonReplyMessage/selectedId",
            "/templateButtonReplyMessage/selectedDisplayText",
        ),
    ];
    for (id_at, title_at) in choices {
        if let Some(choice_id) = string_at(message, id_at) {
            let title = string_at(message, title_at).unwrap_or_default();
            return Content::Choice {
                id: choice_id,
                title,
            };
        }
    }
    // Native-flow buttons (what `sendButtons` sends) answer with the button's id in paramsJson.
    if let Some(params) = str_at(
        message,
        "/interactiveResponseMessage/nativeFlowResponseMessage/paramsJson",
    ) {
        let id = serde_json::from_str::<Value>(params)
            .ok()
            .and_then(|p| string_at(&p, "/id"));
        if let Some(id) = id {
            let title =
                string_at(message, "/interactiveResponseMessage/body/text").unwrap_or_default();
            return Content::Choice { id, title };
        }
    }
    if let Some(loc) = message.get("locationMessage") {
        if let (Some(latitude), Some(longitude)) = (
            number_at(loc, "/degreesLatitude"),
            number_at(loc, "/degreesLongitude"),
        ) {
            return Content::Location {
                latitude,
                longitude,
                name: string_at(loc, "/name"),
            };
        }
    }
    for (key, kind) in [
        ("audioMessage", "audio"),
        ("imageMessage", "image"),
        ("videoMessage", "video"),
        ("documentMessage", "document"),
        ("stickerMessage", "sticker"),
    ] {
        if let Some(m) = message.get(key) {
            return Content::Media(Media {
                kind: kind.to_string(),
                voice: kind == "audio" && m.get("ptt").and_then(Value::as_bool) == Some(true),
                mime: string_at(m, "/mimetype"),
                sha256: m.get("fileSha256").and_then(bytes_field),
                source: MediaSource::Evolution {
                    message_id: id.to_string(),
                    base64: string_at(message, "/base64"),
                },
            });
        }
    }
    Content::Other(message_type.unwrap_or("unknown").to_string())
}

/// A Baileys bytes field as JSON gives it: a base64 string, or a serialised `Buffer`/
/// `Uint8Array` (`{"type":"Buffer","data":[…]}` or `{"0":…,"1":…}`), returned as base64.
fn bytes_field(v: &Value) -> Option<String> {
    use base64::Engine;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    let numbers: Vec<u8> = match v.get("data").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .filter_map(|n| n.as_u64())
            .map(|n| n as u8)
            .collect(),
        None => {
            let obj = v.as_object()?;
            (0..obj.len())
                .map(|i| {
                    obj.get(&i.to_string())
                        .and_then(Value::as_u64)
                        .map(|n| n as u8)
                })
                .collect::<Option<Vec<u8>>>()?
        }
    };
    Some(base64::engine::general_purpose::STANDARD.encode(numbers))
}

/// Parses a Meta Cloud API webhook; reads `entry[0].changes[0]` and its first message or
/// status, as every client library does.
pub fn meta(body: &[u8]) -> Result<Event, InvalidPayload> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("body is not JSON: {e}")))?;
    if str_at(&v, "/object") != Some("whatsapp_business_account") {
        return Err(invalid("`object` must be \"whatsapp_business_account\""));
    }
    let value = v
        .pointer("/entry/0/changes/0/value")
        .ok_or_else(|| invalid("missing `entry[0].changes[0].value`"))?;
    let tenant = str_at(value, "/metadata/phone_number_id")
        .ok_or_else(|| invalid("missing `value.metadata.phone_number_id`"))?
        .to_string();
    let Some(message) = value.pointer("/messages/0") else {
        return Ok(meta_status(value, tenant));
    };
    let id = str_at(message, "/id").ok_or_else(|| invalid("message without `id`"))?;
    let customer = match (str_at(message, "/from"), str_at(message, "/from_user_id")) {
        (Some(phone), _) => Customer::Phone(phone.to_string()),
        (None, Some(user)) => Customer::UserId(user.to_string()),
        (None, None) => return Err(invalid("message without `from` or `from_user_id`")),
    };
    let kind = str_at(message, "/type").ok_or_else(|| invalid("message without `type`"))?;
    Ok(Event::Message(Inbound {
        tenant,
        message_id: id.to_string(),
        customer,
        name: string_at(value, "/contacts/0/profile/name"),
        content: meta_content(message, kind),
    }))
}

/// A change without messages: a failed status is news, the rest is ignored.
fn meta_status(value: &Value, tenant: String) -> Event {
    let Some(status) = value.pointer("/statuses/0") else {
        return Event::Ignored {
            tenant,
            what: "other change".into(),
        };
    };
    match (str_at(status, "/status"), str_at(status, "/id")) {
        (Some("failed"), Some(id)) => Event::Failed {
            tenant,
            message_id: id.to_string(),
            code: status
                .pointer("/errors/0/code")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        },
        _ => Event::Ignored {
            tenant,
            what: "status".into(),
        },
    }
}

/// The content of a Meta message of type `kind`.
fn meta_content(message: &Value, kind: &str) -> Content {
    let choice = |id: &str, title: &str| {
        Some(Content::Choice {
            id: string_at(message, id)?,
            title: string_at(message, title).unwrap_or_default(),
        })
    };
    let content = match kind {
        "text" => string_at(message, "/text/body").map(Content::Text),
        "interactive" => choice(
            "/interactive/button_reply/id",
            "/interactive/button_reply/title",
        )
        .or_else(|| {
            choice(
                "/interactive/list_reply/id",
                "/interactive/list_reply/title",
            )
        }),
        "button" => choice("/button/payload", "/button/text"),
        "location" => match (
            number_at(message, "/location/latitude"),
            number_at(message, "/location/longitude"),
        ) {
            (Some(latitude), Some(longitude)) => Some(Content::Location {
                latitude,
                longitude,
                name: string_at(message, "/location/name"),
            }),
            _ => None,
        },
        "audio" | "image" | "video" | "document" | "sticker" => {
            let m = &message[kind];
            string_at(m, "/id").map(|id| {
                Content::Media(Media {
                    kind: kind.to_string(),
                    voice: m.get("voice").and_then(Value::as_bool) == Some(true),
                    mime: string_at(m, "/mime_type"),
                    sha256: string_at(m, "/sha256"),
                    source: MediaSource::Meta { id },
                })
            })
        }
        _ => None,
    };
    content.unwrap_or_else(|| Content::Other(kind.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upsert(message: Value, message_type: &str) -> Vec<u8> {
        json!({"event": "messages.upsert", "instance": "clinica", "data": {
            "key": {"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": false, "id": "3A5F"},
            "pushName": "Ana", "status": "DELIVERY_ACK", "message": message,
            "messageType": message_type, "messageTimestamp": 1773027345},
            "destination": "http://app/hook", "date_time": "2026-01-01T00:00:00.000Z",
            "server_url": "http://sim", "apikey": null})
        .to_string()
        .into_bytes()
    }

    fn evo(message: Value, message_type: &str) -> Inbound {
        match evolution(&upsert(message, message_type)).unwrap() {
            Event::Message(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn evolution_text_message() {
        let m = evo(json!({"conversation": "Hola"}), "conversation");
        assert_eq!(m.tenant, "clinica");
        assert_eq!(m.message_id, "3A5F");
        assert_eq!(m.customer, Customer::Phone("5511988887777".into()));
        assert_eq!(m.name.as_deref(), Some("Ana"));
        assert_eq!(m.content, Content::Text("Hola".into()));
    }

    // upstream: Baileys WAProto.proto (the `message` shapes evolution-api 2.3.6 forwards
    // unchanged in messages.upsert: whatsapp.baileys.service.ts `messages.upsert` handler).
    #[test]
    fn evolution_taps_by_id() {
        let list = evo(
            json!({"listResponseMessage": {"title": "09:00", "listType": "SINGLE_SELECT",
                "singleSelectReply": {"selectedRowId": "slot:2026-11-23T09:00:0"},
                "contextInfo": {"stanzaId": "BAE5F00D"}}}),
            "listResponseMessage",
        );
        let want = Content::Choice {
            id: "slot:2026-11-23T09:00:0".into(),
            title: "09:00".into(),
        };
        assert_eq!(list.content, want);
        let button = evo(
            json!({"buttonsResponseMessage": {"selectedButtonId": "citas",
                "selectedDisplayText": "Mis citas"}}),
            "buttonsResponseMessage",
        );
        assert!(matches!(button.content, Content::Choice { ref id, .. } if id == "citas"));
        let native = evo(
            json!({"interactiveResponseMessage": {"body": {"text": "Mis citas"},
                "nativeFlowResponseMessage": {"name": "quick_reply",
                    "paramsJson": "{\"id\":\"citas\"}", "version": 3}}}),
            "interactiveResponseMessage",
        );
        assert_eq!(
            native.content,
            Content::Choice {
                id: "citas".into(),
                title: "Mis citas".into()
            }
        );
    }

    #[test]
    fn evolution_voice_note_location_and_lid_sender() {
        let voice = evo(
            json!({"audioMessage": {"url": "https://mmg.whatsapp.net/v/t62.7117-24/x.enc",
                "mimetype": "audio/ogg; codecs=opus", "fileSha256": "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
                "fileLength": "4312", "seconds": 3, "ptt": true}, "base64": "AAEC"}),
            "audioMessage",
        );
        let Content::Media(media) = voice.content else {
            panic!()
        };
        assert!(media.voice);
        assert_eq!(media.kind, "audio");
        assert_eq!(media.mime.as_deref(), Some("audio/ogg; codecs=opus"));
        assert_eq!(
            media.source,
            MediaSource::Evolution {
                message_id: "3A5F".into(),
                base64: Some("AAEC".into())
            }
        );
        // A fileSha256 serialised as a Uint8Array is read as its bytes.
        let raw = evo(
            json!({"audioMessage": {"ptt": false, "fileSha256": {"0": 1, "1": 2, "2": 3}}}),
            "audioMessage",
        );
        assert!(
            matches!(raw.content, Content::Media(Media { voice: false, sha256: Some(ref s), .. }) if s == "AQID")
        );
        let here = evo(
            json!({"locationMessage": {"degreesLatitude": 4.6761, "degreesLongitude": -74.0486,
                "name": "Casa"}}),
            "locationMessage",
        );
        assert_eq!(
            here.content,
            Content::Location {
                latitude: 4.6761,
                longitude: -74.0486,
                name: Some("Casa".into())
            }
        );
        let lid = String::from_utf8(upsert(json!({"conversation": "x"}), "conversation"))
            .unwrap()
            .replace(
                "\"remoteJid\":\"5511988887777@s.whatsapp.net\"",
                "\"remoteJid\":\"123456789012345@lid\",\"remoteJidAlt\":\"5511977776666@s.whatsapp.net\",\"addressingMode\":\"lid\"",
            );
        let Event::Message(m) = evolution(lid.as_bytes()).unwrap() else {
            panic!()
        };
        assert_eq!(m.customer, Customer::Phone("5511977776666".into()));
    }

    #[test]
    fn evolution_invalid_and_ignored_payloads() {
        assert!(evolution(b"not json").is_err());
        assert!(evolution(br#"{"instance":"x","data":{}}"#)
            .unwrap_err()
            .0
            .contains("event"));
        assert!(evolution(br#"{"event":"messages.upsert","instance":"x","data":{}}"#).is_err());
        let ack = br#"{"event":"messages.update","instance":"x","data":{"status":"READ"}}"#;
        assert!(matches!(evolution(ack).unwrap(), Event::Ignored { .. }));
        let own = String::from_utf8(upsert(json!({"conversation": "x"}), "conversation"))
            .unwrap()
            .replace("\"fromMe\":false", "\"fromMe\":true");
        assert!(matches!(
            evolution(own.as_bytes()).unwrap(),
            Event::Ignored { .. }
        ));
        let reaction = evo(
            json!({"reactionMessage": {"key": {"id": "X"}, "text": "👍"}}),
            "reactionMessage",
        );
        assert_eq!(reaction.content, Content::Other("reactionMessage".into()));
    }

    fn meta_body(message: Value) -> Vec<u8> {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550001111", "phone_number_id": "1065"},
                "contacts": [{"profile": {"name": "Sheena"}, "wa_id": "16505551234", "user_id": "US.1"}],
                "messages": [message]}}]}]})
        .to_string()
        .into_bytes()
    }

    fn meta_msg(message: Value) -> Inbound {
        match meta(&meta_body(message)).unwrap() {
            Event::Message(m) => m,
            other => panic!("{other:?}"),
        }
    }

    // Meta Cloud API reference, Webhooks › messages (text, interactive list_reply/button_reply
    // with `context`) — shared/reference/meta-cloud-api.md §4 [M-wh-msg][pywa fixtures].
    #[test]
    fn meta_text_button_and_list_replies() {
        let m = meta_msg(
            json!({"from": "16505551234", "id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "Hola"}}),
        );
        assert_eq!(
            (m.tenant.as_str(), m.name.as_deref()),
            ("1065", Some("Sheena"))
        );
        assert_eq!(m.content, Content::Text("Hola".into()));
        let button = meta_msg(
            json!({"from_user_id": "US.1", "id": "wamid.B", "type": "interactive",
            "context": {"from": "15550001111", "id": "wamid.OUT"},
            "interactive": {"type": "button_reply", "button_reply": {"id": "citas", "title": "Mis citas"}}}),
        );
        assert_eq!(button.customer, Customer::UserId("US.1".into()));
        assert_eq!(
            button.content,
            Content::Choice {
                id: "citas".into(),
                title: "Mis citas".into()
            }
        );
        let list = meta_msg(json!({"from": "1", "id": "wamid.C", "type": "interactive",
            "context": {"from": "15550001111", "id": "wamid.OUT"},
            "interactive": {"type": "list_reply", "list_reply": {"id": "slot:x", "title": "09:00",
                "description": "Dra. Ana Pérez"}}}));
        assert!(matches!(list.content, Content::Choice { ref id, .. } if id == "slot:x"));
        let template = meta_msg(json!({"from": "1", "id": "wamid.D", "type": "button",
            "button": {"payload": "citas", "text": "Mis citas"}}));
        assert!(matches!(template.content, Content::Choice { ref id, .. } if id == "citas"));
    }

    // Meta Cloud API reference, Webhooks › messages › audio (`voice: true` for a voice note)
    // and › location; media ids are downloaded with GET /{media-id} [M-wh-msg; §6 of
    // shared/reference/meta-cloud-api.md].
    #[test]
    fn meta_voice_note_image_and_location() {
        let m = meta_msg(
            json!({"from": "16505551234", "id": "wamid.V", "timestamp": "1749854575",
            "type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus",
                "sha256": "ZwOQTfbqGpY1L3GwVzVZkD5n9jZ6ZbpqcDdLqnZ0x7g=", "id": "1003383421387256",
                "voice": true}}),
        );
        let Content::Media(media) = m.content else {
            panic!()
        };
        assert!(media.voice);
        assert_eq!(
            media.source,
            MediaSource::Meta {
                id: "1003383421387256".into()
            }
        );
        assert!(media.sha256.unwrap().starts_with("ZwOQ"));
        let image = meta_msg(json!({"from": "1", "id": "wamid.I", "type": "image",
            "image": {"caption": "receta", "mime_type": "image/jpeg", "sha256": "abc", "id": "77"}}));
        assert!(
            matches!(image.content, Content::Media(Media { voice: false, ref kind, .. }) if kind == "image")
        );
        let here = meta_msg(json!({"from": "1", "id": "wamid.L", "type": "location",
            "location": {"address": "1 Hacker Way, Menlo Park, CA 94025", "latitude": 37.483307,
                "longitude": -122.148981, "name": "Main Street Beach"}}));
        assert_eq!(
            here.content,
            Content::Location {
                latitude: 37.483307,
                longitude: -122.148981,
                name: Some("Main Street Beach".into())
            }
        );
        let reaction = meta_msg(json!({"from": "1", "id": "wamid.R", "type": "reaction",
            "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}));
        assert_eq!(reaction.content, Content::Other("reaction".into()));
    }

    // Meta Cloud API reference, Webhooks › messages › status (`failed` with `errors[]`):
    // shared/reference/meta-cloud-api.md §4 [M-wh-status].
    #[test]
    fn meta_statuses_failed_is_news_others_ignored_garbage_invalid() {
        let status = |s: Value| {
            json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
                "metadata": {"phone_number_id": "1065"}, "statuses": [s]}}]}]})
            .to_string()
        };
        let read = status(json!({"id": "wamid.A", "status": "read"}));
        assert!(matches!(
            meta(read.as_bytes()).unwrap(),
            Event::Ignored { .. }
        ));
        let failed = status(
            json!({"id": "wamid.A", "status": "failed", "timestamp": "1",
            "recipient_id": "16505551234", "errors": [{"code": 131026, "title": "Message undeliverable"}]}),
        );
        assert_eq!(
            meta(failed.as_bytes()).unwrap(),
            Event::Failed {
                tenant: "1065".into(),
                message_id: "wamid.A".into(),
                code: 131026
            }
        );
        assert!(meta(br#"{"object":"page"}"#).is_err());
        assert!(meta(b"[]").is_err());
        let no_type = meta_body(json!({"from": "1", "id": "wamid.X"}));
        assert!(meta(&no_type).unwrap_err().0.contains("type"));
    }
}
