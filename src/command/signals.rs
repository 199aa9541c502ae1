//! SIGINT (Ctrl-C) and SIGTERM (what CI runners and Kubernetes send on cancel or timeout).
//!
//! The first signal stops new work: `run` stops at the step in progress, `load` starts no new
//! iteration and lets those in flight finish within `--grace`; the report is written, marked
//! interrupted (exit 1). A second signal stops at once: `load` drops the iterations still in
//! flight (counted as abandoned) and the report of what was measured is written without
//! waiting. A third exits on the spot, without a report.

use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

use super::out;
use crate::exit;

/// The tokens a command watches.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    /// Cancelled by the first signal: start nothing new.
    pub soft: CancellationToken,
    /// Cancelled by the second: drop what is in flight, write the report now.
    pub hard: CancellationToken,
}

impl Stop {
    /// Starts listening for SIGINT and SIGTERM (for the rest of the process: once a handler
    /// is installed, a signal nobody listens to would be lost).
    pub fn listen() -> std::io::Result<Stop> {
        let stop = Stop::default();
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let tokens = stop.clone();
        tokio::spawn(async move {
            let mut count = 0;
            loop {
                let name = tokio::select! {
                    Some(()) = term.recv() => "SIGTERM",
                    Some(()) = int.recv() => "SIGINT",
                    else => return,
                };
                count += 1;
                tokens.on_signal(name, count);
            }
        });
        Ok(stop)
    }

    fn on_signal(&self, name: &str, count: u32) {
        match count {
            1 => {
                out::eprintln(format_args!(
                    "interrupted ({name}): stopping new work, the report will be written (again to stop at once)"
                ));
                self.soft.cancel();
            }
            2 => {
                out::eprintln(format_args!(
                    "interrupted again ({name}): stopping now, writing the report of what was measured"
                ));
                self.soft.cancel();
                self.hard.cancel();
            }
            _ => {
                out::eprintln(format_args!(
                    "interrupted a third time ({name}): exiting without a report"
                ));
                std::process::exit(exit::FAILED.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_signal_stops_new_work_the_second_everything() {
        let stop = Stop::default();
        stop.on_signal("SIGTERM", 1);
        assert!(stop.soft.is_cancelled() && !stop.hard.is_cancelled());
        stop.on_signal("SIGINT", 2);
        assert!(stop.hard.is_cancelled());
    }
}
