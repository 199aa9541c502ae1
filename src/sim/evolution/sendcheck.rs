//! `buttonMessage`'s rules and button JSON (`whatsapp.baileys.service.ts` 2.3.6: `mapType`,
//! `toJSONString`).

use rand::Rng;
use serde_json::{json, Value};

use super::errors::EvoError;

/// The controller's checks, in its order.
pub fn buttons(buttons: &[Value]) -> Result<(), EvoError> {
    if buttons.is_empty() {
        return Err(EvoError::bad_request("At least one button is required"));
    }
    let ty = |b: &Value| b["type"].as_str().unwrap_or_default().to_string();
    let reply = buttons.iter().any(|b| ty(b) == "reply");
    let pix = buttons.iter().any(|b| ty(b) == "pix");
    let other = buttons.iter().any(|b| ty(b) != "reply" && ty(b) != "pix");
    if reply {
        if buttons.len() > 3 {
            return Err(EvoError::bad_request("Maximum of 3 reply buttons allowed"));
        }
        if other {
            return Err(EvoError::bad_request(
                "Reply buttons cannot be mixed with other button types",
            ));
        }
    }
    if pix {
        if buttons.len() > 1 {
            return Err(EvoError::bad_request("Only one PIX button is allowed"));
        }
        if other {
            return Err(EvoError::bad_request(
                "PIX button cannot be mixed with other button types",
            ));
        }
    }
    Ok(())
}

/// `{name, buttonParamsJson}` of one button.
pub fn native_button(b: &Value) -> Value {
    let text = &b["displayText"];
    let (name, params) = match b["type"].as_str().unwrap_or_default() {
        "reply" => ("quick_reply", json!({"display_text": text, "id": b["id"]})),
        "copy" => (
            "cta_copy",
            json!({"display_text": text, "copy_code": b["copyCode"]}),
        ),
        "url" => (
            "cta_url",
            json!({"display_text": text, "url": b["url"], "merchant_url": b["url"]}),
        ),
        "call" => (
            "cta_call",
            json!({"display_text": text, "phone_number": b["phoneNumber"]}),
        ),
        _ => ("payment_info", pix_params(b)),
    };
    json!({"name": name, "buttonParamsJson": params.to_string()})
}

fn pix_params(b: &Value) -> Value {
    let mut rng = rand::rng();
    let reference: String = (0..11)
        .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rng.random_range(0..36)]))
        .collect();
    let zero = json!({"value": 0, "offset": 100});
    json!({
        "currency": b["currency"], "total_amount": zero, "reference_id": reference,
        "type": "physical-goods",
        "order": {"status": "pending", "subtotal": zero, "order_type": "ORDER",
                  "items": [{"name": "", "amount": zero, "quantity": 0, "sale_amount": zero}]},
        "payment_settings": [{"type": "pix_static_code", "pix_static_code": {
            "merchant_name": b["name"], "key": b["key"], "key_type": key_type(b["keyType"].as_str())}}],
        "share_payment_status": false,
    })
}

/// `mapKeyType`.
fn key_type(k: Option<&str>) -> Value {
    match k {
        Some("random") => json!("EVP"),
        Some(k) => json!(k.to_uppercase()),
        None => Value::Null,
    }
}
