//! The exact bytes of a Meta webhook: ASCII-only JSON and its `X-Hub-Signature-256`.
//!
//! Meta sends JSON in which every character outside 0x00–0x7E is written as a `\uXXXX` escape
//! (lowercase hex, UTF-16 code units, so an emoji becomes a surrogate pair). whatsapp-api-js
//! re-escapes the body it received that way before checking the HMAC, pywa hashes the raw bytes;
//! only ASCII-escaped bytes satisfy both (reference §5). The signature is
//! `sha256=<lowercase hex HMAC-SHA256(app secret, body)>` over exactly the bytes that go on the
//! wire, so callers serialise once with [`to_ascii_json`], sign those bytes with
//! [`signature_header`] and send the same buffer.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Serialises `value` as compact JSON with every non-ASCII (and DEL) character escaped.
///
/// Such characters can only occur inside JSON strings, so escaping them after serialisation
/// is exact.
pub fn to_ascii_json(value: &Value) -> Vec<u8> {
    escape_non_ascii(&value.to_string()).into_bytes()
}

/// Rewrites every character outside 0x00–0x7E as `\uXXXX` (UTF-16 units, lowercase hex).
pub fn escape_non_ascii(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 8);
    let mut units = [0u16; 2];
    for ch in json.chars() {
        if (ch as u32) < 0x7f {
            out.push(ch);
            continue;
        }
        for unit in ch.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out
}

/// `sha256=` + lowercase hex of HMAC-SHA256 keyed with `app_secret` over `body`.
pub fn signature_header(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac_for(app_secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The legacy header Meta still sends beside `X-Hub-Signature-256`.
pub const LEGACY_SIGNATURE_HEADER: &str = "x-hub-signature";

/// `sha1=` followed by the lowercase hex HMAC-SHA1 of `body` keyed with the app secret.
pub fn legacy_signature_header(app_secret: &[u8], body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(app_secret)
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a `sha256=<hex>` header against `body` in constant time.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_part) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_part) else {
        return false;
    };
    let mut mac = mac_for(app_secret);
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn mac_for(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length (long keys are hashed), so this cannot fail.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC-SHA256 takes keys of any length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_signature_matches_rfc2202_vector() {
        // RFC 2202 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            legacy_signature_header(b"Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
    use serde_json::json;

    #[test]
    fn escapes_accents_and_emoji_as_utf16_lowercase() {
        let v = json!({"t": "cañón 😀", "k\u{e9}y": 1});
        let bytes = to_ascii_json(&v);
        assert!(bytes.is_ascii());
        let s = String::from_utf8(bytes.clone()).unwrap();
        assert!(s.contains(r#""ca\u00f1\u00f3n \ud83d\ude00""#), "{s}");
        assert!(s.contains(r#""k\u00e9y""#), "{s}");
        // Still the same JSON value.
        let back: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn escapes_delete_but_keeps_plain_ascii() {
        assert_eq!(escape_non_ascii("a\u{7f}b~"), "a\\u007fb~");
    }

    #[test]
    fn signature_matches_rfc4231_vector() {
        // RFC 4231 test case 2.
        let sig = signature_header(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verify_accepts_own_signature_and_rejects_tampering() {
        let body = br#"{"a":1}"#;
        let sig = signature_header(b"secret", body);
        assert!(verify_signature(b"secret", body, &sig));
        assert!(!verify_signature(b"other", body, &sig));
        assert!(!verify_signature(b"secret", br#"{"a":2}"#, &sig));
        assert!(!verify_signature(
            b"secret",
            body,
            sig.trim_start_matches("sha256=")
        ));
        assert!(!verify_signature(b"secret", body, "sha256=zz"));
    }
}
