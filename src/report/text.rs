//! Text shared by the renderers: HTML escaping and the one-line summaries (error rate,
//! delivery, missing replies, latency cells) that the terminal, HTML, Markdown and JUnit say
//! alike.

use super::{Latency, Report, Totals};

/// p50, p95, p99 and max for people (`612ms`), or `—` each when there is no summary.
pub fn latency_cells(l: Option<Latency>) -> [String; 4] {
    match l {
        Some(l) => [l.p50, l.p95, l.p99, l.max].map(crate::thresholds::format_ms),
        None => std::array::from_fn(|_| "—".to_string()),
    }
}

/// `error rate 50.0 % (15 of 30 iterations failed)`.
pub fn error_rate_line(t: &Totals) -> String {
    let unit = if t.iterations == 1 {
        "iteration"
    } else {
        "iterations"
    };
    format!(
        "error rate {:.1} % ({} of {} {unit} failed)",
        t.error_rate * 100.0,
        t.failed_iterations,
        t.iterations
    )
}

/// The load's delivery and limit, for people: `delivered …`, `limit: …` (empty outside load).
pub fn delivery_lines(r: &Report) -> Vec<String> {
    let Some(l) = &r.load else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(d) = &l.delivery {
        out.push(format!("Delivery: {}.", d.message));
    }
    if let Some(why) = &l.saturation.explanation {
        out.push(format!("Limit: {why}."));
    }
    out
}

/// `; 15 never answered` when awaited replies never came.
pub fn missing_replies(r: &Report) -> String {
    match &r.e2e {
        Some(e) if e.missing > 0 => format!(" ({} never answered)", e.missing),
        _ => String::new(),
    }
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
