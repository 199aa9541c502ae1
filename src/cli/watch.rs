//! `harness watch` flags.

use std::path::PathBuf;
use std::time::Duration;

use super::{OutputArgs, TargetArgs};
use crate::command::WatchOptions;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("length").required(true).multiple(true).args(["budget", "until_healthy_for"])))]
pub struct WatchArgs {
    /// A scenario file, or the name of one in ./scenarios (or built in).
    pub scenario: String,
    /// Time between scheduled starts (a slow run does not delay the next one); default: the
    /// scenario's `watch.every`, else 30s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub every: Option<Duration>,
    /// How long to watch; with --until-healthy-for, the budget to become healthy in.
    #[arg(long = "for", id = "budget", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub budget: Option<Duration>,
    /// End with exit 0 once every rule has been clear, and the runs passing, for this long.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub until_healthy_for: Option<Duration>,
    /// An alert rule, `[warn|rollback:] RULE`, e.g. `rollback: p95 > 2s for 5m`,
    /// `down for 2m`, `uptime < 99.9%` (docs/watch.md); repeatable.
    #[arg(long = "alert", value_name = "RULE")]
    pub alerts: Vec<String>,
    /// A Prometheus `/metrics` page (of the app or the provider) scraped after every run,
    /// for `metric …` rules; repeatable, added to the scenario's `watch.metrics`.
    #[arg(long = "metrics-url", value_name = "URL")]
    pub metrics_urls: Vec<String>,
    /// A saved JSON report for `… of baseline` rules.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Append every alert event to this file as a JSON line.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// POST every alert event to this webhook (Slack/Teams/Google Chat `text` and the
    /// event as JSON); repeatable. Its path is masked in all output.
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// A firing rollback rule does not end the watch (the exit code is still 1).
    #[arg(long)]
    pub keep_going: bool,
    /// The watch's history (SQLite), written as each run ends; the same command with the
    /// same file resumes an interrupted watch (default: <report-dir>/<scenario>-<run id>.db).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// Serve the watch's own Prometheus metrics (uptime, last verdict, latencies, rule
    /// states) on 127.0.0.1:PORT/metrics.
    #[arg(long, value_name = "PORT")]
    pub metrics_port: Option<u16>,
    /// Most runs at once; a start beyond it is counted as missed.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub max_overlap: usize,
    /// No line per run (events and the summary are still printed).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Per-request timeout for steps that set none.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

impl WatchArgs {
    pub fn into_options(self) -> WatchOptions {
        WatchOptions {
            scenario: self.scenario,
            target: self.target.into_overrides(),
            files: self.output.into_files(),
            timeout: self.timeout,
            every: self.every,
            budget: self.budget,
            until_healthy_for: self.until_healthy_for,
            alerts: self.alerts,
            metrics_urls: self.metrics_urls,
            baseline: self.baseline,
            events: self.events,
            notify: self.notify,
            keep_going: self.keep_going,
            max_overlap: self.max_overlap,
            db: self.db,
            metrics_port: self.metrics_port,
            quiet: self.quiet,
        }
    }
}
