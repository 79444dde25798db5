//! The ngobrol server as a library inside another program: the same
//! pieces the reference binary puts together, with this program deciding
//! where the store lives and when to stop.
//!
//! ```sh
//! cargo run -p ngobrol-examples --example embedded_server
//! ```
//!
//! It serves the namespace `NGOBROL_NAMESPACE` (default `ngobrol`) on the
//! broker `NGOBROL_AMQP_URL`, with its store in `embedded.sqlite3`, until
//! Ctrl-C.

use std::future::Future;
use std::sync::Arc;

use ngobrol_amqp::{Namespace, Server, ServerConfig};
use ngobrol_core::ServiceConfig;
use ngobrol_store::{Store, StoreOptions};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut config = ServerConfig::default();
    if let Ok(url) = std::env::var("NGOBROL_AMQP_URL") {
        config.amqp_url = url;
    }
    if let Ok(namespace) = std::env::var("NGOBROL_NAMESPACE") {
        config.namespace = Namespace::parse(namespace)?;
    }
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve("embedded.sqlite3", config, ServiceConfig::default(), ctrl_c).await
}

/// Opens the store at `database`, and serves until `shutdown` completes.
pub async fn serve(
    database: &str,
    config: ServerConfig,
    rules: ServiceConfig,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    // Opening the store blocks (it connects and migrates): keep it off the
    // async workers.
    let database = database.to_owned();
    let store =
        tokio::task::spawn_blocking(move || Store::open(&database, &StoreOptions::default()))
            .await??;
    // One call puts the pieces together: the chat rules on this store and
    // on a RabbitMQ outbound port in the configured namespace.
    let server = Server::build(Arc::new(store), rules, config)?;
    println!("serving; stop with Ctrl-C");
    server.run(shutdown).await;
    println!("stopped");
    Ok(())
}
