//! The scenario parser and validator: any text either parses or yields diagnostics that point
//! inside the file (a line and column the file has — lines as YAML counts them, or line 0 for the file as a whole), and
//! their rendering is bounded (long lines are cut around the column).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let path = std::path::Path::new("fuzz.yaml");
    if let Err(diagnostics) = harness::scenario::parse(path, &text) {
        let lines: Vec<&str> = harness::scenario::diagnostic::yaml_lines(&text).collect();
        for d in diagnostics.iter() {
            let line = d.span.line;
            assert!(line <= lines.len(), "line {line} of {} lines: {}", lines.len(), d.message);
            if line > 0 {
                let chars = lines[line - 1].chars().count();
                assert!(d.span.col <= chars + 1, "column {} of {chars}: {}", d.span.col, d.message);
            }
        }
        let rendered = diagnostics.render(&text, false);
        let bound = 4096 * (diagnostics.iter().count() + 1);
        assert!(rendered.len() <= bound, "{} bytes of diagnostics", rendered.len());
    }
});
