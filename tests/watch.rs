//! `harness watch` through the real binary, against the embedded default.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{bin, free_port, read_report, run_in, start_app, text};

/// A 30-second watch of `smoke`, a run every second.
const SMOKE_EVERY_SECOND: &[&str] = &["watch", "smoke", "--every", "1s", "--for", "30s"];

/// A webhook receiver on loopback: every JSON body POSTed to any path.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/{*path}",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// An 8-second provider outage in a 24-second watch (a run every second, `down for 4s`):
/// one incident of about 8 s, the alert fires and resolves once each, and the webhook
/// receiver gets both events, its secret path masked in the output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_one_incident_and_one_alert_that_fires_and_resolves() {
    let (hook, got) = receiver().await;
    let hook = format!("{hook}/services/T0/B0/s3cr3t-hook-path");
    let (sim_port, metrics_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::from(bin());
    cmd.current_dir(dir.path())
        .args(["watch", "smoke", "--every", "1s", "--for", "24s"])
        .args(["--alert", "down for 4s", "--notify", &hook])
        .args(["--events", "events.jsonl", "--json", "w.json"])
        .args(["--sim-port", &sim_port.to_string()])
        .args(["--metrics-port", &metrics_port.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", sim_port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the simulator did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The provider answers 503 to everything from 3 s to 11 s from now.
    // upstream: the simulator's fault control API, docs/simulators.md "Faults".
    let profile = serde_json::json!({"rules": [{"downtime": [
        {"start": "3s", "duration": "8s", "mode": "unavailable"}
    ]}]});
    let set = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{sim_port}/__harness/faults"))
        .json(&profile)
        .send()
        .await
        .unwrap();
    assert!(set.status().is_success(), "{}", set.status());
    // The watch's own metrics, while it runs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let page = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("harness_watch_uptime_ratio 1\n"), "{page}");
    assert!(
        page.contains("harness_watch_rule_firing{rule=\"down for 4s\",severity=\"warn\"} 0"),
        "{page}"
    );
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the watch ends within its budget")
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains("s3cr3t"),
        "{stdout}{stderr}"
    );

    let report = read_report(&dir.path().join("w.json"));
    let w = &report["watch"];
    assert_eq!(w["ended"], "budget");
    one_incident_one_alert(w, 6.0..=11.0, &stdout);
    let uptime = w["uptime"].as_f64().unwrap();
    let expected = 1.0 - 8.0 / 24.0;
    assert!((uptime - expected).abs() < 0.15, "uptime {uptime}: {w:#}");

    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 2, "{events}");
    let got = got.lock().unwrap().clone();
    let states: Vec<&str> = got
        .iter()
        .map(|b| b["event"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["firing", "resolved"]);
    assert!(
        got[0]["text"].as_str().unwrap().starts_with("FIRING"),
        "{:#}",
        got[0]
    );
}

#[test]
fn a_bad_rule_is_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(
        dir.path(),
        &[
            "watch",
            "smoke",
            "--for",
            "1s",
            "--alert",
            "p96 > 5s for 1m",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--alert `p96 > 5s for 1m`") && err.contains("unknown metric `p96`"),
        "{err}"
    );
    // A rule that could never fire is refused too: no such step, no /metrics page.
    for (rule, says) in [
        (
            "step \"sned text\" p95 > 5s",
            "smoke has no step \"sned text\"; its steps: version,",
        ),
        ("metric x == 0", "give the page with --metrics-url"),
        ("p95 > 150% of baseline", "give one with --baseline"),
    ] {
        let out = run_in(
            dir.path(),
            &["watch", "smoke", "--for", "1s", "--alert", rule],
            &[],
        );
        assert_eq!(out.status.code(), Some(2), "{rule}");
        let err = text(&out.stderr);
        assert!(err.contains(says), "{rule}: {err}");
    }
}

#[test]
fn a_rollback_rule_ends_the_watch_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // The smoke scenario passes against the embedded default, so `uptime > 50%` holds from
    // the first run: as a rollback rule it fires at once and ends the watch.
    let args = [
        SMOKE_EVERY_SECOND,
        &["--alert", "rollback: uptime > 50%", "--json", "w.json"],
    ]
    .concat();
    let started = Instant::now();
    let out = run_in(dir.path(), &args, &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let report = read_report(&dir.path().join("w.json"));
    assert_eq!(report["watch"]["ended"], "rollback");
    assert_eq!(report["passed"], false);
}

/// An app whose `/metrics` memory grows 5 % at every scrape: the growth rule (rollback)
/// fires once 2 s of history show more than 10 %, and ends the watch with exit 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_growth_rule_fires_against_an_app_whose_memory_grows() {
    let scrapes = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = scrapes.clone();
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let bytes = 100e6 * 1.05f64.powi(n as i32);
            async move {
                format!("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {bytes}\n")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics = format!("http://{}/metrics", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let rule = "rollback: metric process_resident_memory_bytes grows > 10% per 2s";
    let args = [
        SMOKE_EVERY_SECOND,
        &[
            "-q",
            "--alert",
            rule,
            "--metrics-url",
            &metrics,
            "--json",
            "w.json",
        ],
    ]
    .concat();
    let mut cmd = tokio::process::Command::from(bin());
    cmd.current_dir(dir.path()).args(args);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let report = read_report(&dir.path().join("w.json"));
    let w = &report["watch"];
    assert_eq!(w["ended"], "rollback", "{w:#}");
    let alert = &w["alerts"][0];
    assert_eq!(alert["state"], "firing");
    // 5 % a scrape, one scrape a second: over 2 s, 1.05² − 1 = 10.25 %.
    let growth = alert["value"].as_f64().unwrap();
    assert!((0.1..0.2).contains(&growth), "{alert:#}");
    assert!(w["runs"].as_u64().unwrap() <= 6, "{w:#}");
    assert!(scrapes.load(std::sync::atomic::Ordering::SeqCst) >= 3);
}

/// A watch killed with SIGKILL resumes from its database: the same command goes on from the
/// original start (its `--for` budget included) and the report covers the earlier runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_watch_resumes_from_its_database() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "watch", "smoke", "--every", "1s", "--for", "12s", "-q", "--db", "w.db", "--json", "w.json",
    ];
    let mut cmd = tokio::process::Command::from(bin());
    cmd.current_dir(dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut first = cmd.spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    first.start_kill().unwrap(); // SIGKILL: no report, no cleanup
    first.wait().await.unwrap();
    assert!(!dir.path().join("w.json").exists());
    // The database has the report as of the last run before the kill.
    let out = run_in(dir.path(), &["report", "w.db", "--summary-md", "s.md"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let md = std::fs::read_to_string(dir.path().join("s.md")).unwrap();
    assert!(md.contains("ended: running"), "{md}");

    let started = Instant::now();
    let out = run_in(dir.path(), &args, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    // The budget ran from the first start: the second session lasts what was left of it.
    assert!(
        started.elapsed() < Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
    let resumed: u64 = stdout
        .split("resuming the watch in w.db (")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no resume line: {stdout}"));
    assert!(resumed >= 2, "{stdout}");
    let report = read_report(&dir.path().join("w.json"));
    let runs = report["watch"]["runs"].as_u64().unwrap();
    assert!(
        runs >= resumed + 2,
        "{runs} runs after {resumed} resumed: {stdout}"
    );
    assert_eq!(report["watch"]["passed"], runs);
}

/// The reference app in its own process, killed for about 6 s of a 20-second watch and
/// started again on the same port: one incident of about that length, the alert fires and
/// resolves once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_killed_and_restarted_mid_watch_is_one_incident() {
    let env = [("HARNESS_EVOLUTION_API_KEY", "watch-separate-key")];
    let (sim_port, app_port) = (free_port(), free_port());
    let app = start_app("evolution", sim_port, app_port, &[], &env);
    let (dir, _) = crate::support::scenario_dir(
        "live.yaml",
        "name: live\nsteps:\n  - name: app is live\n    http:\n      url: \"{{ app.url }}/health/live\"\n      timeout: 2s\n    checks:\n      status: 200\n",
    );
    let app_url = format!("http://127.0.0.1:{app_port}");
    let mut cmd = tokio::process::Command::from(bin());
    cmd.current_dir(dir.path())
        .args(["watch", "live.yaml", "--every", "1s", "--for", "20s", "-q"])
        .args([
            "--alert",
            "down for 3s",
            "--json",
            "w.json",
            "--app-url",
            &app_url,
        ])
        .args(["--sim-port", &sim_port.to_string()])
        .env("HARNESS_EVOLUTION_API_KEY", "watch-separate-key")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let watch = cmd.spawn().unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    drop(app); // killed
    tokio::time::sleep(Duration::from_secs(6)).await;
    let _app = start_app("evolution", sim_port, app_port, &[], &env);
    let out = tokio::time::timeout(Duration::from_secs(60), watch.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let w = read_report(&dir.path().join("w.json"))["watch"].clone();
    one_incident_one_alert(&w, 4.0..=10.0, &stdout);
}

/// The watch section shows one incident lasting `length` seconds, and one alert that fired
/// and resolved.
fn one_incident_one_alert(w: &Value, length: std::ops::RangeInclusive<f64>, stdout: &str) {
    let incidents = w["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{stdout}\n{:#}", w["incidents"]);
    let took = incidents[0]["duration_s"].as_f64().unwrap();
    assert!(length.contains(&took), "incident of {took}s: {w:#}");
    let states: Vec<&str> = w["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["firing", "resolved"], "{w:#}");
}

/// `--until-healthy-for`: exit 0 as soon as every rule has been clear (and the runs passing)
/// that long; exit 1 when the `--for` budget runs out first.
#[test]
fn until_healthy_for_ends_early_when_healthy_and_fails_when_the_budget_runs_out() {
    let down = "name: up\nsteps:\n  - name: up\n    http:\n      url: \"http://127.0.0.1:1/\"\n      timeout: 1s\n    checks:\n      status: 200\n";
    let (dir, _) = crate::support::scenario_dir("down.yaml", down);
    let (code, took, ended) = until_healthy(dir.path(), "down.yaml", "3s");
    assert_eq!((code, ended.as_str()), (Some(1), "budget"));
    assert!(took >= Duration::from_secs(3));

    let dir = tempfile::tempdir().unwrap();
    let (code, took, ended) = until_healthy(dir.path(), "smoke", "30s");
    assert_eq!((code, ended.as_str()), (Some(0), "healthy"));
    assert!(took < Duration::from_secs(15));
}

/// `watch SCENARIO --until-healthy-for 2s --for BUDGET`: the exit code, how long it took,
/// and `watch.ended`.
fn until_healthy(
    dir: &std::path::Path,
    scenario: &str,
    budget: &str,
) -> (Option<i32>, Duration, String) {
    let args = [
        "watch",
        scenario,
        "--every",
        "500ms",
        "--until-healthy-for",
        "2s",
        "--for",
        budget,
        "--alert",
        "down for 1s",
        "-q",
        "--json",
        "w.json",
    ];
    let started = Instant::now();
    let out = run_in(dir, &args, &[]);
    let took = started.elapsed();
    let report = read_report(&dir.join("w.json"));
    let ended = report["watch"]["ended"].as_str().unwrap().to_string();
    (out.status.code(), took, ended)
}

/// A target slower than the schedule with `--max-overlap 1`: the starts that could not
/// happen are counted and said, never hidden (issue 19).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_the_overlap_cap_prevents_are_counted_as_missed() {
    let app = axum::Router::new().route(
        "/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(1200)).await;
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/slow", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let scenario = format!("name: slow\nsteps:\n  - name: slow\n    http:\n      url: \"{url}\"\n    checks:\n      status: 200\n");
    let (dir, _) = crate::support::scenario_dir("slow.yaml", &scenario);
    let mut cmd = tokio::process::Command::from(bin());
    cmd.current_dir(dir.path()).args([
        "watch",
        "slow.yaml",
        "--every",
        "300ms",
        "--for",
        "3s",
        "--max-overlap",
        "1",
        "-q",
        "--json",
        "w.json",
    ]);
    let out = cmd.output().await.unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{}{stderr}", text(&out.stdout));
    assert!(
        stderr.contains("missed start(s)") && stderr.contains("--max-overlap"),
        "{stderr}"
    );
    let w = read_report(&dir.path().join("w.json"))["watch"].clone();
    let missed = w["missed_starts"].as_u64().unwrap();
    // 10 scheduled starts in 3 s, one run at a time, each 1.2 s: 3 started, 7 missed.
    assert!((5..=8).contains(&missed), "{w:#}");
    assert_eq!(w["started"].as_u64().unwrap() + missed, 10, "{w:#}");
    assert_eq!(w["peak_overlap"], 1);
}
