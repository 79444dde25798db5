//! The connection's life: connect with backoff, set up, serve, and on
//! shutdown stop consuming and finish what is in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, ExchangeDeclareOptions,
    QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, Consumer, ExchangeKind};
use ngobrol_core::PortError;
use tracing::instrument::WithSubscriber;
use tracing::{info, warn};

use super::dedup::prune_replies;
use super::dispatch::Dispatcher;
use super::outbound::is_precondition_failed;
use super::{Server, ServerError};
use crate::url::redact_url;

impl Server {
    /// Serves until `shutdown` completes, connecting to the broker (and
    /// connecting again after the connection is lost) with backoff. On
    /// shutdown it stops consuming, finishes the requests in flight, and
    /// closes the connection.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let url = redact_url(&self.config.amqp_url);
        let mut delay = self.config.reconnect_delay;
        let mut connected_before = false;
        loop {
            let connect =
                Connection::connect(&self.config.amqp_url, ConnectionProperties::default());
            let connection = tokio::select! {
                () = shutdown.as_mut() => return,
                connection = connect => connection,
            };
            match connection {
                Ok(connection) => {
                    if std::mem::replace(&mut connected_before, true) {
                        super::metrics::reconnected();
                    }
                    info!(broker = %url, namespace = %self.config.namespace, "connected to the broker");
                    delay = self.config.reconnect_delay;
                    match self.serve(connection, shutdown.as_mut()).await {
                        Ok(()) => return,
                        Err(e) => warn!("lost the broker ({e}); connecting again"),
                    }
                }
                Err(e) => warn!(
                    broker = %url,
                    "cannot reach the broker ({e}); trying again in {delay:?}"
                ),
            }
            tokio::select! {
                () = shutdown.as_mut() => return,
                () = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(self.config.max_reconnect_delay);
        }
    }

    /// Connects to the broker for the service's calls made outside
    /// serving (an operator's command that ends sessions or deletes a
    /// group): its outbound port uses the connection until
    /// [`Attached::close`].
    pub async fn connect(&self) -> Result<Attached<'_>, ServerError> {
        let connection =
            Connection::connect(&self.config.amqp_url, ConnectionProperties::default()).await?;
        let connection = Arc::new(connection);
        self.handler.outbound.attach(connection.clone());
        Ok(Attached {
            server: self,
            connection,
        })
    }

    /// Serves on one connection. Ok when `shutdown` completed; an error
    /// when the connection failed.
    async fn serve(
        &self,
        connection: Connection,
        shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), ServerError> {
        let connection = Arc::new(connection);
        self.handler.outbound.attach(connection.clone());
        let groups = self
            .handler
            .service
            .restore_routing()
            .await
            .map_err(ServerError::Routing)?;
        info!(groups, "group routing restored");
        let (channel, consumer) = self.consume_requests(&connection).await?;
        // Spawned tasks log where the embedder's tasks log.
        let pruning = tokio::spawn(
            prune_replies(
                self.handler.service.clone(),
                self.config.dedup_window,
                self.config.dedup_capacity,
            )
            .with_current_subscriber(),
        );
        let retention = tokio::spawn(
            super::retention::prune_history(self.handler.service.clone()).with_current_subscriber(),
        );
        let mut dispatcher = Dispatcher::start(&self.handler, &self.config);
        self.ready.send_replace(true);
        super::metrics::connected(true);
        info!(queue = %self.config.namespace.request_queue(), "serving requests");

        let tag = consumer.tag();
        let outcome = dispatcher.run(consumer, shutdown).await;
        self.ready.send_replace(false);
        super::metrics::connected(false);
        pruning.abort();
        retention.abort();
        if outcome.is_ok() {
            info!("shutting down: no new requests; finishing those in flight");
            if let Err(e) = channel
                .basic_cancel(tag, BasicCancelOptions::default())
                .await
            {
                warn!("cannot cancel the request consumer: {e}");
            }
        }
        dispatcher.finish().await;
        if outcome.is_ok() {
            self.mark_routing().await;
        }
        self.handler.outbound.detach().await;
        if outcome.is_ok() {
            let _ = channel.close(200, "shutdown".into()).await;
            let _ = connection.close(200, "shutdown".into()).await;
            info!("stopped");
        }
        outcome
    }

    /// On a clean stop: leaves the broker a marker of the routing it
    /// holds, so that the next start can serve at once (see `marker.rs`).
    async fn mark_routing(&self) {
        let outbound = &self.handler.outbound;
        if outbound.diverged.load(std::sync::atomic::Ordering::Acquire) {
            warn!(
                "a change to the routing failed while serving; the next start restores it in full"
            );
            return;
        }
        let marked = match self.handler.service.stored_routing().await {
            Ok(routing) => {
                let fingerprint =
                    super::marker::fingerprint(&routing.memberships, &routing.mailbox_readers);
                self.handler.outbound.mark_routing(&fingerprint).await
            }
            Err(e) => Err(PortError::Unavailable(e.to_string())),
        };
        if let Err(e) = marked {
            warn!("cannot leave a routing marker ({e}); the next start restores the routing");
        }
    }

    /// The dead-letter queue, capped: past `dead_letter_capacity` the
    /// oldest copies go. One declared earlier without the cap is kept as
    /// it is (a declaration with other arguments fails), with a warning.
    async fn declare_dead_letter_queue(&self, connection: &Connection) -> Result<(), ServerError> {
        let name = self.config.namespace.dead_letter_queue();
        let mut capped = FieldTable::default();
        let capacity = i64::from(self.config.dead_letter_capacity);
        capped.insert("x-max-length".into(), AMQPValue::LongLongInt(capacity));
        capped.insert(
            "x-overflow".into(),
            AMQPValue::LongString("drop-head".into()),
        );
        let channel = connection.create_channel().await?;
        let declared = channel
            .queue_declare(name.as_str().into(), QueueDeclareOptions::durable(), capped)
            .await;
        match declared {
            Ok(_) => {
                let _ = channel.close(200, "declared".into()).await;
                Ok(())
            }
            Err(e) if is_precondition_failed(&e) => {
                warn!(queue = %name, "the dead-letter queue exists without a length cap; it is kept uncapped");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Declares the request and dead-letter queues and consumes requests,
    /// at most `prefetch` unacknowledged.
    async fn consume_requests(
        &self,
        connection: &Connection,
    ) -> Result<(Channel, Consumer), ServerError> {
        let channel = connection.create_channel().await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await?;
        self.declare_dead_letter_queue(connection).await?;
        channel
            .exchange_declare(
                self.config.namespace.signal_exchange().as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        // Exactly as the original client declares it: durable, no arguments.
        let queue = self.config.namespace.request_queue();
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        if self.config.isolation.is_some() {
            // Where isolated clients publish: the broker checks each
            // routing key against its sender.
            let requests = self.config.namespace.request_exchange();
            channel
                .exchange_declare(
                    requests.as_str().into(),
                    ExchangeKind::Topic,
                    ExchangeDeclareOptions {
                        durable: true,
                        ..ExchangeDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
            channel
                .queue_bind(
                    queue.as_str().into(),
                    requests.as_str().into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok((channel, consumer))
    }
}

/// A broker connection the service's outbound port uses, outside serving.
#[derive(Debug)]
pub struct Attached<'a> {
    server: &'a Server,
    connection: Arc<Connection>,
}

impl Attached<'_> {
    /// Stops using the connection and closes it.
    pub async fn close(self) {
        self.server.handler.outbound.detach().await;
        let _ = self.connection.close(200, "done".into()).await;
    }
}
