//! The template engine renders untrusted text (scenario values, captured responses) without
//! panicking, in bounded time and output; an undefined variable or a syntax error is an error.
#![no_main]

use std::sync::Arc;

use harness::redact::Redactor;
use harness::runner::template::{Templater, Vars};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let templater = Templater::new(
        Arc::new(|k: &str| (k == "HOME").then(|| "/root".to_string())),
        Redactor::new(),
    );
    let mut vars = Vars::default();
    vars.set("name", serde_json::json!("Ana"));
    vars.set("provider", serde_json::json!({"url": "http://127.0.0.1:1", "tenant": "t"}));
    vars.set("n", serde_json::json!(3));
    if let Ok(out) = templater.render(&text, &vars) {
        assert!(out.len() <= 64 * text.len() + 4096, "{} bytes from {}", out.len(), text.len());
    }
});
