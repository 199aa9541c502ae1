//! The value grammars people write by hand: thresholds, durations, rates, load stages, arrival
//! rates and alert rules. Never a panic; a duration that parses prints and parses back to
//! itself; a threshold's limit is finite.
#![no_main]

use harness::scenario::{load_shape, threshold, watch_rule};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(d) = threshold::parse_duration(&text) {
        // Printed in the largest unit that holds it exactly (a huge count of microseconds is
        // out of the parser's range though the same duration in seconds is not).
        let printed = match d.subsec_nanos() {
            0 => format!("{}s", d.as_secs()),
            n if n % 1000 == 0 => format!("{}s {}us", d.as_secs(), n / 1000),
            _ => return,
        };
        assert_eq!(threshold::parse_duration(&printed), Ok(d), "{text:?} printed {printed:?}");
    }
    if let Ok((_, _, _, limit)) = threshold::parse_threshold(&text) {
        assert!(limit.is_finite(), "{text:?} gave {limit}");
    }
    let _ = threshold::parse_rate(&text);
    let _ = threshold::parse_duration_ms(&text);
    let _ = load_shape::parse_arrival_rate(&text);
    if let Ok(stages) = load_shape::parse_stages(&text) {
        for (_, rate) in stages {
            assert!(rate.is_finite() && rate >= 0.0, "{text:?} gave a rate of {rate}");
        }
    }
    let _ = watch_rule::parse_flag(&text);
});
