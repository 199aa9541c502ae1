//! `harness load --shard I/N --start-at T` as N processes against one server on loopback,
//! merged by `harness merge`: the same iterations as one process at the full rate, and
//! percentiles equal to those of the union of the shards' histograms.

use std::sync::atomic::Ordering;

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;
use serde_json::Value;

use crate::load::counting_server;
use crate::support::{assert_exit, bin, read_report, run_in, text};

fn histogram(encoded: &Value) -> Histogram<u64> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_str().unwrap())
        .unwrap();
    Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .unwrap()
}

#[test]
fn four_shards_merged_equal_one_process_at_the_full_rate() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (url, seen) = rt.block_on(counting_server());
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let start = std::time::SystemTime::now() + std::time::Duration::from_secs(2);
    let start = humantime::format_rfc3339_millis(start).to_string();
    let shards: Vec<_> = (1..=4)
        .map(|i| {
            let (shard, json) = (format!("{i}/4"), format!("s{i}.json"));
            let args = [
                "load",
                "--url",
                &url,
                "--rps",
                "400",
                "-z",
                "2s",
                "--shard",
                &shard,
                "--start-at",
                &start,
                "--json",
                &json,
                "-q",
            ];
            bin().current_dir(d).args(args).spawn().unwrap()
        })
        .collect();
    for mut s in shards {
        assert!(s.wait().unwrap().success());
    }
    let reports: Vec<Value> = (1..=4)
        .map(|i| read_report(&d.join(format!("s{i}.json"))))
        .collect();
    // 400/s for 2 s = 800 arrivals, dealt out 200 each; they began together (--start-at).
    for (i, r) in reports.iter().enumerate() {
        assert_eq!(r["load"]["iterations"], 200, "shard {}", i + 1);
        assert_eq!(r["shard"]["index"], i + 1);
        assert_eq!(r["load"]["target_rps"], 100.0);
    }
    let starts: Vec<std::time::SystemTime> = reports
        .iter()
        .map(|r| humantime::parse_rfc3339_weak(r["started_at"].as_str().unwrap()).unwrap())
        .collect();
    let (first, last) = (starts.iter().min().unwrap(), starts.iter().max().unwrap());
    let spread = last.duration_since(*first).unwrap();
    assert!(spread.as_millis() < 500, "{spread:?}");

    let args = [
        "merge", "s1.json", "s2.json", "s3.json", "s4.json", "--json", "m.json",
    ];
    let out = run_in(d, &args, &[("GITHUB_STEP_SUMMARY", "")]);
    assert_exit(&out, 0);
    let m = read_report(&d.join("m.json"));
    assert_eq!(m["load"]["iterations"], 800);
    assert_eq!(m["totals"]["requests"], 800);
    let achieved = m["load"]["achieved_rps"].as_f64().unwrap();
    assert!((achieved - 400.0).abs() / 400.0 < 0.005, "{achieved}");
    assert_eq!(seen.load(Ordering::Relaxed), 800);
    // Percentiles: those of the union of the shards' histograms, built here independently.
    let mut union = histogram(&reports[0]["histograms"]["all"]);
    for r in &reports[1..] {
        union.add(histogram(&r["histograms"]["all"])).unwrap();
    }
    for (q, key) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
        let expected = union.value_at_quantile(q) as f64 / 1000.0;
        assert_eq!(
            m["totals"]["latency_ms"][key].as_f64(),
            Some(expected),
            "{key}"
        );
    }

    // One process at the full rate starts as many iterations.
    let args = [
        "load", "--url", &url, "--rps", "400", "-z", "2s", "--json", "one.json", "-q",
    ];
    let out = run_in(d, &args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(read_report(&d.join("one.json"))["load"]["iterations"], 800);

    // The same shard twice would count its iterations twice: refused.
    let out = run_in(d, &["merge", "s1.json", "s1.json", "s2.json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("are both shard 1/4"),
        "{}",
        text(&out.stderr)
    );
}
