//! Steps: the name, exactly one action (`http`, `inject` or `await`), and the optional
//! `checks`, `capture`, `retry` and `thresholds`.

use std::collections::HashMap;

use super::check::{captures, checks};
use super::node::{pairs, quoted_list, suggest, untag, Ctx, Entry, Node};
use crate::scenario::model::{Action, Body, HttpRequest, Metric, Retry, Step, ThresholdSpec};
use crate::scenario::threshold::parse_threshold;

pub(super) const STEP_KEYS: &[&str] = &[
    "name",
    "http",
    "inject",
    "await",
    "checks",
    "capture",
    "retry",
    "thresholds",
    "provider",
    "faults",
];
/// The keys that say what a step does; a step has exactly one.
const ACTION_KEYS: &[&str] = &["http", "inject", "await", "faults"];
const HTTP_KEYS: &[&str] = &[
    "method", "url", "headers", "query", "json", "body", "timeout",
];
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const RETRY_KEYS: &[&str] = &["interval", "timeout"];
/// `retry:` without `interval:` polls once a second (or at `timeout`, if shorter).
const DEFAULT_RETRY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// `steps:` — a non-empty list of steps with unique names.
pub(super) fn steps(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Step>> {
    let saphyr::YamlData::Sequence(items) = &untag(entry.value).data else {
        let found = super::node::describe(entry.value);
        let message = format!("expected a list of steps for `steps`, found {found}");
        ctx.error(entry.value_node(), message, None);
        return None;
    };
    if items.is_empty() {
        let hint = Some("add at least one step with a `name` and an `http` action".to_string());
        ctx.error(entry.key_node, "`steps` must not be empty", hint);
        return None;
    }
    let mut first_use: HashMap<String, usize> = HashMap::new();
    let parsed: Vec<Option<Step>> = items
        .iter()
        .map(|item| step(ctx, item, &mut first_use))
        .collect();
    parsed.into_iter().collect()
}

fn step(ctx: &mut Ctx, node: &Node, first_use: &mut HashMap<String, usize>) -> Option<Step> {
    let fields = ctx.fields(node, "step", STEP_KEYS)?;
    let name = ctx
        .required(&fields, "name", node, "step")
        .and_then(|e| unique_name(ctx, e, first_use));
    let action = action(ctx, &fields, node);
    let checks = fields.get("checks").map(|e| checks(ctx, e));
    let captures = fields.get("capture").map(|e| captures(ctx, e));
    let retry = fields.get("retry").map(|e| retry(ctx, e));
    let thresholds = fields.get("thresholds").map(|e| thresholds(ctx, e));
    let provider = fields.get("provider").map(|e| super::provider(ctx, e));
    Some(Step {
        name: name?,
        span: super::node::position(node).0,
        action: action?,
        checks: checks.unwrap_or(Some(Vec::new()))?,
        captures: captures.unwrap_or(Some(Vec::new()))?,
        retry: super::node::optional(retry)?,
        thresholds: thresholds.unwrap_or(Some(Vec::new()))?,
        provider: super::node::optional(provider)?,
    })
}

fn unique_name(
    ctx: &mut Ctx,
    entry: &Entry,
    first_use: &mut HashMap<String, usize>,
) -> Option<String> {
    let name = ctx.non_empty_string(entry)?;
    let line = entry.value.span.start.line();
    if let Some(first) = first_use.get(&name) {
        let hint = Some(format!(
            "step names must be unique; `{name}` is first used at line {first}"
        ));
        ctx.error(entry.value, format!("duplicate step name `{name}`"), hint);
        return None;
    }
    first_use.insert(name.clone(), line);
    Some(name)
}

/// Exactly one of [`ACTION_KEYS`].
fn action(ctx: &mut Ctx, fields: &super::node::Fields, step: &Node) -> Option<Action> {
    let present: Vec<&Entry> = ACTION_KEYS.iter().filter_map(|k| fields.get(k)).collect();
    match present.as_slice() {
        [] => {
            let hint = Some(format!("add one of {}", quoted_list(ACTION_KEYS)));
            ctx.error(step, "step has no action", hint);
            None
        }
        [entry] if entry.key == "http" => http(ctx, entry).map(Action::Http),
        [entry] if entry.key == "inject" => super::inject::inject(ctx, entry).map(Action::Inject),
        [entry] if entry.key == "faults" => super::deps::faults(ctx, entry).map(Action::Faults),
        [entry] if super::deps::is_call(entry) => {
            super::deps::await_call(ctx, entry).map(Action::Call)
        }
        [entry] => super::e2e::await_(ctx, entry).map(Action::Await),
        [first, rest @ ..] => {
            for extra in rest {
                let message = format!(
                    "step has several actions: `{}` and `{}`",
                    first.key, extra.key
                );
                let hint = Some("a step does one thing: split it into two steps".to_string());
                ctx.error(extra.key_node, message, hint);
            }
            None
        }
    }
}

fn http(ctx: &mut Ctx, entry: &Entry) -> Option<HttpRequest> {
    let fields = ctx.fields(entry.value, "`http`", HTTP_KEYS)?;
    let method = match fields.get("method") {
        Some(e) => method(ctx, e),
        None => Some("GET".to_string()),
    };
    let url = ctx
        .required(&fields, "url", entry.key_node, "`http`")
        .and_then(|e| ctx.non_empty_string(e));
    let headers = fields.get("headers").map(|e| pairs(ctx, e, true));
    let query = fields.get("query").map(|e| pairs(ctx, e, false));
    let body = match (fields.get("json"), fields.get("body")) {
        (Some(json), Some(raw)) => {
            let later = if json.key_node.span.start.index() > raw.key_node.span.start.index() {
                json
            } else {
                raw
            };
            let hint = Some("`json` sends a JSON document, `body` raw text: keep one".to_string());
            ctx.error(
                later.key_node,
                "`json` and `body` are mutually exclusive",
                hint,
            );
            None
        }
        (Some(json), None) => ctx.json(json.value).map(|v| Some(Body::Json(v))),
        (None, Some(raw)) => ctx.string(raw).map(|s| Some(Body::Raw(s))),
        (None, None) => Some(None),
    };
    let timeout = fields.get("timeout").map(|e| ctx.duration(e));
    Some(HttpRequest {
        method: method?,
        url: url?,
        headers: headers.unwrap_or(Some(Vec::new()))?,
        query: query.unwrap_or(Some(Vec::new()))?,
        body: body?,
        timeout: super::node::optional(timeout)?,
    })
}

/// An HTTP method, case-insensitive, stored upper-case.
fn method(ctx: &mut Ctx, entry: &Entry) -> Option<String> {
    let method = ctx.string(entry)?.to_ascii_uppercase();
    if METHODS.contains(&method.as_str()) {
        return Some(method);
    }
    let hint = match suggest(&method, METHODS) {
        Some(close) => format!("did you mean `{close}`?"),
        None => format!("expected one of {}", METHODS.join(", ")),
    };
    ctx.error(
        entry.value,
        format!("unknown HTTP method `{method}`"),
        Some(hint),
    );
    None
}

/// `retry: { interval: 500ms, timeout: 10s }` — `timeout` required, `interval` defaults to 1s.
fn retry(ctx: &mut Ctx, entry: &Entry) -> Option<Retry> {
    let fields = ctx.fields(entry.value, "`retry`", RETRY_KEYS)?;
    let interval = fields.get("interval").map(|e| (e, ctx.duration(e)));
    let timeout = ctx
        .required(&fields, "timeout", entry.key_node, "`retry`")
        .and_then(|e| ctx.duration(e))?;
    let interval = match interval {
        None => DEFAULT_RETRY_INTERVAL.min(timeout),
        Some((_, None)) => return None,
        Some((e, Some(interval))) if interval > timeout => {
            let message = "`interval` is longer than `timeout`: the step would be tried once";
            ctx.error(e.value, message, None);
            return None;
        }
        Some((_, Some(interval))) => interval,
    };
    Some(Retry { interval, timeout })
}

/// `thresholds:` — a list of expressions, at scenario or step level.
pub(super) fn thresholds(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<ThresholdSpec>> {
    thresholds_at(ctx, entry, false)
}

/// `thresholds:` of the scenario: `dropped_rate` is allowed there only (arrivals belong to
/// the whole load, not to a step).
pub(super) fn scenario_thresholds(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<ThresholdSpec>> {
    thresholds_at(ctx, entry, true)
}

fn thresholds_at(ctx: &mut Ctx, entry: &Entry, scenario: bool) -> Option<Vec<ThresholdSpec>> {
    let saphyr::YamlData::Sequence(items) = &untag(entry.value).data else {
        let found = super::node::describe(entry.value);
        let message = format!("expected a list for `thresholds`, found {found}");
        let hint = Some("e.g. `thresholds: [\"p95 < 500ms\", \"error_rate < 1%\"]`".to_string());
        ctx.error(entry.value_node(), message, hint);
        return None;
    };
    let parsed: Vec<Option<ThresholdSpec>> = items
        .iter()
        .map(|item| {
            let saphyr::YamlData::Value(saphyr::Scalar::String(expr)) = &untag(item).data else {
                let found = super::node::describe(item);
                let message = format!("expected a threshold expression (a string), found {found}");
                ctx.error(item, message, None);
                return None;
            };
            match parse_threshold(expr) {
                Ok((_, Metric::DroppedRate, ..)) if !scenario => {
                    let message = "`dropped_rate` belongs in the scenario's `thresholds:`, not a step's: arrivals are dropped for the whole iteration";
                    ctx.error(item, message.to_string(), None);
                    None
                }
                Ok((series, metric, comparison, value)) => Some(ThresholdSpec {
                    span: super::node::position(item).0,
                    expr: expr.trim().to_string(),
                    series,
                    metric,
                    comparison,
                    value,
                }),
                Err(e) => {
                    ctx.error(item, format!("invalid threshold: {e}"), None);
                    None
                }
            }
        })
        .collect();
    parsed.into_iter().collect()
}
