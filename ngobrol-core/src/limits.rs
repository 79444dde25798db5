//! Rate limits: a token bucket per key (a username).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::clock::Clock;

/// A token bucket's shape: up to `burst` requests at once, refilled at
/// `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// The most requests at once: the bucket's size, and what a new key
    /// starts with.
    pub burst: u32,
    /// How many tokens come back each second; infinite for no limit.
    pub per_second: f64,
}

impl RateLimit {
    /// No effective limit.
    pub const UNLIMITED: RateLimit = RateLimit {
        burst: u32::MAX,
        per_second: f64::INFINITY,
    };
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by key. Memory stays bounded: when the table grows past
/// `MAX_KEYS`, buckets that have refilled completely (keys idle long
/// enough to be indistinguishable from new ones) are dropped.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
    clock: Clock,
}

const MAX_KEYS: usize = 100_000;

/// The longest wait a refusal names: a limit that never refills.
const NEVER: Duration = Duration::from_secs(24 * 3600);

impl RateLimiter {
    /// A limiter that goes by the system's clock.
    pub fn new(limit: RateLimit) -> Self {
        Self::with_clock(limit, Clock::system())
    }

    /// A limiter that goes by `clock`.
    pub fn with_clock(limit: RateLimit, clock: Clock) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn refilled(&self, bucket: Bucket, now: Instant) -> f64 {
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst))
    }

    /// How long until `key` may act, or zero if it may now.
    fn wait_for(&self, tokens: f64) -> Duration {
        if tokens >= 1.0 {
            Duration::ZERO
        } else {
            // A limit that never refills (`per_second` 0) says a day.
            Duration::try_from_secs_f64((1.0 - tokens) / self.limit.per_second)
                .map_or(NEVER, |wait| wait.min(NEVER))
        }
    }

    /// Takes one token for `key`, or says how long to wait for one.
    pub fn acquire(&self, key: &str) -> Result<(), Duration> {
        self.update(key, true)
    }

    /// Whether `key` has a token, without taking it.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.update(key, false)
    }

    /// Gives back a token taken with [`acquire`](Self::acquire) for an
    /// attempt that turned out to be no failure (a login that succeeded).
    pub fn refund(&self, key: &str) {
        if self.limit.per_second.is_infinite() {
            return;
        }
        let now = self.clock.instant();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bucket) = buckets.get(key).copied() {
            let tokens = (self.refilled(bucket, now) + 1.0).min(f64::from(self.limit.burst));
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens,
                    updated: now,
                },
            );
        }
    }

    fn update(&self, key: &str, take: bool) -> Result<(), Duration> {
        if self.limit.per_second.is_infinite() {
            return Ok(());
        }
        let now = self.clock.instant();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let full = f64::from(self.limit.burst);
            buckets.retain(|_, b| self.refilled(*b, now) < full);
        }
        let tokens = match buckets.get(key) {
            Some(bucket) => self.refilled(*bucket, now),
            None => f64::from(self.limit.burst),
        };
        if tokens < 1.0 {
            return Err(self.wait_for(tokens));
        }
        if take {
            buckets.insert(
                key.to_owned(),
                Bucket {
                    tokens: tokens - 1.0,
                    updated: now,
                },
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refund_gives_the_token_back_and_refusals_cost_nothing() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 2,
            per_second: 0.001,
        });
        assert!(limiter.acquire("ana").is_ok());
        limiter.refund("ana");
        assert!(limiter.acquire("ana").is_ok());
        assert!(limiter.acquire("ana").is_ok());
        // Refused attempts take nothing: the wait does not grow.
        let first = limiter.acquire("ana").unwrap_err();
        for _ in 0..100 {
            let again = limiter.acquire("ana").unwrap_err();
            assert!(again <= first, "{again:?} > {first:?}");
        }
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 1.0,
        });
        for _ in 0..3 {
            assert!(limiter.acquire("ana").is_ok());
        }
        let wait = limiter.acquire("ana").unwrap_err();
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        // Other keys have their own buckets.
        assert!(limiter.acquire("budi").is_ok());
    }

    #[test]
    fn buckets_refill_over_time() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 1,
            per_second: 50.0,
        });
        assert!(limiter.acquire("ana").is_ok());
        assert!(limiter.acquire("ana").is_err());
        std::thread::sleep(Duration::from_millis(30));
        assert!(limiter.acquire("ana").is_ok());
    }

    #[test]
    fn unlimited_never_refuses() {
        let limiter = RateLimiter::new(RateLimit::UNLIMITED);
        for _ in 0..1000 {
            assert!(limiter.acquire("ana").is_ok());
        }
    }
}
