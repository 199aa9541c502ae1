//! The hops of an end-to-end scenario with dependencies: customer message → the app's LLM
//! call → its PMS call → the payment notification → the reply on WhatsApp, each with its
//! latency (a call's from the previous hop; a reply's from the last injection; an injection's
//! until the app answered it).

use serde::{Deserialize, Serialize};

use super::{Latency, StepKind};
use crate::redact::Redactor;
use crate::runner::{StepKind as RunStepKind, StepResult};

/// One hop: an `inject`, an awaited reply or an awaited dependency call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HopReport {
    pub step: String,
    pub line: usize,
    pub kind: StepKind,
    /// `customer` (a WhatsApp message), `payment` (a payment notification), `whatsapp`
    /// (the app's reply), or the dependency's name (`llm`, `pms`).
    pub service: String,
    /// What was observed: `POST /bookings`, the reply's kind; absent when nothing came.
    pub observed: Option<String>,
    pub passed: bool,
    /// Absent when the hop has no sample (nothing came).
    pub latency_ms: Option<Latency>,
}

/// The call that came (`POST /bookings`), as its verdict observed it.
fn awaited_call(s: &StepResult) -> Option<String> {
    s.checks
        .iter()
        .find(|c| c.name == "call" && c.passed && s.response.is_some())
        .map(|c| c.observed.clone())
}

/// The hops of `steps`; empty unless a step awaits a dependency call or injects a payment.
pub fn of_steps(steps: &[StepResult], redactor: &Redactor) -> Vec<HopReport> {
    let payment = |s: &StepResult| s.kind == RunStepKind::Inject && s.service.is_some();
    let any = steps
        .iter()
        .any(|s| s.kind == RunStepKind::Call || payment(s));
    if !any {
        return Vec::new();
    }
    let text = |s: &StepResult, key: &str| {
        s.message
            .as_ref()
            .and_then(|m| m[key].as_str().map(|t| redactor.redact(t)))
    };
    steps
        .iter()
        .filter(|s| !s.skipped && s.kind != RunStepKind::Http)
        .map(|s| {
            let (service, observed) = match s.kind {
                RunStepKind::Call => (
                    s.service.clone().unwrap_or_default(),
                    awaited_call(s).map(|t| redactor.redact(&t)),
                ),
                RunStepKind::Await => ("whatsapp".to_string(), text(s, "kind")),
                _ if payment(s) => ("payment".to_string(), None),
                _ => ("customer".to_string(), None),
            };
            HopReport {
                step: redactor.redact(&s.name),
                line: s.span.line,
                kind: s.kind.into(),
                service,
                observed,
                passed: s.passed,
                latency_ms: s.series.summary().map(Latency::from),
            }
        })
        .collect()
}
