//! Reading the providers' webhooks: what a customer said, to which tenant, under which id.
//! Pure functions over the request body; the HTTP layer maps their errors to status codes.

use serde_json::Value;

/// A customer's message, whichever provider delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Evolution instance name or Meta phone-number-id.
    pub tenant: String,
    /// The provider's message id (duplicate deliveries carry the same one).
    pub message_id: String,
    /// Where replies go: the phone number (digits) or, for Meta users known only by a
    /// business-scoped user id, that id.
    pub customer: Customer,
    pub name: Option<String>,
    /// The text, or the title of the tapped button / list row.
    pub text: String,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Message(Inbound),
    /// A valid delivery that needs no answer (acks, statuses, connection updates, own messages).
    Ignored {
        tenant: String,
        what: String,
    },
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
    let text = [
        "/conversation",
        "/extendedTextMessage/text",
        "/buttonsResponseMessage/selectedDisplayText",
        "/listResponseMessage/title",
        "/templateButtonReplyMessage/selectedDisplayText",
    ]
    .iter()
    .find_map(|p| str_at(message, p));
    let Some(text) = text else {
        return Ok(Event::Ignored {
            tenant,
            what: "message without text".into(),
        });
    };
    let phone: String = jid
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
        name: str_at(data, "/pushName").map(str::to_string),
        text: text.to_string(),
    }))
}

/// Why a Meta webhook's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header: 401.
    Missing,
    /// Present but wrong: 403.
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex>` over the exact body, in constant time.
pub fn verify_signature(
    app_secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    match crate::sim::meta::wire::verify_signature(app_secret.as_bytes(), body, header.trim()) {
        true => Ok(()),
        false => Err(SignatureError::Mismatch),
    }
}

/// Parses a Meta Cloud API webhook; reads `entry[0].changes[0]` and its first message, as
/// every client library does.
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
        let what = if value.get("statuses").is_some() {
            "status"
        } else {
            "other change"
        };
        return Ok(Event::Ignored {
            tenant,
            what: what.into(),
        });
    };
    let id = str_at(message, "/id").ok_or_else(|| invalid("message without `id`"))?;
    let customer = match (str_at(message, "/from"), str_at(message, "/from_user_id")) {
        (Some(phone), _) => Customer::Phone(phone.to_string()),
        (None, Some(user)) => Customer::UserId(user.to_string()),
        (None, None) => return Err(invalid("message without `from` or `from_user_id`")),
    };
    let text = match str_at(message, "/type") {
        Some("text") => str_at(message, "/text/body"),
        Some("interactive") => str_at(message, "/interactive/button_reply/title")
            .or_else(|| str_at(message, "/interactive/list_reply/title")),
        Some("button") => str_at(message, "/button/text"),
        Some(_) => None,
        None => return Err(invalid("message without `type`")),
    };
    let Some(text) = text else {
        return Ok(Event::Ignored {
            tenant,
            what: "message without text".into(),
        });
    };
    Ok(Event::Message(Inbound {
        tenant,
        message_id: id.to_string(),
        customer,
        name: str_at(value, "/contacts/0/profile/name").map(str::to_string),
        text: text.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};
    use serde_json::json;
    use sha2::Sha256;

    fn upsert(text: &str) -> Vec<u8> {
        json!({"event": "messages.upsert", "instance": "clinica", "data": {
            "key": {"remoteJid": "5511988887777@s.whatsapp.net", "fromMe": false, "id": "3A5F"},
            "pushName": "Ana", "status": "DELIVERY_ACK", "message": {"conversation": text},
            "messageType": "conversation", "messageTimestamp": 1773027345},
            "destination": "http://app/hook", "date_time": "2026-01-01T00:00:00.000Z",
            "server_url": "http://sim", "apikey": null})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn evolution_text_message() {
        let Event::Message(m) = evolution(&upsert("Hola")).unwrap() else {
            panic!()
        };
        assert_eq!(m.tenant, "clinica");
        assert_eq!(m.message_id, "3A5F");
        assert_eq!(m.customer, Customer::Phone("5511988887777".into()));
        assert_eq!((m.name.as_deref(), m.text.as_str()), (Some("Ana"), "Hola"));
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
        let own = String::from_utf8(upsert("x"))
            .unwrap()
            .replace("\"fromMe\":false", "\"fromMe\":true");
        assert!(matches!(
            evolution(own.as_bytes()).unwrap(),
            Event::Ignored { .. }
        ));
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

    #[test]
    fn meta_text_button_and_list_replies() {
        let text = meta_body(
            json!({"from": "16505551234", "id": "wamid.A", "timestamp": "1", "type": "text", "text": {"body": "Hola"}}),
        );
        let Event::Message(m) = meta(&text).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.tenant.as_str(), m.text.as_str(), m.name.as_deref()),
            ("1065", "Hola", Some("Sheena"))
        );
        let button = meta_body(
            json!({"from_user_id": "US.1", "id": "wamid.B", "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "1", "title": "09:00"}}}),
        );
        let Event::Message(m) = meta(&button).unwrap() else {
            panic!()
        };
        assert_eq!(
            (m.customer, m.text.as_str()),
            (Customer::UserId("US.1".into()), "09:00")
        );
        let list = meta_body(json!({"from": "1", "id": "wamid.C", "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": "r1", "title": "Cardiología"}}}));
        assert!(matches!(meta(&list).unwrap(), Event::Message(m) if m.text == "Cardiología"));
    }

    #[test]
    fn meta_statuses_are_ignored_and_garbage_is_invalid() {
        let status = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
            "metadata": {"phone_number_id": "1065"}, "statuses": [{"id": "wamid.A", "status": "read"}]}}]}]});
        assert!(matches!(
            meta(status.to_string().as_bytes()).unwrap(),
            Event::Ignored { .. }
        ));
        assert!(meta(br#"{"object":"page"}"#).is_err());
        assert!(meta(b"[]").is_err());
    }

    #[test]
    fn signature_is_checked_over_the_exact_bytes() {
        let body = br#"{"a":"\u00f1"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(verify_signature("secret", Some(&good), body), Ok(()));
        assert_eq!(
            verify_signature("other", Some(&good), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("secret", Some(&good), br#"{"a":"n"}"#),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("secret", None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature("secret", Some("sha1=abc"), body),
            Err(SignatureError::Mismatch)
        );
    }
}
