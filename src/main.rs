//! The `harness` binary: parses the command line and hands it to the library
//! ([`harness::run`]), which returns the exit code.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    harness::run(harness::cli::Cli::parse())
}
