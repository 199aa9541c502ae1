//! The terminal summary: one line per step, the failed checks under their step, the
//! thresholds with observed values, and the verdict. Colour only when asked for.

use std::fmt::Write;

use super::StepKind;
use super::{Report, StepReport};
use crate::thresholds::format_ms;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// List passed checks too, not only failures.
    pub verbose: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    fn mark(&self, passed: bool) -> String {
        if passed {
            self.green("✓")
        } else {
            self.red("✗")
        }
    }
}

/// Whether to colour standard output: a terminal, and `NO_COLOR` unset.
pub fn color_for_stdout() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// Renders the summary of `report`.
pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let file = &report.file;
    let _ = writeln!(
        out,
        "{} {}",
        style.bold(&report.scenario),
        style.dim(&format!("({file})"))
    );
    let width = report
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(44);
    for step in &report.steps {
        step_lines(&mut out, report, step, style, width);
    }
    e2e_line(&mut out, report, style);
    conversations(&mut out, report, style);
    thresholds(&mut out, report, style);
    verdict_line(&mut out, report, style);
    out
}

fn step_lines(out: &mut String, report: &Report, step: &StepReport, style: Style, width: usize) {
    let file = &report.file;
    if step.skipped {
        let _ = writeln!(
            out,
            "  {} {:<width$}  {}",
            style.dim("-"),
            step.name,
            style.dim("skipped (another provider's step)")
        );
        return;
    }
    let latency = step.latency_ms.map_or_else(String::new, |l| {
        format!(
            "p50 {:>8}  p95 {:>8}  p99 {:>8}",
            format_ms(l.p50),
            format_ms(l.p95),
            format_ms(l.p99)
        )
    });
    let failures = if step.failures > 0 {
        style.red(&format!("  {} failed", step.failures))
    } else {
        String::new()
    };
    let unit = match step.kind {
        StepKind::Await => "e2e",
        StepKind::Call => "hop",
        _ => "req",
    };
    let _ = writeln!(
        out,
        "  {} {:<width$}  {:>4} {unit}  {}{}",
        style.mark(step.passed),
        step.name,
        step.requests,
        latency,
        failures
    );
    if style.verbose {
        for c in report
            .checks
            .iter()
            .filter(|c| c.step == step.name && c.passed)
        {
            let _ = writeln!(out, "      {} {}", style.green("✓"), c.name);
        }
    }
    for f in report.failures.iter().filter(|f| f.step == step.name) {
        let _ = writeln!(
            out,
            "      {} {} {}",
            style.red("✗"),
            f.message,
            style.dim(&format!("({file}:{})", f.line))
        );
    }
}

/// The conversations, condensed: a failed one always (up to its failure, which is what to
/// read first), the others with `-v`.
fn conversations(out: &mut String, report: &Report, style: Style) {
    for t in &report.transcripts {
        if t.passed && !style.verbose {
            continue;
        }
        let end = t
            .messages
            .iter()
            .position(|m| m.failure.is_some())
            .map_or(t.messages.len(), |i| i + 1);
        let shown = super::transcript::TranscriptReport {
            messages: t.messages[..end].to_vec(),
            ..t.clone()
        };
        let caption = super::chat::caption(t);
        let title = if caption.is_empty() {
            "conversation".to_string()
        } else {
            format!("conversation ({caption})")
        };
        let _ = writeln!(out, "{}", style.bold(&title));
        for line in super::chat::lines(&shown) {
            let line = if line.starts_with('✗') {
                style.red(&line)
            } else {
                line
            };
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn e2e_line(out: &mut String, report: &Report, style: Style) {
    if let Some(e2e) = &report.e2e {
        let latency = e2e.latency_ms.map_or_else(String::new, |l| {
            format!(
                "p50 {}  p95 {}  p99 {}  max {}",
                format_ms(l.p50),
                format_ms(l.p95),
                format_ms(l.p99),
                format_ms(l.max)
            )
        });
        let missing = match (e2e.failures, e2e.missing) {
            (0, _) => String::new(),
            (f, 0) => style.red(&format!("  {f} failed")),
            (f, m) => style.red(&format!("  {f} failed ({m} never answered)")),
        };
        let _ = writeln!(
            out,
            "{} {} awaited  {latency}{missing}",
            style.bold("end to end"),
            e2e.count
        );
    }
}

fn thresholds(out: &mut String, report: &Report, style: Style) {
    let file = &report.file;
    if !report.thresholds.is_empty() {
        let _ = writeln!(out, "{}", style.bold("thresholds"));
        for t in &report.thresholds {
            let scope = t
                .step
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default();
            // Line 0: a built-in check (the delivery check's default or flag limit).
            let at = if t.passed || t.line == 0 {
                String::new()
            } else {
                style.dim(&format!("  ({file}:{})", t.line))
            };
            let _ = writeln!(
                out,
                "  {} {scope}{} {}  observed {}{at}",
                style.mark(t.passed),
                t.metric,
                t.condition,
                t.observed_display
            );
        }
    }
}

fn verdict_line(out: &mut String, report: &Report, style: Style) {
    let thresholds_passed = report.thresholds.iter().filter(|t| t.passed).count();
    let verdict = match (report.passed, report.interrupted) {
        (_, true) => style.red("INTERRUPTED"),
        (true, _) => style.green("PASSED"),
        (false, _) => style.red("FAILED"),
    };
    let _ = writeln!(
        out,
        "{verdict}  steps {}, {}/{} checks, {thresholds_passed}/{} thresholds passed, {} in {:.2}s",
        report.totals.steps_line(),
        report.totals.checks_passed,
        report.totals.checks_passed + report.totals.checks_failed,
        report.thresholds.len(),
        super::error_rate_line(&report.totals),
        report.duration_s
    );
}
