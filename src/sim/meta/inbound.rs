//! The body of `POST /__harness/inbound`: what a simulated customer sends, turned into an
//! [`InboundContent`]. Media the customer sends is put in the media store first (owned by the
//! receiving number, so the app downloads it with its own token like a real attachment): given
//! as `data_base64`, or an existing `media_id`, or, for an image with neither, a generated 8×8
//! PNG.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

use super::ids;
use super::media::{MediaItem, MediaStore};
use super::payload::InboundContent;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    id: String,
    title: String,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateButton {
    payload: String,
    text: String,
}

/// Media the customer sends.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaIn {
    #[serde(default)]
    media_id: Option<String>,
    #[serde(default)]
    data_base64: Option<String>,
    #[serde(default)]
    mime_type: Option<String>,
    #[serde(default)]
    caption: Option<String>,
    #[serde(default)]
    filename: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionIn {
    message_id: String,
    emoji: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    latitude: f64,
    longitude: f64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    address: Option<String>,
}

/// `POST /__harness/inbound`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRequest {
    pub from: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone_number_id: Option<String>,
    /// The wamid of the business message this one replies to.
    #[serde(default)]
    pub context_id: Option<String>,
    /// `profile.username` of a customer who adopted one.
    #[serde(default)]
    pub username: Option<String>,
    /// Withhold `from` / `wa_id` from the webhook (the app must reply by `recipient`).
    #[serde(default)]
    pub hide_phone: bool,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    button_reply: Option<Reply>,
    #[serde(default)]
    list_reply: Option<Reply>,
    #[serde(default)]
    button: Option<TemplateButton>,
    #[serde(default)]
    image: Option<MediaIn>,
    #[serde(default)]
    document: Option<MediaIn>,
    #[serde(default)]
    audio: Option<MediaIn>,
    #[serde(default)]
    video: Option<MediaIn>,
    #[serde(default)]
    sticker: Option<MediaIn>,
    #[serde(default)]
    reaction: Option<ReactionIn>,
    #[serde(default)]
    location: Option<LocationIn>,
}

const KINDS: &str = "text, button_reply, list_reply, button, image, document, audio, video, \
                     sticker, reaction or location";

/// The content of the request; media is stored in `media` under `owner` (a phone-number-id).
pub fn content_of(
    req: InboundRequest,
    media: &mut MediaStore,
    owner: &str,
) -> Result<InboundContent, String> {
    use InboundContent as C;
    let media_parts = [
        ("image", req.image),
        ("document", req.document),
        ("audio", req.audio),
        ("video", req.video),
        ("sticker", req.sticker),
    ];
    let mut found: Vec<Result<InboundContent, String>> = [
        req.text.map(|body| C::Text { body }),
        req.button_reply.map(|r| C::ButtonReply {
            id: r.id,
            title: r.title,
        }),
        req.list_reply.map(|r| C::ListReply {
            id: r.id,
            title: r.title,
            description: r.description,
        }),
        req.button.map(|b| C::TemplateButton {
            payload: b.payload,
            text: b.text,
        }),
        req.reaction.map(|r| C::Reaction {
            message_id: r.message_id,
            emoji: r.emoji,
        }),
        req.location.map(|l| C::Location {
            latitude: l.latitude,
            longitude: l.longitude,
            name: l.name,
            address: l.address,
        }),
    ]
    .into_iter()
    .flatten()
    .map(Ok)
    .collect();
    for (kind, part) in media_parts {
        if let Some(part) = part {
            found.push(media_content(kind, part, media, owner));
        }
    }
    match found.len() {
        1 => found.remove(0),
        0 => Err(format!("one of {KINDS} is required")),
        _ => Err(format!("give only one of {KINDS}")),
    }
}

fn media_content(
    kind: &str,
    part: MediaIn,
    media: &mut MediaStore,
    owner: &str,
) -> Result<InboundContent, String> {
    let item = match (&part.media_id, &part.data_base64) {
        (Some(id), _) => media
            .get(id)
            .cloned()
            .ok_or_else(|| format!("{kind}.media_id {id:?} is not in the media store"))?,
        (None, Some(data)) => {
            let bytes = STANDARD
                .decode(data.trim())
                .map_err(|e| format!("{kind}.data_base64 is not base64: {e}"))?;
            let mime = part
                .mime_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            store(media, owner, mime, Bytes::from(bytes))?
        }
        (None, None) if kind == "image" => {
            store(media, owner, "image/png".into(), placeholder_png()?)?
        }
        (None, None) => return Err(format!("{kind} needs media_id or data_base64")),
    };
    Ok(InboundContent::Media {
        kind: kind.to_string(),
        id: item.id,
        mime_type: part.mime_type.unwrap_or(item.mime_type),
        sha256: item.sha256,
        caption: part.caption,
        filename: part.filename,
    })
}

fn store(
    media: &mut MediaStore,
    owner: &str,
    mime: String,
    bytes: Bytes,
) -> Result<MediaItem, String> {
    let item = MediaItem::new(ids::media_id(), owner.to_string(), mime, bytes);
    if media.insert(item.clone()) {
        Ok(item)
    } else {
        Err("media is larger than the media store".into())
    }
}

/// A real 8×8 PNG (a small gradient), for an image sent without data.
fn placeholder_png() -> Result<Bytes, String> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 32, y as u8 * 32, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the placeholder PNG: {e}"))?;
    Ok(Bytes::from(out.into_inner()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> InboundRequest {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn exactly_one_kind() {
        let mut store = MediaStore::new(1 << 20);
        let text = content_of(parse(json!({"from":"1","text":"hola"})), &mut store, "pn");
        assert_eq!(
            text,
            Ok(InboundContent::Text {
                body: "hola".into()
            })
        );
        let none = content_of(parse(json!({"from":"1"})), &mut store, "pn");
        assert!(none.unwrap_err().starts_with("one of text"));
        let two = content_of(
            parse(json!({"from":"1","text":"a","reaction":{"message_id":"w","emoji":"x"}})),
            &mut store,
            "pn",
        );
        assert!(two.unwrap_err().starts_with("give only one"));
    }

    #[test]
    fn media_is_stored_for_the_receiving_number() {
        let mut store = MediaStore::new(1 << 20);
        let req = parse(json!({"from":"1","image":{"caption":"foto"}}));
        let Ok(InboundContent::Media {
            id,
            mime_type,
            caption,
            ..
        }) = content_of(req, &mut store, "pn")
        else {
            panic!("expected media");
        };
        let item = store.get(&id).unwrap();
        assert_eq!(item.owner, "pn");
        assert_eq!(mime_type, "image/png");
        assert_eq!(caption.as_deref(), Some("foto"));
        assert_eq!(&item.bytes[..8], b"\x89PNG\r\n\x1a\n");

        let req = parse(
            json!({"from":"1","document":{"data_base64":"aGVsbG8=","mime_type":"text/plain","filename":"a.txt"}}),
        );
        let Ok(InboundContent::Media {
            id: doc, filename, ..
        }) = content_of(req, &mut store, "pn")
        else {
            panic!("expected media");
        };
        assert_eq!(store.get(&doc).unwrap().bytes.as_ref(), b"hello");
        assert_eq!(filename.as_deref(), Some("a.txt"));

        let req = parse(json!({"from":"1","audio":{"media_id": doc}}));
        assert!(content_of(req, &mut store, "pn").is_ok());
        for bad in [
            json!({"from":"1","audio":{}}),
            json!({"from":"1","video":{"media_id":"nope"}}),
            json!({"from":"1","sticker":{"data_base64":"***"}}),
        ] {
            assert!(content_of(parse(bad), &mut store, "pn").is_err());
        }
    }
}
