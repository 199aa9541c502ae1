//! The one integration-test binary (one link step for all integration tests).

mod cli;
mod report;
mod runner;
mod sim_meta;
mod support;
