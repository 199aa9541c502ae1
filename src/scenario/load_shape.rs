//! The grammar of load shapes, shared by the scenario's `load:` section and the command line:
//! arrival rates (`100`, `250/min`) and stages (`"30s:10, 1m:100, 30s:0"`). Part of the scenario
//! format, so the load engine depends on the format, never the other way round.

use std::time::Duration;

use super::threshold::parse_duration;

/// Why a `stages` value cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("invalid stage `{0}`: expected DURATION:RPS, e.g. `30s:10`")]
    Stage(String),
    #[error("invalid duration `{0}` in a stage: {1}")]
    Duration(String, String),
    #[error("invalid rate `{0}` in a stage: a number of iterations per second ≥ 0")]
    Rate(String),
    #[error("no stages given")]
    Empty,
}

/// Parses `"30s:10,1m:100,30s:0"` into `(duration, target rps)` pairs.
pub fn parse_stages(text: &str) -> Result<Vec<(Duration, f64)>, StageError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (d, r) = part
            .split_once(':')
            .ok_or_else(|| StageError::Stage(part.to_string()))?;
        let duration =
            parse_duration(d).map_err(|e| StageError::Duration(d.trim().to_string(), e))?;
        let rate: f64 = r
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| StageError::Rate(r.trim().to_string()))?;
        out.push((duration, rate));
    }
    if out.is_empty() {
        return Err(StageError::Empty);
    }
    Ok(out)
}

/// Parses an arrival rate: iterations per second (`100`, `2.5`), or per unit (`100/s`,
/// `250/min`, `250/m`, `3600/h`).
pub fn parse_arrival_rate(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (n, per) = match text.split_once('/') {
        None => (text, 1.0),
        Some((n, unit)) => match unit.trim() {
            "s" | "sec" | "second" => (n, 1.0),
            "m" | "min" | "minute" => (n, 60.0),
            "h" | "hour" => (n, 3600.0),
            other => return Err(format!("unknown rate unit `{other}`: use /s, /min or /h")),
        },
    };
    let value: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("invalid rate `{text}`: e.g. `100`, `250/min`"))?;
    if !(value > 0.0 && value.is_finite()) {
        return Err(format!("invalid rate `{text}`: it must be positive"));
    }
    Ok(value / per)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn stages_parse() {
        let pairs = parse_stages("30s:10, 1m:100,30s:0").unwrap();
        assert_eq!(pairs, vec![(s(30), 10.0), (s(60), 100.0), (s(30), 0.0)]);
    }

    #[test]
    fn bad_stages_say_what_is_wrong() {
        assert_eq!(
            parse_stages("30s"),
            Err(StageError::Stage("30s".to_string()))
        );
        assert_eq!(parse_stages("30s:-1"), Err(StageError::Rate("-1".into())));
        assert!(matches!(
            parse_stages("3 parsecs:1"),
            Err(StageError::Duration(..))
        ));
        assert_eq!(parse_stages(" , "), Err(StageError::Empty));
    }

    #[test]
    fn rates_take_units() {
        assert_eq!(parse_arrival_rate("100"), Ok(100.0));
        assert_eq!(parse_arrival_rate("300/min"), Ok(5.0));
        assert_eq!(parse_arrival_rate("7200/h"), Ok(2.0));
        assert_eq!(parse_arrival_rate(" 2.5/s "), Ok(2.5));
        assert!(parse_arrival_rate("0").is_err());
        assert!(parse_arrival_rate("5/fortnight")
            .unwrap_err()
            .contains("unit"));
    }
}
