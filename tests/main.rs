//! The one integration-test binary (one link step for all integration tests).

mod abuse;
mod cli;
mod compare;
mod deploy;
mod e2e;
mod inject;
mod interop;
mod lifecycle;
mod load;
mod logging;
mod masking;
mod modules;
mod neutral;
mod own_app;
mod preflight;
mod report;
mod runner;
mod sdk_openai;
mod shard;
mod sim_evolution;
mod sim_meta;
mod size;
mod snapshots;
mod support;
mod verdict;
mod watch;
