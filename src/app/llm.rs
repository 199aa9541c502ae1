//! Understanding what the keyword rules ([`super::nlu`]) do not, through an OpenAI-compatible
//! API: one `POST {base_url}/chat/completions` with a forced `extract_booking` tool call, the
//! answer turned into words the rules understand ("cita de cardiología para el 23/11/2026"),
//! so the dialogue itself stays pure and deterministic.
//!
//! The customer must get an answer quickly whatever the LLM does: the exchange has a
//! [`DEADLINE`]; a failure, a timeout or a 429 whose `retry-after` does not fit in it gives
//! [`Understanding::Failed`], and the app answers [`fallback`] at once. The customer's phone
//! number is never sent (long digit runs in the message are masked too).
//!
//! [`Mishandle`] switches that care off on purpose (no deadline, endless 429 retries), for
//! testing that the harness catches an app that gets it wrong.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::config::{LlmEndpoint, Mishandle};
use super::conversation::{self, MENU};
use super::nlu;

/// The whole exchange (retries included) ends within this.
pub const DEADLINE: Duration = Duration::from_secs(2);
/// The pause between a mishandling app's retries of a failing LLM.
const MISHANDLED_RETRY_PAUSE: Duration = Duration::from_millis(500);
/// A 429 without `retry-after` is taken as this.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// The tool the LLM is asked to call.
pub const TOOL: &str = "extract_booking";
/// How the fallback reply starts.
pub const FALLBACK_PREFIX: &str = "Disculpe, no pude entender su mensaje.";

/// What the LLM made of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Understanding {
    /// Words the rules understand, to be answered by the normal dialogue.
    Said(String),
    /// Nothing the bot can do (a greeting, or off-topic): the menu.
    Menu,
    /// The LLM could not be used (why, for the log): the fallback reply.
    Failed(String),
}

/// The `extract_booking` arguments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Extraction {
    #[serde(default)]
    pub intent: String,
    #[serde(default)]
    pub specialty: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub day: Option<String>,
}

/// The reply when the LLM could not help: an apology and what the bot can do.
pub fn fallback() -> String {
    let options = MENU.split_once('\n').map_or(MENU, |(_, rest)| rest);
    format!("{FALLBACK_PREFIX} Puedo ayudarle a:\n{options}")
}

/// The system prompt: names the tenant, gives today's date and the specialties.
pub fn system_prompt(tenant: &str, today: NaiveDate) -> String {
    let specialties: Vec<&str> = nlu::SPECIALTIES.iter().map(|(name, _)| *name).collect();
    format!(
        "Eres el asistente de reservas de la clínica del número de WhatsApp «{tenant}». \
Hoy es {} {}. Extrae del mensaje del paciente la intención (book: pedir una cita, cancel: \
cancelar una cita, list: ver sus citas, greeting: saludo, other: otra cosa), la especialidad \
médica si la hay (una de: {}) y el día pedido como YYYY-MM-DD si lo hay. Llama siempre a \
{TOOL}.",
        nlu::weekday_name(today),
        today.format("%Y-%m-%d"),
        specialties.join(", ")
    )
}

/// The message with every run of 7 or more digits (a phone number, a document number)
/// replaced by `[número]`.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 7 {
            out.push_str("[número]");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

/// The chat-completions request body.
pub fn request_body(model: &str, tenant: &str, text: &str, today: NaiveDate) -> Value {
    let mut specialties: Vec<Value> = nlu::SPECIALTIES
        .iter()
        .map(|(name, _)| json!(name))
        .collect();
    specialties.push(Value::Null);
    let parameters = json!({
        "type": "object",
        "required": ["intent"],
        "properties": {
            "intent": {"type": "string", "enum": ["book", "cancel", "list", "greeting", "other"]},
            "specialty": {"type": ["string", "null"], "enum": specialties},
            "day": {"type": ["string", "null"], "description": "YYYY-MM-DD"},
        },
    });
    json!({
        "model": model,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system_prompt(tenant, today)},
            {"role": "user", "content": mask_numbers(text)},
        ],
        "tools": [{"type": "function", "function": {
            "name": TOOL,
            "description": "Registra lo que pide el paciente.",
            "parameters": parameters,
        }}],
        "tool_choice": {"type": "function", "function": {"name": TOOL}},
    })
}

/// The extraction in a chat completion: the tool call's arguments, else (a `json` answer)
/// the message content as JSON.
pub fn parse_answer(body: &Value) -> Option<Extraction> {
    let message = body.pointer("/choices/0/message")?;
    let arguments = message
        .pointer("/tool_calls/0/function/arguments")
        .or_else(|| message.pointer("/function_call/arguments"))
        .or_else(|| message.get("content"))
        .and_then(Value::as_str)?;
    serde_json::from_str(arguments).ok()
}

/// What the rules should hear for `e`.
pub fn understood(e: &Extraction) -> Understanding {
    match e.intent.as_str() {
        "book" => {
            let mut said = "quiero una cita".to_string();
            let specialty = e
                .specialty
                .as_deref()
                .and_then(|s| nlu::specialty(&nlu::normalize(s)));
            if let Some(s) = specialty {
                said.push_str(&format!(" de {s}"));
            }
            let day = e
                .day
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
            if let Some(d) = day {
                said.push_str(&format!(" para el {}", conversation::date(d)));
            }
            Understanding::Said(said)
        }
        "cancel" => Understanding::Said("cancelar".into()),
        "list" => Understanding::Said("mis citas".into()),
        _ => Understanding::Menu,
    }
}

/// `retry-after` in seconds (OpenAI's), if any.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?;
    v.trim().parse::<f64>().ok().map(Duration::from_secs_f64)
}

/// The outcome of one request.
enum Attempt {
    Done(Understanding),
    /// A 429: retry after this long (if at all).
    RateLimited(Duration),
    /// Unreachable, timed out, 5xx or unreadable (why).
    Failing(String),
}

/// Asks the LLM what `text` (a customer's message to `tenant`) means.
pub async fn understand(
    http: &reqwest::Client,
    endpoint: &LlmEndpoint,
    tenant: &str,
    text: &str,
    today: NaiveDate,
    mishandle: Mishandle,
) -> Understanding {
    let url = format!("{}/chat/completions", endpoint.base_url);
    let body = request_body(&endpoint.model, tenant, text, today);
    let start = Instant::now();
    let mut rate_limited = false;
    loop {
        // A mishandling app drops the deadline (entirely, or once it was rate-limited).
        let deadline = !(mishandle.llm_timeout || (mishandle.llm_rate_limit && rate_limited));
        let mut req = http.post(&url).bearer_auth(&endpoint.api_key).json(&body);
        if deadline {
            match DEADLINE.checked_sub(start.elapsed()) {
                Some(left) if !left.is_zero() => req = req.timeout(left),
                _ => return Understanding::Failed("the deadline passed".into()),
            }
        }
        match attempt(req).await {
            Attempt::Done(u) => return u,
            Attempt::Failing(why) if !mishandle.llm_timeout => return Understanding::Failed(why),
            Attempt::Failing(_) => tokio::time::sleep(MISHANDLED_RETRY_PAUSE).await,
            Attempt::RateLimited(wait) => {
                let fits = !rate_limited && start.elapsed() + wait < DEADLINE;
                if !(fits || mishandle.llm_rate_limit) {
                    return Understanding::Failed(format!(
                        "rate limited: retry-after {wait:?} does not fit in the {DEADLINE:?} deadline"
                    ));
                }
                rate_limited = true;
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// One request.
async fn attempt(req: reqwest::RequestBuilder) -> Attempt {
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => return Attempt::Failing(format!("LLM unreachable: {e}")),
    };
    let status = response.status().as_u16();
    if status == 429 {
        return Attempt::RateLimited(
            retry_after(response.headers()).unwrap_or(DEFAULT_RETRY_AFTER),
        );
    }
    if status >= 500 {
        return Attempt::Failing(format!("LLM answered {status}"));
    }
    if !(200..300).contains(&status) {
        return Attempt::Done(Understanding::Failed(format!("LLM answered {status}")));
    }
    match response.json::<Value>().await {
        Ok(body) => Attempt::Done(match parse_answer(&body) {
            Some(e) => understood(&e),
            None => {
                Understanding::Failed("the LLM's answer has no extract_booking arguments".into())
            }
        }),
        Err(e) => Attempt::Failing(format!("LLM answer unreadable: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn the_request_names_the_tenant_offers_the_tool_and_never_the_phone() {
        let body = request_body(
            "gpt-4o-mini",
            "clinica-sol",
            "soy el 5511999990000, ¿me atienden el 15/12?",
            today(),
        );
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert!(system.contains("«clinica-sol»"), "{system}");
        assert!(system.contains("domingo 2026-11-22"), "{system}");
        assert!(system.contains("medicina general"), "{system}");
        assert_eq!(
            body["messages"][1]["content"],
            "soy el [número], ¿me atienden el 15/12?"
        );
        assert_eq!(body["tools"][0]["function"]["name"], TOOL);
        assert_eq!(body["tool_choice"]["function"]["name"], TOOL);
        assert_eq!(body["model"], "gpt-4o-mini");
        assert!(body.get("user").is_none());
        assert_eq!(mask_numbers("123456 1234567"), "123456 [número]");
    }

    #[test]
    fn tool_call_and_json_content_answers_are_read() {
        let tool = json!({"choices": [{"message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": TOOL,
            "arguments": "{\"intent\":\"book\",\"specialty\":\"cardiologia\",\"day\":\"2026-11-26\"}"}}]}}]});
        let e = parse_answer(&tool).unwrap();
        assert_eq!(
            understood(&e),
            Understanding::Said("quiero una cita de cardiología para el 26/11/2026".into())
        );
        let content = json!({"choices": [{"message": {"content": "{\"intent\":\"cancel\"}"}}]});
        assert_eq!(
            understood(&parse_answer(&content).unwrap()),
            Understanding::Said("cancelar".into())
        );
        let text = json!({"choices": [{"message": {"content": "Hola, ¿en qué puedo ayudarle?"}}]});
        assert_eq!(parse_answer(&text), None);
        let other = Extraction {
            intent: "other".into(),
            ..Extraction::default()
        };
        assert_eq!(understood(&other), Understanding::Menu);
    }

    #[test]
    fn a_booking_without_a_valid_day_or_specialty_asks_the_rules_for_what_is_missing() {
        let e = Extraction {
            intent: "book".into(),
            specialty: Some("astrología".into()),
            day: Some("el jueves".into()),
        };
        assert_eq!(
            understood(&e),
            Understanding::Said("quiero una cita".into())
        );
        // What the rules make of it: a booking whose specialty is asked for.
        let t = nlu::normalize("quiero una cita de medicina general para el 26/11/2026");
        assert_eq!(nlu::intent(&t), nlu::Intent::Book);
        assert_eq!(nlu::specialty(&t), Some("medicina general"));
        assert_eq!(nlu::day(&t, today()), NaiveDate::from_ymd_opt(2026, 11, 26));
    }

    #[test]
    fn the_fallback_apologizes_and_lists_what_the_bot_does() {
        let f = fallback();
        assert!(f.starts_with(FALLBACK_PREFIX), "{f}");
        assert!(
            f.contains("pedir una cita") && f.contains("cancelar"),
            "{f}"
        );
    }
}
