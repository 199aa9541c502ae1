//! `harness watch`'s alert rules (the scenario's `watch:` section and `--alert`), as people write them in a deployment plan:
//!
//! ```text
//! down for 2m                                   every run for 2 minutes failed
//! p95 > 5s for 5m                               each run's p95 above 5 s for 5 minutes
//! step "send text" p95 > 5s for 5m              the same, over one step's samples
//! e2e p95 > 5s for 5m                           over the end-to-end (await) samples
//! error_rate > 10% for 5m                       share of failed runs over the last 5 minutes
//! uptime < 99.9%                                share of passed runs since the watch began
//! metric NAME{label="v"} == 0 for 1m            a scraped Prometheus value, held for 1 minute
//! metric NAME grows > 10% per 5m                growth against the value 5 minutes earlier
//! p95 > 150% of baseline for 5m                 against a saved report's p95
//! ```
//!
//! The comparison part (`p95 > 5s`, `error_rate > 10%`) is the threshold grammar of scenario
//! files ([`parse_threshold`]), so one rule reads the same in both places.

use std::time::Duration;

pub use super::model::{Condition, Rule, Scope, Selector, Severity};
use super::model::{Metric, Series};
use super::threshold::{parse_comparison, parse_duration, parse_rate, parse_threshold};

/// Parses `[SEVERITY:] RULE` as given to `--alert`; the rule text is its name.
pub fn parse_flag(text: &str) -> Result<Rule, String> {
    let (severity, rest) = match text.split_once(':') {
        Some((head, rest)) if Severity::parse(head).is_some() => (Severity::parse(head), rest),
        _ => (None, text),
    };
    parse_rule(rest.trim(), rest, severity.unwrap_or_default())
}

/// Parses one rule; `name` names it in events and reports.
pub fn parse_rule(name: &str, expr: &str, severity: Severity) -> Result<Rule, String> {
    let expr = expr.trim();
    if expr.is_empty() {
        return Err("empty rule: write e.g. `down for 2m` or `p95 > 5s for 5m`".to_string());
    }
    let (body, hold) = split_hold(expr)?;
    let condition = parse_condition(body)?;
    if matches!(condition, Condition::Uptime { .. }) && !hold.is_zero() {
        return Err("`uptime` is over the whole watch: drop the `for …`".to_string());
    }
    Ok(Rule {
        name: name.trim().to_string(),
        severity,
        expr: expr.to_string(),
        condition,
        hold,
    })
}

/// Splits a trailing ` for DURATION` off.
fn split_hold(expr: &str) -> Result<(&str, Duration), String> {
    match expr.rfind(" for ") {
        Some(at) => {
            let d = parse_duration(&expr[at + 5..]).map_err(|e| format!("after `for`: {e}"))?;
            Ok((expr[..at].trim(), d))
        }
        None => Ok((expr, Duration::ZERO)),
    }
}

fn parse_condition(body: &str) -> Result<Condition, String> {
    if body == "down" {
        return Ok(Condition::Down);
    }
    if let Some(rest) = keyword(body, "metric") {
        return parse_metric(rest);
    }
    if let Some(rest) = keyword(body, "uptime") {
        let (comparison, value) = parse_comparison(rest)
            .map_err(|e| format!("{e} after `uptime`, e.g. `uptime < 99.9%`"))?;
        let ratio = parse_rate(value).map_err(|e| e.replace("error_rate", "uptime"))?;
        return Ok(Condition::Uptime { comparison, ratio });
    }
    let (scope, body) = parse_scope(body)?;
    if let Some(cond) = parse_baseline(&scope, body)? {
        return Ok(cond);
    }
    let (series, metric, comparison, value) = parse_threshold(body)?;
    match metric {
        Metric::ErrorRate if scope == Scope::Requests && series == Series::Latency => {
            Ok(Condition::ErrorRate {
                comparison,
                rate: value,
            })
        }
        Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::Max | Metric::Mean => {
            let scope = if series == Series::E2e { Scope::E2e } else { scope };
            Ok(Condition::Latency {
                scope,
                metric,
                comparison,
                limit_ms: value,
            })
        }
        _ => Err(format!(
            "a watch rule takes `down`, a latency (`p95 > 5s`), `error_rate`, `uptime` or `metric …`; `{body}` is not one"
        )),
    }
}

/// `step "NAME" rest` → (Step, rest); `e2e` stays with the threshold parser.
fn parse_scope(body: &str) -> Result<(Scope, &str), String> {
    let Some(rest) = keyword(body, "step") else {
        return Ok((Scope::Requests, body));
    };
    let rest = rest
        .strip_prefix('"')
        .ok_or("`step` takes the step's name in double quotes: `step \"send text\" p95 > 5s`")?;
    let end = rest
        .find('"')
        .ok_or("the step name's closing `\"` is missing")?;
    Ok((Scope::Step(rest[..end].to_string()), rest[end + 1..].trim()))
}

/// `p95 > 150% of baseline`.
fn parse_baseline(scope: &Scope, body: &str) -> Result<Option<Condition>, String> {
    let Some(head) = body.strip_suffix("of baseline") else {
        return Ok(None);
    };
    let head = head.trim();
    let (scope, head) = match keyword(head, "e2e") {
        Some(rest) => (Scope::E2e, rest),
        None => (scope.clone(), head),
    };
    let end = head
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(head.len());
    // The metric through the threshold grammar (a placeholder limit), so names match.
    let (_, metric, _, _) = parse_threshold(&format!("{} < 1ms", &head[..end]))?;
    let (comparison, value) = parse_comparison(&head[end..])?;
    let percent = value
        .strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n > 0.0)
        .ok_or_else(|| {
            format!("expected a percentage before `of baseline`, e.g. `150%`, found `{value}`")
        })?;
    Ok(Some(Condition::Baseline {
        scope,
        metric,
        comparison,
        ratio: percent / 100.0,
    }))
}

/// `NAME{labels} OP VALUE` or `NAME{labels} grows OP X% per D`.
fn parse_metric(rest: &str) -> Result<Condition, String> {
    let (selector, rest) = parse_selector(rest)?;
    if let Some(growth) = keyword(rest, "grows") {
        let (comparison, value) = parse_comparison(growth)?;
        let (amount, period) = value
            .split_once(" per ")
            .ok_or("`grows` takes `per DURATION`, e.g. `grows > 10% per 5m`")?;
        let ratio = parse_percent(amount.trim())?;
        let period = parse_duration(period)?;
        if period.is_zero() {
            return Err("`per` takes a duration above zero".to_string());
        }
        return Ok(Condition::Growth {
            selector,
            comparison,
            ratio,
            period,
        });
    }
    let (comparison, value) = parse_comparison(rest).map_err(|e| {
        format!(
            "{e} after `metric {}`, e.g. `== 0` or `grows > 10% per 5m`",
            selector.name
        )
    })?;
    let value = value
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`metric` compares with a number, found `{value}`"))?;
    Ok(Condition::Metric {
        selector,
        comparison,
        value,
    })
}

/// `10%` → 0.1 (any non-negative percentage, growth may exceed 100 %).
fn parse_percent(text: &str) -> Result<f64, String> {
    text.strip_suffix('%')
        .and_then(|n| n.trim().parse::<f64>().ok())
        .filter(|n| n.is_finite() && *n >= 0.0)
        .map(|n| n / 100.0)
        .ok_or_else(|| format!("expected a percentage such as `10%`, found `{text}`"))
}

fn parse_selector(text: &str) -> Result<(Selector, &str), String> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(text.len());
    let name = &text[..end];
    if name.is_empty() {
        return Err(
            "`metric` takes a Prometheus metric name, e.g. `metric process_resident_memory_bytes`"
                .to_string(),
        );
    }
    let mut selector = Selector {
        name: name.to_string(),
        labels: Vec::new(),
    };
    let rest = &text[end..];
    let Some(inner) = rest.strip_prefix('{') else {
        return Ok((selector, rest.trim()));
    };
    let close = inner
        .find('}')
        .ok_or("the label set's closing `}` is missing")?;
    for pair in inner[..close].split(',').filter(|p| !p.trim().is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| format!("expected `label=\"value\"`, found `{}`", pair.trim()))?;
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("label values are quoted: `{}=\"{v}\"`", k.trim()))?;
        selector.labels.push((k.trim().to_string(), v.to_string()));
    }
    Ok((selector, inner[close + 1..].trim()))
}

/// `word rest` → `rest` when `text` starts with the whole word.
fn keyword<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(word)?;
    rest.starts_with(char::is_whitespace)
        .then(|| rest.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::Comparison;

    fn rule(expr: &str) -> Rule {
        parse_rule(expr, expr, Severity::Warn).unwrap_or_else(|e| panic!("`{expr}`: {e}"))
    }

    #[test]
    fn every_form_of_the_issue_parses() {
        assert_eq!(rule("down for 2m").condition, Condition::Down);
        assert_eq!(rule("down for 2m").hold, Duration::from_secs(120));
        let r = rule("step \"send text\" p95 > 5s for 5m");
        assert_eq!(
            r.condition,
            Condition::Latency {
                scope: Scope::Step("send text".into()),
                metric: Metric::P95,
                comparison: Comparison::Gt,
                limit_ms: 5000.0
            }
        );
        let r = rule("e2e p95 > 5s for 5m");
        assert!(matches!(
            r.condition,
            Condition::Latency {
                scope: Scope::E2e,
                ..
            }
        ));
        assert_eq!(
            rule("error_rate > 10% for 5m").condition,
            Condition::ErrorRate {
                comparison: Comparison::Gt,
                rate: 0.1
            }
        );
        assert!(matches!(rule("uptime < 99.9%").condition,
            Condition::Uptime { comparison: Comparison::Lt, ratio } if (ratio - 0.999).abs() < 1e-9));
        let r = rule("metric whatsapp_instance_connected{instance=\"clinica-centro\"} == 0 for 1m");
        let Condition::Metric {
            selector,
            comparison,
            value,
        } = r.condition
        else {
            panic!("{r:?}")
        };
        assert_eq!(
            selector.labels,
            [("instance".into(), "clinica-centro".into())]
        );
        assert_eq!((comparison, value), (Comparison::Eq, 0.0));
        let r = rule("metric process_resident_memory_bytes grows > 10% per 5m");
        assert!(
            matches!(r.condition, Condition::Growth { ratio, period, .. }
            if (ratio - 0.1).abs() < 1e-9 && period == Duration::from_secs(300))
        );
        let r = rule("p95 > 150% of baseline for 5m");
        assert!(
            matches!(r.condition, Condition::Baseline { ratio, metric: Metric::P95, .. }
            if (ratio - 1.5).abs() < 1e-9)
        );
    }

    #[test]
    fn the_flag_takes_an_optional_severity() {
        let r = parse_flag("rollback: error_rate > 5% for 1m").unwrap();
        assert_eq!(
            (r.severity, r.name.as_str()),
            (Severity::Rollback, "error_rate > 5% for 1m")
        );
        assert_eq!(parse_flag("down for 20s").unwrap().severity, Severity::Warn);
    }

    #[test]
    fn mistakes_say_what_to_write() {
        let err = |e: &str| parse_rule(e, e, Severity::Warn).unwrap_err();
        assert!(
            err("p96 > 5s").contains("unknown metric `p96`"),
            "{}",
            err("p96 > 5s")
        );
        assert!(err("down for soon").contains("after `for`"));
        assert!(err("uptime < 99% for 5m").contains("whole watch"));
        assert!(err("metric x grows > 10%").contains("per DURATION"));
        assert!(err("step send p95 > 1s").contains("double quotes"));
        assert!(err("count > 3").contains("not one"));
        assert!(err("").contains("empty rule"));
    }
}
