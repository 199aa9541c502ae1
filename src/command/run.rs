//! `harness run`: one scenario, one report, one verdict.

use std::path::PathBuf;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{load_scenario, CommandError, RunOptions};
use crate::embedded::Embedded;
use crate::exit;
use crate::redact::Redactor;
use crate::report::{self, terminal};
use crate::runner::template::{process_env, Templater};
use crate::runner::{init_vars, run_scenario, RunContext};
use crate::target::{self, ProviderKind};
use crate::thresholds;

/// Runs the scenario, prints the summary, writes the reports (JSON, HTML, and JUnit and
/// Markdown when asked); returns the exit code.
pub async fn run(opts: RunOptions) -> Result<u8, CommandError> {
    let color = terminal::color_for_stdout();
    let scenario = load_scenario(&opts.scenario, color)?;
    let redactor = Redactor::new();
    let templater = Templater::new(process_env(), redactor.clone());
    let provider = opts
        .target
        .provider
        .or(scenario.provider)
        .unwrap_or(ProviderKind::Evolution);
    let spec = target::select(&opts.target, provider).map_err(CommandError::Invalid)?;
    let resolved = spec
        .resolve(&templater)
        .map_err(|e| CommandError::Invalid(format!("error: target `{}`: {e}", spec.name)))?;
    let embedded = Embedded::start_for(&resolved, opts.target.sim_port, &redactor)
        .await
        .context("cannot start the embedded simulators")?;
    let target = embedded
        .as_ref()
        .map_or_else(|| resolved.clone(), |e| e.target(&resolved));

    let vars = init_vars(&scenario, target.vars(), &templater)
        .map_err(|e| CommandError::Invalid(format!("error: {}: {e}", scenario.path.display())))?;
    let cancel = CancellationToken::new();
    let ctrl_c = spawn_ctrl_c(cancel.clone());
    let mut ctx = RunContext::new(templater, cancel);
    ctx.default_timeout = opts.timeout;
    ctx.fail_fast = opts.fail_fast;

    let run = run_scenario(&scenario, vars, &ctx).await;
    ctrl_c.abort();

    let verdicts = thresholds::evaluate_run(&scenario, &run);
    let report = report::build(&scenario, &run, &verdicts, &target.report(), &redactor);
    print!(
        "{}",
        terminal::render(
            &report,
            terminal::Style {
                color,
                verbose: opts.verbose > 0
            }
        )
    );
    if let Some(e) = embedded {
        e.shutdown().await;
    }
    let path = opts
        .json
        .clone()
        .unwrap_or_else(|| default_report_path(&opts, &report.scenario));
    let outputs = report::output::Outputs::for_run(
        path,
        opts.html.clone(),
        opts.junit.clone(),
        opts.summary_md.clone(),
    );
    let ctx = report::html::HtmlContext {
        git_commit: report::output::git_commit(),
        extras: None,
    };
    for p in
        report::output::write_all(&report, &outputs, &ctx).context("cannot write the report")?
    {
        println!("report: {}", p.display());
    }
    Ok(if report.passed {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}

/// `<report-dir>/<scenario>-<UTC time>.json`, e.g. `reports/smoke-20261122T101500Z.json`.
fn default_report_path(opts: &RunOptions, scenario: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace([':', '-'], "");
    let safe: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    opts.report_dir.join(format!("{safe}-{stamp}.json"))
}

/// Ctrl-C cancels the run (the report is still written, marked interrupted).
fn spawn_ctrl_c(cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping, the report will be written");
            cancel.cancel();
        }
    })
}
