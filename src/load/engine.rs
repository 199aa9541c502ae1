//! The load engine: a dispatcher, a few workers, a metrics task.
//!
//! Concurrency protocol:
//! - The **dispatcher** (the calling task) walks the schedule. For the open model it sleeps
//!   until each arrival's intended instant, takes a permit from the in-flight semaphore
//!   (`--max-in-flight`) without waiting, and sends a [`Ticket`] carrying the instant to a
//!   worker (round robin). No permit: the arrival is counted as **dropped** (k6's
//!   `dropped_iterations`), never silently skipped or delayed. For the closed model it sends
//!   one ticket per user at the start, then waits for the end of the plan.
//! - Each **worker** is one task owning a [`Recorder`] (its own histograms) and running many
//!   iterations concurrently in a `FuturesUnordered`. When one completes it records it, and
//!   in the closed model starts that user's next iteration after the think time; the same
//!   loop serves both models. Every 250 ms, and when a second is over, it sends its finished
//!   one-second window to the metrics task.
//! - The **metrics task** ([`super::timeline`]) builds the time series and the live view, and
//!   may cancel the run (`--abort-on-fail`).
//! - Stopping: the `stop` token (Ctrl-C, abort, end of a closed plan) stops new iterations;
//!   the dispatcher drops its senders, the workers finish what is in flight, and after
//!   `grace` a hard cancel drops whatever is still running (counted as abandoned). The
//!   recorders are then merged.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::plan::Plan;
use super::record::{Done, Outcome, Recorder, Shared, Window};
use super::schedule::Arrivals;
use super::timeline::{AbortFn, Collector, ProgressFn, TimePoint};

/// What one iteration does. Implementations: a scenario's steps, or one HTTP request.
pub trait Flow: Send + Sync + 'static {
    /// Number of steps (records carry indexes below it).
    fn steps(&self) -> usize;
    /// Runs one iteration. Must not panic on the target's failures: they are data.
    fn iterate(&self) -> impl Future<Output = Outcome> + Send;
}

/// Engine settings (plain values: the CLI and scenario files resolve into these).
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub plan: Plan,
    /// Cap on iterations in flight (open model).
    pub max_in_flight: usize,
    /// Worker tasks (each runs many iterations concurrently).
    pub workers: usize,
    /// How long iterations in flight may finish after the plan ends or the run is stopped.
    pub grace: Duration,
    /// Seed for Poisson arrivals (reproducible tests); `None`: random.
    pub seed: Option<u64>,
    /// Arrival-count offset of a shard's schedule (`shard::Shard::phase`); 0 for one process.
    pub phase: f64,
}

/// How the caller observes and steers a run.
#[derive(Default)]
pub struct Hooks {
    /// Cancel to stop the run early (Ctrl-C); the result is then marked interrupted.
    pub stop: CancellationToken,
    /// Cancel to drop the iterations in flight at once, without waiting for the grace period
    /// (a second Ctrl-C); what was measured so far is kept.
    pub hard_stop: CancellationToken,
    pub progress: Option<ProgressFn>,
    /// Checked every 250 ms: `true` stops the run (`--abort-on-fail`).
    pub abort: Option<AbortFn>,
}

/// A permission to start an iteration, with the instant it was meant to start.
#[derive(Debug)]
struct Ticket {
    intended: Instant,
    permit: Option<OwnedSemaphorePermit>,
}

/// Everything a load run measured.
#[derive(Debug)]
pub struct LoadResult {
    pub started_at: SystemTime,
    /// From the start until the last iteration ended.
    pub elapsed: Duration,
    /// How long iterations were being started (the plan's duration unless stopped early).
    pub scheduled: Duration,
    pub records: Recorder,
    /// Iterations started; completed ones are `records.iterations.count`.
    pub started: u64,
    /// Arrivals that could not start on time because the in-flight cap was reached.
    pub dropped: u64,
    /// Iterations still in flight when the grace period ran out.
    pub abandoned: u64,
    pub peak_in_flight: u64,
    pub timeline: Vec<TimePoint>,
    /// Stopped by the caller (Ctrl-C).
    pub interrupted: bool,
    /// Stopped by the abort check.
    pub aborted: bool,
    /// Open model: per stage of the plan, the arrivals the schedule reached and those dropped.
    pub stages: Vec<StageArrivals>,
    /// CPU time the whole harness process used during the run (user + system), and the cores
    /// it could use: how close the generator itself came to its limit.
    pub cpu: CpuUse,
}

/// The arrivals of one stage of an open-model plan.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StageArrivals {
    /// Arrivals the schedule reached (started or dropped).
    pub arrivals: u64,
    pub dropped: u64,
}

/// CPU the process used over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuUse {
    /// User + system CPU seconds.
    pub seconds: f64,
    /// Cores the process may run on.
    pub cores: usize,
    /// Wall-clock seconds measured over.
    pub wall: f64,
}

impl CpuUse {
    /// Share of the available CPU used, 0..=1.
    pub fn share(&self) -> f64 {
        let avail = self.wall * self.cores.max(1) as f64;
        if avail > 0.0 {
            (self.seconds / avail).min(1.0)
        } else {
            0.0
        }
    }
}

/// CPU seconds (user + system) this process has used so far.
// The one FFI call of the crate (`unsafe_code` is denied elsewhere): getrusage(2).
#[allow(unsafe_code)]
pub fn process_cpu_seconds() -> f64 {
    // SAFETY: `rusage` is plain integers, valid when zeroed; getrusage only writes into the
    // struct it is given, and RUSAGE_SELF is always a valid `who`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

impl LoadResult {
    /// Iterations started per second of schedule.
    pub fn achieved_rps(&self) -> f64 {
        let secs = self.scheduled.as_secs_f64();
        if secs > 0.0 {
            self.started as f64 / secs
        } else {
            0.0
        }
    }
}

/// Runs `flow` along the plan. Never fails: the target's failures are in the result.
pub async fn run<F: Flow>(flow: Arc<F>, opts: &EngineOptions, hooks: Hooks) -> LoadResult {
    let started_at = SystemTime::now();
    let cpu_at_start = process_cpu_seconds();
    let shared = Arc::new(Shared::new(
        Instant::now(),
        opts.plan.duration().as_secs_f64().ceil() as u64,
    ));
    let t0 = shared.t0;
    let deadline = t0 + opts.plan.duration();
    // `stop` ends scheduling (the caller's token, the abort check, a closed plan's end);
    // `hard` drops what is still in flight once the grace period is over.
    let stop = hooks.stop.child_token();
    let hard = hooks.hard_stop.child_token();
    let (window_tx, window_rx) = mpsc::unbounded_channel();
    let collector = Collector {
        shared: shared.clone(),
        total: opts.plan.duration(),
        progress: hooks.progress,
        abort: hooks.abort,
        stop: stop.clone(),
    };
    let metrics = tokio::spawn(collector.run(window_rx));
    let (senders, mut workers) = spawn_workers(&flow, opts, &shared, window_tx, (&stop, &hard));

    let stage_arrivals = start_arrivals(opts, &senders, &shared, &stop).await;
    tokio::select! {
        () = tokio::time::sleep_until(deadline) => {}
        () = stop.cancelled() => {}
    }
    stop.cancel();
    let scheduled = t0.elapsed().min(opts.plan.duration());
    drop(senders);

    let mut records = Recorder::new(flow.steps());
    let joined = tokio::time::timeout(opts.grace, futures_util::future::join_all(&mut workers));
    let results = match joined.await {
        Ok(results) => results,
        Err(_) => {
            hard.cancel();
            futures_util::future::join_all(workers).await
        }
    };
    for r in results.into_iter().flatten() {
        records.merge(r);
    }
    let timeline = metrics.await.unwrap_or_default();
    let cpu = CpuUse {
        seconds: process_cpu_seconds() - cpu_at_start,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        wall: t0.elapsed().as_secs_f64(),
    };
    LoadResult {
        started_at,
        elapsed: t0.elapsed(),
        scheduled,
        records,
        started: shared.started.load(Ordering::Relaxed),
        dropped: shared.dropped.load(Ordering::Relaxed),
        abandoned: shared.in_flight.load(Ordering::Relaxed),
        peak_in_flight: shared.peak_in_flight.load(Ordering::Relaxed),
        timeline: timeline.points,
        interrupted: hooks.stop.is_cancelled(),
        aborted: timeline.aborted,
        stages: stage_arrivals,
        cpu,
    }
}

/// One worker per core: each with its ticket channel, running iterations until the tickets
/// end (or `hard` cancels them).
fn spawn_workers<F: Flow>(
    flow: &Arc<F>,
    opts: &EngineOptions,
    shared: &Arc<Shared>,
    window_tx: mpsc::UnboundedSender<Window>,
    (stop, hard): (&CancellationToken, &CancellationToken),
) -> (
    Vec<mpsc::UnboundedSender<Ticket>>,
    Vec<tokio::task::JoinHandle<Recorder>>,
) {
    let think = match opts.plan {
        Plan::Closed { think, .. } => Some(think),
        Plan::Open { .. } => None,
    };
    let deadline = shared.t0 + opts.plan.duration();
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..opts.workers.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let w = Worker {
            flow: flow.clone(),
            shared: shared.clone(),
            windows: window_tx.clone(),
            stop: stop.clone(),
            hard: hard.clone(),
            think,
            deadline,
        };
        workers.push(tokio::spawn(w.run(rx)));
    }
    (senders, workers)
}

/// The open model's arrivals, dispatched until the plan ends or `stop` (returns the arrivals
/// and drops per stage); the closed model's users, all at the start.
async fn start_arrivals(
    opts: &EngineOptions,
    senders: &[mpsc::UnboundedSender<Ticket>],
    shared: &Shared,
    stop: &CancellationToken,
) -> Vec<StageArrivals> {
    match &opts.plan {
        Plan::Open { stages, poisson } => {
            let arrivals = if *poisson {
                Arrivals::poisson(stages.clone(), opts.seed)
            } else {
                Arrivals::new(stages.clone()).with_phase(opts.phase)
            };
            let cap = Arc::new(Semaphore::new(opts.max_in_flight.max(1)));
            let ends = stage_ends(stages);
            dispatch(arrivals, &ends, senders, &cap, shared, stop).await
        }
        Plan::Closed { users, .. } => {
            for u in 0..*users {
                let ticket = Ticket {
                    intended: shared.t0,
                    permit: None,
                };
                let _ = senders[u % senders.len()].send(ticket);
            }
            Vec::new()
        }
    }
}

/// The offset at which each stage ends.
fn stage_ends(stages: &[super::plan::Stage]) -> Vec<Duration> {
    stages
        .iter()
        .scan(Duration::ZERO, |end, s| {
            *end += s.duration;
            Some(*end)
        })
        .collect()
}

/// The open model's dispatcher: one ticket per arrival, or one dropped arrival. Returns the
/// arrivals and drops per stage (`ends`: each stage's end offset).
async fn dispatch(
    arrivals: Arrivals,
    ends: &[Duration],
    senders: &[mpsc::UnboundedSender<Ticket>],
    cap: &Arc<Semaphore>,
    shared: &Shared,
    stop: &CancellationToken,
) -> Vec<StageArrivals> {
    let mut per_stage = vec![StageArrivals::default(); ends.len().max(1)];
    let mut stage = 0;
    for (i, offset) in arrivals.enumerate() {
        let intended = shared.t0 + offset;
        if intended > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(intended) => {}
                () = stop.cancelled() => return per_stage,
            }
        } else if stop.is_cancelled() {
            return per_stage;
        }
        while stage + 1 < per_stage.len() && offset >= ends[stage] {
            stage += 1;
        }
        per_stage[stage].arrivals += 1;
        match cap.clone().try_acquire_owned() {
            Ok(permit) => {
                let ticket = Ticket {
                    intended,
                    permit: Some(permit),
                };
                let _ = senders[i % senders.len()].send(ticket);
            }
            Err(_) => {
                per_stage[stage].dropped += 1;
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                shared.count_at(&shared.dropped_by_second, intended);
            }
        }
    }
    per_stage
}

struct Worker<F> {
    flow: Arc<F>,
    shared: Arc<Shared>,
    windows: mpsc::UnboundedSender<Window>,
    stop: CancellationToken,
    hard: CancellationToken,
    /// Closed model: the think time before a user's next iteration.
    think: Option<Duration>,
    deadline: Instant,
}

impl<F: Flow> Worker<F> {
    async fn run(self, mut tickets: mpsc::UnboundedReceiver<Ticket>) -> Recorder {
        let mut rec = Recorder::new(self.flow.steps());
        let mut running = FuturesUnordered::new();
        let mut open = true;
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        // Made once: a fresh `cancelled()` per completion registers a waiter each time.
        let hard = self.hard.clone();
        let hard = hard.cancelled();
        tokio::pin!(hard);
        loop {
            // Completions first: the hard stop is polled when none is ready (an iteration it
            // must drop is one that does not complete), not once per completion.
            tokio::select! {
                biased;
                Some(done) = running.next(), if !running.is_empty() => {
                    let done: Option<Done> = done;
                    let Some(done) = done else { continue };
                    if let Some(think) = self.think {
                        let next = done.finished + think;
                        if !self.stop.is_cancelled() && next < self.deadline {
                            running.push(self.iteration(Ticket { intended: next, permit: None }));
                        }
                    }
                    let t0 = self.shared.t0;
                    let second = (done.finished - t0).as_secs();
                    let start_second = done.intended.saturating_duration_since(t0).as_secs();
                    if let Some(w) = rec.record(done, second, start_second) {
                        let _ = self.windows.send(w);
                    }
                }
                () = &mut hard => break,
                t = tickets.recv(), if open => match t {
                    Some(t) => running.push(self.iteration(t)),
                    None => open = false,
                },
                _ = tick.tick() => {
                    if let Some(w) = rec.roll(self.shared.t0.elapsed().as_secs()) {
                        let _ = self.windows.send(w);
                    }
                }
            }
            if !open && running.is_empty() {
                break;
            }
        }
        if let Some(w) = rec.flush() {
            let _ = self.windows.send(w);
        }
        rec
    }

    /// One iteration: waits for its intended instant (a closed model's think time), then
    /// runs the flow. `None` when the run was stopped before it started.
    fn iteration(&self, ticket: Ticket) -> impl Future<Output = Option<Done>> + Send + 'static {
        let flow = self.flow.clone();
        let shared = self.shared.clone();
        // Only a think time makes an iteration wait for its instant (the dispatcher sends an
        // open model's tickets when they are due): no token to clone otherwise.
        let stop = self
            .think
            .is_some_and(|t| !t.is_zero())
            .then(|| self.stop.clone());
        async move {
            // One clock read when the iteration is due already (a closed loop without think
            // time): the instant checked is the instant it starts.
            let mut started = Instant::now();
            if ticket.intended > started {
                match stop {
                    Some(stop) => tokio::select! {
                        () = tokio::time::sleep_until(ticket.intended) => {}
                        () = stop.cancelled() => return None,
                    },
                    None => tokio::time::sleep_until(ticket.intended).await,
                }
                started = Instant::now();
            }
            shared.started.fetch_add(1, Ordering::Relaxed);
            shared.count_at(&shared.started_by_second, ticket.intended);
            let now = shared.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            shared.peak_in_flight.fetch_max(now, Ordering::Relaxed);
            let outcome = flow.iterate().await;
            let finished = Instant::now();
            shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(ticket.permit);
            Some(Done {
                outcome,
                intended: ticket.intended,
                started,
                finished,
            })
        }
    }
}
