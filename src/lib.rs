//! # harness
//!
//! A test and load-validation harness for business apps that serve their customers over
//! WhatsApp through the Evolution API v2 or Meta's WhatsApp Cloud API.
//!
//! The pipeline, each arrow a plain function over plain types:
//!
//! ```text
//! YAML ─parse→ Scenario ─run→ StepResults ─aggregate→ Metrics ─evaluate→ Verdicts ─build→ Report ─render→ files
//! ```
//!
//! Modules follow it: [`scenario`] (model, parsing, diagnostics), [`sim`] (the provider
//! simulators).

pub mod app;
pub mod cli;
pub mod command;
pub mod embedded;
pub mod exit;
pub mod load;
pub mod metrics;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod target;
pub mod thresholds;
pub mod watch;

/// Logs to standard error with `default_filter` (a tracing `EnvFilter` directive such as
/// `warn`), or `RUST_LOG` when set.
pub fn init_logging(default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
