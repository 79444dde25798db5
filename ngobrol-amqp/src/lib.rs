//! The ngobrol wire protocol over RabbitMQ.
//!
//! By audience, each behind a Cargo feature (both on by default):
//!
//! - always: [`wire`], the JSON messages field for field as the original
//!   protocol has them, with additive extensions; [`methods`], one module
//!   per protocol method; [`names`], the broker objects of one deployment
//!   ([`Namespace`]). Plain data, no broker client.
//! - feature `server`: [`Server`], which consumes the request queue, runs
//!   each request against the `ngobrol_core::ChatService`, and replies;
//!   [`AmqpOutbound`], the core's outbound port on RabbitMQ.
//! - feature `client`: [`client`], a typed async client SDK for any server
//!   that speaks the protocol.
//!
//! A client, with the SDK:
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! use ngobrol_amqp::client::{Client, ClientOptions, Event};
//!
//! # #[cfg(feature = "client")]
//! # async fn example() -> Result<(), ngobrol_amqp::client::ClientError> {
//! let client = Client::connect(ClientOptions::default()).await?;
//! let (ana, mut events) = client.login("ana", "rahasia!").await?;
//! ana.send_direct("budi", "halo!").await?;
//! if let Some(Event::Direct(message)) = events.recv().await {
//!     println!("{}: {}", message.from, message.text);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A server, on an in-memory store (the reference binary does the same
//! with a Diesel store and its settings from flags and the environment):
//!
//! ```no_run
//! # #[cfg(feature = "server")]
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use ngobrol_amqp::{Server, ServerConfig};
//! use ngobrol_core::ServiceConfig;
//! use ngobrol_core::memory::MemoryStore;
//!
//! let store = Arc::new(MemoryStore::new());
//! let server = Server::build(store, ServiceConfig::default(), ServerConfig::default())?;
//! server.run(async { tokio::signal::ctrl_c().await.ok(); }).await;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod methods;
pub mod names;
mod secret;
mod url;
pub mod wire;

#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "server")]
pub mod server;

pub use names::{InvalidNamespace, Namespace};
pub use secret::Secret;
pub use url::{DEFAULT_AMQP_URL, amqp_vhost, redact_url};
pub use wire::Language;

#[cfg(feature = "server")]
pub use server::{
    AmqpOutbound, Isolation, Management, Server, ServerConfig, ServerError, ShardQueues,
};
