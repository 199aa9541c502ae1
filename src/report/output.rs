//! Writing a report's files: JSON, HTML, JUnit XML, Markdown, and the append to
//! `$GITHUB_STEP_SUMMARY`. `harness run` and `harness report` both go through [`write_all`],
//! which is what makes `harness report saved.json` reproduce a run's files byte for byte.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::html::{self, HtmlContext};
use super::{junit, markdown, write_json, Report};

/// Which files to write. `None` skips a format.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outputs {
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub summary_md: Option<PathBuf>,
    /// A file the Markdown summary is appended to (GitHub's `$GITHUB_STEP_SUMMARY`).
    pub append_md: Option<PathBuf>,
}

impl Outputs {
    /// A run's outputs: the JSON at `json`, the HTML beside it with the same stem unless
    /// `html` says otherwise, the optional JUnit and Markdown files, and the step summary
    /// when `$GITHUB_STEP_SUMMARY` is set.
    pub fn for_run(
        json: PathBuf,
        html: Option<PathBuf>,
        junit: Option<PathBuf>,
        summary_md: Option<PathBuf>,
    ) -> Outputs {
        Outputs {
            html: Some(html.unwrap_or_else(|| json.with_extension("html"))),
            json: Some(json),
            junit,
            summary_md,
            append_md: github_step_summary(),
        }
    }
}

/// `$GITHUB_STEP_SUMMARY`, when set and not empty.
pub fn github_step_summary() -> Option<PathBuf> {
    std::env::var_os("GITHUB_STEP_SUMMARY")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The commit being tested: `$GIT_COMMIT`, `$GITHUB_SHA`, `$CI_COMMIT_SHA`, else
/// `git rev-parse HEAD` in the current folder, else none.
pub fn git_commit() -> Option<String> {
    for var in ["GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"] {
        if let Some(v) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            return Some(v.trim().to_string());
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Junit(#[from] junit::JunitError),
}

/// Writes every file `outputs` asks for; returns the paths written, in order (the step
/// summary excluded).
pub fn write_all(
    report: &Report,
    outputs: &Outputs,
    ctx: &HtmlContext,
) -> Result<Vec<PathBuf>, OutputError> {
    let mut written = Vec::new();
    if let Some(p) = &outputs.json {
        write_json(report, p).map_err(|e| OutputError::Io(p.clone(), e))?;
        written.push(p.clone());
    }
    if let Some(p) = &outputs.html {
        write_file(p, &html::render(report, ctx))?;
        written.push(p.clone());
    }
    if let Some(p) = &outputs.junit {
        write_file(p, &junit::render(report)?)?;
        written.push(p.clone());
    }
    let md = markdown::render(report);
    if let Some(p) = &outputs.summary_md {
        write_file(p, &md)?;
        written.push(p.clone());
    }
    if let Some(p) = &outputs.append_md {
        append_file(p, &md)?;
    }
    Ok(written)
}

/// Writes `text` to `path`, creating its folder.
pub fn write_file(path: &Path, text: &str) -> Result<(), OutputError> {
    let io = |e| OutputError::Io(path.to_path_buf(), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

/// Appends `text` (and a blank line) to `path`, creating the file.
pub fn append_file(path: &Path, text: &str) -> Result<(), OutputError> {
    let io = |e| OutputError::Io(path.to_path_buf(), e);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    writeln!(f, "{text}").map_err(io)
}

/// A failed run with a hostile step name, a failed check with its exchange, and thresholds:
/// the fixture of the renderers' unit tests.
#[cfg(test)]
pub(crate) fn sample_report() -> Report {
    use super::*;
    let lat = |p50: f64, p95: f64| Latency {
        min: p50,
        p50,
        p90: p95,
        p95,
        p99: p95,
        max: p95,
        mean: p50,
    };
    let hostile = "<script>alert(1)</script> | book";
    Report {
        schema_version: SCHEMA_VERSION,
        harness_version: "0.1.0".into(),
        run_id: "20261122T101500.000Z-0a1b2c".into(),
        scenario: "booking <script>".into(),
        description: Some("books an appointment".into()),
        file: "scenarios/booking.yaml".into(),
        passed: false,
        interrupted: false,
        started_at: "2026-11-22T10:15:00.000Z".into(),
        duration_s: 1.5,
        target: TargetReport {
            name: "embedded".into(),
            provider: Some("evolution".into()),
            provider_mode: Some("simulated".into()),
            provider_url: Some("http://127.0.0.1:1".into()),
            app_url: Some("http://127.0.0.1:2".into()),
        },
        steps: vec![
            StepReport {
                name: "create".into(),
                kind: StepKind::Http,
                line: 10,
                skipped: false,
                passed: true,
                requests: 2,
                executions: Some(2),
                failures: 0,
                attempts: 1,
                latency_ms: Some(lat(100.0, 120.0)),
                histogram: vec![
                    Bucket {
                        le_ms: 51.199,
                        count: 0,
                    },
                    Bucket {
                        le_ms: 102.399,
                        count: 1,
                    },
                    Bucket {
                        le_ms: 204.799,
                        count: 1,
                    },
                ],
            },
            StepReport {
                name: hostile.into(),
                kind: StepKind::Http,
                line: 18,
                skipped: false,
                passed: false,
                requests: 1,
                executions: Some(1),
                failures: 1,
                attempts: 1,
                latency_ms: Some(lat(40.0, 40.0)),
                histogram: vec![Bucket {
                    le_ms: 51.199,
                    count: 1,
                }],
            },
        ],
        checks: vec![
            CheckReport {
                step: "create".into(),
                name: "status equals 201".into(),
                passed: true,
                message: "status equals 201".into(),
                expected: "equals 201".into(),
                observed: "201".into(),
                line: 14,
            },
            CheckReport {
                step: hostile.into(),
                name: "status equals 201".into(),
                passed: false,
                message: "status equals 201: expected equals 201, got 500".into(),
                expected: "equals 201".into(),
                observed: "500".into(),
                line: 20,
            },
        ],
        thresholds: vec![
            ThresholdReport {
                step: Some("create".into()),
                expr: "p95 < 500ms".into(),
                metric: "p95".into(),
                condition: "< 500ms".into(),
                observed: Some(120.0),
                observed_display: "120ms".into(),
                limit: Some(500.0),
                passed: true,
                line: 16,
            },
            ThresholdReport {
                step: None,
                expr: "error_rate < 1%".into(),
                metric: "error_rate".into(),
                condition: "< 1%".into(),
                observed: Some(0.333),
                observed_display: "33.3%".into(),
                limit: Some(0.01),
                passed: false,
                line: 4,
            },
        ],
        failures: vec![FailureReport {
            step: hostile.into(),
            line: 20,
            kind: "check".into(),
            message: "status equals 201: expected equals 201, got 500".into(),
            request: Some(RequestReport {
                method: "POST".into(),
                url: "http://127.0.0.1:2/book?token=***".into(),
                headers: vec![("apikey".into(), "***".into())],
                body: Some(r#"{"text":"<img src=x onerror=alert(1)>"}"#.into()),
            }),
            response: Some(ResponseReport {
                status: 500,
                headers: vec![("content-type".into(), "text/html".into())],
                body: "<h1>boom</h1>".into(),
            }),
        }],
        totals: Totals {
            requests: 3,
            failures: 1,
            iterations: 1,
            failed_iterations: 1,
            error_rate: 1.0,
            latency_ms: Some(lat(100.0, 120.0)),
            checks_passed: 1,
            checks_failed: 1,
            steps_passed: 1,
            steps_failed: 1,
            steps_skipped: 0,
        },
        e2e: None,
        load: None,
        faults: Vec::new(),
        scenario_hash: None,
        histograms: None,
        shard: None,
        watch: None,
        transcripts: Vec::new(),
        hops: Vec::new(),
    }
}

/// A load section with nothing in it, for the renderers' unit tests to fill.
#[cfg(test)]
pub(crate) fn sample_load() -> super::LoadReport {
    super::LoadReport {
        model: "open".into(),
        target_rps: None,
        achieved_rps: 9.5,
        iterations: 19,
        completed: 19,
        failed: 0,
        dropped: 0,
        abandoned: 0,
        duration_s: 2.0,
        max_in_flight: Some(1000),
        peak_in_flight: 2,
        users: None,
        think_time_ms: None,
        poisson: false,
        aborted: false,
        latency_ms: None,
        service_ms: None,
        histogram: Vec::new(),
        errors: Default::default(),
        status_codes: Default::default(),
        time_series: Vec::new(),
        delivery: None,
        saturation: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_writes_what_is_asked_and_appends_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let summary = d.join("step-summary.md");
        std::fs::write(&summary, "earlier job\n").unwrap();
        let mut outputs = Outputs::for_run(d.join("r/run.json"), None, Some(d.join("j.xml")), None);
        outputs.append_md = Some(summary.clone());
        let written = write_all(&sample_report(), &outputs, &HtmlContext::default()).unwrap();
        assert_eq!(
            written,
            vec![d.join("r/run.json"), d.join("r/run.html"), d.join("j.xml")]
        );
        let appended = std::fs::read_to_string(&summary).unwrap();
        assert!(appended.starts_with("earlier job\n## ❌"), "{appended}");
    }

    #[test]
    fn an_unwritable_path_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let outputs = Outputs {
            html: Some(blocker.join("x.html")),
            ..Outputs::default()
        };
        let err = write_all(&sample_report(), &outputs, &HtmlContext::default()).unwrap_err();
        assert!(err.to_string().contains("x.html"), "{err}");
    }
}
