//! A customer message of a scenario as the simulators' `POST /__harness/inbound` takes it
//! (the same content keys on both; each simulator shapes it as its provider delivers it).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::http::{ErrorKind, ExchangeError};
use super::template::{Templater, Vars};
use crate::scenario::{Content, CustomerMessage, InjectMedia, MediaSource};

fn invalid(message: impl Into<String>) -> ExchangeError {
    ExchangeError {
        kind: ErrorKind::InvalidRequest,
        message: message.into(),
    }
}

/// The control-API body of `m` (without `from`, `name` and the tenant, which the caller sets).
pub(super) fn customer_body(
    m: &CustomerMessage,
    t: &Templater,
    vars: &Vars,
    meta: bool,
) -> Result<Value, ExchangeError> {
    let r = |s: &String| t.render(s, vars).map_err(ExchangeError::from);
    let ro = |s: &Option<String>| s.as_ref().map(r).transpose();
    let mut body = json!({});
    match &m.content {
        Content::Text(text) => body["text"] = json!(r(text)?),
        Content::ButtonReply { id, title } => {
            body["button_reply"] = json!({"id": r(id)?, "title": r(title)?})
        }
        Content::ListReply {
            id,
            title,
            description,
        } => {
            let mut row = json!({"id": r(id)?, "title": r(title)?});
            if let Some(d) = ro(description)? {
                row["description"] = json!(d);
            }
            body["list_reply"] = row;
        }
        Content::TemplateButton { payload, text } => {
            body["button"] = json!({"payload": r(payload)?, "text": r(text)?})
        }
        Content::FlowReply { response, body: b } => {
            let response = t.render_json(response, vars).map_err(ExchangeError::from)?;
            let mut f = json!({ "response": response });
            if let Some(b) = ro(b)? {
                f["body"] = json!(b);
            }
            body["flow_reply"] = f;
        }
        Content::Media(media) => body[media.kind] = media_part(media, t, vars)?,
        Content::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            body["location"] = json!({"latitude": latitude, "longitude": longitude,
                                      "name": ro(name)?, "address": ro(address)?});
        }
        Content::Contacts(cards) => {
            let mut list = Vec::with_capacity(cards.len());
            for (name, phone) in cards {
                list.push(json!({"name": r(name)?, "phone": r(phone)?}));
            }
            body["contacts"] = json!(list);
        }
        Content::Reaction { emoji, to_message } => {
            body["reaction"] = json!({"emoji": r(emoji)?, "message_id": ro(to_message)?});
        }
    }
    if let Some(id) = ro(&m.reply_to)? {
        body["context_id"] = json!(id);
    }
    addressing(&mut body, m, &r, meta)?;
    Ok(body)
}

/// `group` and `lid`, which only Evolution has; `username` and `hide_phone`, which only Meta
/// has.
fn addressing(
    body: &mut Value,
    m: &CustomerMessage,
    r: &dyn Fn(&String) -> Result<String, ExchangeError>,
    meta: bool,
) -> Result<(), ExchangeError> {
    if let Some(group) = &m.group {
        if meta {
            return Err(invalid(
                "`group` is an Evolution (WhatsApp Web) group: the Cloud API has no groups here",
            ));
        }
        body["group"] = json!(r(group)?);
    }
    if m.lid {
        if meta {
            return Err(invalid(
                "`lid` is Evolution's addressing: Meta customers are addressed by wa_id",
            ));
        }
        body["lid"] = json!(true);
    }
    if m.username.is_some() || m.hide_phone {
        if !meta {
            return Err(invalid(
                "`username` and `hide_phone` are Meta's (business-scoped users): Evolution \
                 customers are phone numbers or LIDs (`lid: true`)",
            ));
        }
        if let Some(u) = &m.username {
            body["username"] = json!(r(u)?);
        }
        body["hide_phone"] = json!(m.hide_phone);
    }
    Ok(())
}

/// `{data_base64?, mime_type?, caption?, filename?, voice?}`; no data: the simulator generates
/// a file of the kind.
fn media_part(media: &InjectMedia, t: &Templater, vars: &Vars) -> Result<Value, ExchangeError> {
    let r = |s: &String| t.render(s, vars).map_err(ExchangeError::from);
    let mut part = json!({});
    let mut mime = media.mime.as_ref().map(r).transpose()?;
    match &media.source {
        MediaSource::File(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
            part["data_base64"] = json!(STANDARD.encode(bytes));
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            mime = mime.or_else(|| {
                let guessed = name.as_deref().and_then(crate::sim::inbound::mime_of);
                guessed.map(str::to_string)
            });
            if media.kind == "document" && media.filename.is_none() {
                part["filename"] = json!(name);
            }
        }
        MediaSource::Bytes(b) => {
            let b = r(b)?;
            if STANDARD.decode(b.trim()).is_err() {
                return Err(invalid(format!(
                    "`bytes` of the {} is not base64",
                    media.kind
                )));
            }
            part["data_base64"] = json!(b.trim());
        }
        MediaSource::Generated => {}
    }
    if let Some(m) = mime {
        part["mime_type"] = json!(m);
    }
    if let Some(c) = media.caption.as_ref().map(r).transpose()? {
        part["caption"] = json!(c);
    }
    if let Some(f) = media.filename.as_ref().map(r).transpose()? {
        part["filename"] = json!(f);
    }
    if media.voice {
        part["voice"] = json!(true);
    }
    Ok(part)
}
