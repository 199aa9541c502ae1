//! Pre-flight through the real binary: what can never work is found before any request.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::support::{run_in, scenario_dir, text};

/// An HTTP server on 127.0.0.1:0 that answers `200 {}` and counts the requests; its URL.
fn counting_server() -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            if conn.read(&mut buf).unwrap_or(0) > 0 {
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
            }
        }
    });
    (url, count)
}

/// A scenario whose first step calls `url` and whose third uses `reference` (line 7).
fn scenario(url: &str, reference: &str) -> String {
    format!(
        "name: pre\nsteps:\n  - name: first\n    http: {{ url: \"{url}/one\" }}\n    checks: {{ status: 200 }}\n  - name: second\n    http: {{ url: \"{url}/{reference}\" }}\n"
    )
}

#[test]
fn an_undefined_variable_exits_2_naming_it_before_any_request() {
    let (url, count) = counting_server();
    for (reference, name) in [
        ("{{ nosuch }}", "`nosuch`"),
        (
            "${HARNESS_TEST_SURELY_UNSET}",
            "`HARNESS_TEST_SURELY_UNSET`",
        ),
    ] {
        let (dir, _) = scenario_dir("pre.yaml", &scenario(&url, reference));
        for command in ["run", "load"] {
            let mut args = vec![command, "pre.yaml", "--json", "r.json"];
            if command == "load" {
                args.extend(["--rps", "5", "--duration", "1s"]);
            }
            let out = run_in(dir.path(), &args, &[]);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
            assert!(stderr.contains(name), "{stderr}");
            assert!(stderr.contains("pre.yaml:7:"), "{stderr}");
            assert!(stderr.contains('^'), "a caret under it: {stderr}");
            assert!(!dir.path().join("r.json").exists(), "nothing ran");
        }
    }
    // The same file with a defined variable does send requests: the count can move.
    let (dir, _) = scenario_dir("ok.yaml", &scenario(&url, "{{ target.name }}"));
    let out = run_in(dir.path(), &["run", "ok.yaml", "--json", "r.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert_eq!(
        count.load(Ordering::SeqCst),
        2,
        "only the valid run sent requests"
    );
}

#[test]
fn an_unwritable_report_dir_or_a_busy_port_exits_3_before_any_request() {
    let (url, count) = counting_server();
    let (dir, _) = scenario_dir("pre.yaml", &scenario(&url, "two"));
    std::fs::write(dir.path().join("blocker"), "a file, not a folder").unwrap();
    let out = run_in(
        dir.path(),
        &["run", "pre.yaml", "--report-dir", "blocker/reports"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("blocker/reports") && stderr.contains("not writable"),
        "{stderr}"
    );
    let out = run_in(
        dir.path(),
        &[
            "load",
            "pre.yaml",
            "--rps",
            "5",
            "--duration",
            "1s",
            "--json",
            "blocker/r.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));

    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let out = run_in(
        dir.path(),
        &["run", "pre.yaml", "--sim-port", &port, "--json", "r.json"],
        &[],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains(&port), "names the port: {stderr}");
    assert_eq!(count.load(Ordering::SeqCst), 0, "no request was sent");
}
