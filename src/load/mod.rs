//! `harness load`: an open-model load engine (a fixed arrival rate, latency measured from
//! each iteration's *intended* start), with ramps and a closed model on the same worker loop.
//!
//! Why not Goose (DESIGN.md): a closed-model tool lets the request rate fall when the target
//! slows, and its latency hides the backlog (coordinated omission). Here the schedule decides
//! when iterations start; the target only decides how long they take.
//!
//! Pipeline: [`plan`] (every load shape → stages) → [`schedule`] (arrival instants) →
//! [`engine`] (dispatcher, workers, metrics task) → [`record`] (per-worker histograms,
//! merged) and [`timeline`] (the per-second series). [`flow`] holds what an iteration does.

pub mod engine;
pub mod flow;
pub mod h1;
pub mod hyper_flow;
pub mod plan;
pub mod record;
pub mod schedule;
pub mod shard;
pub mod timeline;

pub use engine::{run, CpuUse, EngineOptions, Flow, Hooks, LoadResult, StageArrivals};
pub use plan::{Plan, PlanError, Stage};
pub use record::{FailureSample, Outcome, Recorder, Samples, StepRecord};
pub use timeline::{Live, Progress, TimePoint};
