//! The `harness` binary: parses the command line and hands it to the library
//! ([`harness::run`]), which returns the exit code.

use std::process::ExitCode;

use clap::Parser;

/// jemalloc: fewer CPU cycles per simulator request and less memory kept than glibc's malloc
/// (measured: docs/benchmarks.md, "Allocator"; why in Cargo.toml).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    harness::run(harness::cli::Cli::parse())
}
