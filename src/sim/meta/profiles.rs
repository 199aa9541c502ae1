//! Fault profiles shipped for the Meta simulator (`mocks/meta/faults/*.yaml`), embedded in the
//! binary so they work from any directory; a file on disk (`--faults FILE`) overrides them.

use crate::sim::faults::{FaultError, FaultProfile};

/// `(name, YAML text)` of every built-in profile.
pub const FAULT_PROFILES: &[(&str, &str)] = &[
    (
        "throttled",
        include_str!("../../../mocks/meta/faults/throttled.yaml"),
    ),
    (
        "flaky",
        include_str!("../../../mocks/meta/faults/flaky.yaml"),
    ),
    (
        "outage",
        include_str!("../../../mocks/meta/faults/outage.yaml"),
    ),
];

/// The built-in profile called `name`, parsed; `None` if there is no such profile.
pub fn builtin_fault_profile(name: &str) -> Option<Result<FaultProfile, FaultError>> {
    FAULT_PROFILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| FaultProfile::parse(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::{decide, Draws, Outcome, RequestInfo};
    use std::time::Duration;

    fn draws(error: f64) -> Draws {
        Draws {
            error,
            reset: 0.999,
            latency: [0.5, 0.5],
        }
    }

    #[test]
    fn every_builtin_profile_parses() {
        for (name, _) in FAULT_PROFILES {
            let p = builtin_fault_profile(name).unwrap().unwrap();
            assert!(!p.rules.is_empty(), "{name}");
        }
        assert!(builtin_fault_profile("nope").is_none());
    }

    #[test]
    fn throttled_answers_130429_on_both_paths_for_a_fifth_of_draws() {
        let p = builtin_fault_profile("throttled").unwrap().unwrap();
        for path in ["/v25.0/123/messages", "/123/messages"] {
            let req = RequestInfo {
                method: "POST",
                path,
                tenant: Some("123"),
            };
            match decide(&p, &req, Duration::ZERO, &draws(0.1)).outcome {
                Outcome::Respond { status, body, .. } => {
                    assert_eq!(status, 400);
                    assert_eq!(body.unwrap()["error"]["code"], 130429);
                }
                other => panic!("{path}: {other:?}"),
            }
            let pass = decide(&p, &req, Duration::ZERO, &draws(0.5)).outcome;
            assert_eq!(pass, Outcome::Pass, "{path}");
        }
        let media = RequestInfo {
            method: "POST",
            path: "/123/media",
            tenant: Some("123"),
        };
        assert_eq!(
            decide(&p, &media, Duration::ZERO, &draws(0.0)).outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn outage_is_a_recurring_503_window() {
        let p = builtin_fault_profile("outage").unwrap().unwrap();
        let req = RequestInfo {
            method: "POST",
            path: "/v25.0/123/messages",
            tenant: Some("123"),
        };
        let at = |s: u64| decide(&p, &req, Duration::from_secs(s), &draws(0.999)).outcome;
        assert_eq!(at(10), Outcome::Pass);
        assert!(matches!(at(60), Outcome::Respond { status: 503, .. }));
        assert_eq!(at(200), Outcome::Pass);
        assert!(matches!(at(630), Outcome::Respond { status: 503, .. }));
    }
}
