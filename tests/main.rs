//! The one integration-test binary (one link step for all integration tests).

mod cli;
mod load;
mod runner;
mod sim_meta;
mod support;
