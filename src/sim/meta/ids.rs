//! Identifiers the Cloud API hands out: message ids (`wamid.…`), business-scoped user ids
//! (BSUIDs), media ids and `fbtrace_id`s.
//!
//! Clients treat them as opaque, but people read them in logs, so they look like Meta's: a wamid
//! is `wamid.` + base64 of the same small binary record the real ids decode to
//! (`1c 18 <len> <phone> 15 02 00 <direction> 18 <len> <hex id> 00`). A BSUID is
//! `<country>.<20 digits>`, derived from (business account id, phone) with SHA-256 so that the
//! same customer keeps the same id across runs for one business and gets a different one for
//! another business, as the real ids are scoped.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Direction byte inside a wamid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Sent by the business (`/messages`).
    Outbound,
    /// Sent by the customer (inbound webhook).
    Inbound,
}

/// A fresh wamid for a message exchanged with `phone` (digits).
pub fn wamid(phone: &str, direction: Direction) -> String {
    let mut rng = rand::rng();
    let hex_len = if direction == Direction::Outbound {
        18
    } else {
        20
    };
    let id: String = (0..hex_len)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.random_range(0..16)]))
        .collect();
    let phone = &phone.as_bytes()[..phone.len().min(64)];
    let mut blob = Vec::with_capacity(phone.len() + id.len() + 10);
    blob.extend_from_slice(&[0x1c, 0x18, phone.len() as u8]);
    blob.extend_from_slice(phone);
    blob.extend_from_slice(&[0x15, 0x02, 0x00]);
    blob.push(if direction == Direction::Outbound {
        0x11
    } else {
        0x12
    });
    blob.extend_from_slice(&[0x18, id.len() as u8]);
    blob.extend_from_slice(id.as_bytes());
    blob.push(0x00);
    format!("wamid.{}", STANDARD.encode(blob))
}

/// The business-scoped user id of the customer `phone` for the business account `waba_id`.
pub fn user_id(waba_id: &str, phone: &str) -> String {
    let digest = Sha256::new()
        .chain_update(waba_id.as_bytes())
        .chain_update(b"/")
        .chain_update(phone.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("{}.{:020}", country_of(phone), u64::from_be_bytes(first))
}

/// ISO country code for the calling code that starts `phone` (a small table of the countries
/// the seed deployments serve; `US` otherwise). Only cosmetic: BSUIDs are opaque.
fn country_of(phone: &str) -> &'static str {
    const TABLE: &[(&str, &str)] = &[
        ("1", "US"),
        ("34", "ES"),
        ("44", "GB"),
        ("49", "DE"),
        ("51", "PE"),
        ("52", "MX"),
        ("54", "AR"),
        ("55", "BR"),
        ("56", "CL"),
        ("57", "CO"),
        ("58", "VE"),
        ("91", "IN"),
        ("593", "EC"),
    ];
    TABLE
        .iter()
        .filter(|(prefix, _)| phone.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or("US", |(_, cc)| cc)
}

/// A numeric media id, 15–16 digits like Meta's.
pub fn media_id() -> String {
    rand::rng()
        .random_range(100_000_000_000_000u64..10_000_000_000_000_000)
        .to_string()
}

/// A random `fbtrace_id` (23 url-safe base64 characters, as seen in real error bodies).
pub fn fbtrace_id() -> String {
    let bytes: [u8; 17] = rand::rng().random();
    let mut s = URL_SAFE_NO_PAD.encode(bytes);
    s.truncate(23);
    s
}

/// Digits of a phone number as given in `to` (`+1 650-555-1234` → `16505551234`).
pub fn normalize_phone(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wamid_decodes_to_the_phone_and_direction() {
        let id = wamid("16505551234", Direction::Outbound);
        let raw = STANDARD.decode(id.strip_prefix("wamid.").unwrap()).unwrap();
        assert_eq!(&raw[..3], &[0x1c, 0x18, 11]);
        assert_eq!(&raw[3..14], b"16505551234");
        assert_eq!(raw[17], 0x11);
        assert_eq!(*raw.last().unwrap(), 0);
        let inbound = wamid("16505551234", Direction::Inbound);
        let raw = STANDARD.decode(&inbound[6..]).unwrap();
        assert_eq!(raw[17], 0x12);
    }

    #[test]
    fn wamids_are_unique() {
        let a = wamid("1", Direction::Outbound);
        let b = wamid("1", Direction::Outbound);
        assert_ne!(a, b);
    }

    #[test]
    fn user_id_is_stable_per_business_and_scoped() {
        let a = user_id("waba1", "5215512345678");
        assert_eq!(a, user_id("waba1", "5215512345678"));
        assert_ne!(a, user_id("waba2", "5215512345678"));
        assert!(a.starts_with("MX."), "{a}");
        assert_eq!(a.len(), 3 + 20);
        assert!(a[3..].chars().all(|c| c.is_ascii_digit()));
        assert!(user_id("w", "16505551234").starts_with("US."));
        assert!(user_id("w", "593991234567").starts_with("EC."));
    }

    #[test]
    fn fbtrace_and_media_ids_have_the_real_shape() {
        assert_eq!(fbtrace_id().len(), 23);
        let m = media_id();
        assert!((15..=16).contains(&m.len()) && m.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn normalize_keeps_digits() {
        assert_eq!(normalize_phone("+1 650-555-1234"), "16505551234");
    }
}
