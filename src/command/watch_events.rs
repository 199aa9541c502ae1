//! Where a watch's alert events go: the terminal as they happen, `--events FILE` (JSON
//! lines), and `--notify URL` webhooks (a body Slack, Teams and Google Chat read — `text` —
//! with the event beside it for anything else), retried with backoff.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use tokio::task::JoinSet;

use super::out;
use crate::runner::ScenarioRun;
use crate::watch::{Event, EventKind};

/// Attempts per webhook delivery, and the first pause between them (doubled each time).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

/// Time on the watch's clock, `+HH:MM:SS`.
pub fn offset(ms: u64) -> String {
    let s = ms / 1000;
    format!("+{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Wall-clock time of a watch offset, RFC 3339 UTC.
pub fn wall(start: SystemTime, ms: u64) -> String {
    humantime::format_rfc3339_millis(start + Duration::from_millis(ms)).to_string()
}

/// One line for people (the terminal and the webhook's `text`).
pub fn describe(event: &Event, scenario: &str) -> String {
    let (state, streak) = match event.kind {
        EventKind::Firing => ("FIRING", "held"),
        EventKind::Resolved => ("RESOLVED", "clear"),
    };
    format!(
        "{state} [{}] {} — {scenario}: `{}` {streak} since {} ({} run(s) in evidence), last value {}",
        event.severity.name(),
        event.rule,
        event.expr,
        offset(event.since_ms),
        event.evidence.len(),
        format_value(event.value),
    )
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// The event as JSON: the JSON lines of `--events` and the `event` of webhook bodies.
pub fn to_json(event: &Event, scenario: &str, start: SystemTime) -> serde_json::Value {
    let evidence: Vec<serde_json::Value> = event
        .evidence
        .iter()
        .map(|p| {
            serde_json::json!({
                "at": wall(start, p.at_ms),
                "offset_s": p.at_ms as f64 / 1000.0,
                "breached": p.breached,
                "value": p.value,
            })
        })
        .collect();
    serde_json::json!({
        "type": "alert",
        "scenario": scenario,
        "rule": event.rule,
        "expr": event.expr,
        "severity": event.severity.name(),
        "state": event.kind.name(),
        "at": wall(start, event.at_ms),
        "offset_s": event.at_ms as f64 / 1000.0,
        "since": wall(start, event.since_ms),
        "value": event.value,
        "evidence": evidence,
    })
}

/// Appends one JSON line to the events file.
pub fn append_line(path: &Path, value: &serde_json::Value) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(file, "{value}")
}

/// A webhook URL for output: scheme, host and port kept; the path (where Slack and Teams
/// put the webhook's secret), query and user info masked.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let tail = if rest.len() > authority.len() {
        "/***"
    } else {
        ""
    };
    if scheme.is_empty() {
        format!("{host}{tail}")
    } else {
        format!("{scheme}://{host}{tail}")
    }
}

/// POSTs `body` to every URL, each in its own task, retried with backoff; failures are
/// reported on stderr with the URL masked, never fatal.
pub fn notify(
    tasks: &mut JoinSet<()>,
    client: &reqwest::Client,
    urls: &[String],
    body: serde_json::Value,
) {
    for url in urls {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        tasks.spawn(async move {
            let mut pause = FIRST_BACKOFF;
            let mut last = String::new();
            for attempt in 1..=ATTEMPTS {
                let sent = client
                    .post(&url)
                    .json(&body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => last = format!("HTTP {}", r.status().as_u16()),
                    Err(e) => last = without_url(&e),
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
            out::eprintln(format_args!(
                "warning: notify {} failed after {ATTEMPTS} attempts: {last}",
                mask_url(&url)
            ));
        });
    }
}

/// reqwest's error message without the URL it carries (which may hold a secret).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// The webhook body: `text` for chat tools, the event for everything else.
pub fn webhook_body(event: &Event, scenario: &str, start: SystemTime) -> serde_json::Value {
    serde_json::json!({
        "text": describe(event, scenario),
        "event": to_json(event, scenario, start),
    })
}

/// Waits for the deliveries still going, at most `limit`.
pub async fn drain(tasks: &mut JoinSet<()>, limit: Duration) {
    let _ = tokio::time::timeout(limit, async { while tasks.join_next().await.is_some() {} }).await;
}

/// The terminal line of a finished run: when, its verdict, how long, which steps failed.
pub fn run_line(n: u64, at_ms: u64, run: &ScenarioRun, passed: bool) -> String {
    let failed: Vec<&str> = run
        .steps
        .iter()
        .filter(|s| !s.passed)
        .map(|s| s.name.as_str())
        .collect();
    let verdict = if passed { "PASS" } else { "FAIL" };
    let mut line = format!(
        "{}  run {n}  {verdict}  {:.0}ms",
        offset(at_ms),
        run.elapsed.as_secs_f64() * 1000.0
    );
    if !failed.is_empty() {
        line.push_str(&format!("  failed: {}", failed.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_secrets_are_masked() {
        assert_eq!(
            mask_url("https://hooks.slack.com/services/T000/B000/XXXXSECRET"),
            "https://hooks.slack.com/***"
        );
        assert_eq!(
            mask_url("http://user:pw@127.0.0.1:9/hook?token=x"),
            "http://127.0.0.1:9/***"
        );
        assert_eq!(mask_url("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }

    #[test]
    fn offsets_read_as_a_clock() {
        assert_eq!(offset(3_723_000), "+01:02:03");
    }
}
