//! A typed async client for any server that speaks the ngobrol protocol.
//!
//! ```no_run
//! use ngobrol_amqp::client::{Client, ClientOptions, Event};
//!
//! # async fn example() -> Result<(), ngobrol_amqp::client::ClientError> {
//! let client = Client::connect(ClientOptions::default()).await?;
//! client.register("ana", "rahasia!").await?;
//! let (ana, mut events) = client.login("ana", "rahasia!").await?;
//! ana.add_friend("budi").await?;
//! ana.send_direct("budi", "halo!").await?;
//! while let Some(event) = events.recv().await {
//!     if let Event::Direct(message) = event {
//!         println!("{}: {}", message.from, message.text);
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Only [`Client::register`] and [`Client::login`] can be called before
//! logging in; everything that needs a token is a method of the
//! [`Session`] that `login` returns, so it cannot be called too early.
//!
//! Every request carries a `request_id` and the AMQP `reply_to` and
//! `correlation_id` properties, so many requests can be in flight at once
//! and each reply finds its caller. A server that ignores them (the
//! original Java server) answers in the user's queue without an id; such
//! replies are matched to the oldest request waiting for that reply method,
//! which is right because that server answers each user in order. Every
//! wait ends after [`ClientOptions::timeout`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::names::Namespace;
use crate::wire::{
    AddFriend, AddMemberToGroup, CreateGroup, DeliveryMessage, GetFriend, GetGroup, GroupEntry,
    Login, Logout, QuitFromGroup, Register, Reply, Request, SendClient, SendGroup, Status,
};

/// Where and how a [`Client`] connects.
#[derive(Clone)]
pub struct ClientOptions {
    /// The broker, as an AMQP URI.
    pub amqp_url: String,
    pub namespace: Namespace,
    /// How long a request waits for its reply before it is sent again.
    pub timeout: Duration,
    /// How many times a request that got no reply is sent again, with the
    /// same `request_id`: the server answers a repeated request with its
    /// first reply, so a retry never takes effect twice.
    pub retries: u32,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            amqp_url: std::env::var("NGOBROL_AMQP_URL")
                .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into()),
            namespace: Namespace::default(),
            timeout: Duration::from_secs(10),
            retries: 2,
        }
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("amqp_url", &crate::redact_url(&self.amqp_url))
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish()
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the request; `code` is its machine-readable
    /// reason (see the protocol's error codes), empty when a server sent
    /// none.
    #[error("{description} ({code})")]
    Refused { code: String, description: String },
    #[error("no reply after {attempts} attempts of {timeout:?} each")]
    Timeout { attempts: u32, timeout: Duration },
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the client is disconnected")]
    Disconnected,
}

impl ClientError {
    /// The server's error code, for a refused request.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A message from one user to the session's user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectMessage {
    pub from: String,
    pub text: String,
    pub message_id: Option<String>,
    pub sent_at: Option<String>,
}

/// A message to a group the session's user is in (their own included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupMessage {
    pub from: String,
    pub group_id: i64,
    pub group_name: String,
    pub text: String,
    pub message_id: Option<String>,
    pub sent_at: Option<String>,
}

/// A notice from the server to a group: someone joined or left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupNotice {
    pub group_id: i64,
    pub group_name: String,
    pub text: String,
    pub message_id: Option<String>,
    pub sent_at: Option<String>,
}

/// Something that arrived for the session's user, apart from replies.
/// Serialized (for JSON lines), it is the message's fields with a `kind`:
/// `direct`, `group` or `notice`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Direct(DirectMessage),
    Group(GroupMessage),
    Notice(GroupNotice),
}

impl Event {
    fn from_wire(message: DeliveryMessage) -> Option<Self> {
        let DeliveryMessage {
            method,
            username_from,
            group_id_to,
            group_name_to,
            message,
            message_id,
            sent_at,
            notice,
        } = message;
        match (method.as_str(), group_id_to) {
            ("send_client", _) => Some(Event::Direct(DirectMessage {
                from: username_from,
                text: message,
                message_id,
                sent_at,
            })),
            // The original server marks notices only by their sender.
            ("send_group", Some(group_id)) if notice || username_from == "admin" => {
                Some(Event::Notice(GroupNotice {
                    group_id,
                    group_name: group_name_to.unwrap_or_default(),
                    text: message,
                    message_id,
                    sent_at,
                }))
            }
            ("send_group", Some(group_id)) => Some(Event::Group(GroupMessage {
                from: username_from,
                group_id,
                group_name: group_name_to.unwrap_or_default(),
                text: message,
                message_id,
                sent_at,
            })),
            _ => None,
        }
    }
}

/// The incoming events of a [`Session`], in arrival order.
#[derive(Debug)]
pub struct Events {
    receiver: mpsc::Receiver<Event>,
}

impl Events {
    /// The next event; `None` once the session's connection is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }

    /// The next event if one arrives within `wait`.
    pub async fn recv_timeout(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, self.receiver.recv())
            .await
            .ok()
            .flatten()
    }
}

#[derive(Debug, Default)]
struct Waiting {
    by_id: HashMap<String, (String, oneshot::Sender<Reply>)>,
    /// Request ids in the order sent, for replies that carry no id.
    order: VecDeque<String>,
}

/// One broker connection with what the client set up on it.
#[derive(Debug)]
struct Link {
    connection: Connection,
    channel: Channel,
    /// The private, server-named queue replies come to. It changes with
    /// every connection.
    reply_queue: String,
}

/// A logged-in user's queue, consumed on every connection.
#[derive(Debug, Clone)]
struct Mailbox {
    queue: String,
    events: mpsc::Sender<Event>,
    /// The ids of the latest deliveries, to drop a copy of one: a request
    /// retried after a crash may deliver again, under the same id.
    seen: Arc<Mutex<Seen>>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    const CAPACITY: usize = 10_000;

    /// False when `id` was seen already.
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() == Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

type LinkFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Arc<Link>, ClientError>> + Send + 'a>,
>;

#[derive(Debug)]
struct Shared {
    options: ClientOptions,
    /// `None` while reconnecting.
    link: RwLock<Option<Arc<Link>>>,
    waiting: Mutex<Waiting>,
    mailboxes: Mutex<Vec<Mailbox>>,
    next_id: AtomicU64,
    closed: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn link(&self) -> Option<Arc<Link>> {
        self.link.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_link(&self, link: Option<Arc<Link>>) {
        *self.link.write().unwrap_or_else(|p| p.into_inner()) = link;
    }

    /// Hands a reply to the request waiting for it. Returns it back when
    /// no request waits for it.
    fn complete(&self, reply: Reply) -> Option<Reply> {
        let mut waiting = lock(&self.waiting);
        let id = reply
            .request_id
            .as_ref()
            .and_then(Value::as_str)
            .filter(|id| waiting.by_id.contains_key(*id))
            .map(str::to_owned)
            .or_else(|| {
                let by_id = &waiting.by_id;
                waiting
                    .order
                    .iter()
                    .find(|id| {
                        by_id
                            .get(*id)
                            .is_some_and(|(method, _)| *method == reply.method)
                    })
                    .cloned()
            });
        let Some(id) = id else {
            return Some(reply);
        };
        waiting.order.retain(|i| *i != id);
        let (_, sender) = waiting.by_id.remove(&id)?;
        let _ = sender.send(reply);
        None
    }

    fn forget(&self, id: &str) {
        let mut waiting = lock(&self.waiting);
        waiting.by_id.remove(id);
        waiting.order.retain(|i| i != id);
    }

    /// Sends `request` and waits for its reply, sending it again (same
    /// id) after each time-out, up to the configured retries.
    async fn call(&self, request: Request) -> Result<Reply, ClientError> {
        let id = format!("c{}", self.next_id.fetch_add(1, Ordering::Relaxed));
        let reply_method = format!("{}_reply", request.method());
        let (sender, mut receiver) = oneshot::channel();
        {
            let mut waiting = lock(&self.waiting);
            waiting.by_id.insert(id.clone(), (reply_method, sender));
            waiting.order.push_back(id.clone());
        }
        let attempts = self.options.retries + 1;
        for _ in 0..attempts {
            if self.closed.load(Ordering::Relaxed) {
                self.forget(&id);
                return Err(ClientError::Disconnected);
            }
            let sent = match self.link() {
                Some(link) => self.send(&link, &request, &id).await.is_ok(),
                // Reconnecting: this attempt waits, and the next one goes
                // out on the new connection.
                None => false,
            };
            let wait = if sent {
                self.options.timeout
            } else {
                self.options.timeout.min(Duration::from_millis(500))
            };
            match tokio::time::timeout(wait, &mut receiver).await {
                Ok(Ok(reply)) if reply.status == Status::Ok => return Ok(reply),
                Ok(Ok(reply)) => {
                    return Err(ClientError::Refused {
                        code: reply.code.unwrap_or_default(),
                        description: reply.description,
                    });
                }
                Ok(Err(_)) => return Err(ClientError::Disconnected),
                Err(_) => {}
            }
        }
        self.forget(&id);
        Err(ClientError::Timeout {
            attempts,
            timeout: self.options.timeout,
        })
    }

    async fn send(&self, link: &Link, request: &Request, id: &str) -> Result<(), lapin::Error> {
        let mut body = serde_json::to_value(request).expect("requests serialize");
        body["request_id"] = Value::String(id.to_owned());
        if matches!(request, Request::Register(_) | Request::Login(_)) {
            body["queue_name"] = Value::String(link.reply_queue.clone());
        }
        let properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_reply_to(link.reply_queue.as_str().into())
            .with_correlation_id(id.into());
        link.channel
            .basic_publish(
                "".into(),
                self.options.namespace.request_queue().into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&body).expect("JSON values serialize"),
                properties,
            )
            .await?;
        Ok(())
    }

    /// Connects, and prepares the reply queue and every mailbox consumer.
    ///
    /// Boxed with an explicit `Send`, because it spawns the supervisor that
    /// calls it again after a disconnection.
    fn open_link(self: &Arc<Self>) -> LinkFuture<'_> {
        Box::pin(async move {
            let connection =
                Connection::connect(&self.options.amqp_url, ConnectionProperties::default())
                    .await?;
            let channel = connection.create_channel().await?;
            // As the original client does: the request queue exists whether or
            // not a server has started yet, so requests wait for it.
            channel
                .queue_declare(
                    self.options.namespace.request_queue().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
            let reply_queue = channel
                .queue_declare(
                    "".into(),
                    QueueDeclareOptions {
                        exclusive: true,
                        auto_delete: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?
                .name()
                .as_str()
                .to_owned();
            let replies = channel
                .basic_consume(
                    reply_queue.as_str().into(),
                    "".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await?;
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

    async fn consume_mailbox(
        self: &Arc<Self>,
        link: &Link,
        mailbox: Mailbox,
    ) -> Result<(), ClientError> {
        let consumer = link
            .channel
            .basic_consume(
                mailbox.queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        tokio::spawn(route_mailbox(self.clone(), consumer, mailbox));
        Ok(())
    }
}

/// Routes replies while the connection lives, then connects again (with
/// backoff) unless the client was closed.
async fn supervise(shared: Arc<Shared>, mut replies: Consumer) {
    while let Some(Ok(delivery)) = replies.next().await {
        match serde_json::from_slice::<Reply>(&delivery.data) {
            Ok(reply) => {
                if let Some(reply) = shared.complete(reply) {
                    tracing::debug!(method = %reply.method, "a reply nobody waits for");
                }
            }
            Err(e) => tracing::warn!("an unreadable reply: {e}"),
        }
    }
    shared.set_link(None);
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

async fn route_mailbox(shared: Arc<Shared>, mut consumer: Consumer, mailbox: Mailbox) {
    while let Some(Ok(delivery)) = consumer.next().await {
        let message: Value = serde_json::from_slice(&delivery.data).unwrap_or(Value::Null);
        let is_reply = message["method"]
            .as_str()
            .is_some_and(|m| m.ends_with("_reply"));
        if is_reply {
            match serde_json::from_value::<Reply>(message) {
                Ok(reply) => {
                    let _ = shared.complete(reply);
                }
                Err(e) => tracing::warn!("an unreadable reply: {e}"),
            }
        } else {
            match serde_json::from_value::<DeliveryMessage>(message) {
                Ok(message) => {
                    let fresh = match &message.message_id {
                        Some(id) => lock(&mailbox.seen).first_time(id),
                        None => true,
                    };
                    if let Some(event) = Event::from_wire(message).filter(|_| fresh)
                        && mailbox.events.send(event).await.is_err()
                    {
                        // Nobody listens any more: leave the rest queued.
                        return;
                    }
                }
                Err(e) => tracing::warn!("an unreadable message in the mailbox: {e}"),
            }
        }
        // Acknowledged once handed over, so a crash before leaves it queued.
        let _ = delivery.acker.ack(BasicAckOptions::default()).await;
    }
}

/// A connection to an ngobrol server, not yet logged in.
///
/// It reconnects by itself when the broker goes away, and resumes
/// consuming every logged-in user's queue; requests in flight meanwhile
/// are sent again (see [`ClientOptions::retries`]).
#[derive(Debug)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// Connects to the broker and prepares a private reply queue.
    pub async fn connect(options: ClientOptions) -> Result<Self, ClientError> {
        let shared = Arc::new(Shared {
            options,
            link: RwLock::new(None),
            waiting: Mutex::default(),
            mailboxes: Mutex::default(),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        });
        shared.open_link().await?;
        Ok(Self { shared })
    }

    /// Registers a new user.
    pub async fn register(&self, username: &str, password: &str) -> Result<(), ClientError> {
        let request = Request::Register(Register {
            username: username.to_owned(),
            password: password.to_owned(),
            queue_name: None,
        });
        self.shared.call(request).await.map(drop)
    }

    /// Logs in, and starts receiving the user's messages.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Session, Events), ClientError> {
        let request = Request::Login(Login {
            username: username.to_owned(),
            password: password.to_owned(),
            queue_name: None,
        });
        let reply = self.shared.call(request).await?;
        let token = reply.token.unwrap_or_default();
        let (sender, receiver) = mpsc::channel(1024);
        let mailbox = Mailbox {
            queue: format!("{}_{}", self.shared.options.namespace, username),
            events: sender,
            seen: Arc::default(),
        };
        lock(&self.shared.mailboxes).push(mailbox.clone());
        let link = self.shared.link().ok_or(ClientError::Disconnected)?;
        self.shared.consume_mailbox(&link, mailbox).await?;
        let session = Session {
            shared: self.shared.clone(),
            username: username.to_owned(),
            token,
        };
        Ok((session, Events { receiver }))
    }

    /// Closes the connection; sessions made by this client stop working.
    pub async fn close(self) -> Result<(), ClientError> {
        self.shared.closed.store(true, Ordering::Relaxed);
        if let Some(link) = self.shared.link() {
            link.connection.close(200, "bye".into()).await?;
        }
        Ok(())
    }
}

/// A logged-in user: every operation that needs a token. Cheap to clone;
/// clones share the connection.
#[derive(Clone, Debug)]
pub struct Session {
    shared: Arc<Shared>,
    username: String,
    token: String,
}

impl Session {
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Makes `friend` and this user friends of each other.
    pub async fn add_friend(&self, friend: &str) -> Result<(), ClientError> {
        self.shared
            .call(Request::AddFriend(AddFriend {
                username_from: self.username.clone(),
                username_to: friend.to_owned(),
                token: self.token.clone(),
            }))
            .await
            .map(drop)
    }

    /// This user's friends.
    pub async fn friends(&self) -> Result<Vec<String>, ClientError> {
        let reply = self
            .shared
            .call(Request::GetFriend(GetFriend {
                username: self.username.clone(),
                token: self.token.clone(),
            }))
            .await?;
        Ok(reply.usernames.unwrap_or_default())
    }

    /// Creates a group; returns its id when the server says it (ngobrol
    /// does; the original server did not).
    pub async fn create_group(&self, name: &str) -> Result<Option<i64>, ClientError> {
        let reply = self
            .shared
            .call(Request::CreateGroup(CreateGroup {
                username: self.username.clone(),
                group_name: name.to_owned(),
                token: self.token.clone(),
            }))
            .await?;
        Ok(reply.group_id)
    }

    /// The groups this user is a member of.
    pub async fn groups(&self) -> Result<Vec<GroupEntry>, ClientError> {
        let reply = self
            .shared
            .call(Request::GetGroup(GetGroup {
                username: self.username.clone(),
                token: self.token.clone(),
            }))
            .await?;
        Ok(reply.groups.unwrap_or_default())
    }

    /// Adds `user` to a group this user is the admin of.
    pub async fn add_member(&self, group_id: i64, user: &str) -> Result<(), ClientError> {
        self.shared
            .call(Request::AddMemberToGroup(AddMemberToGroup {
                username_adder: self.username.clone(),
                username_to_add: user.to_owned(),
                group_id,
                token: self.token.clone(),
            }))
            .await
            .map(drop)
    }

    /// Leaves a group.
    pub async fn quit_group(&self, group_id: i64) -> Result<(), ClientError> {
        self.shared
            .call(Request::QuitFromGroup(QuitFromGroup {
                username: self.username.clone(),
                group_id,
                token: self.token.clone(),
            }))
            .await
            .map(drop)
    }

    /// Sends a message to a friend; returns its id when the server gives
    /// one.
    pub async fn send_direct(&self, to: &str, text: &str) -> Result<Option<String>, ClientError> {
        let reply = self
            .shared
            .call(Request::SendClient(SendClient {
                username_from: self.username.clone(),
                username_to: to.to_owned(),
                message: text.to_owned(),
                token: self.token.clone(),
            }))
            .await?;
        Ok(reply.message_id)
    }

    /// Revokes this session's token: every clone of the session stops
    /// working.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.shared
            .call(Request::Logout(Logout {
                username: self.username.clone(),
                token: self.token.clone(),
            }))
            .await
            .map(drop)
    }

    /// Sends a message to a group this user is in.
    pub async fn send_group(
        &self,
        group_id: i64,
        text: &str,
    ) -> Result<Option<String>, ClientError> {
        let reply = self
            .shared
            .call(Request::SendGroup(SendGroup {
                username_from: self.username.clone(),
                group_id_to: group_id,
                message: text.to_owned(),
                token: self.token.clone(),
            }))
            .await?;
        Ok(reply.message_id)
    }
}
