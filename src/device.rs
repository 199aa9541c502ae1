//! Customer-device mode, the harness's side: the webhook listener that receives what the
//! customer device (an Evolution instance paired to a test number) receives, and the calls
//! that prepare the device for a run — its number (`fetchInstances` `ownerJid`) and its
//! webhook (`webhook/set`, pointed at the listener). The app's replies — `messages.upsert`
//! with `key.fromMe == false` from the business number — are published on the listener's own
//! [`Bus`], where `await` reads them as it reads a simulator's journal (`crate::runner`): the
//! receipt time at the listener is the reply's time, so inject → receipt is the end-to-end
//! latency through WhatsApp.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::runner::DeviceTarget;
use crate::sim::bus::{phone_digits, NewOutbound, Simulator};
use crate::sim::{Bus, SimHandle};
use crate::target::DeviceSpec;

/// Replies kept by the listener's journal.
const JOURNAL: usize = 10_000;

/// The path the device's webhook posts to.
pub const WEBHOOK_PATH: &str = "/customer-device/webhook";

/// The header the device's webhook carries, set with `webhook/set` `headers` (the server posts
/// them with every event); the listener refuses posts without this run's value.
// upstream: evolution-api 2.3.6 src/api/integrations/event/webhook/webhook.controller.ts
// (`emit`: `webhookHeaders` from the stored `headers`, given to `axios.create`).
pub const TOKEN_HEADER: &str = "x-harness-device-token";

/// Where the listener binds, and the URL the device's server reaches it at.
#[derive(Debug, Clone)]
pub struct ListenAt {
    pub addr: SocketAddr,
    pub public_url: Option<String>,
}

/// The running listener of a run, with its device.
pub struct Listener {
    pub bus: Bus,
    /// The URL the device's webhook was set to.
    pub webhook_url: String,
    pub device: DeviceTarget,
    handle: SimHandle,
}

/// Completes the device (its number, from the device when not given), starts the listener
/// and points the device's webhook at it. Errors are complete messages for the user.
pub async fn start(spec: &DeviceSpec, at: ListenAt) -> Result<Listener, String> {
    let (Some(url), Some(instance)) = (&spec.url, &spec.instance) else {
        return Err("`customer_device` needs the device's `url` and `instance`".into());
    };
    let url = url.trim_end_matches('/').to_string();
    let api_key = spec.api_key.clone().unwrap_or_default();
    let client = crate::runner::default_client();
    let number = match &spec.number {
        Some(n) => phone_digits(n),
        None => owner_number(&client, &url, instance, &api_key).await?,
    };
    let business_number = spec.business_number.as_deref().map(phone_digits).ok_or(
        "`customer_device` needs `business_number:` (the app's WhatsApp number the device writes to)",
    )?;
    let device = DeviceTarget {
        url,
        instance: instance.clone(),
        api_key,
        number,
        business_number,
    };
    let listener = TcpListener::bind(at.addr).await.map_err(|e| {
        format!(
            "cannot bind the customer device's listener to {}: {e}",
            at.addr
        )
    })?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let base = at.public_url.unwrap_or_else(|| crate::sim::url_of(local));
    let webhook_url = format!("{}{WEBHOOK_PATH}", base.trim_end_matches('/'));
    let bus = Bus::new(JOURNAL);
    let token = uuid::Uuid::new_v4().simple().to_string();
    let state = Arc::new(Receiver {
        bus: bus.clone(),
        device: device.clone(),
        token: token.clone(),
    });
    let router = Router::new().fallback(receive).with_state(state);
    let handle = crate::sim::serve(listener, router, bus.clone())
        .await
        .map_err(|e| format!("cannot serve the customer device's listener: {e}"))?;
    set_webhook(&client, &device, Some((&webhook_url, &token))).await?;
    Ok(Listener {
        bus,
        webhook_url,
        device,
        handle,
    })
}

impl Listener {
    /// The listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.handle.addr
    }

    /// Turns the device's webhook off (a real device keeps no dangling URL) and stops.
    pub async fn shutdown(self) {
        let client = crate::runner::default_client();
        if let Err(e) = set_webhook(&client, &self.device, None).await {
            tracing::warn!("customer device: {e}");
        }
        self.handle.shutdown().await;
    }
}

/// The number of the account paired to `instance`: `ownerJid` of `GET /instance/fetchInstances`.
// upstream: evolution-api 2.3.6 src/api/routes/instance.router.ts (`fetchInstances`,
// `?instanceName=`), rows with `ownerJid` (src/api/services/monitor.service.ts).
async fn owner_number(
    client: &reqwest::Client,
    url: &str,
    instance: &str,
    api_key: &str,
) -> Result<String, String> {
    let answer = client
        .get(format!("{url}/instance/fetchInstances"))
        .query(&[("instanceName", instance)])
        .header("apikey", api_key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("customer device: cannot reach {url}: {e}"))?;
    let status = answer.status();
    let rows: Value = answer.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(format!(
            "customer device: fetchInstances answered {status}: check its `url`, `instance` and `api_key`"
        ));
    }
    let owner = rows
        .as_array()
        .and_then(|r| r.iter().find(|row| row["name"] == instance))
        .and_then(|row| row["ownerJid"].as_str())
        .map(phone_digits)
        .filter(|n| !n.is_empty());
    owner.ok_or_else(|| {
        format!("customer device: instance `{instance}` has no number (ownerJid): pair it to a phone first, or give `number:`")
    })
}

/// Points the device's webhook at `url`, carrying [`TOKEN_HEADER`] with `token` (`None`:
/// turns it off).
// upstream: evolution-api 2.3.6 src/api/integrations/event/webhook/webhook.router.ts
// (`POST /webhook/set/:instance`, body `{webhook: {enabled, url, byEvents, base64, events}}`,
// `enabled` and `url` required; `enabled: false` stores no events).
async fn set_webhook(
    client: &reqwest::Client,
    d: &DeviceTarget,
    to: Option<(&str, &str)>,
) -> Result<(), String> {
    let (url, headers) = match to {
        Some((url, token)) => (url, json!({ TOKEN_HEADER: token })),
        None => ("http://127.0.0.1:9/off", json!({})),
    };
    let body = json!({"webhook": {
        "enabled": to.is_some(),
        "url": url,
        "byEvents": false, "base64": false, "events": ["MESSAGES_UPSERT"],
        "headers": headers,
    }});
    let answer = client
        .post(format!("{}/webhook/set/{}", d.url, d.instance))
        .header("apikey", &d.api_key)
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("customer device: cannot reach {}: {e}", d.url))?;
    match answer.status() {
        s if s.is_success() => Ok(()),
        s => Err(format!(
            "customer device: webhook/set answered {s}: check its `instance` and `api_key`"
        )),
    }
}

struct Receiver {
    bus: Bus,
    device: DeviceTarget,
    /// This run's [`TOKEN_HEADER`] value.
    token: String,
}

/// One webhook from the device: a message from the business number is published. A post
/// without this run's token is refused (401) and published nowhere.
async fn receive(
    State(r): State<Arc<Receiver>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let token = headers.get(TOKEN_HEADER).map(|v| v.as_bytes());
    if token != Some(r.token.as_bytes()) {
        tracing::warn!("customer device listener: a post without this run's token, refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if let Some(new) = reply_of(&envelope, &r.device) {
        r.bus.publish(new);
    }
    StatusCode::OK
}

/// The app's reply in a `messages.upsert` webhook, for the listener's journal: `None` for
/// other events, the device's own messages and other senders.
// upstream: evolution-api 2.3.6 src/api/integrations/channel/whatsapp/whatsapp.baileys.service.ts
// (`messages.upsert` → `prepareMessage`: `key {remoteJid, fromMe, id, remoteJidAlt,
// addressingMode}`, `message`, `messageType`).
pub fn reply_of(envelope: &Value, d: &DeviceTarget) -> Option<NewOutbound> {
    let event = envelope["event"].as_str()?;
    if !event.eq_ignore_ascii_case("messages.upsert") && event != "MESSAGES_UPSERT" {
        return None;
    }
    let data = &envelope["data"];
    let key = &data["key"];
    if key["fromMe"].as_bool() != Some(false) {
        return None;
    }
    let jid = key["remoteJid"].as_str()?;
    let sender = match jid.ends_with("@lid") {
        true => key["remoteJidAlt"].as_str()?,
        false => jid,
    };
    if phone_digits(sender) != d.business_number {
        return None;
    }
    let (kind, text, mut payload) = content(&data["message"], data["messageType"].as_str()?);
    payload["webhook"] = data.clone();
    Some(NewOutbound {
        provider: Simulator::Evolution,
        tenant: d.instance.clone(),
        to: d.number.clone(),
        message_id: key["id"].as_str().unwrap_or_default().to_string(),
        kind,
        text,
        payload,
    })
}

/// (kind, text, the Evolution send body of the same content) of a received Baileys message,
/// so the provider-neutral view (`crate::sim::neutral`) reads it as it reads a send.
fn content(m: &Value, ty: &str) -> (String, Option<String>, Value) {
    let s = |v: &Value| v.as_str().map(str::to_string);
    // A document with a caption is a document message wrapped in another.
    let (ty, c) = match ty {
        "documentWithCaptionMessage" => ("documentMessage", &m[ty]["message"]["documentMessage"]),
        _ => (ty, &m[ty]),
    };
    match ty {
        "conversation" => ("text".into(), s(c), json!({"text": c})),
        "extendedTextMessage" => ("text".into(), s(&c["text"]), json!({"text": c["text"]})),
        "imageMessage" | "videoMessage" | "documentMessage" | "documentWithCaptionMessage" => {
            let mediatype = ty
                .trim_end_matches("Message")
                .trim_end_matches("WithCaption");
            let body = json!({"mediatype": mediatype, "caption": c["caption"],
                              "fileName": c["fileName"], "mimetype": c["mimetype"]});
            ("media".into(), s(&c["caption"]), body)
        }
        "audioMessage" => ("media".into(), None, json!({"audio": ""})),
        "stickerMessage" => ("media".into(), None, json!({"sticker": ""})),
        "locationMessage" => {
            let body = json!({"latitude": c["degreesLatitude"], "longitude": c["degreesLongitude"],
                              "name": c["name"], "address": c["address"]});
            ("location".into(), s(&c["name"]), body)
        }
        "contactMessage" | "contactsArrayMessage" => ("contacts".into(), None, json!({})),
        "reactionMessage" => ("reaction".into(), s(&c["text"]), json!({})),
        other => (other.to_string(), None, json!({})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> DeviceTarget {
        DeviceTarget {
            url: "http://127.0.0.1:1".into(),
            instance: "phone".into(),
            api_key: "k".into(),
            number: "5511900000001".into(),
            business_number: "15550783881".into(),
        }
    }

    #[test]
    fn only_messages_from_the_business_number_to_the_device_are_replies() {
        // upstream: evolution-api 2.3.6 whatsapp.baileys.service.ts messages.upsert
        let upsert = |from: &str, from_me: bool| {
            json!({"event": "messages.upsert", "instance": "phone", "data": {
                "key": {"remoteJid": format!("{from}@s.whatsapp.net"), "fromMe": from_me, "id": "ABC"},
                "message": {"conversation": "Hola"}, "messageType": "conversation"}})
        };
        let r = reply_of(&upsert("15550783881", false), &device()).unwrap();
        assert_eq!(
            (r.to.as_str(), r.kind.as_str(), r.text.as_deref()),
            ("5511900000001", "text", Some("Hola"))
        );
        assert!(reply_of(&upsert("15550783881", true), &device()).is_none());
        assert!(reply_of(&upsert("5511999999999", false), &device()).is_none());
        let mut other = upsert("15550783881", false);
        other["event"] = json!("messages.update");
        assert!(reply_of(&other, &device()).is_none());
        // A sender addressed by LID is read from `remoteJidAlt`.
        let mut lid = upsert("15550783881", false);
        lid["data"]["key"]["remoteJid"] = json!("123456@lid");
        lid["data"]["key"]["remoteJidAlt"] = json!("15550783881@s.whatsapp.net");
        assert!(reply_of(&lid, &device()).is_some());
    }
}
