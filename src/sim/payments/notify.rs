//! MercadoPago's payment notification (Webhooks), signed as MercadoPago signs it.
//!
//! upstream: https://www.mercadopago.com.ar/developers/en/docs/your-integrations/notifications/webhooks
//! ("Validate notification origin"): a `POST {notification_url}?data.id={id}&type=payment`
//! with the JSON body `{id, live_mode, type: "payment", date_created, user_id, api_version:
//! "v1", action: "payment.created"|"payment.updated", data: {id}}`, the headers
//! `x-request-id` (a UUID) and `x-signature: ts={unix seconds},v1={hex}` where `v1` is
//! HMAC-SHA256, keyed with the application's secret signature, of the manifest
//! `id:{data.id};request-id:{x-request-id};ts:{ts};` (`data.id` in lower case when it is
//! alphanumeric).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The manifest MercadoPago signs.
pub fn manifest(data_id: &str, request_id: &str, ts: u64) -> String {
    let id = if data_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        data_id.to_ascii_lowercase()
    } else {
        data_id.to_string()
    };
    format!("id:{id};request-id:{request_id};ts:{ts};")
}

/// The `x-signature` header value.
pub fn signature(secret: &str, data_id: &str, request_id: &str, ts: u64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(manifest(data_id, request_id, ts).as_bytes());
    format!("ts={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a received `x-signature` as an app should (for tests and the reference app).
pub fn verify(secret: &str, header: &str, data_id: &str, request_id: &str) -> bool {
    let mut ts = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("ts", v)) => ts = v.parse::<u64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(ts), Some(v1)) = (ts, v1) else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(manifest(data_id, request_id, ts).as_bytes());
    mac.verify_slice(&v1).is_ok()
}

/// The notification body.
pub fn body(
    notification_id: u64,
    payment_id: u64,
    action: &str,
    user_id: u64,
    at: &str,
) -> serde_json::Value {
    serde_json::json!({
        "id": notification_id,
        "live_mode": false,
        "type": "payment",
        "date_created": at,
        "user_id": user_id,
        "api_version": "v1",
        "action": action,
        "data": {"id": payment_id.to_string()},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_follows_the_documented_template() {
        // upstream: the docs' template `id:[data.id_url];request-id:[x-request-id_header];ts:[ts_header];`
        assert_eq!(
            manifest(
                "123456",
                "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
                1742505638683
            ),
            "id:123456;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1742505638683;"
        );
        assert_eq!(manifest("ABC12", "r", 1), "id:abc12;request-id:r;ts:1;");
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_manifest_and_verifies() {
        let header = signature("secret", "123", "req-1", 1_704_908_010);
        // Independently: HMAC-SHA256("secret", "id:123;request-id:req-1;ts:1704908010;").
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"secret").unwrap();
        mac.update(b"id:123;request-id:req-1;ts:1704908010;");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(header, format!("ts=1704908010,v1={expected}"));
        assert!(verify("secret", &header, "123", "req-1"));
        assert!(!verify("other", &header, "123", "req-1"));
        assert!(!verify("secret", &header, "124", "req-1"));
        assert!(!verify("secret", "ts=1", "123", "req-1"));
    }
}
