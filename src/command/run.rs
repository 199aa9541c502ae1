//! `harness run`: one scenario, one report, one verdict.

use tokio_util::sync::CancellationToken;

use super::setup::{fault_history, prepare, spawn_ctrl_c, write_report};
use super::{load_scenario, CommandError, RunOptions};
use crate::exit;
use crate::report::{self, terminal};
use crate::runner::{init_vars, run_scenario, RunContext};
use crate::thresholds;

/// Runs the scenario, prints the summary, writes the reports (JSON, HTML, and JUnit and
/// Markdown when asked); returns the exit code.
pub async fn run(opts: RunOptions) -> Result<u8, CommandError> {
    let color = terminal::color_for_stdout();
    let scenario = load_scenario(&opts.scenario, color)?;
    let p = prepare(&scenario, &opts.target).await?;
    let vars = init_vars(&scenario, p.target.vars(), &p.templater)
        .map_err(|e| CommandError::Invalid(format!("error: {}: {e}", scenario.path.display())))?;
    let cancel = CancellationToken::new();
    let ctrl_c = spawn_ctrl_c(cancel.clone());
    let mut ctx = RunContext::new(p.templater, cancel);
    ctx.default_timeout = opts.timeout;
    ctx.fail_fast = opts.fail_fast;

    let run = run_scenario(&scenario, vars, &ctx).await;
    ctrl_c.abort();

    let verdicts = thresholds::evaluate_run(&scenario, &run);
    let mut report = report::build(&scenario, &run, &verdicts, &p.target.report(), &p.redactor);
    report.faults = fault_history(&p.target, &p.redactor).await;
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
    if let Some(e) = p.embedded {
        e.shutdown().await;
    }
    write_report(&report, &opts.files)?;
    Ok(if report.passed {
        exit::SUCCESS
    } else {
        exit::FAILED
    })
}
