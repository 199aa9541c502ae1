//! The end-to-end actions: `inject:` (a customer message, or a raw webhook) and `await:` (the
//! app's reply observed at the simulated provider).

use std::time::Duration;

use super::check::{body, jsonpaths};
use super::node::pairs;
use super::node::{Ctx, Entry};
use crate::scenario::model::{
    Await, Body, Content, CustomerMessage, Inject, RawWebhook, Signature,
};

const INJECT_KEYS: &[&str] = &[
    "from",
    "name",
    "tenant",
    "text",
    "button_reply",
    "list_reply",
    "raw",
    "url",
    "headers",
    "signature",
];
const CONTENT_KEYS: &[&str] = &["text", "button_reply", "list_reply"];
const REPLY_KEYS: &[&str] = &["id", "title"];
const RAW_KEYS: &[&str] = &["json", "body"];
const AWAIT_KEYS: &[&str] = &["to", "tenant", "text", "jsonpath", "timeout", "expect"];

/// How long `await` waits when it says nothing.
pub const DEFAULT_AWAIT_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn inject(ctx: &mut Ctx, entry: &Entry) -> Option<Inject> {
    let fields = ctx.fields(entry.value, "`inject`", INJECT_KEYS)?;
    if let Some(raw) = fields.get("raw") {
        for key in [
            "from",
            "name",
            "tenant",
            "text",
            "button_reply",
            "list_reply",
        ] {
            if let Some(e) = fields.get(key) {
                let hint = Some(
                    "`raw` posts a payload as written: drop `{key}` or `raw`".replace("{key}", key),
                );
                ctx.error(e.key_node, format!("`{key}` does not go with `raw`"), hint);
            }
        }
        let body = raw_body(ctx, raw);
        let url = fields.get("url").map(|e| ctx.non_empty_string(e));
        let headers = fields.get("headers").map(|e| pairs(ctx, e, true));
        let signature = fields.get("signature").map(|e| signature(ctx, e));
        return Some(Inject::Raw(RawWebhook {
            url: super::node::optional(url)?,
            headers: headers.unwrap_or(Some(Vec::new()))?,
            body: body?,
            signature: signature.unwrap_or(Some(Signature::Valid))?,
        }));
    }
    for key in ["url", "headers", "signature"] {
        if let Some(e) = fields.get(key) {
            let hint = Some("`url`, `headers` and `signature` are for `raw` payloads".to_string());
            ctx.error(e.key_node, format!("`{key}` goes with `raw` only"), hint);
        }
    }
    let from = ctx
        .required(&fields, "from", entry.key_node, "`inject`")
        .and_then(|e| ctx.non_empty_string(e));
    let name = fields.get("name").map(|e| ctx.text(e));
    let tenant = fields.get("tenant").map(|e| ctx.non_empty_string(e));
    let present: Vec<&Entry> = CONTENT_KEYS.iter().filter_map(|k| fields.get(k)).collect();
    let content = match present.as_slice() {
        [] => {
            let hint = Some("add `text: \"…\"` (or `button_reply` / `list_reply`)".to_string());
            ctx.error(
                entry.key_node,
                "`inject` says nothing: no message content",
                hint,
            );
            None
        }
        [e] => content(ctx, e),
        [first, second, ..] => {
            let message = format!(
                "`{}` and `{}` are mutually exclusive",
                first.key, second.key
            );
            ctx.error(
                second.key_node,
                message,
                Some("a message has one content".to_string()),
            );
            None
        }
    };
    Some(Inject::Customer(CustomerMessage {
        from: from?,
        name: super::node::optional(name)?,
        tenant: super::node::optional(tenant)?,
        content: content?,
    }))
}

fn content(ctx: &mut Ctx, e: &Entry) -> Option<Content> {
    if e.key == "text" {
        return ctx.text(e).map(Content::Text);
    }
    let what = format!("`{}`", e.key);
    let fields = ctx.fields(e.value, &what, REPLY_KEYS)?;
    let id = ctx
        .required(&fields, "id", e.key_node, &what)
        .and_then(|f| ctx.text(f));
    let title = ctx
        .required(&fields, "title", e.key_node, &what)
        .and_then(|f| ctx.text(f));
    let (id, title) = (id?, title?);
    Some(match e.key.as_str() {
        "button_reply" => Content::ButtonReply { id, title },
        _ => Content::ListReply { id, title },
    })
}

fn raw_body(ctx: &mut Ctx, entry: &Entry) -> Option<Body> {
    let fields = ctx.fields(entry.value, "`raw`", RAW_KEYS)?;
    match (fields.get("json"), fields.get("body")) {
        (Some(j), None) => ctx.json(j.value).map(Body::Json),
        (None, Some(b)) => ctx.string(b).map(Body::Raw),
        (Some(_), Some(b)) => {
            ctx.error(b.key_node, "`json` and `body` are mutually exclusive", None);
            None
        }
        (None, None) => {
            let hint = Some("`raw: { json: {...} }` or `raw: { body: \"text\" }`".to_string());
            ctx.error(entry.key_node, "`raw` needs `json` or `body`", hint);
            None
        }
    }
}

fn signature(ctx: &mut Ctx, e: &Entry) -> Option<Signature> {
    let value = ctx.string(e)?;
    let sig = match value.as_str() {
        "valid" => Some(Signature::Valid),
        "invalid" => Some(Signature::Invalid),
        "none" => Some(Signature::None),
        _ => None,
    };
    if sig.is_none() {
        let hint = Some("use `valid`, `invalid` or `none`".to_string());
        ctx.error(e.value_node(), format!("unknown signature `{value}`"), hint);
    }
    sig
}

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
