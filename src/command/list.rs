//! `harness list`: the scenarios available, with their descriptions.

use super::{out, ListOptions};
use crate::exit;
use crate::scenario::catalog::{self, Source};

/// Prints one line per scenario: name, where it comes from, description. Files that do not
/// parse are listed with the first problem, so a broken file is noticed.
pub fn list(opts: &ListOptions) -> u8 {
    let files = catalog::scan(&opts.dir);
    let mut rows: Vec<(String, String, String)> = Vec::new();
    for (name, path) in &files {
        rows.push((
            name.clone(),
            path.display().to_string(),
            describe(&Source::File(path.clone())),
        ));
    }
    for b in catalog::BUILTIN {
        if !files.iter().any(|(n, _)| n == b.name) {
            rows.push((
                b.name.to_string(),
                "built in".to_string(),
                describe(&Source::Builtin(b)),
            ));
        }
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (name, from, description) in rows {
        out::println(format_args!("{name:<w0$}  {from:<w1$}  {description}"));
    }
    exit::SUCCESS
}

fn describe(source: &Source) -> String {
    let text = match source.read() {
        Ok(t) => t,
        Err(e) => return format!("(unreadable: {e})"),
    };
    match crate::scenario::parse(&source.path(), &text) {
        Ok(s) => s.description.unwrap_or_default(),
        Err(d) => format!(
            "(invalid: {})",
            d.0.first()
                .map(|d| d.message.as_str())
                .unwrap_or("unknown error")
        ),
    }
}
