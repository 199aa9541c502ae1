//! Uploaded media (`POST /{phone-number-id}/media`, `GET|DELETE /{media-id}`), kept in memory
//! with a byte budget: when a new upload would exceed it, the oldest uploads are evicted (a
//! later `GET` of them answers like an unknown id), so memory stays bounded.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The MIME types Meta accepts on `POST /{phone-number-id}/media`, in the order of its error
/// message (Meta's "Supported media types"; whatsapp-api-js `uploadMedia` keeps the same list).
pub const SUPPORTED_MIME: &[&str] = &[
    "audio/aac",
    "audio/mp4",
    "audio/mpeg",
    "audio/amr",
    "audio/ogg",
    "audio/opus",
    "application/vnd.ms-powerpoint",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/pdf",
    "text/plain",
    "application/vnd.ms-excel",
    "image/jpeg",
    "image/png",
    "image/webp",
    "video/mp4",
    "video/3gpp",
];

/// Whether Meta accepts an upload of this MIME type (parameters like `; codecs=opus` ignored).
pub fn mime_supported(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    SUPPORTED_MIME
        .iter()
        .any(|m| m.eq_ignore_ascii_case(essence))
}

/// What a `Range` header asks of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// No header, or not a single byte range: the whole body.
    Full,
    /// The inclusive span `start..=end`.
    Part(usize, usize),
    /// 416.
    Unsatisfiable,
}

/// A single `Range: bytes=a-b` (or `a-`, `-n`) against a body of `len` bytes.
pub fn byte_range(header: Option<&str>, len: usize) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    let Some((a, b)) = spec.split_once('-').filter(|_| !spec.contains(',')) else {
        return ByteRange::Full;
    };
    let last = len.checked_sub(1);
    let span = match (a.trim(), b.trim()) {
        ("", n) => n
            .parse::<usize>()
            .ok()
            .zip(last)
            .map(|(n, l)| (len.saturating_sub(n), l)),
        (a, "") => a.parse().ok().zip(last),
        (a, b) => a
            .parse()
            .ok()
            .zip(b.parse::<usize>().ok())
            .zip(last)
            .map(|((s, e), l)| (s, e.min(l))),
    };
    match span {
        Some((start, end)) if start < len && start <= end => ByteRange::Part(start, end),
        _ => ByteRange::Unsatisfiable,
    }
}

/// One uploaded file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaItem {
    pub id: String,
    /// The phone-number-id that uploaded it (only its tokens may read it).
    pub owner: String,
    pub mime_type: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    pub bytes: Bytes,
}

impl MediaItem {
    /// A new item; computes the hash.
    pub fn new(id: String, owner: String, mime_type: String, bytes: Bytes) -> Self {
        let sha256 = hex::encode(Sha256::digest(&bytes));
        MediaItem {
            id,
            owner,
            mime_type,
            sha256,
            bytes,
        }
    }

    /// `GET /{media-id}`: the metadata with a download `url` on the simulator's own host.
    pub fn describe(&self, base_url: &str) -> Value {
        json!({
            "messaging_product": "whatsapp",
            "url": format!("{base_url}/whatsapp_business/attachments/?mid={}", self.id),
            "mime_type": self.mime_type,
            "sha256": self.sha256,
            "file_size": self.bytes.len(),
            "id": self.id,
        })
    }
}

/// Uploaded media within a byte budget.
#[derive(Debug)]
pub struct MediaStore {
    items: HashMap<String, MediaItem>,
    order: VecDeque<String>,
    total: usize,
    capacity: usize,
}

impl MediaStore {
    /// A store keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        MediaStore {
            items: HashMap::new(),
            order: VecDeque::new(),
            total: 0,
            capacity,
        }
    }

    /// Stores an item, evicting the oldest ones to make room. An item larger than the whole
    /// budget is refused (`false`).
    pub fn insert(&mut self, item: MediaItem) -> bool {
        let size = item.bytes.len();
        if size > self.capacity {
            return false;
        }
        while self.total + size > self.capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(evicted) = self.items.remove(&old) {
                self.total -= evicted.bytes.len();
            }
        }
        self.total += size;
        self.order.push_back(item.id.clone());
        self.items.insert(item.id.clone(), item);
        true
    }

    pub fn get(&self, id: &str) -> Option<&MediaItem> {
        self.items.get(id)
    }

    /// Removes an item; `true` if it existed.
    pub fn remove(&mut self, id: &str) -> bool {
        match self.items.remove(id) {
            Some(item) => {
                self.total -= item.bytes.len();
                self.order.retain(|k| k != id);
                true
            }
            None => false,
        }
    }

    pub fn clear(&mut self) {
        self.items.clear();
        self.order.clear();
        self.total = 0;
    }

    /// Bytes currently stored.
    pub fn total_bytes(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_whitelist_and_ranges() {
        assert!(mime_supported("audio/ogg; codecs=opus"));
        assert!(mime_supported("IMAGE/PNG"));
        assert!(!mime_supported("text/html"));
        use ByteRange::*;
        assert_eq!(byte_range(Some("bytes=0-9"), 100), Part(0, 9));
        assert_eq!(byte_range(Some("bytes=90-"), 100), Part(90, 99));
        assert_eq!(byte_range(Some("bytes=-10"), 100), Part(90, 99));
        assert_eq!(byte_range(Some("bytes=95-200"), 100), Part(95, 99));
        assert_eq!(byte_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=x-"), 100), Unsatisfiable);
        assert_eq!(byte_range(Some("bytes=0-1,4-5"), 100), Full);
        assert_eq!(byte_range(None, 100), Full);
    }

    fn item(id: &str, len: usize) -> MediaItem {
        MediaItem::new(
            id.into(),
            "p".into(),
            "image/png".into(),
            Bytes::from(vec![7u8; len]),
        )
    }

    #[test]
    fn describe_has_the_graph_fields() {
        let m = MediaItem::new(
            "42".into(),
            "p".into(),
            "text/plain".into(),
            Bytes::from("abc"),
        );
        let v = m.describe("http://127.0.0.1:9");
        assert_eq!(
            v["url"],
            "http://127.0.0.1:9/whatsapp_business/attachments/?mid=42"
        );
        assert_eq!(v["file_size"], 3);
        assert_eq!(
            v["sha256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(v["messaging_product"], "whatsapp");
    }

    #[test]
    fn budget_evicts_oldest_first() {
        let mut s = MediaStore::new(10);
        assert!(s.insert(item("a", 4)));
        assert!(s.insert(item("b", 4)));
        assert!(s.insert(item("c", 4)));
        assert!(s.get("a").is_none());
        assert!(s.get("b").is_some() && s.get("c").is_some());
        assert_eq!(s.total_bytes(), 8);
        assert!(!s.insert(item("huge", 11)));
        assert!(s.remove("b"));
        assert!(!s.remove("b"));
        assert_eq!(s.total_bytes(), 4);
        s.clear();
        assert_eq!(s.total_bytes(), 0);
    }
}
