//! Serde for durations in configuration and fault profiles: a number of milliseconds, or a
//! humantime string (`"1.5s"`, `"250ms"`); serialised as a humantime string.

use std::time::Duration;

use serde::{de, Deserialize, Deserializer, Serializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Ms(f64),
    Text(String),
}

/// The scenario format's duration grammar (one parser for every duration the harness reads).
pub fn parse(raw: &str) -> Result<Duration, String> {
    crate::scenario::threshold::parse_duration(raw)
        .map_err(|e| format!("bad duration {raw:?}: {e}"))
}

pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    match Raw::deserialize(d)? {
        Raw::Ms(ms) if ms.is_finite() && ms >= 0.0 => Ok(Duration::from_secs_f64(ms / 1000.0)),
        Raw::Ms(ms) => Err(de::Error::custom(format!("bad duration {ms}"))),
        Raw::Text(t) => parse(&t).map_err(de::Error::custom),
    }
}

/// The same for `Option<Duration>` (absent or null is `None`).
pub mod opt {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        super::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
    struct T {
        #[serde(with = "super")]
        d: Duration,
        #[serde(default, with = "super::opt")]
        o: Option<Duration>,
    }

    #[test]
    fn numbers_are_milliseconds_and_strings_humantime() {
        let t: T = serde_json::from_str(r#"{"d": 1500, "o": "2m"}"#).unwrap();
        assert_eq!(t.d, Duration::from_millis(1500));
        assert_eq!(t.o, Some(Duration::from_secs(120)));
        let back = serde_json::to_string(&t).unwrap();
        assert_eq!(back, r#"{"d":"1s 500ms","o":"2m"}"#);
        assert!(serde_json::from_str::<T>(r#"{"d": -1}"#).is_err());
        assert!(serde_json::from_str::<T>(r#"{"d": "soon"}"#).is_err());
        assert_eq!(serde_json::from_str::<T>(r#"{"d": 0}"#).unwrap().o, None);
    }
}
