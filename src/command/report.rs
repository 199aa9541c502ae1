//! `harness report`: renders a saved JSON report again (HTML, JUnit, Markdown), through the
//! same writer as `harness run`, so the files are the ones the run would have written.

use super::{out, CommandError, ReportOptions};
use crate::exit;
use crate::report::html::HtmlContext;
use crate::report::output::{self, Outputs};
use crate::report::read_json;

/// Reads the report (a JSON report, or a `harness watch` database) and writes the files asked
/// for; with no flag, the HTML beside the input.
/// Exit 0: the rendering worked (the verdict is the run's business, not this command's).
pub fn report(opts: &ReportOptions) -> Result<u8, CommandError> {
    let report = if opts.input.extension().is_some_and(|x| x == "db") {
        super::watch_store::read_report(&opts.input)?
    } else {
        read_json(&opts.input).map_err(|e| CommandError::Invalid(format!("error: {e}")))?
    };
    let nothing_asked = opts.html.is_none() && opts.junit.is_none() && opts.summary_md.is_none();
    let outputs = Outputs {
        json: None,
        html: if nothing_asked {
            Some(opts.input.with_extension("html"))
        } else {
            opts.html.clone()
        },
        junit: opts.junit.clone(),
        summary_md: opts.summary_md.clone(),
        append_md: output::github_step_summary(),
    };
    let ctx = HtmlContext {
        git_commit: output::git_commit(),
    };
    // A saved report holds no run's knowledge: what its payloads and forms show is masked.
    let privacy = crate::redact::Redactor::new();
    let privacy = (!opts.show_personal_data).then_some(&privacy);
    let written =
        output::write_all(&report, &outputs, &ctx, privacy).map_err(anyhow::Error::from)?;
    for p in written {
        out::println(format_args!("wrote {}", p.display()));
    }
    Ok(exit::SUCCESS)
}
