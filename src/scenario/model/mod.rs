//! The scenario model: what a scenario file says, after parsing and validation.
//!
//! Every node that a diagnostic or a report may point at keeps its [`Span`]. Strings that
//! may contain `{{variables}}` or `${ENV}` references are kept as written ([`Template`]);
//! they are rendered by the runner, step by step, as variables become known.

use std::path::PathBuf;
use std::time::Duration;

/// A position in a source file: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Span {
    pub line: usize,
    pub col: usize,
}

/// A string as written in the scenario; may contain `{{var}}` and `${ENV}` references.
pub type Template = String;

/// One scenario file, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// The provider the scenario is written for (`provider:`); decides which simulator's
    /// values `provider.*` holds in the embedded default. `None`: the target's, or Evolution.
    pub provider: Option<ProviderKind>,
    /// Where it was read from (`<embedded>/smoke.yaml` for the bundled scenarios).
    pub path: PathBuf,
    /// The whole source text, kept for diagnostics that point at a line (a failed threshold).
    pub source: String,
    /// `variables:` in file order; values are templates rendered once, before the first step.
    pub variables: Vec<Variable>,
    /// `secrets:` — environment variables, `variables:` and captures whose values are masked
    /// in all output, besides those whose names say they are secrets (`*_KEY`, `*_TOKEN`, …).
    pub secrets: Vec<String>,
    pub steps: Vec<Step>,
    /// Scenario-level thresholds (over all steps), e.g. `error_rate < 1%`.
    pub thresholds: Vec<ThresholdSpec>,
    /// `load:` — the load shape of `harness load` when the command line gives none.
    pub load: Option<LoadSpec>,
    /// `watch:` — the schedule and alert rules of `harness watch`.
    pub watch: Option<WatchSpec>,
    /// `data:` — files of rows (CSV, JSON, JSON lines) fed to the iterations, one row each.
    pub data: Vec<DataSpec>,
    /// `dependencies:` — the simulated services the app calls (LLM, payments, any HTTP API).
    pub dependencies: Vec<Dependency>,
}

/// One `data:` feeder: each iteration (each run) takes a row of `file`, available to its
/// templates as `{{ <name>.<column> }}`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// The variable holding the row (`row` unless the section names it).
    pub name: String,
    /// The file as written, relative to the scenario's folder.
    pub file: PathBuf,
    pub select: Selection,
    /// Where the feeder is written (its `file:` value), for diagnostics.
    pub span: Span,
}

/// How a feeder picks an iteration's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// In file order, starting over at the end (each shard from its own offset).
    Sequential,
    /// Uniformly at random, with repetition.
    Random,
    /// Each row once across the run and across shards; when none is left, iterations fail.
    Unique,
}

impl Selection {
    pub const NAMES: &'static [&'static str] = &["sequential", "random", "unique"];

    pub fn parse(name: &str) -> Option<Selection> {
        match name {
            "sequential" => Some(Selection::Sequential),
            "random" => Some(Selection::Random),
            "unique" => Some(Selection::Unique),
            _ => None,
        }
    }
}

/// `watch:` — what `harness watch <scenario>` uses besides its flags: the time between runs
/// (`--every` overrides it) and alert rules (`--alert` rules are added to them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchSpec {
    pub every: Option<Duration>,
    pub alerts: Vec<Rule>,
    /// Prometheus `/metrics` pages scraped after every run (templates: `{{ app.url }}/metrics`).
    pub metrics: Vec<Template>,
}

/// `load:` — what `harness load <scenario>` does without load flags. Open model (`rps` or
/// `stages`) or closed model (`users`, `think_time`); the command line overrides each key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadSpec {
    /// Iterations started per second.
    pub rps: Option<f64>,
    pub duration: Option<Duration>,
    /// `(stage duration, rate at its end)`, ramped linearly from the previous stage's rate.
    pub stages: Vec<(Duration, f64)>,
    pub max_in_flight: Option<usize>,
    pub users: Option<usize>,
    pub think_time: Option<Duration>,
    pub poisson: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Variable {
    pub name: String,
    pub value: Template,
    pub span: Span,
}

mod dependency;
pub use crate::provider::ProviderKind;
pub use dependency::{
    AwaitCall, Dependency, DependencyKind, FaultsSource, FaultsStep, FileRef, PaymentInject,
};

/// One step: an action, the checks on its outcome, what it captures, how it is retried.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub name: String,
    pub span: Span,
    pub action: Action,
    pub checks: Vec<Check>,
    pub captures: Vec<Capture>,
    /// Poll the action until every check passes, or the deadline passes.
    pub retry: Option<Retry>,
    /// Thresholds over this step's own samples, e.g. `p95 < 3s`.
    pub thresholds: Vec<ThresholdSpec>,
    /// `provider:` — run the step only against this provider (skipped otherwise), for
    /// provider-specific payloads in a scenario that serves both.
    pub provider: Option<ProviderKind>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Http(HttpRequest),
    /// A customer message delivered to the app as the provider would (or a raw payload posted
    /// straight to the app's webhook).
    Inject(Inject),
    /// Wait for the app's reply to a customer, observed at the simulated provider.
    Await(Await),
    /// `await: { call: … }` — wait for the app's call to a simulated dependency.
    Call(AwaitCall),
    /// `faults:` — switch a fault profile on a dependency or the provider.
    Faults(FaultsStep),
}

/// `inject:` — what reaches the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Inject {
    /// The simulator delivers a customer's message (Evolution `messages.upsert`, signed Meta
    /// webhook) through its control API; the end-to-end clock of `from` starts now.
    Customer(CustomerMessage),
    /// A payload posted straight to the app's webhook URL, possibly malformed or badly signed;
    /// checks judge the app's answer.
    Raw(RawWebhook),
    /// A payment outcome the payments simulator notifies to the app, signed.
    Payment(PaymentInject),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerMessage {
    /// The customer's phone number.
    pub from: Template,
    pub name: Option<Template>,
    /// Evolution instance or Meta phone-number-id; `None`: the target's default.
    pub tenant: Option<Template>,
    pub content: Content,
    /// `reply_to`: the id of the message this one quotes; `None`: a tap or a choice answers
    /// the last message the app sent the customer, anything else quotes nothing.
    pub reply_to: Option<Template>,
    /// `group`: the group (Evolution JID) the customer writes in.
    pub group: Option<Template>,
    /// `lid: true`: the customer is addressed by LID (Evolution `…@lid`, `addressingMode`).
    pub lid: bool,
    /// `username`: Meta — the customer adopted this username (`profile.username`).
    pub username: Option<Template>,
    /// `hide_phone: true`: Meta — the webhook withholds `from`/`wa_id` (a username customer
    /// the business has not talked to recently); the app must answer by `recipient`.
    pub hide_phone: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(Template),
    /// A tapped reply button (Meta `interactive.button_reply`).
    ButtonReply {
        id: Template,
        title: Template,
    },
    /// A chosen list row (Meta `interactive.list_reply`).
    ListReply {
        id: Template,
        title: Template,
        description: Option<Template>,
    },
    /// A tap on a template's quick-reply button (Meta `button`).
    TemplateButton {
        payload: Template,
        text: Template,
    },
    /// A completed WhatsApp Flow (Meta `interactive.nfm_reply`); string leaves are templates.
    FlowReply {
        response: serde_json::Value,
        body: Option<Template>,
    },
    Media(InjectMedia),
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<Template>,
        address: Option<Template>,
    },
    /// Shared contact cards: (name, phone).
    Contacts(Vec<(Template, Template)>),
    /// A reaction; `to_message: None` reacts to the last message the app sent the customer.
    Reaction {
        emoji: Template,
        to_message: Option<Template>,
    },
}

/// `image`, `audio`, `voice`, `video`, `document` or `sticker`.
#[derive(Debug, Clone, PartialEq)]
pub struct InjectMedia {
    /// The provider's kind: `image`, `audio`, `video`, `document`, `sticker`.
    pub kind: &'static str,
    /// `voice:` — an audio recorded as a voice note.
    pub voice: bool,
    pub source: MediaSource,
    pub mime: Option<Template>,
    pub caption: Option<Template>,
    pub filename: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// `file:` — read at run time; the path is resolved against the scenario's directory.
    File(std::path::PathBuf),
    /// `bytes:` — base64 (a template).
    Bytes(Template),
    /// Neither: the simulator generates a real file of the kind.
    Generated,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawWebhook {
    /// Where to post; `None`: the app's webhook URL (`app.webhook_url`).
    pub url: Option<Template>,
    pub headers: Vec<(String, Template)>,
    pub body: Body,
    pub signature: Signature,
}

/// The `X-Hub-Signature-256` of a raw Meta webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// Computed with the target's app secret over the exact bytes sent.
    Valid,
    /// Present but computed with a wrong key.
    Invalid,
    /// No header.
    None,
}

/// `await:` — the app's reply to a customer, as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Await {
    /// The customer; `None`: the last customer injected in this run.
    pub to: Option<Template>,
    pub tenant: Option<Template>,
    /// What the awaited message must satisfy: `Subject::Body` is its text, `Subject::JsonPath`
    /// queries the message as the simulator reports it (`payload`, `kind`, `tenant`, …).
    pub matchers: Vec<Check>,
    pub timeout: Duration,
    /// `expect: none` — pass only if no matching message arrives within `timeout`.
    pub expect_none: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// Upper-case method name (`GET`, `POST`, …).
    pub method: String,
    pub url: Template,
    pub headers: Vec<(String, Template)>,
    pub query: Vec<(String, Template)>,
    pub body: Option<Body>,
    /// Per-request timeout; the runner's default applies when `None`.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// `json:` — sent with `Content-Type: application/json`; string leaves are templates.
    Json(serde_json::Value),
    /// `body:` — sent as written (after templating).
    Raw(Template),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Time between attempts.
    pub interval: Duration,
    /// Give up (and report the last attempt's failures) after this long.
    pub timeout: Duration,
}

/// One check, judged after the action; a failure is data in the results.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub span: Span,
    pub subject: Subject,
    pub predicate: Predicate,
}

/// What a check looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// The HTTP status code (as a JSON number).
    Status,
    /// A response header (name lower-cased); absent header = no value.
    Header(String),
    /// The whole response body as text.
    Body,
    /// A JSONPath (RFC 9535) query over the JSON body: one match is that value, several an
    /// array, none = no value.
    JsonPath(String),
    /// The step's duration (the predicate compares milliseconds).
    Duration,
}

/// A test on a subject's value. Values on the right may contain templates.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    Equals(serde_json::Value),
    NotEquals(serde_json::Value),
    /// `status: 2xx`-style class, or a list: `status: [200, 201]`.
    OneOf(Vec<serde_json::Value>),
    Exists(bool),
    Contains(Template),
    /// `not_contains`: the value (as text) does not contain it; an absent value passes.
    NotContains(Template),
    /// A regular expression (validated at parse time) matched against the value as text.
    Matches(String),
    /// `not_matches`: the regular expression does not match; an absent value passes.
    NotMatches(String),
    /// Length of a string or array, or number of keys of an object, compared.
    Length(Comparison, f64),
    /// Number compared (`< 2000`, `>= 1`); for `Subject::Duration` in milliseconds.
    Compare(Comparison, f64),
    Type(JsonType),
    /// HTTP status class: 2 for `2xx`.
    StatusClass(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Number,
    Integer,
    Boolean,
    Array,
    Object,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

/// Copies part of the outcome into a variable for later steps.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    pub span: Span,
    pub variable: String,
    pub source: CaptureSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaptureSource {
    JsonPath(String),
    Header(String),
    /// A regular expression over the body; its first group (or the whole match).
    Regex(String),
}

// `harness watch`'s alert rules (grammar in `watch_rule`).

/// How bad a firing rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// Reported and delivered; the watch goes on.
    #[default]
    Warn,
    /// Ends the watch with exit 1 (unless `--keep-going`): roll the deployment back.
    Rollback,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Warn => "warn",
            Severity::Rollback => "rollback",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.trim() {
            "warn" => Some(Severity::Warn),
            "rollback" => Some(Severity::Rollback),
            _ => None,
        }
    }
}

/// A named rule with its severity.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub severity: Severity,
    /// The rule as written, for events and reports.
    pub expr: String,
    pub condition: Condition,
    /// How long the condition must hold before the rule fires, and (hysteresis) how long it
    /// must be clear before a firing rule resolves. Zero: at once.
    pub hold: Duration,
}

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The run failed (any check, any step).
    Down,
    /// A latency statistic of each run, over all request steps, one step or end to end.
    Latency {
        scope: Scope,
        metric: Metric,
        comparison: Comparison,
        /// Milliseconds.
        limit_ms: f64,
    },
    /// The statistic against `ratio` × the baseline report's value of the same statistic.
    Baseline {
        scope: Scope,
        metric: Metric,
        comparison: Comparison,
        ratio: f64,
    },
    /// The share of failed runs in the trailing `hold` window (the whole watch without one).
    ErrorRate { comparison: Comparison, rate: f64 },
    /// The share of passed runs since the watch began.
    Uptime { comparison: Comparison, ratio: f64 },
    /// A scraped metric's value.
    Metric {
        selector: Selector,
        comparison: Comparison,
        value: f64,
    },
    /// A scraped metric's relative growth against its value `period` earlier.
    Growth {
        selector: Selector,
        comparison: Comparison,
        ratio: f64,
        period: Duration,
    },
}

/// Which samples a latency statistic is taken over.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every request step (`http`, `inject`).
    Requests,
    /// The end-to-end (`await`) samples.
    E2e,
    /// One step by name.
    Step(String),
}

/// `name{label="value",…}`: a metric and the labels a series must carry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    pub name: String,
    pub labels: Vec<(String, String)>,
}

impl Selector {
    /// Whether a series of this name with these labels is one the selector means.
    pub fn matches(&self, name: &str, labels: &[(String, String)]) -> bool {
        name == self.name && self.labels.iter().all(|want| labels.contains(want))
    }
}

/// `p95 < 500ms`, `error_rate < 1%`, … as declared, with where it was declared.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSpec {
    pub span: Span,
    /// The expression as written, for reports.
    pub expr: String,
    /// Which samples: the step's own (or all steps') latencies, or end-to-end (`e2e p95 < 5s`).
    pub series: Series,
    pub metric: Metric,
    pub comparison: Comparison,
    /// Milliseconds for latency metrics, a ratio in 0..=1 for `error_rate`, a plain number
    /// for `count` and `rps`.
    pub value: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Series {
    #[default]
    Latency,
    /// Injected message → observed reply (the `e2e` prefix).
    E2e,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    P50,
    P90,
    P95,
    P99,
    Max,
    Mean,
    ErrorRate,
    Count,
    Rps,
    /// `harness load` (open model): dropped arrivals over planned arrivals.
    DroppedRate,
}
