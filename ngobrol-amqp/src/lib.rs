//! The ngobrol wire protocol over RabbitMQ.
//!
//! - [`wire`]: the JSON messages, field for field as the original protocol
//!   has them, with additive extensions;
//! - [`names`]: the broker objects of one deployment ([`Namespace`]);
//! - [`AmqpOutbound`]: `ngobrol-core`'s outbound port on RabbitMQ
//!   (mailbox queues, group fanout exchanges, confirmed persistent
//!   deliveries);
//! - [`Server`]: consumes the request queue, runs each request against the
//!   [`ngobrol_core::ChatService`], and replies;
//! - [`client`]: a typed async client SDK for any server that speaks the
//!   protocol, with a usage example on its page.
//!
//! A client, with the SDK:
//!
//! ```no_run
//! use ngobrol_amqp::client::{Client, ClientOptions, Event};
//!
//! # async fn example() -> Result<(), ngobrol_amqp::client::ClientError> {
//! let client = Client::connect(ClientOptions::default()).await?;
//! let (ana, mut events) = client.login("ana", "rahasia!").await?;
//! ana.send_direct("budi", "halo!").await?;
//! if let Some(Event::Direct(reply)) = events.recv().await {
//!     println!("{}: {}", reply.from, reply.text);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Only this crate knows JSON and AMQP; the rules live in `ngobrol-core`.
//! A server is put together like this (the reference binary does exactly
//! this, with its settings from flags and the environment):
//!
//! ```no_run
//! use std::sync::Arc;
//! use ngobrol_amqp::{AmqpOutbound, Server, ServerConfig};
//! use ngobrol_core::{ChatService, Ports, ServiceConfig};
//! use ngobrol_core::memory::MemoryStore;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ServerConfig::default();
//! let outbound = Arc::new(AmqpOutbound::new(config.namespace.clone()));
//! let ports = Ports::new(Arc::new(MemoryStore::new()), outbound.clone());
//! let service = ChatService::new(ports, ServiceConfig::default())?;
//! let server = Server::new(service, outbound, config);
//! server.run(async { tokio::signal::ctrl_c().await.ok(); }).await;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod names;
pub mod outbound;
pub mod server;
pub mod wire;

pub use names::{InvalidNamespace, Namespace};
pub use outbound::AmqpOutbound;
pub use server::{Server, ServerConfig, ServerError, redact_url};
