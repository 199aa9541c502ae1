//! Shared helpers of the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The `harness` binary built for these tests.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harness"));
    cmd.env("NO_COLOR", "1").env_remove("HARNESS_TARGET");
    cmd
}

/// Runs `harness ARGS` in this process ([`harness::run_captured`]): for tests that need no
/// working directory of their own (give paths absolute) and no signals.
pub fn harness(args: &[&str]) -> harness::CliOutcome {
    harness::run_captured(std::iter::once("harness").chain(args.iter().copied()))
}

/// Asserts an in-process command exited with `code`, showing its output otherwise.
pub fn assert_code(out: &harness::CliOutcome, code: u8) {
    assert_eq!(out.code, code, "{}{}", out.stdout, out.stderr);
}

/// Runs the binary in `dir` with `args`.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = bin();
    cmd.current_dir(dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the harness binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts the process exited with `code`, showing its output otherwise.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Validates `report` against the published schema (`reports/schema.json`); panics with
/// every violation.
pub fn assert_valid_report(report: &Value) {
    let schema_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report violates reports/schema.json:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Reads a JSON report and validates it against the schema.
pub fn read_report(path: &Path) -> Value {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_valid_report(&report);
    report
}

/// A temporary folder with a scenario file `name` holding `text`; returns both.
pub fn scenario_dir(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// A port free on loopback now (for a process the test starts, which binds it itself).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `harness app` in its own process, killed on drop.
pub struct AppProcess(pub Child);

impl Drop for AppProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn start_app(
    provider: &str,
    sim_port: u16,
    app_port: u16,
    extra: &[&str],
    env: &[(&str, &str)],
) -> AppProcess {
    let mut cmd = bin();
    cmd.args([
        "app",
        "--provider",
        provider,
        "--provider-url",
        &format!("http://127.0.0.1:{sim_port}"),
        "--port",
        &app_port.to_string(),
    ])
    .args(extra)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let app = AppProcess(cmd.spawn().unwrap());
    wait_for_port(app_port, "the app");
    app
}

/// Every report format, into `r.json`, `r.html`, `r.xml` and `r.md`.
pub const REPORTS: [&str; 8] = [
    "--json",
    "r.json",
    "--html",
    "r.html",
    "--junit",
    "r.xml",
    "--summary-md",
    "r.md",
];

/// Waits (at most 20 s) until something listens on `port`.
pub fn wait_for_port(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
