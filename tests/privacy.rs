//! Customers' personal data kept out of files (docs/privacy.md): `run`, `load` and `watch` of
//! e2e-booking against the embedded default write every artifact they can (JSON, HTML, JUnit,
//! Markdown, `$GITHUB_STEP_SUMMARY`, the watch database and its events) into a temporary
//! folder, and every file is searched for every customer number, profile name and message the
//! run used: none by default, all with `--show-personal-data`. The names and messages are read
//! from the scenario, the numbers from the run's own clear report (`phone()` draws them).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use harness::scenario::{Action, Content, Inject};
use regex::Regex;
use serde_json::Value;

use crate::support::{assert_exit, read_report, run_in, text};

/// What the customers of a scenario say, by its `inject` steps: names and messages.
struct Said {
    names: BTreeSet<String>,
    texts: BTreeSet<String>,
}

fn said_in(scenario: &str) -> Said {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario);
    let scenario = harness::scenario::parse_file(&path).unwrap();
    let mut said = Said {
        names: BTreeSet::new(),
        texts: BTreeSet::new(),
    };
    for step in &scenario.steps {
        let Action::Inject(Inject::Customer(m)) = &step.action else {
            continue;
        };
        said.names.extend(m.name.clone());
        if let Content::Text(t) = &m.content {
            said.texts.insert(t.clone());
        }
    }
    assert!(
        !said.names.is_empty() && said.texts.len() >= 5,
        "the scenario has customers who say things"
    );
    said
}

/// The customers' numbers of a clear report: every transcript's customer.
fn numbers_in(report: &Value) -> BTreeSet<String> {
    let numbers: BTreeSet<String> = report["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["messages"].as_array().unwrap())
        .map(|m| m["customer"].as_str().unwrap().to_string())
        .collect();
    assert!(!numbers.is_empty(), "{report:#}");
    numbers
}

/// Every file under `dir` (the watch's SQLite database too: its text is UTF-8), by path.
fn files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

/// A name or a message as it would show: as a whole word (`Ana`, not `Anabel`).
fn word(value: &str) -> Regex {
    Regex::new(&format!(r"(^|[^\w]){}($|[^\w])", regex::escape(value))).unwrap()
}

/// Runs `args` (with the artifacts' flags) in a fresh folder, clear or masked; returns the
/// folder, the JSON report and the exit code.
fn artifacts(args: &[&str], clear: bool) -> (tempfile::TempDir, Value, i32) {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    let mut all: Vec<&str> = args.to_vec();
    all.extend([
        "--json",
        "out/r.json",
        "--junit",
        "out/r.xml",
        "--summary-md",
        "out/r.md",
    ]);
    if clear {
        all.push("--show-personal-data");
    }
    let out = run_in(
        dir.path(),
        &all,
        &[("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())],
    );
    let code = out.status.code().unwrap();
    assert!(
        code <= 1,
        "{args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = read_report(&dir.path().join("out/r.json"));
    (dir, report, code)
}

/// Every file of `dir` holds none of `said`, no number in `numbers`, and no number of the
/// form the run's numbers take (`5511` and 9 digits: `phone()` of another run).
fn assert_nothing_personal(dir: &Path, said: &Said, numbers: &BTreeSet<String>, what: &str) {
    let forms: BTreeSet<String> = numbers
        .iter()
        .map(|n| format!(r"{}\d{{{}}}", &n[..4], n.len() - 4))
        .collect();
    let forms: Vec<Regex> = forms.iter().map(|f| Regex::new(f).unwrap()).collect();
    let found = files(dir);
    assert!(found.len() >= 5, "{what}: {found:?}");
    for (path, content) in &found {
        let at = format!("{what}: {}", path.display());
        for n in numbers {
            assert!(!content.contains(n.as_str()), "{at} holds the number {n}");
        }
        for f in &forms {
            assert!(!f.is_match(content), "{at} holds a number {f}");
        }
        for v in said.names.iter().chain(&said.texts) {
            assert!(!word(v).is_match(content), "{at} holds {v:?}");
        }
    }
    let reports: String = found.iter().map(|(_, c)| c.as_str()).collect();
    assert!(
        reports.contains("•••"),
        "{what}: the numbers are masked, not gone"
    );
}

/// The clear files hold what the masked ones do not: the test sees what it looks for.
fn assert_all_personal(dir: &Path, said: &Said, numbers: &BTreeSet<String>, what: &str) {
    let all: String = files(dir).into_iter().map(|(_, c)| c).collect();
    for n in numbers {
        assert!(all.contains(n.as_str()), "{what}: {n} not in clear files");
    }
    for v in said.names.iter().chain(&said.texts) {
        assert!(word(v).is_match(&all), "{what}: {v:?} not in clear files");
    }
}

/// What was judged: each step's and threshold's verdict, and the checks passed.
fn verdicts(report: &Value) -> Value {
    let each = |key: &str, field: &str| -> Vec<Value> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x[field].clone())
            .collect()
    };
    serde_json::json!({
        "passed": report["passed"],
        "steps": each("steps", "passed"),
        "thresholds": each("thresholds", "passed"),
        "checks": report["checks"].as_array().unwrap().len(),
        "messages": report["transcripts"][0]["messages"].as_array().map(Vec::len),
    })
}

#[test]
fn a_run_writes_no_customer_data_by_default_and_all_of_it_when_asked_on_both_providers() {
    let said = said_in("scenarios/e2e-booking.yaml");
    for provider in ["evolution", "meta"] {
        let args = ["run", "e2e-booking", "--provider", provider];
        let (clear_dir, clear, clear_code) = artifacts(&args, true);
        let numbers = numbers_in(&clear);
        assert!(numbers.len() >= 2, "{numbers:?}");
        assert_all_personal(clear_dir.path(), &said, &numbers, provider);
        let (dir, masked, code) = artifacts(&args, false);
        assert_nothing_personal(dir.path(), &said, &numbers, provider);
        assert_eq!((code, verdicts(&masked)), (clear_code, verdicts(&clear)));
        assert_eq!(code, 0, "{provider}: e2e-booking passes");
        // A conversation stays readable: one token per customer.
        let tokens: BTreeSet<&str> = masked["transcripts"][0]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["customer"].as_str().unwrap())
            .collect();
        assert_eq!(tokens.len(), numbers.len(), "{tokens:?}");
        // The first words of a long message stay.
        assert!(masked.to_string().contains("Necesito una …‹+5 words›"));
    }
}

#[test]
fn load_and_watch_write_no_customer_data_by_default() {
    let said = said_in("scenarios/e2e-booking.yaml");
    // The same start instant gives both loads the same numbers (`phone()` of `--start-at`).
    let load = [
        "load",
        "e2e-booking",
        "--rps",
        "4",
        "--duration",
        "2s",
        "--start-at",
        "2026-01-01T00:00:00Z",
        "-q",
    ];
    let (clear_dir, clear, _) = artifacts(&load, true);
    let numbers = numbers_in(&clear);
    assert_all_personal(clear_dir.path(), &said, &numbers, "load");
    let (dir, _, _) = artifacts(&load, false);
    assert_nothing_personal(dir.path(), &said, &numbers, "load");

    for provider in ["evolution", "meta"] {
        let watch = [
            "watch",
            "e2e-booking",
            "--provider",
            provider,
            "--every",
            "2s",
            "--for",
            "3s",
            "--db",
            "out/w.db",
            "--events",
            "out/events.jsonl",
            "-q",
        ];
        let (clear_dir, clear, _) = artifacts(&watch, true);
        let numbers = numbers_in(&clear);
        assert_all_personal(clear_dir.path(), &said, &numbers, provider);
        let (dir, masked, _) = artifacts(&watch, false);
        assert_nothing_personal(dir.path(), &said, &numbers, provider);
        assert!(masked["watch"].is_object());
        // `harness report` of the database renders the masked report.
        let out = run_in(
            dir.path(),
            &["report", "out/w.db", "--html", "again.html"],
            &[],
        );
        assert_exit(&out, 0);
        assert_nothing_personal(dir.path(), &said, &numbers, provider);
    }
}
