//! The connection's life: connect with backoff, set up, serve, and on
//! shutdown stop consuming and finish what is in flight.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties, ExchangeKind};
use ngobrol_core::PortError;
use tokio::sync::watch;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;
use tracing::{debug, error, info, warn};

use super::dedup::prune_replies;
use super::dispatch::Dispatcher;
use super::outbound::is_precondition_failed;
use super::{Server, ServerError};
use crate::url::redact_url;

impl Server {
    /// Serves until `shutdown` completes, connecting to the broker (and
    /// connecting again after the connection is lost) with backoff. On
    /// shutdown it stops consuming, finishes the requests in flight, and
    /// closes the connection. With several broker URLs (the nodes of a
    /// cluster, separated by commas), each attempt tries the next.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let span = match &self.config.node_name {
            Some(name) => tracing::info_span!("server", node = %name),
            None => tracing::Span::none(),
        };
        self.run_connecting(shutdown).instrument(span).await;
    }

    async fn run_connecting(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let urls = self.config.amqp_urls();
        let mut delay = self.config.reconnect_delay;
        let mut connected_before = false;
        for attempt in 0.. {
            let amqp_url = urls[attempt % urls.len()];
            let url = redact_url(amqp_url);
            let connect = Connection::connect(amqp_url, ConnectionProperties::default());
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
                        Err(e @ ServerError::Turns(_)) => {
                            warn!("stopped serving ({e}); starting again");
                        }
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
            Connection::connect(self.config.amqp_urls()[0], ConnectionProperties::default())
                .await?;
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
        self.declare_queues(&connection).await?;
        let holder = self
            .turns
            .0
            .turn_holder(self.config.namespace.as_str())
            .await
            .map_err(ServerError::Turns)?;
        let mut shards = super::shards::Shards::subscribe(
            connection.clone(),
            self.config.namespace.clone(),
            self.config.shards,
            self.config.prefetch,
            holder,
        )
        .await?;
        // Heard by the others once this server is in line for every shard.
        let (alive_now, alive) = watch::channel(vec![self.id.clone()]);
        let fleet = {
            let (connection, names, me) = (
                connection.clone(),
                self.config.namespace.clone(),
                self.id.clone(),
            );
            tokio::spawn(
                async move {
                    if let Err(e) = super::fleet::run(connection, names, me, alive_now).await {
                        debug!("no longer hearing the other servers: {e}");
                    }
                }
                .in_current_span()
                .with_current_subscriber(),
            )
        };
        let notices = self.changes.clone().map(|changes| {
            let (connection, names) = (connection.clone(), self.config.namespace.clone());
            tokio::spawn(
                async move {
                    if let Err(e) = changes.run(connection, names).await {
                        debug!("cache notices stopped: {e}");
                    }
                }
                .in_current_span()
                .with_current_subscriber(),
            )
        });
        let (stop_intake, stopping) = watch::channel(false);
        let intake = tokio::spawn(
            super::intake::run(connection.clone(), self.config.clone(), stopping)
                .in_current_span()
                .with_current_subscriber(),
        );
        // Spawned tasks log where the embedder's tasks log.
        let pruning = tokio::spawn(
            prune_replies(
                self.handler.service.clone(),
                self.config.dedup_window,
                self.config.dedup_capacity,
            )
            .in_current_span()
            .with_current_subscriber(),
        );
        let retention = tokio::spawn(
            super::retention::prune_history(self.handler.service.clone())
                .in_current_span()
                .with_current_subscriber(),
        );
        let mut dispatcher = Dispatcher::start(&self.handler, &self.config);
        self.ready.send_replace(true);
        super::metrics::connected(true);
        info!(
            shards = self.config.shards,
            kind = self.config.shard_queue_kind().as_str(),
            "serving requests"
        );

        let outcome = dispatcher.run(&mut shards, alive, &self.id, shutdown).await;
        // Each shard's turn goes back once nothing of it is in hand, so
        // that the shard's next server may run it.
        let turns = shards.give_back_turns();
        fleet.abort();
        self.ready.send_replace(false);
        super::metrics::connected(false);
        pruning.abort();
        retention.abort();
        if let Some(notices) = notices {
            notices.abort();
        }
        // Whether the connection still works: a shard's consumer that
        // failed, or turns lost, leave it up; a broken one is down.
        let up = connection.status().connected();
        if let Err(e) = &outcome {
            warn!("stopping ({e}); finishing the requests in flight");
        }
        if up {
            // The intake first, so that what it took in reaches the shards.
            stop_intake.send_replace(true);
            let leave = intake.abort_handle();
            match tokio::time::timeout(STOP_BOUND, intake).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => warn!("the intake stopped: {e}"),
                Ok(Err(e)) => warn!("the intake failed: {e}"),
                Err(_) => {
                    warn!("the intake did not stop within {STOP_BOUND:?}; leaving it");
                    leave.abort();
                }
            }
        } else {
            // Nothing it took in can be acknowledged any more: the broker
            // gives it to the next intake.
            intake.abort();
        }
        if outcome.is_ok() {
            info!("shutting down: no new requests; finishing those in flight");
        }
        // The shard consumers are not cancelled: a cancelled one would let
        // another server take its shard while this one still runs the
        // shard's requests. They go with the channel once everything in
        // hand is settled, and what was delivered but not started goes back
        // to its shard, ahead of the rest, for the next server. After a
        // lost connection the AMQP library may leave a call unanswered: the
        // wait is bounded, so that the shards' turns go to their next
        // servers in any case.
        dispatcher.finish((!up).then_some(STOP_BOUND)).await;
        if let Err(e) = turns.await {
            warn!("giving the shards' turns back failed: {e}");
        }
        if outcome.is_ok() {
            self.mark_routing().await;
        }
        if up {
            let channels: Vec<_> = shards.channels().cloned().collect();
            let closing = async {
                self.handler.outbound.detach().await;
                for channel in &channels {
                    let _ = channel.close(200, "shutdown".into()).await;
                }
                let _ = connection.close(200, "shutdown".into()).await;
            };
            if tokio::time::timeout(STOP_BOUND, closing).await.is_err() {
                warn!("the broker did not confirm the close within {STOP_BOUND:?}");
            }
        } else {
            // Closing a channel of a lost connection could wait forever.
            self.handler.outbound.forget_connection();
        }
        if outcome.is_ok() {
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

    /// Declares the request, shard and dead-letter queues and the
    /// exchanges requests and signals go through.
    async fn declare_queues(&self, connection: &Connection) -> Result<(), ServerError> {
        let names = &self.config.namespace;
        self.declare_dead_letter_queue(connection).await?;
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                names.signal_exchange().as_str().into(),
                ExchangeKind::Direct,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let _ = channel.close(200, "declared".into()).await;
        declare_request_queue(connection, names).await?;
        if self.config.isolation.is_some() {
            // Where isolated clients publish: the broker checks each
            // routing key against its sender.
            let channel = connection.create_channel().await?;
            let requests = names.request_exchange();
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
                    names.request_queue().as_str().into(),
                    requests.as_str().into(),
                    "#".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let _ = channel.close(200, "declared".into()).await;
        }
        self.declare_shards(connection).await
    }

    /// Declares the shard queues, each single-active-consumer, of the
    /// configured kind. One declared before with other arguments (another
    /// kind) is an error that says so.
    async fn declare_shards(&self, connection: &Connection) -> Result<(), ServerError> {
        let mut arguments = FieldTable::default();
        arguments.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
        arguments.insert(
            "x-queue-type".into(),
            AMQPValue::LongString(self.config.shard_queue_kind().as_str().into()),
        );
        let channel = connection.create_channel().await?;
        for shard in 0..self.config.shards {
            let name = self.config.namespace.shard_queue(shard);
            let declared = channel
                .queue_declare(
                    name.as_str().into(),
                    QueueDeclareOptions::durable(),
                    arguments.clone(),
                )
                .await;
            if let Err(e) = declared {
                if is_precondition_failed(&e) {
                    error!(
                        queue = %name,
                        kind = self.config.shard_queue_kind().as_str(),
                        "the shard queue exists with other arguments (another kind?); \
                         every server must use the same shard settings"
                    );
                }
                return Err(e.into());
            }
        }
        let _ = channel.close(200, "declared".into()).await;
        Ok(())
    }
}

/// Declares `<ns>` exactly as the original client does: durable, no
/// arguments.
pub(super) async fn declare_request_queue(
    connection: &Connection,
    names: &crate::names::Namespace,
) -> Result<(), ServerError> {
    let channel = connection.create_channel().await?;
    channel
        .queue_declare(
            names.request_queue().as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    let _ = channel.close(200, "declared".into()).await;
    Ok(())
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

/// How long a server that lost its broker connection waits for its
/// requests in flight before it leaves them (see `Dispatcher::finish`),
/// and the longest any step of stopping waits on the broker.
const STOP_BOUND: Duration = Duration::from_secs(5);
