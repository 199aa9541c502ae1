//! `harness compare`: the promotion gate. Compares a current report with a baseline, prints
//! the deltas, and exits 1 naming what regressed when a limit is exceeded.

use super::{CommandError, CompareOptions};
use crate::exit;
use crate::report::compare::compare_with;
use crate::report::extras::Extras;
use crate::report::output::{self, write_file};
use crate::report::{compare_render, read_json};

/// Exit 0 within limits, 1 on a regression, 2 when a report cannot be read.
pub fn compare(opts: &CompareOptions) -> Result<u8, CommandError> {
    let read = |p| read_json(p).map_err(|e| CommandError::Invalid(format!("error: {e}")));
    let baseline = read(&opts.baseline)?;
    let current = read(&opts.current)?;
    let (base_x, cur_x) = (Extras::read(&opts.baseline), Extras::read(&opts.current));
    let comparison = compare_with((&baseline, &base_x), (&current, &cur_x), opts.limits);
    print!("{}", compare_render::text(&comparison));
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
            eprintln!("regressed: {r}");
        }
        Ok(exit::FAILED)
    }
}
