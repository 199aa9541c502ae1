//! Customers' personal data kept out of files: phone numbers (and WhatsApp JIDs, Meta
//! `wa_id`s), profile names and the text of customers' messages. See docs/privacy.md.
//!
//! Values are learnt as a run goes (each `inject` hands its customer's number, name and text
//! to the [`super::Redactor`]) and from the shapes of the providers' payloads being written
//! ([`learn_json`]: `pushName`, `profile.name`, `remoteJid`, `wa_id`, an inbound message's
//! `conversation` or `text.body`, …); numbers in a JID or in `+` form are masked whatever
//! learnt them. Masking replaces:
//! - a number by its first two digits (the country code), `•••` and 4 hex digits of a salted
//!   hash: the same number gives the same token within a run (`5511•••` would not tell two
//!   customers apart, the hash does), and the salt, random per run, keeps a token from being
//!   reversed by hashing every possible number;
//! - a name by `‹name 3f9a›` (hashed the same way), as a whole word only;
//! - a customer's message by its first two words and the count of the rest when it has five
//!   words or more (`Necesito una …‹+5 words›`), else by `‹3 words›`.
//!
//! What the app sent (its replies, their buttons) is not a customer's text and stays, so the
//! text a check matched stays readable; a customer's name, number or words inside it are
//! masked (an app that repeats "diabetes" after the customer said it tells as much).

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::Regex;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Words of a customer's message kept in files.
const KEPT_WORDS: usize = 2;
/// A message of fewer words is masked whole.
const MIN_WORDS_TO_KEEP: usize = 5;
/// Shortest digit run treated as a phone number.
const MIN_PHONE_DIGITS: usize = 8;
const MAX_PHONE_DIGITS: usize = 15;

/// What a learnt value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Phone,
    Name,
    Text,
}

/// The personal values of a run and the automaton that finds them.
#[derive(Debug)]
pub(super) struct Personal {
    salt: [u8; 16],
    values: Vec<String>,
    kinds: Vec<Kind>,
    known: HashMap<String, usize>,
    finder: Option<AhoCorasick>,
}

impl Default for Personal {
    fn default() -> Self {
        Self {
            salt: rand::random(),
            values: Vec::new(),
            kinds: Vec::new(),
            known: HashMap::new(),
            finder: None,
        }
    }
}

/// `+5511999990000`, `5511999990000@s.whatsapp.net`: a number in a form only a phone takes.
fn phone_forms() -> &'static Regex {
    static FORMS: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    FORMS.get_or_init(|| {
        Regex::new(r"(\d{8,15})(?:@(?:s\.whatsapp\.net|c\.us|lid)\b)|\+(\d{8,15})\b")
            .expect("a valid pattern")
    })
}

/// The digits of `value` when it is a phone number (`+55 11 99999-0000`, a JID), else none.
pub fn phone_digits(value: &str) -> Option<String> {
    let value = value.trim();
    let number = match value.split_once('@') {
        Some((n, domain)) if ["s.whatsapp.net", "c.us", "lid"].contains(&domain) => n,
        Some(_) => return None,
        None => value,
    };
    let number = number.split(':').next().unwrap_or(number);
    if !number
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')'))
    {
        return None;
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    (MIN_PHONE_DIGITS..=MAX_PHONE_DIGITS)
        .contains(&digits.len())
        .then_some(digits)
}

impl Personal {
    /// Remembers `value` as personal data of `kind`.
    pub fn add(&mut self, kind: Kind, value: &str) {
        let value = match kind {
            Kind::Phone => match phone_digits(value) {
                Some(d) => d,
                None => return,
            },
            Kind::Name | Kind::Text => value.trim().to_string(),
        };
        if value.chars().count() < 2 || self.known.contains_key(&value) {
            return;
        }
        self.known.insert(value.clone(), self.values.len());
        self.values.push(value);
        self.kinds.push(kind);
        self.finder = None;
    }

    fn hash(&self, value: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(value.as_bytes());
        hex::encode(&h.finalize()[..2])
    }

    /// The token a phone number (its digits) is written as: `55•••a3f9`.
    pub fn phone_token(&self, digits: &str) -> String {
        format!("{}•••{}", &digits[..2.min(digits.len())], self.hash(digits))
    }

    fn token(&self, kind: Kind, value: &str) -> String {
        match kind {
            Kind::Phone => self.phone_token(value),
            Kind::Name => format!("‹name {}›", self.hash(value)),
            Kind::Text => {
                let words: Vec<&str> = value.split_whitespace().collect();
                if words.len() >= MIN_WORDS_TO_KEEP {
                    let rest = words.len() - KEPT_WORDS;
                    format!("{} …‹+{rest} words›", words[..KEPT_WORDS].join(" "))
                } else {
                    let n = words.len();
                    format!("‹{n} word{}›", if n == 1 { "" } else { "s" })
                }
            }
        }
    }

    /// `text` with every learnt value and every number in a phone's form masked.
    pub fn mask(&mut self, text: &str) -> String {
        let learnt = self.mask_learnt(text);
        phone_forms()
            .replace_all(&learnt, |c: &regex::Captures<'_>| {
                match (c.get(1), c.get(2)) {
                    (Some(n), _) => {
                        let whole = &c[0];
                        format!("{}{}", self.phone_token(n.as_str()), &whole[n.len()..])
                    }
                    (None, Some(n)) => format!("+{}", self.phone_token(n.as_str())),
                    _ => c[0].to_string(),
                }
            })
            .into_owned()
    }

    fn mask_learnt(&mut self, text: &str) -> String {
        if self.values.is_empty() {
            return text.to_string();
        }
        if self.finder.is_none() {
            self.finder = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&self.values)
                .ok();
        }
        let Some(finder) = &self.finder else {
            return text.to_string();
        };
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for m in finder.find_iter(text) {
            let kind = self.kinds[m.pattern().as_usize()];
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            let bounded = |f: fn(&char) -> bool| {
                !before.is_some_and(|c| f(&c)) && !after.is_some_and(|c| f(&c))
            };
            let whole = match kind {
                Kind::Phone => bounded(char::is_ascii_digit),
                Kind::Name | Kind::Text => bounded(|c| c.is_alphanumeric()),
            };
            if !whole {
                continue;
            }
            out.push_str(&text[at..m.start()]);
            out.push_str(&self.token(kind, &text[m.start()..m.end()]));
            at = m.end();
        }
        out.push_str(&text[at..]);
        out
    }
}

/// Keys whose value is a customer's number when it looks like one.
const PHONE_KEYS: &[&str] = &[
    "from",
    "to",
    "wa_id",
    "recipient_id",
    "remoteJid",
    "remoteJidAlt",
    "participant",
    "number",
    "phone",
    "customer",
];

/// Learns the personal values a provider's payload (or a report holding such payloads, also
/// as JSON text) carries, by their keys: numbers, `pushName`/`notifyName`/`profile.name`, and
/// the text of a message the customer sent (Evolution: `key.fromMe` false; Meta: a message
/// with a `from`).
pub(super) fn learn_json(p: &mut Personal, value: &Value) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| learn_json(p, v)),
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    (k, Value::String(s)) if PHONE_KEYS.contains(&k) => p.add(Kind::Phone, s),
                    ("pushName" | "notifyName", Value::String(s)) => p.add(Kind::Name, s),
                    ("profile", Value::Object(o)) => {
                        for key in ["name", "username"] {
                            if let Some(Value::String(s)) = o.get(key) {
                                p.add(Kind::Name, s);
                            }
                        }
                    }
                    _ => {}
                }
                learn_json(p, v);
            }
            learn_message_text(p, map);
        }
        Value::String(s) => {
            if let Some(inner) = embedded_json(s) {
                learn_json(p, &inner);
            }
        }
        _ => {}
    }
}

/// The text of an inbound message object: Evolution's `{key, message}` not from the instance,
/// Meta's `{from, text: {body}}`.
fn learn_message_text(p: &mut Personal, map: &serde_json::Map<String, Value>) {
    let str_at = |v: &Value, path: &str| v.pointer(path).and_then(Value::as_str).map(String::from);
    if let (Some(key), Some(message)) = (map.get("key"), map.get("message")) {
        if key.get("fromMe").and_then(Value::as_bool) != Some(true) {
            for path in [
                "/conversation",
                "/extendedTextMessage/text",
                "/imageMessage/caption",
                "/videoMessage/caption",
                "/documentMessage/caption",
            ] {
                if let Some(s) = str_at(message, path) {
                    p.add(Kind::Text, &s);
                }
            }
        }
    }
    // A report's transcript bubble of the customer (`harness report` of a saved report).
    if map.get("from").and_then(Value::as_str) == Some("customer") {
        if let Some(Value::String(s)) = map.get("text") {
            p.add(Kind::Text, s);
        }
    }
    if map.contains_key("from") {
        let msg = Value::Object(map.clone());
        for path in [
            "/text/body",
            "/image/caption",
            "/video/caption",
            "/document/caption",
        ] {
            if let Some(s) = str_at(&msg, path) {
                p.add(Kind::Text, &s);
            }
        }
    }
}

/// `s` parsed, when it is a JSON object or array (a request or response body).
pub fn embedded_json(s: &str) -> Option<Value> {
    let t = s.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str(s).ok()
}

/// Masks every string of `value` (JSON bodies inside strings parsed, masked and written back).
pub(super) fn mask_json(p: &mut Personal, value: &Value) -> Value {
    match value {
        // A body is written back only when masking changed it, so that a body without
        // personal data keeps its exact bytes (and masking a masked report changes nothing).
        Value::String(s) => match embedded_json(s) {
            Some(inner) => {
                let masked = mask_json(p, &inner);
                Value::String(if masked == inner {
                    s.clone()
                } else {
                    masked.to_string()
                })
            }
            None => Value::String(p.mask(s)),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| mask_json(p, v)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), mask_json(p, v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_hashed_consistently_in_every_form() {
        let mut p = Personal::default();
        p.add(Kind::Phone, "5511987654321");
        let token = p.phone_token("5511987654321");
        assert!(token.starts_with("55•••") && token.len() > 5, "{token}");
        let out = p.mask("to 5511987654321, jid 5511987654321@s.whatsapp.net, +5511987654321");
        assert_eq!(
            out,
            format!("to {token}, jid {token}@s.whatsapp.net, +{token}")
        );
        // Not learnt, but in a phone's form.
        let other = p.mask("+5521912345678 and 5521912345678@c.us");
        assert!(!other.contains("5521912345678"), "{other}");
        // A longer digit run holding the number is another value; a timestamp is no number.
        assert_eq!(
            p.mask("id 155119876543210 t 1733356800"),
            "id 155119876543210 t 1733356800"
        );
        let q = Personal::default();
        assert_ne!(q.phone_token("5511987654321"), token, "the salt is per run");
    }

    #[test]
    fn names_as_words_and_texts_by_their_first_words() {
        let mut p = Personal::default();
        p.add(Kind::Name, "Ana");
        p.add(Kind::Text, "Necesito una cita con cardiología para mañana");
        p.add(Kind::Text, "Hola");
        let out = p.mask("Hola Ana: Necesito una cita con cardiología para mañana (Anabel)");
        assert!(out.starts_with("‹1 word› ‹name "), "{out}");
        assert!(out.contains("Necesito una …‹+5 words›"), "{out}");
        assert!(out.ends_with("(Anabel)"), "{out}");
    }

    #[test]
    fn payload_shapes_teach_the_values() {
        let mut p = Personal::default();
        let evolution = serde_json::json!({"data": {
            "key": {"remoteJid": "5511911112222@s.whatsapp.net", "fromMe": false},
            "pushName": "Bruna", "message": {"conversation": "quero marcar uma consulta amanhã"}}});
        let meta = serde_json::json!({"contacts": [{"profile": {"name": "Carla"}, "wa_id": "5511933334444"}],
            "messages": [{"from": "5511933334444", "text": {"body": "hola buenas"}}]});
        let sent =
            serde_json::json!({"key": {"fromMe": true}, "message": {"conversation": "Horarios"}});
        // A saved report's customer bubble.
        let bubble = serde_json::json!({"from": "customer", "text": "me duele la rodilla"});
        let report =
            serde_json::json!({"body": meta.to_string(), "e": evolution, "s": sent, "t": bubble});
        learn_json(&mut p, &report);
        let masked = mask_json(&mut p, &report).to_string();
        for gone in [
            "5511911112222",
            "Bruna",
            "quero marcar uma consulta amanhã",
            "Carla",
            "5511933334444",
            "hola buenas",
            "me duele la rodilla",
        ] {
            assert!(!masked.contains(gone), "{gone} in {masked}");
        }
        assert!(
            masked.contains("Horarios"),
            "the app's own text stays: {masked}"
        );
    }
}
