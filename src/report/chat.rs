//! Transcripts rendered like a chat: customer bubbles on the left, the app's on the right,
//! each with its kind, options and end-to-end latency, the failed await marked where it
//! failed; in HTML and, condensed, for the terminal (`-v`).

use std::fmt::Write;

use super::text::escape;
use super::transcript::{MessageReport, TranscriptReport};
use crate::thresholds::format_ms;

/// The caption of a kept conversation under load: `failed · 2.41s`.
pub fn caption(t: &TranscriptReport) -> String {
    let mut parts = Vec::new();
    if let Some(k) = &t.kept_as {
        parts.push(k.clone());
    }
    if let Some(ms) = t.duration_ms {
        parts.push(format_ms(ms));
    }
    parts.join(" · ")
}

/// The bubbles of `messages`, in order, as HTML.
pub fn html(messages: &[MessageReport]) -> String {
    let customers: std::collections::BTreeSet<&str> =
        messages.iter().map(|m| m.customer.as_str()).collect();
    let many = customers.len() > 1;
    let mut h = String::from("<ol class=\"chat\">");
    for m in messages {
        bubble(&mut h, m, many);
    }
    h.push_str("</ol>");
    h
}

fn bubble(h: &mut String, m: &MessageReport, many: bool) {
    let side = if m.from == "app" { "app" } else { "customer" };
    let failed = if m.failure.is_some() { " failed" } else { "" };
    let _ = write!(
        h,
        "<li class=\"msg {side}{failed}\"><div class=\"bubble\"><span class=\"kind\">{}</span>",
        escape(&kind_label(m))
    );
    if let Some(t) = &m.text {
        let _ = write!(h, "<p class=\"text\">{}</p>", escape(t));
    } else if m.kind == "none" {
        h.push_str("<p class=\"text muted\">no reply</p>");
    }
    if let Some(d) = &m.detail {
        let _ = write!(h, "<p class=\"detail\">{}</p>", escape(d));
    }
    if !m.options.is_empty() {
        h.push_str("<ul class=\"options\">");
        for o in &m.options {
            let _ = write!(h, "<li>{}</li>", escape(o));
        }
        h.push_str("</ul>");
    }
    let mut meta = format!("{} :{}", m.step, m.line);
    if many {
        meta = format!("{} · {meta}", m.customer);
    }
    if let Some(ms) = m.latency_ms {
        meta = format!("{} · {meta}", format_ms(ms));
    }
    let _ = write!(h, "<p class=\"meta\">{}</p>", escape(&meta));
    if let Some(f) = &m.failure {
        let _ = write!(h, "<p class=\"why\">✗ {}</p>", escape(f));
    }
    h.push_str("</div></li>");
}

fn kind_label(m: &MessageReport) -> String {
    match m.kind.as_str() {
        "button_reply" => "tapped a button".into(),
        "list_reply" => "picked from a list".into(),
        "webhook" => "raw webhook".into(),
        "none" => "awaited reply".into(),
        k => k.replace('_', " "),
    }
}

/// The conversation, condensed for the terminal: one line per message.
pub fn lines(t: &TranscriptReport) -> Vec<String> {
    t.messages
        .iter()
        .map(|m| {
            let arrow = match (m.from.as_str(), m.failure.is_some()) {
                (_, true) => "✗",
                ("app", _) => "←",
                _ => "→",
            };
            let mut line = format!("{arrow} {:<8} {:<12}", m.from, m.kind);
            match (&m.text, m.kind.as_str()) {
                (Some(text), _) => {
                    let _ = write!(line, " {:?}", crate::runner::check::truncate(text, 60));
                }
                (None, "none") => line.push_str(" (no reply)"),
                _ => {}
            }
            if !m.options.is_empty() {
                let _ = write!(line, " [{}]", m.options.join(" | "));
            }
            if let Some(ms) = m.latency_ms {
                let _ = write!(line, "  {}", format_ms(ms));
            }
            if let Some(f) = &m.failure {
                let _ = write!(line, "  — {f}");
            }
            line
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(from: &str, kind: &str, text: Option<&str>, failure: Option<&str>) -> MessageReport {
        MessageReport {
            from: from.into(),
            customer: "5511".into(),
            step: "s".into(),
            line: 3,
            kind: kind.into(),
            text: text.map(str::to_string),
            options: Vec::new(),
            detail: None,
            latency_ms: (from == "app" && failure.is_none()).then_some(1200.0),
            failure: failure.map(str::to_string),
        }
    }

    #[test]
    fn bubbles_are_escaped_and_the_failed_await_is_marked() {
        let mut reply = msg("app", "buttons", Some("¿Qué <b>día</b>?"), None);
        reply.options = vec!["Lunes".into(), "Martes".into()];
        let t = TranscriptReport {
            passed: false,
            kept_as: None,
            duration_ms: None,
            messages: vec![
                msg("customer", "text", Some("Hola"), None),
                reply,
                msg("app", "none", None, Some("expected text contains \"cita\"")),
            ],
        };
        let h = html(&t.messages);
        assert!(h.contains("&lt;b&gt;día&lt;/b&gt;") && !h.contains("<b>"));
        assert_eq!(h.matches("class=\"msg app").count(), 2);
        assert_eq!(h.matches("class=\"msg app failed\"").count(), 1);
        assert!(h.contains("<li>Lunes</li>") && h.contains("1.2s · s :3"));
        let text = lines(&t);
        assert_eq!(text.len(), 3);
        assert!(text[1].starts_with("← app") && text[1].contains("[Lunes | Martes]  1.2s"));
        assert!(text[2].starts_with("✗ app") && text[2].contains("(no reply)"));
    }
}
