//! Checking a [`ServiceConfig`] before a service is built on it: every
//! setting within a range the service can run with, so that no setting can
//! make it panic or overflow later (a token lifetime past the end of time,
//! a rate so slow its waits overflow a `Duration`).

use std::ops::RangeInclusive;
use std::time::Duration;

use super::ServiceConfig;
use crate::limits::RateLimit;
use crate::password::PasswordHasher;

impl ServiceConfig {
    /// The PBKDF2 rounds accepted: from the algorithm's minimum to a count
    /// that still hashes in seconds.
    pub const PBKDF2_ITERATIONS: RangeInclusive<u32> = PasswordHasher::MIN_ITERATIONS..=10_000_000;
    /// Password hashes running at once.
    pub const HASHING_CONCURRENCY: RangeInclusive<usize> = 1..=256;
    /// The longest token lifetime: 87 600 hours (10 years). The shortest is
    /// anything above zero.
    pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(87_600 * 3600);
    /// The largest message text limit, in bytes (128 MiB, RabbitMQ's own
    /// largest message).
    pub const MAX_MESSAGE_BYTES: RangeInclusive<usize> = 1..=128 * 1024 * 1024;
    /// The shortest password limit, in characters.
    pub const MIN_PASSWORD_CHARS: RangeInclusive<usize> = 1..=1024;
    /// The longest password limit, in bytes: it bounds the hashing cost.
    pub const MAX_PASSWORD_BYTES: RangeInclusive<usize> = 1..=64 * 1024;
    /// Group sizes, and groups per user.
    pub const GROUP_LIMIT: RangeInclusive<usize> = 1..=1_000_000;
    /// Sessions (devices) per user at once.
    pub const SESSIONS_PER_USER: RangeInclusive<usize> = 1..=10_000;
    /// A limited rate, per second; [`RateLimit::UNLIMITED`] (an infinite
    /// rate) is accepted as well.
    pub const RATE_PER_SECOND: RangeInclusive<f64> = 0.001..=1_000_000.0;

    /// Whether every setting is within its range. The error names the
    /// field (as in this struct), the range and the value given.
    pub fn validate(&self) -> Result<(), String> {
        within(
            "pbkdf2_iterations",
            self.pbkdf2_iterations,
            Self::PBKDF2_ITERATIONS,
        )?;
        within(
            "hashing_concurrency",
            self.hashing_concurrency,
            Self::HASHING_CONCURRENCY,
        )?;
        if self.token_ttl.is_zero() || self.token_ttl > Self::MAX_TOKEN_TTL {
            return Err(format!(
                "token_ttl must be above zero and at most 87600 hours (10 years), got {:?}",
                self.token_ttl
            ));
        }
        within(
            "max_sessions_per_user",
            self.max_sessions_per_user,
            Self::SESSIONS_PER_USER,
        )?;
        within(
            "max_message_bytes",
            self.max_message_bytes,
            Self::MAX_MESSAGE_BYTES,
        )?;
        within(
            "min_password_chars",
            self.min_password_chars,
            Self::MIN_PASSWORD_CHARS,
        )?;
        within(
            "max_password_bytes",
            self.max_password_bytes,
            Self::MAX_PASSWORD_BYTES,
        )?;
        if self.min_password_chars > self.max_password_bytes {
            return Err(format!(
                "min_password_chars ({}) must not exceed max_password_bytes ({}): \
                 no password could be accepted",
                self.min_password_chars, self.max_password_bytes
            ));
        }
        within(
            "max_group_members",
            self.max_group_members,
            Self::GROUP_LIMIT,
        )?;
        within(
            "max_groups_per_user",
            self.max_groups_per_user,
            Self::GROUP_LIMIT,
        )?;
        rate("request_rate", self.request_rate)?;
        rate("auth_failures", self.auth_failures)?;
        Ok(())
    }
}

fn within<T>(field: &str, value: T, range: RangeInclusive<T>) -> Result<(), String>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{field} must be between {} and {}, got {value}",
            range.start(),
            range.end()
        ))
    }
}

fn rate(field: &str, limit: RateLimit) -> Result<(), String> {
    if limit.burst == 0 {
        return Err(format!("{field}.burst must be at least 1, got 0"));
    }
    let per_second = limit.per_second;
    if per_second == f64::INFINITY || ServiceConfig::RATE_PER_SECOND.contains(&per_second) {
        Ok(())
    } else {
        Err(format!(
            "{field}.per_second must be between {} and {} (or infinite: unlimited), got {per_second}",
            ServiceConfig::RATE_PER_SECOND.start(),
            ServiceConfig::RATE_PER_SECOND.end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let mut config = ServiceConfig::default();
        // The default is one hash per core; clamp it for machines with
        // more cores than the range allows.
        config.hashing_concurrency = config.hashing_concurrency.min(256);
        assert_eq!(config.validate(), Ok(()));
        let unlimited = ServiceConfig {
            request_rate: RateLimit::UNLIMITED,
            ..config
        };
        assert_eq!(unlimited.validate(), Ok(()));
    }

    #[test]
    fn absurd_settings_are_refused_naming_the_field() {
        let base = ServiceConfig {
            hashing_concurrency: 2,
            ..ServiceConfig::default()
        };
        let cases: Vec<(&str, ServiceConfig)> = vec![
            (
                "pbkdf2_iterations",
                ServiceConfig {
                    pbkdf2_iterations: 5,
                    ..base.clone()
                },
            ),
            (
                "pbkdf2_iterations",
                ServiceConfig {
                    pbkdf2_iterations: u32::MAX,
                    ..base.clone()
                },
            ),
            (
                "hashing_concurrency",
                ServiceConfig {
                    hashing_concurrency: 0,
                    ..base.clone()
                },
            ),
            (
                "token_ttl",
                ServiceConfig {
                    token_ttl: Duration::ZERO,
                    ..base.clone()
                },
            ),
            (
                "token_ttl",
                ServiceConfig {
                    token_ttl: Duration::MAX,
                    ..base.clone()
                },
            ),
            (
                "max_sessions_per_user",
                ServiceConfig {
                    max_sessions_per_user: 0,
                    ..base.clone()
                },
            ),
            (
                "max_sessions_per_user",
                ServiceConfig {
                    max_sessions_per_user: 10_001,
                    ..base.clone()
                },
            ),
            (
                "max_message_bytes",
                ServiceConfig {
                    max_message_bytes: 0,
                    ..base.clone()
                },
            ),
            (
                "min_password_chars",
                ServiceConfig {
                    min_password_chars: 0,
                    ..base.clone()
                },
            ),
            (
                "min_password_chars",
                ServiceConfig {
                    min_password_chars: 100,
                    max_password_bytes: 50,
                    ..base.clone()
                },
            ),
            (
                "max_group_members",
                ServiceConfig {
                    max_group_members: 0,
                    ..base.clone()
                },
            ),
            (
                "max_groups_per_user",
                ServiceConfig {
                    max_groups_per_user: 0,
                    ..base.clone()
                },
            ),
            (
                "request_rate.burst",
                ServiceConfig {
                    request_rate: RateLimit {
                        burst: 0,
                        per_second: 1.0,
                    },
                    ..base.clone()
                },
            ),
            (
                "auth_failures.burst",
                ServiceConfig {
                    auth_failures: RateLimit {
                        burst: 0,
                        per_second: 1.0,
                    },
                    ..base.clone()
                },
            ),
        ];
        for (field, config) in cases {
            let error = config.validate().unwrap_err();
            assert!(error.starts_with(field), "{field}: {error}");
        }
        for per_second in [
            0.0,
            -1.0,
            1e-10,
            f64::NAN,
            f64::NEG_INFINITY,
            1e7,
            f64::MIN_POSITIVE,
        ] {
            let config = ServiceConfig {
                request_rate: RateLimit {
                    burst: 10,
                    per_second,
                },
                ..base.clone()
            };
            let error = config.validate().unwrap_err();
            assert!(
                error.starts_with("request_rate.per_second"),
                "{per_second}: {error}"
            );
        }
    }
}
