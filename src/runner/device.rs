//! Customer-device mode: an Evolution instance paired to a test WhatsApp number plays the
//! customer. `inject` sends the customer's message from that instance to the app's business
//! number with the Evolution API's own send routes (`sendMessage.router.ts`), so the message
//! travels through WhatsApp (or the simulated WhatsApp network) to the app on either provider;
//! `await` reads the app's replies that the device's webhook brought to the harness's listener
//! (`crate::device`), published on a bus of their own, so the matchers, checks and end-to-end
//! latency are those of the simulated mode (receipt at the listener − inject).
//!
//! One device is one customer: the scenario's `from:` (and an `await`'s `to:`) are replaced by
//! the device's number. What a phone cannot send through the Evolution API (a tap on a button
//! or a list row, a template button, a flow, a raw webhook, a message in a group) is refused
//! before the run ([`unsupported`]), and so is `tenant:`: the device writes to and hears one
//! business number.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::http::{ErrorKind, ExchangeError, SentRequest};
use super::template::{Templater, Vars};
use crate::redact::PersonalKind;
use crate::scenario::{Action, Content, CustomerMessage, Diagnostic, Inject, Scenario};

/// The customer device of a run: where its Evolution API is, and the numbers at both ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceTarget {
    /// The device's Evolution API, without a trailing slash.
    pub url: String,
    pub instance: String,
    /// The `apikey` header (the global key or the instance's token): a secret.
    pub api_key: String,
    /// The device's own number (digits): the customer.
    pub number: String,
    /// The app's business number (digits), where the customer writes.
    pub business_number: String,
}

/// Why a step cannot run from a customer device; `None` when it can.
pub fn refusal(action: &Action) -> Option<&'static str> {
    let m = match action {
        Action::Inject(Inject::Customer(m)) => m,
        Action::Inject(Inject::Raw(_)) => {
            return Some("a raw webhook cannot be sent from a customer device: it is the provider's, not the phone's")
        }
        // Ignored, it would pass whichever of the app's numbers answered (a tenant isolation
        // check among them): the device hears only the business number it writes to.
        Action::Await(a) if a.tenant.is_some() => {
            return Some("`tenant:` on an `await` is checked by the simulated provider; a customer device hears the one business number it writes to (`customer_device.business_number`) and cannot tell the app's tenants apart: drop `tenant:`")
        }
        _ => return None,
    };
    if m.tenant.is_some() {
        return Some("`tenant:` picks one of the app's numbers in simulated mode; a customer device writes to the one business number of `customer_device` (`business_number`): drop `tenant:`");
    }
    if m.group.is_some() || m.lid || m.username.is_some() || m.hide_phone {
        return Some("`group`, `lid`, `username` and `hide_phone` describe a simulated customer; a customer device writes from its own number, one to one");
    }
    match &m.content {
        Content::ButtonReply { .. }
        | Content::ListReply { .. }
        | Content::TemplateButton { .. }
        | Content::FlowReply { .. } => Some(
            "a tap (button, list row, template button, flow) cannot be sent through the Evolution API: it has no route for it; write the choice as text",
        ),
        Content::Reaction { .. } => Some(
            "a reaction needs the id of the app's message as the device received it, which a scenario cannot name; write text instead",
        ),
        _ => None,
    }
}

/// Every step of `scenario` a customer device cannot send, at its `file:line:col`.
pub fn unsupported(scenario: &Scenario) -> Vec<Diagnostic> {
    scenario
        .steps
        .iter()
        .filter_map(|step| {
            let why = refusal(&step.action)?;
            Some(
                Diagnostic::new(&scenario.path, step.span, why.to_string())
                    .with_hint("run this step without `customer_device:` (simulated mode)"),
            )
        })
        .collect()
}

fn invalid(message: impl Into<String>) -> ExchangeError {
    ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message: message.into(),
    }
}

/// The customer's message as the device sends it: `POST {url}/message/{route}/{instance}`
/// (a JSON body), and the customer whose clock it starts (the device's number).
pub(super) fn render_customer(
    m: &CustomerMessage,
    t: &Templater,
    vars: &Vars,
    d: &DeviceTarget,
) -> Result<(SentRequest, String), ExchangeError> {
    if let Some(why) = refusal(&Action::Inject(Inject::Customer(m.clone()))) {
        return Err(invalid(why));
    }
    let neutral = super::inject_body::customer_body(m, t, vars, false)?;
    let redactor = t.redactor();
    redactor.learn_personal(PersonalKind::Phone, &d.number);
    if let Some(text) = neutral["text"].as_str() {
        redactor.learn_personal(PersonalKind::Text, text);
    }
    let (route, body) = send_body(&neutral, &d.business_number).map_err(invalid)?;
    let request = SentRequest {
        method: "POST".into(),
        url: format!("{}/message/{route}/{}", d.url, d.instance),
        headers: vec![("apikey".into(), d.api_key.clone())],
        body: Some(body.to_string()),
    };
    Ok((request, d.number.clone()))
}

/// The Evolution send route and body of a customer message (in the form
/// `/__harness/inbound` takes it, [`crate::sim::inbound::InboundRequest`]).
// upstream: evolution-api 2.3.6 src/api/routes/sendMessage.router.ts (the routes) and
// src/validate/message.schema.ts (textMessageSchema, mediaMessageSchema, audioMessageSchema,
// stickerMessageSchema, locationMessageSchema, contactMessageSchema: the required fields).
pub fn send_body(neutral: &Value, to: &str) -> Result<(&'static str, Value), String> {
    if let Some(text) = neutral["text"].as_str() {
        return Ok(("sendText", json!({"number": to, "text": text})));
    }
    if let Some(l) = neutral.get("location") {
        let text = |k: &str| l[k].as_str().unwrap_or_default().to_string();
        let body = json!({"number": to, "latitude": l["latitude"], "longitude": l["longitude"],
                          "name": text("name"), "address": text("address")});
        return Ok(("sendLocation", body));
    }
    if let Some(cards) = neutral["contacts"].as_array() {
        let contact: Vec<Value> = cards
            .iter()
            .map(|c| {
                let phone = c["phone"].as_str().unwrap_or_default();
                json!({"fullName": c["name"], "phoneNumber": phone,
                       "wuid": crate::sim::bus::phone_digits(phone)})
            })
            .collect();
        return Ok(("sendContact", json!({"number": to, "contact": contact})));
    }
    for kind in crate::sim::inbound::MEDIA_KINDS {
        if let Some(part) = neutral.get(kind) {
            return media_body(kind, part, to);
        }
    }
    Err(format!(
        "this message cannot be sent from a customer device: {neutral}"
    ))
}

/// A media message: its bytes (given, or a real file of the kind generated as the simulators
/// do) as base64 in the matching send route.
fn media_body(kind: &str, part: &Value, to: &str) -> Result<(&'static str, Value), String> {
    let media: crate::sim::inbound::MediaIn =
        serde_json::from_value(part.clone()).map_err(|e| format!("{kind}: {e}"))?;
    let (bytes, mime) = crate::sim::inbound::media_bytes(kind, &media)?;
    let data = STANDARD.encode(&bytes);
    Ok(match kind {
        "audio" if media.voice => ("sendWhatsAppAudio", json!({"number": to, "audio": data})),
        "sticker" => ("sendSticker", json!({"number": to, "sticker": data})),
        _ => {
            let mut body = json!({"number": to, "mediatype": kind, "media": data,
                                  "mimetype": mime});
            if let Some(c) = &media.caption {
                body["caption"] = json!(c);
            }
            if let Some(f) = &media.filename {
                body["fileName"] = json!(f);
            }
            ("sendMedia", body)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_customer_message_has_its_send_route_with_the_required_fields() {
        let to = "15550783881";
        let (route, body) = send_body(&json!({"text": "hola"}), to).unwrap();
        assert_eq!(
            (route, &body),
            ("sendText", &json!({"number": to, "text": "hola"}))
        );
        let loc = json!({"location": {"latitude": 4.6, "longitude": -74.0, "name": "Parque"}});
        let (route, body) = send_body(&loc, to).unwrap();
        assert_eq!(route, "sendLocation");
        // locationMessageSchema requires name and address.
        assert_eq!(
            (body["name"].as_str(), body["address"].as_str()),
            (Some("Parque"), Some(""))
        );
        let (route, body) = send_body(&json!({"audio": {"voice": true}}), to).unwrap();
        assert_eq!(route, "sendWhatsAppAudio");
        let ogg = STANDARD.decode(body["audio"].as_str().unwrap()).unwrap();
        assert!(ogg.starts_with(b"OggS"), "a real Ogg file");
        let (route, body) = send_body(&json!({"image": {"caption": "recibo"}}), to).unwrap();
        assert_eq!(
            (route, body["mediatype"].as_str()),
            ("sendMedia", Some("image"))
        );
        let cards = json!({"contacts": [{"name": "Ana", "phone": "+55 11 91111-2222"}]});
        let (route, body) = send_body(&cards, to).unwrap();
        assert_eq!(
            (route, body["contact"][0]["wuid"].as_str()),
            ("sendContact", Some("5511911112222"))
        );
        assert!(send_body(&json!({"button_reply": {"id": "x", "title": "X"}}), to).is_err());
    }
}
