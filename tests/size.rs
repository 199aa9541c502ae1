//! Files and functions stay short enough to read (STYLE.md): no source file over 600 lines
//! and no function over 80, tests aside (a file's `#[cfg(test)] mod tests`, test-only items
//! and `src/**/tests/`). The code is rustfmt-formatted, so a function ends at the first line
//! that is its own indentation followed by `}`.

use std::path::{Path, PathBuf};

const MAX_FILE: usize = 600;
const MAX_FN: usize = 80;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "tests") {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The lines before the file's test module.
fn code_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].starts_with("#[cfg(test)]") && w[1].starts_with("mod "))
        .unwrap_or(lines.len());
    lines[..end].to_vec()
}

/// `(first line, length)` of every function that is not test-only.
fn functions(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let signature = ["fn ", "pub fn ", "async fn ", "pub async fn ", "const fn "]
            .iter()
            .any(|p| trimmed.starts_with(p))
            || (trimmed.starts_with("pub(") && trimmed.contains(" fn "));
        if !signature || (i > 0 && lines[i - 1].trim() == "#[cfg(test)]") {
            continue;
        }
        if trimmed.ends_with(';') || trimmed.ends_with('}') {
            continue; // a declaration, or a one-line body
        }
        let indent = &line[..line.len() - trimmed.len()];
        let close = format!("{indent}}}");
        if let Some(end) = lines[i..].iter().position(|l| *l == close) {
            out.push((i + 1, end + 1));
        }
    }
    out
}

#[test]
fn no_file_over_600_lines_and_no_function_over_80() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut over = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let lines = code_lines(&text);
        let name = file.strip_prefix(&src).unwrap().display().to_string();
        if lines.len() > MAX_FILE {
            over.push(format!(
                "src/{name}: {} lines (at most {MAX_FILE})",
                lines.len()
            ));
        }
        for (at, len) in functions(&lines) {
            if len > MAX_FN {
                over.push(format!(
                    "src/{name}:{at}: a function of {len} lines (at most {MAX_FN})"
                ));
            }
        }
    }
    assert!(files.len() > 100, "found only {} source files", files.len());
    assert!(over.is_empty(), "split these:\n{}", over.join("\n"));
}

#[test]
fn the_scanner_measures_functions_and_skips_tests() {
    let text = "fn a() {\n    x();\n}\n\n#[cfg(test)]\nfn fixture() {\n    y();\n}\n\
                impl T {\n    pub(crate) fn b(&self) -> u8 {\n        1\n    }\n}\n\
                #[cfg(test)]\nmod tests {\n    fn t() {\n    }\n}\n";
    let lines = code_lines(text);
    assert_eq!(lines.len(), 13);
    assert_eq!(functions(&lines), vec![(1, 3), (10, 3)]);
}
