//! Reading a user's messages: a session's backlog and queue, and handing
//! what arrives to the calls waiting for replies and to the events.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, Consumer, ExchangeKind};
use serde_json::Value;

use super::ClientError;
use super::Peer;
use super::events::Event;
use super::link::{Shared, lock};
use super::mailbox::{Mailbox, SessionRoute};
use crate::wire::{DeliveryMessage, Reply};

pub(super) async fn consume(channel: &Channel, queue: &str) -> Result<Consumer, lapin::Error> {
    channel
        .basic_consume(
            queue.into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
}

/// A session's messages: what it missed, then, in order after it, what
/// reaches the session's own queue (bound before anything was counted, so
/// nothing falls between). Each message once.
///
/// What it missed: from a server with a history, every `sync` page from
/// the session's resume point and what waited in the user's mailbox (when
/// the mailbox is this device's to take, not the original client's),
/// merged by cursor; from one without, the mailbox's backlog.
pub(super) async fn read_session(
    shared: Arc<Shared>,
    channel: Channel,
    backlog: Channel,
    mailbox: Arc<Mailbox>,
) {
    let route = mailbox.route.as_ref();
    match route.and_then(|r| r.catch_up.as_ref()) {
        Some(catch_up) => {
            if let Err(e) =
                super::catch_up::catch_up_with(&shared, &backlog, &mailbox, catch_up).await
            {
                // The resume point stays where it was: the next
                // connection tries again from there.
                tracing::warn!("cannot catch up with the server's history: {e}");
            }
        }
        None => {
            if let Some(queue) = route.and_then(|r| r.backlog.as_ref())
                && let Err(e) = empty_backlog(&backlog, queue, &mailbox, &shared).await
            {
                tracing::warn!("cannot read the mailbox's backlog: {e}");
            }
        }
    }
    let _ = backlog.close(200, "backlog read".into()).await;
    let consumer = match consume(&channel, &mailbox.queue).await {
        Ok(consumer) => consumer,
        Err(e) => return tracing::warn!("cannot read the session's queue: {e}"),
    };
    *lock(&mailbox.consumer_tag) = Some(ShortString::from(consumer.tag().as_str()));
    if mailbox.closed.load(Ordering::Relaxed) {
        // Logged out meanwhile.
        let tag = consumer.tag();
        let _ = channel
            .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
            .await;
        return;
    }
    route_mailbox(shared, consumer, mailbox).await;
}

/// A session's queue: exclusive to this connection (it goes when the
/// connection does), bound to the user's exchange (declared as the server
/// declares it, in case the broker lost it) and to the signal exchange
/// with the user's name.
pub(super) async fn declare_session_queue(
    channel: &Channel,
    mailbox: &Mailbox,
    route: &SessionRoute,
) -> Result<(), ClientError> {
    let queue = mailbox.queue.as_str();
    let private = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(queue.into(), private, FieldTable::default())
        .await?;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    let mut arguments = FieldTable::default();
    arguments.insert(
        "alternate-exchange".into(),
        AMQPValue::LongString(route.offline.as_str().into()),
    );
    channel
        .exchange_declare(
            route.exchange.as_str().into(),
            ExchangeKind::Fanout,
            durable,
            arguments,
        )
        .await?;
    channel
        .exchange_declare(
            route.signals.as_str().into(),
            ExchangeKind::Direct,
            durable,
            FieldTable::default(),
        )
        .await?;
    for (exchange, key) in [
        (&route.exchange, ""),
        (&route.signals, mailbox.user.as_str()),
    ] {
        channel
            .queue_bind(
                queue.into(),
                exchange.as_str().into(),
                key.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Hands over what waited in the user's mailbox while no device was
/// online: the messages there when this device came online (later ones
/// reach its own queue), oldest first, each acknowledged once handed over.
pub(super) async fn empty_backlog(
    channel: &Channel,
    queue: &str,
    mailbox: &Mailbox,
    shared: &Shared,
) -> Result<(), ClientError> {
    for _ in 0..backlog_count(channel, queue).await {
        if mailbox.closed.load(Ordering::Relaxed) {
            break;
        }
        let Some((value, delivery)) = next_backlog(channel, queue, shared).await? else {
            break;
        };
        if let Some(event) = mailbox.event(value)
            && mailbox.events.send(event).await.is_err()
        {
            return Ok(());
        }
        delivery.acker.ack(BasicAckOptions::default()).await?;
    }
    Ok(())
}

/// How many messages wait in the mailbox now; 0 for one that does not
/// exist (the failed passive declaration closes only a channel of its
/// own).
pub(super) async fn backlog_count(channel: &Channel, queue: &str) -> u32 {
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .clone()
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
        .map_or(0, |state| state.message_count())
}

/// The mailbox's next delivery, unacknowledged; a reply met on the way
/// goes to the call waiting for it, acknowledged. `None` when it is empty.
pub(super) async fn next_backlog(
    channel: &Channel,
    queue: &str,
    shared: &Shared,
) -> Result<Option<(Value, lapin::message::Delivery)>, ClientError> {
    loop {
        let got = channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: false })
            .await?;
        let Some(message) = got else {
            return Ok(None);
        };
        let value: Value = serde_json::from_slice(&message.delivery.data).unwrap_or(Value::Null);
        if !value["method"]
            .as_str()
            .is_some_and(|m| m.ends_with("_reply"))
        {
            return Ok(Some((value, message.delivery)));
        }
        if let Ok(reply) = serde_json::from_value::<Reply>(value) {
            drop(lock(&shared.waiting).complete(reply));
        }
        message
            .delivery
            .acker
            .ack(BasicAckOptions::default())
            .await?;
    }
}

/// Hands what arrives in a mailbox on: replies to the calls waiting for
/// them, deliveries (each id once) to the session's events.
pub(super) async fn route_mailbox(
    shared: Arc<Shared>,
    mut consumer: Consumer,
    mailbox: Arc<Mailbox>,
) {
    const REQUEUE: BasicNackOptions = BasicNackOptions {
        multiple: false,
        requeue: true,
    };
    while let Some(Ok(delivery)) = consumer.next().await {
        if mailbox.closed.load(Ordering::Relaxed) {
            // Logged out: leave it for the next reader.
            let _ = delivery.acker.nack(REQUEUE).await;
            continue;
        }
        let message: Value = serde_json::from_slice(&delivery.data).unwrap_or(Value::Null);
        let is_reply = message["method"]
            .as_str()
            .is_some_and(|m| m.ends_with("_reply"));
        if is_reply {
            match serde_json::from_value::<Reply>(message) {
                Ok(reply) => drop(lock(&shared.waiting).complete(reply)),
                Err(e) => tracing::warn!("an unreadable reply: {e}"),
            }
        } else if let Some(event) = mailbox.event(message)
            && mailbox.events.send(event).await.is_err()
        {
            // Nobody listens any more: leave the rest queued.
            let _ = delivery.acker.nack(REQUEUE).await;
            return;
        }
        // Acknowledged once handed over, so a crash before leaves it queued.
        let _ = delivery.acker.ack(BasicAckOptions::default()).await;
    }
}

impl Mailbox {
    /// The event for a delivery, or `None` for a copy of one already
    /// handed over (a request retried after a crash may deliver again,
    /// under the same id) or an unreadable one.
    pub(super) fn event(&self, message: Value) -> Option<Event> {
        match serde_json::from_value::<DeliveryMessage>(message) {
            Ok(message) => self.event_of(message),
            Err(e) => {
                tracing::warn!("an unreadable message in the mailbox: {e}");
                None
            }
        }
    }

    /// [`event`](Self::event) of a decoded message; notes its cursor for
    /// resuming.
    pub(super) fn event_of(&self, message: DeliveryMessage) -> Option<Event> {
        if !matches!(message.method.as_str(), "send_client" | "send_group") {
            // A signal (about a message handed over before, under its id
            // and with its place, or about someone): neither counts again.
            return Event::from_wire(message);
        }
        let fresh = match &message.message_id {
            Some(id) => lock(&self.seen).first_time(id),
            None => true,
        };
        if let (Some(cursor), Some(catch_up)) = (
            message.cursor,
            self.route.as_ref().and_then(|r| r.catch_up.as_ref()),
        ) {
            lock(&catch_up.resume).delivered(cursor, Instant::now());
        }
        let event = Event::from_wire(message).filter(|_| fresh)?;
        if let Some(due) = &self.receipts {
            let from_another = |from: &str| from != self.user;
            let receipt = match &event {
                Event::Direct(m) if from_another(&m.from) => {
                    m.seq.map(|seq| (Peer::User(m.from.clone()), seq))
                }
                Event::Group(m) if from_another(&m.from) => {
                    m.seq.map(|seq| (Peer::Group(m.group_id), seq))
                }
                _ => None,
            };
            if let Some(receipt) = receipt {
                // Full: a later receipt of the conversation covers it.
                let _ = due.try_send(receipt);
            }
        }
        Some(event)
    }
}
