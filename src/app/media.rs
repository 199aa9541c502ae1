//! Downloading a customer's media from the provider and checking it against the SHA-256 the
//! webhook states.
//!
//! - Meta: `GET /{version}/{media-id}?phone_number_id=…` with the bearer token gives
//!   `{url, mime_type, sha256, file_size, id}`; a `GET` on `url` with the same bearer gives the
//!   bytes (Meta Cloud API reference, Media; shared/reference/meta-cloud-api.md §6).
//! - Evolution: the webhook's `message.base64` when the instance sends media in webhooks
//!   (`webhookBase64`), else `POST /chat/getBase64FromMediaMessage/{instance}`
//!   `{"message": {"key": {"id"}}, "convertToMp4": false}` → `{base64, mimetype, …}`
//!   (upstream: evolution-api 2.3.6 src/api/routes/chat.router.ts,
//!   whatsapp.baileys.service.ts `getBase64FromMediaMessage`).
//!
//! The stated hash may be hex (Meta's media endpoint) or base64 (Baileys' `fileSha256`, Meta's
//! webhooks): both are accepted, compared with the digest of the downloaded bytes.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::outbox::ProviderClient;
use super::webhook::{Media, MediaSource};
use crate::scenario::ProviderKind;

/// The largest attachment downloaded (Meta's limit for audio and video: 16 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// Why media could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the provider refused the download: {0}")]
    Provider(String),
    #[error("the media is larger than {MAX_BYTES} bytes")]
    TooLarge,
    #[error("the downloaded bytes do not match the stated sha256 {stated}")]
    HashMismatch { stated: String },
    #[error("the webhook states no sha256 for the media")]
    NoHash,
}

/// `true` when `stated` (hex or base64) is the SHA-256 of `bytes`.
pub fn hash_matches(bytes: &[u8], stated: &str) -> bool {
    let digest = Sha256::digest(bytes);
    let stated = stated.trim();
    let decoded = match hex::decode(stated) {
        Ok(h) if h.len() == 32 => h,
        _ => STANDARD.decode(stated).unwrap_or_default(),
    };
    decoded.as_slice() == digest.as_slice()
}

/// Downloads `media` for `tenant` (Meta: with `token`) and checks its hash.
pub async fn fetch_verified(
    client: &ProviderClient,
    tenant: &str,
    token: &str,
    media: &Media,
) -> Result<Vec<u8>, MediaError> {
    let stated = media.sha256.clone().ok_or(MediaError::NoHash)?;
    let bytes = match (&media.source, client.kind) {
        (MediaSource::Meta { id }, _) => meta(client, tenant, token, id).await?,
        (
            MediaSource::Evolution {
                base64: Some(b), ..
            },
            _,
        ) => decode(b)?,
        (MediaSource::Evolution { message_id, .. }, ProviderKind::Evolution) => {
            evolution(client, tenant, message_id).await?
        }
        (MediaSource::Evolution { .. }, ProviderKind::Meta) => {
            return Err(MediaError::Provider("Evolution media on a Meta app".into()))
        }
    };
    if hash_matches(&bytes, &stated) {
        Ok(bytes)
    } else {
        Err(MediaError::HashMismatch { stated })
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn meta(
    client: &ProviderClient,
    tenant: &str,
    token: &str,
    id: &str,
) -> Result<Vec<u8>, MediaError> {
    let url = format!("{}/{}/{id}", client.url, client.graph_version);
    let info = get_json(
        client
            .http
            .get(&url)
            .query(&[("phone_number_id", tenant)])
            .bearer_auth(token),
    )
    .await?;
    let download = info["url"]
        .as_str()
        .ok_or_else(|| MediaError::Provider(format!("GET /{id} gave no `url`: {info}")))?;
    let response = client
        .http
        .get(download)
        .bearer_auth(token)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| MediaError::Provider(e.to_string()))?;
    if !response.status().is_success() {
        return Err(MediaError::Provider(format!(
            "download answered {}",
            response.status()
        )));
    }
    if response.content_length().unwrap_or(0) > MAX_BYTES as u64 {
        return Err(MediaError::TooLarge);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| MediaError::Provider(e.to_string()))?;
    if bytes.len() > MAX_BYTES {
        return Err(MediaError::TooLarge);
    }
    Ok(bytes.to_vec())
}

async fn evolution(
    client: &ProviderClient,
    instance: &str,
    message_id: &str,
) -> Result<Vec<u8>, MediaError> {
    let url = format!("{}/chat/getBase64FromMediaMessage/{instance}", client.url);
    let body = json!({"message": {"key": {"id": message_id}}, "convertToMp4": false});
    let answer = get_json(
        client
            .http
            .post(&url)
            .header("apikey", &client.credential)
            .json(&body),
    )
    .await?;
    let b64 = answer["base64"].as_str().ok_or_else(|| {
        MediaError::Provider(format!(
            "getBase64FromMediaMessage gave no `base64`: {answer}"
        ))
    })?;
    decode(b64)
}

fn decode(b64: &str) -> Result<Vec<u8>, MediaError> {
    if b64.len() > MAX_BYTES / 3 * 4 + 4 {
        return Err(MediaError::TooLarge);
    }
    STANDARD
        .decode(b64.trim())
        .map_err(|e| MediaError::Provider(format!("media is not base64: {e}")))
}

async fn get_json(request: reqwest::RequestBuilder) -> Result<Value, MediaError> {
    let response = request
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| MediaError::Provider(e.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| MediaError::Provider(e.to_string()))?;
    if !status.is_success() {
        let cut: String = text.chars().take(300).collect();
        return Err(MediaError::Provider(format!("{status}: {cut}")));
    }
    serde_json::from_str(&text).map_err(|e| MediaError::Provider(format!("not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_in_hex_or_base64() {
        // sha256("abc") — FIPS 180-2 appendix B.1.
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(hash_matches(b"abc", hex));
        assert!(hash_matches(b"abc", &hex.to_uppercase()));
        let b64 = STANDARD.encode(hex::decode(hex).unwrap());
        assert_eq!(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert!(hash_matches(b"abc", &b64));
        assert!(!hash_matches(b"abd", hex));
        assert!(!hash_matches(b"abc", "not a hash"));
        assert!(!hash_matches(b"abc", ""));
    }

    #[test]
    fn base64_bodies_are_bounded_and_checked() {
        assert_eq!(decode("AAEC").unwrap(), vec![0, 1, 2]);
        assert!(matches!(decode("@@"), Err(MediaError::Provider(_))));
        let huge = "A".repeat(MAX_BYTES / 3 * 4 + 8);
        assert_eq!(decode(&huge), Err(MediaError::TooLarge));
    }
}
