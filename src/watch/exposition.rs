//! A Prometheus `/metrics` page (text exposition format 0.0.4) → the samples `metric` rules
//! read. Counters, gauges and untyped samples; histograms and summaries are left out (a rule
//! names a plain series).

use super::eval::Sample;

/// Parses an exposition page; a page that is not one is an error with the parser's reason.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).map_err(|e| e.to_string())?;
    let samples = scrape
        .samples
        .into_iter()
        .filter_map(|s| {
            let value = match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => return None,
            };
            let mut labels: Vec<(String, String)> = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            labels.sort();
            Some(Sample {
                name: s.metric,
                labels,
                value,
            })
        })
        .collect();
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_and_counters_with_their_labels() {
        let page = "# HELP process_resident_memory_bytes Resident memory.\n\
                    # TYPE process_resident_memory_bytes gauge\n\
                    process_resident_memory_bytes 1.5e+07\n\
                    # TYPE whatsapp_instance_connected gauge\n\
                    whatsapp_instance_connected{instance=\"clinica-centro\"} 0\n\
                    whatsapp_instance_connected{instance=\"other\"} 1\n\
                    # TYPE app_webhooks_total counter\n\
                    app_webhooks_total{provider=\"evolution\",result=\"accepted\"} 12\n";
        let samples = parse(page).unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[0].name, "process_resident_memory_bytes");
        assert_eq!(samples[0].value, 15e6);
        let centro = &samples[1];
        assert_eq!(
            centro.labels,
            [("instance".to_string(), "clinica-centro".to_string())]
        );
        assert_eq!(centro.value, 0.0);
        assert_eq!(samples[3].labels.len(), 2);
    }
}
