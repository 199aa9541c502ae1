//! The in-process entry point: parsed arguments in, exit code out. `main.rs` only parses the
//! command line and calls [`run`]; tests and embedders can call it with a [`Cli`] they built.

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::command::{self, out, CommandError};
use crate::exit;

/// Runs one command to its end on a fresh runtime and returns the process exit code
/// ([`crate::exit`]): the command's own, or the one its error maps to (after printing it).
pub fn run(cli: Cli) -> ExitCode {
    crate::init_logging(log_filter(&cli.command));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            out::eprintln(format_args!("error: cannot start the async runtime: {e}"));
            return exit::code(exit::HARNESS_ERROR);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => exit::code(code),
        Err(e) => {
            match &e {
                CommandError::Invalid(msg) => out::eprintln(msg),
                CommandError::Harness(err) => out::eprintln(format_args!("error: {err:#}")),
            }
            exit::code(e.exit_code())
        }
    }
}

/// The embedded simulators' request log stays quiet below `-vv` in a run: it shows request
/// URIs as received, which may hold a secret the redactor never saw. `mock` logs every
/// request at info level.
fn log_filter(command: &Command) -> &'static str {
    match command {
        Command::Run(a) if a.verbose == 1 => "info,harness::sim=warn",
        Command::Run(a) if a.verbose > 1 => "debug",
        Command::Load(a) if a.verbose == 1 => "info,harness::sim=warn",
        Command::Load(a) if a.verbose > 1 => "debug",
        Command::Mock(_) | Command::App(_) => "info",
        _ => "warn",
    }
}

/// Resolves the command's arguments into options and runs it.
async fn dispatch(command: Command) -> Result<u8, CommandError> {
    let color = crate::report::terminal::color_for_stdout();
    match command {
        Command::Run(args) => command::run(args.into_options()).await,
        Command::Load(args) => command::load((*args).into_options()).await,
        Command::Validate(args) => Ok(command::validate(&args.into_options(), color)),
        Command::List(args) => Ok(command::list(&args.into_options())),
        Command::Report(args) => command::report(&args.into_options()),
        Command::Compare(args) => command::compare(&args.into_options()),
        Command::Merge(args) => command::merge(&args.into_options()),
        Command::Watch(args) => command::watch((*args).into_options()).await,
        Command::Mock(args) => crate::cli::mock::run(args)
            .await
            .map(|()| exit::SUCCESS)
            .map_err(CommandError::Harness),
        Command::App(args) => match args.into_options() {
            Ok(opts) => command::app::serve(opts)
                .await
                .map(|()| exit::SUCCESS)
                .map_err(CommandError::Harness),
            Err(msg) => Err(CommandError::Invalid(msg)),
        },
    }
}
