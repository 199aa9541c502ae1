//! Evolution instances as plain data, and their state machine (`close → connecting → open`).
//!
//! Each transition mutates an [`Instance`] and returns the webhook [`Event`]s it causes; the
//! caller sends them after releasing the lock. The data shapes (`fetchInstances` rows, QR
//! objects, `connection.update` data) follow the reference's §3–§5.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::errors::EvoError;
use super::rules::WebhookSettings;

/// Contacts remembered per instance at most (names for `whatsappNumbers`); bounded memory.
const MAX_CONTACTS: usize = 10_000;

/// Connection state of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Close,
    Connecting,
    Open,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Close => "close",
            ConnState::Connecting => "connecting",
            ConnState::Open => "open",
        }
    }
}

/// A QR code as the server shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Qr {
    pub count: u32,
    pub code: Option<String>,
    /// `data:image/png;base64,…`
    pub base64: Option<String>,
    pub pairing_code: Option<String>,
}

impl Qr {
    /// `{"pairingCode","code","base64","count"}`, or `{"count": n}` before the first QR.
    pub fn to_json(&self) -> Value {
        match (&self.code, &self.base64) {
            (Some(code), Some(b64)) => json!({
                "pairingCode": self.pairing_code, "code": code, "base64": b64, "count": self.count,
            }),
            _ => json!({"count": self.count}),
        }
    }
}

/// A freshly generated QR (code and its PNG data URL).
#[derive(Debug, Clone, PartialEq)]
pub struct NewQr {
    pub code: String,
    pub base64: String,
}

/// A webhook the instance should send.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Dotted event name (`connection.update`).
    pub name: &'static str,
    pub data: Value,
    /// Wait before sending (acks).
    pub delay: Duration,
}

impl Event {
    pub fn now(name: &'static str, data: Value) -> Self {
        Self {
            name,
            data,
            delay: Duration::ZERO,
        }
    }
}

/// The stored webhook row.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookRow {
    pub id: String,
    /// Shared with the webhook contexts of pending events (cloned per send, so an `Arc`).
    pub settings: std::sync::Arc<WebhookSettings>,
    pub created_at: String,
    pub updated_at: String,
}

/// One Evolution instance.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub id: String,
    pub token: String,
    pub integration: String,
    pub state: ConnState,
    pub qr: Qr,
    pub webhook: Option<WebhookRow>,
    /// Set at the first `open`: the connected account's JID.
    pub owner_jid: Option<String>,
    pub profile_name: Option<String>,
    pub number: Option<String>,
    pub business_id: Option<String>,
    pub settings: Value,
    pub created_at: String,
    pub updated_at: String,
    /// Changes at every (re)connect and logout; QR timers of an older session stop.
    pub session: u64,
    /// Customer number (digits) → push name, from inbound messages.
    pub contacts: HashMap<String, String>,
    /// Rows of the stateful routers (`proxy`, `pusher`, `evolutionBot`, `labels`, …) by table.
    pub store: HashMap<&'static str, Value>,
    /// The last messages sent and received, oldest first (bounded by the send path).
    pub kept: std::collections::VecDeque<Kept>,
}

/// A kept message: its JSON as answered or delivered (one buffer, shared with the response
/// body; parsed only when searched) and its media bytes.
#[derive(Debug, Clone)]
pub struct Kept {
    pub json: bytes::Bytes,
    pub media: Option<bytes::Bytes>,
}

pub fn now_iso() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

pub fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Default settings block of a new instance.
pub fn default_settings() -> Value {
    json!({"rejectCall": false, "msgCall": "", "groupsIgnore": false, "alwaysOnline": false,
           "readMessages": false, "readStatus": false, "syncFullHistory": false, "wavoipToken": ""})
}

impl Instance {
    pub fn new(name: &str, token: &str, integration: &str) -> Self {
        let now = now_iso();
        // Non-Baileys channels start open (reference §5).
        let state = if integration == "WHATSAPP-BAILEYS" {
            ConnState::Close
        } else {
            ConnState::Open
        };
        Self {
            name: name.to_string(),
            id: uuid::Uuid::new_v4().to_string(),
            token: token.to_string(),
            integration: integration.to_string(),
            state,
            qr: Qr::default(),
            webhook: None,
            owner_jid: None,
            profile_name: None,
            number: None,
            business_id: None,
            settings: default_settings(),
            created_at: now.clone(),
            updated_at: now,
            session: 0,
            contacts: HashMap::new(),
            store: HashMap::new(),
            kept: std::collections::VecDeque::new(),
        }
    }

    fn touch(&mut self) {
        self.updated_at = now_iso();
    }

    /// `{"instance":{"instanceName","state"}}`.
    pub fn connection_state(&self) -> Value {
        json!({"instance": {"instanceName": self.name, "state": self.state.as_str()}})
    }

    /// `GET /instance/connect`: open → state; connecting → current QR; close → start
    /// connecting with a new QR. Returns the response body and the events.
    pub fn connect(&mut self, pairing_code: Option<String>, qr: NewQr) -> (Value, Vec<Event>) {
        match self.state {
            ConnState::Open => (self.connection_state(), Vec::new()),
            ConnState::Connecting => (self.qr.to_json(), Vec::new()),
            ConnState::Close => {
                self.state = ConnState::Connecting;
                self.session += 1;
                self.qr.pairing_code = pairing_code;
                self.touch();
                let mut events = vec![Event::now(
                    "connection.update",
                    json!({"instance": self.name, "state": "connecting", "statusReason": 200}),
                )];
                events.push(self.show_qr(qr));
                (self.qr.to_json(), events)
            }
        }
    }

    fn show_qr(&mut self, qr: NewQr) -> Event {
        self.qr.count += 1;
        self.qr.code = Some(qr.code);
        self.qr.base64 = Some(qr.base64);
        Event::now(
            "qrcode.updated",
            json!({"qrcode": {"instance": self.name, "pairingCode": self.qr.pairing_code,
                              "code": self.qr.code, "base64": self.qr.base64}}),
        )
    }

    /// A QR timer fired for `session`: a new QR, or, at the limit, refusal and `close`.
    pub fn refresh_qr(&mut self, session: u64, qr: NewQr, limit: u32) -> Vec<Event> {
        if self.state != ConnState::Connecting || self.session != session {
            return Vec::new();
        }
        if self.qr.count < limit {
            return vec![self.show_qr(qr)];
        }
        self.state = ConnState::Close;
        self.session += 1;
        self.qr = Qr::default();
        self.touch();
        vec![
            Event::now(
                "qrcode.updated",
                json!({"message": "QR code limit reached, please login again", "statusCode": 500}),
            ),
            Event::now(
                "connection.update",
                json!({"instance": self.name, "state": "refused", "statusReason": 428,
                       "wuid": self.owner_jid, "profileName": self.profile_name,
                       "profilePictureUrl": null}),
            ),
        ]
    }

    /// The phone scanned the QR (or the pairing code was entered): state `open`.
    pub fn pair(&mut self, wuid: String, profile_name: String) -> Vec<Event> {
        let mut events = Vec::new();
        if self.state == ConnState::Open {
            return events;
        }
        if self.state == ConnState::Close {
            events.push(Event::now(
                "connection.update",
                json!({"instance": self.name, "state": "connecting", "statusReason": 200}),
            ));
        }
        self.state = ConnState::Open;
        self.session += 1;
        self.qr.code = None;
        self.qr.base64 = None;
        self.owner_jid = Some(wuid);
        self.profile_name = Some(profile_name);
        self.touch();
        events.push(Event::now(
            "connection.update",
            json!({"instance": self.name, "wuid": self.owner_jid, "profileName": self.profile_name,
                   "profilePictureUrl": null, "state": "open", "statusReason": 200}),
        ));
        events
    }

    /// `DELETE /instance/logout`: 400 when closed; otherwise `close` (token kept, QR count
    /// continues at the next connect).
    pub fn logout(&mut self) -> Result<Vec<Event>, EvoError> {
        if self.state == ConnState::Close {
            return Err(EvoError::bad_request(format!(
                "The \"{}\" instance is not connected",
                self.name
            )));
        }
        self.state = ConnState::Close;
        self.session += 1;
        self.qr.code = None;
        self.qr.base64 = None;
        self.qr.pairing_code = None;
        self.touch();
        let at = self.updated_at.clone();
        Ok(vec![
            Event::now(
                "status.instance",
                json!({"instance": self.name, "status": "closed", "disconnectionAt": at,
                       "disconnectionReasonCode": 401,
                       "disconnectionObject": "{\"error\":{\"output\":{\"statusCode\":401}}}"}),
            ),
            Event::now("logout.instance", Value::Null),
            Event::now(
                "connection.update",
                json!({"instance": self.name, "state": "close", "statusReason": 401}),
            ),
        ])
    }

    /// Events of `DELETE /instance/delete` (logout first when connected).
    pub fn delete_events(&mut self) -> Vec<Event> {
        let mut events = self.logout().unwrap_or_default();
        events.push(Event::now(
            "instance.delete",
            json!({"instanceName": self.name, "instanceId": self.id}),
        ));
        events.push(Event::now("remove.instance", Value::Null));
        events
    }

    /// Whether a message can be sent now (the real server fails inside the number lookup).
    pub fn check_can_send(&self) -> Result<(), EvoError> {
        match (self.state, &self.owner_jid) {
            (ConnState::Open, _) => Ok(()),
            (_, None) if self.integration == "WHATSAPP-BAILEYS" => Err(EvoError::internal(
                "Cannot read properties of undefined (reading 'onWhatsApp')",
            )),
            _ => Err(EvoError::internal("Connection Closed")),
        }
    }

    pub fn remember_contact(&mut self, number: &str, name: &str) {
        if self.contacts.len() < MAX_CONTACTS || self.contacts.contains_key(number) {
            self.contacts.insert(number.to_string(), name.to_string());
        }
    }

    /// The stored message a send returns (201) and `send.message` carries.
    pub fn sent_message(
        &self,
        jid: &str,
        key_id: &str,
        message: Value,
        message_type: &str,
    ) -> Value {
        let now = unix_secs();
        json!({
            "key": {"remoteJid": jid, "fromMe": true, "id": key_id},
            "pushName": "Você",
            "status": "PENDING",
            "message": message,
            "contextInfo": {"mentionedJid": [], "groupMentions": [],
                "ephemeralSettingTimestamp": {"low": now, "high": 0, "unsigned": false},
                "disappearingMode": {"initiator": 0}},
            "messageType": message_type,
            "messageTimestamp": now,
            "instanceId": self.id,
            "source": super::rules::source_of(key_id),
        })
    }

    /// `messages.update` data for an ack of a sent message.
    pub fn ack(&self, jid: &str, key_id: &str, status: &str, row_id: &str) -> Value {
        json!({"keyId": key_id, "remoteJid": jid, "fromMe": true, "status": status,
               "instanceId": self.id, "messageId": row_id})
    }

    /// A `fetchInstances` row.
    pub fn row(&self, client_name: &str) -> Value {
        let mut setting = self.settings.clone();
        if let Some(s) = setting.as_object_mut() {
            s.insert("id".into(), json!(format!("s{}", &self.id[..8])));
            s.insert("createdAt".into(), json!(self.created_at));
            s.insert("updatedAt".into(), json!(self.updated_at));
            s.insert("instanceId".into(), json!(self.id));
        }
        json!({
            "id": self.id, "name": self.name, "connectionStatus": self.state.as_str(),
            "ownerJid": self.owner_jid, "profileName": self.profile_name, "profilePicUrl": null,
            "integration": self.integration, "number": self.number, "businessId": self.business_id,
            "token": self.token, "clientName": client_name,
            "disconnectionReasonCode": null, "disconnectionObject": null, "disconnectionAt": null,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
            "Chatwoot": null, "Proxy": null, "Rabbitmq": null, "Nats": null, "Sqs": null,
            "Websocket": null, "Setting": setting,
            "_count": {"Message": self.kept.len(), "Contact": self.contacts.len(), "Chat": self.contacts.len()},
        })
    }

    /// The `webhook/find` row, or `null`.
    pub fn webhook_row(&self) -> Value {
        match &self.webhook {
            None => Value::Null,
            Some(w) => json!({
                "id": w.id, "url": w.settings.url, "headers": w.settings.headers,
                "enabled": w.settings.enabled, "events": w.settings.events,
                "webhookByEvents": w.settings.by_events, "webhookBase64": w.settings.base64,
                "createdAt": w.created_at, "updatedAt": w.updated_at, "instanceId": self.id,
            }),
        }
    }

    /// Stores webhook settings (upsert), returning the row.
    pub fn set_webhook(&mut self, settings: WebhookSettings, row_id: String) -> Value {
        let now = now_iso();
        let (id, created_at) = match &self.webhook {
            Some(w) => (w.id.clone(), w.created_at.clone()),
            None => (row_id, now.clone()),
        };
        self.webhook = Some(WebhookRow {
            id,
            settings: std::sync::Arc::new(settings),
            created_at,
            updated_at: now,
        });
        self.webhook_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn qr(n: u32) -> NewQr {
        NewQr {
            code: format!("2@code{n}"),
            base64: format!("data:image/png;base64,{n}"),
        }
    }

    fn names(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.name).collect()
    }

    #[test]
    fn lifecycle_close_connecting_open_close() {
        let mut i = Instance::new("foo", "T", "WHATSAPP-BAILEYS");
        assert_eq!(i.state, ConnState::Close);
        assert_eq!(i.qr.to_json(), json!({"count": 0}));
        assert_eq!(
            i.check_can_send().unwrap_err().message,
            json!("Cannot read properties of undefined (reading 'onWhatsApp')")
        );
        let (body, events) = i.connect(None, qr(1));
        assert_eq!(i.state, ConnState::Connecting);
        assert_eq!(body["count"], 1);
        assert_eq!(body["code"], "2@code1");
        assert_eq!(names(&events), vec!["connection.update", "qrcode.updated"]);
        // Connecting: connect returns the same QR, no events.
        let (again, events) = i.connect(None, qr(2));
        assert_eq!(again["code"], "2@code1");
        assert!(events.is_empty());
        let session = i.session;
        assert_eq!(
            names(&i.refresh_qr(session, qr(3), 30)),
            vec!["qrcode.updated"]
        );
        assert_eq!(i.qr.count, 2);
        assert!(
            i.refresh_qr(session + 7, qr(4), 30).is_empty(),
            "stale timer"
        );
        let events = i.pair("5511900000000@s.whatsapp.net".into(), "Bot".into());
        assert_eq!(events[0].data["state"], "open");
        assert!(i.check_can_send().is_ok());
        assert_eq!(i.connect(None, qr(5)).0, i.connection_state());
        let events = i.logout().unwrap();
        assert_eq!(
            names(&events),
            vec!["status.instance", "logout.instance", "connection.update"]
        );
        assert_eq!(i.state, ConnState::Close);
        assert_eq!(
            i.check_can_send().unwrap_err().message,
            json!("Connection Closed")
        );
        let err = i.logout().unwrap_err();
        assert_eq!(
            err.message,
            json!(["The \"foo\" instance is not connected"])
        );
        // Reconnecting continues the count.
        let (body, _) = i.connect(Some("ABCD1234".into()), qr(6));
        assert_eq!(body["count"], 3);
        assert_eq!(body["pairingCode"], "ABCD1234");
    }

    #[test]
    fn qr_limit_refuses_and_closes() {
        let mut i = Instance::new("foo", "T", "WHATSAPP-BAILEYS");
        i.connect(None, qr(1));
        let s = i.session;
        assert_eq!(i.refresh_qr(s, qr(2), 2).len(), 1);
        let events = i.refresh_qr(s, qr(3), 2);
        assert_eq!(events[1].data["state"], "refused");
        assert_eq!(i.state, ConnState::Close);
        assert_eq!(i.qr.count, 0);
    }

    #[test]
    fn delete_logs_out_first_and_business_starts_open() {
        let mut i = Instance::new("foo", "T", "WHATSAPP-BAILEYS");
        i.pair("1@s.whatsapp.net".into(), "x".into());
        let events = i.delete_events();
        assert_eq!(events.last().unwrap().name, "remove.instance");
        assert_eq!(events.len(), 5);
        assert_eq!(
            Instance::new("b", "T", "WHATSAPP-BUSINESS").state,
            ConnState::Open
        );
    }

    #[test]
    fn rows_have_the_documented_keys() {
        let mut i = Instance::new("foo", "T", "WHATSAPP-BAILEYS");
        assert_eq!(i.webhook_row(), Value::Null);
        let row = i.row("evolution");
        for key in [
            "id",
            "name",
            "connectionStatus",
            "ownerJid",
            "token",
            "Setting",
            "_count",
        ] {
            assert!(row.get(key).is_some(), "{key}");
        }
        assert!(row.get("Webhook").is_none());
        let settings = WebhookSettings {
            url: "http://a".into(),
            enabled: true,
            events: vec!["CALL".into()],
            by_events: false,
            base64: false,
            headers: Default::default(),
        };
        let first = i.set_webhook(settings.clone(), "c1".into());
        let second = i.set_webhook(settings, "c2".into());
        assert_eq!(first["id"], "c1");
        assert_eq!(second["id"], "c1", "upsert keeps the row id");
    }
}
