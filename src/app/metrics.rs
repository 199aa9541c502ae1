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
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

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
    metric(
        "app_replies_sent_total",
        "counter",
        "Replies accepted by the provider.",
        &[("", get(&o.sent))],
    );
    metric(
        "app_provider_failures_total",
        "counter",
        "Failed sends to the provider (each attempt).",
        &[("", get(&o.send_failures))],
    );
    metric(
        "app_provider_retries_total",
        "counter",
        "Sends retried after a transient failure.",
        &[("", get(&o.retries))],
    );
    metric(
        "app_replies_pending",
        "gauge",
        "Replies kept for redelivery while the provider is unavailable.",
        &[("", get(&o.pending))],
    );
    metric(
        "app_replies_dead_total",
        "counter",
        "Replies the provider refused permanently.",
        &[("", get(&o.dead))],
    );
    metric(
        "app_bookings_total",
        "counter",
        "Appointments booked.",
        &[("", get(&c.bookings))],
    );
    metric(
        "app_cancellations_total",
        "counter",
        "Appointments cancelled.",
        &[("", get(&c.cancellations))],
    );
    metric(
        "app_appointments",
        "gauge",
        "Appointments currently booked.",
        &[("", appointments as u64)],
    );
    out
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
        let text = render(&ProviderKind::Meta, &c, &o, 5);
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
