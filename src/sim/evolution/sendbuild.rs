//! The message each send route builds, from `sendMessage.controller.ts` (controller checks) and
//! `whatsapp.baileys.service.ts` (`textMessage`, `prepareMediaMessage`, `audioWhatsapp`,
//! `mediaSticker`, `statusMessage`, `locationMessage`, `contactMessage`, `reactionMessage`,
//! `pollMessage`, `listMessage`, `buttonMessage`, `templateMessage`) at 2.3.6, with the shapes
//! Baileys gives them (`prepareWAMessageMedia`: real `fileSha256`/`fileLength` of the bytes).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::dispatch::Call;
use super::errors::EvoError;
use super::state;

/// Where media comes from: a URL to fetch, or bytes already in the request.
pub enum Source {
    Url(String),
    Bytes(Vec<u8>),
}

/// Media bytes and the `content-type` they came with.
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
    pub url: Option<String>,
}

/// A send ready to run.
pub struct Plan {
    /// `number` (or the reaction's `key.remoteJid`, or `status@broadcast`).
    pub to: String,
    pub message: Value,
    pub message_type: String,
    /// Journal kind: text, media, location, contacts, reaction, poll, list, buttons.
    pub kind: &'static str,
    pub text: Option<String>,
    /// Milliseconds to wait (typing) before sending.
    pub delay: u64,
    /// Whether the send carries the person-send `contextInfo`.
    pub context: bool,
    pub media: Option<Vec<u8>>,
    /// A voice note: READ is followed by PLAYED.
    pub played: bool,
}

fn plan(call: &Call, message_type: &str, content: Value, kind: &'static str) -> Plan {
    Plan {
        to: call.str("number").unwrap_or_default().to_string(),
        message: json!({ message_type: content }),
        message_type: message_type.to_string(),
        kind,
        text: None,
        delay: call.body.get("delay").and_then(Value::as_u64).unwrap_or(0),
        context: true,
        media: None,
        played: false,
    }
}

/// Longest `media` string kept in the journal.
const MAX_JOURNAL_MEDIA: usize = 1024;

/// The request body as journaled: long base64 fields are summarised.
pub fn journal_payload(mut body: Value) -> Value {
    for key in ["media", "audio", "video", "sticker", "content"] {
        if let Some(v) = body.get_mut(key) {
            if let Some(len) = v.as_str().map(str::len).filter(|l| *l > MAX_JOURNAL_MEDIA) {
                *v = json!(format!("<base64: {len} chars>"));
            }
        }
    }
    body
}

pub fn text(call: &Call) -> Result<Plan, EvoError> {
    let text = call.str("text").unwrap_or_default().to_string();
    if text.trim().is_empty() {
        return Err(EvoError::bad_request("Text is required"));
    }
    let mut p = plan(call, "conversation", json!(text), "text");
    p.text = Some(text);
    Ok(p)
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

fn is_base64(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(4) && B64.decode(s).is_ok()
}

/// Controller checks and where each media route's media comes from.
pub fn media_source(call: &Call) -> Result<Option<Source>, EvoError> {
    let path = call.route.path;
    let field = match path.split('/').nth(2).unwrap_or_default() {
        "sendMedia" => "media",
        "sendPtv" => "video",
        "sendWhatsAppAudio" => "audio",
        "sendSticker" => "sticker",
        "sendStatus" if call.str("type") != Some("text") => "content",
        "sendButtons" => "thumbnailUrl",
        _ => return Ok(None),
    };
    if let Some(file) = &call.file {
        return Ok(Some(Source::Bytes(file.to_vec())));
    }
    let value = call.str(field).unwrap_or_default();
    if field == "media"
        && is_base64(value)
        && call.str("fileName").is_none()
        && call.str("mediatype") == Some("document")
    {
        return Err(EvoError::bad_request(
            "For base64 the file name must be informed.",
        ));
    }
    if is_url(value) {
        return Ok(Some(Source::Url(value.to_string())));
    }
    if is_base64(value) {
        return Ok(Some(Source::Bytes(B64.decode(value).unwrap_or_default())));
    }
    match field {
        "thumbnailUrl" | "content" => Ok(None),
        "audio" => Err(EvoError::bad_request(
            "Owned media must be a url, base64, or valid file with buffer",
        )),
        _ => Err(EvoError::bad_request("Owned media must be a url or base64")),
    }
}

/// The fields `prepareWAMessageMedia` puts on an uploaded media message.
fn uploaded(bytes: &[u8], mimetype: &str) -> Value {
    let mut rng = rand::rng();
    let key: [u8; 32] = rng.random();
    let enc: [u8; 32] = rng.random();
    let path = format!(
        "/v/t62.7118-24/{}_{}_n.enc?ccb=11-4&oh=01_Q5Aa&oe=68000000&_nc_sid=5e03e0",
        rng.random_range(10_000_000..99_999_999u64),
        rng.random_range(10_000_000..99_999_999u64)
    );
    json!({
        "url": format!("https://mmg.whatsapp.net{path}&mms3=true"),
        "mimetype": mimetype,
        "fileSha256": B64.encode(Sha256::digest(bytes)),
        "fileLength": bytes.len().to_string(),
        "mediaKey": B64.encode(key),
        "fileEncSha256": B64.encode(enc),
        "directPath": path,
        "mediaKeyTimestamp": state::unix_secs().to_string(),
    })
}

fn bytes_of(fetched: Option<Fetched>) -> (Vec<u8>, Option<String>, Option<String>) {
    match fetched {
        Some(f) => (f.bytes, f.content_type, f.url),
        None => (Vec::new(), None, None),
    }
}

/// `sendMedia` (`prepareMediaMessage`): images become JPEG `image.jpg`; documents take their
/// name from the URL; the MIME type comes from the file name, else the request, else the URL's
/// `content-type`.
pub fn media(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let mediatype = call.str("mediatype").unwrap_or("document");
    let (bytes, content_type, url) = bytes_of(fetched);
    let mut file_name = call.str("fileName").map(str::to_string);
    if mediatype == "document" && file_name.is_none() {
        file_name = url.as_deref().and_then(|u| {
            let last = u.rsplit('/').next()?;
            last.split('.').next().map(str::to_string)
        });
    }
    file_name = file_name.or(match mediatype {
        "image" => Some("image.jpg".into()),
        "video" => Some("video.mp4".into()),
        _ => None,
    });
    let mut mimetype = match mediatype {
        "image" => Some("image/jpeg".to_string()),
        _ => call.str("mimetype").map(str::to_string).or(content_type),
    };
    if let Some(m) = file_name.as_deref().and_then(crate::sim::inbound::mime_of) {
        mimetype = Some(m.to_string());
    }
    let message_type = format!("{mediatype}Message");
    let mut content = uploaded(
        &bytes,
        mimetype.as_deref().unwrap_or("application/octet-stream"),
    );
    content["caption"] = call.body.get("caption").cloned().unwrap_or(Value::Null);
    content["fileName"] = json!(file_name);
    if mediatype == "video" {
        content["gifPlayback"] = json!(false);
    }
    let mut p = plan(call, &message_type, content, "media");
    p.text = call.str("caption").map(str::to_string);
    p.media = Some(bytes);
    Ok(p)
}

pub fn ptv(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let (bytes, _, _) = bytes_of(fetched);
    let content = uploaded(&bytes, "video/mp4");
    let mut p = plan(call, "ptvMessage", content, "media");
    p.media = Some(bytes);
    Ok(p)
}

/// `audioWhatsapp`: a voice note (`ptt: true`, Opus in Ogg after the server's ffmpeg).
pub fn audio(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let (bytes, _, _) = bytes_of(fetched);
    let mut content = uploaded(&bytes, "audio/ogg; codecs=opus");
    content["ptt"] = json!(true);
    let mut p = plan(call, "audioMessage", content, "media");
    p.media = Some(bytes);
    p.played = true;
    Ok(p)
}

pub fn sticker(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let gif = call.str("sticker").is_some_and(|s| s.contains(".gif"));
    let (bytes, _, _) = bytes_of(fetched);
    let mut content = uploaded(&bytes, "image/webp");
    content["isAnimated"] = json!(gif);
    let mut p = plan(call, "stickerMessage", content, "media");
    p.media = Some(bytes);
    Ok(p)
}

/// `statusMessage` (`formatStatusMessage`): a story to `status@broadcast`.
pub fn status(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let ty = call.str("type").unwrap_or_default();
    if call.str("content").is_none_or(str::is_empty) && call.file.is_none() {
        return Err(EvoError::bad_request("Content is required"));
    }
    let all = call.body.get("allContacts").and_then(Value::as_bool) == Some(true);
    let listed = call.body["statusJidList"]
        .as_array()
        .is_some_and(|l| !l.is_empty());
    if !listed && !all {
        return Err(EvoError::bad_request("StatusJidList is required"));
    }
    let (message_type, content) = match ty {
        "text" => {
            if call.str("backgroundColor").is_none() {
                return Err(EvoError::bad_request("Background color is required"));
            }
            if call.body.get("font").and_then(Value::as_u64).unwrap_or(0) == 0 {
                return Err(EvoError::bad_request("Font is required"));
            }
            let text = call.str("content").unwrap_or_default();
            (
                "extendedTextMessage",
                json!({"text": text,
                "backgroundArgb": call.body["backgroundColor"], "font": call.body["font"]}),
            )
        }
        "image" | "video" | "audio" => {
            let (bytes, _, _) = bytes_of(fetched);
            let mime = match ty {
                "image" => "image/jpeg",
                "video" => "video/mp4",
                _ => "audio/ogg; codecs=opus",
            };
            let mut c = uploaded(&bytes, mime);
            c["caption"] = call.body.get("caption").cloned().unwrap_or(Value::Null);
            (
                if ty == "image" {
                    "imageMessage"
                } else if ty == "video" {
                    "videoMessage"
                } else {
                    "audioMessage"
                },
                c,
            )
        }
        _ => return Err(EvoError::bad_request("Type not found")),
    };
    let mut p = plan(call, message_type, content, "status");
    p.to = "status@broadcast".into();
    p.context = false;
    p.delay = 0;
    Ok(p)
}

pub fn location(call: &Call) -> Result<Plan, EvoError> {
    let b = &call.body;
    let content = json!({"degreesLatitude": b["latitude"], "degreesLongitude": b["longitude"],
                         "name": b["name"], "address": b["address"]});
    Ok(plan(call, "locationMessage", content, "location"))
}

fn vcard(c: &Value) -> String {
    let name = c["fullName"].as_str().unwrap_or_default();
    let phone = c["phoneNumber"].as_str().unwrap_or_default();
    let mut v = format!("BEGIN:VCARD\nVERSION:3.0\nN:{name}\nFN:{name}\n");
    for (key, field) in [("ORG", "organization"), ("EMAIL", "email"), ("URL", "url")] {
        if let Some(x) = c[field].as_str() {
            let sep = if key == "ORG" { ";" } else { "" };
            v.push_str(&format!("{key}:{x}{sep}\n"));
        }
    }
    let wuid = match c["wuid"].as_str() {
        Some(w) => w.to_string(),
        None => super::rules::jid_for(phone),
    };
    v + &format!("item1.TEL;waid={wuid}:{phone}\nitem1.X-ABLabel:Celular\nEND:VCARD")
}

/// `contactMessage`: one contact, or a `contactsArrayMessage`; sent without delay or quote.
pub fn contact(call: &Call) -> Result<Plan, EvoError> {
    let list = call.body["contact"].as_array().cloned().unwrap_or_default();
    let mut p = match list.as_slice() {
        [one] => plan(
            call,
            "contactMessage",
            json!({"displayName": one["fullName"], "vcard": vcard(one)}),
            "contacts",
        ),
        many => {
            let contacts: Vec<Value> = many
                .iter()
                .map(|c| json!({"displayName": c["fullName"], "vcard": vcard(c)}))
                .collect();
            let content = json!({"displayName": format!("{} contacts", many.len()),
                                 "contacts": contacts});
            plan(call, "contactsArrayMessage", content, "contacts")
        }
    };
    p.delay = 0;
    Ok(p)
}

/// `sendReaction`: one emoji or `""` (the controller's `isEmoji`), to the reacted message's chat.
pub fn reaction(call: &Call) -> Result<Plan, EvoError> {
    let emoji = call.str("reaction").unwrap_or_default();
    if !is_emoji(emoji) {
        return Err(EvoError::bad_request(
            "Reaction must be a single emoji or empty string",
        ));
    }
    let key = call.body["key"].clone();
    let content = json!({"key": key, "text": emoji,
                         "senderTimestampMs": (state::unix_secs() * 1000).to_string()});
    let mut p = plan(call, "reactionMessage", content, "reaction");
    p.to = key["remoteJid"].as_str().unwrap_or_default().to_string();
    p.text = Some(emoji.to_string());
    p.delay = 0;
    Ok(p)
}

/// One emoji grapheme: pictographic code points joined by ZWJ, variation selectors, skin
/// tones, keycaps and flag pairs (what `emoji-regex` matches as a single emoji).
fn is_emoji(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let pictographic = |c: char| {
        let u = c as u32;
        (0x1F000..=0x1FAFF).contains(&u)
            || (0x2600..=0x27BF).contains(&u)
            || (0x2300..=0x23FF).contains(&u)
            || (0x2B00..=0x2BFF).contains(&u)
            || matches!(
                u,
                0x00A9 | 0x00AE | 0x203C | 0x2049 | 0x2122 | 0x2139 | 0x3030 | 0x303D
            )
    };
    let joiner = |c: char| matches!(c as u32, 0x200D | 0xFE0F | 0x20E3 | 0x1F3FB..=0x1F3FF | 0xE0020..=0xE007F);
    let mut bases = 0;
    let mut prev_zwj = true;
    for c in s.chars() {
        if joiner(c) {
            prev_zwj = c as u32 == 0x200D;
            continue;
        }
        let regional = (0x1F1E6..=0x1F1FF).contains(&(c as u32));
        if !(pictographic(c) || regional || c.is_ascii_digit() || c == '#' || c == '*') {
            return false;
        }
        if !prev_zwj && !regional {
            bases += 1;
        }
        if prev_zwj || regional {
            bases = bases.max(1);
        }
        prev_zwj = false;
    }
    bases == 1
}

/// `pollMessage`: Baileys makes a `pollCreationMessageV3` for single choice, else
/// `pollCreationMessage`, with a `messageSecret`.
pub fn poll(call: &Call) -> Result<Plan, EvoError> {
    let count = call.body["selectableCount"].as_u64().unwrap_or(0);
    let options: Vec<Value> = call.body["values"]
        .as_array()
        .map(|v| v.iter().map(|o| json!({"optionName": o})).collect())
        .unwrap_or_default();
    let content = json!({"name": call.body["name"], "options": options,
                         "selectableOptionsCount": count});
    let ty = if count == 1 {
        "pollCreationMessageV3"
    } else {
        "pollCreationMessage"
    };
    let mut p = plan(call, ty, content, "poll");
    let secret: [u8; 32] = rand::rng().random();
    p.message["messageContextInfo"] = json!({"messageSecret": B64.encode(secret)});
    p.text = call.str("name").map(str::to_string);
    Ok(p)
}

pub fn list(call: &Call) -> Result<Plan, EvoError> {
    let b = &call.body;
    let content = json!({"title": b["title"], "description": b["description"],
                         "buttonText": b["buttonText"], "footerText": b["footerText"],
                         "sections": b["sections"], "listType": 2});
    let mut p = plan(call, "listMessage", content, "list");
    p.text = call
        .str("description")
        .or(call.str("title"))
        .map(str::to_string);
    Ok(p)
}

/// `buttonMessage`: the controller's rules, then an `interactiveMessage` with native-flow
/// buttons inside a `viewOnceMessage` (sent with `relayMessage`: no `contextInfo`).
pub fn buttons(call: &Call, fetched: Option<Fetched>) -> Result<Plan, EvoError> {
    let buttons = call.body["buttons"].as_array().cloned().unwrap_or_default();
    super::sendcheck::buttons(&buttons)?;
    let native: Vec<Value> = buttons
        .iter()
        .map(super::sendcheck::native_button)
        .collect();
    let b = &call.body;
    let mut body = format!("*{}*", b["title"].as_str().unwrap_or("undefined"));
    if let Some(d) = b["description"].as_str() {
        body.push_str(&format!("\n\n{d}\n"));
    }
    let mut interactive = json!({"body": {"text": body}, "footer": {"text": b["footer"]},
        "nativeFlowMessage": {"buttons": native, "messageParamsJson":
            json!({"from": "api", "templateId": uuid::Uuid::new_v4().to_string()}).to_string()}});
    if let Some(f) = fetched {
        interactive["header"] = json!({"hasMediaAttachment": true,
                                       "imageMessage": uploaded(&f.bytes, "image/jpeg")});
    }
    let content = json!({"message": {"interactiveMessage": interactive}});
    let mut p = plan(call, "viewOnceMessage", content, "buttons");
    p.context = false;
    p.text = Some(body);
    Ok(p)
}

/// `templateMessage` of the Baileys channel: `throw new Error('Method not available in the
/// Baileys service')` — a 500 with that message.
pub fn template(_: &Call) -> Result<Plan, EvoError> {
    Err(EvoError::internal(
        "Method not available in the Baileys service",
    ))
}
