//! The server adapter: consumes the request queue, calls the chat service,
//! publishes replies.
//!
//! One request's life:
//! 1. the broker delivers it from `<ns>` (manual acknowledgement, at most
//!    `prefetch` unacknowledged at once);
//! 2. it is decoded, then queued to the lane of its acting user, so that
//!    one user's requests run in order while different users' run at once;
//! 3. the lane runs it against the [`ChatService`]: store writes, then
//!    deliveries, each confirmed by the broker;
//! 4. the reply is published and confirmed;
//! 5. only then is the request acknowledged. A crash at any point before
//!    leaves it unacknowledged, and the broker delivers it again.

use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use ngobrol_core::{Auth, ChatError, ChatService, GroupId, GroupName, Password, Token, Username};
use serde::Deserialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::names::Namespace;
use crate::outbound::{AmqpOutbound, json_properties};
use crate::wire::{DecodeError, Envelope, GroupEntry, Reply, Request, decode_request};

/// How the server talks to the broker. `Default` gives production values
/// for a broker on this machine.
#[derive(Clone)]
pub struct ServerConfig {
    /// The broker, as an AMQP URI. May hold a password: never printed.
    pub amqp_url: String,
    pub namespace: Namespace,
    /// The most requests delivered and not yet acknowledged: the bound on
    /// the work (and memory) in flight inside the server.
    pub prefetch: u16,
    /// How many requests run at once. Requests are spread over lanes by
    /// acting user; each lane runs its requests one after another.
    pub lanes: usize,
    /// Request bodies larger than this are refused unread.
    pub max_body_bytes: usize,
    /// The first wait before connecting again; it doubles up to
    /// `max_reconnect_delay`.
    pub reconnect_delay: Duration,
    pub max_reconnect_delay: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            amqp_url: "amqp://guest:guest@127.0.0.1:5672/%2f".into(),
            namespace: Namespace::default(),
            prefetch: 64,
            lanes: 32,
            max_body_bytes: 512 * 1024,
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("namespace", &self.namespace)
            .field("prefetch", &self.prefetch)
            .field("lanes", &self.lanes)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, for logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

/// Why the server stopped serving a connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("cannot restore group routing: {0}")]
    Routing(ChatError),
    #[error("the broker cancelled the request consumer")]
    ConsumerEnded,
}

/// The chat service served over RabbitMQ.
#[derive(Debug)]
pub struct Server {
    handler: Handler,
    config: ServerConfig,
    ready: watch::Sender<bool>,
}

impl Server {
    /// A server for `service`, whose outbound port must be `outbound`.
    pub fn new(service: ChatService, outbound: Arc<AmqpOutbound>, config: ServerConfig) -> Self {
        let handler = Handler {
            service,
            outbound,
            names: config.namespace.clone(),
        };
        Self {
            handler,
            config,
            ready: watch::channel(false).0,
        }
    }

    /// True while the server is consuming requests; watch it to know when
    /// a freshly started server is ready.
    pub fn ready(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }

    /// Serves until `shutdown` completes, connecting to the broker (and
    /// connecting again after the connection is lost) with backoff. On
    /// shutdown it stops consuming, finishes the requests in flight, and
    /// closes the connection.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        let url = redact_url(&self.config.amqp_url);
        let mut delay = self.config.reconnect_delay;
        loop {
            let connect =
                Connection::connect(&self.config.amqp_url, ConnectionProperties::default());
            let connection = tokio::select! {
                () = shutdown.as_mut() => return,
                connection = connect => connection,
            };
            match connection {
                Ok(connection) => {
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

    /// Serves on one connection. Ok when `shutdown` completed; an error
    /// when the connection failed.
    async fn serve(
        &self,
        connection: Connection,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
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

        let channel = connection.create_channel().await?;
        channel
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
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
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;

        let lanes = self.config.lanes.max(1);
        let mut senders = Vec::with_capacity(lanes);
        let mut workers = JoinSet::new();
        for _ in 0..lanes {
            let (sender, mut receiver) =
                mpsc::channel::<Job>(usize::from(self.config.prefetch.max(1)));
            senders.push(sender);
            let handler = self.handler.clone();
            workers.spawn(async move {
                while let Some(job) = receiver.recv().await {
                    // A bug in one request must not take its lane down.
                    // The request stays unacknowledged and comes back when
                    // the channel closes.
                    let handled = std::panic::AssertUnwindSafe(handler.handle(job));
                    if handled.catch_unwind().await.is_err() {
                        error!("a request handler panicked; the request was left unacknowledged");
                    }
                }
            });
        }
        let hasher = std::collections::hash_map::RandomState::new();
        self.ready.send_replace(true);
        info!(queue, "serving requests");

        let outcome = loop {
            tokio::select! {
                () = shutdown.as_mut() => break Ok(()),
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let job = Job::new(delivery, self.config.max_body_bytes);
                        let lane = match job.lane_key() {
                            Some(key) => (hasher.hash_one(key) % lanes as u64) as usize,
                            None => (job.delivery.delivery_tag % lanes as u64) as usize,
                        };
                        if senders[lane].send(job).await.is_err() {
                            break Err(ServerError::ConsumerEnded);
                        }
                    }
                    Some(Err(e)) => break Err(e.into()),
                    None => break Err(ServerError::ConsumerEnded),
                },
            }
        };
        self.ready.send_replace(false);

        if outcome.is_ok() {
            info!("shutting down: no new requests; finishing those in flight");
            if let Err(e) = channel
                .basic_cancel(consumer.tag(), BasicCancelOptions::default())
                .await
            {
                warn!("cannot cancel the request consumer: {e}");
            }
        }
        drop(senders);
        while workers.join_next().await.is_some() {}
        self.handler.outbound.detach();
        if outcome.is_ok() {
            let _ = channel.close(200, "shutdown".into()).await;
            let _ = connection.close(200, "shutdown".into()).await;
            info!("stopped");
        }
        outcome
    }
}

/// One request as delivered, decoded once.
struct Job {
    delivery: AmqpDelivery,
    decoded: Result<Envelope, Box<DecodeError>>,
}

impl Job {
    fn new(delivery: AmqpDelivery, max_body_bytes: usize) -> Self {
        let decoded = if delivery.data.len() > max_body_bytes {
            Err(Box::new(oversized(&delivery.data, max_body_bytes)))
        } else {
            decode_request(&delivery.data)
        };
        Self { delivery, decoded }
    }

    /// What orders this request: its acting user's name.
    fn lane_key(&self) -> Option<&str> {
        match &self.decoded {
            Ok(envelope) => Some(envelope.request.acting_user()),
            Err(error) => error.acting_user.as_deref(),
        }
    }
}

/// The error for a body over the limit, with the few fields needed to
/// address the reply, read without keeping anything else of the body.
fn oversized(body: &[u8], limit: usize) -> DecodeError {
    #[derive(Deserialize)]
    struct Hints {
        method: Option<String>,
        queue_name: Option<String>,
        username: Option<String>,
        username_from: Option<String>,
        username_adder: Option<String>,
        token: Option<String>,
    }
    let mut error = DecodeError::too_large(body.len(), limit);
    if let Ok(hints) = serde_json::from_slice::<Hints>(body) {
        error.method = hints
            .method
            .filter(|m| m.len() <= 64 && m.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
        error.queue_name = hints.queue_name;
        error.acting_user = hints
            .username
            .or(hints.username_from)
            .or(hints.username_adder);
        error.token = hints.token;
    }
    error
}

/// Runs requests and publishes their replies. Cloned into every lane.
#[derive(Clone, Debug)]
struct Handler {
    service: ChatService,
    outbound: Arc<AmqpOutbound>,
    names: Namespace,
}

impl Handler {
    async fn handle(&self, job: Job) {
        let Job { delivery, decoded } = job;
        let properties = &delivery.properties;
        let reply_to = properties
            .reply_to()
            .as_ref()
            .map(|q| q.as_str().to_owned())
            .filter(|q| !q.is_empty());
        let (reply, fallback) = match decoded {
            Ok(Envelope {
                request,
                request_id,
            }) => {
                let target = self.reply_queue(&request);
                let reply = self.execute(request).await.with_request_id(request_id);
                (reply, target)
            }
            Err(error) => {
                warn!(
                    code = error.code,
                    "refused a request: {}", error.description
                );
                let target = self.decode_error_queue(&error).await;
                (Reply::from_decode_error(&error), target)
            }
        };
        if let Some(queue) = reply_to.or(fallback) {
            let mut reply_properties = json_properties();
            if let Some(id) = properties.correlation_id() {
                reply_properties = reply_properties.with_correlation_id(id.clone());
            }
            if let Err(e) = self
                .outbound
                .publish("", &queue, &reply.encode(), reply_properties, false)
                .await
            {
                // Not acknowledged: the broker will deliver the request
                // again, to this server once reconnected or to another.
                error!(method = %reply.method, "cannot publish a reply ({e}); the request will be retried");
                let _ = delivery
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..BasicNackOptions::default()
                    })
                    .await;
                return;
            }
        } else {
            info!(method = %reply.method, "the request gave no address to reply to");
        }
        if let Err(e) = delivery.acker.ack(BasicAckOptions::default()).await {
            warn!("cannot acknowledge a request ({e}); the broker will deliver it again");
        }
    }

    /// Where a well-formed request's reply goes (unless the message names
    /// its own `reply_to`): `queue_name` for register and login, as the
    /// original protocol has it; the acting user's queue for the rest.
    fn reply_queue(&self, request: &Request) -> Option<String> {
        match request {
            Request::Register(r) => usable_queue_name(r.queue_name.as_deref()),
            Request::Login(r) => usable_queue_name(r.queue_name.as_deref()),
            other => Username::parse(other.acting_user())
                .ok()
                .map(|user| self.names.user_queue(&user)),
        }
    }

    /// Where the error reply to an undecodable request goes: its
    /// `queue_name`, or the queue of the user it names if its token checks
    /// out (so nobody can post errors into another user's queue).
    async fn decode_error_queue(&self, error: &DecodeError) -> Option<String> {
        if let Some(queue) = usable_queue_name(error.queue_name.as_deref()) {
            return Some(queue);
        }
        let user = Username::parse(error.acting_user.clone()?).ok()?;
        let token = Token::parse(error.token.clone()?).ok()?;
        let auth = Auth::new(user, token);
        self.service.authenticate(&auth).await.ok()?;
        Some(self.names.user_queue(&auth.user))
    }

    async fn execute(&self, request: Request) -> Reply {
        let method = request.method();
        let user = request.acting_user().to_owned();
        match self.try_execute(request).await {
            Ok(reply) => {
                debug!(method, %user, "ok");
                reply
            }
            Err(e) => {
                if let ChatError::Internal(detail) = &e {
                    error!(method, %user, "internal error: {detail}");
                } else {
                    debug!(method, %user, code = e.code(), "refused");
                }
                Reply::from_error(method, &e)
            }
        }
    }

    async fn try_execute(&self, request: Request) -> Result<Reply, ChatError> {
        let chat = &self.service;
        let reply = match request {
            Request::Register(r) => {
                let user = Username::parse(r.username)?;
                chat.register(&user, &Password::new(r.password)).await?;
                Reply::ok("register", format!("registered {user}"))
            }
            Request::Login(r) => {
                let user = Username::parse(r.username)?;
                let token = chat.login(&user, &Password::new(r.password)).await?;
                let mut reply = Reply::ok("login", format!("logged in as {user}"));
                reply.token = Some(token.expose().to_owned());
                reply
            }
            Request::AddFriend(r) => {
                let auth = auth(r.username_from, r.token)?;
                let friend = Username::parse(r.username_to)?;
                chat.add_friend(&auth, &friend).await?;
                Reply::ok("add_friend", format!("{friend} is now your friend"))
            }
            Request::GetFriend(r) => {
                let friends = chat.friends(&auth(r.username, r.token)?).await?;
                let mut reply = Reply::ok("get_friend", format!("{} friends", friends.len()));
                reply.usernames = Some(friends.into_iter().map(Username::into_string).collect());
                reply
            }
            Request::CreateGroup(r) => {
                let auth = auth(r.username, r.token)?;
                let group = chat
                    .create_group(&auth, &GroupName::parse(r.group_name)?)
                    .await?;
                let mut reply = Reply::ok(
                    "create_group",
                    format!("created group {} with id {}", group.name, group.id),
                );
                reply.group_id = Some(group.id.get());
                reply
            }
            Request::GetGroup(r) => {
                let groups = chat.groups(&auth(r.username, r.token)?).await?;
                let mut reply = Reply::ok("get_group", format!("{} groups", groups.len()));
                reply.groups = Some(
                    groups
                        .into_iter()
                        .map(|g| GroupEntry {
                            group_name: g.name.as_str().to_owned(),
                            group_id: g.id.get(),
                        })
                        .collect(),
                );
                reply
            }
            Request::AddMemberToGroup(r) => {
                let auth = auth(r.username_adder, r.token)?;
                let member = Username::parse(r.username_to_add)?;
                let group = GroupId::new(r.group_id);
                chat.add_member(&auth, group, &member).await?;
                Reply::ok(
                    "add_member_to_group",
                    format!("added {member} to group {group}"),
                )
            }
            Request::QuitFromGroup(r) => {
                let group = GroupId::new(r.group_id);
                chat.quit_group(&auth(r.username, r.token)?, group).await?;
                Reply::ok("quit_from_group", format!("you left group {group}"))
            }
            Request::SendClient(r) => {
                let auth = auth(r.username_from, r.token)?;
                let to = Username::parse(r.username_to)?;
                let delivery = chat
                    .send_direct(&auth, &to, chat.message_text(r.message)?)
                    .await?;
                let mut reply = Reply::ok("send_client", format!("message sent to {to}"));
                reply.message_id = Some(delivery.id.to_string());
                reply
            }
            Request::SendGroup(r) => {
                let auth = auth(r.username_from, r.token)?;
                let group = GroupId::new(r.group_id_to);
                let text = chat.message_text(r.message)?;
                let delivery = chat.send_group(&auth, group, text).await?;
                let mut reply = Reply::ok("send_group", format!("message sent to group {group}"));
                reply.message_id = Some(delivery.id.to_string());
                reply
            }
            Request::Logout(r) => {
                chat.logout(&auth(r.username, r.token)?).await?;
                Reply::ok("logout", "logged out; the token no longer works")
            }
        };
        Ok(reply)
    }
}

fn auth(user: String, token: String) -> Result<Auth, ChatError> {
    Ok(Auth::new(Username::parse(user)?, Token::parse(token)?))
}

/// A client-given queue name the broker could accept.
fn usable_queue_name(name: Option<&str>) -> Option<String> {
    name.filter(|n| !n.is_empty() && n.len() <= 255)
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("amqp://guest:guest@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact_url("amqp://127.0.0.1:5672"), "amqp://127.0.0.1:5672");
        assert_eq!(redact_url("data.sqlite3"), "data.sqlite3");
    }
}
