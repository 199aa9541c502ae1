//! One definition of failure (issue: a verdict a CI gate can trust) and the delivery check
//! (a load that was not delivered is not a pass), through the real binary: a failed check, a
//! failed await and a connection error in half the iterations give `error_rate` 50 % and
//! exit 1 in every output; dropped arrivals fail the run and name the side that was the limit.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{read_report, run_in, scenario_dir, text, REPORTS};

/// A server on 127.0.0.1:0: `/ok` answers 200, anything else 404; `/slow` after `delay`.
async fn server(delay: Duration) -> String {
    let app = axum::Router::new()
        .route("/ok", axum::routing::get(|| async { r#"{"ok":true}"# }))
        .route(
            "/slow",
            axum::routing::get(move || async move {
                tokio::time::sleep(delay).await;
                "slow"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// A port nothing listens on, held (bound, never listening) so that no other test can take
/// it while the caller keeps the socket: connections to it are refused.
fn dead_port() -> (tokio::net::TcpSocket, u16) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    (socket, port)
}

/// Runs `args` + every report flag in `dir`; returns stdout and the JSON report, after
/// checking the exit code.
fn run_all(dir: &Path, args: &[&str], code: i32) -> (String, Value) {
    let all: Vec<&str> = args.iter().chain(REPORTS.iter()).copied().collect();
    let out = run_in(dir, &all, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    (stdout, read_report(&dir.join("r.json")))
}

/// Every output says the error rate and the failed step (marked as failed).
fn assert_every_output_says(dir: &Path, stdout: &str, rate: &str, counts: &str, step: &str) {
    let line = format!("error rate {rate} ({counts})");
    assert!(stdout.contains(&line), "terminal lacks `{line}`:\n{stdout}");
    assert!(stdout.contains(&format!("✗ {step}")), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert!(html.contains(&line), "HTML lacks `{line}`");
    let md = std::fs::read_to_string(dir.join("r.md")).unwrap();
    assert!(md.contains(&line), "Markdown lacks `{line}`:\n{md}");
    assert!(md.contains(&format!("| ❌ | {step} |")), "{md}");
    let xml = std::fs::read_to_string(dir.join("r.xml")).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
    assert!(
        xml.contains(&format!("observed {}", rate.replace(".0 %", "%"))),
        "JUnit lacks the observed error rate {rate}:\n{xml}"
    );
}

/// A scenario whose step `step` fails in the odd iterations (`n` is 1, 2, 3, …).
fn half_failing(step_yaml: &str) -> String {
    format!(
        "name: half\nvariables:\n  n: \"{{{{ seq() }}}}\"\n  odd: \"{{{{ 'true' if (n | int) % 2 == 1 else 'false' }}}}\"\nsteps:\n{step_yaml}\nthresholds:\n  - \"error_rate < 1%\"\n"
    )
}

fn load_and_run(yaml: &str, step: &str) {
    let (dir, _) = scenario_dir("half.yaml", yaml);
    let args = ["load", "half.yaml", "--rps", "10", "--duration", "2s", "-q"];
    let (stdout, report) = run_all(dir.path(), &args, 1);
    let totals = &report["totals"];
    assert_eq!(totals["iterations"], 20, "{totals}");
    assert_eq!(totals["failed_iterations"], 10, "{totals}");
    assert_eq!(totals["error_rate"], 0.5, "{totals}");
    assert_eq!(report["passed"], false);
    let failed_step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == step)
        .unwrap();
    assert_eq!(failed_step["passed"], false, "{failed_step}");
    assert_eq!(failed_step["failures"], 10, "{failed_step}");
    assert_eq!(totals["steps_failed"], 1, "{totals}");
    assert_every_output_says(
        dir.path(),
        &stdout,
        "50.0 %",
        "10 of 20 iterations failed",
        step,
    );

    // `run` is one iteration: the first (n = 1) fails.
    let (stdout, report) = run_all(dir.path(), &["run", "half.yaml"], 1);
    assert_eq!(report["totals"]["error_rate"], 1.0);
    assert_every_output_says(
        dir.path(),
        &stdout,
        "100.0 %",
        "1 of 1 iteration failed",
        step,
    );
}

#[test]
fn a_failed_check_in_half_the_iterations_is_an_error_rate_of_50_percent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(server(Duration::ZERO));
    let step = format!(
        "  - name: fetch\n    http: {{ url: \"{url}/{{{{ 'missing' if odd == 'true' else 'ok' }}}}\" }}\n    checks: {{ status: 200 }}"
    );
    load_and_run(&half_failing(&step), "fetch");
}

#[test]
fn a_connection_error_in_half_the_iterations_is_an_error_rate_of_50_percent() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(server(Duration::ZERO));
    let (_held, port) = rt.block_on(async { dead_port() });
    let dead = format!("http://127.0.0.1:{port}");
    let step = format!(
        "  - name: fetch\n    http: {{ url: \"{{{{ '{dead}' if odd == 'true' else '{url}' }}}}/ok\" }}\n    checks: {{ status: 200 }}"
    );
    load_and_run(&half_failing(&step), "fetch");
}

#[test]
fn a_missing_reply_in_half_the_iterations_is_an_error_rate_of_50_percent() {
    // On the embedded default: the reference app answers every customer, but in the odd
    // iterations the scenario awaits a reply the app never sends.
    let steps = "  - name: customer writes
    inject:
      from: \"{{ phone() }}\"
      text: \"Necesito una cita con cardiología para mañana\"
  - name: availability offered
    await:
      text: { contains: \"{{ 'nunca enviado' if odd == 'true' else 'Horarios disponibles' }}\" }
      timeout: 1s";
    let yaml = half_failing(steps).replace("name: half\n", "name: half\nprovider: evolution\n");
    load_and_run(&yaml, "availability offered");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("half.yaml"), &yaml).unwrap();
    let args = ["load", "half.yaml", "--rps", "10", "--duration", "2s", "-q"];
    let (stdout, report) = run_all(dir.path(), &args, 1);
    assert_eq!(report["e2e"]["missing"], 10, "{}", report["e2e"]);
    assert!(stdout.contains("(10 never answered)"), "{stdout}");
}

#[test]
fn without_an_error_rate_threshold_any_failed_iteration_fails_a_load() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(server(Duration::ZERO));
    let yaml = format!(
        "name: lat\nvariables:\n  n: \"{{{{ seq() }}}}\"\nsteps:\n  - name: fetch\n    http: {{ url: \"{url}/{{{{ 'missing' if (n | int) == 3 else 'ok' }}}}\" }}\n    checks: {{ status: 200 }}\nthresholds: [\"p95 < 5s\"]\n"
    );
    let (dir, _) = scenario_dir("lat.yaml", &yaml);
    let args = ["load", "lat.yaml", "--rps", "10", "--duration", "1s", "-q"];
    let (_, report) = run_all(dir.path(), &args, 1);
    assert_eq!(report["totals"]["failed_iterations"], 1);
    let xml = std::fs::read_to_string(dir.path().join("r.xml")).unwrap();
    assert!(
        xml.contains("no error_rate threshold allows failed iterations"),
        "{xml}"
    );
}

#[test]
fn skipped_steps_are_counted_apart_from_passed_ones() {
    let (dir, _) = scenario_dir(
        "skip.yaml",
        "name: skip\nprovider: evolution\nsteps:\n  - name: version\n    http: { url: \"{{ provider.url }}/\" }\n    checks: { status: 200 }\n  - name: meta only\n    provider: meta\n    http: { url: \"{{ provider.url }}/\" }\n",
    );
    let (stdout, report) = run_all(dir.path(), &["run", "skip.yaml"], 0);
    assert!(
        stdout.contains("steps 1 passed / 0 failed / 1 skipped"),
        "{stdout}"
    );
    let t = &report["totals"];
    assert_eq!(
        (&t["steps_passed"], &t["steps_skipped"]),
        (&1.into(), &1.into())
    );
}

/// Quick-mode against a server that answers in 200 ms, at 40/s with 2 in flight: at most
/// 10/s can run, so about three quarters of the arrivals are dropped — the target's limit.
#[test]
fn a_slow_target_that_drops_arrivals_fails_and_is_named_the_limit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(server(Duration::from_millis(200)));
    let dir = tempfile::tempdir().unwrap();
    let slow = format!("{url}/slow");
    let args = [
        "load",
        "--url",
        &slow,
        "--rps",
        "40",
        "-z",
        "2s",
        "--max-in-flight",
        "2",
    ];
    let (stdout, report) = run_all(dir.path(), &args, 1);
    let load = &report["load"];
    let delivery = &load["delivery"];
    assert_eq!(delivery["check"], "default");
    assert_eq!(delivery["passed"], false);
    assert_eq!(delivery["arrivals"], 80, "{delivery}");
    assert!(delivery["dropped"].as_u64().unwrap() >= 50, "{delivery}");
    assert_eq!(
        load["saturation"]["limiter"], "target",
        "{}",
        load["saturation"]
    );
    assert!(stdout.contains("delivery: delivered "), "{stdout}");
    assert!(
        stdout.contains("limit: the target was the limit"),
        "{stdout}"
    );
    assert!(stdout.contains("✗ dropped_rate < 1%"), "{stdout}");
    let md = std::fs::read_to_string(dir.path().join("r.md")).unwrap();
    assert!(md.contains("the target was the limit"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("r.html")).unwrap();
    assert!(html.contains("the target was the limit"));

    // --allow-dropped: the run passes on its thresholds, and the report says the check was off.
    let mut allow = args.to_vec();
    allow.push("--allow-dropped");
    let (stdout, report) = run_all(dir.path(), &allow, 0);
    assert_eq!(report["load"]["delivery"]["check"], "off");
    assert!(stdout.contains("the delivery check is off"), "{stdout}");
    // A limit from the command line.
    let mut loose = args.to_vec();
    loose.extend(["--max-dropped", "90%"]);
    let (_, report) = run_all(dir.path(), &loose, 0);
    assert_eq!(report["load"]["delivery"]["check"], "flag");
    assert_eq!(report["load"]["delivery"]["limit"], 0.9);
}

#[test]
fn a_dropped_rate_threshold_in_the_scenario_sets_the_limit() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(server(Duration::from_millis(200)));
    let yaml = format!(
        "name: slow\nsteps:\n  - name: slow\n    http: {{ url: \"{url}/slow\" }}\nload:\n  rps: 40\n  duration: 2s\n  max_in_flight: 2\nthresholds:\n  - \"dropped_rate < 90%\"\n"
    );
    let (dir, _) = scenario_dir("slow.yaml", &yaml);
    let (_, report) = run_all(dir.path(), &["load", "slow.yaml", "-q"], 0);
    assert_eq!(report["load"]["delivery"]["check"], "scenario");
    let row = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == "dropped_rate")
        .unwrap()
        .clone();
    assert_eq!(row["line"], 10, "{row}");
    assert_eq!(row["passed"], true);
    // In a functional run the load threshold is not judged (nothing is dropped there).
    let (_, report) = run_all(dir.path(), &["run", "slow.yaml"], 0);
    assert!(report["thresholds"].as_array().unwrap().is_empty());
}

/// Overload of the embedded default (simulator, reference app and generator in one process),
/// at three times the rate it was just measured to sustain: the run fails, says how much was
/// delivered, and names the generator.
#[test]
fn overloading_the_embedded_default_names_the_generator() {
    let dir = tempfile::tempdir().unwrap();
    // The ceiling: 64 users with no think time, as fast as the process can go.
    let ceiling_args = ["load", "--users", "64", "--duration", "2s", "-q"];
    let (_, report) = run_all(dir.path(), &ceiling_args, 0);
    let ceiling = report["load"]["achieved_rps"].as_f64().unwrap();
    assert!(ceiling > 0.0);
    let rate = format!("{:.0}", (ceiling * 3.0).max(30.0));
    let args = [
        "load",
        "--rps",
        &rate,
        "--duration",
        "3s",
        "--max-in-flight",
        "200",
        "-q",
    ];
    let (stdout, report) = run_all(dir.path(), &args, 1);
    let load = &report["load"];
    assert!(load["dropped"].as_u64().unwrap() > 0, "{load}");
    assert_eq!(
        load["saturation"]["limiter"], "generator",
        "ceiling {ceiling}/s, rate {rate}/s: {}",
        load["saturation"]
    );
    assert!(stdout.contains("delivery: delivered "), "{stdout}");
    assert!(stdout.contains("the generator was the limit"), "{stdout}");
    assert!(
        stdout.contains("the embedded simulator and reference app run in this process too"),
        "{stdout}"
    );
    // With --allow-dropped the delivery check is off: no delivery verdict fails the run. The
    // scenario's own thresholds still judge what was delivered (an overloaded machine may miss
    // its e2e p95), so the exit code follows them alone.
    let mut allow = args.to_vec();
    allow.push("--allow-dropped");
    let all: Vec<&str> = allow.iter().chain(REPORTS.iter()).copied().collect();
    let out = run_in(dir.path(), &all, &[]);
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["load"]["delivery"]["check"], "off");
    let failed: Vec<&Value> = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["passed"] == false)
        .collect();
    assert!(
        failed
            .iter()
            .all(|t| !t["expr"].as_str().unwrap_or_default().contains("dropped")),
        "{failed:?}"
    );
    let expected = if failed.is_empty() { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(expected), "{}", text(&out.stdout));
}
