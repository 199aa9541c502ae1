//! The app's other dependencies: `dependencies:`, `await: { call: … }`, `inject: { payment:
//! … }` and the `faults:` step. Every service a step names must be declared under
//! `dependencies:` (read before the steps, into [`Ctx::services`]); the files the entries
//! name are checked against the simulators' own parsers before a run (`crate::dependencies`).

use super::check::{body, jsonpaths};
use super::node::{is_identifier, optional, position, suggest, untag, Ctx, Entry, Node};
use crate::scenario::model::{
    AwaitCall, Dependency, DependencyKind, FaultsSource, FaultsStep, FileRef, PaymentInject,
};

const DEPENDENCY_KEYS: &[&str] = &["kind", "rules", "stubs", "faults", "port"];
const CALL_KEYS: &[&str] = &[
    "service", "method", "path", "body", "jsonpath", "headers", "timeout", "expect",
];
const PAYMENT_KEYS: &[&str] = &[
    "service",
    "status",
    "external_reference",
    "amount",
    "payment_id",
    "url",
    "duplicate",
    "duplicates",
    "timeout",
];
const FAULTS_KEYS: &[&str] = &["service", "rules", "profile", "clear"];
/// The name a `faults:` step gives the WhatsApp provider's simulator.
pub const PROVIDER_SERVICE: &str = "provider";
/// How long `await: { call }` and a payment inject wait when they say nothing.
const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `dependencies:` — name → `{kind, rules, stubs, faults, port}`.
pub(super) fn dependencies(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Dependency>> {
    let mut out = Vec::new();
    let mut complete = true;
    for e in ctx.entries(entry.value, "`dependencies`")? {
        match dependency(ctx, &e) {
            Some(d) => out.push(d),
            None => complete = false,
        }
    }
    complete.then_some(out)
}

fn dependency(ctx: &mut Ctx, e: &Entry) -> Option<Dependency> {
    if !is_identifier(&e.key) || e.key == PROVIDER_SERVICE {
        let hint = "a name of letters, digits and `_` (not `provider`), used as `{{ dependencies.<name>.url }}`";
        let message = format!("invalid dependency name `{}`", e.key);
        ctx.error(e.key_node, message, Some(hint.into()));
        return None;
    }
    let what = format!("dependency `{}`", e.key);
    let fields = ctx.fields(e.value, &what, DEPENDENCY_KEYS)?;
    let kind = ctx.required(&fields, "kind", e.key_node, &what)?;
    let name = ctx.string(kind)?;
    let Some(kind_value) = DependencyKind::parse(&name) else {
        let hint = format!("one of {}", DependencyKind::NAMES.join(", "));
        ctx.error(
            kind.value_node(),
            format!("unknown dependency kind `{name}`"),
            Some(hint),
        );
        return None;
    };
    // Known to the steps even if the rest of the entry is wrong (no cascade of errors).
    ctx.services.push((e.key.clone(), kind_value));
    let rules = fields.get("rules").map(|f| file(ctx, f));
    let stubs = fields.get("stubs").map(|f| file(ctx, f));
    let faults = fields.get("faults").map(|f| file(ctx, f));
    let port = fields.get("port").map(|f| port(ctx, f));
    let mut complete = true;
    for (key, wanted) in [
        ("rules", DependencyKind::Openai),
        ("stubs", DependencyKind::Http),
    ] {
        if let Some(f) = fields.get(key).filter(|_| kind_value != wanted) {
            let message = format!("`{key}` is for a dependency of kind `{}`", wanted.name());
            ctx.error(f.key_node, message, None);
            complete = false;
        }
    }
    if kind_value == DependencyKind::Http && stubs.is_none() {
        let hint = "e.g. `stubs: mocks/pms.yaml` (routes in YAML, docs/dependencies.md)";
        let message = format!("dependency `{}` of kind `http` needs `stubs`", e.key);
        ctx.error(e.key_node, message, Some(hint.into()));
        complete = false;
    }
    let d = Dependency {
        name: e.key.clone(),
        kind: kind_value,
        rules: optional(rules)?,
        stubs: optional(stubs)?,
        faults: optional(faults)?,
        port: optional(port)?,
        span: position(e.key_node).0,
    };
    complete.then_some(d)
}

/// A file named in the scenario, relative to its folder.
fn file(ctx: &mut Ctx, e: &Entry) -> Option<FileRef> {
    let path = ctx.non_empty_string(e)?;
    Some(FileRef {
        path: ctx.base_dir().join(path),
        span: position(e.value).0,
    })
}

fn port(ctx: &mut Ctx, e: &Entry) -> Option<u16> {
    let n = ctx.number(e)?;
    if n.fract() == 0.0 && (0.0..=65535.0).contains(&n) {
        return Some(n as u16);
    }
    ctx.mismatch(e, "a port number (0–65535; 0 picks a free one)", None);
    None
}

/// A service a step names: declared under `dependencies:` (and of kind `kind`, if given).
fn service(ctx: &mut Ctx, e: &Entry, kind: Option<DependencyKind>) -> Option<String> {
    let name = ctx.non_empty_string(e)?;
    match ctx.services.iter().find(|(n, _)| *n == name) {
        Some((_, k)) if kind.is_none_or(|want| want == *k) => Some(name),
        Some((_, k)) => {
            let want = kind.map_or("", DependencyKind::name);
            let message = format!(
                "`{name}` is a dependency of kind `{}`, not `{want}`",
                k.name()
            );
            ctx.error(e.value_node(), message, None);
            None
        }
        None => {
            let names: Vec<&str> = ctx.services.iter().map(|(n, _)| n.as_str()).collect();
            let hint = match suggest(&name, &names) {
                Some(close) => format!("did you mean `{close}`?"),
                None if names.is_empty() => {
                    "declare it under `dependencies:` (e.g. `dependencies: { pms: { kind: http, stubs: mocks/pms.yaml } }`)".into()
                }
                None => format!(
                    "declare it under `dependencies:` (declared: {})",
                    names.join(", ")
                ),
            };
            let message = format!("unknown service `{name}`");
            ctx.error(e.value_node(), message, Some(hint));
            None
        }
    }
}

/// Whether an `await:` is `await: { call: … }`.
pub(super) fn is_call(entry: &Entry) -> bool {
    has_key(entry.value, "call")
}

fn has_key(node: &Node, key: &str) -> bool {
    use saphyr::{Scalar, YamlData};
    match &untag(node).data {
        YamlData::Mapping(m) => m.keys().any(
            |k| matches!(&untag(k).data, YamlData::Value(Scalar::String(s)) if s.as_ref() == key),
        ),
        _ => false,
    }
}

/// `await: { call: { service, method, path, body, jsonpath, headers, timeout, expect } }`.
pub(super) fn await_call(ctx: &mut Ctx, entry: &Entry) -> Option<AwaitCall> {
    let outer = ctx.fields(entry.value, "`await` of a call", &["call"])?;
    let call = outer.get("call")?;
    let fields = ctx.fields(call.value, "`call`", CALL_KEYS)?;
    let service = ctx
        .required(&fields, "service", call.key_node, "`call`")
        .and_then(|e| service(ctx, e, None));
    let method = fields
        .get("method")
        .map(|e| ctx.string(e).map(|m| m.to_ascii_uppercase()));
    let path = fields.get("path").map(|e| ctx.non_empty_string(e));
    let mut matchers = Vec::new();
    let mut complete = true;
    for parsed in [
        fields.get("body").map(|e| body(ctx, e)),
        fields.get("jsonpath").map(|e| jsonpaths(ctx, e)),
        fields.get("headers").map(|e| super::check::headers(ctx, e)),
    ] {
        match parsed {
            Some(Some(m)) => matchers.extend(m),
            Some(None) => complete = false,
            None => {}
        }
    }
    let timeout = fields.get("timeout").map(|e| ctx.duration(e));
    let expect_none = fields.get("expect").map(|e| expect(ctx, e));
    let call = AwaitCall {
        service: service?,
        method: optional(method)?,
        path: optional(path)?,
        matchers,
        timeout: optional(timeout)?.unwrap_or(DEFAULT_TIMEOUT),
        expect_none: optional(expect_none)?.unwrap_or(false),
    };
    complete.then_some(call)
}

fn expect(ctx: &mut Ctx, e: &Entry) -> Option<bool> {
    match ctx.string(e)?.as_str() {
        "none" => Some(true),
        "call" => Some(false),
        other => {
            let hint = "`expect: none` waits for no such call; `call` (the default) for one";
            let message = format!("unknown expectation `{other}`");
            ctx.error(e.value_node(), message, Some(hint.into()));
            None
        }
    }
}

/// Whether an `inject:` is `inject: { payment: … }`.
pub(super) fn is_payment(node: &Node) -> bool {
    has_key(node, "payment")
}

/// `inject: { payment: { status, external_reference, amount, payment_id, url, duplicate,
/// duplicates, service, timeout } }`.
pub(super) fn payment(ctx: &mut Ctx, entry: &Entry) -> Option<PaymentInject> {
    let outer = ctx.fields(entry.value, "`inject` of a payment", &["payment"])?;
    let p = outer.get("payment")?;
    let fields = ctx.fields(p.value, "`payment`", PAYMENT_KEYS)?;
    let service = match fields.get("service") {
        Some(e) => service(ctx, e, Some(DependencyKind::Payments)).map(Some),
        None => default_payments(ctx, p.key_node),
    };
    let mut text = |key: &str| fields.get(key).map(|e| ctx.text(e));
    let status = text("status");
    let external_reference = text("external_reference");
    let amount = text("amount");
    let payment_id = text("payment_id");
    let url = text("url");
    let duplicate = fields.get("duplicate").map(|e| ctx.boolean(e));
    let duplicates = fields.get("duplicates").map(|e| {
        let n = ctx.number(e)?;
        let ok = n.fract() == 0.0 && (0.0..=100.0).contains(&n);
        if !ok {
            ctx.mismatch(e, "a whole number of extra copies, 0 to 100", None);
        }
        ok.then_some(n as u32)
    });
    let timeout = fields.get("timeout").map(|e| ctx.duration(e));
    let copies = optional(duplicates)?.unwrap_or(0);
    let duplicate = u32::from(optional(duplicate)?.unwrap_or(false));
    Some(PaymentInject {
        service: service?,
        status: optional(status)?.unwrap_or_else(|| "approved".into()),
        external_reference: optional(external_reference)?,
        amount: optional(amount)?,
        payment_id: optional(payment_id)?,
        url: optional(url)?,
        duplicates: copies.max(duplicate),
        timeout: optional(timeout)?.unwrap_or(DEFAULT_TIMEOUT),
    })
}

/// The scenario's one payments dependency, when the inject names none.
fn default_payments(ctx: &mut Ctx, at: &Node) -> Option<Option<String>> {
    let all: Vec<&String> = ctx
        .services
        .iter()
        .filter(|(_, k)| *k == DependencyKind::Payments)
        .map(|(n, _)| n)
        .collect();
    match all.as_slice() {
        [one] => Some(Some((*one).clone())),
        [] => {
            let hint = "declare one: `dependencies: { payments: { kind: payments } }`";
            ctx.error(
                at,
                "a payment inject needs a dependency of kind `payments`",
                Some(hint.into()),
            );
            None
        }
        _ => {
            let hint = "name it with `service:`";
            ctx.error(
                at,
                "the scenario has several payments dependencies",
                Some(hint.into()),
            );
            None
        }
    }
}

/// `faults: { service, rules | profile | clear }`.
pub(super) fn faults(ctx: &mut Ctx, entry: &Entry) -> Option<FaultsStep> {
    let fields = ctx.fields(entry.value, "`faults`", FAULTS_KEYS)?;
    let service = ctx
        .required(&fields, "service", entry.key_node, "`faults`")
        .and_then(|e| match ctx.string(e) {
            Some(p) if p == PROVIDER_SERVICE => Some(p),
            _ => service(ctx, e, None),
        });
    let given: Vec<&Entry> = ["rules", "profile", "clear"]
        .iter()
        .filter_map(|k| fields.get(k))
        .collect();
    let profile = match given.as_slice() {
        [e] if e.key == "rules" => ctx
            .json(e.value)
            .map(|rules| FaultsSource::Inline(serde_json::json!({ "rules": rules }))),
        [e] if e.key == "profile" => file(ctx, e).map(FaultsSource::File),
        [e] => match ctx.boolean(e) {
            Some(true) => Some(FaultsSource::Clear),
            Some(false) => {
                ctx.error(
                    e.value,
                    "`clear: false` does nothing",
                    Some("remove it".into()),
                );
                None
            }
            None => None,
        },
        _ => {
            let hint = "one of `rules: [...]`, `profile: FILE` or `clear: true`";
            ctx.error(
                entry.key_node,
                "`faults` sets one profile",
                Some(hint.into()),
            );
            None
        }
    };
    Some(FaultsStep {
        service: service?,
        profile: profile?,
    })
}
