//! The Markdown summary: verdict, thresholds and steps, for a CI job's summary page
//! (`$GITHUB_STEP_SUMMARY`) or a merge-request comment. GitHub-flavoured tables; every value
//! passes through [`cell`] so a `|` or a newline in a step name cannot break the table (and
//! no value sits in a code span, where GitHub would show `&lt;` literally).

use std::fmt::Write;

use super::html::verdict;
use super::latency_cells;
use super::Report;

/// Makes `s` safe inside a table cell: pipes escaped, line breaks flattened, HTML neutralised
/// (GitHub renders inline HTML in Markdown).
pub fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn mark(passed: bool) -> &'static str {
    if passed {
        "✅"
    } else {
        "❌"
    }
}

/// Renders the summary of `report`.
pub fn render(report: &Report) -> String {
    let r = report;
    let mut md = String::new();
    let icon = mark(r.passed);
    let _ = writeln!(md, "## {icon} {} — {}\n", cell(&r.scenario), verdict(r));
    let _ = writeln!(
        md,
        "steps {} · {}/{} checks · {}/{} thresholds passed · {} requests · {} · {:.2}s · target {}\n",
        r.totals.steps_line(),
        r.totals.checks_passed,
        r.totals.checks_passed + r.totals.checks_failed,
        r.thresholds.iter().filter(|t| t.passed).count(),
        r.thresholds.len(),
        r.totals.requests,
        super::error_rate_line(&r.totals),
        r.duration_s,
        cell(&r.target.name)
    );
    thresholds(&mut md, r);
    steps(&mut md, r);
    if let Some(e) = &r.e2e {
        let [p50, p95, p99, _] = latency_cells(e.latency_ms);
        let _ = writeln!(
            md,
            "\n**End to end:** {} awaited replies, {} failed{} · p50 {} · p95 {} · p99 {}",
            e.count,
            e.failures,
            cell(&super::missing_replies(r)),
            p50,
            p95,
            p99
        );
    }
    for line in super::delivery_lines(r) {
        let _ = writeln!(md, "\n{}", cell(&line));
    }
    for line in r.watch.iter().flat_map(super::watch::summary_lines) {
        let _ = writeln!(md, "\n{}", cell(&line));
    }
    if !r.failures.is_empty() {
        md.push_str("\n### Failures\n\n");
        for f in &r.failures {
            let _ = writeln!(
                md,
                "- **{}** ({}:{}): {}",
                cell(&f.step),
                cell(&r.file),
                f.line,
                cell(&f.message)
            );
        }
    }
    md
}

fn thresholds(md: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    md.push_str("### Thresholds\n\n| | scope | threshold | observed |\n|---|---|---|---|\n");
    for t in &r.thresholds {
        let _ = writeln!(
            md,
            "| {} | {} | {} {} | {} |",
            mark(t.passed),
            cell(t.step.as_deref().unwrap_or("scenario")),
            cell(&t.metric),
            cell(&t.condition),
            cell(&t.observed_display)
        );
    }
    md.push('\n');
}

fn steps(md: &mut String, r: &Report) {
    md.push_str(
        "### Steps\n\n| | step | requests | failed | p50 | p95 | p99 |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for s in &r.steps {
        if s.skipped {
            let _ = writeln!(md, "| ⏭️ | {} | skipped | | | | |", cell(&s.name));
            continue;
        }
        let [p50, p95, p99, _] = latency_cells(s.latency_ms);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            mark(s.passed),
            cell(&s.name),
            s.requests,
            s.failures,
            p50,
            p95,
            p99
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::output::sample_report;

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<i>"), "a\\|b c&lt;i&gt;");
    }

    #[test]
    fn snapshot_of_a_failed_run() {
        let expected = "\
## ❌ booking &lt;script&gt; — FAILED

steps 1 passed / 1 failed · 1/2 checks · 1/2 thresholds passed · 3 requests · error rate 100.0 % (1 of 1 iteration failed) · 1.50s · target embedded

### Thresholds

| | scope | threshold | observed |
|---|---|---|---|
| ✅ | create | p95 &lt; 500ms | 120ms |
| ❌ | scenario | error_rate &lt; 1% | 33.3% |

### Steps

| | step | requests | failed | p50 | p95 | p99 |
|---|---|---:|---:|---:|---:|---:|
| ✅ | create | 2 | 0 | 100ms | 120ms | 120ms |
| ❌ | &lt;script&gt;alert(1)&lt;/script&gt; \\| book | 1 | 1 | 40ms | 40ms | 40ms |

### Failures

- **&lt;script&gt;alert(1)&lt;/script&gt; \\| book** (scenarios/booking.yaml:20): status equals 201: expected equals 201, got 500
";
        assert_eq!(render(&sample_report()), expected);
    }
}
