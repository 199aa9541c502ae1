//! Scenario files: the model, YAML parsing with source positions, and diagnostics.

pub mod catalog;
pub mod diagnostic;
pub mod load_shape;
pub mod model;
pub mod parse;
pub mod references;
pub mod targets;
pub mod threshold;
pub mod watch_rule;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;
pub use parse::{parse, parse_file, parse_targets, ParseFileError};
pub use threshold::parse_threshold;
