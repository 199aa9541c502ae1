//! `await:` — the app's reply observed at the simulated provider (`inject:` is in
//! [`super::inject`]).

use std::time::Duration;

use super::check::{body, jsonpaths};
use super::node::{position, suggest, Ctx, Entry};
use crate::scenario::model::{Await, Check, Predicate, Subject};

const AWAIT_KEYS: &[&str] = &[
    "to", "tenant", "text", "kind", "buttons", "list", "jsonpath", "timeout", "expect",
];

/// The provider-neutral kinds of an outbound message (`crate::sim::neutral`).
const KINDS: &[&str] = &[
    "text",
    "image",
    "audio",
    "voice",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "reaction",
    "buttons",
    "list",
    "template",
    "poll",
    "cta_url",
    "flow",
    "carousel",
    "location_request",
    "call_permission",
    "product",
    "status",
    "other",
];

/// `kind: list` — the message's neutral kind.
fn kind(ctx: &mut Ctx, e: &Entry) -> Option<Check> {
    let k = ctx.string(e)?;
    if !KINDS.contains(&k.as_str()) {
        let hint = match suggest(&k, KINDS) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("one of {}", super::node::quoted_list(KINDS)),
        };
        ctx.error(
            e.value_node(),
            format!("unknown message kind `{k}`"),
            Some(hint),
        );
        return None;
    }
    Some(Check {
        span: position(e.key_node).0,
        subject: Subject::JsonPath("$.kind".into()),
        predicate: Predicate::Equals(serde_json::json!(k)),
    })
}

/// `buttons: [Sí, No]` / `list: ["09:00", "10:00"]` — the titles, in order, of the reply
/// buttons or of every list row.
fn titles(ctx: &mut Ctx, e: &Entry) -> Option<Check> {
    let value = ctx.json(e.value)?;
    let titles = match value {
        serde_json::Value::Array(items)
            if !items.is_empty() && items.iter().all(|i| i.is_string()) =>
        {
            items
        }
        _ => {
            let hint = Some(format!("`{}: [Reservar, Cancelar]`", e.key));
            ctx.mismatch(e, "a list of titles", hint);
            return None;
        }
    };
    let path = match e.key.as_str() {
        "buttons" => "$.buttons[*].title",
        _ => "$.list.sections[*].rows[*].title",
    };
    // One match is the value itself, several an array (see `Subject::JsonPath`).
    let expected = match titles.as_slice() {
        [one] => one.clone(),
        _ => serde_json::Value::Array(titles),
    };
    Some(Check {
        span: position(e.key_node).0,
        subject: Subject::JsonPath(path.into()),
        predicate: Predicate::Equals(expected),
    })
}

/// How long `await` waits when it says nothing.
pub const DEFAULT_AWAIT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn await_(ctx: &mut Ctx, entry: &Entry) -> Option<Await> {
    let fields = ctx.fields(entry.value, "`await`", AWAIT_KEYS)?;
    let to = fields.get("to").map(|e| ctx.non_empty_string(e));
    let tenant = fields.get("tenant").map(|e| ctx.non_empty_string(e));
    let text = fields.get("text").map(|e| body(ctx, e));
    let jsonpath = fields.get("jsonpath").map(|e| jsonpaths(ctx, e));
    let neutral: Vec<Option<Check>> = [
        fields.get("kind").map(|e| kind(ctx, e)),
        fields.get("buttons").map(|e| titles(ctx, e)),
        fields.get("list").map(|e| titles(ctx, e)),
    ]
    .into_iter()
    .flatten()
    .collect();
    let timeout = fields.get("timeout").map(|e| ctx.duration(e));
    let expect_none = match fields.get("expect") {
        None => Some(false),
        Some(e) => match ctx.string(e).as_deref() {
            Some("none") => Some(true),
            Some("message") => Some(false),
            Some(other) => {
                let hint = Some(
                    "`expect: none` waits for silence; `message` (the default) for a reply"
                        .to_string(),
                );
                ctx.error(
                    e.value_node(),
                    format!("unknown expectation `{other}`"),
                    hint,
                );
                None
            }
            None => None,
        },
    };
    let mut matchers = text.unwrap_or(Some(Vec::new()))?;
    matchers.extend(neutral.into_iter().collect::<Option<Vec<_>>>()?);
    matchers.extend(jsonpath.unwrap_or(Some(Vec::new()))?);
    Some(Await {
        to: super::node::optional(to)?,
        tenant: super::node::optional(tenant)?,
        matchers,
        timeout: super::node::optional(timeout)?.unwrap_or(DEFAULT_AWAIT_TIMEOUT),
        expect_none: expect_none?,
    })
}
