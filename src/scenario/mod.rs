//! Scenario files: the model, YAML parsing with source positions, and diagnostics.

pub mod diagnostic;
pub mod model;
pub mod parse;
pub mod threshold;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use model::*;
pub use parse::{parse, parse_file, ParseFileError};
pub use threshold::parse_threshold;
