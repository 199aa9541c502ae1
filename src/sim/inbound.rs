//! The parts of `POST /__harness/inbound` both simulators take (a customer's message in one
//! provider-neutral form, each simulator shaping it as its provider delivers it), and the media
//! a customer sends: given as base64, or generated — a real file of the kind (an 8×8 PNG, a
//! lossless WebP sticker, an Ogg Opus voice note of silence, a one-page PDF), so an app that
//! decodes what it downloads sees a valid file.

use std::io::Cursor;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;

/// `POST /__harness/inbound` on either simulator: who writes, and one content.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRequest {
    pub from: String,
    #[serde(default)]
    pub name: Option<String>,
    /// The id of the message this one replies to; a tap or a choice defaults to the last
    /// message the app sent the customer.
    #[serde(default)]
    pub context_id: Option<String>,
    /// Meta: the receiving number.
    #[serde(default)]
    pub phone_number_id: Option<String>,
    /// Meta: `profile.username` of a customer who adopted one.
    #[serde(default)]
    pub username: Option<String>,
    /// Meta: withhold `from` / `wa_id` from the webhook (the app must reply by `recipient`).
    #[serde(default)]
    pub hide_phone: bool,
    /// Evolution: the receiving instance.
    #[serde(default)]
    pub instance: Option<String>,
    /// Evolution: a group the customer writes in (its JID).
    #[serde(default)]
    pub group: Option<String>,
    /// Evolution: the customer is addressed by LID (`remoteJid: …@lid`).
    #[serde(default)]
    pub lid: bool,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub button_reply: Option<Reply>,
    #[serde(default)]
    pub list_reply: Option<Reply>,
    #[serde(default)]
    pub button: Option<TemplateButton>,
    #[serde(default)]
    pub flow_reply: Option<FlowReply>,
    #[serde(default)]
    pub image: Option<MediaIn>,
    #[serde(default)]
    pub document: Option<MediaIn>,
    #[serde(default)]
    pub audio: Option<MediaIn>,
    #[serde(default)]
    pub video: Option<MediaIn>,
    #[serde(default)]
    pub sticker: Option<MediaIn>,
    #[serde(default)]
    pub reaction: Option<ReactionIn>,
    #[serde(default)]
    pub location: Option<LocationIn>,
    #[serde(default)]
    pub contacts: Option<Vec<ContactIn>>,
}

/// Every content key, for error messages.
pub const KINDS: &str = "text, button_reply, list_reply, button, flow_reply, image, document, \
                         audio, video, sticker, reaction, location or contacts";

impl InboundRequest {
    /// A tap or a choice on a business message: without a `context_id`, it answers the last
    /// message the app sent the customer.
    pub fn is_interactive_reply(&self) -> bool {
        self.button_reply.is_some()
            || self.list_reply.is_some()
            || self.button.is_some()
            || self.flow_reply.is_some()
    }

    /// The media parts, by kind.
    pub fn media_parts(&self) -> [(&'static str, Option<&MediaIn>); 5] {
        [
            ("image", self.image.as_ref()),
            ("document", self.document.as_ref()),
            ("audio", self.audio.as_ref()),
            ("video", self.video.as_ref()),
            ("sticker", self.sticker.as_ref()),
        ]
    }

    /// An error naming a field the other provider's simulator takes.
    pub fn check_provider(&self, meta: bool) -> Result<(), String> {
        let (theirs, present): (&str, Vec<&str>) = if meta {
            let p = [
                ("instance", self.instance.is_some()),
                ("group", self.group.is_some()),
                ("lid", self.lid),
            ];
            (
                "Evolution's",
                p.iter().filter(|x| x.1).map(|x| x.0).collect(),
            )
        } else {
            let p = [
                ("phone_number_id", self.phone_number_id.is_some()),
                ("username", self.username.is_some()),
                ("hide_phone", self.hide_phone),
            ];
            ("Meta's", p.iter().filter(|x| x.1).map(|x| x.0).collect())
        };
        match present.first() {
            Some(f) => Err(format!(
                "`{f}` is {theirs}: this simulator does not take it"
            )),
            None => Ok(()),
        }
    }
}

/// The one content a request has, or why not.
pub fn exactly_one<T>(mut found: Vec<T>) -> Result<T, String> {
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(format!("one of {KINDS} is required")),
        _ => Err(format!("give only one of {KINDS}")),
    }
}

/// A tapped reply button or a chosen list row.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A tap on a template's quick-reply button.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateButton {
    pub payload: String,
    pub text: String,
}

/// A completed WhatsApp Flow (Meta `interactive.nfm_reply`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlowReply {
    /// The flow's answers (`response_json`, a JSON object).
    pub response: serde_json::Value,
    #[serde(default)]
    pub body: Option<String>,
}

/// Media the customer sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaIn {
    /// Meta only: a file already in the media store.
    #[serde(default)]
    pub media_id: Option<String>,
    #[serde(default)]
    pub data_base64: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub filename: Option<String>,
    /// An audio recorded as a voice note (Meta `voice: true`, Baileys `ptt: true`).
    #[serde(default)]
    pub voice: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionIn {
    /// The reacted message's id; absent: the last message the app sent the customer.
    #[serde(default)]
    pub message_id: Option<String>,
    pub emoji: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationIn {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// A shared contact card.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    pub name: String,
    pub phone: String,
}

impl ContactIn {
    /// The vCard WhatsApp clients attach (`item1.TEL;waid=`, as Evolution's `contactMessage`).
    pub fn vcard(&self) -> String {
        let digits = super::bus::phone_digits(&self.phone);
        format!(
            "BEGIN:VCARD\nVERSION:3.0\nN:;{0};;;\nFN:{0}\nitem1.TEL;waid={1}:{2}\n\
             item1.X-ABLabel:Mobile\nEND:VCARD",
            self.name, digits, self.phone
        )
    }
}

/// The MIME type of a file name (`mime-types` lookup of the extensions WhatsApp media use).
pub fn mime_of(file_name: &str) -> Option<&'static str> {
    let ext = file_name.rsplit('.').next()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "ogg" | "oga" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "zip" => "application/zip",
        _ => return None,
    })
}

/// The media kinds a customer can send.
pub const MEDIA_KINDS: [&str; 5] = ["image", "audio", "video", "document", "sticker"];

/// The bytes and MIME type of media sent as `data_base64` or generated.
pub fn media_bytes(kind: &str, part: &MediaIn) -> Result<(Bytes, String), String> {
    if let Some(data) = &part.data_base64 {
        let bytes = STANDARD
            .decode(data.trim())
            .map_err(|e| format!("{kind}.data_base64 is not base64: {e}"))?;
        let mime = part
            .mime_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        return Ok((Bytes::from(bytes), mime));
    }
    let (bytes, mime) = generated(kind, part.voice)?;
    Ok((bytes, part.mime_type.clone().unwrap_or(mime.to_string())))
}

/// A real file of `kind`, for media sent without data.
pub fn generated(kind: &str, voice: bool) -> Result<(Bytes, &'static str), String> {
    match kind {
        "image" => Ok((placeholder_png()?, "image/png")),
        "sticker" => Ok((Bytes::from_static(WEBP_1X1), "image/webp")),
        "audio" if voice => Ok((ogg_opus_silence(), "audio/ogg; codecs=opus")),
        "audio" => Ok((ogg_opus_silence(), "audio/ogg")),
        "document" => Ok((one_page_pdf(), "application/pdf")),
        _ => Err(format!(
            "{kind} needs data (no {kind} can be generated): give `file` or `bytes`"
        )),
    }
}

/// A real 8×8 PNG (a small gradient).
fn placeholder_png() -> Result<Bytes, String> {
    let img = image::RgbImage::from_fn(8, 8, |x, y| image::Rgb([x as u8 * 32, y as u8 * 32, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the placeholder PNG: {e}"))?;
    Ok(Bytes::from(out.into_inner()))
}

/// A 1×1 lossless WebP (the file Modernizr's `webp-lossless` test decodes).
const WEBP_1X1: &[u8] = &[
    0x52, 0x49, 0x46, 0x46, 0x1a, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c,
    0x0d, 0x00, 0x00, 0x00, 0x2f, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe,
    0x07, 0x00,
];

/// The CRC of Ogg pages (RFC 3533: polynomial 0x04c11db7, not reflected, no final xor).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// One Ogg page holding one packet (RFC 3533 §6).
fn ogg_page(out: &mut Vec<u8>, header_type: u8, granule: u64, seq: u32, packet: &[u8]) {
    let start = out.len();
    out.extend_from_slice(b"OggS\0");
    out.push(header_type);
    out.extend_from_slice(&granule.to_le_bytes());
    out.extend_from_slice(&0x4841_524eu32.to_le_bytes()); // serial "HARN"
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // CRC, filled below
    let mut lacing = vec![255u8; packet.len() / 255];
    lacing.push((packet.len() % 255) as u8);
    out.push(lacing.len() as u8);
    out.extend_from_slice(&lacing);
    out.extend_from_slice(packet);
    let crc = ogg_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
}

/// One second of silence as Ogg Opus (RFC 7845): the `OpusHead` and `OpusTags` headers, then
/// 50 packets of one 20 ms CELT silence frame (TOC 0xf8, mono).
fn ogg_opus_silence() -> Bytes {
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(1); // channels
    head.extend_from_slice(&312u16.to_le_bytes()); // pre-skip
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0u16.to_le_bytes()); // gain
    head.push(0); // mapping family
    let mut tags = b"OpusTags".to_vec();
    let vendor = b"harness";
    tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    tags.extend_from_slice(vendor);
    tags.extend_from_slice(&0u32.to_le_bytes());
    let mut out = Vec::new();
    ogg_page(&mut out, 0x02, 0, 0, &head);
    ogg_page(&mut out, 0x00, 0, 1, &tags);
    let frames = 50u32;
    let mut packets = Vec::new();
    for _ in 0..frames {
        packets.extend_from_slice(&[0xf8, 0xff, 0xfe]);
    }
    // All 50 three-byte packets on one page: lacing values of 3 each.
    let start = out.len();
    out.extend_from_slice(b"OggS\0");
    out.push(0x04); // end of stream
    out.extend_from_slice(&(u64::from(frames) * 960 + 312).to_le_bytes());
    out.extend_from_slice(&0x4841_524eu32.to_le_bytes());
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.push(frames as u8);
    out.extend(std::iter::repeat_n(3u8, frames as usize));
    out.extend_from_slice(&packets);
    let crc = ogg_crc(&out[start..]);
    out[start + 22..start + 26].copy_from_slice(&crc.to_le_bytes());
    Bytes::from(out)
}

/// A one-page PDF saying "harness", with a correct cross-reference table.
fn one_page_pdf() -> Bytes {
    let stream = "BT /F1 18 Tf 40 100 Td (harness) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{o}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for off in offsets {
        out.push_str(&format!("{off:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    Bytes::from(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ogg_crc_matches_the_reference_value() {
        // CRC-32/CKSUM's check value (0x765e7680) without its final xor: libogg's CRC.
        assert_eq!(ogg_crc(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn generated_files_are_what_they_say() {
        let (png, mime) = generated("image", false).unwrap();
        assert_eq!((&png[..4], mime), (&b"\x89PNG"[..], "image/png"));
        let (webp, _) = generated("sticker", false).unwrap();
        assert_eq!((&webp[..4], &webp[8..12]), (&b"RIFF"[..], &b"WEBP"[..]));
        let riff_len = u32::from_le_bytes(webp[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len + 8, webp.len());
        let (ogg, mime) = generated("audio", true).unwrap();
        assert_eq!(mime, "audio/ogg; codecs=opus");
        assert_eq!(&ogg[28..36], b"OpusHead");
        assert_eq!(ogg.windows(4).filter(|w| w == b"OggS").count(), 3);
        let (pdf, _) = generated("document", false).unwrap();
        let text = String::from_utf8(pdf.to_vec()).unwrap();
        let xref: usize = text
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(text[xref..].starts_with("xref"));
        assert!(generated("video", false)
            .unwrap_err()
            .contains("give `file` or `bytes`"));
    }

    #[test]
    fn base64_data_wins_and_bad_base64_is_an_error() {
        let part = MediaIn {
            data_base64: Some("aGVsbG8=".into()),
            mime_type: Some("text/plain".into()),
            ..Default::default()
        };
        let (b, m) = media_bytes("document", &part).unwrap();
        assert_eq!((b.as_ref(), m.as_str()), (&b"hello"[..], "text/plain"));
        let bad = MediaIn {
            data_base64: Some("***".into()),
            ..Default::default()
        };
        assert!(media_bytes("document", &bad)
            .unwrap_err()
            .contains("not base64"));
    }
}
