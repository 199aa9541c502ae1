//! The report reader of `harness report`, `compare` and `merge` on files that may be corrupt:
//! JSON that is a report (of any version) renders in every format, compares with itself as
//! "no regression", and merges with itself; anything else is an error, never a panic.
#![no_main]

use harness::report::{self, compare, html, junit, markdown, merge, terminal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(r) = report::parse_json(text) else {
        return;
    };
    let _ = terminal::render(&r, terminal::Style { color: false, verbose: true });
    let _ = html::render(&r, &html::HtmlContext { git_commit: None });
    let _ = markdown::render(&r);
    let _ = junit::render(&r);
    let _ = compare::compare(&r, &r, compare::Limits::default());
    let input = merge::Input { path: "a.json".into(), report: r };
    let _ = merge::merge(&[input]);
});
