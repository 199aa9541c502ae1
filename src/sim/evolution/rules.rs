//! Pure rules of the Evolution API: authentication, request validation, number normalisation,
//! id formats. No I/O; every function is unit-tested here.

use rand::Rng;
use serde_json::{Map, Value};

use super::errors::EvoError;

/// Webhook event names accepted in `events` (config form, UPPER_SNAKE), from the server's
/// `EventController.events`.
pub const EVENT_KEYS: &[&str] = &[
    "APPLICATION_STARTUP",
    "QRCODE_UPDATED",
    "MESSAGES_SET",
    "MESSAGES_UPSERT",
    "MESSAGES_EDITED",
    "MESSAGES_UPDATE",
    "MESSAGES_DELETE",
    "SEND_MESSAGE",
    "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET",
    "CONTACTS_UPSERT",
    "CONTACTS_UPDATE",
    "PRESENCE_UPDATE",
    "CHATS_SET",
    "CHATS_UPSERT",
    "CHATS_UPDATE",
    "CHATS_DELETE",
    "GROUPS_UPSERT",
    "GROUP_UPDATE",
    "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE",
    "LABELS_EDIT",
    "LABELS_ASSOCIATION",
    "CALL",
    "TYPEBOT_START",
    "TYPEBOT_CHANGE_STATUS",
    "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE",
    "INSTANCE_CREATE",
    "INSTANCE_DELETE",
    "STATUS_INSTANCE",
];

/// Accepted `integration` values.
pub const INTEGRATIONS: &[&str] = &["WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"];

/// Config key of an event: `messages.upsert` → `MESSAGES_UPSERT`.
pub fn event_key(event: &str) -> String {
    event.replace(['.', '-'], "_").to_uppercase()
}

/// byEvents URL suffix of an event: `messages.upsert` → `messages-upsert`.
pub fn event_path(event: &str) -> String {
    event_key(event).to_lowercase().replace('_', "-")
}

/// Whether `key` (the request's `apikey`) may act on an instance whose token is `token`.
pub fn authorize(key: Option<&str>, global: &str, token: Option<&str>) -> Result<(), EvoError> {
    match key {
        Some(k) if k == global || Some(k) == token => Ok(()),
        _ => Err(EvoError::unauthorized()),
    }
}

/// The WhatsApp JID for a number as the server's `createJid` (`src/utils/createJid.ts`) builds
/// it: digits with `@s.whatsapp.net`, or `@g.us` for group ids; full JIDs are kept; Mexican and
/// Argentine 13-digit numbers lose their 3rd digit and Brazilian 13-digit mobiles their 9th
/// digit when the DDD is 31 or more and the subscriber number starts with 7–9.
pub fn jid_for(number: &str) -> String {
    let number = number.trim();
    if number.contains('@') {
        return number.to_string();
    }
    let cleaned: String = number
        .chars()
        .filter(|c| !matches!(c, ' ' | '+' | '(' | ')'))
        .collect();
    if (cleaned.contains('-') && cleaned.len() >= 24) || cleaned.len() >= 18 {
        format!("{cleaned}@g.us")
    } else {
        let digits: String = cleaned.chars().filter(char::is_ascii_digit).collect();
        format!("{}@s.whatsapp.net", br_number(mx_ar_number(digits)))
    }
}

/// `formatMXOrARNumber`.
fn mx_ar_number(digits: String) -> String {
    let mx_ar = digits.starts_with("52") || digits.starts_with("54");
    match mx_ar && digits.len() == 13 {
        true => format!("{}{}", &digits[..2], &digits[3..]),
        false => digits,
    }
}

/// `formatBRNumber`: `^(55)(\d{2})\d(\d{8})$` drops the 9th digit unless the subscriber
/// number starts below 7 or the DDD is below 31.
fn br_number(digits: String) -> String {
    if digits.len() != 13 || !digits.starts_with("55") {
        return digits;
    }
    let ddd: u32 = digits[2..4].parse().unwrap_or(0);
    let joker = digits.as_bytes()[5] - b'0';
    match joker < 7 || ddd < 31 {
        true => digits,
        false => format!("{}{}", &digits[..4], &digits[5..]),
    }
}

/// The user part of a JID.
pub fn jid_user(jid: &str) -> &str {
    jid.split('@').next().unwrap_or(jid)
}

/// Whether a number "is on WhatsApp" in the simulation: 8 to 15 digits and not listed as
/// unregistered in the configuration.
pub fn number_exists(jid: &str, unregistered: &[String]) -> bool {
    let user = jid_user(jid);
    let digits = user.len();
    jid.ends_with("@g.us")
        || (user.chars().all(|c| c.is_ascii_digit())
            && (8..=15).contains(&digits)
            && !unregistered
                .iter()
                .any(|u| super::super::bus::phone_digits(u) == user))
}

/// Baileys message id of a message sent through the API: `3EB0` + 18 upper-case hex.
pub fn outgoing_message_id(rng: &mut impl Rng) -> String {
    format!("3EB0{}", upper_hex(rng, 18))
}

/// Id of a message received from a phone (iOS style): `3A` + 18 upper-case hex.
pub fn incoming_message_id(rng: &mut impl Rng) -> String {
    format!("3A{}", upper_hex(rng, 18))
}

fn upper_hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.random_range(0..16)]))
        .collect()
}

/// A Prisma cuid-like row id: `c` + 24 lower-case alphanumerics.
pub fn row_id(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let tail: String = (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    format!("c{tail}")
}

/// `source` as the server derives it from the id shape.
pub fn source_of(id: &str) -> &'static str {
    if id.len() == 22 && id.starts_with("3E") {
        "web"
    } else if id.starts_with("3A") {
        "ios"
    } else if id.len() == 32 {
        "android"
    } else {
        "unknown"
    }
}

/// The JWT the server puts in `Authorization: Bearer …` when a webhook's headers hold
/// `jwt_key`: HS256 over `{iat, exp: iat + 600, app: "evolution", action: "webhook"}`.
pub fn webhook_jwt(key: &str, iat: u64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine;
    use hmac::{Hmac, Mac};
    let header = B64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let claims =
        serde_json::json!({"iat": iat, "exp": iat + 600, "app": "evolution", "action": "webhook"});
    let payload = B64.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        B64.encode(mac.finalize().into_bytes())
    )
}

/// The JSON body as an object (non-objects validate as an object without properties).
pub fn as_object(body: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    body.as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// A jsonschema "requires property" message for a top-level (`instance`) or nested object.
fn requires(parent: &str, prop: &str) -> String {
    format!("{parent} requires property \"{prop}\"")
}

fn type_error(path: &str, ty: &str) -> String {
    format!("{path} is not of a type(s) {ty}")
}

fn str_field(obj: &Map<String, Value>, key: &str) -> String {
    obj.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Validated webhook settings (`webhook/set`, or the `webhook` block of `instance/create`).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: String,
    pub enabled: bool,
    /// Config keys; empty with `enabled` means all.
    pub events: Vec<String>,
    pub by_events: bool,
    pub base64: bool,
    pub headers: Map<String, Value>,
}

/// What `events` missing does: on `webhook/set` a TypeError (500), on create a 400.
const MISSING_EVENTS: &str = "Cannot read properties of undefined (reading 'length')";

/// Validates `{"webhook": {...}}` of `webhook/set`.
pub fn parse_webhook_set(body: &Value) -> Result<WebhookSettings, EvoError> {
    let obj = as_object(body);
    let Some(hook) = obj.get("webhook") else {
        return Err(EvoError::validation(vec![requires("instance", "webhook")]));
    };
    let hook = as_object(hook);
    let mut errors = Vec::new();
    for req in ["enabled", "url"] {
        if !hook.contains_key(req) {
            errors.push(requires("webhook", req));
        }
    }
    check_webhook_fields(hook, &mut errors);
    if !errors.is_empty() {
        return Err(EvoError::validation(errors));
    }
    let enabled = hook
        .get("enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if enabled && !hook.contains_key("events") {
        return Err(EvoError::internal(MISSING_EVENTS));
    }
    Ok(webhook_settings(hook, enabled))
}

/// Validates the `webhook` block of `instance/create` (always enabled).
pub fn parse_create_webhook(hook: &Value) -> Result<WebhookSettings, EvoError> {
    let hook = as_object(hook);
    let mut errors = Vec::new();
    if !hook.contains_key("url") {
        errors.push(requires("webhook", "url"));
    }
    check_webhook_fields(hook, &mut errors);
    if !errors.is_empty() {
        return Err(EvoError::validation(errors));
    }
    if !hook.contains_key("events") {
        return Err(EvoError::bad_request(MISSING_EVENTS));
    }
    Ok(webhook_settings(hook, true))
}

fn check_webhook_fields(hook: &Map<String, Value>, errors: &mut Vec<String>) {
    for (key, ty) in [("url", "string"), ("enabled", "boolean")] {
        match (hook.get(key), ty) {
            (Some(Value::String(_)), "string") | (Some(Value::Bool(_)), "boolean") | (None, _) => {}
            _ => errors.push(type_error(&format!("webhook.{key}"), ty)),
        }
    }
    if let Some(events) = hook.get("events") {
        match events.as_array() {
            None => errors.push(type_error("webhook.events", "array")),
            Some(items) => {
                for (i, e) in items.iter().enumerate() {
                    if !e.as_str().is_some_and(|e| EVENT_KEYS.contains(&e)) {
                        errors.push(format!(
                            "webhook.events[{i}] is not one of enum values: {}",
                            EVENT_KEYS.join(",")
                        ));
                    }
                }
            }
        }
    }
}

fn webhook_settings(hook: &Map<String, Value>, enabled: bool) -> WebhookSettings {
    let listed: Vec<String> = hook
        .get("events")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let events = match (enabled, listed.is_empty()) {
        (false, _) => Vec::new(),
        (true, true) => EVENT_KEYS.iter().map(|e| e.to_string()).collect(),
        (true, false) => listed,
    };
    let flag = |k: &str| hook.get(k).and_then(Value::as_bool).unwrap_or(false);
    WebhookSettings {
        url: str_field(hook, "url"),
        enabled,
        events,
        by_events: flag("byEvents"),
        base64: flag("base64"),
        headers: hook
            .get("headers")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(e: EvoError) -> Value {
        e.body()["response"]["message"].clone()
    }

    #[test]
    fn event_keys_and_paths() {
        assert_eq!(event_key("messages.upsert"), "MESSAGES_UPSERT");
        assert_eq!(event_path("messages.upsert"), "messages-upsert");
        assert_eq!(
            event_path("group-participants.update"),
            "group-participants-update"
        );
        assert_eq!(event_path("send.message"), "send-message");
    }

    #[test]
    fn auth_accepts_global_or_own_token_only() {
        assert!(authorize(Some("G"), "G", Some("T")).is_ok());
        assert!(authorize(Some("T"), "G", Some("T")).is_ok());
        assert_eq!(
            authorize(Some("OTHER"), "G", Some("T")),
            Err(EvoError::unauthorized())
        );
        assert!(authorize(None, "G", Some("T")).is_err());
        assert!(authorize(Some("T"), "G", None).is_err());
    }

    #[test]
    fn jids_and_number_existence() {
        assert_eq!(
            jid_for("+55 (11) 99999-0000"),
            "5511999990000@s.whatsapp.net"
        );
        assert_eq!(jid_for("5511@s.whatsapp.net"), "5511@s.whatsapp.net");
        // upstream: evolution-api 2.3.6 src/utils/createJid.ts (formatBRNumber, formatMXOrARNumber)
        assert_eq!(jid_for("5531988887777"), "553188887777@s.whatsapp.net");
        assert_eq!(jid_for("5531968887777"), "5531968887777@s.whatsapp.net");
        assert_eq!(jid_for("5521988887777"), "5521988887777@s.whatsapp.net");
        assert_eq!(jid_for("5215512345678"), "525512345678@s.whatsapp.net");
        assert_eq!(jid_for("5491112345678"), "541112345678@s.whatsapp.net");
        assert_eq!(jid_for("120363025246125888"), "120363025246125888@g.us");
        assert!(number_exists("5511999990000@s.whatsapp.net", &[]));
        assert!(!number_exists("123@s.whatsapp.net", &[]));
        assert!(!number_exists(
            "5511999990000@s.whatsapp.net",
            &["+55 11 99999-0000".into()]
        ));
    }

    #[test]
    fn webhook_jwt_is_hs256_over_the_documented_claims() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine;
        use hmac::{Hmac, Mac};
        let jwt = webhook_jwt("secret", 1_700_000_000);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(
            claims,
            json!({"iat": 1_700_000_000u64, "exp": 1_700_000_600u64, "app": "evolution", "action": "webhook"})
        );
        let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        // Independent verification of the signature.
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&B64.decode(parts[2]).unwrap()).unwrap();
    }

    #[test]
    fn id_shapes() {
        let mut rng = rand::rng();
        let out = outgoing_message_id(&mut rng);
        assert_eq!(out.len(), 22);
        assert_eq!(source_of(&out), "web");
        let inc = incoming_message_id(&mut rng);
        assert_eq!(inc.len(), 20);
        assert_eq!(source_of(&inc), "ios");
        let row = row_id(&mut rng);
        assert_eq!(row.len(), 25);
        assert!(row.starts_with('c'));
    }

    #[test]
    fn webhook_set_validation_and_event_expansion() {
        assert_eq!(
            messages(parse_webhook_set(&json!({})).unwrap_err()),
            json!([["instance requires property \"webhook\""]])
        );
        assert_eq!(
            messages(parse_webhook_set(&json!({"webhook": {"enabled": true}})).unwrap_err()),
            json!([["webhook requires property \"url\""]])
        );
        let bad_event =
            json!({"webhook": {"enabled": true, "url": "http://a", "events": ["NOPE"]}});
        assert!(parse_webhook_set(&bad_event).is_err());
        let missing = parse_webhook_set(&json!({"webhook": {"enabled": true, "url": "http://a"}}));
        assert_eq!(missing.unwrap_err().status.as_u16(), 500);
        let all = parse_webhook_set(
            &json!({"webhook": {"enabled": true, "url": "http://a", "events": []}}),
        )
        .unwrap();
        assert_eq!(all.events.len(), EVENT_KEYS.len());
        let off = parse_webhook_set(
            &json!({"webhook": {"enabled": false, "url": "http://a", "events": ["CALL"]}}),
        )
        .unwrap();
        assert!(off.events.is_empty());
        let create =
            parse_create_webhook(&json!({"url": "http://a", "byEvents": true, "events": ["CALL"]}))
                .unwrap();
        assert!(create.enabled && create.by_events);
        assert_eq!(create.events, vec!["CALL"]);
        assert_eq!(
            parse_create_webhook(&json!({"url": "http://a"}))
                .unwrap_err()
                .status
                .as_u16(),
            400
        );
    }
}
