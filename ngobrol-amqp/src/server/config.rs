//! The server's settings.

use std::time::Duration;

use crate::names::Namespace;
use crate::url::{DEFAULT_AMQP_URL, redact_url};
use crate::wire::Language;

/// How the server talks to the broker. `Default` gives production values
/// for a broker on this machine; the reference binary's flags default to
/// these values.
#[derive(Clone)]
pub struct ServerConfig {
    /// The broker, as an AMQP URI; or the nodes of a RabbitMQ cluster, as
    /// several separated by commas, tried in turn at each connection. May
    /// hold a password: never printed.
    pub amqp_url: String,
    /// The prefix of every broker object the server uses; keep the default,
    /// `ngobrol`, for the original client.
    pub namespace: Namespace,
    /// The language of the sentences the server sends (descriptions,
    /// notices); `id` by default, the original server's. A request may
    /// ask for another with `lang`.
    pub language: Language,
    /// The most requests of one shard delivered and not yet acknowledged:
    /// the server holds at most `prefetch` × `shards` (when it serves
    /// every shard), the bound on its work and memory in flight.
    pub prefetch: u16,
    /// How many shard queues the requests are spread over by acting user
    /// (see [`ShardQueues`]); each is served by one server at a time.
    /// Every server of a deployment must use the same number: keep the
    /// default.
    pub shards: u16,
    /// The kind of queue the shards are.
    pub shard_queues: ShardQueues,
    /// A name for this server in its logs (several servers share a
    /// broker); none by default.
    pub node_name: Option<String>,
    /// How many requests run at once. Requests are spread over lanes by
    /// acting user; each lane runs its requests one after another.
    pub lanes: usize,
    /// The most registrations and logins in hand at once (each costs a
    /// password hash). More are answered `busy` at once, unhashed, so
    /// they never hold more than this share of the `prefetch` window and
    /// messages keep flowing in a login storm.
    pub max_pending_logins: usize,
    /// Request bodies larger than this are refused unread.
    pub max_body_bytes: usize,
    /// The most requests kept in the dead-letter queue `<ns>.dead`; past
    /// it the oldest go.
    pub dead_letter_capacity: u32,
    /// How long the reply to a request that a client named (with
    /// `request_id` or the AMQP `message_id`) is remembered, so that the
    /// same request seen again is answered without taking effect twice.
    pub dedup_window: Duration,
    /// The most replies remembered for that; the oldest go first.
    pub dedup_capacity: u64,
    /// The first wait before connecting again; it doubles up to
    /// `max_reconnect_delay`.
    pub reconnect_delay: Duration,
    /// The longest wait between two attempts to connect.
    pub max_reconnect_delay: Duration,
    /// Isolated mode: the broker keeps each client to its own, and every
    /// request must carry the broker-checked `user_id` of its acting user
    /// (see [`Isolation`]). `None`: the original's one shared account.
    pub isolation: Option<Isolation>,
    /// The caches of sessions, friendships and memberships in front of
    /// the store (see [`ngobrol_core::cache`]); `None`: every request asks
    /// the store.
    pub cache: Option<ngobrol_core::CacheSettings>,
}

/// The kind of the shard queues `<ns>.shard.<k>`, in which every request
/// waits, by its acting user, for the one server that serves its shard.
/// Both kinds are declared single-active-consumer: every server consumes
/// every shard and the broker delivers each shard to one at a time,
/// moving it to another only once that consumer is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ShardQueues {
    /// Quorum queues when `amqp_url` names several brokers (the nodes of
    /// a cluster), classic ones for a single broker, where replication
    /// keeps nothing more and costs every message a disk write.
    #[default]
    Auto,
    /// Quorum queues: replicated on a RabbitMQ cluster, so the requests
    /// waiting in them survive the loss of a minority of its nodes.
    Quorum,
    /// Classic queues: lighter on a single broker, lost with their node
    /// on a cluster.
    Classic,
}

impl ShardQueues {
    /// The name used in settings: `auto`, `quorum` or `classic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShardQueues::Auto => "auto",
            ShardQueues::Quorum => "quorum",
            ShardQueues::Classic => "classic",
        }
    }
}

impl std::str::FromStr for ShardQueues {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(ShardQueues::Auto),
            "quorum" => Ok(ShardQueues::Quorum),
            "classic" => Ok(ShardQueues::Classic),
            other => Err(format!("expected auto, quorum or classic, got {other:?}")),
        }
    }
}

/// The isolated mode's settings.
///
/// Clients publish requests to the request exchange `<ns>.requests` with
/// their broker user as routing key and as the AMQP `user_id` (which the
/// broker checks against the connection's user): the login account for
/// `register` and `login`, then the person, with a session token as their
/// broker password. The server refuses a request whose `user_id` is not
/// its acting user (or, from the login account, that is not a
/// registration or a login). Sessions' queues are the server's: it
/// declares and binds each at login and deletes it when the session ends.
#[derive(Clone, Debug)]
pub struct Isolation {
    /// The broker account clients log in through.
    pub login_user: String,
    /// The broker's management API, to close an ended session's
    /// connections; without it they stay open (able to do nothing).
    pub management: Option<super::Management>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            amqp_url: DEFAULT_AMQP_URL.into(),
            namespace: Namespace::default(),
            language: Language::default(),
            prefetch: 32,
            shards: 32,
            shard_queues: ShardQueues::default(),
            node_name: None,
            lanes: 32,
            max_pending_logins: 16,
            max_body_bytes: 512 * 1024,
            dead_letter_capacity: 10_000,
            dedup_window: Duration::from_secs(3600),
            dedup_capacity: 100_000,
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(2),
            isolation: None,
            cache: Some(ngobrol_core::CacheSettings::default()),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("namespace", &self.namespace)
            .field("prefetch", &self.prefetch)
            .field("shards", &self.shards)
            .field("shard_queues", &self.shard_queues)
            .field("node_name", &self.node_name)
            .field("lanes", &self.lanes)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Shard counts accepted: one to 1024.
    pub const SHARDS: std::ops::RangeInclusive<usize> = 1..=1024;
    /// Lanes accepted: one to 4096.
    pub const LANES: std::ops::RangeInclusive<usize> = 1..=4096;
    /// Request body limits accepted, in bytes: from 4 KiB to 128 MiB
    /// (RabbitMQ's own largest message).
    pub const MAX_BODY_BYTES: std::ops::RangeInclusive<usize> = 4096..=128 * 1024 * 1024;
    /// The longest a reply is remembered for de-duplication: 30 days.
    pub const MAX_DEDUP_WINDOW: Duration = Duration::from_secs(30 * 24 * 3600);
    /// The longest wait between connection attempts: one hour.
    pub const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(3600);

    /// The kind of shard queue declared: [`ShardQueues::Auto`] resolved.
    pub fn shard_queue_kind(&self) -> ShardQueues {
        match self.shard_queues {
            ShardQueues::Auto if self.amqp_urls().len() > 1 => ShardQueues::Quorum,
            ShardQueues::Auto => ShardQueues::Classic,
            chosen => chosen,
        }
    }

    /// The broker URLs of `amqp_url`, in the order they are tried.
    pub fn amqp_urls(&self) -> Vec<&str> {
        let urls: Vec<&str> = self
            .amqp_url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        if urls.is_empty() {
            vec![self.amqp_url.as_str()]
        } else {
            urls
        }
    }

    /// Whether every setting is within its range. The error names the
    /// field (as in this struct), the range and the value given; a URL is
    /// shown without its password.
    pub fn validate(&self) -> Result<(), String> {
        for url in self.amqp_urls() {
            let scheme = url
                .split_once("://")
                .map(|(scheme, _)| scheme.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("amqp" | "amqps")) {
                return Err(format!(
                    "amqp_url must be amqp:// or amqps:// URLs, separated by commas; got {:?}",
                    redact_url(url)
                ));
            }
        }
        if self.prefetch == 0 {
            return Err("prefetch must be between 1 and 65535, got 0".into());
        }
        within("lanes", self.lanes, Self::LANES)?;
        within("shards", usize::from(self.shards), Self::SHARDS)?;
        // More than the prefetch window is allowed (logins then may fill
        // it), but never none: no login could ever run.
        within("max_pending_logins", self.max_pending_logins, 1..=65535)?;
        within("max_body_bytes", self.max_body_bytes, Self::MAX_BODY_BYTES)?;
        if self.dead_letter_capacity == 0 {
            return Err("dead_letter_capacity must be at least 1, got 0".into());
        }
        if self.dedup_window > Self::MAX_DEDUP_WINDOW {
            return Err(format!(
                "dedup_window must be at most 30 days, got {:?}",
                self.dedup_window
            ));
        }
        if self.reconnect_delay.is_zero()
            || self.reconnect_delay > self.max_reconnect_delay
            || self.max_reconnect_delay > Self::MAX_RECONNECT_DELAY
        {
            return Err(format!(
                "reconnect_delay must be above zero and at most max_reconnect_delay, \
                 itself at most one hour; got {:?} and {:?}",
                self.reconnect_delay, self.max_reconnect_delay
            ));
        }
        Ok(())
    }
}

fn within(field: &str, value: usize, range: std::ops::RangeInclusive<usize>) -> Result<(), String> {
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

#[cfg(test)]
mod validate_tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn absurd_settings_are_refused_naming_the_field() {
        let base = ServerConfig::default();
        let cases = [
            (
                "amqp_url",
                ServerConfig {
                    amqp_url: "http://ana:secret@host".into(),
                    ..base.clone()
                },
            ),
            (
                "prefetch",
                ServerConfig {
                    prefetch: 0,
                    ..base.clone()
                },
            ),
            (
                "lanes",
                ServerConfig {
                    lanes: 0,
                    ..base.clone()
                },
            ),
            (
                "lanes",
                ServerConfig {
                    lanes: 1 << 20,
                    ..base.clone()
                },
            ),
            (
                "shards",
                ServerConfig {
                    shards: 0,
                    ..base.clone()
                },
            ),
            (
                "max_pending_logins",
                ServerConfig {
                    max_pending_logins: 0,
                    ..base.clone()
                },
            ),
            (
                "max_body_bytes",
                ServerConfig {
                    max_body_bytes: 10,
                    ..base.clone()
                },
            ),
            (
                "dead_letter_capacity",
                ServerConfig {
                    dead_letter_capacity: 0,
                    ..base.clone()
                },
            ),
            (
                "dedup_window",
                ServerConfig {
                    dedup_window: Duration::MAX,
                    ..base.clone()
                },
            ),
            (
                "reconnect_delay",
                ServerConfig {
                    reconnect_delay: Duration::ZERO,
                    ..base.clone()
                },
            ),
        ];
        for (field, config) in cases {
            let error = config.validate().unwrap_err();
            assert!(error.starts_with(field), "{field}: {error}");
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
