//! The `message` of a received WhatsApp message as Evolution 2.3.6 delivers it in
//! `messages.upsert`: the Baileys protobuf (`WAProto` `Message`) after `prepareMessage` and
//! `deserializeMessageBuffers` (`whatsapp.baileys.service.ts`): `bytes` fields become
//! `Uint8Array`s, which JSON writes as index-keyed objects (`{"0": 12, "1": 200, …}` — the
//! reason `getBase64FromMediaMessage` rebuilds `mediaKey` with `Uint8Array.from(Object.values(…))`);
//! 64-bit integers stay long.js `Long`s (`{"low", "high", "unsigned"}` — the S3 path reads
//! `size.fileLength?.low`); `extendedTextMessage` becomes `conversation` with its `contextInfo`
//! lifted beside `message`, and `documentWithCaptionMessage` becomes `documentMessage`.

use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::sim::inbound::{ContactIn, MediaIn};

/// Bytes as `JSON.stringify` writes a `Uint8Array`.
pub fn uint8(bytes: &[u8]) -> Value {
    let map: Map<String, Value> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| (i.to_string(), json!(b)))
        .collect();
    Value::Object(map)
}

/// An unsigned 64-bit integer as long.js writes it.
pub fn long(n: u64) -> Value {
    json!({"low": (n & 0xffff_ffff) as u32 as i32, "high": (n >> 32) as u32 as i32,
           "unsigned": true})
}

/// The bytes of an index-keyed object (what [`uint8`] wrote).
#[cfg(test)]
pub fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    let map = v.as_object()?;
    (0..map.len())
        .map(|i| map.get(&i.to_string())?.as_u64().map(|b| b as u8))
        .collect()
}

/// The `messageContextInfo` a phone attaches to a 1:1 message (device list and secret).
pub fn message_context_info() -> Value {
    let mut rng = rand::rng();
    let now = super::state::unix_secs();
    let hash = |rng: &mut rand::rngs::ThreadRng| {
        let h: [u8; 10] = rng.random();
        uint8(&h)
    };
    let secret: [u8; 32] = rng.random();
    json!({
        "deviceListMetadata": {
            "senderKeyHash": hash(&mut rng), "senderTimestamp": long(now - 86_400),
            "recipientKeyHash": hash(&mut rng), "recipientTimestamp": long(now - 3_600),
        },
        "deviceListMetadataVersion": 2,
        "messageSecret": uint8(&secret),
    })
}

/// The fields WhatsApp's media upload puts on a media message (`prepareWAMessageMedia`):
/// a CDN URL and direct path, the real SHA-256 and length of the file, a media key.
fn uploaded(bytes: &[u8], mimetype: &str) -> Map<String, Value> {
    let mut rng = rand::rng();
    let key: [u8; 32] = rng.random();
    let enc: [u8; 32] = rng.random();
    let path = format!(
        "/v/t62.7117-24/{}_{}_n.enc?ccb=11-4&oh=01_Q5Aa&oe=68000000&_nc_sid=5e03e0",
        rng.random_range(10_000_000..99_999_999u64),
        rng.random_range(10_000_000..99_999_999u64)
    );
    let mut m = Map::new();
    m.insert(
        "url".into(),
        json!(format!("https://mmg.whatsapp.net{path}&mms3=true")),
    );
    m.insert("mimetype".into(), json!(mimetype));
    m.insert("fileSha256".into(), uint8(&Sha256::digest(bytes)));
    m.insert("fileLength".into(), long(bytes.len() as u64));
    m.insert("mediaKey".into(), uint8(&key));
    m.insert("fileEncSha256".into(), uint8(&enc));
    m.insert("directPath".into(), json!(path));
    m.insert("mediaKeyTimestamp".into(), long(super::state::unix_secs()));
    m
}

/// `imageMessage`, `audioMessage`, `videoMessage`, `documentMessage` or `stickerMessage`.
pub fn media(kind: &str, part: &MediaIn, bytes: &[u8], mime: &str) -> (String, Value) {
    let mut m = uploaded(bytes, mime);
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    match kind {
        "image" | "sticker" => {
            let (w, h) = image_size(bytes).unwrap_or((0, 0));
            put("height", json!(h));
            put("width", json!(w));
            if kind == "sticker" {
                put("isAnimated", json!(false));
            }
        }
        "audio" => {
            put("seconds", json!(1));
            put("ptt", json!(part.voice));
        }
        "video" => {
            put("seconds", json!(1));
            put("gifPlayback", json!(false));
        }
        _ => {
            let name = part.filename.clone().unwrap_or_else(|| "document".into());
            put("title", json!(name));
            put("fileName", json!(name));
        }
    }
    if let Some(c) = &part.caption {
        if kind != "audio" && kind != "sticker" {
            put("caption", json!(c));
        }
    }
    (format!("{kind}Message"), Value::Object(m))
}

/// Width and height of a PNG or a lossless WebP, for the message's `width`/`height`.
fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.starts_with(b"\x89PNG") && b.len() >= 24 {
        let w = u32::from_be_bytes(b[16..20].try_into().ok()?);
        let h = u32::from_be_bytes(b[20..24].try_into().ok()?);
        return Some((w, h));
    }
    if b.len() >= 25 && &b[12..16] == b"VP8L" {
        let bits = u32::from_le_bytes(b[21..25].try_into().ok()?);
        return Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1));
    }
    None
}

/// `contactMessage` for one card, `contactsArrayMessage` for several.
pub fn contacts(cards: &[ContactIn]) -> (String, Value) {
    let one = |c: &ContactIn| json!({"displayName": c.name, "vcard": c.vcard()});
    match cards {
        [c] => ("contactMessage".into(), one(c)),
        many => (
            "contactsArrayMessage".into(),
            json!({"displayName": format!("{} contacts", many.len()),
                   "contacts": many.iter().map(one).collect::<Vec<_>>()}),
        ),
    }
}

/// `reactionMessage` to a message the business sent in `jid`.
pub fn reaction(jid: &str, message_id: &str, emoji: &str) -> (String, Value) {
    let ms = super::state::unix_secs() * 1000;
    (
        "reactionMessage".into(),
        json!({"key": {"remoteJid": jid, "fromMe": true, "id": message_id},
               "text": emoji, "senderTimestampMs": long(ms)}),
    )
}

/// The `contextInfo` of a reply to `quoted` (a kept message), sent by `participant`.
pub fn quote_context(stanza_id: &str, participant: &str, quoted: Option<&Value>) -> Value {
    let mut c = json!({"stanzaId": stanza_id, "participant": participant});
    if let Some(q) = quoted {
        let mut q = q.clone();
        if let Some(o) = q.as_object_mut() {
            o.remove("messageContextInfo");
        }
        c["quotedMessage"] = q;
    }
    c
}

/// A stable LID for a phone number (the `@lid` user WhatsApp assigns; 15 digits).
pub fn lid_of(phone: &str) -> String {
    let h = Sha256::digest(phone.as_bytes());
    let n = u64::from_be_bytes(h[..8].try_into().unwrap_or_default());
    format!("{}", 100_000_000_000_000 + n % 900_000_000_000_000)
}

/// The phone number behind a `…@lid` JID a customer wrote from, if one did.
pub(super) fn phone_of_lid(inst: &super::state::Instance, jid: &str) -> Option<String> {
    let lid = jid.strip_suffix("@lid")?;
    inst.store
        .get("lids")?
        .get(lid)?
        .as_str()
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_fields_are_index_keyed_and_longs_are_long_js() {
        assert_eq!(uint8(&[7, 255]), json!({"0": 7, "1": 255}));
        assert_eq!(bytes_of(&uint8(&[1, 2, 3])), Some(vec![1, 2, 3]));
        assert_eq!(long(5), json!({"low": 5, "high": 0, "unsigned": true}));
        assert_eq!(
            long(0x1_0000_0002),
            json!({"low": 2, "high": 1, "unsigned": true})
        );
    }

    #[test]
    fn media_states_the_real_hash_and_size() {
        let (png, _) = crate::sim::inbound::generated("image", false).unwrap();
        let (ty, m) = media("image", &MediaIn::default(), &png, "image/png");
        assert_eq!(ty, "imageMessage");
        assert_eq!(
            bytes_of(&m["fileSha256"]).unwrap(),
            Sha256::digest(&png).to_vec()
        );
        assert_eq!(m["fileLength"]["low"], png.len());
        assert_eq!(
            (m["width"].as_u64(), m["height"].as_u64()),
            (Some(8), Some(8))
        );
        let (webp, _) = crate::sim::inbound::generated("sticker", false).unwrap();
        assert_eq!(image_size(&webp), Some((1, 1)));
    }

    #[test]
    fn lids_are_stable_fifteen_digit_numbers() {
        assert_eq!(lid_of("5511999990000"), lid_of("5511999990000"));
        assert_ne!(lid_of("5511999990000"), lid_of("5511999990001"));
        assert_eq!(lid_of("1").len(), 15);
    }
}
