//! The model of the app's other dependencies in a scenario: `dependencies:` (what the scenario
//! needs simulated), `await: { call: … }` (the app's call to one of them), `inject: { payment:
//! … }` (a payment notification) and `faults:` (a fault profile switched on a dependency or the
//! provider during the run). Parsed in `parse::deps`; run by `runner::deps`.

use std::path::PathBuf;
use std::time::Duration;

use super::{Check, Span, Template};

/// The kind of simulator a dependency is (`harness mock openai|payments|http`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    Openai,
    Payments,
    Http,
}

impl DependencyKind {
    pub const NAMES: &'static [&'static str] = &["openai", "payments", "http"];

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(Self::Openai),
            "payments" => Some(Self::Payments),
            "http" => Some(Self::Http),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Openai => "openai",
            Self::Payments => "payments",
            Self::Http => "http",
        }
    }
}

/// One entry of `dependencies:` — a simulator the scenario needs, by the name its steps use.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub kind: DependencyKind,
    /// `rules:` (openai): the LLM rules file, resolved against the scenario's folder.
    pub rules: Option<FileRef>,
    /// `stubs:` (http, required): the routes file.
    pub stubs: Option<FileRef>,
    /// `faults:` — a fault profile the simulator starts with.
    pub faults: Option<FileRef>,
    /// `port:` — where the simulator listens (0 or absent: a free port).
    pub port: Option<u16>,
    /// Where the entry is written (its name), for diagnostics.
    pub span: Span,
}

/// A file named in the scenario, with where it is named.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    /// Resolved against the scenario's folder.
    pub path: PathBuf,
    /// The value's position.
    pub span: Span,
}

/// `await: { call: … }` — the app's call to a simulated dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct AwaitCall {
    /// The dependency's name (a key of `dependencies:`).
    pub service: String,
    /// Upper-case; `None`: any method.
    pub method: Option<String>,
    /// The request path; a last segment `*` matches the rest (`/v1/*`). `None`: any path.
    pub path: Option<Template>,
    /// What the call must satisfy: `Subject::Body` is its body's text, `Subject::JsonPath`
    /// queries its body (JSON), `Subject::Header` its headers.
    pub matchers: Vec<Check>,
    pub timeout: Duration,
    /// `expect: none` — pass only if no matching call arrives within `timeout`.
    pub expect_none: bool,
}

/// `inject: { payment: … }` — the payments simulator notifies the app, signed.
#[derive(Debug, Clone, PartialEq)]
pub struct PaymentInject {
    /// The payments dependency; `None`: the scenario's only one of kind `payments`.
    pub service: Option<String>,
    pub status: Template,
    pub external_reference: Option<Template>,
    pub amount: Option<Template>,
    /// Update this payment's status (`payment.updated`) instead of creating one.
    pub payment_id: Option<Template>,
    /// Where the notification goes; `None`: the app's payment webhook.
    pub url: Option<Template>,
    /// Extra copies of the notification (`duplicate: true` is 1).
    pub duplicates: u32,
    /// How long to wait for the app to answer the notification.
    pub timeout: Duration,
}

/// `faults:` — replaces (or clears) the fault profile of a dependency or of the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultsStep {
    /// A dependency's name, or `provider`.
    pub service: String,
    pub profile: FaultsSource,
}

/// The profile a `faults:` step sets (the format of `--faults FILE`, docs/simulators.md).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultsSource {
    /// `rules: [...]` written in the step; checked before the run.
    Inline(serde_json::Value),
    /// `profile: FILE`, relative to the scenario; checked before the run.
    File(FileRef),
    /// `clear: true` — no faults.
    Clear,
}
