//! Writing to the terminal without panicking when the reader has gone.
//!
//! `println!` panics when stdout is a closed pipe (`harness run smoke | head -1`: "failed
//! printing to stdout: Broken pipe", exit 101). Every line a command prints goes through
//! these functions instead, which drop what cannot be written: the output is a courtesy, the
//! report files and the exit code are the result, and they do not depend on the reader.
//!
//! In a [`capture`] scope (the in-process entry point `harness::run_captured`, for tests and
//! embedders), what the command's own task prints is kept in memory instead.

use std::fmt::Display;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// What a captured command printed: stdout and stderr.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub stdout: String,
    pub stderr: String,
}

tokio::task_local! {
    static SINK: Arc<Mutex<Captured>>;
}

/// Runs `future` with its output (this task's, not that of tasks it spawns) kept in `sink`.
pub async fn capture<F: Future>(sink: Arc<Mutex<Captured>>, future: F) -> F::Output {
    SINK.scope(sink, future).await
}

/// Appends to the captured stream when in a [`capture`] scope; false otherwise.
fn captured(text: &dyn Display, stderr: bool) -> bool {
    SINK.try_with(|sink| {
        let mut c = sink.lock().unwrap_or_else(|e| e.into_inner());
        let stream = if stderr { &mut c.stderr } else { &mut c.stdout };
        stream.push_str(&text.to_string());
    })
    .is_ok()
}

/// Whether what is printed to stdout may be coloured: a terminal without `NO_COLOR`, and not
/// a [`capture`] scope.
pub fn color() -> bool {
    SINK.try_with(|_| ()).is_err() && crate::report::terminal::color_for_stdout()
}

/// Writes `text` to stdout as is; a write error (a closed pipe) is ignored.
pub fn print(text: impl Display) {
    if captured(&text, false) {
        return;
    }
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
    if captured(&format_args!("{text}\n"), true) {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
