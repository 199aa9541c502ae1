//! The commands, over plain option types (the CLI resolves its flags into these).
//!
//! Each command returns the process exit code ([`crate::exit`]); harness faults are
//! [`CommandError`]s, which the binary prints and maps to their exit code.

pub mod app;
mod compare;
mod device;
mod list;
pub mod load;
mod load_report;
mod merge;
pub mod mock;
pub mod mock_deps;
pub mod out;
mod progress;
mod report;
mod run;
mod setup;
mod signals;
mod validate;
mod watch;
mod watch_events;
mod watch_metrics;
mod watch_report;
mod watch_scrape;
mod watch_store;

use std::path::PathBuf;
use std::time::Duration;

pub use compare::compare;
pub use list::list;
pub use load::{load, HttpClient, LoadOptions, LoadShape};
pub use load_report::{load_report, load_summary, scenario_run, DeliveryFlags};
pub use merge::merge;
pub use report::report;
pub use run::run;
pub use validate::validate;
pub use watch::{watch, WatchOptions};

pub use crate::target::TargetOverrides;

use crate::exit;
use crate::scenario::catalog;
use crate::scenario::Scenario;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scenario: String,
    pub target: TargetOverrides,
    pub files: ReportFiles,
    pub timeout: Duration,
    pub verbose: u8,
    pub fail_fast: bool,
    /// No live progress.
    pub quiet: bool,
}

/// `harness report`: a saved JSON report and the files to render from it.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub input: PathBuf,
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub summary_md: Option<PathBuf>,
    pub show_personal_data: bool,
}

/// `harness compare`: two JSON reports and the gate's limits.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    pub baseline: PathBuf,
    pub current: PathBuf,
    pub limits: crate::report::compare::Limits,
    /// Compare even reports of different scenarios or kinds of run.
    pub force: bool,
    pub html: Option<PathBuf>,
    pub summary_md: Option<PathBuf>,
}

/// `harness merge`: the reports to merge and where the merged one goes.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    pub inputs: Vec<PathBuf>,
    pub files: ReportFiles,
}

/// Where a run's reports go.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The JSON report; default: a dated file in `report_dir`.
    pub json: Option<PathBuf>,
    pub report_dir: PathBuf,
    /// Default: beside the JSON report, same stem.
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub summary_md: Option<PathBuf>,
    /// `--show-personal-data`: customers' numbers, names and messages in clear in the files.
    pub show_personal_data: bool,
}

impl ReportFiles {
    /// The masking of the files: `None` with `--show-personal-data`.
    pub(crate) fn privacy<'a>(
        &self,
        redactor: &'a crate::redact::Redactor,
    ) -> Option<&'a crate::redact::Redactor> {
        (!self.show_personal_data).then_some(redactor)
    }
}

#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub files: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ListOptions {
    pub dir: PathBuf,
}

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad invocation or input; the message is complete (diagnostics included). Exit 2.
    #[error("{0}")]
    Invalid(String),
    /// The harness itself could not run. Exit 3.
    #[error(transparent)]
    Harness(#[from] anyhow::Error),
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Invalid(_) => exit::INVALID_INPUT,
            CommandError::Harness(_) => exit::HARNESS_ERROR,
        }
    }
}

/// Finds and parses a scenario; every problem becomes a rendered, complete message.
pub fn load_scenario(name_or_path: &str, color: bool) -> Result<Scenario, CommandError> {
    let source = catalog::locate(name_or_path, std::path::Path::new("scenarios")).ok_or_else(|| {
        let known: Vec<&str> = catalog::BUILTIN.iter().map(|b| b.name).collect();
        CommandError::Invalid(format!(
            "error: no scenario `{name_or_path}`: not a file, not in ./scenarios, not built in ({}); `harness list` shows them",
            known.join(", ")
        ))
    })?;
    let path = source.path();
    let text = source.read().map_err(|e| {
        CommandError::Invalid(format!("error: cannot read {}: {e}", path.display()))
    })?;
    crate::scenario::parse(&path, &text).map_err(|d| CommandError::Invalid(d.render(&text, color)))
}

/// Opens the scenario's `data:` files and checks the columns it uses: exit 2 with each
/// problem at the scenario's `file:line:col`.
pub fn open_data(scenario: &Scenario, color: bool) -> Result<crate::data::Feeds, CommandError> {
    // The dependencies' files too: everything a scenario names is checked before a run.
    let found = crate::dependencies::check::files(scenario);
    if !found.is_empty() {
        let diagnostics = crate::scenario::Diagnostics(found);
        return Err(CommandError::Invalid(
            diagnostics.render(&scenario.source, color),
        ));
    }
    crate::data::Feeds::open(scenario).map_err(|found| {
        let diagnostics = crate::scenario::Diagnostics(found);
        CommandError::Invalid(diagnostics.render(&scenario.source, color))
    })
}
