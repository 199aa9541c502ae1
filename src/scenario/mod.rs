//! Scenario files: the model, YAML parsing with source positions, and diagnostics.

pub mod model;

pub use model::*;
