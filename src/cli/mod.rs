//! Command-line interface: clap derive structs only. `into_options()` resolves them into the
//! plain option types of [`crate::command`]; nothing past this module sees clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::command::{ListOptions, RunOptions, TargetOverrides, ValidateOptions};
use crate::target::ProviderKind;

pub mod app;
pub mod mock;

/// Test and load-validation harness for WhatsApp business apps
/// (Evolution API v2, Meta Cloud API).
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its report; the exit code is the verdict.
    Run(RunArgs),
    /// Check scenario files without running anything.
    Validate(ValidateArgs),
    /// List the scenarios available (in ./scenarios and built in), with descriptions.
    List(ListArgs),
    /// Serve a provider simulator (Evolution API v2 or Meta Cloud API) until Ctrl-C.
    Mock(mock::MockArgs),
    /// Serve the bundled reference booking app (the embedded default's system under test).
    App(app::AppArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    Evolution,
    Meta,
}

impl From<Provider> for ProviderKind {
    fn from(p: Provider) -> Self {
        match p {
            Provider::Evolution => ProviderKind::Evolution,
            Provider::Meta => ProviderKind::Meta,
        }
    }
}

/// Where to run: a named target of `harness.yaml`, and flags that override it.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// Named target from harness.yaml (e.g. staging). Without one, and without --app-url or
    /// --provider-url, the embedded simulators are started on loopback.
    #[arg(long, short = 't', value_name = "NAME", env = "HARNESS_TARGET")]
    pub target: Option<String>,
    /// The file declaring the targets.
    #[arg(long, value_name = "FILE", default_value = "harness.yaml")]
    pub config: PathBuf,
    /// The app's base URL (overrides the target's).
    #[arg(long, value_name = "URL")]
    pub app_url: Option<String>,
    /// The provider the app uses (overrides the target's and the scenario's).
    #[arg(long, value_enum)]
    pub provider: Option<Provider>,
    /// The provider's base URL; a real provider unless the target says `mode: simulated`.
    #[arg(long, value_name = "URL")]
    pub provider_url: Option<String>,
    /// Where the simulator delivers webhooks to the app (default: the reference app's path
    /// under --app-url: /api/whatsapp/webhook for Evolution, /api/whatsapp/meta for Meta).
    #[arg(long, value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Serve the embedded simulator on this port instead of a random one, so that an app
    /// running elsewhere can be configured to call it (see docs/testing-your-app.md).
    #[arg(long, value_name = "PORT")]
    pub sim_port: Option<u16>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A scenario file, or the name of one in ./scenarios (or built in): smoke, smoke-meta, …
    pub scenario: String,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Write the JSON report here (default: <report-dir>/<scenario>-<UTC time>.json).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Folder for the default report files.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,
    /// Per-request timeout for steps that set none.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
    /// Stop at the first failed step (the rest are not run; the report says so).
    #[arg(long)]
    pub fail_fast: bool,
    /// Show every check, not only failed ones; repeat for debug logs.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Scenario files (or names) to check.
    #[arg(required = true)]
    pub files: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Folder to list besides the built-in scenarios.
    #[arg(long, value_name = "DIR", default_value = "scenarios")]
    pub dir: PathBuf,
}

impl TargetArgs {
    fn into_overrides(self) -> TargetOverrides {
        TargetOverrides {
            target: self.target,
            config: self.config,
            app_url: self.app_url,
            provider: self.provider.map(Into::into),
            provider_url: self.provider_url,
            webhook_url: self.webhook_url,
            sim_port: self.sim_port,
        }
    }
}

impl RunArgs {
    pub fn into_options(self) -> RunOptions {
        RunOptions {
            scenario: self.scenario,
            target: self.target.into_overrides(),
            json: self.json,
            report_dir: self.report_dir,
            timeout: self.timeout,
            verbose: self.verbose,
            fail_fast: self.fail_fast,
        }
    }
}

impl ValidateArgs {
    pub fn into_options(self) -> ValidateOptions {
        ValidateOptions { files: self.files }
    }
}

impl ListArgs {
    pub fn into_options(self) -> ListOptions {
        ListOptions { dir: self.dir }
    }
}
