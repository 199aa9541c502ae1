//! The load engine: arrival times and ramps (paused clock), the in-flight cap and dropped
//! accounting, the closed model, latency under backlog, and the invariant that the target
//! saw exactly as many requests as were recorded (real sockets, a counting server).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::load::flow::{QuickFlow, QuickRequest};
use harness::load::hyper_flow::HyperFlow;
use harness::load::{
    run, EngineOptions, Flow, Hooks, LoadResult, Outcome, Plan, Samples, StepRecord,
};
use harness::runner::StepKind;
use harness::scenario::load_shape::parse_stages;
use tokio::time::Instant;

use crate::support::{read_report, run_in, text};

/// Sleeps `service` (optionally one at a time, like a single-threaded server) and notes
/// when each iteration started.
struct Sleeper {
    service: Duration,
    serial: Option<tokio::sync::Mutex<()>>,
    starts: Mutex<Vec<Instant>>,
}

impl Sleeper {
    fn new(service: Duration) -> Arc<Self> {
        Arc::new(Self {
            service,
            serial: None,
            starts: Mutex::new(Vec::new()),
        })
    }

    fn offsets_ms(&self, t0: Instant) -> Vec<f64> {
        let starts = self.starts.lock().unwrap();
        starts
            .iter()
            .map(|s| (*s - t0).as_secs_f64() * 1000.0)
            .collect()
    }
}

impl Flow for Sleeper {
    fn steps(&self) -> usize {
        1
    }

    async fn iterate(&self) -> Outcome {
        self.starts.lock().unwrap().push(Instant::now());
        let start = Instant::now();
        let _one_at_a_time = match &self.serial {
            Some(m) => Some(m.lock().await),
            None => None,
        };
        tokio::time::sleep(self.service).await;
        Outcome {
            steps: vec![StepRecord {
                index: 0,
                kind: StepKind::Http,
                samples: Samples::One {
                    latency: Some(start.elapsed()),
                    failed: false,
                },
                checks: Default::default(),
            }],
            ..Outcome::default()
        }
    }
}

fn options(plan: Plan, max_in_flight: usize) -> EngineOptions {
    EngineOptions {
        plan,
        max_in_flight,
        workers: 2,
        grace: Duration::from_secs(30),
        seed: Some(1),
        phase: 0.0,
    }
}

async fn go<F: Flow>(flow: Arc<F>, plan: Plan, cap: usize) -> (LoadResult, Instant) {
    let t0 = Instant::now();
    let result = run(flow, &options(plan, cap), Hooks::default()).await;
    (result, t0)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn a_constant_rate_starts_iterations_on_schedule() {
    let flow = Sleeper::new(ms(30));
    let plan = Plan::constant(20.0, Duration::from_secs(2), false).unwrap();
    let (r, t0) = go(flow.clone(), plan, 100).await;
    let mut starts = flow.offsets_ms(t0);
    starts.sort_by(f64::total_cmp);
    assert_eq!(starts.len(), 40);
    for (k, at) in starts.iter().enumerate() {
        assert!((at - 50.0 * k as f64).abs() < 1.5, "arrival {k} at {at} ms");
    }
    assert_eq!(
        (r.started, r.dropped, r.records.iterations.count),
        (40, 0, 40)
    );
    assert!(
        (r.achieved_rps() - 20.0).abs() < 0.01,
        "{}",
        r.achieved_rps()
    );
    // One point per second, covering every iteration.
    let total: u64 = r.timeline.iter().map(|p| p.iterations).sum();
    assert_eq!(total, 40);
    let service = r.records.service.summary().unwrap();
    assert!((service.p50 - 30.0).abs() < 1.5, "{service:?}");
}

/// Fails every iteration after `after` (a timeout, say).
struct Failer {
    after: Duration,
}

impl Flow for Failer {
    fn steps(&self) -> usize {
        1
    }

    async fn iterate(&self) -> Outcome {
        tokio::time::sleep(self.after).await;
        Outcome {
            steps: vec![StepRecord {
                index: 0,
                kind: StepKind::Http,
                samples: Samples::One {
                    latency: None,
                    failed: true,
                },
                checks: Default::default(),
            }],
            error: Some("timeout".into()),
            ..Outcome::default()
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_run_failing_for_4s_shows_its_failures_and_latency_in_those_4s() {
    // 5 it/s for 4 s, each failing after a 5 s timeout: the failures complete in seconds
    // 5–8, but belong to the seconds 0–3 in which the iterations started.
    let plan = Plan::constant(5.0, Duration::from_secs(4), false).unwrap();
    let (r, _) = go(
        Arc::new(Failer {
            after: Duration::from_secs(5),
        }),
        plan,
        100,
    )
    .await;
    let by = |f: fn(&harness::load::TimePoint) -> u64| -> Vec<(u64, u64)> {
        r.timeline
            .iter()
            .filter(|p| f(p) > 0)
            .map(|p| (p.t_s, f(p)))
            .collect()
    };
    let each_of_4 = vec![(0, 5), (1, 5), (2, 5), (3, 5)];
    assert_eq!(by(|p| p.failed_started), each_of_4);
    assert_eq!(by(|p| p.started), each_of_4);
    assert!(by(|p| p.errors).iter().all(|(t, _)| *t >= 5));
    for p in &r.timeline {
        let p95 = p.p95_ms;
        match p.t_s {
            0..=3 => assert!(p95.is_some_and(|v| (v - 5000.0).abs() < 60.0), "{p:?}"),
            _ => assert_eq!(p95, None, "{p:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn ramps_start_iterations_along_the_stages() {
    let flow = Sleeper::new(ms(10));
    let plan = Plan::ramps(&parse_stages("2s:20,1s:20").unwrap(), false).unwrap();
    let (r, t0) = go(flow.clone(), plan, 100).await;
    let starts = flow.offsets_ms(t0);
    // Ramp 0 → 20 over 2 s: N(t) = 5 t², 20 arrivals; then 20 in the flat second.
    assert_eq!(r.started, 40);
    let first_second = starts.iter().filter(|t| **t < 1000.0).count();
    let second_second = starts
        .iter()
        .filter(|t| (1000.0..2000.0).contains(*t))
        .count();
    assert_eq!((first_second, second_second), (5, 15));
    assert_eq!(starts.iter().filter(|t| **t >= 2000.0).count(), 20);
}

#[tokio::test(start_paused = true)]
async fn arrivals_over_the_in_flight_cap_are_dropped_and_counted() {
    // 10/s for 2 s, each iteration 950 ms, at most 5 in flight: the first 5 arrivals of each
    // second start, the next 5 find the cap reached.
    let flow = Sleeper::new(ms(950));
    let plan = Plan::constant(10.0, Duration::from_secs(2), false).unwrap();
    let (r, _) = go(flow, plan, 5).await;
    assert_eq!((r.started, r.dropped), (10, 10));
    assert_eq!(r.started + r.dropped, 20, "every arrival is accounted for");
    assert_eq!(r.records.iterations.count, 10);
    assert_eq!(r.peak_in_flight, 5);
    assert!((r.achieved_rps() - 5.0).abs() < 0.01);
}

#[tokio::test(start_paused = true)]
async fn the_closed_model_keeps_n_users_with_think_time() {
    let flow = Sleeper::new(ms(100));
    let plan = Plan::closed(3, ms(100), Duration::from_secs(1)).unwrap();
    let (r, t0) = go(flow.clone(), plan, 1).await;
    // Each user: iterations at 0, 200, 400, 600, 800 ms.
    assert_eq!((r.started, r.dropped, r.peak_in_flight), (15, 0, 3));
    let mut starts = flow.offsets_ms(t0);
    starts.sort_by(f64::total_cmp);
    for (k, at) in starts.iter().enumerate() {
        assert!(
            (at - 200.0 * (k / 3) as f64).abs() < 1.5,
            "start {k} at {at}"
        );
    }
    // Think time is not latency: from the intended start, iterations take 100 ms.
    let it = r.records.iterations.summary().unwrap();
    assert!((it.max - 100.0).abs() < 1.5, "{it:?}");
}

#[tokio::test(start_paused = true)]
async fn latency_from_the_intended_start_grows_with_the_backlog() {
    // A server that handles one request at a time in 50 ms (20/s) asked for 40/s for 1 s:
    // the 40th request is served around 2 s, almost a second after it was due.
    let flow = Arc::new(Sleeper {
        service: ms(50),
        serial: Some(tokio::sync::Mutex::new(())),
        starts: Mutex::new(Vec::new()),
    });
    let plan = Plan::constant(40.0, Duration::from_secs(1), false).unwrap();
    let (r, _) = go(flow, plan, 1000).await;
    assert_eq!(
        (r.started, r.dropped),
        (40, 0),
        "the open model keeps the rate"
    );
    let lat = r.records.iterations.summary().unwrap();
    assert!(lat.min < 55.0 && lat.max > 950.0, "{lat:?}");
    assert!(lat.p50 > 400.0, "the backlog shows in the median: {lat:?}");
}

#[tokio::test(start_paused = true)]
async fn stopping_ends_scheduling_and_marks_the_run_interrupted() {
    let flow = Sleeper::new(ms(200));
    let plan = Plan::constant(20.0, Duration::from_secs(2), false).unwrap();
    let hooks = Hooks::default();
    let stop = hooks.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(490)).await;
        stop.cancel();
    });
    let r = run(flow, &options(plan, 100), hooks).await;
    assert!(r.interrupted && !r.aborted);
    // Arrivals at 0, 50, …, 450 ms started; those in flight finished within the grace.
    assert_eq!(
        (r.started, r.records.iterations.count, r.abandoned),
        (10, 10, 0)
    );
    assert!(
        (r.scheduled.as_secs_f64() - 0.49).abs() < 0.01,
        "{:?}",
        r.scheduled
    );
}

#[tokio::test(start_paused = true)]
async fn in_flight_iterations_past_the_grace_are_abandoned() {
    let flow = Sleeper::new(Duration::from_secs(60));
    let plan = Plan::constant(10.0, Duration::from_secs(1), false).unwrap();
    let mut opts = options(plan, 100);
    opts.grace = Duration::from_secs(1);
    let r = run(flow, &opts, Hooks::default()).await;
    assert_eq!(
        (r.started, r.abandoned, r.records.iterations.count),
        (10, 10, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn the_abort_check_stops_the_run() {
    let flow = Sleeper::new(ms(10));
    let plan = Plan::constant(20.0, Duration::from_secs(3), false).unwrap();
    let hooks = Hooks {
        abort: Some(Box::new(|live: &harness::load::Live<'_>| {
            live.iterations.count >= 5
        })),
        ..Hooks::default()
    };
    let r = run(flow, &options(plan, 100), hooks).await;
    assert!(r.aborted && !r.interrupted);
    assert!(r.started >= 5 && r.started < 60, "{}", r.started);
}

/// A server on 127.0.0.1:0 that counts the requests it answered.
pub(crate) async fn counting_server() -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                r#"{"ok":true}"#
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, count)
}

fn quick(url: &str) -> QuickRequest {
    QuickRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![("x-test".into(), "1".into())],
        body: None,
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn the_server_saw_exactly_the_requests_recorded() {
    let (url, seen) = counting_server().await;
    let flow = Arc::new(QuickFlow::new(&quick(&url), 4).unwrap());
    invariant_holds(flow, &seen).await;
    seen.store(0, Ordering::Relaxed);
    let flow = Arc::new(HyperFlow::new(&quick(&url)).unwrap().unwrap());
    invariant_holds(flow, &seen).await;
}

async fn invariant_holds<F: Flow>(flow: Arc<F>, seen: &AtomicU64) {
    let open = Plan::constant(200.0, Duration::from_secs(1), false).unwrap();
    let (r, _) = go(flow.clone(), open, 100).await;
    assert_eq!(r.started + r.dropped, 200);
    assert_eq!(seen.load(Ordering::Relaxed), r.records.steps[0].count);
    assert_eq!(r.records.iterations.count, r.started);
    assert_eq!(r.records.iterations.failures, 0);

    seen.store(0, Ordering::Relaxed);
    let closed = Plan::closed(4, Duration::ZERO, Duration::from_secs(1)).unwrap();
    let (r, _) = go(flow, closed, 4).await;
    assert!(r.started > 10, "{}", r.started);
    assert_eq!(seen.load(Ordering::Relaxed), r.records.steps[0].count);
    assert_eq!(r.records.iterations.count, r.started);
    let points: u64 = r.timeline.iter().map(|p| p.requests).sum();
    assert_eq!(points, r.started, "the time series covers every request");
}

#[tokio::test]
async fn hyper_flow_counts_error_statuses_as_failures() {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy") }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let flow = Arc::new(HyperFlow::new(&quick(&url)).unwrap().unwrap());
    let plan = Plan::constant(20.0, Duration::from_millis(500), false).unwrap();
    let (r, _) = go(flow, plan, 100).await;
    assert_eq!(r.records.errors.get("http_5xx"), Some(&r.started));
    let sample = r.records.samples[0].as_ref().unwrap();
    assert_eq!(sample.response.as_ref().map(|p| p.status), Some(503));
    assert!(
        HyperFlow::new(&quick("https://example.invalid/")).is_none(),
        "TLS goes to reqwest"
    );
}

#[tokio::test]
async fn failures_are_counted_by_kind() {
    // Nothing listens on this port once the listener is dropped.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let flow = Arc::new(QuickFlow::new(&quick(&format!("http://127.0.0.1:{port}/")), 2).unwrap());
    let plan = Plan::constant(20.0, Duration::from_millis(500), false).unwrap();
    let (r, _) = go(flow, plan, 100).await;
    assert_eq!(r.records.iterations.failures, r.started);
    assert_eq!(r.records.errors.get("connect"), Some(&r.started));
    assert!(r.records.samples[0].is_some(), "a failure sample is kept");
}

#[test]
fn quick_mode_from_the_command_line_writes_a_valid_report() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(counting_server());
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "load",
        "--url",
        &url,
        "--connections",
        "2",
        "--duration",
        "1s",
        "--json",
        "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = read_report(&dir.path().join("r.json"));
    let load = &report["load"];
    assert_eq!(load["model"], "closed");
    assert_eq!(load["users"], 2);
    let completed = load["completed"].as_u64().unwrap();
    assert!(completed > 0);
    assert_eq!(seen.load(Ordering::Relaxed), completed);
    assert_eq!(report["totals"]["requests"].as_u64(), Some(completed));
}

#[test]
fn stages_from_the_command_line_ramp_the_rate() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(counting_server());
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "load",
        "--url",
        &url,
        "--stages",
        "1s:20,1s:0",
        "--json",
        "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = read_report(&dir.path().join("r.json"));
    // Up from 0 to 20/s over 1 s, then down to 0 over 1 s: 10 + 10 arrivals.
    assert_eq!(report["load"]["iterations"].as_u64(), Some(20));
    assert_eq!(report["load"]["target_rps"].as_f64(), Some(10.0));
    assert_eq!(seen.load(Ordering::Relaxed), 20);
}

#[test]
fn a_failing_url_fails_the_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let args = [
        "load", "--url", &url, "--rps", "5", "-z", "1s", "--json", "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(report["load"]["errors"]["connect"].as_u64(), Some(5));
    assert_eq!(report["failures"][0]["kind"], "connect");
}

#[test]
fn the_default_volume_flow_runs_whatsapp_conversations_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "load",
        "--rps",
        "10",
        "--duration",
        "2s",
        "--json",
        "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let report = read_report(&dir.path().join("r.json"));
    let load = &report["load"];
    assert_eq!(report["scenario"], "volume");
    assert_eq!(
        (load["iterations"].as_u64(), load["dropped"].as_u64()),
        (Some(20), Some(0))
    );
    assert_eq!(load["target_rps"].as_f64(), Some(10.0));
    // Two awaited replies per conversation, each an end-to-end sample.
    assert_eq!(report["e2e"]["count"].as_u64(), Some(40));
    assert_eq!(report["e2e"]["failures"].as_u64(), Some(0));
    // Every check of every iteration is counted: per conversation, each inject's delivery
    // check and each await's reply check (it was "0/0 checks").
    assert_eq!(report["totals"]["checks_passed"].as_u64(), Some(20 * 4));
    assert_eq!(report["totals"]["checks_failed"].as_u64(), Some(0));
    let series = load["time_series"].as_array().unwrap();
    assert!(series.len() >= 2, "one point per second: {series:?}");
    let per_second: u64 = series
        .iter()
        .map(|p| p["iterations"].as_u64().unwrap())
        .sum();
    assert_eq!(per_second, 20);
    // The conversations of the slowest iterations, slowest first, each whole.
    let kept = report["transcripts"].as_array().unwrap();
    assert_eq!(kept.len(), 5, "{kept:?}");
    let durations: Vec<f64> = kept
        .iter()
        .map(|t| t["duration_ms"].as_f64().unwrap())
        .collect();
    assert!(durations.windows(2).all(|w| w[0] >= w[1]), "{durations:?}");
    for t in kept {
        assert_eq!(t["kept_as"], "slowest");
        let froms: Vec<&str> = t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["from"].as_str().unwrap())
            .collect();
        assert_eq!(froms, ["customer", "app", "customer", "app"], "{t}");
    }
}

#[test]
fn quick_mode_prints_the_status_codes_and_a_latency_histogram() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Every fourth request answered 503.
    let url = rt.block_on(async {
        let count = Arc::new(AtomicU64::new(0));
        let app = axum::Router::new().route(
            "/",
            axum::routing::get(move || {
                let n = count.fetch_add(1, Ordering::Relaxed);
                async move {
                    let status = if n % 4 == 3 { 503 } else { 200 };
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "load", "--url", &url, "--rps", "20", "-z", "1s", "--json", "r.json",
    ];
    let out = run_in(dir.path(), &args, &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let report = read_report(&dir.path().join("r.json"));
    assert_eq!(
        report["load"]["status_codes"],
        serde_json::json!({"200": 15, "503": 5})
    );
    assert!(
        stdout.contains("status codes:\n  [200] 15 responses\n  [503] 5 responses\n"),
        "{stdout}"
    );
    let histogram = stdout
        .split("latency histogram (from the intended start):\n")
        .nth(1)
        .expect(&stdout);
    let bars: u64 = histogram
        .lines()
        .take_while(|l| l.starts_with("  ≤ "))
        .map(|l| {
            let count = l.split('[').nth(1).unwrap().split(']').next().unwrap();
            count.trim().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(bars, 20, "{histogram}");
}
