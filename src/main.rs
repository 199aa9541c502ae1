use std::process::ExitCode;

use clap::Parser;
use harness::cli::{Cli, Command};
use harness::{command, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The embedded simulators' request log stays quiet below `-vv` in a run: it shows request
    // URIs as received, which may hold a secret the redactor never saw. `mock` logs every
    // request at info level.
    harness::init_logging(match &cli.command {
        Command::Run(a) if a.verbose == 1 => "info,harness::sim=warn",
        Command::Run(a) if a.verbose > 1 => "debug",
        Command::Load(a) if a.verbose == 1 => "info,harness::sim=warn",
        Command::Load(a) if a.verbose > 1 => "debug",
        Command::Mock(_) | Command::App(_) => "info",

        _ => "warn",
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            command::out::eprintln(format_args!("error: cannot start the async runtime: {e}"));
            return exit::code(exit::HARNESS_ERROR);
        }
    };
    let color = harness::report::terminal::color_for_stdout();
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => command::run(args.into_options()).await,
            Command::Load(args) => command::load((*args).into_options()).await,
            Command::Validate(args) => Ok(command::validate(&args.into_options(), color)),
            Command::List(args) => Ok(command::list(&args.into_options())),
            Command::Report(args) => command::report(&args.into_options()),
            Command::Compare(args) => command::compare(&args.into_options()),
            Command::Watch(args) => command::watch((*args).into_options()).await,
            Command::Mock(args) => harness::cli::mock::run(args)
                .await
                .map(|()| exit::SUCCESS)
                .map_err(command::CommandError::Harness),
            Command::App(args) => match args.into_options() {
                Ok(opts) => command::app::serve(opts)
                    .await
                    .map(|()| exit::SUCCESS)
                    .map_err(command::CommandError::Harness),
                Err(msg) => Err(command::CommandError::Invalid(msg)),
            },
        }
    });
    match result {
        Ok(code) => exit::code(code),
        Err(e) => {
            match &e {
                command::CommandError::Invalid(msg) => command::out::eprintln(msg),
                command::CommandError::Harness(err) => {
                    command::out::eprintln(format_args!("error: {err:#}"))
                }
            }
            exit::code(e.exit_code())
        }
    }
}
