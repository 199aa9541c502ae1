//! `harness compare`: the promotion gate. Compares a current report with a baseline, prints
//! the deltas with why each counts as a regression or as noise, and exits 1 naming what
//! regressed. Reports of different scenarios (or a load run against a functional run) are
//! refused with exit 2 unless `--force`.

use super::{CommandError, CompareOptions};
use crate::exit;
use crate::report::compare::{compare as compare_reports, mismatch};
use crate::report::output::{self, write_file};
use crate::report::{compare_render, read_json};

/// Exit 0 within limits, 1 on a regression, 2 when a report cannot be read or the reports
/// are not comparable (without `--force`).
pub fn compare(opts: &CompareOptions) -> Result<u8, CommandError> {
    let read = |p| read_json(p).map_err(|e| CommandError::Invalid(format!("error: {e}")));
    let baseline = read(&opts.baseline)?;
    let current = read(&opts.current)?;
    let forced = match mismatch(&baseline, &current) {
        Some(why) if !opts.force => {
            return Err(CommandError::Invalid(format!(
                "error: {} and {} are not comparable: {why}\n  \
                 hint: compare reports of the same scenario, or pass --force to compare anyway",
                opts.baseline.display(),
                opts.current.display()
            )))
        }
        other => other,
    };
    let mut comparison = compare_reports(&baseline, &current, opts.limits);
    comparison.forced = forced;
    super::out::print(compare_render::text(&comparison));
    let md = compare_render::markdown(&comparison);
    let harness = |e: output::OutputError| CommandError::Harness(e.into());
    if let Some(p) = &opts.html {
        write_file(p, &compare_render::html(&comparison)).map_err(harness)?;
    }
    if let Some(p) = &opts.summary_md {
        write_file(p, &md).map_err(harness)?;
    }
    if let Some(p) = output::github_step_summary() {
        output::append_file(&p, &md).map_err(harness)?;
    }
    if comparison.passed() {
        Ok(exit::SUCCESS)
    } else {
        for r in comparison.regressions() {
            super::out::eprintln(format_args!("regressed: {r}"));
        }
        Ok(exit::FAILED)
    }
}
