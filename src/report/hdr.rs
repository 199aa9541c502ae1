//! The lossless part of a report: every latency histogram, encoded (HDR V2 deflate, base64;
//! see [`Series::encode_histogram`]), and the hash of the scenario's content. Percentiles
//! cannot be averaged; histograms add exactly, so `harness merge` rebuilds the percentiles of
//! shards' (or tenants') reports from these, and refuses reports whose scenarios differ.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::load::Recorder;
use crate::metrics::Series;
use crate::runner::ScenarioRun;
use crate::scenario::Scenario;

/// Every latency histogram of a report, encoded; aligned with the report's sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// One per entry of `steps[]`, in the same order.
    pub steps: Vec<String>,
    /// The request steps together (`totals`).
    pub all: String,
    /// The `await` steps together (`e2e`); absent without `await` steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e: Option<String>,
    /// `harness load`: iteration latency from the intended start (`load.latency_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<String>,
    /// `harness load`: iteration latency from the actual start (`load.service_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl Histograms {
    /// The histograms of a run (functional, or a load run seen as one).
    pub fn of(run: &ScenarioRun) -> Histograms {
        let (all, e2e) = run.series();
        let has_e2e = run
            .steps
            .iter()
            .any(|s| s.kind == crate::runner::StepKind::Await);
        Histograms {
            steps: run
                .steps
                .iter()
                .map(|s| s.series.encode_histogram())
                .collect(),
            all: all.encode_histogram(),
            e2e: has_e2e.then(|| e2e.encode_histogram()),
            iterations: None,
            service: None,
        }
    }

    /// Adds a load run's iteration histograms.
    pub fn with_load(mut self, records: &Recorder) -> Histograms {
        self.iterations = Some(records.iterations.encode_histogram());
        self.service = Some(records.service.encode_histogram());
        self
    }
}

/// Shard `index` (1-based) of `count`: `harness load --shard 2/4`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// `sha256:<hex>` of the scenario file's content (of the method and URL in quick mode):
/// reports with the same hash ran the same scenario, whatever the target or tenant.
pub fn scenario_hash(scenario: &Scenario) -> String {
    let mut h = Sha256::new();
    if scenario.source.is_empty() {
        h.update(scenario.name.as_bytes());
        h.update(b"\n");
        h.update(scenario.description.as_deref().unwrap_or("").as_bytes());
    } else {
        h.update(scenario.source.as_bytes());
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// Decodes one encoded histogram with its counts; the error names `what`.
/// `counts`: requests (attempts included), executions, failures.
pub fn decode(what: &str, encoded: &str, counts: (u64, u64, u64)) -> Result<Series, String> {
    let (count, executions, failures) = counts;
    Series::from_encoded(encoded, count, executions, failures).map_err(|e| format!("{what}: {e}"))
}
