//! The Evolution simulator's request validation (the server's JSON schemas,
//! upstream src/validate/*.schema.ts): never a panic on any JSON, and never an acceptance of a
//! body without what the schema requires (sendText without `number` or `text`).
#![no_main]

use harness::sim::evolution::schema;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

const SCHEMAS: &[&str] = &[
    "textMessageSchema",
    "mediaMessageSchema",
    "listMessageSchema",
    "buttonsMessageSchema",
    "contactMessageSchema",
    "locationMessageSchema",
    "instanceSchema",
    "createGroupSchema",
    "webhookSchema",
    "eventSchema",
    "settingsSchema",
];

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    for name in SCHEMAS {
        let _ = schema::validate(name, &body);
    }
    let has = |k: &str| body.get(k).is_some_and(Value::is_string);
    if !(has("number") && has("text")) {
        assert!(
            schema::validate("textMessageSchema", &body).is_err(),
            "sendText accepted {body}"
        );
    }
});
