//! `await:` — the app's reply observed at the simulated provider (`inject:` is in
//! [`super::inject`]).

use std::time::Duration;

use super::check::{body, jsonpaths};
use super::node::{Ctx, Entry};
use crate::scenario::model::Await;

const AWAIT_KEYS: &[&str] = &["to", "tenant", "text", "jsonpath", "timeout", "expect"];

/// How long `await` waits when it says nothing.
pub const DEFAULT_AWAIT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn await_(ctx: &mut Ctx, entry: &Entry) -> Option<Await> {
    let fields = ctx.fields(entry.value, "`await`", AWAIT_KEYS)?;
    let to = fields.get("to").map(|e| ctx.non_empty_string(e));
    let tenant = fields.get("tenant").map(|e| ctx.non_empty_string(e));
    let text = fields.get("text").map(|e| body(ctx, e));
    let jsonpath = fields.get("jsonpath").map(|e| jsonpaths(ctx, e));
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
    matchers.extend(jsonpath.unwrap_or(Some(Vec::new()))?);
    Some(Await {
        to: super::node::optional(to)?,
        tenant: super::node::optional(tenant)?,
        matchers,
        timeout: super::node::optional(timeout)?.unwrap_or(DEFAULT_AWAIT_TIMEOUT),
        expect_none: expect_none?,
    })
}
