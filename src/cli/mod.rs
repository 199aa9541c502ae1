//! Command-line interface: clap derive structs only. `into_options()` resolves them into the
//! plain option types of [`crate::command`]; nothing past this module sees clap.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::command::{
    CompareOptions, HttpClient, ListOptions, LoadOptions, LoadShape, MergeOptions, ReportFiles,
    ReportOptions, RunOptions, TargetOverrides, ValidateOptions,
};
use crate::target::ProviderKind;

pub mod app;
pub mod credentials;
pub mod mock;
pub mod watch;

/// Test and load-validation harness for WhatsApp business apps
/// (Evolution API v2, Meta Cloud API).
#[derive(Debug, Parser)]
#[command(name = "harness", version, about, long_about = None)]
pub struct Cli {
    /// Read variables from this file (`NAME=value` lines, dotenv syntax) before running; the
    /// process's environment wins over it, and it wins over a `.env` in the working directory.
    #[arg(long, global = true, value_name = "FILE")]
    pub env_file: Option<std::path::PathBuf>,
    /// How log lines are written to standard error: `text` (colours only on a terminal) or
    /// `json` (one object per line, for log shippers).
    #[arg(long, global = true, value_enum, default_value_t = crate::logging::LogFormat::Text)]
    pub log_format: crate::logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and write its report; the exit code is the verdict.
    Run(RunArgs),
    /// Run a scenario (or one URL) at an arrival rate; latency from each iteration's intended
    /// start. Without a scenario or --url: the built-in `volume` WhatsApp booking flow.
    Load(Box<LoadArgs>),
    /// Check scenario files without running anything.
    Validate(ValidateArgs),
    /// List the scenarios available (in ./scenarios and built in), with descriptions.
    List(ListArgs),
    /// Serve a provider simulator (Evolution API v2 or Meta Cloud API) until Ctrl-C.
    Mock(mock::MockArgs),
    /// Serve the bundled reference booking app (the embedded default's system under test).
    App(app::AppArgs),
    /// Render a saved JSON report again as HTML, JUnit XML or Markdown.
    Report(ReportArgs),
    /// Compare a report with a baseline; exit 1 naming what regressed beyond the limits.
    Compare(CompareArgs),
    /// Merge reports of one scenario (load shards, or a CI matrix of e2e runs) into one:
    /// percentiles from the summed histograms, thresholds evaluated again; exit as for `run`.
    Merge(MergeArgs),
    /// Run a scenario on a schedule for hours or days; alert rules fire and resolve, a
    /// rollback rule ends it with exit 1.
    Watch(Box<watch::WatchArgs>),
    /// Print a shell completion script: `source <(harness completions bash)`.
    Completions {
        /// bash, zsh, fish, powershell or elvish.
        shell: clap_complete::Shell,
    },
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
    pub provider: Option<ProviderKind>,
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
    /// The embedded simulator's bind address [default: 127.0.0.1]; a warning is printed when
    /// it is not loopback.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,
    /// The embedded simulator's URL as the app reaches it (an app in Docker, a pod, another
    /// host): media URLs and links handed to the app start with it (overrides the target's
    /// `public_url`).
    #[arg(long, value_name = "URL", value_parser = crate::scenario::targets::public_url)]
    pub public_url: Option<String>,
    /// Customer-device mode offline: a simulated Evolution instance plays the customer through
    /// the simulated WhatsApp network, as a real device would (the target's `customer_device:
    /// { simulated: true }`; a device of your own is declared in harness.yaml).
    #[arg(long, value_name = "simulated", value_parser = ["simulated"])]
    pub customer_device: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A scenario file, or the name of one in ./scenarios (or built in): smoke, smoke-meta, …
    pub scenario: String,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Per-request timeout for steps that set none.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::scenario::threshold::parse_duration)]
    pub timeout: std::time::Duration,
    /// Stop at the first failed step (the rest are not run; the report says so).
    #[arg(long)]
    pub fail_fast: bool,
    /// Show every check and the conversation, not only failures; repeat for debug logs.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No live progress on standard error (there is none when it is not a terminal).
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A JSON report written by `harness run` (or `load`, `watch`), or a `harness watch`
    /// database (`.db`).
    pub report: PathBuf,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub privacy: PrivacyArgs,
}

/// Where `run` and `load` write their reports.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Write the JSON report here (default: <report-dir>/<scenario>-<run id>.json).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Folder for the default report files.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,
    #[command(flatten)]
    pub render: RenderArgs,
    #[command(flatten)]
    pub privacy: PrivacyArgs,
}

/// What files may hold of customers' personal data (docs/privacy.md).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct PrivacyArgs {
    /// Write customers' phone numbers, profile names and message texts in clear in every file
    /// (reports, transcripts, the watch database); by default they are masked. For local
    /// debugging: such files must not be archived or shared.
    #[arg(long)]
    pub show_personal_data: bool,
}

impl OutputArgs {
    pub(crate) fn into_files(self) -> ReportFiles {
        ReportFiles {
            json: self.json,
            report_dir: self.report_dir,
            html: self.render.html,
            junit: self.render.junit,
            summary_md: self.render.summary_md,
            show_personal_data: self.privacy.show_personal_data,
        }
    }
}

/// The report files to write besides the JSON.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// Write the HTML report here (default: beside the JSON report, same stem).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a JUnit XML report here (for CI test tabs).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary here (also appended to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The baseline JSON report (e.g. the last release's).
    pub baseline: PathBuf,
    /// The JSON report of the build to promote.
    pub current: PathBuf,
    /// Relative margin: largest tolerated growth of p50/p95/p99 (and, for load runs, fall of
    /// throughput); `50%` and `50` mean the same.
    #[arg(long, value_name = "PERCENT", default_value = "50%", value_parser = crate::report::compare::parse_ratio)]
    pub max_regression: f64,
    /// Largest tolerated error rate of any step, end to end or overall; `5%` and `5` mean the
    /// same.
    #[arg(long, value_name = "PERCENT", default_value = "5%", value_parser = crate::report::compare::parse_ratio)]
    pub max_error_rate: f64,
    /// Absolute margin at the median: latency growth up to this (×4.4 for a p95, ×9.9 for a
    /// p99; or up to half the baseline's p95−p50 spread, if larger) is noise, never a
    /// regression.
    #[arg(long, value_name = "DURATION", default_value = "2ms", value_parser = crate::scenario::threshold::parse_duration)]
    pub min_delta: std::time::Duration,
    /// Compare even reports of different scenarios, or a load run with a functional run
    /// (refused with exit 2 otherwise).
    #[arg(long)]
    pub force: bool,
    /// Write the comparison as an HTML page here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the comparison as Markdown here (also appended to $GITHUB_STEP_SUMMARY when set).
    #[arg(long, value_name = "FILE")]
    pub summary_md: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// The JSON reports to merge (of one scenario: same scenario file content; any targets).
    #[arg(required = true, value_name = "REPORT.json")]
    pub reports: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
}

impl MergeArgs {
    pub fn into_options(self) -> MergeOptions {
        MergeOptions {
            inputs: self.reports,
            files: self.output.into_files(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// A scenario file or name (default: `volume`, or none with --url).
    #[arg(conflicts_with = "url")]
    pub scenario: Option<String>,
    /// Quick mode: load this one URL instead of a scenario (as oha or hey do).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Quick mode: the HTTP method.
    #[arg(long, short = 'm', default_value = "GET", requires = "url")]
    pub method: String,
    /// Quick mode: a request header, `'Name: value'`; repeatable.
    #[arg(long = "header", short = 'H', value_name = "'K: V'", requires = "url")]
    pub headers: Vec<String>,
    /// Quick mode: the request body, or `@FILE` to read it from a file.
    #[arg(long, short = 'd', value_name = "STR|@FILE", requires = "url")]
    pub body: Option<String>,
    /// Quick mode: keep-alive connections; without --rps, a closed loop at maximum rate over
    /// them (with --rps, the in-flight cap).
    #[arg(long, short = 'c', value_name = "N", requires = "url")]
    pub connections: Option<usize>,
    /// Iterations started per second (open model): `100`, `250/min`.
    #[arg(long, value_name = "RATE", value_parser = crate::scenario::load_shape::parse_arrival_rate)]
    pub rps: Option<f64>,
    /// How long iterations are started for (default: the scenario's, else 60s).
    #[arg(long, short = 'z', value_name = "DURATION", value_parser = crate::scenario::threshold::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Ramps, `DURATION:RPS,…`, e.g. "30s:10,1m:100,30s:0" (from 0, linear within a stage).
    #[arg(long, value_name = "STAGES", value_parser = parse_stages_arg, conflicts_with_all = ["rps", "users"])]
    pub stages: Option<StagesArg>,
    /// Closed model: N concurrent users, each starting its next iteration when its last ends.
    #[arg(long, value_name = "N", conflicts_with = "rps")]
    pub users: Option<usize>,
    /// Closed model: pause between a user's iterations.
    #[arg(long, value_name = "DURATION", value_parser = crate::scenario::threshold::parse_duration)]
    pub think_time: Option<std::time::Duration>,
    /// Poisson arrivals (exponential gaps, same mean rate) instead of evenly spaced ones.
    #[arg(long)]
    pub poisson: bool,
    /// Cap on iterations in flight; arrivals beyond it are counted as dropped (default 1000).
    #[arg(long, value_name = "N")]
    pub max_in_flight: Option<usize>,
    /// Run shard I of N (1-based): 1/N of the arrival rate (or of the users), on the arrivals
    /// of the single schedule that fall to it, with `seq()` and `phone()` disjoint across
    /// shards; merge the reports with `harness merge`. See docs/distributed.md.
    #[arg(long, value_name = "I/N", value_parser = crate::load::shard::Shard::parse)]
    pub shard: Option<crate::load::shard::Shard>,
    /// The shard as a 0-based index, as Kubernetes Indexed Jobs give it
    /// (`--shard-index $(JOB_COMPLETION_INDEX) --shard-count 4` is `--shard I+1/4`).
    #[arg(
        long,
        value_name = "I0",
        requires = "shard_count",
        conflicts_with = "shard"
    )]
    pub shard_index: Option<u32>,
    /// The number of shards, with --shard-index.
    #[arg(long, value_name = "N", requires = "shard_index")]
    pub shard_count: Option<u32>,
    /// Start the load at this instant (RFC 3339, e.g. 2026-12-04T22:00:00Z), so shards started
    /// at different moments begin together; also the shared base of their `phone()` numbers.
    #[arg(long, value_name = "RFC3339", value_parser = parse_start_at)]
    pub start_at: Option<std::time::SystemTime>,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Per-request timeout for steps that set none.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::scenario::threshold::parse_duration)]
    pub timeout: std::time::Duration,
    /// How long iterations in flight may finish after the end or Ctrl-C.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::scenario::threshold::parse_duration)]
    pub grace: std::time::Duration,
    /// No live progress line (it is also off when stderr is not a terminal).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Stop early once a scenario threshold can no longer pass.
    #[arg(long)]
    pub abort_on_fail: bool,
    /// Turn off the delivery check: an open-model run passes on its thresholds even when
    /// arrivals were dropped (the report says the check was off).
    #[arg(long, conflicts_with = "max_dropped")]
    pub allow_dropped: bool,
    /// The share of arrivals that may be dropped (`5%` or `0.05`; default 1 %, or the
    /// scenario's `dropped_rate` threshold).
    #[arg(long, value_name = "RATE", value_parser = crate::scenario::threshold::parse_rate)]
    pub max_dropped: Option<f64>,
    /// Quick mode's HTTP client for plain http:// URLs: `hyper` (default, hand-held
    /// connections) or `reqwest` (for comparison; always used for https://).
    #[arg(long, value_name = "CLIENT", default_value = "hyper", value_parser = HttpClient::parse, requires = "url", hide = true)]
    pub http_client: HttpClient,
    /// Show every check, not only failed ones; repeat for debug logs.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--stages` parsed: one value holding every stage (a bare `Vec` would make clap expect
/// several values).
#[derive(Debug, Clone, PartialEq)]
pub struct StagesArg(pub Vec<(std::time::Duration, f64)>);

fn parse_stages_arg(s: &str) -> Result<StagesArg, String> {
    crate::scenario::load_shape::parse_stages(s)
        .map(StagesArg)
        .map_err(|e| e.to_string())
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
    pub(crate) fn into_overrides(self) -> TargetOverrides {
        TargetOverrides {
            target: self.target,
            config: self.config,
            app_url: self.app_url,
            provider: self.provider,
            provider_url: self.provider_url,
            webhook_url: self.webhook_url,
            sim_port: self.sim_port,
            bind: self.bind,
            public_url: self.public_url,
            customer_device_simulated: self.customer_device.is_some(),
        }
    }
}

impl RunArgs {
    pub fn into_options(self) -> RunOptions {
        RunOptions {
            scenario: self.scenario,
            target: self.target.into_overrides(),
            files: self.output.into_files(),
            timeout: self.timeout,
            verbose: self.verbose,
            fail_fast: self.fail_fast,
            quiet: self.quiet,
        }
    }
}

impl ReportArgs {
    pub fn into_options(self) -> ReportOptions {
        ReportOptions {
            input: self.report,
            html: self.render.html,
            junit: self.render.junit,
            summary_md: self.render.summary_md,
            show_personal_data: self.privacy.show_personal_data,
        }
    }
}

/// `--start-at`: an RFC 3339 instant.
fn parse_start_at(text: &str) -> Result<std::time::SystemTime, String> {
    humantime::parse_rfc3339_weak(text.trim())
        .map_err(|e| format!("`{text}` is not an RFC 3339 time ({e}), e.g. 2026-12-04T22:00:00Z"))
}

impl CompareArgs {
    pub fn into_options(self) -> CompareOptions {
        CompareOptions {
            baseline: self.baseline,
            current: self.current,
            limits: crate::report::compare::Limits {
                max_regression: self.max_regression,
                max_error_rate: self.max_error_rate,
                min_delta_ms: self.min_delta.as_secs_f64() * 1000.0,
            },
            force: self.force,
            html: self.html,
            summary_md: self.summary_md,
        }
    }
}

impl LoadArgs {
    pub fn into_options(self) -> LoadOptions {
        LoadOptions {
            scenario: self.scenario,
            url: self.url,
            method: self.method,
            headers: self.headers,
            body: self.body,
            shape: LoadShape {
                rps: self.rps,
                duration: self.duration,
                stages: self.stages.map(|s| s.0),
                users: self.users,
                think_time: self.think_time,
                poisson: self.poisson,
                max_in_flight: self.max_in_flight,
                connections: self.connections,
                shard: self.shard.or(match (self.shard_index, self.shard_count) {
                    (Some(i), Some(n)) => Some(crate::load::shard::Shard {
                        index: i.saturating_add(1),
                        count: n,
                    }),
                    _ => None,
                }),
            },
            start_at: self.start_at,
            target: self.target.into_overrides(),
            files: self.output.into_files(),
            timeout: self.timeout,
            grace: self.grace,

            quiet: self.quiet,
            abort_on_fail: self.abort_on_fail,
            verbose: self.verbose,
            delivery: crate::command::DeliveryFlags {
                allow_dropped: self.allow_dropped,
                max_dropped: self.max_dropped,
            },
            http_client: self.http_client,
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
