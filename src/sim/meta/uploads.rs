//! Resumable upload sessions (Graph API "Resumable Upload API", as pywa calls it:
//! `create_upload_session` → `POST /{app-id}/uploads?file_name&file_length&file_type`,
//! `upload_file` → `POST /upload:<id>` with a `file_offset` header and the raw bytes,
//! `get_upload_session` → `GET /upload:<id>`).
//!
//! A session answers `{"id": "upload:…"}`; each chunk must start at the session's current
//! offset (a wrong `file_offset` is refused with the offset to resume from); the upload answers
//! `{"h": "<file handle>"}`, the handle apps put in template header examples or
//! `profile_picture_handle`; `GET` answers `{"id", "file_offset"}`. File types Meta accepts:
//! `application/pdf`, `image/jpeg`, `image/jpg`, `image/png`, `video/mp4`.

use std::collections::{HashMap, VecDeque};

use base64::Engine;
use serde_json::{json, Value};

use super::graph::GraphError;

pub const FILE_TYPES: &[&str] = &[
    "application/pdf",
    "image/jpeg",
    "image/jpg",
    "image/png",
    "video/mp4",
];

/// Sessions kept (oldest dropped first).
const SESSIONS_KEPT: usize = 256;

#[derive(Debug)]
struct Session {
    length: usize,
    bytes: Vec<u8>,
}

/// All upload sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    map: HashMap<String, Session>,
    order: VecDeque<String>,
    /// Bytes uploaded in total, bounded by `max_file` per session.
    next: u64,
}

fn bad(details: impl Into<String>) -> GraphError {
    GraphError::invalid_parameter(details)
}

impl Sessions {
    /// `POST /{app-id}/uploads`.
    pub fn create(
        &mut self,
        q: &HashMap<String, String>,
        max_file: usize,
    ) -> Result<Value, GraphError> {
        let length: usize = match q.get("file_length") {
            None => return Err(GraphError::param_required("file_length")),
            Some(l) => l
                .parse()
                .map_err(|_| bad("Param file_length must be a positive integer."))?,
        };
        if length == 0 || length > max_file {
            return Err(bad(format!(
                "Param file_length must be between 1 and {max_file} bytes."
            )));
        }
        let Some(kind) = q.get("file_type") else {
            return Err(GraphError::param_required("file_type"));
        };
        if !FILE_TYPES.contains(&kind.as_str()) {
            return Err(bad(format!(
                "Param file_type must be one of {{{}}} - got \"{kind}\".",
                FILE_TYPES.join(", ")
            )));
        }
        self.next += 1;
        let raw = format!(
            "{}:{}:{}",
            self.next,
            kind,
            q.get("file_name").map_or("file", String::as_str)
        );
        let id = format!(
            "upload:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        if self.order.len() >= SESSIONS_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
        self.order.push_back(id.clone());
        self.map.insert(
            id.clone(),
            Session {
                length,
                bytes: Vec::new(),
            },
        );
        Ok(json!({ "id": id }))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    /// `POST /upload:<id>` with `file_offset`.
    pub fn upload(
        &mut self,
        id: &str,
        offset: Option<&str>,
        chunk: &[u8],
    ) -> Result<Value, GraphError> {
        let s = self
            .map
            .get_mut(id)
            .ok_or_else(|| GraphError::unsupported_request("POST", id))?;
        let offset: usize = offset
            .and_then(|o| o.trim().parse().ok())
            .ok_or_else(|| GraphError::param_required("file_offset"))?;
        if offset != s.bytes.len() {
            return Err(bad(format!(
                "Invalid file_offset {offset}: resume from {}.",
                s.bytes.len()
            )));
        }
        if s.bytes.len() + chunk.len() > s.length {
            return Err(bad(format!(
                "The upload is longer than file_length ({}).",
                s.length
            )));
        }
        s.bytes.extend_from_slice(chunk);
        let handle = format!(
            "4::{}",
            base64::engine::general_purpose::STANDARD.encode(id)
        );
        Ok(json!({ "h": handle }))
    }

    /// `GET /upload:<id>`.
    pub fn status(&self, id: &str) -> Option<Value> {
        self.map
            .get(id)
            .map(|s| json!({"id": id, "file_offset": s.bytes.len()}))
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn resumable_upload() {
        let mut s = Sessions::default();
        let v = s
            .create(
                &q(&[
                    ("file_length", "6"),
                    ("file_type", "image/png"),
                    ("file_name", "a.png"),
                ]),
                100,
            )
            .unwrap();
        let id = v["id"].as_str().unwrap().to_string();
        assert!(id.starts_with("upload:"));
        s.upload(&id, Some("0"), b"abc").unwrap();
        assert_eq!(s.status(&id).unwrap()["file_offset"], 3);
        assert_eq!(s.upload(&id, Some("0"), b"def").unwrap_err().code, 100);
        assert!(s.upload(&id, Some("3"), b"def").unwrap()["h"]
            .as_str()
            .unwrap()
            .starts_with("4::"));
        assert!(s.upload(&id, Some("6"), b"x").is_err());
        assert!(s
            .create(&q(&[("file_length", "6"), ("file_type", "text/html")]), 100)
            .is_err());
        assert!(s
            .create(&q(&[("file_length", "0"), ("file_type", "image/png")]), 100)
            .is_err());
    }
}
