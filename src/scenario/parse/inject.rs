//! `inject:` — a customer's message (every inbound type both providers deliver), or a raw
//! webhook posted straight to the app.

use super::node::{optional, pairs, Ctx, Entry, Fields};
use crate::scenario::model::{
    Body, Content, CustomerMessage, Inject, InjectMedia, MediaSource, RawWebhook, Signature,
};

/// The keys of a customer message (everything but the raw-webhook ones).
const CUSTOMER_KEYS: &[&str] = &[
    "from",
    "name",
    "tenant",
    "group",
    "lid",
    "username",
    "hide_phone",
    "reply_to",
];
const CONTENT_KEYS: &[&str] = &[
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
    "button_reply",
    "list_reply",
    "button",
    "flow_reply",
];
const REPLY_KEYS: &[&str] = &["id", "title", "description"];
const MEDIA_KEYS: &[&str] = &["file", "bytes", "generated", "mime", "caption", "filename"];
const LOCATION_KEYS: &[&str] = &["latitude", "longitude", "name", "address"];
const CONTACT_KEYS: &[&str] = &["name", "phone"];
const REACTION_KEYS: &[&str] = &["emoji", "to_message"];
const BUTTON_KEYS: &[&str] = &["payload", "text"];
const FLOW_KEYS: &[&str] = &["response", "body"];
const RAW_KEYS: &[&str] = &["json", "body"];
/// The keys of a raw webhook.
const RAW_INJECT_KEYS: &[&str] = &["raw", "url", "headers", "signature"];

pub(super) fn inject(ctx: &mut Ctx, entry: &Entry) -> Option<Inject> {
    if super::deps::is_payment(entry.value) {
        return super::deps::payment(ctx, entry).map(Inject::Payment);
    }
    let keys: Vec<&str> = CUSTOMER_KEYS
        .iter()
        .chain(CONTENT_KEYS)
        .chain(RAW_INJECT_KEYS)
        .copied()
        .collect();
    let fields = ctx.fields(entry.value, "`inject`", &keys)?;
    if let Some(raw) = fields.get("raw") {
        return raw_inject(ctx, &fields, raw);
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
    let text = |ctx: &mut Ctx, key| fields.get(key).map(|e| ctx.text(e));
    let name = text(ctx, "name");
    let reply_to = text(ctx, "reply_to");
    let tenant = fields.get("tenant").map(|e| ctx.non_empty_string(e));
    let group = fields.get("group").map(|e| ctx.non_empty_string(e));
    let lid = fields.get("lid").map(|e| ctx.boolean(e));
    let username = text(ctx, "username");
    let hide_phone = fields.get("hide_phone").map(|e| ctx.boolean(e));
    let content = one_content(ctx, entry, &fields);
    Some(Inject::Customer(CustomerMessage {
        from: from?,
        name: optional(name)?,
        tenant: optional(tenant)?,
        content: content?,
        reply_to: optional(reply_to)?,
        group: optional(group)?,
        lid: optional(lid)?.unwrap_or(false),
        username: optional(username)?,
        hide_phone: optional(hide_phone)?.unwrap_or(false),
    }))
}

fn raw_inject(ctx: &mut Ctx, fields: &Fields, raw: &Entry) -> Option<Inject> {
    for key in CUSTOMER_KEYS.iter().chain(CONTENT_KEYS) {
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
    Some(Inject::Raw(RawWebhook {
        url: optional(url)?,
        headers: headers.unwrap_or(Some(Vec::new()))?,
        body: body?,
        signature: signature.unwrap_or(Some(Signature::Valid))?,
    }))
}

/// Exactly one content key.
fn one_content(ctx: &mut Ctx, entry: &Entry, fields: &Fields) -> Option<Content> {
    let present: Vec<&Entry> = CONTENT_KEYS.iter().filter_map(|k| fields.get(k)).collect();
    match present.as_slice() {
        [] => {
            let hint = Some(
                "add `text: \"…\"` (or `image`, `voice`, `location`, `button_reply`, …)"
                    .to_string(),
            );
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
    }
}

fn content(ctx: &mut Ctx, e: &Entry) -> Option<Content> {
    let what = format!("`{}`", e.key);
    match e.key.as_str() {
        "text" => ctx.text(e).map(Content::Text),
        "image" | "audio" | "voice" | "video" | "document" | "sticker" => {
            media(ctx, e).map(Content::Media)
        }
        "location" => location(ctx, e, &what),
        "contacts" => contacts(ctx, e),
        "reaction" => {
            let f = ctx.fields(e.value, &what, REACTION_KEYS)?;
            let emoji = ctx
                .required(&f, "emoji", e.key_node, &what)
                .and_then(|x| ctx.text(x));
            let to = f.get("to_message").map(|x| ctx.text(x));
            Some(Content::Reaction {
                emoji: emoji?,
                to_message: optional(to)?,
            })
        }
        "button" => {
            let f = ctx.fields(e.value, &what, BUTTON_KEYS)?;
            let payload = ctx
                .required(&f, "payload", e.key_node, &what)
                .and_then(|x| ctx.text(x));
            let text = ctx
                .required(&f, "text", e.key_node, &what)
                .and_then(|x| ctx.text(x));
            Some(Content::TemplateButton {
                payload: payload?,
                text: text?,
            })
        }
        "flow_reply" => {
            let f = ctx.fields(e.value, &what, FLOW_KEYS)?;
            let response = ctx
                .required(&f, "response", e.key_node, &what)
                .and_then(|x| ctx.json(x.value));
            let body = f.get("body").map(|x| ctx.text(x));
            Some(Content::FlowReply {
                response: response?,
                body: optional(body)?,
            })
        }
        _ => reply(ctx, e, &what),
    }
}

/// `button_reply` / `list_reply`: `{id, title}` (a list row may have a `description`).
fn reply(ctx: &mut Ctx, e: &Entry, what: &str) -> Option<Content> {
    let fields = ctx.fields(e.value, what, REPLY_KEYS)?;
    let id = ctx
        .required(&fields, "id", e.key_node, what)
        .and_then(|f| ctx.text(f));
    let title = ctx
        .required(&fields, "title", e.key_node, what)
        .and_then(|f| ctx.text(f));
    let description = fields.get("description").map(|f| (f, ctx.text(f)));
    let (id, title) = (id?, title?);
    match (e.key.as_str(), description) {
        ("button_reply", Some((f, _))) => {
            let hint = Some("a reply button has only `id` and `title`".to_string());
            ctx.error(f.key_node, "`description` is for `list_reply`", hint);
            None
        }
        ("button_reply", None) => Some(Content::ButtonReply { id, title }),
        (_, d) => Some(Content::ListReply {
            id,
            title,
            description: optional(d.map(|(_, t)| t))?,
        }),
    }
}

fn media(ctx: &mut Ctx, e: &Entry) -> Option<InjectMedia> {
    let what = format!("`{}`", e.key);
    let f = ctx.fields(e.value, &what, MEDIA_KEYS)?;
    let file = f.get("file").map(|x| (x, ctx.non_empty_string(x)));
    let bytes = f.get("bytes").map(|x| ctx.text(x));
    let generated = f.get("generated").map(|x| (x, ctx.boolean(x)));
    let source = match (file, bytes, generated) {
        (Some((_, path)), None, None) => {
            let path = ctx.base_dir().join(path?);
            if !path.is_file() {
                let x = f.get("file")?;
                let hint = Some("paths are relative to the scenario file".to_string());
                ctx.error(x.value, format!("no file at {}", path.display()), hint);
                return None;
            }
            MediaSource::File(path)
        }
        (None, Some(b), None) => MediaSource::Bytes(b?),
        (None, None, Some((_, Some(true))) | None) => MediaSource::Generated,
        (None, None, Some((x, Some(false)))) => {
            let hint = Some("give `file:` or `bytes:` instead".to_string());
            ctx.error(
                x.value,
                "`generated: false` says where no media comes from",
                hint,
            );
            return None;
        }
        (None, None, Some((_, None))) => return None,
        _ => {
            let hint = Some("one of `file`, `bytes` or `generated`".to_string());
            ctx.error(e.key_node, format!("{what} has more than one source"), hint);
            return None;
        }
    };
    let text = |ctx: &mut Ctx, key| f.get(key).map(|x| ctx.text(x));
    let (mime, caption, filename) = (
        text(ctx, "mime"),
        text(ctx, "caption"),
        text(ctx, "filename"),
    );
    let voice = e.key == "voice";
    Some(InjectMedia {
        kind: match e.key.as_str() {
            "image" => "image",
            "audio" | "voice" => "audio",
            "video" => "video",
            "sticker" => "sticker",
            _ => "document",
        },
        voice,
        source,
        mime: optional(mime)?,
        caption: optional(caption)?,
        filename: optional(filename)?,
    })
}

fn location(ctx: &mut Ctx, e: &Entry, what: &str) -> Option<Content> {
    let f = ctx.fields(e.value, what, LOCATION_KEYS)?;
    let coordinate = |ctx: &mut Ctx, key: &str, limit: f64| {
        let x = ctx.required(&f, key, e.key_node, what)?;
        let n = ctx.number(x)?;
        if n.abs() > limit {
            ctx.error(
                x.value,
                format!("`{key}` must be between -{limit} and {limit}"),
                None,
            );
            return None;
        }
        Some(n)
    };
    let latitude = coordinate(ctx, "latitude", 90.0);
    let longitude = coordinate(ctx, "longitude", 180.0);
    let name = f.get("name").map(|x| ctx.text(x));
    let address = f.get("address").map(|x| ctx.text(x));
    Some(Content::Location {
        latitude: latitude?,
        longitude: longitude?,
        name: optional(name)?,
        address: optional(address)?,
    })
}

/// `contacts: [{name, phone}, …]` (one card may be written without the list).
fn contacts(ctx: &mut Ctx, e: &Entry) -> Option<Content> {
    use saphyr::YamlData;
    let items: Vec<&super::node::Node> = match &super::node::untag(e.value).data {
        YamlData::Sequence(items) if !items.is_empty() => items.iter().collect(),
        YamlData::Mapping(_) => vec![e.value],
        _ => {
            let hint = Some("`contacts: [{ name: Ana, phone: \"+55 11 …\" }]`".to_string());
            ctx.mismatch(e, "a list of `{name, phone}` cards", hint);
            return None;
        }
    };
    let mut cards = Vec::new();
    for item in items {
        let f = ctx.fields(item, "a contact card", CONTACT_KEYS)?;
        let name = ctx
            .required(&f, "name", item, "a contact card")
            .and_then(|x| ctx.text(x));
        let phone = ctx
            .required(&f, "phone", item, "a contact card")
            .and_then(|x| ctx.text(x));
        cards.push((name?, phone?));
    }
    Some(Content::Contacts(cards))
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
