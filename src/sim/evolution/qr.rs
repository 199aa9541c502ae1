//! Real QR codes: a Baileys-shaped pairing string rendered as a PNG data URL.
//!
//! Why real: apps display the QR to an operator and test plans check that it is a decodable
//! `data:image/png;base64,…` that changes on refresh; a placeholder would pass a shape check
//! and fail the first real look. Rendering follows the server's settings where the `qrcode`
//! crate allows: ECC level H, 4 pixels per module (the crate's quiet zone is 4 modules, the
//! server's margin is 3).

use std::io::Cursor;

use base64::Engine;
use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};
use rand::Rng;

use super::state::NewQr;

/// Errors rendering a QR code (the input is generated here, so these are internal faults).
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("QR encoding failed: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("PNG encoding failed: {0}")]
    Png(#[from] image::ImageError),
}

/// A pairing string shaped like Baileys': `2@<ref>,<noiseKey>,<identityKey>,<advSecret>`.
pub fn new_code(rng: &mut impl Rng) -> String {
    let b64 = |n: usize, rng: &mut dyn rand::RngCore| {
        let mut bytes = vec![0u8; n];
        rng.fill_bytes(&mut bytes);
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let reference = b64(48, rng);
    let noise = b64(32, rng);
    let identity = b64(32, rng);
    let adv = b64(32, rng);
    format!("2@{reference},{noise},{identity},{adv}")
}

/// Renders `code` as a PNG and returns `data:image/png;base64,…`.
pub fn png_data_url(code: &str) -> Result<String, QrError> {
    let qr = QrCode::with_error_correction_level(code.as_bytes(), EcLevel::H)?;
    let img = qr
        .render::<Luma<u8>>()
        .module_dimensions(4, 4)
        .quiet_zone(true)
        .build();
    let mut png = Cursor::new(Vec::new());
    image::DynamicImage::ImageLuma8(img).write_to(&mut png, ImageFormat::Png)?;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    ))
}

/// A new random QR with its image.
pub fn generate() -> Result<NewQr, QrError> {
    let code = new_code(&mut rand::rng());
    let base64 = png_data_url(&code)?;
    Ok(NewQr { code, base64 })
}

/// An 8-character pairing code (upper-case letters and digits, as seen in issues).
pub fn pairing_code(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ0123456789";
    (0..8)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_decodes_back_to_the_code() {
        let qr = generate().unwrap();
        assert!(qr.code.starts_with("2@"));
        assert_eq!(qr.code.matches(',').count(), 3);
        let b64 = qr.base64.strip_prefix("data:image/png;base64,").unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, qr.code);
    }

    #[test]
    fn codes_differ_and_pairing_codes_have_eight_chars() {
        let mut rng = rand::rng();
        assert_ne!(new_code(&mut rng), new_code(&mut rng));
        let p = pairing_code(&mut rng);
        assert_eq!(p.len(), 8);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
