//! What `harness watch` scrapes after every run: the app's or the provider's Prometheus
//! `/metrics` pages, for `metric` rules.

use std::time::Duration;

use super::setup::Prepared;
use super::CommandError;
use crate::watch::{self, Evaluator};

/// The `/metrics` pages to scrape: the scenario's (rendered against the target, so
/// `{{ app.url }}/metrics` finds the embedded app) and `--metrics-url`'s. A `metric` rule
/// without any is exit 2: it could never fire.
pub(super) fn metrics_urls(
    from_scenario: &[String],
    from_flags: &[String],
    p: &Prepared,
    eval: &Evaluator,
) -> Result<Vec<String>, CommandError> {
    let vars = p.target.vars();
    let mut urls = Vec::new();
    for url in from_scenario {
        let rendered = p.templater.render(url, &vars).map_err(|e| {
            CommandError::Invalid(format!("error: watch.metrics `{url}`: {}", e.message))
        })?;
        urls.push(rendered);
    }
    urls.extend(from_flags.iter().cloned());
    let needs = eval.rules().find(|r| {
        matches!(
            r.condition,
            watch::Condition::Metric { .. } | watch::Condition::Growth { .. }
        )
    });
    match needs {
        Some(r) if urls.is_empty() => Err(CommandError::Invalid(format!(
            "error: rule `{}` reads a Prometheus metric: give the page with --metrics-url URL (or `metrics:` under `watch:`)",
            r.expr
        ))),
        _ => Ok(urls),
    }
}

/// Scrapes every page; one that cannot be read or parsed is said on stderr (its query
/// masked) and contributes nothing, so `metric` rules see no data rather than a zero.
pub(super) async fn scrape_all(client: &reqwest::Client, urls: &[String]) -> Vec<watch::Sample> {
    let mut samples = Vec::new();
    for url in urls {
        let page = async {
            let r = client.get(url).timeout(Duration::from_secs(5)).send().await;
            let r = r.map_err(|e| {
                if e.is_timeout() {
                    "timed out".to_string()
                } else {
                    "cannot connect".to_string()
                }
            })?;
            if !r.status().is_success() {
                return Err(format!("HTTP {}", r.status().as_u16()));
            }
            let text = r
                .text()
                .await
                .map_err(|_| "the body could not be read".to_string())?;
            watch::exposition::parse(&text)
        };
        match page.await {
            Ok(found) => samples.extend(found),
            Err(e) => super::out::eprintln(format_args!(
                "warning: metrics {}: {e}",
                crate::redact::mask_sensitive_query(url)
            )),
        }
    }
    samples
}
