//! # harness
//!
//! A test and load-validation harness for business apps that serve their customers over
//! WhatsApp through the Evolution API v2 or Meta's WhatsApp Cloud API: scenario files with
//! checks and thresholds, the customer played end to end through simulated providers, an
//! open-model load engine, faithful provider simulators, and reports with exit codes a CI gate
//! can trust.
//!
//! A scenario (the format is specified in `docs/scenario-format.md`):
//!
//! ```yaml
//! name: booking
//! provider: evolution
//! variables:
//!   customer: "{{ phone() }}"
//! steps:
//!   - name: ask for an appointment
//!     inject: { from: "{{ customer }}", text: "Necesito una cita con cardiología para mañana" }
//!   - name: availability offered
//!     await: { text: { contains: "Horarios disponibles" }, timeout: 10s }
//! thresholds: ["e2e p95 < 5s", "error_rate < 1%"]
//! ```
//!
//! The pipeline, each arrow a plain function over plain types that a test can build by hand:
//!
//! ```text
//! YAML ─scenario::parse→ Scenario ─target::select→ Target ─runner::run_scenario / load::run→
//!   ScenarioRun / LoadResult ─thresholds::evaluate_run (+ delivery)→ verdicts
//!   ─report::build→ Report ─report::{terminal, html, junit, markdown}→ files, exit code
//! ```
//!
//! The modules, in that order:
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | clap argument structs, resolved into the commands' option types |
//! | [`command`] | one function per subcommand: options → pipeline → report → exit code |
//! | [`scenario`] | the scenario model with source spans, the YAML parser, diagnostics, value grammars |
//! | [`provider`] | `ProviderKind`: the one enum of WhatsApp providers |
//! | [`target`] | which system a run goes to (CLI > environment > `harness.yaml` > embedded) |
//! | [`embedded`] | the embedded default: simulator and reference app started on loopback |
//! | [`data`] | `data:` feeders: data files indexed once, a row per iteration, disjoint across shards |
//! | [`runner`] | one scenario, step by step: templates, HTTP, inject/await, checks, captures |
//! | [`load`] | the open-model engine: plans, arrival schedule, workers, per-second timeline |
//! | [`logging`] | the log subscriber (text or JSON), the servers' per-second request totals |
//! | [`metrics`] | HDR histograms with execution and failure counts; pure |
//! | [`thresholds`] | threshold verdicts and the load's delivery check; pure |
//! | [`report`] | the report view model (owns its types) and its renderers, compare and merge |
//! | [`redact`] | what is a secret, and masking it in every output |
//! | [`sim`] | the Evolution API and Cloud API simulators on axum |
//! | [`app`] | the reference booking bot, the embedded default's system under test |
//! | [`exit`] | the exit codes, as named constants |
//!
//! [`run`] is the in-process entry point of the binary; [`run_captured`] runs a command line
//! and returns its exit code and output (tests, embedders).

pub mod app;
pub mod cli;
pub mod command;
pub mod data;
pub mod dependencies;
pub mod device;
pub mod embedded;
mod entry;
pub mod exit;
pub mod load;
pub mod logging;
pub mod metrics;
pub mod provider;
pub mod redact;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sim;
pub mod target;
pub mod thresholds;
pub mod watch;

pub use entry::{run, run_captured, CliOutcome};
