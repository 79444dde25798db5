//! Which servers of a namespace are alive: each says so every
//! [`HELLO_EVERY`] on the fanout exchange `<ns>.fleet`, and hears the
//! others through a queue of its own (exclusive: it goes with the
//! connection). A server not heard for [`FORGET_AFTER`] is gone. The set
//! decides who owns which shard (`shards.rs`); it only has to agree in
//! the end, since the broker, not the set, keeps one server per shard.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ExchangeKind};
use tokio::sync::watch;

use crate::names::Namespace;

/// How often a server says it is alive.
pub(super) const HELLO_EVERY: Duration = Duration::from_secs(1);

/// How long a server unheard of counts as alive.
pub(super) const FORGET_AFTER: Duration = Duration::from_secs(3);

/// Says `me` is alive and keeps `alive` (sorted ids, `me` among them)
/// up to date until the connection fails.
pub(super) async fn run(
    connection: Arc<Connection>,
    names: Namespace,
    me: String,
    alive: watch::Sender<Vec<String>>,
) -> lapin::Result<()> {
    let exchange = names.fleet_exchange();
    let channel = connection.create_channel().await?;
    channel
        .exchange_declare(
            exchange.as_str().into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().as_str().into(),
            exchange.as_str().into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut heard = channel
        .basic_consume(
            queue.name().as_str().into(),
            "ngobrol-fleet".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    let mut seen: HashMap<String, Instant> = HashMap::new();
    let mut every = tokio::time::interval(HELLO_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                channel
                    .basic_publish(
                        exchange.as_str().into(),
                        "".into(),
                        BasicPublishOptions::default(),
                        b"hello",
                        BasicProperties::default().with_app_id(me.as_str().into()),
                    )
                    .await?;
                seen.retain(|_, at| at.elapsed() < FORGET_AFTER);
            }
            next = heard.next() => match next {
                Some(Ok(hello)) => {
                    if let Some(id) = hello.properties.app_id() {
                        seen.insert(id.to_string(), Instant::now());
                    }
                }
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
        }
        let mut now: Vec<String> = seen.keys().cloned().collect();
        if !now.contains(&me) {
            now.push(me.clone());
        }
        now.sort();
        alive.send_if_modified(|was| {
            let changed = *was != now;
            if changed {
                *was = now;
            }
            changed
        });
    }
}
