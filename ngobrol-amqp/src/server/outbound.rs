//! The core's outbound port on RabbitMQ: mailboxes are durable queues,
//! groups are fanout exchanges, deliveries are persistent messages whose
//! publication the broker confirms.

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use lapin::options::ExchangeDeclareOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ExchangeKind};
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
    pub(super) publisher: LazyChannel,
    /// Declares, binds and unbinds.
    topology: LazyChannel,
    /// The users' exchanges declared on this connection.
    pub declared: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Held while a publish takes its number and queues its frames.
    pub(super) numbering: std::sync::Mutex<()>,
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
    /// Whether a change to the routing failed on this port: the store may
    /// then ask for routing the broker does not have, and no marker is
    /// left at the stop.
    pub(super) diverged: std::sync::atomic::AtomicBool,
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
            diverged: Default::default(),
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

    /// Stops using the current connection, lost, without closing
    /// anything on it.
    pub(super) fn forget_connection(&self) {
        drop(self.link.write().unwrap_or_else(|p| p.into_inner()).take());
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

    /// Notes a failed change to the routing (see `diverged`).
    fn noting<T>(&self, changed: Result<T, PortError>) -> Result<T, PortError> {
        if changed.is_err() {
            self.diverged
                .store(true, std::sync::atomic::Ordering::Release);
        }
        changed
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
        let declared = self.declare_mailbox(user).await.map(drop);
        self.noting(declared)
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

    async fn create_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        let created = self.create_group_exchange(group).await;
        self.noting(created)
    }

    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let bound = self.bind_to_group(group, user).await;
        self.noting(bound)
    }

    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let unbound = self.unbind_from_group(group, user).await;
        self.noting(unbound)
    }

    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        let deleted = self.delete_group_exchange(group).await;
        self.noting(deleted)
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
        let bound = self.bind_mailbox(user, shared).await;
        self.noting(bound)
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
