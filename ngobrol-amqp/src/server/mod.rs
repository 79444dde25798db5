//! The server adapter: consumes the request queue, calls the chat service,
//! publishes replies.
//!
//! One request's life:
//! 0. the one server that takes in `<ns>` moves it, by its acting user, to
//!    a shard queue; one server at a time serves each shard — `intake.rs`;
//! 1. the broker delivers it from its shard (manual acknowledgement, at
//!    most `prefetch` unacknowledged per shard) — `connection.rs`;
//! 2. it is decoded, then queued to the lane of its acting user, so that
//!    one user's requests run in order while different users' run at once
//!    — `dispatch.rs`;
//! 3. the lane runs it against the [`ChatService`] (store writes, then
//!    deliveries, each confirmed by the broker), answering a repeated
//!    named request from the record instead — `handler.rs`, `dedup.rs`,
//!    each method's own module under [`crate::methods`];
//! 4. the reply is published and confirmed;
//! 5. only then is the request acknowledged — `settle.rs`. A crash at any
//!    point before leaves it unacknowledged, and the broker delivers it
//!    again.

mod catalogue;
mod changes;
mod config;
mod connection;
mod convert;
mod dedup;
mod dispatch;
mod execute;
mod fleet;
mod group_exchanges;
mod handler;
mod hints;
mod intake;
mod lazy_channel;
mod mailboxes;
mod management;
mod marker;
pub mod metrics;
mod outbound;
mod pipeline;
mod publishing;
mod retention;
mod routing;
mod settle;
mod shards;

use std::sync::Arc;

use ngobrol_core::{ChatError, ChatService, Ports, Repositories, ServiceConfig, ShardTurns};
use tokio::sync::watch;

pub(crate) use catalogue::Said;
pub use config::{Isolation, ServerConfig, ShardQueues};
pub use connection::Attached;
pub(crate) use execute::{Answer, Context, Execute};
pub use management::Management;
pub use outbound::AmqpOutbound;

use handler::Handler;

/// Why the server stopped serving a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The broker connection, or a channel on it, failed.
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The groups' exchanges and bindings could not be made again from the
    /// store on a new connection.
    #[error("cannot restore group routing: {0}")]
    Routing(ChatError),
    /// The broker stopped delivering requests: it cancelled the consumer of
    /// the request queue.
    #[error("the broker cancelled the request consumer")]
    ConsumerEnded,
    /// The turns at the shards could not be had from the store, or may
    /// have been lost (see `shards.rs`).
    #[error("turns at the shards: {0}")]
    Turns(ngobrol_core::PortError),
}

/// The chat service served over RabbitMQ.
#[derive(Debug)]
pub struct Server {
    handler: Handler,
    config: ServerConfig,
    ready: watch::Sender<bool>,
    /// What the caches forget, told to and heard from the other servers.
    changes: Option<Arc<changes::Changes>>,
    /// This server's id among the servers of its namespace (random).
    id: String,
    /// Where the turns at the shards are kept: the store.
    turns: Turns,
}

/// Where the turns at the shards are kept.
#[derive(Clone)]
struct Turns(Arc<dyn ShardTurns>);

impl std::fmt::Debug for Turns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Turns")
    }
}

impl Server {
    /// The composition root: the chat service with its `rules` on `store`
    /// (every repository) and on a RabbitMQ outbound port in
    /// `config.namespace`, served over the broker of `config`.
    pub fn build<S>(
        store: Arc<S>,
        rules: ServiceConfig,
        config: ServerConfig,
    ) -> Result<Self, ChatError>
    where
        S: Repositories,
    {
        let outbound = Arc::new(
            AmqpOutbound::new(config.namespace.clone())
                .with_language(config.language)
                .with_server_sessions(config.isolation.is_some())
                .with_management(config.isolation.as_ref().and_then(|i| i.management.clone())),
        );
        let turns = Turns(store.clone());
        let mut ports = Ports::new(store, outbound.clone());
        let mut changes = None;
        let id = ngobrol_core::MessageId::generate().to_string();
        if let Some(cache) = config.cache {
            let (tell, told) = changes::teller();
            let (cached, caches) = ports.cached_telling(cache, Some(tell));
            ports = cached;
            changes = Some(Arc::new(changes::Changes::new(caches, told, id.clone())));
        }
        ports.history = Arc::new(pipeline::OrderedHistory(ports.history));
        let service = ChatService::new(ports, rules)?;
        let handler = Handler {
            service,
            outbound,
            names: config.namespace.clone(),
            language: config.language,
            isolation: config.isolation.clone(),
        };
        Ok(Self {
            handler,
            config,
            ready: watch::channel(false).0,
            changes,
            id,
            turns,
        })
    }

    /// The chat service this server runs.
    pub fn service(&self) -> &ChatService {
        &self.handler.service
    }

    /// The settings it was built with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// True while the server is consuming requests; watch it to know when
    /// a freshly started server is ready.
    pub fn ready(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }
}
