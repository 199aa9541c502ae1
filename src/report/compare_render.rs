//! Renders a [`Comparison`]: a terminal table, a Markdown table, an HTML page. One row per
//! step (and end to end, and all requests) and metric; regressed metrics are flagged.

use std::fmt::Write;

use super::compare::{
    format_change, format_value, tail_factor, Comparison, Metric, MetricDelta, Presence, RowDelta,
    Verdict,
};
use super::markdown::cell;
use super::text::escape;
use crate::thresholds::format_ms;

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

/// One line: the verdict and how many metrics regressed or were noise.
fn summary(c: &Comparison) -> String {
    let (n, noise) = (
        c.lines(Verdict::Regressed).len(),
        c.lines(Verdict::Noise).len(),
    );
    let noise = match noise {
        0 => String::new(),
        1 => ", 1 change counted as noise".to_string(),
        k => format!(", {k} changes counted as noise"),
    };
    if n == 0 {
        format!("PASSED: nothing beyond the limits{noise}")
    } else {
        format!("REGRESSED: {n} metric(s) beyond the limits{noise}")
    }
}

/// The rules the verdicts follow, with this comparison's limits.
pub fn rules(c: &Comparison) -> String {
    let l = &c.limits;
    format!(
        "A latency percentile regresses when it grows by more than +{:.0}% and by more than \
         max({} (p50), {} (p95), {} (p99); half the baseline's p95−p50 spread), with at least \
         {} samples (p50), {} (p95) or {} (p99) in both reports; the error rate when it passes \
         {}; throughput (load runs) when it falls by more than {:.0}%.",
        l.max_regression * 100.0,
        format_ms(l.min_delta_ms),
        format_ms(l.min_delta_ms * tail_factor(Metric::P95)),
        format_ms(l.min_delta_ms * tail_factor(Metric::P99)),
        Metric::P50.min_samples(),
        Metric::P95.min_samples(),
        Metric::P99.min_samples(),
        format_value(Metric::ErrorRate, Some(l.max_error_rate)),
        l.max_regression * 100.0
    )
}

/// The verdict column of the terminal table: `REGRESSED: why`, `noise: why`, ….
fn verdict_cell(m: &MetricDelta) -> String {
    match (m.verdict, m.reason.is_empty()) {
        (Verdict::Within, _) => String::new(),
        (v, true) => v.label().to_string(),
        (v, false) => format!("{}: {}", v.label(), m.reason),
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
                    verdict_cell(m),
                ]
            })
        })
        .collect();
    let head = ["step", "metric", "baseline", "current", "change", "verdict"];
    let mut w = head.map(|h| h.chars().count());
    for r in &rows {
        for (i, v) in r.iter().enumerate() {
            w[i] = w[i].max(v.chars().count());
        }
    }
    let mut out = format!("baseline {} → current {}\n", c.baseline, c.current);
    if let Some(why) = &c.forced {
        let _ = writeln!(out, "forced (--force): {why}");
    }
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
    let _ = writeln!(out, "{}", rules(c));
    let _ = writeln!(out, "{}", summary(c));
    out
}

/// Markdown and HTML cells: the transition and a mark for anything but "within".
fn mark(m: &MetricDelta) -> &'static str {
    match m.verdict {
        Verdict::Within => "",
        Verdict::Noise => " (noise)",
        Verdict::NotJudged => " (not judged)",
        Verdict::Regressed => " ❌",
    }
}

/// A Markdown section: the verdict, what regressed, and one row per step with every metric.
pub fn markdown(c: &Comparison) -> String {
    let mut md = format!(
        "## {} Comparison with the baseline\n\n{}\n\n",
        if c.passed() { "✅" } else { "❌" },
        cell(&summary(c))
    );
    if let Some(why) = &c.forced {
        let _ = writeln!(md, "Compared with `--force`: {}\n", cell(why));
    }
    for r in c.regressions() {
        let _ = writeln!(md, "- ❌ {}", cell(&r));
    }
    for r in c.lines(Verdict::Noise) {
        let _ = writeln!(md, "- noise: {}", cell(&r));
    }
    let _ = writeln!(md, "\n{}", cell(&rules(c)));
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
            let _ = write!(md, " {}{} |", transition(m), mark(m));
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
    if let Some(why) = &c.forced {
        let _ = write!(
            h,
            "<section><p>Compared with --force: {}</p></section>",
            escape(why)
        );
    }
    for (title, verdict, class) in [
        ("Regressions", Verdict::Regressed, "regression"),
        ("Counted as noise", Verdict::Noise, "noise"),
    ] {
        let lines = c.lines(verdict);
        if !lines.is_empty() {
            let _ = write!(h, "<section><h2>{title}</h2><ul>");
            for r in lines {
                let _ = write!(h, "<li class=\"{class}\">{}</li>", escape(&r));
            }
            h.push_str("</ul></section>");
        }
    }
    let _ = write!(h, "<section><p>{}</p></section>", escape(&rules(c)));
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
            let class = if m.regressed() { "num ko" } else { "num" };
            let _ = write!(
                h,
                "<td class=\"{class}\" title=\"{}\">{}{}</td>",
                escape(&verdict_cell(m)),
                escape(&transition(m)),
                escape(mark(m))
            );
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
    use crate::report::Bucket;

    #[test]
    fn every_form_names_the_regression_and_the_noise_with_why() {
        let mut base = sample_report();
        base.steps[0].histogram = vec![Bucket {
            le_ms: 120.0,
            count: 6000,
        }];
        let mut cur = base.clone();
        if let Some(l) = base.steps[0].latency_ms.as_mut() {
            l.p50 = 1.0;
        }
        if let Some(l) = cur.steps[0].latency_ms.as_mut() {
            l.p99 = 400.0;
            // +60 %, but +600µs, under half the spread: noise.
            l.p50 = 1.6;
        }
        let c = compare(&base, &cur, Limits::default());
        let t = text(&c);
        // The p99, and the error rates of the failing step and of all requests.
        assert!(
            t.contains("REGRESSED: 3 metric(s) beyond the limits, 1 change counted as noise"),
            "{t}"
        );
        assert!(
            t.lines().any(|l| l.starts_with("create ")
                && l.contains("p99")
                && l.contains("+233%")
                && l.contains("REGRESSED: +233% > +50%, +280ms > floor")),
            "{t}"
        );
        assert!(t.contains("not judged: 1 sample < 10"), "{t}");
        assert!(
            t.contains("at least 10 samples (p50), 100 (p95) or 5000 (p99)"),
            "{t}"
        );
        let md = markdown(&c);
        assert!(md.contains("| 120ms → 400ms (+233%) ❌ |"), "{md}");
        // Markdown cells escape `>` (the report's `cell` rule).
        assert!(
            md.contains("- ❌ p99 of \"create\": 120ms → 400ms (+233%): +233% &gt; +50%"),
            "{md}"
        );
        let page = html(&c);
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(page.contains("<h2>Regressions</h2>"), "{page}");
        assert!(
            t.contains("noise: +60% > +50%, +600µs ≤ floor 59.5ms"),
            "{t}"
        );
        let noise = "p50 of \"create\": 1ms → 1.6ms (+60%): +60% &gt; +50%, +600µs ≤ floor 59.5ms";
        assert!(md.contains(&format!("- noise: {noise}")), "{md}");
        assert!(page.contains("<h2>Counted as noise</h2>"), "{page}");
    }
}
