//! The conversation of an end-to-end run, as a person reviewing a WhatsApp bot reads it: what
//! the customer sent (`inject`), what the app answered (`await`), in order, each message with
//! its kind (text, buttons, list, media, location, …), each reply with its end-to-end latency,
//! and the await that failed marked where it failed.
//!
//! Built from the runner's step results; two small functions read what was sent:
//! [`customer_view`] what the harness injected, [`app_view`] a journal entry of the simulator
//! (through its provider-neutral view, `sim::neutral`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::redact::Redactor;
use crate::runner::check::truncate;
use crate::runner::{StepKind, StepResult};

/// Text of a message kept in a transcript is cut to this many characters.
const TEXT_LIMIT: usize = 1000;
/// Options (buttons, list rows) kept per message.
const OPTIONS_LIMIT: usize = 12;

/// One conversation: the messages of one run (or, under load, of one iteration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptReport {
    /// Every message passed (delivered, and every awaited reply came and matched).
    pub passed: bool,
    /// Under load, why this iteration's conversation was kept: `failed` or `slowest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_as: Option<String>,
    /// Under load, the iteration's latency from its intended start, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    pub messages: Vec<MessageReport>,
}

/// One bubble of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageReport {
    /// `customer` (injected) or `app` (the reply awaited).
    pub from: String,
    /// The customer's number (digits).
    pub customer: String,
    /// The step, and its line in the scenario file.
    pub step: String,
    pub line: usize,
    /// `text`, `buttons`, `list`, `media`, `location`, `contacts`, `reaction`, `poll`,
    /// `template`, `button_reply`, `list_reply`, `webhook` (a raw webhook), `none` (no reply
    /// came), or the provider's own word for other kinds.
    pub kind: String,
    pub text: Option<String>,
    /// Button titles or list rows.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// What the text does not say: the media type and file name, a location's coordinates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// End to end (injection → reply at the provider), ms; replies only.
    pub latency_ms: Option<f64>,
    /// Why this message is where the conversation failed (expected and observed).
    pub failure: Option<String>,
}

/// What a payload says, for a bubble.
#[derive(Debug, Default, PartialEq)]
pub struct View {
    pub kind: String,
    pub text: Option<String>,
    pub options: Vec<String>,
    pub detail: Option<String>,
}

/// The conversation of `steps` (a run's, or one iteration's); `None` without `inject` or
/// `await` steps that ran. Every string passes through `redactor`.
pub fn of_steps(steps: &[StepResult], redactor: &Redactor) -> Option<TranscriptReport> {
    let messages: Vec<MessageReport> = steps
        .iter()
        .filter(|s| !s.skipped && matches!(s.kind, StepKind::Inject | StepKind::Await))
        .filter(|s| !payment_notification(s))
        .map(|s| message(s, redactor))
        .collect();
    if messages.is_empty() {
        return None;
    }
    Some(TranscriptReport {
        passed: messages.iter().all(|m| m.failure.is_none()),
        kept_as: None,
        duration_ms: None,
        messages,
    })
}

/// A payment notification is an inject, but no message of the conversation.
fn payment_notification(s: &StepResult) -> bool {
    s.kind == StepKind::Inject && s.service.is_some()
}

fn message(s: &StepResult, redactor: &Redactor) -> MessageReport {
    let r = |t: &str| redactor.redact(&truncate(t, TEXT_LIMIT));
    let body: Option<Value> = s
        .request
        .as_ref()
        .and_then(|q| q.body.as_deref())
        .and_then(|b| serde_json::from_str(b).ok());
    let (from, view, customer) = match s.kind {
        StepKind::Await => {
            let customer = s
                .message
                .as_ref()
                .and_then(|m| m["to"].as_str().map(str::to_string))
                .or_else(|| awaited_customer(s))
                .unwrap_or_default();
            let view = s.message.as_ref().map_or_else(
                || View {
                    kind: "none".into(),
                    ..View::default()
                },
                app_view,
            );
            ("app", view, customer)
        }
        _ => {
            let body = body.unwrap_or(Value::Null);
            let customer = crate::sim::bus::phone_digits(body["from"].as_str().unwrap_or(""));
            ("customer", customer_view(&body), customer)
        }
    };
    let failure = (!s.passed).then(|| failure_text(s));
    MessageReport {
        from: from.into(),
        customer: r(&customer),
        step: r(&s.name),
        line: s.span.line,
        kind: view.kind,
        text: view.text.as_deref().map(r),
        options: view.options.iter().map(|o| r(o)).collect(),
        detail: view.detail.as_deref().map(r),
        latency_ms: (s.kind == StepKind::Await)
            .then(|| s.series.summary().map(|l| l.max))
            .flatten(),
        failure: failure.as_deref().map(r),
    }
}

/// The `to=` of the journal query an `await` made.
fn awaited_customer(s: &StepResult) -> Option<String> {
    let url = &s.request.as_ref()?.url;
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("to="))
        .map(str::to_string)
}

/// Expected and observed of the failed checks, or the exchange's error.
fn failure_text(s: &StepResult) -> String {
    if let Some(e) = &s.error {
        return e.message.clone();
    }
    let failed: Vec<String> = s
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("expected {}; observed {}", c.expected, c.observed))
        .collect();
    failed.join(" · ")
}

fn strings(list: &Value, pointer: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer(pointer).and_then(Value::as_str))
        .take(OPTIONS_LIMIT)
        .map(str::to_string)
        .collect()
}

/// The row titles of a list's sections (Evolution's `sections`, Meta's `action.sections`).
fn rows(sections: &Value) -> Vec<String> {
    sections
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| strings(&s["rows"], "/title"))
        .take(OPTIONS_LIMIT)
        .collect()
}

fn join(parts: &[Option<&str>]) -> Option<String> {
    let parts: Vec<&str> = parts.iter().flatten().copied().collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

fn location(l: &Value) -> Option<String> {
    let (lat, lon) = (l["latitude"].as_f64()?, l["longitude"].as_f64()?);
    let place = join(&[l["name"].as_str(), l["address"].as_str()]);
    Some(match place {
        Some(p) => format!("{p} ({lat}, {lon})"),
        None => format!("{lat}, {lon}"),
    })
}

/// An app's message as the simulator journaled it, through its provider-neutral view
/// (`sim::neutral`: `kind`, `text`, `buttons`, `list`, `media`, `location`; the same for
/// Evolution and Meta), as a bubble.
pub fn app_view(entry: &Value) -> View {
    let mut v = View {
        kind: entry["kind"].as_str().unwrap_or("other").to_string(),
        text: entry["text"].as_str().map(str::to_string),
        ..View::default()
    };
    if let Some(buttons) = entry.get("buttons") {
        v.options = strings(buttons, "/title");
    }
    if let Some(list) = entry.get("list") {
        v.options = rows(&list["sections"]);
    }
    if let Some(m) = entry.get("media") {
        v.detail = join(&[m["kind"].as_str(), m["filename"].as_str()]);
        v.text = v.text.or_else(|| m["caption"].as_str().map(str::to_string));
    }
    if let Some(l) = entry.get("location") {
        v.detail = location(l);
    }
    v
}

/// What the harness injected as the customer: a message through the simulator's
/// `/__harness/inbound` (`text`, `button_reply`, `list_reply`, …), or a raw webhook.
pub fn customer_view(body: &Value) -> View {
    let text = |v: &Value| v.as_str().map(str::to_string);
    for kind in ["button_reply", "list_reply"] {
        if let Some(reply) = body.get(kind) {
            return View {
                kind: kind.into(),
                text: text(&reply["title"]),
                ..View::default()
            };
        }
    }
    if body.get("from").is_some() {
        return View {
            kind: "text".into(),
            text: text(&body["text"]),
            ..View::default()
        };
    }
    // A raw webhook: Evolution's `messages.upsert` or Meta's `messages` change.
    let evolution = &body["data"]["message"];
    let meta = &body["entry"][0]["changes"][0]["value"]["messages"][0];
    View {
        kind: "webhook".into(),
        text: text(&evolution["conversation"])
            .or_else(|| text(&evolution["extendedTextMessage"]["text"]))
            .or_else(|| text(&meta["text"]["body"])),
        ..View::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn journal_entries_read_as_bubbles_through_the_neutral_view() {
        // The journal's neutral fields (sim::neutral), as for Evolution and Meta alike.
        let buttons = app_view(&json!({"kind": "buttons", "text": "¿Confirma?", "buttons":
            [{"id": "si", "title": "Sí"}, {"id": "no", "title": "No"}], "payload": {}}));
        assert_eq!(buttons.kind, "buttons");
        assert_eq!(buttons.options, ["Sí", "No"]);
        let list = app_view(
            &json!({"kind": "list", "list": {"button": "Ver", "sections": [
            {"title": "Mañana", "rows": [{"id": "a", "title": "09:00"}, {"id": "b", "title": "10:00"}]},
            {"title": "Tarde", "rows": [{"id": "c", "title": "16:00"}]}]}}),
        );
        assert_eq!(list.options, ["09:00", "10:00", "16:00"]);
        let place = app_view(&json!({"kind": "location", "location":
            {"latitude": -23.5, "longitude": -46.6, "name": "Clínica"}}));
        assert_eq!(place.detail.as_deref(), Some("Clínica (-23.5, -46.6)"));
        let image = app_view(&json!({"kind": "image", "media":
            {"kind": "image", "url": "https://x/y.jpg", "caption": "Mapa"}}));
        assert_eq!(
            (
                image.kind.as_str(),
                image.text.as_deref(),
                image.detail.as_deref()
            ),
            ("image", Some("Mapa"), Some("image"))
        );
    }

    #[test]
    fn injected_messages_and_raw_webhooks_read_as_customer_bubbles() {
        let tap =
            customer_view(&json!({"from": "5511", "button_reply": {"id": "a", "title": "Sí"}}));
        assert_eq!(
            (tap.kind.as_str(), tap.text.as_deref()),
            ("button_reply", Some("Sí"))
        );
        let text = customer_view(&json!({"from": "5511", "text": "Hola"}));
        assert_eq!(text.text.as_deref(), Some("Hola"));
        let raw = customer_view(&json!({"event": "messages.upsert", "data":
            {"message": {"conversation": "quiero una cita"}}}));
        assert_eq!(
            (raw.kind.as_str(), raw.text.as_deref()),
            ("webhook", Some("quiero una cita"))
        );
    }
}
