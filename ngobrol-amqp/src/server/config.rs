//! The server's settings.

use std::time::Duration;

use crate::names::Namespace;
use crate::url::{DEFAULT_AMQP_URL, redact_url};

/// How the server talks to the broker. `Default` gives production values
/// for a broker on this machine; the reference binary's flags default to
/// these values.
#[derive(Clone)]
pub struct ServerConfig {
    /// The broker, as an AMQP URI. May hold a password: never printed.
    pub amqp_url: String,
    pub namespace: Namespace,
    /// The most requests delivered and not yet acknowledged: the bound on
    /// the work (and memory) in flight inside the server.
    pub prefetch: u16,
    /// How many requests run at once. Requests are spread over lanes by
    /// acting user; each lane runs its requests one after another.
    pub lanes: usize,
    /// Request bodies larger than this are refused unread.
    pub max_body_bytes: usize,
    /// How long the reply to a request that a client named (with
    /// `request_id` or the AMQP `message_id`) is remembered, so that the
    /// same request seen again is answered without taking effect twice.
    pub dedup_window: Duration,
    /// The most replies remembered for that; the oldest go first.
    pub dedup_capacity: u64,
    /// The first wait before connecting again; it doubles up to
    /// `max_reconnect_delay`.
    pub reconnect_delay: Duration,
    pub max_reconnect_delay: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            amqp_url: DEFAULT_AMQP_URL.into(),
            namespace: Namespace::default(),
            prefetch: 64,
            lanes: 32,
            max_body_bytes: 512 * 1024,
            dedup_window: Duration::from_secs(3600),
            dedup_capacity: 100_000,
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(2),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("namespace", &self.namespace)
            .field("prefetch", &self.prefetch)
            .field("lanes", &self.lanes)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}
