//! Fault kinds of the dependency simulators, in the same [`FaultProfile`] format: a slow first
//! token and a truncated stream (the LLM simulator's server-sent events) and duplicate webhook
//! deliveries (the payments simulator's notifications).
//!
//! Why here and not in a second format: one profile file, one `POST /__harness/faults`, one
//! history in the report, whatever the simulator. The middleware ([`super::apply`]) ignores
//! these kinds (they are not about whether a request is answered but about how a stream or a
//! notification behaves); the handlers that stream or notify ask [`FaultProfile::stream_faults`]
//! and [`FaultProfile::duplicates`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{FaultProfile, RequestInfo, MAX_LATENCY};

/// Cut a share of the streams after some chunks: the connection ends without `data: [DONE]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TruncateStream {
    /// Probability (0..1).
    #[serde(deserialize_with = "super::probability")]
    pub rate: f64,
    /// Chunks sent before the cut (the role chunk counts as one).
    #[serde(default = "default_after_chunks")]
    pub after_chunks: usize,
}

fn default_after_chunks() -> usize {
    2
}

/// Deliver a share of the notifications more than once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duplicate {
    /// Probability (0..1).
    #[serde(deserialize_with = "super::probability")]
    pub rate: f64,
    /// Extra copies (default 1: the notification arrives twice).
    #[serde(default = "default_copies")]
    pub copies: u32,
}

fn default_copies() -> u32 {
    1
}

/// How one streamed reply misbehaves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamFaults {
    /// Wait before the first chunk.
    pub first_token_delay: Duration,
    /// Chunks sent before the connection is cut, if it is.
    pub truncate_after: Option<usize>,
}

impl FaultProfile {
    /// The stream faults of the rules matching `req`, for uniform draws `latency` (the delay)
    /// and `cut` (the truncation): delays add up, the first truncation drawn applies.
    pub fn stream_faults(
        &self,
        req: &RequestInfo<'_>,
        latency: [f64; 2],
        cut: f64,
    ) -> StreamFaults {
        let mut out = StreamFaults::default();
        for rule in self.rules.iter().filter(|r| r.matches(req)) {
            if let Some(l) = &rule.first_token_delay {
                out.first_token_delay =
                    (out.first_token_delay + l.sample(latency)).min(MAX_LATENCY);
            }
            if out.truncate_after.is_none() {
                out.truncate_after = rule
                    .truncate_stream
                    .as_ref()
                    .filter(|t| cut < t.rate)
                    .map(|t| t.after_chunks);
            }
        }
        out
    }

    /// Extra copies of a notification (0 = delivered once), for a uniform draw.
    pub fn duplicates(&self, req: &RequestInfo<'_>, draw: f64) -> u32 {
        self.rules
            .iter()
            .filter(|r| r.matches(req))
            .filter_map(|r| r.duplicate.as_ref())
            .find(|d| draw < d.rate)
            .map_or(0, |d| d.copies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str) -> RequestInfo<'_> {
        RequestInfo {
            method: "POST",
            path,
            tenant: None,
        }
    }

    #[test]
    fn stream_faults_parse_in_the_one_profile_format_and_apply_by_endpoint() {
        let p = FaultProfile::parse(
            "rules:\n  - endpoint: /v1/chat/completions\n    first_token_delay: {kind: fixed, delay: 300ms}\n    truncate_stream: {rate: 0.5, after_chunks: 3}\n  - endpoint: /v1/*\n    first_token_delay: {kind: fixed, delay: 100ms}\n",
        )
        .unwrap();
        let f = p.stream_faults(&req("/v1/chat/completions"), [0.0, 0.0], 0.2);
        assert_eq!(f.first_token_delay, Duration::from_millis(400));
        assert_eq!(f.truncate_after, Some(3));
        let f = p.stream_faults(&req("/v1/chat/completions"), [0.0, 0.0], 0.7);
        assert_eq!(f.truncate_after, None, "a draw above the rate is not cut");
        let f = p.stream_faults(&req("/v1/embeddings"), [0.0, 0.0], 0.0);
        assert_eq!(f.first_token_delay, Duration::from_millis(100));
        assert_eq!(f.truncate_after, None);
        assert!(FaultProfile::parse("rules:\n  - truncate_stream: {rate: 1, oops: 2}\n").is_err());
    }

    #[test]
    fn duplicates_follow_the_rate_and_default_to_one_copy() {
        let p =
            FaultProfile::parse("rules:\n  - endpoint: /webhook*\n    duplicate: {rate: 0.5}\n")
                .unwrap();
        assert_eq!(p.duplicates(&req("/webhook/mp"), 0.1), 1);
        assert_eq!(p.duplicates(&req("/webhook/mp"), 0.9), 0);
        assert_eq!(p.duplicates(&req("/other"), 0.1), 0);
    }
}
