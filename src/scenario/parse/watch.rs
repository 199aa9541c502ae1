//! `watch:` — what `harness watch` uses without flags: the schedule and the alert rules.
//!
//! ```yaml
//! watch:
//!   every: 30s
//!   alerts:
//!     - name: evolution down
//!       rule: down for 2m
//!       severity: rollback
//!     - "warn: e2e p95 > 5s for 5m"      # shorthand, named by its rule
//! ```

use saphyr::{Scalar, YamlData};

use super::node::{optional, untag, Ctx, Entry, Node};
use crate::scenario::model::WatchSpec;
use crate::scenario::watch_rule::{parse_flag, parse_rule, Rule, Severity};

const WATCH_KEYS: &[&str] = &["every", "alerts", "metrics"];
const ALERT_KEYS: &[&str] = &["name", "rule", "severity"];
const RULE_HINT: &str =
    "rules read e.g. `down for 2m`, `p95 > 5s for 5m`, `error_rate > 10% for 5m`, `uptime < 99.9%` (docs/watch.md)";

pub(super) fn watch(ctx: &mut Ctx, entry: &Entry) -> Option<WatchSpec> {
    let fields = ctx.fields(entry.value, "`watch`", WATCH_KEYS)?;
    let every = fields.get("every").map(|e| ctx.duration(e));
    let alerts = fields.get("alerts").map(|e| alerts(ctx, e));
    let metrics = fields.get("metrics").map(|e| metrics(ctx, e));
    Some(WatchSpec {
        every: optional(every)?,
        alerts: optional(alerts)?.unwrap_or_default(),
        metrics: optional(metrics)?.unwrap_or_default(),
    })
}

fn alerts(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<Rule>> {
    let YamlData::Sequence(items) = &untag(entry.value).data else {
        let message = format!(
            "expected a list for `alerts`, found {}",
            super::node::describe(entry.value)
        );
        ctx.error(entry.value_node(), message, Some(RULE_HINT.to_string()));
        return None;
    };
    let parsed: Vec<Option<Rule>> = items.iter().map(|item| alert(ctx, item)).collect();
    parsed.into_iter().collect()
}

/// `metrics: ["{{ app.url }}/metrics"]`: URLs (templates) of Prometheus pages.
fn metrics(ctx: &mut Ctx, entry: &Entry) -> Option<Vec<String>> {
    let YamlData::Sequence(items) = &untag(entry.value).data else {
        let hint = Some("e.g. `metrics: [\"{{ app.url }}/metrics\"]`".to_string());
        ctx.mismatch(entry, "a list of URLs", hint);
        return None;
    };
    let urls: Vec<Option<String>> = items
        .iter()
        .map(|item| match &untag(item).data {
            YamlData::Value(Scalar::String(url)) if !url.trim().is_empty() => Some(url.to_string()),
            _ => {
                let found = super::node::describe(item);
                ctx.error(
                    item,
                    format!("expected a URL (a string), found {found}"),
                    None,
                );
                None
            }
        })
        .collect();
    urls.into_iter().collect()
}

/// One alert: a string (`[SEVERITY:] RULE`) or `{name, rule, severity}`.
fn alert(ctx: &mut Ctx, item: &Node) -> Option<Rule> {
    if let YamlData::Value(Scalar::String(text)) = &untag(item).data {
        return parse_flag(text)
            .map_err(|e| ctx.error(item, e, Some(RULE_HINT.to_string())))
            .ok();
    }
    let fields = ctx.fields(item, "an alert", ALERT_KEYS)?;
    let rule = ctx
        .required(&fields, "rule", item, "an alert")
        .and_then(|e| ctx.non_empty_string(e).map(|text| (text, e.value)));
    let name = fields.get("name").map(|e| ctx.non_empty_string(e));
    let severity = fields.get("severity").map(|e| severity(ctx, e));
    let (text, node) = rule?;
    let name = optional(name)?.unwrap_or_else(|| text.clone());
    let severity = optional(severity)?.unwrap_or_default();
    parse_rule(&name, &text, severity)
        .map_err(|e| ctx.error(node, e, Some(RULE_HINT.to_string())))
        .ok()
}

fn severity(ctx: &mut Ctx, entry: &Entry) -> Option<Severity> {
    let text = ctx.string(entry)?;
    let severity = Severity::parse(&text);
    if severity.is_none() {
        let hint = Some("`warn` (reported) or `rollback` (ends the watch, exit 1)".to_string());
        ctx.error(
            entry.value_node(),
            format!("unknown severity `{text}`"),
            hint,
        );
    }
    severity
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse;
    use crate::scenario::watch_rule::Severity;

    const HEAD: &str = "name: w\nsteps:\n  - name: up\n    http: {url: \"http://127.0.0.1:9/\"}\n";

    #[test]
    fn alerts_in_both_forms() {
        let text = format!(
            "{HEAD}watch:\n  every: 10s\n  metrics: [\"{{{{ app.url }}}}/metrics\"]\n  alerts:\n    - name: api down\n      rule: down for 2m\n      severity: rollback\n    - \"e2e p95 > 5s for 5m\"\n"
        );
        let s = parse(std::path::Path::new("w.yaml"), &text).unwrap();
        let w = s.watch.unwrap();
        assert_eq!(w.every, Some(std::time::Duration::from_secs(10)));
        assert_eq!(w.alerts[0].name, "api down");
        assert_eq!(w.alerts[0].severity, Severity::Rollback);
        assert_eq!(w.alerts[1].name, "e2e p95 > 5s for 5m");
        assert_eq!(w.metrics, ["{{ app.url }}/metrics"]);
    }

    #[test]
    fn a_bad_rule_points_at_its_line() {
        let text = format!("{HEAD}watch:\n  alerts:\n    - rule: p96 > 5s for 5m\n    - severity: panic\n      rule: down\n");
        let err = parse(std::path::Path::new("w.yaml"), &text).unwrap_err();
        let shown = err.render(&text, false);
        assert!(
            shown.contains("w.yaml:7:13") && shown.contains("unknown metric `p96`"),
            "{shown}"
        );
        assert!(
            shown.contains("w.yaml:8:17") && shown.contains("unknown severity `panic`"),
            "{shown}"
        );
    }
}
