//! Parser tests: `forms` pins the model value of every form, `errors` the exact position,
//! message and rendered caret of errors.

use std::path::Path;

use super::parse;
use crate::scenario::model::*;

mod deps;
mod e2e;
mod errors;
mod forms;
mod load;

pub(super) fn ok(src: &str) -> Scenario {
    parse(Path::new("t.yaml"), src).unwrap_or_else(|d| panic!("{}", d.render(src, false)))
}

/// Each diagnostic as `line:col (len) message [hint]`.
pub(super) fn errors(src: &str) -> Vec<String> {
    let diagnostics = parse(Path::new("t.yaml"), src).expect_err("expected errors");
    diagnostics
        .iter()
        .map(|d| {
            let hint = d
                .hint
                .as_deref()
                .map(|h| format!(" [{h}]"))
                .unwrap_or_default();
            format!(
                "{}:{} ({}) {}{hint}",
                d.span.line, d.span.col, d.len, d.message
            )
        })
        .collect()
}

/// A one-step scenario whose step body is `step` (indented by the caller under `  - `).
pub(super) fn one_step(step: &str) -> String {
    format!("name: t\nsteps:\n  - name: s\n{step}")
}

pub(super) fn checks_of(step: &str) -> Vec<Check> {
    ok(&one_step(step)).steps.remove(0).checks
}

pub(super) fn at(line: usize, col: usize) -> Span {
    Span { line, col }
}
