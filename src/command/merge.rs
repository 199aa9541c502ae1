//! `harness merge`: one report from the reports of one scenario's shards (or of a CI matrix of
//! runs), written and rendered like a run's, with the run's exit code.

use super::setup::write_report;
use super::{CommandError, MergeOptions};
use crate::exit;
use crate::report::merge::{merge as merge_reports, Input};
use crate::report::{read_json, terminal};

/// Exit 0 when the merged report passes, 1 when a check or (re-evaluated) threshold fails,
/// 2 when a report cannot be read or the reports cannot be merged.
pub fn merge(opts: &MergeOptions) -> Result<u8, CommandError> {
    let invalid = |e: String| CommandError::Invalid(format!("error: {e}"));
    let inputs = opts
        .inputs
        .iter()
        .map(|p| {
            read_json(p).map(|report| Input {
                path: p.display().to_string(),
                report,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let report = merge_reports(&inputs).map_err(|e| invalid(e.to_string()))?;
    let style = terminal::Style {
        color: super::out::color(),
        verbose: false,
    };
    println!("merged {} reports of {}", inputs.len(), report.scenario);
    print!("{}", terminal::render(&report, style));
    if let Some(l) = &report.load {
        print!("{}", super::load_summary(l));
    }
    write_report(&report, &opts.files, &crate::redact::Redactor::new())?;
    Ok(if report.passed {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}
