//! The real binary's lifecycle: a closed stdout, SIGTERM and SIGINT, report file names.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::{bin, read_report, scenario_dir, text};

/// Spawns the binary in `dir` with `args`, stdout and stderr piped.
fn spawn(dir: &Path, args: &[&str]) -> Child {
    bin()
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Spawns the binary in `dir` with its stdout already closed (the reader has gone, as after
/// `| head -1`): every write to stdout fails with a broken pipe.
fn spawn_with_closed_stdout(dir: &Path, args: &[&str]) -> Child {
    let mut child = spawn(dir, args);
    drop(child.stdout.take());
    child
}

fn stderr_of(child: Child) -> (Option<i32>, String) {
    let out = child.wait_with_output().unwrap();
    (out.status.code(), text(&out.stderr))
}

#[test]
fn run_and_validate_with_a_closed_stdout_keep_their_exit_code_and_reports() {
    let (dir, _) = scenario_dir("broken.yaml", "name: broken\nstepz: []\n");
    let child = spawn_with_closed_stdout(dir.path(), &["run", "smoke", "--json", "r.json"]);
    let (code, stderr) = stderr_of(child);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(read_report(&dir.path().join("r.json"))["passed"], true);
    assert!(dir.path().join("r.html").is_file());

    let child = spawn_with_closed_stdout(dir.path(), &["validate", "smoke", "e2e-booking"]);
    assert_eq!(stderr_of(child), (Some(0), String::new()));
    let child = spawn_with_closed_stdout(dir.path(), &["validate", "smoke", "broken.yaml"]);
    let (code, stderr) = stderr_of(child);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("broken.yaml") && !stderr.contains("panicked"));
    let child = spawn_with_closed_stdout(dir.path(), &["list"]);
    assert_eq!(stderr_of(child).0, Some(0));
}

#[test]
fn load_piped_into_head_exits_as_without_the_pipe() {
    let dir = tempfile::tempdir().unwrap();
    // The shell's `| head -1`, exactly as a user types it; the exit code is harness's own.
    let script = format!(
        "'{}' load --rps 5 --duration 1s --json r.json | head -1; exit ${{PIPESTATUS[0]}}",
        env!("CARGO_BIN_EXE_harness")
    );
    let out = std::process::Command::new("bash")
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert_eq!(read_report(&dir.path().join("r.json"))["passed"], true);
}

fn kill(child: &Child, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Sends `signal` and waits for the end, which must come `within` that time.
fn kill_and_wait(child: Child, signal: &str, within: Duration) -> std::process::Output {
    kill(&child, signal);
    let start = Instant::now();
    let out = child.wait_with_output().unwrap();
    let took = start.elapsed();
    assert!(
        took < within,
        "ended {took:?} after {signal}, not within {within:?}"
    );
    out
}

/// Waits until `child` wrote `needle` on stderr (or panics after 20 s); returns what it read.
fn wait_for_stderr(child: &mut Child, needle: &str) -> String {
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text(&seen).contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => panic!("no `{needle}` on stderr: {}", text(&seen)),
        }
    }
    text(&seen)
}

#[cfg(unix)]
#[test]
fn sigterm_during_load_stops_it_and_writes_an_interrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin()
        .current_dir(dir.path())
        .args([
            "load",
            // 20 conversations/s: enough iterations in 3 s, and few enough in flight that a
            // debug build on a busy machine drains them well inside the 20 s below.
            "--rps",
            "20",
            "--duration",
            "30s",
            "--json",
            "r.json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    kill(&child, "-TERM");
    let start = Instant::now();
    let _ = wait_for_stderr(&mut child, "interrupted (SIGTERM)");
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(1), "an interrupted run is no-go");
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["passed"], false);
    let started = report["load"]["iterations"].as_u64().unwrap_or(0);
    assert!(started > 20 && started < 1000, "{:#}", report["load"]);
}

/// A server that accepts connections and never answers: requests to it hang.
fn black_hole() -> (std::net::TcpListener, String) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    (listener, url)
}

#[cfg(unix)]
#[test]
fn a_second_signal_ends_a_load_at_once_with_the_report_of_what_was_measured() {
    let (listener, url) = black_hole();
    let (dir, _) = scenario_dir(
        "hang.yaml",
        &format!(
            "name: hang\nsteps:\n  - name: hangs\n    http: {{ url: \"{url}\", timeout: 60s }}\n"
        ),
    );
    let load = [
        "load",
        "hang.yaml",
        "--rps",
        "20",
        "--duration",
        "30s",
        "--grace",
        "60s",
    ];
    let mut child = spawn(dir.path(), &[&load[..], &["--json", "r.json"]].concat());
    let _conn = listener.accept().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    kill(&child, "-TERM");
    let _ = wait_for_stderr(&mut child, "interrupted (SIGTERM)");
    // The iterations in flight would hang for the whole grace period (60 s)…
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "waits for the grace");
    // …a second signal does not wait.
    let out = kill_and_wait(child, "-INT", Duration::from_secs(1));
    assert_eq!(out.status.code(), Some(1));
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["interrupted"], true);
    assert!(
        report["load"]["abandoned"].as_u64().unwrap() >= 1,
        "{:#}",
        report["load"]
    );
}

/// Interrupts a run waiting on a request that never gets an answer: it stops at once,
/// exit 1, and the report keeps the step that finished.
#[cfg(unix)]
fn interrupting_a_run_stops_it_at_the_step_in_progress(signal: &str) {
    let (listener, url) = black_hole();
    let (dir, _) = scenario_dir(
        "hang.yaml",
        &format!("name: hang\nsteps:\n  - name: quick\n    http: {{ url: \"{{{{ provider.url }}}}/\" }}\n  - name: hangs\n    http: {{ url: \"{url}\", timeout: 60s }}\n"),
    );
    let child = spawn(dir.path(), &["run", "hang.yaml", "--json", "r.json"]);
    let _conn = listener.accept().unwrap();
    let out = kill_and_wait(child, signal, Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("INTERRUPTED"));
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["passed"], false);
    assert_eq!(
        report["steps"].as_array().unwrap().len(),
        1,
        "the finished step is kept"
    );
}

#[cfg(unix)]
#[test]
fn sigterm_stops_a_run_and_still_writes_an_interrupted_report() {
    interrupting_a_run_stops_it_at_the_step_in_progress("-TERM");
}

#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_run_and_still_writes_an_interrupted_report() {
    interrupting_a_run_stops_it_at_the_step_in_progress("-INT");
}

#[test]
fn two_runs_started_at_once_into_one_folder_leave_two_reports() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["run", "smoke", "--report-dir", "out"];
    let (a, b) = (spawn(dir.path(), &args), spawn(dir.path(), &args));
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("out")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let report = read_report(&path);
            let id = report["run_id"].as_str().unwrap().to_string();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(name, format!("smoke-{id}.json"));
            assert!(path.with_extension("html").is_file());
            ids.push(id);
        }
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}
