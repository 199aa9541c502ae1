//! Threshold expressions (`p95 < 500ms`, `error_rate < 1%`, `e2e p99 <= 5s`, `count >= 100`)
//! and the small value grammars they share with checks: comparison operators and durations.
//!
//! Why hand-written rather than a parser generator: the grammar is three tokens
//! (`[e2e] metric op value`), and a hand-written parser gives each mistake its own message
//! ("unknown metric `p96`: expected one of …"), which is what a CI user needs to fix a file.

use std::time::Duration;

use super::model::{Comparison, Metric, Series};

/// Every metric name a threshold may use, in the order error messages list them.
pub const METRIC_NAMES: &[(&str, Metric)] = &[
    ("p50", Metric::P50),
    ("p90", Metric::P90),
    ("p95", Metric::P95),
    ("p99", Metric::P99),
    ("max", Metric::Max),
    ("mean", Metric::Mean),
    ("error_rate", Metric::ErrorRate),
    ("count", Metric::Count),
    ("rps", Metric::Rps),
    ("dropped_rate", Metric::DroppedRate),
];

/// Parses `[e2e] <metric> <op> <value>`.
///
/// Latency metrics (`p50` … `mean`) take a duration with a unit (`500ms`, `2s`, `1m`, `250us`,
/// `1.5s`) and yield milliseconds; `error_rate` takes a percentage (`1%` → 0.01) or a ratio
/// (`0.01`); `count` takes a whole number and `rps` a number. Operators: `<`, `<=`, `>`, `>=`.
pub fn parse_threshold(expr: &str) -> Result<(Series, Metric, Comparison, f64), String> {
    let text = expr.trim();
    let (series, text) = match text.strip_prefix("e2e") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (Series::E2e, rest.trim_start()),
        _ => (Series::Latency, text),
    };
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    if name.is_empty() {
        return Err(format!(
            "expected a metric at the start of `{}`: one of {}",
            expr.trim(),
            metric_list()
        ));
    }
    let metric = METRIC_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, m)| *m)
        .ok_or_else(|| format!("unknown metric `{name}`: expected one of {}", metric_list()))?;
    if metric == Metric::DroppedRate && series == Series::E2e {
        return Err(
            "`dropped_rate` is about the load's arrivals, not end to end: write `dropped_rate < 1%`"
                .to_string(),
        );
    }
    let (comparison, value) = parse_comparison(&text[name_end..])
        .map_err(|e| format!("{e} after `{name}`, e.g. `{name} < {}`", example(metric)))?;
    if comparison == Comparison::Eq {
        return Err(format!(
            "`==` is not allowed in a threshold: use `<`, `<=`, `>` or `>=` after `{name}`"
        ));
    }
    let value = parse_value(metric, value)?;
    Ok((series, metric, comparison, value))
}

/// Splits a leading comparison operator (`<`, `<=`, `>`, `>=`, `==`) off `text`; returns it
/// with the rest, trimmed. The caller decides whether `==` makes sense where it is used.
pub fn parse_comparison(text: &str) -> Result<(Comparison, &str), String> {
    let text = text.trim_start();
    let (comparison, rest) = if let Some(rest) = text.strip_prefix("<=") {
        (Comparison::Le, rest)
    } else if let Some(rest) = text.strip_prefix(">=") {
        (Comparison::Ge, rest)
    } else if let Some(rest) = text.strip_prefix("==") {
        (Comparison::Eq, rest)
    } else if let Some(rest) = text.strip_prefix('<') {
        (Comparison::Lt, rest)
    } else if let Some(rest) = text.strip_prefix('>') {
        (Comparison::Gt, rest)
    } else if text.is_empty() {
        return Err("missing comparison operator (`<`, `<=`, `>`, `>=`)".to_string());
    } else {
        return Err(format!(
            "expected a comparison operator (`<`, `<=`, `>`, `>=`), found `{text}`"
        ));
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(format!("missing value after `{}`", symbol(comparison)));
    }
    Ok((comparison, rest))
}

/// Parses a duration with a unit: anything humantime accepts (`500ms`, `2s`, `1m`, `1m 30s`,
/// `1.5s`, `250us`, `250µs`), plus the Greek-letter spelling `250μs`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    // humantime knows the micro sign (U+00B5) but not the Greek small mu (U+03BC), which is
    // what many keyboards produce.
    let normalized = text.replace('\u{3bc}', "\u{b5}");
    humantime::parse_duration(&normalized).map_err(|e| {
        if text.is_empty() {
            "missing duration: write e.g. `500ms`, `2s` or `1m`".to_string()
        } else {
            format!("invalid duration `{text}`: {e}")
        }
    })
}

/// [`parse_duration`] in milliseconds, the unit the model stores latency limits in.
pub fn parse_duration_ms(text: &str) -> Result<f64, String> {
    parse_duration(text).map(|d| d.as_secs_f64() * 1000.0)
}

/// The operator as written in a scenario file.
pub fn symbol(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Lt => "<",
        Comparison::Le => "<=",
        Comparison::Gt => ">",
        Comparison::Ge => ">=",
        Comparison::Eq => "==",
    }
}

fn parse_value(metric: Metric, text: &str) -> Result<f64, String> {
    match metric {
        Metric::P50 | Metric::P90 | Metric::P95 | Metric::P99 | Metric::Max | Metric::Mean => {
            parse_duration_ms(text)
        }
        Metric::ErrorRate | Metric::DroppedRate => parse_rate(text),
        Metric::Count => {
            let n = parse_number(text, "count")?;
            if n.fract() != 0.0 {
                return Err(format!("`count` takes a whole number, found `{text}`"));
            }
            Ok(n)
        }
        Metric::Rps => parse_number(text, "rps"),
    }
}

/// `1%` → 0.01, `0.5 %` → 0.005, `0.01` → 0.01; must lie in 0..=1 (0 %..=100 %).
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(number) => (number.trim_end(), 100.0),
        None => (text, 1.0),
    };
    let ratio = parse_number(number, "error_rate")? / scale;
    if ratio > 1.0 {
        return Err(format!(
            "`error_rate` must be between 0% and 100% (or a ratio between 0 and 1), found `{text}`"
        ));
    }
    Ok(ratio)
}

/// A finite, non-negative number.
fn parse_number(text: &str, metric: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!(
            "`{metric}` takes a non-negative number, found `{text}`"
        )),
    }
}

fn metric_list() -> String {
    METRIC_NAMES
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(", ")
}

fn example(metric: Metric) -> &'static str {
    match metric {
        Metric::ErrorRate => "1%",
        Metric::Count | Metric::Rps => "100",
        _ => "500ms",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(expr: &str) -> (Series, Metric, Comparison, f64) {
        parse_threshold(expr).unwrap_or_else(|e| panic!("`{expr}`: {e}"))
    }

    #[test]
    fn latency_metrics_in_any_unit_become_milliseconds() {
        use Comparison::*;
        use Metric::*;
        let l = Series::Latency;
        assert_eq!(ok("p50 < 500ms"), (l, P50, Lt, 500.0));
        assert_eq!(ok("p90 <= 2s"), (l, P90, Le, 2000.0));
        assert_eq!(ok("p95 > 1m"), (l, P95, Gt, 60_000.0));
        assert_eq!(ok("p99 >= 250us"), (l, P99, Ge, 0.25));
        assert_eq!(ok("max < 250µs"), (l, Max, Lt, 0.25));
        assert_eq!(ok("max < 250μs"), (l, Max, Lt, 0.25));
        assert_eq!(ok("mean < 1.5s"), (l, Mean, Lt, 1500.0));
        assert_eq!(ok("p95<500 ms"), (l, P95, Lt, 500.0));
        assert_eq!(ok("  p95   <   1m 30s "), (l, P95, Lt, 90_000.0));
        assert_eq!(ok("p95 < 1us"), (l, P95, Lt, 0.001));
    }

    #[test]
    fn e2e_prefix_selects_the_end_to_end_series() {
        assert_eq!(
            ok("e2e p95 < 5s"),
            (Series::E2e, Metric::P95, Comparison::Lt, 5000.0)
        );
        // `e2e` must be a separate word.
        assert!(parse_threshold("e2ep95 < 5s").is_err());
    }

    #[test]
    fn error_rate_takes_a_percentage_or_a_ratio() {
        let (_, m, c, v) = ok("error_rate < 1%");
        assert_eq!((m, c), (Metric::ErrorRate, Comparison::Lt));
        assert!((v - 0.01).abs() < 1e-12);
        assert_eq!(ok("error_rate <= 0.01").3, 0.01);
        assert_eq!(ok("error_rate < 0 %").3, 0.0);
        assert_eq!(ok("error_rate < 100%").3, 1.0);
        assert_eq!(
            parse_threshold("error_rate < 150%").unwrap_err(),
            "`error_rate` must be between 0% and 100% (or a ratio between 0 and 1), found `150%`"
        );
    }

    #[test]
    fn count_and_rps_take_plain_numbers() {
        assert_eq!(
            ok("count >= 100"),
            (Series::Latency, Metric::Count, Comparison::Ge, 100.0)
        );
        assert_eq!(
            ok("rps > 12.5"),
            (Series::Latency, Metric::Rps, Comparison::Gt, 12.5)
        );
        assert_eq!(
            parse_threshold("count >= 1.5").unwrap_err(),
            "`count` takes a whole number, found `1.5`"
        );
        assert_eq!(
            parse_threshold("rps > -1").unwrap_err(),
            "`rps` takes a non-negative number, found `-1`"
        );
    }

    #[test]
    fn dropped_rate_is_a_rate_of_the_load_not_end_to_end() {
        let (series, metric, _, v) = parse_threshold("dropped_rate < 5%").unwrap();
        assert_eq!(
            (series, metric, v),
            (Series::Latency, Metric::DroppedRate, 0.05)
        );
        assert!(parse_threshold("e2e dropped_rate < 5%")
            .unwrap_err()
            .contains("not end to end"));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert_eq!(
            parse_threshold("p96 < 5s").unwrap_err(),
            "unknown metric `p96`: expected one of p50, p90, p95, p99, max, mean, error_rate, \
             count, rps, dropped_rate"
        );
        assert_eq!(
            parse_threshold("< 5s").unwrap_err(),
            "expected a metric at the start of `< 5s`: one of p50, p90, p95, p99, max, mean, \
             error_rate, count, rps, dropped_rate"
        );
        assert_eq!(
            parse_threshold("p95 = 5s").unwrap_err(),
            "expected a comparison operator (`<`, `<=`, `>`, `>=`), found `= 5s` after `p95`, \
             e.g. `p95 < 500ms`"
        );
        assert_eq!(
            parse_threshold("error_rate").unwrap_err(),
            "missing comparison operator (`<`, `<=`, `>`, `>=`) after `error_rate`, \
             e.g. `error_rate < 1%`"
        );
        assert_eq!(
            parse_threshold("p95 <").unwrap_err(),
            "missing value after `<` after `p95`, e.g. `p95 < 500ms`"
        );
        assert_eq!(
            parse_threshold("p95 < 500").unwrap_err(),
            "invalid duration `500`: time unit needed, for example 500sec or 500ms"
        );
        assert_eq!(
            parse_threshold("p95 == 5s").unwrap_err(),
            "`==` is not allowed in a threshold: use `<`, `<=`, `>` or `>=` after `p95`"
        );
        assert!(parse_threshold("p95 < 5 parsecs")
            .unwrap_err()
            .starts_with("invalid duration `5 parsecs`: unknown time unit"));
    }

    #[test]
    fn comparison_splits_operator_and_value() {
        assert_eq!(parse_comparison(">= 1"), Ok((Comparison::Ge, "1")));
        assert_eq!(parse_comparison("==3"), Ok((Comparison::Eq, "3")));
        assert_eq!(parse_comparison(" < 5s "), Ok((Comparison::Lt, "5s")));
        assert!(parse_comparison("3").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration_ms("10us"), Ok(0.01));
        assert_eq!(
            parse_duration(""),
            Err("missing duration: write e.g. `500ms`, `2s` or `1m`".to_string())
        );
    }
}
