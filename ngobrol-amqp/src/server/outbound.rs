//! The core's outbound port on RabbitMQ: mailboxes are durable queues,
//! groups are fanout exchanges, deliveries are persistent messages whose
//! publication the broker confirms.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions, ExchangeDeleteOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind, PublisherConfirm};
use ngobrol_core::{
    ChatError, Delivery, GroupId, Outbound, PortError, SessionId, Signal, Username,
};

use super::lazy_channel::LazyChannel;
use super::pipeline::{self, Again, Confirming};
use crate::names::Namespace;
use crate::wire::{DeliveryMessage, Language};

/// AMQP delivery mode 2: the broker writes the message to disk.
const PERSISTENT: u8 = 2;

/// Properties of every JSON message the server publishes.
pub(crate) fn json_properties() -> BasicProperties {
    BasicProperties::default()
        .with_content_type("application/json".into())
        .with_delivery_mode(PERSISTENT)
}

/// The channels of one broker connection.
#[derive(Debug)]
pub(super) struct Link {
    pub connection: Arc<Connection>,
    /// Publishes with publisher confirms: replies and deliveries.
    publisher: LazyChannel,
    /// Declares, binds and unbinds.
    topology: LazyChannel,
    /// The users' exchanges declared on this connection.
    pub declared: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Held while a publish takes its number and queues its frames.
    numbering: std::sync::Mutex<()>,
}

/// The outbound port on RabbitMQ.
///
/// It outlives broker connections: the server [`attach`](Self::attach)es
/// each new connection, and calls made while none is attached fail with
/// [`PortError::Unavailable`].
#[derive(Debug)]
pub struct AmqpOutbound {
    pub(super) names: Namespace,
    /// The language of notice texts.
    language: Language,
    link: RwLock<Option<Arc<Link>>>,
    /// Whether sessions' queues are the server's to declare, bind and
    /// delete (isolated mode), rather than their clients'.
    server_sessions: bool,
    /// Where an ended session's connections are closed (isolated mode).
    management: Option<super::Management>,
    /// Whether the broker's routing marker stands, written or read by
    /// this port (see `marker.rs`): emptied before the routing changes.
    pub(super) marked: std::sync::atomic::AtomicBool,
}

/// Declares a group's fanout exchange, durable.
pub(super) async fn declare_group_exchange(
    channel: &Channel,
    exchange: &str,
) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await
}

/// Whether the broker refused a declaration for its properties (AMQP
/// 406, PRECONDITION_FAILED): the object exists, declared otherwise.
pub(crate) fn is_precondition_failed(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e) if e.get_id() == 406)
}

pub(super) fn unavailable(error: lapin::Error) -> PortError {
    PortError::Unavailable(format!("broker: {error}"))
}

/// The broker's answer to a publication to `exchange` with `routing_key`:
/// a nack (a full queue with a reject-publish length limit, a policy on
/// the mailboxes) is a refusal.
pub(super) fn confirmed(
    answer: lapin::Result<Confirmation>,
    exchange: &str,
    routing_key: &str,
) -> Result<Confirmation, PortError> {
    match answer.map_err(unavailable)? {
        Confirmation::Nack(_) => Err(PortError::Rejected(format!(
            "the broker refused the message for {routing_key:?}{}",
            if exchange.is_empty() {
                ""
            } else {
                " (via an exchange)"
            }
        ))),
        other => Ok(other),
    }
}

impl AmqpOutbound {
    /// A port for the broker objects of `names`, with notices in the default
    /// language. It publishes nothing until a connection is
    /// [attached](Self::attach).
    pub fn new(names: Namespace) -> Self {
        Self {
            names,
            language: Language::default(),
            link: RwLock::new(None),
            server_sessions: false,
            management: None,
            marked: Default::default(),
        }
    }

    /// The same port, closing an ended session's connections through the
    /// broker's management API.
    pub fn with_management(mut self, management: Option<super::Management>) -> Self {
        self.management = management;
        self
    }

    /// The same port, declaring each session's queue at login and
    /// deleting it when the session ends (isolated mode, where clients may
    /// not declare or bind).
    pub fn with_server_sessions(mut self, server_sessions: bool) -> Self {
        self.server_sessions = server_sessions;
        self
    }

    /// The same port, with notices in `language`.
    pub fn with_language(mut self, language: Language) -> Self {
        self.language = language;
        self
    }

    /// The namespace of the broker objects it uses.
    pub fn names(&self) -> &Namespace {
        &self.names
    }

    /// Uses `connection` from now on.
    pub fn attach(&self, connection: Arc<Connection>) {
        let link = Arc::new(Link {
            connection,
            publisher: LazyChannel::new(true),
            topology: LazyChannel::new(false),
            declared: Default::default(),
            numbering: Default::default(),
        });
        *self.link.write().unwrap_or_else(|p| p.into_inner()) = Some(link);
    }

    /// Stops using the current connection, closing the channels it
    /// opened on it; the connection itself stays open for its owner.
    pub async fn detach(&self) {
        let link = self.link.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(link) = link {
            link.publisher.close().await;
            link.topology.close().await;
        }
    }

    pub(super) fn link(&self) -> Result<Arc<Link>, PortError> {
        self.link
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PortError::Unavailable("not connected to the broker".into()))
    }

    pub(super) async fn topology(&self) -> Result<Channel, PortError> {
        let link = self.link()?;
        link.topology
            .get(&link.connection)
            .await
            .map_err(unavailable)
    }

    /// Publishes `body` and waits for the broker's confirmation.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<Confirmation, PortError> {
        let confirm = self
            .send(exchange, routing_key, body, properties, mandatory)
            .await?;
        confirmed(confirm.await, exchange, routing_key)
    }

    /// Publishes `body` on the confirming channel: once this returns, the
    /// message is on its way, after every message published before it on
    /// this port; the broker's confirmation is still to come.
    pub(super) async fn send(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<PublisherConfirm, PortError> {
        let link = self.link()?;
        if link.publisher.lost().await && link.connection.status().connected() {
            // Publishes after the lost ones would leave on a new channel
            // and could overtake them once those are requeued: the
            // connection goes instead, so the broker requeues every
            // unacknowledged request in its order, and serving starts
            // again on a new connection.
            tracing::error!("the broker closed the publishing channel; connecting again");
            let connection = link.connection.clone();
            tokio::spawn(async move {
                let _ = connection
                    .close(320, "publishing channel lost".into())
                    .await;
            });
            return Err(PortError::Unavailable(
                "the publishing channel was closed".into(),
            ));
        }
        let channel = link
            .publisher
            .get(&link.connection)
            .await
            .map_err(unavailable)?;
        let mut publish = std::pin::pin!(channel.basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        ));
        // The broker numbers a channel's messages in the order their frames
        // arrive, and the AMQP library pairs each confirm with the message
        // it numbered when it took it (in the publish's first poll, before
        // queueing its frames). Publishers on several threads could take
        // numbers in one order and queue frames in the other, and a nack
        // would then be given to another message: the first poll is taken
        // under a lock, so numbering and queueing happen together.
        let first = std::future::poll_fn(|cx| {
            let _numbering = link.numbering.lock().unwrap_or_else(|p| p.into_inner());
            std::task::Poll::Ready(publish.as_mut().poll(cx))
        })
        .await;
        match first {
            std::task::Poll::Ready(sent) => sent,
            std::task::Poll::Pending => publish.await,
        }
        .map_err(unavailable)
    }

    /// Publishes a direct delivery's `body` to `user`'s exchange again,
    /// after the broker returned it (the user's routing was lost):
    /// declares their mailbox first, and waits for the confirmation.
    pub(super) async fn deliver_again(
        &self,
        user: &Username,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PortError> {
        tracing::warn!(%user, "mailbox missing on the broker; declaring it again");
        let exchange = self.declare_mailbox(user).await?;
        let confirmation = self.publish(&exchange, "", body, properties, true).await?;
        if confirmation.take_message().is_some() {
            return Err(PortError::Unavailable(format!(
                "the mailbox of {user} does not take messages"
            )));
        }
        super::metrics::delivered("direct");
        Ok(())
    }

    fn delivery_properties(delivery: &Delivery) -> BasicProperties {
        let timestamp = delivery
            .sent_at
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        json_properties()
            .with_message_id(delivery.id.to_string().into())
            .with_timestamp(timestamp)
    }
}

#[async_trait]
impl Outbound for AmqpOutbound {
    async fn ensure_mailbox(&self, user: &Username) -> Result<(), PortError> {
        self.declare_mailbox(user).await.map(drop)
    }

    /// Nothing to make: a device's queue is its client's, exclusive to its
    /// connection, bound to the user's exchange while it is online (so a
    /// device that went away costs nothing). The user's routing is made
    /// here so the client can bind to it.
    async fn open_session_mailbox(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError> {
        self.user_exchange(user).await?;
        if self.server_sessions {
            self.declare_session_queue(user, session).await?;
        }
        Ok(())
    }

    /// A client's own session queue: nothing to remove (the client stops
    /// reading, and its exclusive queue goes with its connection). The
    /// server's (isolated mode): deleted, which also ends its consumers.
    async fn close_session_mailbox(&self, session: &SessionId) -> Result<(), PortError> {
        if self.server_sessions {
            self.delete_session_queue(session).await?;
        }
        if let Some(management) = self.management.clone() {
            // In the background: the management API lists a connection
            // only after its statistics came in (seconds), so a young one
            // is looked for again; the logout does not wait.
            let name = self.names.session_queue(session);
            tokio::spawn(super::management::close_soon(management, name));
        }
        Ok(())
    }

    /// A group exchange that exists with other properties (the original
    /// server's are not durable) is replaced: a fanout exchange holds no
    /// messages, and its bindings are made again from the store.
    async fn create_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let exchange = self.names.group_exchange(group);
        let declared = declare_group_exchange(&self.topology().await?, &exchange).await;
        match declared {
            Err(e) if is_precondition_failed(&e) => {
                tracing::warn!(
                    %group,
                    "the group's exchange exists with other properties (the original server's?); replacing it"
                );
                // The failed declaration closed its channel: a new one.
                let channel = self.topology().await?;
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
                    .map_err(unavailable)?;
                declare_group_exchange(&channel, &exchange)
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.unmark_routing().await?;
        self.bind_to_group(group, user).await
    }

    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.unmark_routing().await?;
        self.unbind_from_group(group, user).await
    }

    /// Deletes the group's exchange, and with it every binding to it. A
    /// missing exchange is no failure: RabbitMQ (3.10 and later) answers
    /// its deletion with ok, and an older broker's NOT_FOUND (404, which
    /// closes the channel; the next call opens another) means the same.
    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let exchange = self.names.group_exchange(group);
        let deleted = self
            .topology()
            .await?
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) => match e.kind() {
                lapin::ErrorKind::ProtocolError(c) if c.get_id() == 404 => Ok(()),
                _ => Err(unavailable(e)),
            },
        }
    }

    /// Through the user's exchange, to every online device's queue, or,
    /// with none online, to their mailbox. Mandatory, so that routing the
    /// broker lost (a reset broker)
    /// is noticed: the message comes back, the mailbox is declared again,
    /// and the message is published once more.
    async fn deliver_to_user(&self, user: &Username, delivery: &Delivery) -> Result<(), PortError> {
        let body = DeliveryMessage::from_delivery_in(self.language, delivery).encode();
        let exchange = self.user_exchange(user).await?;
        let properties = Self::delivery_properties(delivery);
        pipeline::publishing_turn().await;
        let confirm = self
            .send(&exchange, "", &body, properties.clone(), true)
            .await?;
        if pipeline::deferring() {
            pipeline::defer(Confirming {
                confirm,
                refusal: ChatError::MailboxFull(user.to_string()),
                again: Some(Again {
                    user: user.clone(),
                    body,
                    properties,
                }),
                kind: "direct",
            });
            return Ok(());
        }
        let confirmation = confirmed(confirm.await, &exchange, "")?;
        if confirmation.take_message().is_none() {
            super::metrics::delivered("direct");
            return Ok(());
        }
        self.deliver_again(user, &body, properties).await
    }

    /// One message to the signal exchange, blind-copied (`BCC`, which
    /// the broker removes) to each user's name: every online device of
    /// theirs gets it, nobody learns who else did.
    async fn signal(&self, users: &[Username], signal: &Signal) -> Result<(), PortError> {
        if users.is_empty() {
            return Ok(());
        }
        let body = DeliveryMessage::from_signal_in(self.language, signal).encode();
        let names = users
            .iter()
            .map(|u| AMQPValue::LongString(u.as_str().into()))
            .collect::<Vec<_>>();
        let mut headers = FieldTable::default();
        headers.insert("BCC".into(), AMQPValue::FieldArray(names.into()));
        let properties = json_properties().with_headers(headers);
        self.publish(&self.names.signal_exchange(), "", &body, properties, false)
            .await
            .map(drop)
    }

    async fn share_mailbox(&self, user: &Username, shared: bool) -> Result<(), PortError> {
        self.unmark_routing().await?;
        self.bind_mailbox(user, shared).await
    }

    /// Nothing to do if the broker's marker says it kept this very
    /// routing (see `marker.rs`); otherwise everything, then the marker.
    async fn restore_routing(
        &self,
        memberships: &[(GroupId, Vec<Username>)],
        mailbox_readers: &[Username],
    ) -> Result<(), PortError> {
        let fingerprint = super::marker::fingerprint(memberships, mailbox_readers);
        if self.routing_marked(&fingerprint).await? {
            tracing::info!("the broker kept the routing as the store has it; nothing to restore");
            return Ok(());
        }
        self.restore(memberships).await?;
        // Few users, one by one.
        for user in mailbox_readers {
            self.bind_mailbox(user, true).await?;
        }
        self.mark_routing(&fingerprint).await
    }

    async fn deliver_to_group(&self, group: GroupId, delivery: &Delivery) -> Result<(), PortError> {
        let body = DeliveryMessage::from_delivery_in(self.language, delivery).encode();
        let exchange = self.names.group_exchange(group);
        let properties = Self::delivery_properties(delivery);
        pipeline::publishing_turn().await;
        let confirm = self.send(&exchange, "", &body, properties, false).await?;
        if pipeline::deferring() {
            pipeline::defer(Confirming {
                confirm,
                refusal: ChatError::MailboxFull(format!("a member of group {group}")),
                again: None,
                kind: "group",
            });
            return Ok(());
        }
        confirmed(confirm.await, &exchange, "")?;
        super::metrics::delivered("group");
        Ok(())
    }
}
