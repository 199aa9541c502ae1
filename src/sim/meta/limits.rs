//! The Cloud API's sending limits, as pure rules over explicit instants.
//!
//! - Throughput: each business number sends 80 messages/s by default (Meta: up to 1,000 after
//!   an upgrade, 20 for coexistence numbers); above it the API answers 130429. Modelled as a
//!   token bucket holding one second of traffic.
//! - Pair rate: too many messages to the same user answer 131056. Meta does not publish the
//!   algorithm; the usual figure is one message per 6 s with bursts of about 45 tolerated, so
//!   the default is a bucket of 45 refilled at 1/6 per second (configurable).
//! - Customer-service window: free-form messages are allowed for 24 h after the user's last
//!   inbound message; outside it the API accepts the send and a `failed` status with 131047
//!   follows.
//!
//! Instants are `tokio::time::Instant` (the server follows `tokio::time::pause()`), passed in
//! explicitly so the rules are tested without a clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A rate: `per_second` sustained, `burst` at once. `per_second <= 0` disables the limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    /// The default throughput of a business number: 80 messages/s.
    pub const THROUGHPUT: Rate = Rate {
        per_second: 80.0,
        burst: 80.0,
    };
    /// The default pair rate: one message per 6 s, bursts of 45.
    pub const PAIR: Rate = Rate {
        per_second: 1.0 / 6.0,
        burst: 45.0,
    };

    /// No limit.
    pub const UNLIMITED: Rate = Rate {
        per_second: 0.0,
        burst: 0.0,
    };

    /// Whether the rate limits anything.
    pub fn is_limited(&self) -> bool {
        self.per_second > 0.0
    }
}

/// A token bucket. Starts full.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate` at `now`.
    pub fn full(rate: Rate, now: Instant) -> Self {
        TokenBucket {
            tokens: rate.burst.max(1.0),
            last: now,
        }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst.max(1.0));
        self.last = now;
    }

    /// Takes one token if there is one; `false` means the limit is hit.
    pub fn try_take(&mut self, rate: Rate, now: Instant) -> bool {
        if !rate.is_limited() {
            return true;
        }
        self.refill(rate, now);
        // Tolerance for the rounding of fractional refills (5 s + 1 s at 1/6 per second).
        if self.tokens >= 1.0 - 1e-9 {
            self.tokens = (self.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    /// Takes a token if available, never refusing (inbound messages count towards a number's
    /// throughput, but a customer's message is never rejected).
    pub fn take_if_available(&mut self, rate: Rate, now: Instant) {
        let _ = self.try_take(rate, now);
    }
}

/// Whether a free-form message sent at `now` is inside the customer-service window opened by
/// the customer's last inbound message (`None`: the customer never wrote).
pub fn in_service_window(last_inbound: Option<Instant>, now: Instant, window: Duration) -> bool {
    last_inbound.is_some_and(|t| now.saturating_duration_since(t) < window)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_bucket_allows_burst_then_refills() {
        let rate = Rate {
            per_second: 2.0,
            burst: 2.0,
        };
        let t0 = Instant::now();
        let mut b = TokenBucket::full(rate, t0);
        assert!(b.try_take(rate, t0));
        assert!(b.try_take(rate, t0));
        assert!(!b.try_take(rate, t0));
        // Half a second refills one token at 2/s.
        let t1 = t0 + Duration::from_millis(500);
        assert!(b.try_take(rate, t1));
        assert!(!b.try_take(rate, t1));
        // Never more than the burst.
        let t2 = t1 + Duration::from_secs(60);
        assert!(b.try_take(rate, t2));
        assert!(b.try_take(rate, t2));
        assert!(!b.try_take(rate, t2));
    }

    #[test]
    fn default_pair_rate_is_45_then_one_per_6s() {
        let rate = Rate::PAIR;
        let t0 = Instant::now();
        let mut b = TokenBucket::full(rate, t0);
        for _ in 0..45 {
            assert!(b.try_take(rate, t0));
        }
        assert!(!b.try_take(rate, t0));
        assert!(!b.try_take(rate, t0 + Duration::from_secs(5)));
        assert!(b.try_take(rate, t0 + Duration::from_secs(6)));
    }

    #[test]
    fn unlimited_never_refuses_and_inbound_never_fails() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(Rate::UNLIMITED, t0);
        for _ in 0..1000 {
            assert!(b.try_take(Rate::UNLIMITED, t0));
        }
        let rate = Rate {
            per_second: 1.0,
            burst: 1.0,
        };
        let mut b = TokenBucket::full(rate, t0);
        b.take_if_available(rate, t0);
        b.take_if_available(rate, t0);
        assert!(!b.try_take(rate, t0));
    }

    #[test]
    fn service_window() {
        let day = Duration::from_secs(24 * 3600);
        let t0 = Instant::now();
        assert!(!in_service_window(None, t0, day));
        assert!(in_service_window(
            Some(t0),
            t0 + Duration::from_secs(3600),
            day
        ));
        assert!(!in_service_window(Some(t0), t0 + day, day));
    }
}
