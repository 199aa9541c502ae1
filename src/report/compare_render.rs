//! Renders a [`Comparison`]: a terminal table, a Markdown table, an HTML page. One row per
//! step (and end to end, and all requests) and metric; regressed metrics are flagged.

use std::fmt::Write;

use super::compare::{
    format_change, format_value, Comparison, Metric, MetricDelta, Presence, RowDelta,
};
use super::html::escape;
use super::markdown::cell;

fn change(m: &MetricDelta) -> String {
    m.change.map_or_else(|| "—".to_string(), format_change)
}

fn label(row: &RowDelta) -> String {
    match row.presence {
        Presence::Both => row.name.clone(),
        Presence::Added => format!("{} (new)", row.name),
        Presence::Removed => format!("{} (gone)", row.name),
    }
}

/// One line: the verdict and the limits; the regressions themselves are listed apart.
fn summary(c: &Comparison) -> String {
    let n = c.regressions().len();
    let limits = format!(
        "latency +{:.0}%, error rate {:.1}%",
        c.limits.max_regression * 100.0,
        c.limits.max_error_rate * 100.0
    );
    if n == 0 {
        format!("PASSED: nothing beyond the limits ({limits})")
    } else {
        format!("REGRESSED: {n} metric(s) beyond the limits ({limits})")
    }
}

/// `1.42ms → 2.41ms (+70%)`, or the one side that exists.
fn transition(m: &MetricDelta) -> String {
    let (b, c) = (
        format_value(m.metric, m.baseline),
        format_value(m.metric, m.current),
    );
    match m.change {
        Some(ch) => format!("{b} → {c} ({})", format_change(ch)),
        None if m.baseline.is_none() && m.current.is_none() => "—".to_string(),
        None => format!("{b} → {c}"),
    }
}

/// A plain-text table for the terminal.
pub fn text(c: &Comparison) -> String {
    let rows: Vec<[String; 6]> = c
        .rows
        .iter()
        .flat_map(|r| {
            r.metrics.iter().map(move |m| {
                [
                    label(r),
                    m.metric.name().to_string(),
                    format_value(m.metric, m.baseline),
                    format_value(m.metric, m.current),
                    change(m),
                    if m.regressed { "REGRESSED" } else { "" }.to_string(),
                ]
            })
        })
        .collect();
    let head = ["step", "metric", "baseline", "current", "change", ""];
    let mut w = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, v) in r.iter().enumerate() {
            w[i] = w[i].max(v.chars().count());
        }
    }
    let mut out = format!("baseline {} → current {}\n", c.baseline, c.current);
    let line = |cols: [&str; 6]| {
        format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}  {}",
            cols[0],
            cols[1],
            cols[2],
            cols[3],
            cols[4],
            cols[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        )
        .trim_end()
        .to_string()
    };
    let _ = writeln!(out, "{}", line(head));
    for r in &rows {
        let _ = writeln!(out, "{}", line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5]]));
    }
    let _ = writeln!(out, "{}", summary(c));
    out
}

/// A Markdown section: the verdict, what regressed, and one row per step with every metric.
pub fn markdown(c: &Comparison) -> String {
    let mut md = format!(
        "## {} Comparison with the baseline\n\n{}\n\n",
        if c.passed() { "✅" } else { "❌" },
        cell(&summary(c))
    );
    for r in c.regressions() {
        let _ = writeln!(md, "- ❌ {}", cell(&r));
    }
    md.push_str("\n| step |");
    for m in Metric::ALL {
        let _ = write!(md, " {} |", m.name());
    }
    md.push_str("\n|---|");
    md.push_str(&"---:|".repeat(Metric::ALL.len()));
    md.push('\n');
    for r in &c.rows {
        let _ = write!(md, "| {} |", cell(&label(r)));
        for m in &r.metrics {
            let mark = if m.regressed { " ❌" } else { "" };
            let _ = write!(md, " {}{mark} |", transition(m));
        }
        md.push('\n');
    }
    md
}

/// A self-contained HTML page, styled like the run report: the verdict, what regressed, and
/// one row per step with every metric (regressed cells in red).
pub fn html(c: &Comparison) -> String {
    let class = if c.passed() { "pass" } else { "fail" };
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>comparison — harness</title><style>{}</style></head><body><main>\
         <header class=\"banner {class}\"><div class=\"verdict\">{}</div><div><h1>{} → {}</h1><p>{}</p></div></header>",
        super::html::STYLE,
        if c.passed() { "PASSED" } else { "REGRESSED" },
        escape(&c.baseline),
        escape(&c.current),
        escape(&summary(c))
    );
    let regressions = c.regressions();
    if !regressions.is_empty() {
        h.push_str("<section><h2>Regressions</h2><ul>");
        for r in regressions {
            let _ = write!(h, "<li class=\"regression\">{}</li>", escape(&r));
        }
        h.push_str("</ul></section>");
    }
    h.push_str(
        "<section><h2>Baseline → current</h2><div class=\"scroll\"><table><thead><tr><th>Step</th>",
    );
    for m in Metric::ALL {
        let _ = write!(h, "<th class=\"num\">{}</th>", m.name());
    }
    h.push_str("</tr></thead><tbody>");
    for r in &c.rows {
        let _ = write!(h, "<tr><td>{}</td>", escape(&label(r)));
        for m in &r.metrics {
            let class = if m.regressed { "num ko" } else { "num" };
            let _ = write!(h, "<td class=\"{class}\">{}</td>", escape(&transition(m)));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table></div></section></main></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::compare::{compare, Limits};
    use crate::report::output::sample_report;

    #[test]
    fn every_form_names_the_regression() {
        let base = sample_report();
        let mut cur = base.clone();
        if let Some(l) = cur.steps[0].latency_ms.as_mut() {
            l.p99 = 400.0;
        }
        let c = compare(&base, &cur, Limits::default());
        let t = text(&c);
        assert!(t.contains("REGRESSED"), "{t}");
        assert!(
            t.lines()
                .any(|l| l.starts_with("create ") && l.contains("p99") && l.contains("+233%")),
            "{t}"
        );
        let md = markdown(&c);
        assert!(
            md.contains(
                "| create | 100ms → 100ms (+0%) | 120ms → 120ms (+0%) | 120ms → 400ms (+233%) ❌ |"
            ),
            "{md}"
        );
        let page = html(&c);
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
    }
}
