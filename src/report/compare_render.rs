//! Renders a [`Comparison`]: a terminal table, a Markdown table, an HTML page. One row per
//! step (and end to end, and all requests) and metric; regressed metrics are flagged.

use std::fmt::Write;

use super::compare::{format_change, format_value, Comparison, MetricDelta, Presence, RowDelta};
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

fn summary(c: &Comparison) -> String {
    let regressions = c.regressions();
    if regressions.is_empty() {
        format!(
            "PASSED: no regression beyond +{:.0}% latency, error rate within {:.1}%",
            c.limits.max_regression * 100.0,
            c.limits.max_error_rate * 100.0
        )
    } else {
        format!(
            "REGRESSED ({}): {}",
            regressions.len(),
            regressions.join("; ")
        )
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

/// A Markdown section.
pub fn markdown(c: &Comparison) -> String {
    let mut md = format!(
        "## {} Comparison with the baseline\n\n{}\n\n| step | metric | baseline | current | change | |\n|---|---|---:|---:|---:|---|\n",
        if c.passed() { "✅" } else { "❌" },
        cell(&summary(c))
    );
    for r in &c.rows {
        for m in &r.metrics {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&label(r)),
                m.metric.name(),
                format_value(m.metric, m.baseline),
                format_value(m.metric, m.current),
                change(m),
                if m.regressed { "❌ regressed" } else { "" }
            );
        }
    }
    md
}

/// A self-contained HTML page, styled like the run report.
pub fn html(c: &Comparison) -> String {
    let class = if c.passed() { "pass" } else { "fail" };
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>comparison — harness</title><style>{}</style></head><body><main>\
         <header class=\"banner {class}\"><div class=\"verdict\">{}</div><div><h1>{} → {}</h1><p>{}</p></div></header>\
         <section><h2>Deltas</h2><div class=\"scroll\"><table><thead><tr><th>Step</th><th>Metric</th>\
         <th class=\"num\">Baseline</th><th class=\"num\">Current</th><th class=\"num\">Change</th><th></th></tr></thead><tbody>",
        super::html::STYLE,
        if c.passed() { "PASSED" } else { "REGRESSED" },
        escape(&c.baseline),
        escape(&c.current),
        escape(&summary(c))
    );
    for r in &c.rows {
        for m in &r.metrics {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&label(r)),
                m.metric.name(),
                escape(&format_value(m.metric, m.baseline)),
                escape(&format_value(m.metric, m.current)),
                escape(&change(m)),
                if m.regressed { "<span class=\"ko\">✗ regressed</span>" } else { "" }
            );
        }
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
        assert!(markdown(&c).contains("❌ regressed"));
        let page = html(&c);
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
    }
}
