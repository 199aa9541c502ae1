//! `harness validate`: parse and check files, run nothing.

use super::{load_scenario, open_data, out, ValidateOptions};
use crate::exit;

/// Checks every file, printing every problem found; exit 2 if any file is invalid.
pub fn validate(opts: &ValidateOptions, color: bool) -> u8 {
    let mut invalid = 0;
    for file in &opts.files {
        let checked = load_scenario(file, color).and_then(|s| open_data(&s, color).map(|_| s));
        match checked {
            Ok(s) => {
                let thresholds = s.thresholds.len()
                    + s.steps.iter().map(|st| st.thresholds.len()).sum::<usize>();
                out::println(format_args!(
                    "ok: {} ({} steps, {thresholds} thresholds)",
                    s.path.display(),
                    s.steps.len()
                ));
            }
            Err(e) => {
                invalid += 1;
                out::eprintln(e);
            }
        }
    }
    if invalid == 0 {
        exit::SUCCESS
    } else {
        out::eprintln(format_args!(
            "{invalid} of {} file(s) invalid",
            opts.files.len()
        ));
        exit::INVALID_INPUT
    }
}
