//! The body of `POST /__harness/inbound`: what a simulated customer sends, turned into an
//! [`InboundContent`]. Media the customer sends is put in the media store first (owned by the
//! receiving number, so the app downloads it with its own token like a real attachment): given
//! as `data_base64`, or an existing `media_id`, or generated ([`crate::sim::inbound`]).

use bytes::Bytes;

use super::ids;
use super::media::{MediaItem, MediaStore};
use super::payload::InboundContent;
pub use crate::sim::inbound::InboundRequest;
use crate::sim::inbound::{exactly_one, media_bytes, MediaIn};

/// The content of the request; media is stored in `media` under `owner` (a phone-number-id);
/// `last_sent` is the last message the app sent the customer (what a reaction reacts to when
/// it names no message).
pub fn content_of(
    req: InboundRequest,
    media: &mut MediaStore,
    owner: &str,
    last_sent: Option<&str>,
) -> Result<InboundContent, String> {
    use InboundContent as C;
    req.check_provider(true)?;
    let media_parts = req.media_parts().map(|(k, p)| (k, p.cloned()));
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
        match req.reaction {
            Some(r) => Some(C::Reaction {
                message_id: r
                    .message_id
                    .or(last_sent.map(str::to_string))
                    .ok_or_else(|| {
                        "reaction.message_id is required: the app sent this customer nothing"
                            .to_string()
                    })?,
                emoji: r.emoji,
            }),
            None => None,
        },
        req.contacts.map(C::Contacts),
        req.flow_reply.map(|f| C::FlowReply {
            response_json: f.response.to_string(),
            body: f.body.unwrap_or_else(|| "Sent".into()),
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
    exactly_one(found)?
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
        (None, _) => {
            let (bytes, mime) = media_bytes(kind, &part)?;
            store(media, owner, mime, bytes)?
        }
    };
    Ok(InboundContent::Media {
        kind: kind.to_string(),
        id: item.id,
        mime_type: part.mime_type.unwrap_or(item.mime_type),
        // The webhook states the file's SHA-256 in base64 (pywa tests/data/updates/message.json,
        // captured webhooks); the media store (`GET /{media-id}`) keeps it in hex.
        sha256: hex::decode(&item.sha256)
            .map(|d| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, d))
            .unwrap_or(item.sha256),
        caption: part.caption,
        filename: part.filename,
        voice: kind == "audio" && part.voice,
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
        let text = content_of(
            parse(json!({"from":"1","text":"hola"})),
            &mut store,
            "pn",
            None,
        );
        assert_eq!(
            text,
            Ok(InboundContent::Text {
                body: "hola".into()
            })
        );
        let none = content_of(parse(json!({"from":"1"})), &mut store, "pn", None);
        assert!(none.unwrap_err().starts_with("one of text"));
        let two = content_of(
            parse(json!({"from":"1","text":"a","reaction":{"message_id":"w","emoji":"x"}})),
            &mut store,
            "pn",
            None,
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
        }) = content_of(req, &mut store, "pn", None)
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
        }) = content_of(req, &mut store, "pn", None)
        else {
            panic!("expected media");
        };
        assert_eq!(store.get(&doc).unwrap().bytes.as_ref(), b"hello");
        assert_eq!(filename.as_deref(), Some("a.txt"));

        let req = parse(json!({"from":"1","audio":{"media_id": doc}}));
        assert!(content_of(req, &mut store, "pn", None).is_ok());
        for bad in [
            json!({"from":"1","video":{}}),
            json!({"from":"1","video":{"media_id":"nope"}}),
            json!({"from":"1","sticker":{"data_base64":"***"}}),
        ] {
            assert!(content_of(parse(bad), &mut store, "pn", None).is_err());
        }
    }
}
