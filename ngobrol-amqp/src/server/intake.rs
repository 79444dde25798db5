//! The intake: of all the servers on one broker, one at a time takes the
//! requests out of `<ns>` and puts each, unchanged and in its order, into
//! the shard queue of its acting user (`<ns>.shard.<k>`, `k` a fixed hash
//! of the name). The servers then serve the shards, each shard by one
//! server at a time (see `shards.rs`), so every user's requests run on
//! one server, in order, whichever server took them in.
//!
//! The original client declares `<ns>` itself, durable and without
//! arguments, so the queue cannot be made single-active-consumer: the
//! intake holds an *exclusive* consumer instead. The other servers look
//! every [`STANDBY_RETRY`] whether the queue has a consumer, and once it
//! has none (its holder stopped, crashed or lost its connection) they try
//! to take it; one gets it, the others (refused by the broker, which logs
//! a line) go on looking. The broker delivers again, first and in their
//! order, the requests the holder had not acknowledged.
//!
//! A request is acknowledged on `<ns>` once the broker confirmed its copy
//! in the shard queue. Forwarding stops at the first copy the broker
//! refuses: the channel closes, so every request not acknowledged goes
//! back to `<ns>` in order.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Confirmation, Connection};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::ServerError;
use super::config::ServerConfig;
use crate::names::Namespace;
use crate::wire::decode_request;

/// How often a standby server tries to become the intake.
pub(super) const STANDBY_RETRY: Duration = Duration::from_millis(500);

/// The most requests taken from `<ns>` whose copies are not yet
/// confirmed.
const IN_FLIGHT: u16 = 256;

/// The header that carries a request's broker-checked AMQP `user_id`
/// (isolated mode) into its shard: the server republishes as its own
/// broker user, which the broker would not let it claim to be another.
pub(super) const SENDER_HEADER: &str = "x-ngobrol-sender";

/// The header that carries the size of a body too large to serve, of
/// which only the ends that the server scans for its reply's address are
/// forwarded.
pub(super) const LENGTH_HEADER: &str = "x-ngobrol-length";

/// The shard of a request whose acting user is `user` (or, with none,
/// the one `fallback` picks): FNV-1a of the name, the same in every
/// server and every version.
pub(crate) fn shard_of(user: Option<&str>, fallback: u64, shards: u16) -> u16 {
    let shards = u64::from(shards.max(1));
    let hash = user.map_or(fallback, fnv1a);
    u16::try_from(hash % shards).expect("below a u16")
}

/// FNV-1a (64 bits) of `text`'s bytes: small, fixed, the same everywhere.
pub(super) fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Takes in requests whenever no other server does, until `stop` turns
/// true (Ok) or the connection fails.
pub(super) async fn run(
    connection: Arc<Connection>,
    config: ServerConfig,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServerError> {
    let queue = config.namespace.request_queue();
    let mut standing_by = false;
    // Servers started together would all try at once: each waits a
    // moment of its own first.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| u64::from(t.subsec_nanos()) % 200);
    let probe = connection.create_channel().await?;
    tokio::time::sleep(Duration::from_millis(jitter)).await;
    loop {
        if *stop.borrow() {
            let _ = probe.close(200, "intake stopped".into()).await;
            return Ok(());
        }
        // Another server's intake shows as a consumer: asking costs no
        // refusal (which the broker gives by closing the channel).
        if consumers(&probe, &queue).await? > 0 {
            if !std::mem::replace(&mut standing_by, true) {
                info!(queue = %queue, "another server takes in requests; standing by");
            }
            tokio::select! {
                _ = stop.changed() => {}
                () = tokio::time::sleep(STANDBY_RETRY) => {}
            }
            continue;
        }
        let channel = connection.create_channel().await?;
        channel
            .basic_qos(IN_FLIGHT, BasicQosOptions::default())
            .await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let consumed = channel
            .basic_consume(
                queue.as_str().into(),
                "ngobrol-intake".into(),
                BasicConsumeOptions {
                    exclusive: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await;
        match consumed {
            Ok(consumer) => {
                standing_by = false;
                info!(queue = %queue, "taking in requests for every server");
                super::metrics::intake(true);
                let forwarded = Forwarder::new(&config)
                    .run(&channel, consumer, &mut stop)
                    .await;
                super::metrics::intake(false);
                let _ = channel.close(200, "intake stopped".into()).await;
                match forwarded {
                    Ok(Forwarded::Stopped) => {}
                    Ok(Forwarded::Refused) => tokio::time::sleep(STANDBY_RETRY).await,
                    Err(ServerError::ConsumerEnded) => {
                        // `<ns>` was deleted under us: make it again.
                        warn!(queue = %queue, "the broker cancelled the intake; declaring the queue again");
                        super::connection::declare_request_queue(&connection, &config.namespace)
                            .await?;
                        tokio::time::sleep(STANDBY_RETRY).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            // Another server was quicker.
            Err(e) if is_in_exclusive_use(&e) => {
                debug!(queue = %queue, "another server took the intake first");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How many consumers `queue` has.
async fn consumers(probe: &lapin::Channel, queue: &str) -> Result<u32, ServerError> {
    let declared = probe
        .queue_declare(
            queue.into(),
            lapin::options::QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    Ok(declared.consumer_count())
}

/// A refusal to consume because another consumer holds the queue alone.
fn is_in_exclusive_use(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e) if e.get_id() == 403)
}

enum Forwarded {
    Stopped,
    /// The broker refused a copy: start again on a new channel.
    Refused,
}

struct Forwarder {
    names: Namespace,
    shards: u16,
    max_body_bytes: usize,
}

type Pending =
    std::pin::Pin<Box<dyn Future<Output = (lapin::Result<Confirmation>, AmqpDelivery)> + Send>>;

impl Forwarder {
    fn new(config: &ServerConfig) -> Self {
        Self {
            names: config.namespace.clone(),
            shards: config.shards,
            max_body_bytes: config.max_body_bytes,
        }
    }

    async fn run(
        &self,
        channel: &lapin::Channel,
        mut consumer: lapin::Consumer,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Forwarded, ServerError> {
        let mut pending: FuturesOrdered<Pending> = FuturesOrdered::new();
        let outcome = loop {
            tokio::select! {
                biased;
                _ = stop.changed() => break Ok(Forwarded::Stopped),
                Some((confirmed, delivery)) = pending.next(), if !pending.is_empty() => {
                    if !settle(confirmed, &delivery).await {
                        break Ok(Forwarded::Refused);
                    }
                }
                next = consumer.next(), if pending.len() < usize::from(IN_FLIGHT) => match next {
                    Some(Ok(delivery)) => pending.push_back(self.forward(channel, delivery).await?),
                    Some(Err(e)) => break Err(e.into()),
                    None => break Err(ServerError::ConsumerEnded),
                },
            }
        };
        // What was copied is acknowledged; the rest goes back with the
        // channel, in order.
        while let Some((confirmed, delivery)) = pending.next().await {
            settle(confirmed, &delivery).await;
        }
        outcome
    }

    /// Publishes the copy of `delivery` to its shard; the confirm is still
    /// to come.
    async fn forward(
        &self,
        channel: &lapin::Channel,
        delivery: AmqpDelivery,
    ) -> Result<Pending, ServerError> {
        let (user, length) = self.shard_key(&delivery.data);
        let shard = shard_of(user.as_deref(), delivery.delivery_tag, self.shards);
        let queue = self.names.shard_queue(shard);
        let properties = forwarded_properties(&delivery.properties, length);
        let scanned;
        let body = if length.is_some() {
            scanned = super::hints::scanned(&delivery.data);
            &scanned[..]
        } else {
            &delivery.data[..]
        };
        let confirm = channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                body,
                properties,
            )
            .await?;
        Ok(Box::pin(async move { (confirm.await, delivery) }))
    }

    /// The acting user of a request body, and its size if it is too large
    /// to serve (so it is cut).
    fn shard_key(&self, body: &[u8]) -> (Option<String>, Option<usize>) {
        if body.len() > self.max_body_bytes {
            let error = super::handler::oversized(body, body.len(), self.max_body_bytes);
            return (error.acting_user, Some(body.len()));
        }
        let user = match decode_request(body) {
            Ok(envelope) => Some(envelope.request.acting_user().to_owned()),
            Err(error) => error.acting_user,
        };
        (user, None)
    }
}

/// Acknowledges a request whose copy the broker confirmed. False if the
/// broker refused it (or returned it: a shard queue went missing), which
/// stops forwarding.
async fn settle(confirmed: lapin::Result<Confirmation>, delivery: &AmqpDelivery) -> bool {
    match confirmed {
        Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => {
            if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
                debug!("cannot acknowledge a forwarded request ({e}); it comes again");
            }
            true
        }
        Ok(Confirmation::Ack(Some(_)) | Confirmation::Nack(_)) => {
            warn!("the broker refused a request's copy for its shard; forwarding starts again");
            false
        }
        Err(e) => {
            debug!("a request's copy was not confirmed ({e})");
            false
        }
    }
}

/// A request's properties for its shard: the same, persistent, with the
/// broker-checked `user_id` moved into [`SENDER_HEADER`] (a client's own
/// `x-ngobrol-…` headers dropped), and the size of a cut body.
fn forwarded_properties(properties: &BasicProperties, length: Option<usize>) -> BasicProperties {
    let mut headers: std::collections::BTreeMap<ShortString, AMQPValue> = properties
        .headers()
        .as_ref()
        .map(|h| {
            h.inner()
                .iter()
                .filter(|(k, _)| !k.as_str().starts_with("x-ngobrol-"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(sender) = properties.user_id() {
        headers.insert(
            SENDER_HEADER.into(),
            AMQPValue::LongString(sender.as_str().into()),
        );
    }
    if let Some(length) = length {
        headers.insert(
            LENGTH_HEADER.into(),
            AMQPValue::LongLongInt(i64::try_from(length).unwrap_or(i64::MAX)),
        );
    }
    let mut forwarded = BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(FieldTable::from(headers));
    macro_rules! keep {
        ($($get:ident => $with:ident),* $(,)?) => {$(
            if let Some(value) = properties.$get() {
                forwarded = forwarded.$with(value.clone());
            }
        )*};
    }
    keep!(
        content_type => with_content_type,
        content_encoding => with_content_encoding,
        priority => with_priority,
        correlation_id => with_correlation_id,
        reply_to => with_reply_to,
        expiration => with_expiration,
        message_id => with_message_id,
        timestamp => with_timestamp,
        kind => with_type,
        app_id => with_app_id,
    );
    forwarded
}

/// A request's broker-checked sender, as the intake forwarded it.
pub(super) fn sender(properties: &BasicProperties) -> Option<&str> {
    match properties.headers().as_ref()?.inner().get(SENDER_HEADER)? {
        AMQPValue::LongString(sender) => std::str::from_utf8(sender.as_bytes()).ok(),
        _ => None,
    }
}

/// The size of a request body before the intake cut it, if it did.
pub(super) fn original_length(properties: &BasicProperties) -> Option<usize> {
    match properties.headers().as_ref()?.inner().get(LENGTH_HEADER)? {
        AMQPValue::LongLongInt(length) => usize::try_from(*length).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_always_lands_in_the_same_shard() {
        // Fixed values: every server and every version must agree.
        assert_eq!(shard_of(Some("ana"), 0, 32), shard_of(Some("ana"), 9, 32));
        let spread: std::collections::HashSet<u16> = (0..1000)
            .map(|i| shard_of(Some(&format!("user{i}")), 0, 32))
            .collect();
        assert_eq!(spread.len(), 32);
        assert_eq!(shard_of(None, 37, 32), 5);
    }

    #[test]
    fn a_forwarded_request_keeps_its_properties_and_carries_its_sender() {
        let mut forged = FieldTable::default();
        forged.insert(SENDER_HEADER.into(), AMQPValue::LongString("budi".into()));
        forged.insert("trace".into(), AMQPValue::LongString("t1".into()));
        let properties = BasicProperties::default()
            .with_reply_to("amq.gen-1".into())
            .with_correlation_id("c1".into())
            .with_message_id("m1".into())
            .with_user_id("ana".into())
            .with_headers(forged);
        let forwarded = forwarded_properties(&properties, None);
        assert_eq!(forwarded.user_id(), &None);
        assert_eq!(sender(&forwarded), Some("ana"));
        assert_eq!(forwarded.reply_to().as_ref().unwrap().as_str(), "amq.gen-1");
        assert_eq!(forwarded.correlation_id().as_ref().unwrap().as_str(), "c1");
        assert_eq!(forwarded.message_id().as_ref().unwrap().as_str(), "m1");
        assert!(forwarded.headers().as_ref().unwrap().contains_key("trace"));
        assert_eq!(original_length(&forwarded), None);
        // Without a user_id, a client's own claim is dropped.
        let unsigned =
            BasicProperties::default().with_headers(properties.headers().clone().unwrap());
        let unsigned = forwarded_properties(&unsigned, Some(9));
        assert_eq!(sender(&unsigned), None);
        assert_eq!(original_length(&unsigned), Some(9));
    }
}
