//! The in-process entry point: parsed arguments in, exit code out. `main.rs` only parses the
//! command line and calls [`run`]; tests and embedders can call it with a [`Cli`] they built.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::cli::{Cli, Command};
use crate::command::{self, out, CommandError};
use crate::exit;

/// Runs one command to its end on a fresh runtime and returns the process exit code
/// ([`crate::exit`]): the command's own, or the one its error maps to (after printing it).
pub fn run(cli: Cli) -> ExitCode {
    exit::code(execute(cli, None))
}

/// The outcome of [`run_captured`]: the exit code and what the command printed.
#[derive(Debug, Clone)]
pub struct CliOutcome {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Parses `argv` (program name first) and runs the command in this process, keeping what it
/// prints: the CLI as a function, for tests and embedders. A parse error or `--help` is
/// printed to the outcome as the binary would print it, with the same exit code. Output of
/// tasks the command spawns (e.g. watch events) still goes to the process's stdout.
pub fn run_captured<I, T>(argv: I) -> CliOutcome
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::Parser;
    let sink = Arc::new(Mutex::new(out::Captured::default()));
    let code = match Cli::try_parse_from(argv) {
        Ok(cli) => execute(cli, Some(sink.clone())),
        Err(e) => {
            let mut c = sink.lock().unwrap_or_else(|e| e.into_inner());
            let text = e.render().to_string();
            match e.use_stderr() {
                true => c.stderr.push_str(&text),
                false => c.stdout.push_str(&text),
            }
            e.exit_code() as u8
        }
    };
    let captured = sink.lock().unwrap_or_else(|e| e.into_inner()).clone();
    CliOutcome {
        code,
        stdout: captured.stdout,
        stderr: captured.stderr,
    }
}

fn execute(cli: Cli, sink: Option<Arc<Mutex<out::Captured>>>) -> u8 {
    // Before anything reads the environment (RUST_LOG included), while the process has one
    // thread; its error is printed in the command's scope below.
    let env_files = load_env_files(cli.env_file.as_deref());
    crate::logging::init(log_filter(&cli.command), cli.log_format);
    let runtime = match runtime_for(&cli.command) {
        Ok(rt) => rt,
        Err(e) => {
            out::eprintln(format_args!("error: cannot start the async runtime: {e}"));
            return exit::HARNESS_ERROR;
        }
    };
    let main = async move {
        if let Err(msg) = env_files {
            out::eprintln(msg);
            return exit::INVALID_INPUT;
        }
        match dispatch(cli.command).await {
            Ok(code) => code,
            Err(e) => {
                match &e {
                    CommandError::Invalid(msg) => out::eprintln(msg),
                    CommandError::Harness(err) => out::eprintln(format_args!("error: {err:#}")),
                }
                e.exit_code()
            }
        }
    };
    match sink {
        Some(sink) => runtime.block_on(out::capture(sink, main)),
        None => runtime.block_on(main),
    }
}

/// The async runtime: tokio's multi-thread runtime with its default worker count (one worker per
/// core the process may run on: `available_parallelism` follows the CPU affinity), except for
/// `load` on a single core, which runs on the current-thread runtime: one thread doing all the
/// work instead of a worker thread beside an idle main thread, without the cross-thread
/// scheduling (measured in docs/benchmarks.md, "`harness load` against wrk, oha, hey").
fn runtime_for(command: &Command) -> std::io::Result<tokio::runtime::Runtime> {
    let one_core = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    match command {
        Command::Load(_) if one_core => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        _ => tokio::runtime::Runtime::new(),
    }
}

/// Variables from `--env-file`, then from a `.env` in the working directory: neither overrides a
/// variable already set (the process's environment wins, then the file given, then `.env`).
/// Read before the runtime starts, while the process has one thread.
fn load_env_files(given: Option<&std::path::Path>) -> Result<(), String> {
    if let Some(path) = given {
        dotenvy::from_path(path).map_err(|e| {
            format!(
                "error: cannot read --env-file {}: {e} (a file of NAME=value lines)",
                path.display()
            )
        })?;
    }
    match dotenvy::from_path(".env") {
        Err(e) if !e.not_found() => Err(format!("error: cannot read ./.env: {e}")),
        _ => Ok(()),
    }
}

/// The shell completion script of `harness` for `shell`.
fn completions(shell: clap_complete::Shell) -> u8 {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "harness", &mut script);
    out::print(String::from_utf8_lossy(&script));
    exit::SUCCESS
}

/// The embedded simulators' request log stays quiet below `-vv` in a run: it shows request
/// URIs as received, which may hold a secret the redactor never saw. `mock` and `app` log a
/// line of request totals per second at info level, and each request at debug level.
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
    let color = out::color();
    match command {
        Command::Run(args) => command::run(args.into_options()).await,
        Command::Load(args) => command::load((*args).into_options()).await,
        Command::Validate(args) => Ok(command::validate(&args.into_options(), color)),
        Command::List(args) => Ok(command::list(&args.into_options())),
        Command::Report(args) => command::report(&args.into_options()),
        Command::Compare(args) => command::compare(&args.into_options()),
        Command::Merge(args) => command::merge(&args.into_options()),
        Command::Watch(args) => command::watch((*args).into_options()).await,
        Command::Completions { shell } => Ok(completions(shell)),
        Command::Mock(args) => {
            command::mock::run(args.into_options().map_err(CommandError::Harness)?)
                .await
                .map(|()| exit::SUCCESS)
                .map_err(CommandError::Harness)
        }
        Command::App(args) => match args.into_options() {
            Ok(opts) => command::app::serve(opts)
                .await
                .map(|()| exit::SUCCESS)
                .map_err(CommandError::Harness),
            Err(msg) => Err(CommandError::Invalid(msg)),
        },
    }
}
