//! Writing to the terminal without panicking when the reader has gone.
//!
//! `println!` panics when stdout is a closed pipe (`harness run smoke | head -1`: "failed
//! printing to stdout: Broken pipe", exit 101). Every line a command prints goes through
//! these functions instead, which drop what cannot be written: the output is a courtesy, the
//! report files and the exit code are the result, and they do not depend on the reader.

use std::fmt::Display;
use std::io::Write;

/// Writes `text` to stdout as is; a write error (a closed pipe) is ignored.
pub fn print(text: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{text}");
    let _ = out.flush();
}

/// Writes `text` and a newline to stdout; a write error is ignored.
pub fn println(text: impl Display) {
    print(format_args!("{text}\n"));
}

/// Writes `text` and a newline to stderr; a write error (`2>&1 | head -1`) is ignored.
pub fn eprintln(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
