//! `harness run`: one scenario, one report, one verdict.

use anyhow::Context;

use super::setup::{
    check_references, check_report_dirs, fault_history, finish, new_run_id, prepare,
};
use super::signals::Stop;
use super::{load_scenario, CommandError, RunOptions};
use crate::report::{self, terminal};
use crate::runner::{init_vars, run_scenario, RunContext};
use crate::thresholds;

/// Runs the scenario, prints the summary, writes the reports (JSON, HTML, and JUnit and
/// Markdown when asked); returns the exit code. SIGINT or SIGTERM stops it at the step in
/// progress, and the report is still written (see [`Stop`]).
pub async fn run(opts: RunOptions) -> Result<u8, CommandError> {
    let stop = Stop::listen().context("cannot listen for signals")?;
    let run_id = new_run_id();
    let color = super::out::color();
    let scenario = load_scenario(&opts.scenario, color)?;
    let p = prepare(&scenario, &opts.target, color).await?;
    check_references(&scenario, &p.target, color)?;
    check_report_dirs(&opts.files)?;
    let vars = init_vars(&scenario, p.target.vars(), &p.templater)
        .map_err(|e| CommandError::Invalid(format!("error: {}: {e}", scenario.path.display())))?;
    let sim_bus = p.sim_bus();
    let sim_local = p.sim_local();
    let mut ctx = RunContext::new(p.templater, stop.soft.clone(), Some(p.target.run_target()));
    ctx.sim_bus = sim_bus;
    ctx.sim_local = sim_local;
    ctx.default_timeout = opts.timeout;
    ctx.fail_fast = opts.fail_fast;
    let live = super::progress::live(opts.quiet);
    ctx.progress = live.as_ref().map(|(hook, _)| hook.clone());

    let run = run_scenario(&scenario, vars, &ctx).await;
    if let Some((_, bar)) = live {
        bar.finish_and_clear();
    }

    let verdicts = thresholds::evaluate_run(&scenario, &run);
    let mut report = report::build(&scenario, &run, &verdicts, &p.target.report(), &p.redactor);
    report.run_id = run_id;
    if !stop.hard.is_cancelled() {
        report.faults = fault_history(&p.target, &p.redactor).await;
    }
    super::out::print(terminal::render(
        &report,
        terminal::Style {
            color,
            verbose: opts.verbose > 0,
        },
    ));
    finish(&report, (&opts.files, &p.redactor), p.embedded, &stop.hard).await
}
