//! Logging: the subscriber (text, with colours only on a terminal; or JSON lines for log
//! shippers), and the servers' request log — each request at DEBUG, and at INFO one line of
//! totals per second, so `harness mock` and `harness app` stay readable (and cheap) under load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How log lines are written to standard error (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines; ANSI colours only when standard error is a terminal and
    /// `NO_COLOR` is unset.
    #[default]
    Text,
    /// One JSON object per line (timestamp, level, target, fields), for log shippers.
    Json,
}

/// Logs to standard error with `default_filter` (a tracing `EnvFilter` directive such as
/// `warn`), or `RUST_LOG` when set, in `format`.
pub fn init(default_filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour(std::io::stderr())).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colours only for a terminal, and never with `NO_COLOR` set (https://no-color.org).
fn colour(stream: impl std::io::IsTerminal) -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && stream.is_terminal()
}

/// Which server a [`Traffic`] counts for: the log target of its totals line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// A provider simulator (target `harness::sim`).
    Simulator,
    /// The reference app (target `harness::app`).
    App,
}

/// A server's request counts, logged as one line per second at INFO by [`Traffic::report`].
/// Counting is a few relaxed atomic additions per request.
#[derive(Debug, Default)]
pub struct Traffic {
    requests: AtomicU64,
    /// Per status class: 1xx–2xx, 3xx, 4xx, 5xx.
    by_class: [AtomicU64; 4],
}

/// Counts of one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub requests: u64,
    pub ok: u64,
    pub redirect: u64,
    pub client_error: u64,
    pub server_error: u64,
}

impl Traffic {
    /// Counts one answered request.
    pub fn record(&self, status: u16) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let class = match status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
    }

    /// The counts since the last call, and resets them.
    pub fn take(&self) -> Totals {
        let take = |a: &AtomicU64| a.swap(0, Ordering::Relaxed);
        Totals {
            requests: take(&self.requests),
            ok: take(&self.by_class[0]),
            redirect: take(&self.by_class[1]),
            client_error: take(&self.by_class[2]),
            server_error: take(&self.by_class[3]),
        }
    }

    /// Logs the totals of each second with requests in it, at INFO, until aborted. A second
    /// without requests logs nothing.
    pub async fn report(self: Arc<Self>, server: Server) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut total = 0u64;
        loop {
            tick.tick().await;
            let t = self.take();
            if t.requests == 0 {
                continue;
            }
            total += t.requests;
            log_totals(server, t, total);
        }
    }
}

/// The reference app's request log, as an axum middleware: counts each request for the
/// per-second totals (INFO) and logs it at DEBUG; when DEBUG is off, nothing is copied or
/// timed. The path only: a query may carry `hub.verify_token`.
pub async fn app_request(
    axum::extract::State(traffic): axum::extract::State<Arc<Traffic>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let debug = tracing::enabled!(target: "harness::app", tracing::Level::DEBUG).then(|| {
        let method = req.method().clone();
        (
            method,
            req.uri().path().to_string(),
            std::time::Instant::now(),
        )
    });
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    traffic.record(status);
    if let Some((method, path, start)) = debug {
        let elapsed_us = start.elapsed().as_micros() as u64;
        tracing::debug!(target: "harness::app", %method, path, status, elapsed_us, "request");
    }
    resp
}

fn log_totals(server: Server, t: Totals, total: u64) {
    macro_rules! totals {
        ($target:literal) => {
            tracing::info!(
                target: $target,
                requests = t.requests,
                ok = t.ok,
                redirect = t.redirect,
                client_error = t.client_error,
                server_error = t.server_error,
                total,
                "requests in the last second"
            )
        };
    }
    match server {
        Server::Simulator => totals!("harness::sim"),
        Server::App => totals!("harness::app"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_count_by_status_class_and_reset() {
        let t = Traffic::default();
        for s in [200, 201, 302, 400, 404, 500, 503, 204] {
            t.record(s);
        }
        assert_eq!(
            t.take(),
            Totals {
                requests: 8,
                ok: 3,
                redirect: 1,
                client_error: 2,
                server_error: 2
            }
        );
        assert_eq!(t.take(), Totals::default());
    }
}
