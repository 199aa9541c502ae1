//! Read-only views of the optional parts of a report (end-to-end latency, load time series,
//! simulator faults) for the renderers.
//!
//! Why through `serde_json::Value`: these sections are added to [`Report`] by the runner and
//! the load engine as they land; reading them from the report's JSON form keeps the HTML,
//! Markdown and comparison renderers independent of exactly when and how those fields appear,
//! and tolerant of reports written by older or newer versions (a missing or differently shaped
//! section is simply not shown).

use serde::Deserialize;
use serde_json::Value;

use super::{Bucket, Report};
use crate::metrics::LatencySummary;

/// End-to-end latency: from injecting an inbound message to observing the app's reply.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct E2eView {
    #[serde(alias = "correlations", alias = "requests")]
    pub count: u64,
    #[serde(alias = "timeouts")]
    pub failures: u64,
    #[serde(alias = "latency")]
    pub latency_ms: Option<LatencySummary>,
    #[serde(alias = "buckets")]
    pub histogram: Vec<Bucket>,
}

/// A load run: the rates and the per-second time series.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LoadView {
    #[serde(alias = "rps", alias = "target")]
    pub target_rps: Option<f64>,
    #[serde(alias = "achieved")]
    pub achieved_rps: Option<f64>,
    pub iterations: Option<u64>,
    pub dropped: Option<u64>,
    #[serde(alias = "time_series", alias = "timeseries", alias = "seconds")]
    pub series: Vec<SecondView>,
}

/// One second of a load run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct SecondView {
    /// Seconds since the start.
    #[serde(alias = "t", alias = "second", alias = "elapsed_s")]
    pub t_s: f64,
    /// Iterations completed in that second (`harness load`'s `iterations`).
    #[serde(alias = "iterations")]
    pub rps: f64,

    #[serde(alias = "p50_ms")]
    pub p50: Option<f64>,
    #[serde(alias = "p95_ms")]
    pub p95: Option<f64>,
    #[serde(alias = "p99_ms")]
    pub p99: Option<f64>,
    #[serde(alias = "failures")]
    pub errors: u64,
    pub in_flight: u64,
}

/// The optional sections of `report`, read once.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    pub e2e: Option<E2eView>,
    pub load: Option<LoadView>,
    /// Fault settings of the simulators, as `(name, value)` pairs, when faults were injected.
    pub faults: Vec<(String, String)>,
}

impl Extras {
    pub fn of(report: &Report) -> Extras {
        match serde_json::to_value(report) {
            Ok(v) => Extras::from_value(&v),
            Err(_) => Extras::default(),
        }
    }

    /// The sections of a saved JSON report, read from the file itself (so a report written by
    /// a harness that knows more sections than this build's [`Report`] still shows them).
    /// An unreadable file has none.
    pub fn read(path: &std::path::Path) -> Extras {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .map(|v| Extras::from_value(&v))
            .unwrap_or_default()
    }

    pub fn from_value(v: &Value) -> Extras {
        let section = |k: &str| v.get(k).filter(|s| !s.is_null()).cloned();
        Extras {
            e2e: section("e2e").and_then(|s| serde_json::from_value(s).ok()),
            load: section("load").and_then(|s| serde_json::from_value(s).ok()),
            faults: section("faults").map(faults).unwrap_or_default(),
        }
    }
}

/// p50, p95, p99 and max for people (`612ms`), or `—` each when there is no summary.
pub fn latency_cells(l: Option<LatencySummary>) -> [String; 4] {
    match l {
        Some(l) => [l.p50, l.p95, l.p99, l.max].map(crate::thresholds::format_ms),
        None => std::array::from_fn(|_| "—".to_string()),
    }
}

/// `{"latency": {"delay_ms": 200}, "error_rate": 0.1}` → `latency.delay_ms = 200`, …
/// `faults`: the profiles set during the run (`[{set_at, profile: {rules}}]`) as one row per
/// rule, keyed by when it was set; any other shape is flattened.
fn faults(v: Value) -> Vec<(String, String)> {
    let Value::Array(events) = &v else {
        return flatten(v);
    };
    let mut out = Vec::new();
    for e in events {
        let at = e["set_at"].as_str().unwrap_or_default();
        for rule in e["profile"]["rules"].as_array().into_iter().flatten() {
            out.push((at.to_string(), rule.to_string()));
        }
    }
    out
}

fn flatten(v: Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Null => {}
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", &v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sections_are_read_when_present_and_absent_otherwise() {
        let v = json!({
            "e2e": {"count": 3, "failures": 1, "latency_ms": null,
                    "histogram": [{"le_ms": 1.6, "count": 2}]},
            "load": {"target_rps": 10.0, "achieved_rps": 9.5, "iterations": 95, "dropped": 0,
                     "series": [{"t_s": 1.0, "rps": 9.0, "p50": 2.0, "p95": 3.0, "p99": 4.0,
                                 "errors": 0, "in_flight": 2}]},
            "faults": {"latency": {"delay_ms": 200}, "error_rate": 0.1}
        });
        let x = Extras::from_value(&v);
        assert_eq!(x.e2e.as_ref().map(|e| e.count), Some(3));
        assert_eq!(x.load.as_ref().map(|l| l.series.len()), Some(1));
        assert_eq!(
            x.faults,
            vec![
                ("latency.delay_ms".to_string(), "200".to_string()),
                ("error_rate".to_string(), "0.1".to_string())
            ]
        );
        let none = Extras::from_value(&json!({"e2e": null}));
        assert!(none.e2e.is_none() && none.load.is_none() && none.faults.is_empty());
    }
}
