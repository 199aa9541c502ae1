//! What an iteration does: a scenario's steps with fresh variables ([`ScenarioFlow`]), or
//! one prebuilt HTTP request ([`QuickFlow`], `harness load --url`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::engine::Flow;
use super::record::{FailureSample, Outcome, Samples, StepRecord};
use crate::runner::http::{classify, ErrorKind, ExchangeError, Response, SentRequest};
use crate::runner::template::Vars;
use crate::runner::{
    execute_step, init_vars, step_result, CheckCounts, ExecutedStep, RunContext, RunState,
    StepKind, StepResult,
};
use crate::scenario::Scenario;

/// A scenario's steps, in order, with the scenario's variables rendered anew for each
/// iteration (so `{{ phone() }}` gives each iteration its own customer). An iteration stops
/// at its first failed step: the later steps depend on it (an `await` after a failed
/// `inject` would only wait for its timeout).
#[derive(Debug)]
pub struct ScenarioFlow {
    scenario: Scenario,
    /// The target's variables, under the scenario's.
    vars: Vars,
    ctx: RunContext,
    /// The conversations worth reading afterwards (end-to-end scenarios only).
    kept: Option<Mutex<Kept>>,
}

/// Iterations kept whole for their conversation: this many failed, this many slowest.
pub const KEPT: usize = 5;

/// An iteration's step results, kept for its transcript.
#[derive(Debug, Clone)]
pub struct KeptIteration {
    pub failed: bool,
    /// From its actual start to its end.
    pub duration: Duration,
    pub steps: Vec<StepResult>,
}

/// The first [`KEPT`] failed iterations and the [`KEPT`] slowest passed ones.
#[derive(Debug, Default)]
struct Kept {
    failed: Vec<KeptIteration>,
    slowest: Vec<KeptIteration>,
}

impl Kept {
    /// Whether an iteration like this one would be kept (checked before copying its steps).
    fn wants(&self, failed: bool, duration: Duration) -> bool {
        if failed {
            return self.failed.len() < KEPT;
        }
        self.slowest.len() < KEPT || self.slowest.iter().any(|k| k.duration < duration)
    }

    fn keep(&mut self, k: KeptIteration) {
        if k.failed {
            self.failed.push(k);
            return;
        }
        self.slowest.push(k);
        self.slowest.sort_by_key(|k| std::cmp::Reverse(k.duration));
        self.slowest.truncate(KEPT);
    }
}

impl ScenarioFlow {
    pub fn new(scenario: Scenario, vars: Vars, ctx: RunContext) -> Self {
        let e2e = scenario
            .steps
            .iter()
            .any(|s| StepKind::of(&s.action) != StepKind::Http);
        Self {
            scenario,
            vars,
            ctx,
            kept: e2e.then(Mutex::default),
        }
    }

    /// The kept iterations: the failed ones first, then the slowest, slowest first.
    pub fn kept(&self) -> Vec<KeptIteration> {
        let Some(kept) = &self.kept else {
            return Vec::new();
        };
        let kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        kept.failed.iter().chain(&kept.slowest).cloned().collect()
    }

    /// Keeps a copy of the iteration's results when it is among the failed or slowest kept.
    fn consider(&self, results: &[(usize, ExecutedStep)], duration: Duration) {
        let Some(kept) = &self.kept else {
            return;
        };
        let failed = results.iter().any(|(_, r)| !r.passed);
        let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.wants(failed, duration) {
            kept.keep(KeptIteration {
                failed,
                duration,
                steps: results
                    .iter()
                    .map(|(i, r)| step_result(&self.scenario.steps[*i], r.clone()))
                    .collect(),
            });
        }
    }
}

impl Flow for ScenarioFlow {
    fn steps(&self) -> usize {
        self.scenario.steps.len()
    }

    async fn iterate(&self) -> Outcome {
        let vars = match init_vars(&self.scenario, self.vars.clone(), &self.ctx.templater) {
            Ok(v) => v,
            Err(e) => {
                let error = ExchangeError {
                    kind: ErrorKind::Template,
                    message: e.to_string(),
                };
                return Outcome {
                    steps: Vec::new(),
                    error: Some(error.kind.as_str().to_string()),
                    sample: Some((
                        0,
                        FailureSample {
                            error: Some(error),
                            ..FailureSample::default()
                        },
                    )),
                    ..Outcome::default()
                };
            }
        };
        let mut state = RunState::new(vars);
        let began = Instant::now();
        let mut results = Vec::with_capacity(self.scenario.steps.len());
        for (index, step) in self.scenario.steps.iter().enumerate() {
            if self.ctx.skips(step) {
                continue;
            }
            let r = execute_step(step, &mut state, &self.ctx).await;
            let passed = r.passed;
            results.push((index, r));
            if !passed {
                break;
            }
        }
        self.consider(&results, began.elapsed());
        outcome(&self.scenario, results)
    }
}

/// The records of an iteration's executed steps; an iteration stops at its first failure.
fn outcome(scenario: &Scenario, results: Vec<(usize, ExecutedStep)>) -> Outcome {
    let mut out = Outcome {
        steps: Vec::with_capacity(results.len()),
        ..Outcome::default()
    };
    for (index, r) in results {
        out.steps.push(StepRecord {
            index,
            kind: StepKind::of(&scenario.steps[index].action),
            checks: CheckCounts::of(&r.checks),
            samples: Samples::Step(r.samples),
        });
        if !r.passed {
            out.error = Some(
                r.error
                    .as_ref()
                    .map_or("check".into(), |e| e.kind.as_str().to_string()),
            );
            let checks = r.checks.into_iter().filter(|c| !c.passed).collect();
            out.sample = Some((
                index,
                FailureSample {
                    error: r.error,
                    checks,
                    request: r.exchange.0,
                    response: r.exchange.1,
                },
            ));
            break;
        }
    }
    out
}

/// One request as given on the command line (`--url`, `--method`, `--header`, `--body`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuickRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: Duration,
}

impl QuickRequest {
    /// The request as reports show it.
    fn sent(&self) -> SentRequest {
        SentRequest {
            method: self.method.clone(),
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self
                .body
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        }
    }
}

/// What both quick-mode clients share: turning one exchange into an [`Outcome`], and keeping
/// one failure sample (one is enough; later failures are only counted).
#[derive(Debug)]
pub(super) struct QuickOutcomes {
    sent: SentRequest,
    sampled: AtomicBool,
}

/// A status, the response headers (kept for failures only) and the body, or why not.
pub(super) type QuickResult =
    Result<(u16, Option<Vec<(String, String)>>, bytes::Bytes), ExchangeError>;

impl QuickOutcomes {
    pub(super) fn new(q: &QuickRequest) -> Self {
        Self {
            sent: q.sent(),
            sampled: AtomicBool::new(false),
        }
    }

    /// One request's outcome: a status ≥ 400 is a failure (`http_4xx` / `http_5xx`).
    pub(super) fn outcome(&self, latency: Duration, result: QuickResult) -> Outcome {
        let status = result.as_ref().ok().map(|(status, _, _)| *status);
        let (error, sample) = match result {
            Err(e) => (
                Some(e.kind.as_str().to_string()),
                self.sample(Some(e), None),
            ),
            Ok((status, headers, body)) if status >= 400 => {
                let kind = if status >= 500 {
                    "http_5xx"
                } else {
                    "http_4xx"
                };
                let response = Response {
                    status,
                    headers: headers.unwrap_or_default(),
                    body,
                };
                (Some(kind.to_string()), self.sample(None, Some(response)))
            }
            Ok(_) => (None, None),
        };
        Outcome {
            steps: vec![StepRecord {
                index: 0,
                kind: StepKind::Http,
                samples: Samples::One {
                    latency: Some(latency),
                    failed: error.is_some(),
                },
                checks: CheckCounts::default(),
            }],
            error,
            sample,
            status,
        }
    }

    fn sample(
        &self,
        error: Option<ExchangeError>,
        response: Option<Response>,
    ) -> Option<(usize, FailureSample)> {
        (!self.sampled.swap(true, Ordering::Relaxed)).then(|| {
            let request = Some(self.sent.clone());
            (
                0,
                FailureSample {
                    error,
                    checks: Vec::new(),
                    request,
                    response,
                },
            )
        })
    }
}

/// One HTTP request per iteration: built once, cloned per send, the body read to its end.
/// A status ≥ 400 is a failure (kind `http_4xx` / `http_5xx`).
#[derive(Debug)]
pub struct QuickFlow {
    client: reqwest::Client,
    request: reqwest::Request,
    outcomes: QuickOutcomes,
}

impl QuickFlow {
    /// `connections`: keep-alive connections to keep open (the pool's idle limit).
    pub fn new(q: &QuickRequest, connections: usize) -> Result<Self, ExchangeError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(connections.max(1))
            .user_agent(concat!("harness/", env!("CARGO_PKG_VERSION")))
            .timeout(q.timeout)
            .build()
            .map_err(classify)?;
        let invalid = |message: String| ExchangeError {
            kind: ErrorKind::InvalidRequest,
            message,
        };
        let method = reqwest::Method::from_bytes(q.method.as_bytes())
            .map_err(|_| invalid(format!("invalid HTTP method `{}`", q.method)))?;
        let mut builder = client.request(method, &q.url);
        for (k, v) in &q.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        if let Some(body) = &q.body {
            builder = builder.body(body.clone());
        }
        let request = builder
            .build()
            .map_err(|e| invalid(format!("invalid request to `{}`: {e}", q.url)))?;
        Ok(Self {
            client,
            request,
            outcomes: QuickOutcomes::new(q),
        })
    }
}

impl Flow for QuickFlow {
    fn steps(&self) -> usize {
        1
    }

    async fn iterate(&self) -> Outcome {
        let start = Instant::now();
        let result = match self.request.try_clone() {
            Some(req) => self.client.execute(req).await.map_err(classify),
            None => Err(ExchangeError {
                kind: ErrorKind::InvalidRequest,
                message: "the request body cannot be replayed".into(),
            }),
        };
        let result = match result {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = (status >= 400).then(|| {
                    let text = |v: &reqwest::header::HeaderValue| {
                        String::from_utf8_lossy(v.as_bytes()).into_owned()
                    };
                    resp.headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), text(v)))
                        .collect::<Vec<_>>()
                });
                resp.bytes()
                    .await
                    .map_err(classify)
                    .map(|body| (status, headers, body))
            }
            Err(e) => Err(e),
        };
        self.outcomes.outcome(start.elapsed(), result)
    }
}
