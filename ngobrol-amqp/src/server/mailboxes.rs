//! Each user's mailboxes on the broker. Every delivery to a user goes
//! through the user's fanout exchange `<ns>.user.<name>`: to the queue of
//! each device of theirs that is online (a client binds its session's
//! exclusive queue there while it is connected), so every device gets
//! every message; and, while none is online, through the exchange's
//! alternate exchange `<ns>.offline.<name>` to the user's mailbox
//! `<ns>_<name>`, where it waits (the original client reads that queue,
//! and our SDK empties it when a device comes online). Group exchanges are
//! bound to members' exchanges, not to their queues.
//!
//! A user who logs in with a client of the original protocol (a login
//! that neither says it reads a session queue nor names the request) has
//! their mailbox bound to their exchange as well, so it gets every delivery, like any device,
//! whether or not other devices are online; `logout_all` unbinds it.

use lapin::options::{
    ExchangeBindOptions, ExchangeDeclareOptions, ExchangeUnbindOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, ExchangeKind};
use ngobrol_core::{GroupId, PortError, SessionId, Username};

use super::outbound::{AmqpOutbound, unavailable};
use crate::names::Namespace;

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn durable_fanout() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

/// The arguments of a user's exchange: its alternate exchange.
pub(super) fn user_exchange_arguments(names: &Namespace, user: &Username) -> FieldTable {
    let mut arguments = FieldTable::default();
    let offline = AMQPValue::LongString(names.offline_exchange(user).into());
    arguments.insert("alternate-exchange".into(), offline);
    arguments
}

/// How long a session's queue of the server's own stays while nobody reads
/// it: a device that comes back within it finds what arrived meanwhile;
/// after, it catches up from the history.
pub const SESSION_QUEUE_EXPIRY: std::time::Duration = std::time::Duration::from_secs(3600);

impl AmqpOutbound {
    /// A session's queue, the server's own (isolated mode): durable, gone
    /// after [`SESSION_QUEUE_EXPIRY`] unused, bound to the user's exchange
    /// and to the signal exchange with the user's name. Its client may only
    /// read it.
    pub(super) async fn declare_session_queue(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError> {
        let channel = self.topology().await?;
        let queue = self.names.session_queue(session);
        let mut arguments = FieldTable::default();
        arguments.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt(SESSION_QUEUE_EXPIRY.as_millis() as i64),
        );
        let declared = channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                arguments,
            )
            .await;
        declared.map_err(unavailable)?;
        for (exchange, key) in [
            (self.names.user_exchange(user), ""),
            (self.names.signal_exchange(), user.as_str()),
        ] {
            channel
                .queue_bind(
                    queue.as_str().into(),
                    exchange.as_str().into(),
                    key.into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Deletes a session's queue (isolated mode): its consumers end.
    pub(super) async fn delete_session_queue(&self, session: &SessionId) -> Result<(), PortError> {
        let channel = self.topology().await?;
        channel
            .queue_delete(
                self.names.session_queue(session).as_str().into(),
                QueueDeleteOptions::default(),
            )
            .await
            .map(drop)
            .map_err(unavailable)
    }

    /// Declares the user's mailbox queue (durable, no arguments: clients
    /// may declare it too, and a declaration with other arguments would
    /// fail), the offline exchange bound to it, and the user's exchange.
    /// Returns the user exchange's name.
    ///
    /// A mailbox whose cluster node is down cannot be declared until the
    /// node is back; the user's exchange (which the cluster keeps) is then
    /// used as it is, so that deliveries to the user's online devices go
    /// on (those for the mailbox wait for the node, or fail).
    pub(super) async fn declare_mailbox(&self, user: &Username) -> Result<String, PortError> {
        let channel = self.topology().await?;
        let exchange = self.names.user_exchange(user);
        match declare_user_routing(&channel, &self.names, user, false).await {
            Ok(()) => {
                lock(&self.link()?.declared).insert(exchange.clone());
                Ok(exchange)
            }
            Err(e) if is_on_a_node_down(&e) => {
                // The broker knows the mailbox (on a node that is down), so
                // its routing was declared before: noted as declared, so
                // that each delivery does not ask (and lose the channel)
                // again. A user exchange that is missing fails the publish.
                tracing::warn!(user = %user, "the mailbox's node is down ({e}); delivering through the user's exchange");
                lock(&self.link()?.declared).insert(exchange.clone());
                Ok(exchange)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// The user's exchange, declared first if this connection has not yet.
    pub(super) async fn user_exchange(&self, user: &Username) -> Result<String, PortError> {
        let exchange = self.names.user_exchange(user);
        if lock(&self.link()?.declared).contains(&exchange) {
            return Ok(exchange);
        }
        self.declare_mailbox(user).await
    }

    /// Binds the user's mailbox to their exchange (`shared`: it gets every
    /// delivery), or unbinds it (it gets what the alternate exchange sends
    /// while no device is online).
    pub(super) async fn bind_mailbox(
        &self,
        user: &Username,
        shared: bool,
    ) -> Result<(), PortError> {
        let exchange = self.user_exchange(user).await?;
        let channel = self.topology().await?;
        let queue = self.names.user_queue(user);
        let done = if shared {
            channel
                .queue_bind(
                    queue.into(),
                    exchange.into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
        } else {
            channel
                .queue_unbind(
                    queue.into(),
                    exchange.into(),
                    "".into(),
                    FieldTable::default(),
                )
                .await
        };
        done.map_err(unavailable)
    }

    /// Routes the group's deliveries to the user's exchange.
    pub(super) async fn bind_to_group(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<(), PortError> {
        let exchange = self.user_exchange(user).await?;
        self.topology()
            .await?
            .exchange_bind(
                exchange.into(),
                self.names.group_exchange(group).into(),
                "".into(),
                ExchangeBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)
    }

    /// Stops routing the group's deliveries to the user (and to their
    /// mailbox directly, as an earlier version bound it).
    pub(super) async fn unbind_from_group(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<(), PortError> {
        let channel = self.topology().await?;
        let group_exchange = self.names.group_exchange(group);
        channel
            .exchange_unbind(
                self.names.user_exchange(user).into(),
                group_exchange.as_str().into(),
                "".into(),
                ExchangeUnbindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        channel
            .queue_unbind(
                self.names.user_queue(user).into(),
                group_exchange.into(),
                "".into(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)
    }
}

/// The mailbox queue, the offline exchange bound to it, and the user's
/// exchange with the offline one as its alternate. With `nowait`, nothing
/// is answered (for the pipelined restore).
pub(super) async fn declare_user_routing(
    channel: &Channel,
    names: &Namespace,
    user: &Username,
    nowait: bool,
) -> Result<(), lapin::Error> {
    let (queue, offline) = (names.user_queue(user), names.offline_exchange(user));
    let queue_options = QueueDeclareOptions {
        durable: true,
        nowait,
        ..QueueDeclareOptions::default()
    };
    let exchange_options = ExchangeDeclareOptions {
        nowait,
        ..durable_fanout()
    };
    channel
        .queue_declare(queue.as_str().into(), queue_options, FieldTable::default())
        .await?;
    channel
        .exchange_declare(
            offline.as_str().into(),
            ExchangeKind::Fanout,
            exchange_options,
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.into(),
            offline.into(),
            "".into(),
            QueueBindOptions { nowait },
            FieldTable::default(),
        )
        .await?;
    channel
        .exchange_declare(
            names.user_exchange(user).into(),
            ExchangeKind::Fanout,
            exchange_options,
            user_exchange_arguments(names, user),
        )
        .await
}

/// Whether the broker refused a queue because the cluster node it lives on
/// is down (AMQP 404, NOT_FOUND, naming the node or the stopped process).
fn is_on_a_node_down(error: &lapin::Error) -> bool {
    matches!(error.kind(), lapin::ErrorKind::ProtocolError(e)
    if e.get_id() == 404 && {
        let text = e.get_message().as_str();
        text.contains("down or inaccessible") || text.contains("stopped by supervisor")
    })
}
