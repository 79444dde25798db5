//! The broker connection of a client: set-up, reconnection, and the
//! routing of what arrives (replies to calls, deliveries to events).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, QueueDeclareOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{Channel, Connection, ConnectionProperties, Consumer};

use super::mailbox::Mailbox;
use super::matching::Waiting;
use super::reading::{consume, declare_session_queue, read_session, route_mailbox};
use super::{ClientError, ClientOptions};
use crate::wire::Reply;

/// How many deliveries of one mailbox the broker hands over before they
/// are acknowledged: the bound on what a client holds in memory.
const MAILBOX_PREFETCH: u16 = 256;

/// One broker connection with what the client set up on it.
#[derive(Debug)]
pub(super) struct Link {
    pub connection: Connection,
    pub channel: Channel,
    /// The private, server-named queue replies come to. It changes with
    /// every connection.
    pub reply_queue: String,
}

/// What a client and its sessions share.
#[derive(Debug)]
pub(super) struct Shared {
    pub options: ClientOptions,
    /// `None` while reconnecting.
    link: RwLock<Option<Arc<Link>>>,
    pub waiting: Mutex<Waiting>,
    mailboxes: Mutex<Vec<Arc<Mailbox>>>,
    pub closed: AtomicBool,
    /// When the broker connection was last lost, until the sessions have
    /// caught up after it.
    lost_at: Mutex<Option<std::time::Instant>>,
    /// The connection's name at the broker (isolated mode: its session's
    /// queue, so the server can find and close it when the session ends).
    pub connection_name: Option<String>,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

type LinkFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Arc<Link>, ClientError>> + Send + 'a>,
>;

impl Shared {
    pub fn new(options: ClientOptions) -> Self {
        Self {
            options,
            link: RwLock::new(None),
            waiting: Mutex::default(),
            mailboxes: Mutex::default(),
            closed: AtomicBool::new(false),
            lost_at: Mutex::default(),
            connection_name: None,
        }
    }

    /// When the connection was lost, if the sessions have not caught up
    /// since.
    pub fn lost_at(&self) -> Option<std::time::Instant> {
        *lock(&self.lost_at)
    }

    /// A session caught up after the loss. (With several sessions on one
    /// client, the first to catch up clears it: the others then count
    /// from now, which the 30-second margin still covers unless the
    /// outage was longer.)
    pub fn caught_up(&self) {
        lock(&self.lost_at).take();
    }

    /// In isolated mode, the broker user this client connects and
    /// publishes as: its URL's user.
    pub fn identity(&self) -> Option<String> {
        if !self.options.isolated {
            return None;
        }
        crate::url::url_user(&self.options.amqp_url)
    }

    /// Stops reconnecting and closes the connection.
    pub async fn shut(&self) {
        self.closed.store(true, Ordering::Relaxed);
        if let Some(link) = self.link() {
            let _ = link.connection.close(200, "bye".into()).await;
        }
    }

    pub fn link(&self) -> Option<Arc<Link>> {
        self.link.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_link(&self, link: Option<Arc<Link>>) {
        *self.link.write().unwrap_or_else(|p| p.into_inner()) = link;
    }

    /// Connects, and prepares the reply queue and every mailbox consumer.
    ///
    /// Boxed with an explicit `Send`, because it spawns the supervisor that
    /// calls it again after a disconnection.
    pub fn open_link(self: &Arc<Self>) -> LinkFuture<'_> {
        Box::pin(async move {
            let mut properties = ConnectionProperties::default();
            if let Some(name) = &self.connection_name {
                properties = properties.with_connection_name(name.as_str().into());
            }
            let connection = Connection::connect(&self.options.amqp_url, properties).await?;
            let channel = connection.create_channel().await?;
            channel
                .basic_qos(MAILBOX_PREFETCH, BasicQosOptions::default())
                .await?;
            let (reply_queue, replies) = self.declare_queues(&channel).await?;
            let link = Arc::new(Link {
                connection,
                channel,
                reply_queue,
            });
            let mailboxes = lock(&self.mailboxes).clone();
            for mailbox in mailboxes {
                self.consume_mailbox(&link, mailbox).await?;
            }
            tokio::spawn(supervise(self.clone(), replies));
            self.set_link(Some(link.clone()));
            Ok(link)
        })
    }

    /// The request queue (as the original client does: it exists whether
    /// or not a server has started yet, so requests wait for it) and a
    /// private reply queue, consumed.
    async fn declare_queues(&self, channel: &Channel) -> Result<(String, Consumer), ClientError> {
        // In isolated mode the server declares it, and a client may not.
        if !self.options.isolated {
            channel
                .queue_declare(
                    self.options.namespace.request_queue().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
        }
        let private = QueueDeclareOptions {
            exclusive: true,
            auto_delete: true,
            ..QueueDeclareOptions::default()
        };
        let reply_queue = channel
            .queue_declare("".into(), private, FieldTable::default())
            .await?
            .name()
            .as_str()
            .to_owned();
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        };
        let replies = channel
            .basic_consume(
                reply_queue.as_str().into(),
                "".into(),
                no_ack,
                FieldTable::default(),
            )
            .await?;
        Ok((reply_queue, replies))
    }

    /// Reads `mailbox` from now on, on every connection; a mailbox of the
    /// same user read before (an earlier login) is closed.
    pub async fn add_mailbox(self: &Arc<Self>, mailbox: Arc<Mailbox>) -> Result<(), ClientError> {
        let replaced: Vec<_> = {
            let mut mailboxes = lock(&self.mailboxes);
            let (same, others) = mailboxes
                .drain(..)
                .partition(|m: &Arc<Mailbox>| m.user == mailbox.user);
            *mailboxes = others;
            mailboxes.push(mailbox.clone());
            same
        };
        for old in replaced {
            self.cancel(&old).await;
        }
        let link = self.link().ok_or(ClientError::Disconnected)?;
        self.consume_mailbox(&link, mailbox).await
    }

    /// Stops reading `mailbox`: what it had not handed over stays queued.
    pub async fn remove_mailbox(&self, mailbox: &Arc<Mailbox>) {
        lock(&self.mailboxes).retain(|m| !Arc::ptr_eq(m, mailbox));
        self.cancel(mailbox).await;
    }

    async fn cancel(&self, mailbox: &Mailbox) {
        mailbox.closed.store(true, Ordering::Relaxed);
        let tag = lock(&mailbox.consumer_tag).take();
        if let (Some(link), Some(tag)) = (self.link(), tag) {
            let cancel = link
                .channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default());
            if let Err(e) = cancel.await {
                tracing::debug!("cannot cancel a mailbox consumer: {e}");
            }
        }
    }

    async fn consume_mailbox(
        self: &Arc<Self>,
        link: &Link,
        mailbox: Arc<Mailbox>,
    ) -> Result<(), ClientError> {
        let Some(route) = &mailbox.route else {
            // The user's mailbox itself (a server without sessions).
            let consumer = consume(&link.channel, &mailbox.queue).await?;
            *lock(&mailbox.consumer_tag) = Some(ShortString::from(consumer.tag().as_str()));
            tokio::spawn(route_mailbox(self.clone(), consumer, mailbox));
            return Ok(());
        };
        // In isolated mode the server declared and bound it at login.
        if !self.options.isolated {
            declare_session_queue(&link.channel, &mailbox, route).await?;
        }
        // On a channel of its own: a mailbox that is not there closes the
        // channel that asks.
        let backlog = link.connection.create_channel().await?;
        tokio::spawn(read_session(
            self.clone(),
            link.channel.clone(),
            backlog,
            mailbox,
        ));
        Ok(())
    }
}

/// Routes replies while the connection lives, then connects again (with
/// backoff) unless the client was closed.
async fn supervise(shared: Arc<Shared>, mut replies: Consumer) {
    while let Some(Ok(delivery)) = replies.next().await {
        match serde_json::from_slice::<Reply>(&delivery.data) {
            Ok(reply) => {
                if let Some(reply) = lock(&shared.waiting).complete(reply) {
                    tracing::debug!(method = %reply.method, "a reply nobody waits for");
                }
            }
            Err(e) => tracing::warn!("an unreadable reply: {e}"),
        }
    }
    shared.set_link(None);
    lock(&shared.lost_at).get_or_insert_with(std::time::Instant::now);
    let mut delay = Duration::from_millis(100);
    while !shared.closed.load(Ordering::Relaxed) {
        tracing::warn!("lost the broker; connecting again in {delay:?}");
        tokio::time::sleep(delay).await;
        match shared.open_link().await {
            Ok(_) => {
                tracing::info!("connected to the broker again");
                return;
            }
            Err(e) => tracing::warn!("cannot reconnect: {e}"),
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}
