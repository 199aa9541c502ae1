//! `dependencies:`, `await: { call }`, `inject: { payment }` and `faults:`.

use super::{errors, ok};
use crate::scenario::model::*;

const DEPS: &str = "name: t\ndependencies:\n  llm: { kind: openai, rules: m/llm.yaml }\n  pms: { kind: http, stubs: m/pms.yaml, port: 8092 }\n  pay: { kind: payments }\nsteps:\n";

#[test]
fn dependencies_and_their_steps_read_into_the_model() {
    let s = ok(&format!(
        "{DEPS}  - name: a\n    await: {{ call: {{ service: pms, method: post, path: /bookings, jsonpath: {{ $.name: Ana }}, body: {{ not_contains: \"5511\" }}, timeout: 2s }} }}\n  - name: b\n    inject: {{ payment: {{ status: approved, amount: 30, duplicate: true }} }}\n  - name: c\n    faults: {{ service: llm, rules: [ {{ endpoint: /v1/*, error: {{ rate: 1, status: 429 }} }} ] }}\n  - name: d\n    faults: {{ service: provider, clear: true }}\n"
    ));
    assert_eq!(s.dependencies.len(), 3);
    assert_eq!(s.dependencies[1].kind, DependencyKind::Http);
    assert_eq!(s.dependencies[1].port, Some(8092));
    assert!(s.dependencies[0]
        .rules
        .as_ref()
        .unwrap()
        .path
        .ends_with("m/llm.yaml"));
    let Action::Call(c) = &s.steps[0].action else {
        panic!()
    };
    assert_eq!(
        (c.service.as_str(), c.method.as_deref()),
        ("pms", Some("POST"))
    );
    assert_eq!(c.matchers.len(), 2);
    assert_eq!(c.timeout, std::time::Duration::from_secs(2));
    let Action::Inject(Inject::Payment(p)) = &s.steps[1].action else {
        panic!()
    };
    assert_eq!((p.service.as_deref(), p.duplicates), (Some("pay"), 1));
    assert_eq!(p.amount.as_deref(), Some("30"));
    let Action::Faults(f) = &s.steps[2].action else {
        panic!()
    };
    assert!(
        matches!(&f.profile, FaultsSource::Inline(v) if v["rules"][0]["error"]["status"] == 429)
    );
    let Action::Faults(f) = &s.steps[3].action else {
        panic!()
    };
    assert_eq!(
        (f.service.as_str(), &f.profile),
        ("provider", &FaultsSource::Clear)
    );
}

#[test]
fn what_is_wrong_with_dependencies_is_said_where_it_is_written() {
    let e = errors("name: t\ndependencies:\n  a: { kind: grpc }\n  pms: { kind: http }\n  llm: { kind: openai, stubs: x.yaml }\nsteps:\n  - name: s\n    inject: { payment: { status: approved } }\n  - name: f\n    faults: { service: llm, clear: true, rules: [] }\n");
    assert_eq!(
        e,
        [
            "3:14 (4) unknown dependency kind `grpc` [one of openai, payments, http]",
            "4:3 (3) dependency `pms` of kind `http` needs `stubs` [e.g. `stubs: mocks/pms.yaml` (routes in YAML, docs/dependencies.md)]",
            "5:24 (5) `stubs` is for a dependency of kind `http`",
            "8:15 (7) a payment inject needs a dependency of kind `payments` [declare one: `dependencies: { payments: { kind: payments } }`]",
            "10:5 (6) `faults` sets one profile [one of `rules: [...]`, `profile: FILE` or `clear: true`]",
        ]
    );
}

#[test]
fn a_service_must_be_declared_and_of_the_right_kind() {
    let e = errors(&format!(
        "{DEPS}  - name: a\n    await: {{ call: {{ service: pmx }} }}\n  - name: b\n    inject: {{ payment: {{ service: llm }} }}\n  - name: c\n    await: {{ call: {{ path: /x }}, to: x }}\n"
    ));
    assert_eq!(
        e,
        [
            "8:31 (3) unknown service `pmx` [did you mean `pms`?]",
            "10:35 (3) `llm` is a dependency of kind `openai`, not `payments`",
            "12:14 (4) missing required key `service` in `call`",
            "12:34 (2) unknown key `to` in `await` of a call [expected one of `call`]",
        ]
    );
}
