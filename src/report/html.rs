//! The HTML report: one self-contained file (inline CSS and SVG; no script, no font, no link
//! to anything outside the file), so it opens from a CI artifact with no server and no network.
//! It reads top down: verdict, thresholds, failures, conversations, steps, then the charts
//! (`html_charts`) and the run's metadata.
//!
//! Every value taken from the report goes through [`escape`] on its way into the page; the
//! report's strings come from scenario files and from responses of the system under test, so
//! they are untrusted. The output depends only on the report and [`HtmlContext`], so
//! re-rendering a saved report gives the same bytes.

use std::fmt::Write;

use super::transcript::{MessageReport, TranscriptReport};
use super::{chat, html_charts, latency_cells, FailureReport, FaultReport, Report};

/// What the page shows besides the report itself.
#[derive(Debug, Clone, Default)]
pub struct HtmlContext {
    /// The commit of the system under test's build, when known.
    pub git_commit: Option<String>,
}

pub use super::text::escape;

pub(crate) const STYLE: &str = include_str!("html.css");

/// Renders the whole page, ordered for a reader: the verdict and the thresholds, the failures
/// (with the conversation so far), the conversations, the step table, then the figures.
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
    for line in super::delivery_lines(report) {
        let _ = write!(h, "<p class=\"delivery\">{}</p>", escape(&line));
    }
    thresholds(&mut h, report);
    let shown = failures(&mut h, report);
    // A run's conversation is what to read next; a load's kept ones come after its steps.
    if report.load.is_none() {
        conversations(&mut h, report, shown);
    }
    steps(&mut h, report);
    if report.load.is_some() {
        conversations(&mut h, report, shown);
    }
    if let Some(w) = &report.watch {
        h.push_str("<section><h2>Watch</h2>");
        h.push_str(&super::watch::timeline_svg(w, report.duration_s));
        if !w.latency.is_empty() {
            let _ = write!(
                h,
                "<div class=\"charts\"><figure><figcaption>latency over time</figcaption>{}</figure></div>",
                super::watch::latency_svg(w)
            );
        }
        for line in super::watch::summary_lines(w) {
            let _ = write!(h, "<p class=\"delivery\">{}</p>", escape(&line));
        }
        h.push_str("</section>");
    }
    if let Some(load) = &report.load {
        html_charts::load_section(&mut h, report, load);
    }
    if let Some(e2e) = &report.e2e {
        html_charts::e2e_section(&mut h, report, e2e);
    }
    html_charts::steps(&mut h, report);
    if !report.faults.is_empty() {
        h.push_str("<section><h2>Injected faults</h2><dl class=\"meta\">");
        for (k, v) in &FaultReport::rows(&report.faults) {
            let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", escape(k), escape(v));
        }
        h.push_str("</dl></section>");
    }
    metadata(&mut h, report, ctx);
    let _ = writeln!(
        h,
        "<footer>harness {} · schema {}</footer></main></body></html>",
        escape(&report.harness_version),
        report.schema_version
    );
    h
}

/// The conversations not already shown whole with a failure: the run's, or under load the
/// kept iterations'.
fn conversations(h: &mut String, r: &Report, shown_with_failure: bool) {
    let rest: Vec<&TranscriptReport> = r
        .transcripts
        .iter()
        .filter(|t| !(shown_with_failure && t.kept_as.is_none()))
        .collect();
    if rest.is_empty() {
        return;
    }
    let title = if r.load.is_some() {
        "Conversations: the failed and the slowest iterations"
    } else {
        "Conversation"
    };
    let one = if rest.len() == 1 { " one" } else { "" };
    let _ = write!(h, "<section><h2>{title}</h2><div class=\"chats{one}\">");
    for t in rest {
        let caption = chat::caption(t);
        h.push_str("<figure class=\"conversation\">");
        if caption.is_empty() {
            h.push_str(&chat::html(&t.messages));
        } else {
            // Kept under load: the failed ones open, the slowest folded.
            let open = if t.passed { "" } else { " open=\"open\"" };
            let _ = write!(
                h,
                "<details{open}><summary><figcaption>{}</figcaption></summary>{}</details>",
                escape(&caption),
                chat::html(&t.messages)
            );
        }
        h.push_str("</figure>");
    }
    h.push_str("</div></section>");
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
    let failures = match r.failures.len() {
        0 => String::new(),
        1 => " · <a href=\"#failures\">1 failure</a>".into(),
        n => format!(" · <a href=\"#failures\">{n} failures</a>"),
    };
    let requests = if r.totals.requests == 1 {
        "request"
    } else {
        "requests"
    };
    let _ = write!(
        h,
        "<header class=\"banner {class}\"><div class=\"verdict\">{}</div><div><h1>{}</h1>\
         <p>steps {} · {}/{} checks · {th_passed}/{} thresholds passed · {} {requests}, {}{failures}</p></div></header>",
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
        "<div class=\"scroll\"><table><thead><tr><th>Result</th><th>Scope</th><th>Threshold</th>\
         <th class=\"num\">Observed</th></tr></thead><tbody>",
    );
    for t in &r.thresholds {
        let class = if t.passed { "" } else { " class=\"failed\"" };
        let _ = write!(
            h,
            "<tr{class}><td>{}</td><td>{}</td><td><code>{} {}</code></td><td class=\"num\">{}</td></tr>",
            mark(t.passed),
            escape(t.step.as_deref().unwrap_or("scenario")),
            escape(&t.metric),
            escape(&t.condition),
            escape(&t.observed_display),
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
        let class = if s.passed { "" } else { " class=\"failed\"" };
        let _ = write!(
            h,
            "<tr{class}><td>{} <span class=\"muted opt\">:{}</span></td><td class=\"num opt\">{}</td>\
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

/// The failures; whether one of them showed the run's conversation (up to its failure).
fn failures(h: &mut String, r: &Report) -> bool {
    if r.failures.is_empty() {
        return false;
    }
    h.push_str("<section class=\"failures\" id=\"failures\"><h2>Failures</h2>");
    let mut shown = false;
    for f in &r.failures {
        shown |= failure(h, r, f);
    }
    h.push_str("</section>");
    shown
}

/// The conversation of a functional run up to the failed step's message (inclusive), when
/// the failed step is an `inject` or `await`.
fn conversation_so_far<'a>(r: &'a Report, f: &FailureReport) -> Option<&'a [MessageReport]> {
    let t = r.transcripts.iter().find(|t| t.kept_as.is_none())?;
    let end = t
        .messages
        .iter()
        .position(|m| m.step == f.step && m.failure.is_some())?;
    Some(&t.messages[..=end])
}

/// One failure; whether it showed the conversation so far.
fn failure(h: &mut String, r: &Report, f: &FailureReport) -> bool {
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
    let so_far = conversation_so_far(r, f);
    if let Some(messages) = so_far {
        let _ = write!(
            h,
            "<details open=\"open\" class=\"so-far\"><summary>Conversation so far</summary>{}</details>",
            chat::html(messages)
        );
    }
    h.push_str("</article>");
    so_far.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;
    use crate::report::{E2eReport, LoadReport, SecondReport};

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
        // The two-sample step gets a histogram, the one-sample step a bar.
        assert_eq!(page.matches("<svg").count(), 1);
        assert_eq!(page.matches("class=\"bar-row").count(), 1);
        // The failed step's row and the failed threshold's.
        assert_eq!(page.matches("<tr class=\"failed\">").count(), 2);
        assert!(page.contains("<a href=\"#failures\">1 failure</a>"));
        assert!(page.contains(">FAILED<"));
        assert!(page.contains("error_rate &lt; 1%"));
        assert!(page.contains(">33.3%<"));
        // Ordered for a reader: verdict, thresholds, failures, steps, then the figures.
        let at = |s: &str| page.find(s).unwrap_or_else(|| panic!("{s} missing"));
        assert!(at("class=\"verdict\"") < at("<h2>Thresholds</h2>"));
        assert!(at("<h2>Thresholds</h2>") < at("<h2>Failures</h2>"));
        assert!(at("<h2>Failures</h2>") < at("<h2>Steps</h2>"));
        assert!(at("<h2>Steps</h2>") < at("<h2>Latency per step</h2>"));
    }

    #[test]
    fn skipped_steps_have_a_row_and_no_chart() {
        let mut report = sample_report();
        report.steps[0].skipped = true;
        let page = render(&report, &HtmlContext::default());
        assert!(page.contains("skipped: another provider's step"));
        assert_eq!(page.matches("<svg").count(), 0);
        assert_eq!(page.matches("class=\"bar-row").count(), 1);
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
        // 50 iterations/s of 2 requests each.
        let second = |t_s, failed_started| SecondReport {
            iterations: 50,
            requests: 100,
            started: 50,
            failed_started,
            p50_ms: Some(2.0),
            p95_ms: Some(3.0),
            p99_ms: Some(4.0),
            service_p95_ms: Some(2.5),
            in_flight: 1,
            ..SecondReport::empty(t_s)
        };
        report.load = Some(LoadReport {
            target_rps: Some(50.0),
            time_series: vec![second(0, 0), second(1, 1)],
            ..crate::report::output::sample_load()
        });
        let mut p95 = report.thresholds[0].clone();
        (p95.step, p95.expr, p95.limit) = (None, "p95 < 5ms".into(), Some(5.0));
        report.thresholds.push(p95);
        let mut rule = serde_json::Map::new();
        rule.insert("delay_ms".into(), 200.into());
        report.faults = vec![FaultReport {
            service: None,
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
        // Requests and iterations, labelled as what they are: 100 requests/s, 50 iterations/s.
        let throughput = &page[page.find("throughput: completed per second").unwrap()..];
        let throughput = &throughput[..throughput.find("</svg>").unwrap()];
        assert!(throughput.contains(">requests/s<") && throughput.contains(">iterations/s<"));
        assert!(throughput.contains(">100<"), "{throughput}");
        // One histogram (the two-sample step), one for e2e, five time series.
        assert_eq!(page.matches("<svg").count(), 1 + 1 + 5);
        assert_eq!(page.matches("<polyline").count(), 10);
        // The scenario's p95 threshold on both load latency charts, the step's on its histogram.
        assert_eq!(page.matches("<line class=\"limit\"").count(), 3);
    }
}
