//! What `harness mock` writes to a log file: no ANSI escape codes when not a terminal, a line
//! of request totals per second at INFO (not one line per request), and JSON lines with
//! `--log-format json`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{bin, free_port, AppProcess};

const TOTALS: &str = "requests in the last second";

/// Runs `harness mock evolution` with standard error into a file, sends `n` requests, waits
/// until the totals lines account for all of them (at most 10 s); returns the log.
fn mock_log(extra: &[&str], n: u64, count: impl Fn(&str) -> u64) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mock.log");
    let port = free_port().to_string();
    let mut cmd = bin();
    cmd.args(["mock", "evolution", "--port", &port])
        .args(extra)
        .env_remove("NO_COLOR")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&path).unwrap());
    let _mock = AppProcess(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut sent = 0;
    while sent < n && Instant::now() < deadline {
        let Ok(mut s) = TcpStream::connect(format!("127.0.0.1:{port}")) else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        sent += 1;
    }
    loop {
        let log = std::fs::read_to_string(&path).unwrap();
        let counted: u64 = log.lines().filter(|l| l.contains(TOTALS)).map(&count).sum();
        if counted >= n || Instant::now() > deadline {
            assert_eq!(counted, n, "{log}");
            return log;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_mock_log_file_has_totals_per_second_and_no_escape_codes() {
    let field = |line: &str| -> u64 {
        let v = line.split("requests=").nth(1).unwrap_or("0");
        v.split_whitespace().next().unwrap().parse().unwrap()
    };
    let log = mock_log(&[], 3, field);
    assert!(
        !log.contains('\x1b'),
        "ANSI escape codes in a file: {log:?}"
    );
    assert!(
        !log.lines().any(|l| l.contains("uri=")),
        "each request is logged at DEBUG only: {log}"
    );
}

#[test]
fn log_format_json_writes_one_object_per_line() {
    let field = |line: &str| -> u64 {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["fields"]["requests"].as_u64().unwrap()
    };
    let log = mock_log(&["--log-format", "json"], 2, field);
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        assert!(
            v["level"].is_string() && v["timestamp"].is_string(),
            "{line}"
        );
    }
}
