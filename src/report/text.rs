//! Text shared by the renderers: HTML escaping and the one-line summaries (error rate,
//! delivery, missing replies, latency cells) that the terminal, HTML, Markdown and JUnit say
//! alike.

use super::{Bucket, Latency, Report, Totals};

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

/// A latency histogram for the terminal, as oha prints one: a line per bucket from the first
/// to the last with samples, `  ≤ 1.6ms [  980] ■■■■…` (bars scaled to `width`). Bucket
/// bounds are shown as the doubling they stand for (0.1 ms × 2ⁿ), not HDR's 799µs.
pub fn histogram_lines(buckets: &[Bucket], width: usize) -> Vec<String> {
    let (Some(first), Some(last)) = (
        buckets.iter().position(|b| b.count > 0),
        buckets.iter().rposition(|b| b.count > 0),
    ) else {
        return Vec::new();
    };
    let shown = &buckets[first..=last];
    let top = shown.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let digits = top.to_string().len();
    let labels: Vec<String> = shown
        .iter()
        .map(|b| {
            let doublings = (b.le_ms / 0.1).log2().round();
            crate::thresholds::format_ms(0.1 * 2f64.powf(doublings))
        })
        .collect();
    let label_width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    shown
        .iter()
        .zip(labels)
        .map(|(b, label)| {
            let bar = (b.count as f64 / top as f64 * width as f64).ceil() as usize;
            format!(
                "  ≤ {label:>label_width$} [{:>digits$}] {}",
                b.count,
                "■".repeat(bar)
            )
        })
        .collect()
}

/// `  [200] 980 responses`, one line per status code.
pub fn status_lines(codes: &std::collections::BTreeMap<String, u64>) -> Vec<String> {
    codes
        .iter()
        .map(|(code, n)| {
            let unit = if *n == 1 { "response" } else { "responses" };
            format!("  [{code}] {n} {unit}")
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_histogram_has_a_bar_per_bucket_at_round_bounds() {
        let b = |le_ms, count| Bucket { le_ms, count };
        let lines = histogram_lines(
            &[
                b(0.399, 0),
                b(0.799, 10),
                b(1.599, 40),
                b(3.199, 0),
                b(6.399, 2),
            ],
            20,
        );
        assert_eq!(
            lines,
            [
                "  ≤ 800µs [10] ■■■■■",
                "  ≤ 1.6ms [40] ■■■■■■■■■■■■■■■■■■■■",
                "  ≤ 3.2ms [ 0] ",
                "  ≤ 6.4ms [ 2] ■",
            ]
        );
        assert!(histogram_lines(&[b(1.0, 0)], 20).is_empty());
        let codes = [("200".to_string(), 980), ("503".to_string(), 1)].into();
        assert_eq!(
            status_lines(&codes),
            ["  [200] 980 responses", "  [503] 1 response"]
        );
    }
}
