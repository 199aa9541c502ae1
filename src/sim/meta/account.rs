//! Per-number account state the app manages through the Graph API: registration (the ladder
//! `request_code` → `verify_code` → `register`, and `deregister`), the two-step verification
//! PIN, the business profile, settings, conversational automation (ice breakers, commands),
//! blocked users, QR codes (`message_qrdls`) and the per-number webhook override.
//!
//! Facts (Meta's "Registration", "Two-step verification", "Business profiles", "Block users",
//! "QR codes" and "Conversational components" pages, as pywa `pywa/api.py` calls them):
//! - register needs `messaging_product` and a 6-digit `pin`; when two-step verification is set,
//!   the PIN must match (133005); otherwise the PIN becomes the two-step PIN;
//! - sends from a deregistered number fail with 133010;
//! - the profile's `about` is 1 to 139 characters (pywa `client.py` `update_business_profile`), `address` 256, `description` 512,
//!   `email` 128, at most 2 `websites`, `vertical` from a fixed list;
//! - QR codes: `prefilled_message` at most 140 characters; `generate_qr_image` PNG or SVG;
//! - ice breakers: at most 4 prompts of 80 characters; commands: at most 30, names 32 and
//!   descriptions 256 characters.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::graph::GraphError;

/// Profile verticals Meta accepts.
pub const VERTICALS: &[&str] = &[
    "UNDEFINED",
    "OTHER",
    "AUTO",
    "BEAUTY",
    "APPAREL",
    "EDU",
    "ENTERTAIN",
    "EVENT_PLAN",
    "FINANCE",
    "GROCERY",
    "GOVT",
    "HOTEL",
    "HEALTH",
    "NONPROFIT",
    "PROF_SERVICES",
    "RETAIL",
    "TRAVEL",
    "RESTAURANT",
    "NOT_A_BIZ",
];

/// A QR code (`message_qrdls`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    pub code: String,
    pub prefilled_message: String,
}

/// Mutable account state of one phone number.
#[derive(Debug, Clone)]
pub struct Account {
    pub registered: bool,
    /// Two-step verification PIN.
    pub pin: Option<String>,
    /// The last code sent by `request_code`, until verified.
    pub pending_code: Option<String>,
    pub code_verified: bool,
    pub wrong_pins: u32,
    pub profile: Map<String, Value>,
    pub settings: Map<String, Value>,
    pub automation: Value,
    /// Blocked customers (wa_id), oldest first.
    pub blocked: Vec<String>,
    pub qr_codes: BTreeMap<String, QrCode>,
    /// `webhook_configuration.override_callback_uri`.
    pub webhook_override: Option<String>,
}

impl Default for Account {
    /// A number as the App Dashboard leaves it: verified, registered, empty profile.
    fn default() -> Self {
        let profile = json!({"about": "", "address": "", "description": "", "email": "",
            "websites": [], "vertical": "UNDEFINED", "profile_picture_url": ""});
        let settings = json!({"calling": {"status": "DISABLED"},
            "storage_configuration": {"status": "DEFAULT"}});
        Account {
            registered: true,
            pin: None,
            pending_code: None,
            code_verified: true,
            wrong_pins: 0,
            profile: profile.as_object().cloned().unwrap_or_default(),
            settings: settings.as_object().cloned().unwrap_or_default(),
            automation: json!({"enable_welcome_message": false, "prompts": [], "commands": []}),
            blocked: Vec::new(),
            qr_codes: BTreeMap::new(),
            webhook_override: None,
        }
    }
}

/// Most wrong PINs before 133008.
const MAX_WRONG_PINS: u32 = 10;
/// Most blocked users per number (Meta's limit).
pub const MAX_BLOCKED: usize = 64_000;

fn bad(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

fn str_of<'a>(p: &'a Value, k: &str) -> Option<&'a str> {
    p.get(k).and_then(Value::as_str)
}

/// A 6-digit PIN, else 100.
pub fn check_pin(pin: Option<&str>) -> Result<String, GraphError> {
    match pin {
        None | Some("") => Err(GraphError::param_required("pin")),
        Some(p) if p.len() == 6 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(p.to_string()),
        Some(_) => Err(bad("Param pin must be a 6-digit number.")),
    }
}

impl Account {
    /// `POST /{id}/register {messaging_product, pin}`.
    pub fn register(&mut self, p: &Value) -> Result<(), GraphError> {
        if str_of(p, "messaging_product").is_none() {
            return Err(GraphError::param_required("messaging_product"));
        }
        let pin = check_pin(str_of(p, "pin"))?;
        if !self.code_verified {
            return Err(GraphError::coded(
                133006,
                "Phone number re-verification needed",
                "Verify the phone number (request_code, verify_code) before registering it.",
                400,
            ));
        }
        self.check_known_pin(&pin)?;
        self.pin = Some(pin);
        self.registered = true;
        Ok(())
    }

    fn check_known_pin(&mut self, pin: &str) -> Result<(), GraphError> {
        let Some(known) = &self.pin else {
            return Ok(());
        };
        if self.wrong_pins >= MAX_WRONG_PINS {
            return Err(GraphError::coded(
                133008,
                "Too many two step verification PIN guesses",
                "Too many incorrect PIN attempts for this phone number; try again later.",
                400,
            ));
        }
        if known != pin {
            self.wrong_pins += 1;
            return Err(GraphError::coded(
                133005,
                "Two step verification PIN Mismatch",
                "The two-step verification PIN is incorrect.",
                400,
            ));
        }
        self.wrong_pins = 0;
        Ok(())
    }

    /// `POST /{id}/deregister`.
    pub fn deregister(&mut self) {
        self.registered = false;
    }

    /// `POST /{id}/request_code?code_method=SMS|VOICE&language=en`: stores `code`.
    pub fn request_code(&mut self, p: &Value, code: String) -> Result<(), GraphError> {
        match str_of(p, "code_method")
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("") => return Err(GraphError::param_required("code_method")),
            Some("SMS" | "VOICE") => {}
            Some(other) => {
                return Err(bad(format!(
                    "Param code_method must be one of {{SMS, VOICE}} - got \"{other}\"."
                )))
            }
        }
        if str_of(p, "language").is_none_or(str::is_empty) {
            return Err(GraphError::param_required("language"));
        }
        self.pending_code = Some(code);
        self.code_verified = false;
        Ok(())
    }

    /// `POST /{id}/verify_code?code=`.
    pub fn verify_code(&mut self, p: &Value) -> Result<(), GraphError> {
        let code = match p.get("code") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(GraphError::param_required("code")),
        };
        if self.pending_code.as_deref() == Some(code.as_str()) {
            self.pending_code = None;
            self.code_verified = true;
            Ok(())
        } else {
            Err(GraphError::coded(
                136025,
                "Verification code mismatch",
                "The verification code is incorrect or was not requested.",
                400,
            ))
        }
    }

    /// `POST /{id}` with `pin`: sets two-step verification.
    pub fn set_pin(&mut self, pin: Option<&str>) -> Result<(), GraphError> {
        self.pin = Some(check_pin(pin)?);
        self.wrong_pins = 0;
        Ok(())
    }

    /// `POST /{id}/whatsapp_business_profile`.
    pub fn update_profile(&mut self, p: &Value) -> Result<(), GraphError> {
        let Some(obj) = p.as_object() else {
            return Err(GraphError::param_required("messaging_product"));
        };
        if !obj.contains_key("messaging_product") {
            return Err(GraphError::param_required("messaging_product"));
        }
        let limits = [
            ("about", 139),
            ("address", 256),
            ("description", 512),
            ("email", 128),
        ];
        let mut next = self.profile.clone();
        for (k, v) in obj {
            match k.as_str() {
                "messaging_product" => continue,
                // pywa sends "" to clear a field (`value or ""`).
                "websites" if v == "" => {
                    next.insert(k.clone(), json!([]));
                    continue;
                }
                "websites" => check_websites(v)?,
                "vertical" => {
                    if !v
                        .as_str()
                        .is_some_and(|s| s.is_empty() || VERTICALS.contains(&s))
                    {
                        return Err(bad(format!("Param vertical must be one of {VERTICALS:?}.")));
                    }
                }
                "profile_picture_handle" => {
                    // A handle from a resumable upload (`4::…`); the picture itself is not kept,
                    // so `profile_picture_url` stays as it was.
                    if !v.as_str().is_some_and(|h| h.starts_with("4::")) {
                        return Err(bad(
                            "Param profile_picture_handle must be an upload handle.",
                        ));
                    }
                    continue;
                }
                key => {
                    let Some((_, max)) = limits.iter().find(|(n, _)| *n == key) else {
                        return Err(bad(format!("Unknown parameter '{key}'.")));
                    };
                    let s = v.as_str().unwrap_or_default();
                    if s.chars().count() > *max {
                        return Err(bad(format!(
                            "Param {key} must be at most {max} characters."
                        )));
                    }
                    if key == "email" && !s.is_empty() && !s.contains('@') {
                        return Err(bad("Param email must be a valid email address."));
                    }
                    // pywa `update_business_profile`: about "cannot be empty".
                    if key == "about" && s.is_empty() {
                        return Err(bad("Param about must be between 1 and 139 characters."));
                    }
                }
            }
            next.insert(k.clone(), v.clone());
        }
        self.profile = next;
        Ok(())
    }

    /// The profile object (`data[0]`), filtered by `fields`.
    pub fn profile_json(&self, fields: Option<&str>) -> Value {
        let mut full = Value::Object(self.profile.clone());
        full["messaging_product"] = json!("whatsapp");
        let mut v = super::graph::filter_fields(full, fields);
        if let Some(o) = v.as_object_mut() {
            o.insert("messaging_product".into(), json!("whatsapp"));
        }
        v
    }

    /// `POST /{id}/settings`: known sections replace the stored ones.
    pub fn update_settings(&mut self, p: &Value) -> Result<(), GraphError> {
        const KNOWN: &[&str] = &[
            "calling",
            "storage_configuration",
            "payload_encryption",
            "user_identity_change",
        ];
        let Some(obj) = p.as_object().filter(|o| !o.is_empty()) else {
            return Err(bad("Provide at least one setting (e.g. calling)."));
        };
        for (k, v) in obj {
            if !KNOWN.contains(&k.as_str()) {
                return Err(bad(format!("Unknown parameter '{k}'.")));
            }
            if !v.is_object() {
                return Err(bad(format!("Param {k} must be an object.")));
            }
        }
        // Meta's "Configure call settings" page: `calling.status` ENABLED|DISABLED,
        // `call_icon_visibility` DEFAULT|DISABLE_ALL.
        let calling = &p["calling"];
        let enum_ok =
            |k: &str, allowed: &[&str]| calling[k].as_str().is_none_or(|v| allowed.contains(&v));
        if !enum_ok("status", &["ENABLED", "DISABLED"])
            || !enum_ok("call_icon_visibility", &["DEFAULT", "DISABLE_ALL"])
        {
            return Err(bad(
                "Param calling[status] must be ENABLED or DISABLED, calling[call_icon_visibility] DEFAULT or DISABLE_ALL.",
            ));
        }
        for (k, v) in obj {
            self.settings.insert(k.clone(), v.clone());
        }
        Ok(())
    }

    /// `POST /{id}/conversational_automation {enable_welcome_message?, prompts?, commands?}`.
    pub fn update_automation(&mut self, p: &Value) -> Result<(), GraphError> {
        if let Some(prompts) = p.get("prompts") {
            let list = prompts
                .as_array()
                .ok_or_else(|| bad("Param prompts must be an array."))?;
            if list.len() > 4
                || list
                    .iter()
                    .any(|s| s.as_str().is_none_or(|s| s.chars().count() > 80))
            {
                return Err(bad(
                    "Param prompts must hold at most 4 strings of 80 characters.",
                ));
            }
            self.automation["prompts"] = prompts.clone();
        }
        if let Some(commands) = p.get("commands") {
            let list = commands
                .as_array()
                .ok_or_else(|| bad("Param commands must be an array."))?;
            let ok = |c: &Value| {
                str_of(c, "command_name").is_some_and(|n| !n.is_empty() && n.chars().count() <= 32)
                    && str_of(c, "command_description").is_some_and(|d| d.chars().count() <= 256)
            };
            if list.len() > 30 || !list.iter().all(ok) {
                return Err(bad("Param commands must hold at most 30 {command_name (32), command_description (256)}."));
            }
            self.automation["commands"] = commands.clone();
        }
        if let Some(w) = p.get("enable_welcome_message") {
            let b = w
                .as_bool()
                .ok_or_else(|| bad("Param enable_welcome_message must be a boolean."))?;
            self.automation["enable_welcome_message"] = json!(b);
        }
        Ok(())
    }

    /// Whether this customer is blocked.
    pub fn is_blocked(&self, wa_id: &str) -> bool {
        self.blocked.iter().any(|b| b == wa_id)
    }

    /// Creates or updates a QR code; returns it.
    pub fn upsert_qr(&mut self, p: &Value, new_code: String) -> Result<QrCode, GraphError> {
        let msg = str_of(p, "prefilled_message").unwrap_or_default();
        if msg.is_empty() {
            return Err(GraphError::param_required("prefilled_message"));
        }
        if msg.chars().count() > 140 {
            return Err(bad(
                "Param prefilled_message must be at most 140 characters.",
            ));
        }
        if let Some(f) = str_of(p, "generate_qr_image") {
            if !["PNG", "SVG"].contains(&f.to_ascii_uppercase().as_str()) {
                return Err(bad("Param generate_qr_image must be one of {PNG, SVG}."));
            }
        }
        let code = match str_of(p, "code") {
            Some(c) if !self.qr_codes.contains_key(c) => {
                return Err(bad(format!("QR code '{c}' does not exist.")))
            }
            Some(c) => c.to_string(),
            None => new_code,
        };
        let qr = QrCode {
            code: code.clone(),
            prefilled_message: msg.to_string(),
        };
        self.qr_codes.insert(code, qr.clone());
        Ok(qr)
    }
}

fn check_websites(v: &Value) -> Result<(), GraphError> {
    let list = v
        .as_array()
        .ok_or_else(|| bad("Param websites must be an array."))?;
    let ok = |w: &Value| {
        w.as_str().is_some_and(|s| {
            s.len() <= 256 && (s.starts_with("http://") || s.starts_with("https://"))
        })
    };
    if list.len() > 2 || !list.iter().all(ok) {
        return Err(bad(
            "Param websites must hold at most 2 URLs starting with http:// or https://.",
        ));
    }
    Ok(())
}

/// A QR code as Graph returns it (`qr_image_url` only when an image was asked for).
pub fn qr_json(qr: &QrCode, image_url: Option<String>) -> Value {
    let mut v = json!({
        "code": qr.code,
        "prefilled_message": qr.prefilled_message,
        "deep_link_url": format!("https://wa.me/message/{}", qr.code),
    });
    if let Some(u) = image_url {
        v["qr_image_url"] = json!(u);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_ladder_and_pin_rules() {
        let mut a = Account::default();
        a.deregister();
        assert!(!a.registered);
        let e = a
            .register(&json!({"messaging_product":"whatsapp","pin":"12"}))
            .unwrap_err();
        assert_eq!(e.code, 100);
        a.register(&json!({"messaging_product":"whatsapp","pin":"123456"}))
            .unwrap();
        assert!(a.registered && a.pin.as_deref() == Some("123456"));
        let e = a
            .register(&json!({"messaging_product":"whatsapp","pin":"654321"}))
            .unwrap_err();
        assert_eq!(e.code, 133005);
        a.request_code(
            &json!({"code_method":"SMS","language":"en"}),
            "111222".into(),
        )
        .unwrap();
        assert_eq!(
            a.register(&json!({"messaging_product":"whatsapp","pin":"123456"}))
                .unwrap_err()
                .code,
            133006
        );
        assert_eq!(
            a.verify_code(&json!({"code":"000000"})).unwrap_err().code,
            136025
        );
        a.verify_code(&json!({"code":"111222"})).unwrap();
        a.register(&json!({"messaging_product":"whatsapp","pin":"123456"}))
            .unwrap();
        assert_eq!(
            a.request_code(&json!({"code_method":"FAX","language":"en"}), "1".into())
                .unwrap_err()
                .code,
            100
        );
    }

    #[test]
    fn profile_limits() {
        let mut a = Account::default();
        a.update_profile(
            &json!({"messaging_product":"whatsapp","about":"Hi","websites":["https://a.b"]}),
        )
        .unwrap();
        assert_eq!(a.profile_json(Some("about"))["about"], "Hi");
        for bad in [
            json!({"about": "x".repeat(140)}),
            json!({"websites":["ftp://x"]}),
            json!({"vertical":"SPACE"}),
            json!({"nope":1}),
            json!({"about":""}),
        ] {
            let mut p = bad.clone();
            p["messaging_product"] = json!("whatsapp");
            assert_eq!(a.update_profile(&p).unwrap_err().code, 100, "{bad}");
        }
        assert!(a.update_profile(&json!({"about":"x"})).is_err());
        // pywa clears a field by sending "".
        let clear = json!({"messaging_product":"whatsapp","websites":"","vertical":""});
        a.update_profile(&clear).unwrap();
        assert_eq!(a.profile["websites"], json!([]));
    }

    #[test]
    fn automation_and_qr() {
        let mut a = Account::default();
        a.update_automation(&json!({"prompts":["Book"],"commands":[{"command_name":"help","command_description":"Help"}]})).unwrap();
        assert_eq!(a.automation["prompts"][0], "Book");
        assert!(a
            .update_automation(&json!({"prompts":["a","b","c","d","e"]}))
            .is_err());
        let qr = a
            .upsert_qr(
                &json!({"prefilled_message":"Hi","generate_qr_image":"PNG"}),
                "C1".into(),
            )
            .unwrap();
        assert_eq!(qr.code, "C1");
        a.upsert_qr(&json!({"prefilled_message":"Bye","code":"C1"}), "C2".into())
            .unwrap();
        assert_eq!(a.qr_codes["C1"].prefilled_message, "Bye");
        assert!(a
            .upsert_qr(&json!({"prefilled_message":"x","code":"ZZ"}), "C3".into())
            .is_err());
        assert!(a
            .upsert_qr(&json!({"prefilled_message":"x".repeat(141)}), "C3".into())
            .is_err());
    }
}
