//! Exit codes: the contract with CI gates (documented in the README).

use std::process::ExitCode;

/// Every check and threshold passed.
pub const SUCCESS: u8 = 0;
/// A check or threshold failed, or the run was interrupted: no-go.
pub const FAILED: u8 = 1;
/// Invalid invocation or scenario file: nothing ran.
pub const INVALID_INPUT: u8 = 2;
/// The harness itself could not run (port in use, report not writable, …).
pub const HARNESS_ERROR: u8 = 3;

pub fn code(c: u8) -> ExitCode {
    ExitCode::from(c)
}
