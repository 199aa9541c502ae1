//! Before a run (and in `harness validate`): the files a scenario's dependencies name parse
//! with the simulators' own readers, the `faults:` steps' profiles are valid, and no step
//! observes or drives a dependency the target makes real. Each problem is a diagnostic at the
//! scenario's `file:line:col` (exit 2), before anything starts.

use crate::scenario::targets::{ProviderMode, TargetDependency};
use crate::scenario::{Action, Diagnostic, FaultsSource, FileRef, Inject, Scenario, Span};
use crate::sim::faults::FaultProfile;

/// Every problem with the files and profiles `scenario` names.
pub fn files(scenario: &Scenario) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    let mut check = |f: &FileRef, what: &str, r: Result<(), String>| {
        if let Err(e) = r {
            let hint = format!("the {what} file, relative to the scenario's folder");
            found.push(
                Diagnostic::new(&scenario.path, f.span, e)
                    .with_len(1)
                    .with_hint(hint),
            );
        }
    };
    for d in &scenario.dependencies {
        if let Some(f) = &d.rules {
            let r = crate::sim::openai::Rules::load(&f.path);
            check(f, "LLM rules", r.map(drop).map_err(|e| e.to_string()));
        }
        if let Some(f) = &d.stubs {
            let r = crate::sim::stubs::StubsFile::load(&f.path);
            check(f, "stubs", r.map(drop).map_err(|e| e.to_string()));
        }
        if let Some(f) = &d.faults {
            let r = FaultProfile::load(&f.path);
            check(f, "fault profile", r.map(drop).map_err(|e| e.to_string()));
        }
    }
    let mut inline: Vec<(Span, String)> = Vec::new();
    for step in &scenario.steps {
        let Action::Faults(spec) = &step.action else {
            continue;
        };
        match &spec.profile {
            FaultsSource::File(f) => {
                let r = FaultProfile::load(&f.path);
                check(f, "fault profile", r.map(drop).map_err(|e| e.to_string()));
            }
            FaultsSource::Inline(v) => {
                if let Err(e) = serde_json::from_value::<FaultProfile>(v.clone()) {
                    inline.push((step.span, format!("invalid fault profile: {e}")));
                }
            }
            FaultsSource::Clear => {}
        }
    }
    found.extend(inline.into_iter().map(|(span, message)| {
        Diagnostic::new(&scenario.path, span, message)
            .with_hint("the format of `--faults FILE` (docs/simulators.md#faults)")
    }));
    found
}

/// Steps that observe or drive a dependency the target makes real: refused, since a real
/// service has no journal to read and no control API.
pub fn real(scenario: &Scenario, target: &[TargetDependency]) -> Vec<Diagnostic> {
    let is_real = |name: &str| {
        target
            .iter()
            .any(|t| t.name == name && t.mode == ProviderMode::Real)
    };
    let mut found = Vec::new();
    for step in &scenario.steps {
        let (service, what) = match &step.action {
            Action::Call(c) => (Some(c.service.as_str()), "`await: call`"),
            Action::Faults(f) => (Some(f.service.as_str()), "`faults`"),
            Action::Inject(Inject::Payment(p)) => (p.service.as_deref(), "`inject: payment`"),
            _ => (None, ""),
        };
        let Some(service) = service.filter(|s| is_real(s)) else {
            continue;
        };
        found.push(refusal(scenario, step.span, service, what));
    }
    found
}

fn refusal(scenario: &Scenario, span: Span, service: &str, what: &str) -> Diagnostic {
    let message = format!(
        "{what} on `{service}`, which this target makes real: only a simulated dependency has a journal to await and a control API to drive"
    );
    let hint = format!(
        "run against a target where `{service}` is `mode: simulated` (the default), or leave this step out"
    );
    Diagnostic::new(&scenario.path, span, message).with_hint(hint)
}
