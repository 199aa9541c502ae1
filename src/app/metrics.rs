//! `/metrics` in the Prometheus text exposition format (version 0.0.4).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::outbox::OutboxStats;
use crate::scenario::ProviderKind;

/// Counters behind `/metrics`.
#[derive(Debug, Default)]
pub struct Counters {
    pub webhooks_accepted: AtomicU64,
    pub webhooks_duplicate: AtomicU64,
    pub webhooks_ignored: AtomicU64,
    pub webhooks_invalid: AtomicU64,
    pub webhooks_unauthorized: AtomicU64,
    pub webhooks_unknown_tenant: AtomicU64,
    pub bookings: AtomicU64,
    pub cancellations: AtomicU64,
    /// Customer media downloaded and matching the webhook's sha256, and failed downloads.
    pub media_verified: AtomicU64,
    pub media_failed: AtomicU64,
    /// LLM exchanges: understood (an answer used) or fallback (the fallback reply sent).
    pub llm_understood: AtomicU64,
    pub llm_fallback: AtomicU64,
    /// PMS bookings accepted, and not (timeout, error: the booking was not confirmed).
    pub pms_accepted: AtomicU64,
    pub pms_failed: AtomicU64,
    /// Approved payments confirmed to the customer, and repeated notifications of one.
    pub payments_confirmed: AtomicU64,
    pub payments_duplicate: AtomicU64,
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// What `/metrics` reads from outside the counters: the process and the provider.
#[derive(Debug, Default)]
pub struct Probes {
    /// `process_resident_memory_bytes`; `None` where /proc is not there.
    pub resident_bytes: Option<u64>,
    /// Evolution: each instance and whether the provider says it is connected (`open`).
    pub instances: Vec<(String, bool)>,
}

/// The process's resident memory: /proc/self/status's `VmRSS` (in kB; no page size needed).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Asks the Evolution API each instance's connection state,
/// `GET /instance/connectionState/{instance}` → `{"instance": {"state": "open"|…}}`
/// (upstream: evolution-api 2.3.6 src/api/routes/instance.router.ts, connectionState);
/// an instance the provider cannot tell about counts as disconnected.
pub async fn instance_states(
    http: &reqwest::Client,
    provider_url: &str,
    api_key: &str,
    instances: &[String],
) -> Vec<(String, bool)> {
    let mut out = Vec::with_capacity(instances.len());
    for name in instances {
        let url = format!("{provider_url}/instance/connectionState/{name}");
        let answer = http
            .get(url)
            .header("apikey", api_key)
            .timeout(std::time::Duration::from_secs(2))
            .send()
            .await;
        let state = match answer {
            Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
            _ => None,
        };
        let open = state
            .is_some_and(|v| v.pointer("/instance/state").and_then(|s| s.as_str()) == Some("open"));
        out.push((name.clone(), open));
    }
    out
}

/// The app's unlabelled counters and gauges: name, type, help (values in [`render`]).
const SINGLE: [(&str, &str, &str); 9] = [
    (
        "app_replies_sent_total",
        "counter",
        "Replies accepted by the provider.",
    ),
    (
        "app_provider_failures_total",
        "counter",
        "Failed sends to the provider (each attempt).",
    ),
    (
        "app_provider_retries_total",
        "counter",
        "Sends retried after a transient failure.",
    ),
    (
        "app_replies_pending",
        "gauge",
        "Replies kept for redelivery while the provider is unavailable.",
    ),
    (
        "app_replies_dead_total",
        "counter",
        "Replies the provider refused permanently.",
    ),
    (
        "app_interactive_fallbacks_total",
        "counter",
        "Interactive replies sent again as plain text (refused by the provider or undeliverable).",
    ),
    ("app_bookings_total", "counter", "Appointments booked."),
    (
        "app_cancellations_total",
        "counter",
        "Appointments cancelled.",
    ),
    (
        "app_appointments",
        "gauge",
        "Appointments currently booked.",
    ),
];

/// Renders every counter and gauge of the app.
pub fn render(
    provider: &ProviderKind,
    c: &Counters,
    o: &OutboxStats,
    appointments: usize,
) -> String {
    let mut out = String::new();
    let p = provider.name();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let results = [
        ("accepted", get(&c.webhooks_accepted)),
        ("duplicate", get(&c.webhooks_duplicate)),
        ("ignored", get(&c.webhooks_ignored)),
        ("invalid", get(&c.webhooks_invalid)),
        ("unauthorized", get(&c.webhooks_unauthorized)),
        ("unknown_tenant", get(&c.webhooks_unknown_tenant)),
    ];
    let labels: Vec<(String, u64)> = results
        .iter()
        .map(|(r, v)| (format!("{{provider=\"{p}\",result=\"{r}\"}}"), *v))
        .collect();
    let samples: Vec<(&str, u64)> = labels.iter().map(|(l, v)| (l.as_str(), *v)).collect();
    metric(
        "app_webhooks_total",
        "counter",
        "Webhook deliveries received, by result.",
        &samples,
    );
    let values = [
        get(&o.sent),
        get(&o.send_failures),
        get(&o.retries),
        get(&o.pending),
        get(&o.dead),
        get(&o.fallbacks),
        get(&c.bookings),
        get(&c.cancellations),
        appointments as u64,
    ];
    for ((name, kind, help), value) in SINGLE.into_iter().zip(values) {
        metric(name, kind, help, &[("", value)]);
    }
    metric(
        "app_media_downloads_total",
        "counter",
        "Customer media downloaded from the provider, by result.",
        &[
            ("{result=\"verified\"}", get(&c.media_verified)),
            ("{result=\"failed\"}", get(&c.media_failed)),
        ],
    );
    dependency_metrics(&mut out, c);
    out
}

/// The counters of the app's other dependencies (LLM, PMS, payments).
fn dependency_metrics(out: &mut String, c: &Counters) {
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(&str, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    metric(
        "app_dependency_calls_total",
        "counter",
        "Calls to the LLM and the PMS, by result.",
        &[
            (
                "{dependency=\"llm\",result=\"understood\"}",
                get(&c.llm_understood),
            ),
            (
                "{dependency=\"llm\",result=\"fallback\"}",
                get(&c.llm_fallback),
            ),
            (
                "{dependency=\"pms\",result=\"accepted\"}",
                get(&c.pms_accepted),
            ),
            ("{dependency=\"pms\",result=\"failed\"}", get(&c.pms_failed)),
        ],
    );
    metric(
        "app_payments_total",
        "counter",
        "Approved-payment notifications: confirmed to the customer, or duplicates.",
        &[
            ("{result=\"confirmed\"}", get(&c.payments_confirmed)),
            ("{result=\"duplicate\"}", get(&c.payments_duplicate)),
        ],
    );
}

/// Appends the process's memory and the instances' connection states to a page.
pub fn probe_metrics(out: &mut String, probes: &Probes) {
    if let Some(bytes) = probes.resident_bytes {
        let _ = writeln!(
            out,
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
             # TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {bytes}"
        );
    }
    if probes.instances.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "# HELP whatsapp_instance_connected 1 when the provider says the instance is connected (Evolution state `open`).\n\
         # TYPE whatsapp_instance_connected gauge"
    );
    for (name, open) in &probes.instances {
        let _ = writeln!(
            out,
            "whatsapp_instance_connected{{instance=\"{}\"}} {}",
            escape_label(name),
            u64::from(*open)
        );
    }
}

/// A label value as the exposition format writes it.
pub fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_format_has_help_type_and_labels() {
        let c = Counters::default();
        c.webhooks_accepted.fetch_add(3, Ordering::Relaxed);
        let o = OutboxStats::default();
        o.pending.fetch_add(2, Ordering::Relaxed);
        let probes = Probes {
            resident_bytes: resident_bytes(),
            instances: vec![("clinica-centro".into(), false), ("a\"b".into(), true)],
        };
        let mut text = render(&ProviderKind::Meta, &c, &o, 5);
        probe_metrics(&mut text, &probes);
        assert!(text.contains("whatsapp_instance_connected{instance=\"clinica-centro\"} 0\n"));
        assert!(text.contains("whatsapp_instance_connected{instance=\"a\\\"b\"} 1\n"));
        let memory = text
            .lines()
            .find(|l| l.starts_with("process_resident_memory_bytes "));
        let bytes: u64 = memory.unwrap().rsplit_once(' ').unwrap().1.parse().unwrap();
        assert!(bytes > 1 << 20, "{bytes}");
        assert!(text.contains("# TYPE app_webhooks_total counter\n"));
        assert!(text.contains("app_webhooks_total{provider=\"meta\",result=\"accepted\"} 3\n"));
        assert!(text.contains("app_replies_pending 2\n"));
        assert!(text.contains("app_appointments 5\n"));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
