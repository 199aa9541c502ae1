//! The app's own check of Meta's `X-Hub-Signature-256` (independent of the simulator's signer,
//! so a bug in one cannot hide a bug in the other): `sha256=` + lowercase hex of
//! HMAC-SHA256(app secret, the exact body bytes), compared in constant time.
//! Meta Cloud API reference, "Webhooks › Validating payloads" (shared/reference/meta-cloud-api.md §5).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a Meta webhook's signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header: 401.
    Missing,
    /// Present but wrong (other scheme, not hex, other key or body): 403.
    Mismatch,
}

/// Checks `header` (`sha256=<hex>`) against `body` signed with `app_secret`.
pub fn verify(app_secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_part = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Mismatch)?;
    let expected = hex::decode(hex_part).map_err(|_| SignatureError::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes())
        .map_err(|_| SignatureError::Mismatch)?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector_and_exact_bytes() {
        // HMAC-SHA256("secret", "{\"a\":1}"), computed independently with
        // `printf '{"a":1}' | openssl dgst -sha256 -hmac secret`.
        let body = br#"{"a":1}"#;
        let good = "sha256=aa9e2e3575f5d7098b6caccd790888c36d5fdb63342a73bada2d6a51747a8494";
        assert_eq!(verify("secret", Some(good), body), Ok(()));
        assert_eq!(verify("secret", Some(&format!(" {good} ")), body), Ok(()));
        assert_eq!(
            verify("other", Some(good), body),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("secret", Some(good), br#"{"a": 1}"#),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify("secret", None, body), Err(SignatureError::Missing));
        for bad in ["sha1=abc", "sha256=zz", "sha256=", "aa9e2e35"] {
            assert_eq!(
                verify("secret", Some(bad), body),
                Err(SignatureError::Mismatch),
                "{bad}"
            );
        }
    }
}
