//! The HTML report: one self-contained file (inline CSS and SVG; no script, no font, no link
//! to anything outside the file), so it opens from a CI artifact with no server and no network.
//!
//! Every value taken from the report goes through [`escape`] on its way into the page; the
//! report's strings come from scenario files and from responses of the system under test, so
//! they are untrusted. The output depends only on the report and [`HtmlContext`], so
//! re-rendering a saved report gives the same bytes.

use std::fmt::Write;

use super::chart::{self, Line};
use super::{latency_cells, E2eReport, FailureReport, FaultReport, LoadReport, Report, StepKind};

/// What the page shows besides the report itself.
#[derive(Debug, Clone, Default)]
pub struct HtmlContext {
    /// The commit of the system under test's build, when known.
    pub git_commit: Option<String>,
}

pub use super::text::escape;

pub(crate) const STYLE: &str = include_str!("html.css");

/// Renders the whole page.
pub fn render(report: &Report, ctx: &HtmlContext) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{} — harness report</title><style>{STYLE}</style></head><body><main>",
        escape(&report.scenario)
    );
    banner(&mut h, report);
    metadata(&mut h, report, ctx);
    thresholds(&mut h, report);
    steps(&mut h, report);
    charts(&mut h, report);
    if let Some(e2e) = &report.e2e {
        e2e_section(&mut h, e2e, &super::missing_replies(report));
    }
    if let Some(load) = &report.load {
        load_section(&mut h, load);
    }
    for line in super::delivery_lines(report) {
        let _ = write!(h, "<p class=\"delivery\">{}</p>", escape(&line));
    }
    if let Some(w) = &report.watch {
        h.push_str("<section><h2>Watch</h2>");
        h.push_str(&super::watch::timeline_svg(w, report.duration_s));
        for line in super::watch::summary_lines(w) {
            let _ = write!(h, "<p class=\"delivery\">{}</p>", escape(&line));
        }
        h.push_str("</section>");
    }
    if !report.faults.is_empty() {
        h.push_str("<section><h2>Injected faults</h2><dl class=\"meta\">");
        for (k, v) in &FaultReport::rows(&report.faults) {
            let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
        }
        h.push_str("</dl></section>");
    }
    failures(&mut h, report);
    let _ = writeln!(
        h,
        "<footer>harness {} · schema {}</footer></main></body></html>",
        escape(&report.harness_version),
        report.schema_version
    );
    h
}

/// `PASSED`, `FAILED` or `INTERRUPTED`.
pub fn verdict(report: &Report) -> &'static str {
    match (report.passed, report.interrupted) {
        (_, true) => "INTERRUPTED",
        (true, _) => "PASSED",
        (false, _) => "FAILED",
    }
}

fn banner(h: &mut String, r: &Report) {
    let class = if r.passed { "pass" } else { "fail" };
    let th_passed = r.thresholds.iter().filter(|t| t.passed).count();
    let _ = write!(
        h,
        "<header class=\"banner {class}\"><div class=\"verdict\">{}</div><div><h1>{}</h1>\
         <p>steps {} · {}/{} checks · {th_passed}/{} thresholds passed · {} requests, {}</p></div></header>",
        verdict(r),
        escape(&r.scenario),
        r.totals.steps_line(),
        r.totals.checks_passed,
        r.totals.checks_passed + r.totals.checks_failed,
        r.thresholds.len(),
        r.totals.requests,
        escape(&super::error_rate_line(&r.totals))
    );
}

fn metadata(h: &mut String, r: &Report, ctx: &HtmlContext) {
    let t = &r.target;
    let target = [
        Some(t.name.as_str()),
        t.provider.as_deref(),
        t.provider_mode.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    let mut rows: Vec<(&str, String)> = vec![("Scenario", r.scenario.clone())];
    if let Some(d) = &r.description {
        rows.push(("Description", d.clone()));
    }
    rows.push(("File", r.file.clone()));
    rows.push(("Target", target));
    if let Some(u) = &t.app_url {
        rows.push(("App", u.clone()));
    }
    if let Some(u) = &t.provider_url {
        rows.push(("Provider", u.clone()));
    }
    rows.push(("Started", r.started_at.clone()));
    if r.interrupted {
        rows.push((
            "Interrupted",
            "yes: stopped by Ctrl-C, later steps did not run".into(),
        ));
    }
    rows.push(("Duration", format!("{:.2}s", r.duration_s)));
    rows.push(("Harness", r.harness_version.clone()));
    if let Some(c) = &ctx.git_commit {
        rows.push(("Commit", c.clone()));
    }
    h.push_str("<section><h2>Run</h2><dl class=\"meta\">");
    for (k, v) in rows {
        let _ = write!(h, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    }
    h.push_str("</dl></section>");
}

fn mark(passed: bool) -> &'static str {
    if passed {
        "<span class=\"ok\">✓<span class=\"word\"> pass</span></span>"
    } else {
        "<span class=\"ko\">✗<span class=\"word\"> fail</span></span>"
    }
}

fn thresholds(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Thresholds</h2>");
    if r.thresholds.is_empty() {
        h.push_str("<p class=\"muted\">No thresholds declared.</p></section>");
        return;
    }
    h.push_str(
        "<div class=\"scroll\"><table><thead><tr><th>Scope</th><th>Threshold</th>\
         <th>Observed</th><th>Result</th></tr></thead><tbody>",
    );
    for t in &r.thresholds {
        let _ = write!(
            h,
            "<tr><td>{}</td><td><code>{} {}</code></td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(t.step.as_deref().unwrap_or("scenario")),
            escape(&t.metric),
            escape(&t.condition),
            escape(&t.observed_display),
            mark(t.passed)
        );
    }
    h.push_str("</tbody></table></div></section>");
}

fn steps(h: &mut String, r: &Report) {
    h.push_str(
        "<section><h2>Steps</h2><div class=\"scroll\"><table><thead><tr><th>Step</th>\
         <th class=\"num opt\">Req</th><th class=\"num\">Failed</th><th class=\"num\">p50</th>\
         <th class=\"num\">p95</th><th class=\"num opt\">p99</th><th class=\"num opt\">max</th>\
         <th>Result</th></tr></thead><tbody>",
    );
    for s in &r.steps {
        if s.skipped {
            let _ = write!(
                h,
                "<tr class=\"skipped\"><td>{} <span class=\"muted opt\">:{}</span></td>\
                 <td colspan=\"6\" class=\"muted\">skipped: another provider's step</td><td>–</td></tr>",
                escape(&s.name),
                s.line
            );
            continue;
        }
        let [p50, p95, p99, max] = latency_cells(s.latency_ms);
        let _ = write!(
            h,
            "<tr><td>{} <span class=\"muted opt\">:{}</span></td><td class=\"num opt\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num opt\">{}</td><td class=\"num opt\">{}</td><td>{}</td></tr>",
            escape(&s.name),
            s.line,
            s.requests,
            s.failures,
            p50,
            p95,
            p99,
            max,
            mark(s.passed)
        );
    }
    h.push_str("</tbody></table></div></section>");
}

fn charts(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Latency per step</h2><div class=\"charts\">");
    for s in r.steps.iter().filter(|s| !s.skipped) {
        let caption = if s.kind == StepKind::Await {
            format!("{} (end to end)", s.name)
        } else {
            s.name.clone()
        };
        let _ = write!(
            h,
            "<figure><figcaption>{}</figcaption>{}</figure>",
            escape(&caption),
            chart::histogram(
                &format!("{} latency", s.name),
                &s.histogram,
                s.latency_ms.as_ref()
            )
        );
    }
    h.push_str("</div></section>");
}

fn e2e_section(h: &mut String, e: &E2eReport, missing: &str) {
    let [p50, p95, p99, max] = latency_cells(e.latency_ms);
    let _ = write!(
        h,
        "<section><h2>End to end</h2><p>{} awaited replies, {} failed{} · p50 {} · p95 {} · p99 {} · max {}</p>\
         <div class=\"charts\"><figure><figcaption>inbound message → reply</figcaption>{}</figure></div></section>",
        e.count,
        e.failures,
        escape(missing),
        p50,
        p95,
        p99,
        max,
        chart::histogram("end-to-end latency", &e.histogram, e.latency_ms.as_ref())
    );
}

fn load_section(h: &mut String, l: &LoadReport) {
    let target = l
        .target_rps
        .map_or_else(|| "—".to_string(), |v| format!("{v:.1}"));
    let _ = write!(
        h,
        "<section><h2>Load</h2><dl class=\"meta\"><dt>Target rate</dt><dd>{target} iterations/s</dd>\
         <dt>Achieved rate</dt><dd>{:.1} iterations/s</dd><dt>Iterations</dt><dd>{}</dd><dt>Dropped</dt><dd>{}</dd></dl>",
        l.achieved_rps, l.iterations, l.dropped
    );
    if !l.time_series.is_empty() {
        let x: Vec<f64> = l.time_series.iter().map(|p| p.t_s as f64).collect();
        let col = |f: fn(&super::SecondReport) -> f64| -> Vec<f64> {
            l.time_series.iter().map(f).collect()
        };
        let iterations = col(|p| p.iterations as f64);
        let requests = col(|p| p.requests as f64);
        let p50 = col(|p| p.p50_ms.unwrap_or(f64::NAN));
        let p95 = col(|p| p.p95_ms.unwrap_or(f64::NAN));
        let p99 = col(|p| p.p99_ms.unwrap_or(f64::NAN));
        let errors = col(|p| p.errors as f64);
        let in_flight = col(|p| p.in_flight as f64);
        let line = |name, values| Line { name, values };
        let figures = [
            (
                "completed per second",
                "",
                vec![line("requests", &requests), line("iterations", &iterations)],
            ),
            (
                "iteration latency from the intended start",
                "ms",
                vec![line("p50", &p50), line("p95", &p95), line("p99", &p99)],
            ),
            (
                "failed iterations per second",
                "",
                vec![line("errors", &errors)],
            ),
            (
                "iterations in flight",
                "",
                vec![line("in flight", &in_flight)],
            ),
        ];
        h.push_str("<div class=\"charts\">");
        for (title, unit, series) in figures {
            let _ = write!(
                h,
                "<figure><figcaption>{title}</figcaption>{}</figure>",
                chart::lines(title, unit, &x, &series)
            );
        }
        h.push_str("</div>");
    }
    h.push_str("</section>");
}

fn failures(h: &mut String, r: &Report) {
    h.push_str("<section><h2>Failures</h2>");
    if r.failures.is_empty() {
        h.push_str("<p class=\"muted\">None.</p></section>");
        return;
    }
    for f in &r.failures {
        failure(h, r, f);
    }
    h.push_str("</section>");
}

fn failure(h: &mut String, r: &Report, f: &FailureReport) {
    let _ = write!(
        h,
        "<article class=\"failure\"><h3>{} <span class=\"muted\">{}:{} · {}</span></h3><p>{}</p>",
        escape(&f.step),
        escape(&r.file),
        f.line,
        escape(&f.kind),
        escape(&f.message)
    );
    if let Some(c) = r
        .checks
        .iter()
        .find(|c| !c.passed && c.step == f.step && c.line == f.line)
    {
        let _ = write!(
            h,
            "<dl class=\"meta\"><dt>Expected</dt><dd><code>{}</code></dd><dt>Observed</dt><dd><code>{}</code></dd></dl>",
            escape(&c.expected),
            escape(&c.observed)
        );
    }
    if let Some(q) = &f.request {
        let mut text = format!("{} {}\n", q.method, q.url);
        for (k, v) in &q.headers {
            let _ = writeln!(text, "{k}: {v}");
        }
        if let Some(b) = &q.body {
            let _ = write!(text, "\n{b}");
        }
        let _ = write!(
            h,
            "<details open=\"open\"><summary>Request</summary><pre>{}</pre></details>",
            escape(&text)
        );
    }
    if let Some(p) = &f.response {
        let mut text = format!("HTTP {}\n", p.status);
        for (k, v) in &p.headers {
            let _ = writeln!(text, "{k}: {v}");
        }
        let _ = write!(text, "\n{}", p.body);
        let _ = write!(
            h,
            "<details open=\"open\"><summary>Response</summary><pre>{}</pre></details>",
            escape(&text)
        );
    }
    h.push_str("</article>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn page_is_well_formed_escaped_and_has_one_chart_per_step() {
        let report = sample_report();
        let page = render(&report, &HtmlContext::default());
        if let Err(e) = oxml::parse(&page) {
            panic!("not well-formed: {e}\n{page}");
        }
        assert!(!page.contains("<script"), "unescaped step name");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert_eq!(page.matches("<svg").count(), report.steps.len());
        assert!(page.contains(">FAILED<"));
        assert!(page.contains("error_rate &lt; 1%"));
        assert!(page.contains(">33.3%<"));
    }

    #[test]
    fn skipped_steps_have_a_row_and_no_chart() {
        let mut report = sample_report();
        report.steps[0].skipped = true;
        let page = render(&report, &HtmlContext::default());
        assert!(page.contains("skipped: another provider's step"));
        assert_eq!(page.matches("<svg").count(), report.steps.len() - 1);
    }

    #[test]
    fn e2e_load_and_faults_appear_when_present() {
        let mut report = sample_report();
        report.e2e = Some(E2eReport {
            count: 2,
            failures: 0,
            missing: 0,
            latency_ms: None,
            histogram: vec![super::super::Bucket {
                le_ms: 819.199,
                count: 2,
            }],
        });
        let second = |t_s, iterations, errors| super::super::SecondReport {
            t_s,
            iterations,
            requests: 2 * iterations,
            errors,
            p50_ms: Some(2.0),
            p95_ms: Some(3.0),
            p99_ms: Some(4.0),
            e2e_p95_ms: None,
            in_flight: 1,
        };
        report.load = Some(LoadReport {
            target_rps: Some(10.0),
            time_series: vec![second(0, 9, 0), second(1, 10, 1)],
            ..crate::report::output::sample_load()
        });
        let mut rule = serde_json::Map::new();
        rule.insert("delay_ms".into(), 200.into());
        report.faults = vec![FaultReport {
            set_at: "2026-11-22T10:15:01Z".into(),
            profile: super::super::FaultProfileReport { rules: vec![rule] },
        }];
        let ctx = HtmlContext {
            git_commit: Some("abc123".into()),
        };
        let page = render(&report, &ctx);
        assert!(oxml::parse(&page).is_ok());
        assert!(page.contains("End to end") && page.contains("Injected faults"));
        assert!(page.contains("{&quot;delay_ms&quot;:200}"));
        assert!(page.contains("abc123"));
        // Requests and iterations, labelled as what they are.
        assert!(page.contains("completed per second"));
        assert!(page.contains(">requests<") && page.contains(">iterations<"));
        // One chart per step, one for e2e, four time series.
        assert_eq!(page.matches("<svg").count(), report.steps.len() + 1 + 4);
        assert_eq!(page.matches("<polyline").count(), 7);
    }
}
