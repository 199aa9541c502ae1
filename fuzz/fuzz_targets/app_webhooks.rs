//! The reference app's webhook readers (Evolution `messages.upsert` and friends, Meta's
//! `entry[].changes[]`): any bytes give an event or an "invalid payload", never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = harness::app::webhook::evolution(data);
    let _ = harness::app::webhook::meta(data);
});
