//! Rate limits of the LLM simulator, with OpenAI's headers and 429.
//!
//! Why: the deployment plans call OpenAI from a WhatsApp bot, and a busy hour hits the
//! account's RPM/TPM; an app must back off on `retry-after`. A fixed window per simulator
//! (the limits are the account's, as OpenAI's are per organisation): `requests` (and, when set,
//! estimated `tokens`) per `window`. Every answer carries `x-ratelimit-limit-requests`,
//! `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests` (and the `-tokens` trio);
//! an exhausted window answers 429 with `retry-after` (whole seconds, rounded up) and
//! OpenAI's body, `code: rate_limit_exceeded`, `type: requests|tokens`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::rules::RateLimit;

/// Live counters of one window.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    state: Mutex<(Instant, u64, u64)>,
}

/// The outcome of one request against the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Headers every answer carries.
    pub headers: Vec<(&'static str, String)>,
    /// `Some((kind, retry_after))` when the request is refused.
    pub refused: Option<(&'static str, Duration)>,
    pub message: String,
}

/// OpenAI's reset format: `1s`, `6m0s`, `250ms`.
pub fn reset_format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs_f64();
    if s < 60.0 {
        let text = format!("{s:.3}");
        return format!("{}s", text.trim_end_matches('0').trim_end_matches('.'));
    }
    let whole = d.as_secs();
    format!("{}m{}s", whole / 60, whole % 60)
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            state: Mutex::new((Instant::now(), 0, 0)),
        }
    }

    /// Counts a request of `tokens` estimated tokens at `now` for `model`.
    pub fn check(&self, tokens: u64, model: &str, now: Instant) -> Verdict {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let window = self.limit.window.max(Duration::from_millis(1));
        if now.duration_since(s.0) >= window {
            *s = (now, 0, 0);
        }
        let reset = window.saturating_sub(now.duration_since(s.0));
        let token_limit = self.limit.tokens.unwrap_or(u64::MAX);
        let refused = if s.1 >= self.limit.requests {
            Some(("requests", s.1, self.limit.requests, 1))
        } else if s.2.saturating_add(tokens) > token_limit {
            Some(("tokens", s.2, token_limit, tokens))
        } else {
            None
        };
        if refused.is_none() {
            s.1 += 1;
            s.2 = s.2.saturating_add(tokens);
        }
        let mut headers = vec![
            (
                "x-ratelimit-limit-requests",
                self.limit.requests.to_string(),
            ),
            (
                "x-ratelimit-remaining-requests",
                self.limit.requests.saturating_sub(s.1).to_string(),
            ),
            ("x-ratelimit-reset-requests", reset_format(reset)),
        ];
        if let Some(t) = self.limit.tokens {
            headers.push(("x-ratelimit-limit-tokens", t.to_string()));
            headers.push((
                "x-ratelimit-remaining-tokens",
                t.saturating_sub(s.2).to_string(),
            ));
            headers.push(("x-ratelimit-reset-tokens", reset_format(reset)));
        }
        let Some((kind, used, limit, requested)) = refused else {
            return Verdict {
                headers,
                refused: None,
                message: String::new(),
            };
        };
        let secs = reset.as_secs_f64().ceil().max(1.0) as u64;
        headers.push(("retry-after", secs.to_string()));
        let per = if kind == "requests" {
            "requests per min (RPM)"
        } else {
            "tokens per min (TPM)"
        };
        let message = format!(
            "Rate limit reached for {model} in organization org-harness on {per}: Limit {limit}, Used {used}, Requested {requested}. Please try again in {}. Visit https://platform.openai.com/account/rate-limits to learn more.",
            reset_format(reset)
        );
        Verdict {
            headers,
            refused: Some((kind, Duration::from_secs(secs))),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_is_formatted_like_openai() {
        assert_eq!(reset_format(Duration::from_millis(250)), "250ms");
        assert_eq!(reset_format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(reset_format(Duration::from_secs(2)), "2s");
        assert_eq!(reset_format(Duration::from_secs(360)), "6m0s");
    }

    #[test]
    fn the_window_refuses_then_resets() {
        let l = Limiter::new(RateLimit {
            requests: 2,
            tokens: Some(100),
            window: Duration::from_secs(10),
        });
        let t0 = Instant::now();
        let v = l.check(10, "gpt-4", t0);
        assert!(v.refused.is_none());
        assert!(v
            .headers
            .contains(&("x-ratelimit-remaining-requests", "1".into())));
        assert!(v
            .headers
            .contains(&("x-ratelimit-remaining-tokens", "90".into())));
        // Too many tokens: refused on tokens, not counted.
        let v = l.check(95, "gpt-4", t0 + Duration::from_secs(1));
        assert_eq!(v.refused.unwrap().0, "tokens");
        assert!(l.check(10, "gpt-4", t0).refused.is_none());
        let v = l.check(1, "gpt-4", t0 + Duration::from_secs(3));
        let (kind, after) = v.refused.unwrap();
        assert_eq!((kind, after), ("requests", Duration::from_secs(7)));
        assert!(v.headers.contains(&("retry-after", "7".into())));
        assert!(
            v.message.contains("Limit 2, Used 2, Requested 1"),
            "{}",
            v.message
        );
        assert!(l
            .check(1, "gpt-4", t0 + Duration::from_secs(10))
            .refused
            .is_none());
    }
}
