//! The Meta simulator's `/messages` validation: never a panic on any JSON, and never an
//! acceptance of a body that is not a WhatsApp message (Cloud API reference: `messaging_product`
//! must be `whatsapp`, `to` is required).
#![no_main]

use harness::sim::meta::validate::parse_messages_request;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if parse_messages_request(&body).is_ok() {
        assert_eq!(body["messaging_product"], "whatsapp", "accepted {body}");
        assert!(body.get("to").is_some() || body.get("recipient").is_some(), "accepted {body}");
    }
});
