//! Snapshots of what people read, from real runs through the real binary: the terminal
//! summary, the Markdown summary, the JUnit XML and the HTML's structure of a `run`, an end
//! to end run and a `load`. Timings, percentages of CPU, ids, ports and dates vary from run
//! to run and are normalised first (`normalise`); everything else — the steps, their order
//! and marks, the counts, the verdict — is pinned. Review changes with `cargo insta review`
//! (or read the `.snap.new` files beside the snapshots).

use std::path::Path;

use regex::Regex;

use crate::support::{run_in, text, REPORTS};

/// Replaces what varies between two runs of the same build by placeholders.
fn normalise(s: &str) -> String {
    let rules: &[(&str, &str)] = &[
        // RFC 3339 instants and run ids.
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (r"\d{8}T\d{6}(\.\d{3})?Z(-[0-9a-f]{6})?", "[RUN-ID]"),
        (r#"time="[0-9.]+""#, r#"time="[S]""#),
        (r#"timestamp="[^"]+""#, r#"timestamp="[TIME]""#),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[UUID]",
        ),
        // Durations: 850µs, 12.3ms, 2.41s, 1.50s, 4362.2ms.
        (r"\b\d+(\.\d+)?(µs|ms|s)\b", "[D]"),
        // Right-aligned durations: their padding varies with their width.
        (r" +\[D\]", " [D]"),
        // The machine's core count (a pinned CI job sees one).
        (r"\d+ % of \d+ cores?", "[N] % of [C] cores"),
        (r"load average \d+\.\d+", "load average [L]"),
        (r"peak in flight \d+", "peak in flight [N]"),
        (r"achieved \d+\.\d it/s", "achieved [R] it/s"),
        (r"<svg.*?</svg>", "<svg/>"),
    ];
    let mut out = s.to_string();
    for (pattern, with) in rules {
        out = Regex::new(pattern)
            .unwrap()
            .replace_all(&out, *with)
            .into_owned();
    }
    out
}

/// The HTML's outline: headings, table headers, the verdict and element counts.
fn html_outline(html: &str) -> String {
    let mut out = Vec::new();
    let tag =
        Regex::new(r"<(h1|h2|h3|th|figcaption)[^>]*>(.*?)</(h1|h2|h3|th|figcaption)>").unwrap();
    let strip = Regex::new(r"<[^>]+>").unwrap();
    for c in tag.captures_iter(html) {
        out.push(format!("{}: {}", &c[1], strip.replace_all(&c[2], "")));
    }
    for el in [
        "<section",
        "<table",
        "<tr",
        "<svg",
        "<figure",
        "class=\"verdict\"",
        "<tr class=\"failed\"",
        "class=\"bar-row",
        "class=\"msg customer",
        "class=\"msg app",
        "class=\"msg app failed",
    ] {
        out.push(format!("count {el}: {}", html.matches(el).count()));
    }
    out.join("\n")
}

/// Runs `args` in `dir` with every report format; returns the terminal output and the files.
fn run_all(dir: &Path, args: &[&str]) -> [String; 4] {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(REPORTS);
    let out = run_in(dir, &all, &[("GITHUB_STEP_SUMMARY", "")]);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    [
        normalise(&text(&out.stdout)),
        normalise(&read("r.md")),
        normalise(&read("r.xml")),
        html_outline(&normalise(&read("r.html"))),
    ]
}

fn snapshot(name: &str, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let [terminal, md, junit, html] = run_all(dir.path(), args);
    insta::assert_snapshot!(format!("{name}-terminal"), terminal);
    insta::assert_snapshot!(format!("{name}-markdown"), md);
    insta::assert_snapshot!(format!("{name}-junit"), junit);
    insta::assert_snapshot!(format!("{name}-html"), html);
}

#[test]
fn a_failed_run_reads_the_same_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "name: broken\nprovider: evolution\nsteps:\n  - name: version\n    http: { url: \"{{ provider.url }}/\" }\n    checks: { status: 200 }\n  - name: wrong status expected\n    http: { url: \"{{ provider.url }}/\" }\n    checks: { status: 418 }\n  - name: meta only\n    provider: meta\n    http: { url: \"{{ provider.url }}/\" }\nthresholds: [\"error_rate < 1%\"]\n",
    )
    .unwrap();
    let [terminal, md, junit, html] = run_all(dir.path(), &["run", "broken.yaml"]);
    insta::assert_snapshot!("broken-terminal", terminal);
    insta::assert_snapshot!("broken-markdown", md);
    insta::assert_snapshot!("broken-junit", junit);
    insta::assert_snapshot!("broken-html", html);
}

#[test]
fn an_end_to_end_run_reads_the_same_in_every_format() {
    snapshot("e2e-booking", &["run", "e2e-booking"]);
}

#[test]
fn a_load_reads_the_same_in_every_format() {
    snapshot("load", &["load", "--rps", "10", "--duration", "1s", "-q"]);
}
