//! `harness watch`'s logic as pure code: alert rules ([`crate::scenario::watch_rule`], the scenario format's grammar), their evaluation over a
//! timeline of run records ([`eval`]), and the incidents and uptime the timeline shows.
//! Nothing here reads a clock or the network: time is each record's `at_ms`, so 48 hours of a
//! watch replay in milliseconds in tests.

pub mod eval;
pub mod exposition;
pub mod history;
pub mod record;

pub use crate::scenario::watch_rule::{
    parse_flag, parse_rule, Condition, Rule, Scope, Selector, Severity,
};
pub use eval::{Evaluator, Event, EventKind, Incident, RunRecord, Sample};
