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

pub mod cli;
pub mod metrics;
pub mod redact;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod thresholds;
