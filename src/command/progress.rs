//! The live progress of `harness run` on standard error: each step as it completes (its mark,
//! name and latency), and a spinner with the elapsed time on the step in progress (a long
//! `await` shows it is waiting, not stuck). Only on a terminal, and not with `-q`; the
//! summary on standard output is unchanged.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::runner::{StepEvent, StepKind, StepProgress, StepResult};
use crate::thresholds::format_ms;

/// The progress hook and its spinner (to clear at the end), or `None` when quiet or not on
/// a terminal.
pub fn live(quiet: bool) -> Option<(StepProgress, ProgressBar)> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    let b = bar.clone();
    let hook = move |e: StepEvent<'_>| match e {
        StepEvent::Started(step) => {
            b.reset_elapsed();
            b.set_message(step.name.clone());
            b.enable_steady_tick(Duration::from_millis(120));
        }
        StepEvent::Finished(r) => {
            b.disable_steady_tick();
            b.set_message(String::new());
            b.println(step_line(r));
        }
    };
    Some((StepProgress(Arc::new(hook)), bar))
}

/// `  ✓ create instance  12.3ms`, `  ✗ reply came  (no response)`.
pub fn step_line(r: &StepResult) -> String {
    let mark = if r.passed { "✓" } else { "✗" };
    let latency = match r.series.summary() {
        Some(l) if r.kind == StepKind::Await => format!("{} end to end", format_ms(l.max)),
        Some(l) => format_ms(l.max),
        None => "(no response)".into(),
    };
    format!("  {mark} {}  {latency}", r.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Span;

    #[test]
    fn a_completed_step_is_one_line_with_its_mark_and_latency() {
        let mut r = StepResult {
            attempts: 1,
            skipped: false,
            ..StepResult::empty(String::new(), Span::default(), StepKind::Await)
        };
        r.name = "availability offered".into();
        r.series.record(Duration::from_millis(1250), false);
        assert_eq!(step_line(&r), "  ✓ availability offered  1.25s end to end");
        r.passed = false;
        r.series = crate::metrics::Series::new();
        assert_eq!(step_line(&r), "  ✗ availability offered  (no response)");
        // Not a terminal under `cargo test`: no progress.
        assert!(live(false).is_none());
    }
}
