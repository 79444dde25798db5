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
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};
use ngobrol_core::{
    Auth, ChatError, ChatService, GroupId, GroupName, Password, PortError, RequestKey, Token,
    Username,
};
use serde::Deserialize;
use serde_json::Value;
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
    /// How long the reply to a request that a client named (with
    /// `request_id` or the AMQP `message_id`) is remembered, so that the
    /// same request seen again is answered without taking effect twice.
    pub dedup_window: Duration,
    /// The most replies remembered for that; the oldest go first.
    pub dedup_capacity: u64,
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
            dedup_window: Duration::from_secs(3600),
            dedup_capacity: 100_000,
            reconnect_delay: Duration::from_millis(250),
            max_reconnect_delay: Duration::from_secs(2),
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
        for name in [queue.clone(), self.config.namespace.dead_letter_queue()] {
            channel
                .queue_declare(
                    name.into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
        }
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let pruning = tokio::spawn(prune_replies(
            self.handler.service.clone(),
            self.config.dedup_window,
            self.config.dedup_capacity,
        ));

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
                    handler.handle(job).await;
                }
            });
        }
        let auth_permits = Arc::new(tokio::sync::Semaphore::new(lanes));
        let hasher = std::collections::hash_map::RandomState::new();
        self.ready.send_replace(true);
        info!(queue, "serving requests");

        let outcome = loop {
            tokio::select! {
                () = shutdown.as_mut() => break Ok(()),
                next = consumer.next() => match next {
                    Some(Ok(delivery)) => {
                        let job = Job::new(delivery, self.config.max_body_bytes);
                        if job.is_authentication() {
                            // Password hashing takes tens of milliseconds:
                            // registrations and logins run beside the lanes,
                            // so a login storm does not hold up messages.
                            // The permit is awaited inside the task, never
                            // here: the prefetch already bounds how many
                            // wait, and the dispatcher must not stall.
                            let permits = auth_permits.clone();
                            let handler = self.handler.clone();
                            workers.spawn(async move {
                                let _permit = permits.acquire_owned().await;
                                handler.handle(job).await;
                            });
                            continue;
                        }
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
        pruning.abort();

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

/// Forgets old replies of named requests now and then, so the
/// de-duplication window stays bounded in time and size.
async fn prune_replies(service: ChatService, window: Duration, keep: u64) {
    let mut every = tokio::time::interval(Duration::from_secs(60).min(window));
    loop {
        every.tick().await;
        match service.prune_replies(window, keep).await {
            Ok(0) => {}
            Ok(forgotten) => debug!(forgotten, "pruned remembered replies"),
            Err(e) => warn!("cannot prune remembered replies: {e}"),
        }
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

    /// Whether this is a registration or a login: slow (password
    /// hashing), and needing no order with the user's other requests,
    /// since a client waits for the login reply before it does anything.
    fn is_authentication(&self) -> bool {
        matches!(
            &self.decoded,
            Ok(Envelope {
                request: Request::Register(_) | Request::Login(_),
                ..
            })
        )
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

/// What becomes of a request once handled.
#[derive(Debug, PartialEq, Eq)]
enum Disposition {
    /// Done (answered, or nothing to answer): acknowledge.
    Done,
    /// Not done because the broker failed us: let the broker deliver it
    /// again.
    Retry,
    /// Cannot ever be served: keep it in the dead-letter queue, then
    /// acknowledge.
    DeadLetter(String),
}

/// Client ids longer than this are not used for de-duplication.
const MAX_REQUEST_ID_LEN: usize = 200;

/// Runs requests and publishes their replies. Cloned into every lane.
#[derive(Clone, Debug)]
struct Handler {
    service: ChatService,
    outbound: Arc<AmqpOutbound>,
    names: Namespace,
}

impl Handler {
    /// Handles one request and settles it with the broker. A panic while
    /// handling is caught: the request goes to the dead-letter queue
    /// instead of coming back forever.
    async fn handle(&self, job: Job) {
        let Job { delivery, decoded } = job;
        let handled = std::panic::AssertUnwindSafe(self.process(&delivery.properties, decoded));
        let disposition = handled.catch_unwind().await.unwrap_or_else(|_| {
            error!("a request handler panicked; the request goes to the dead-letter queue");
            Disposition::DeadLetter("the server failed while handling it".into())
        });
        self.settle(&delivery, disposition).await;
    }

    async fn settle(&self, delivery: &AmqpDelivery, disposition: Disposition) {
        let settled = match disposition {
            Disposition::Done => delivery.acker.ack(BasicAckOptions::default()).await,
            Disposition::Retry => {
                let requeue = BasicNackOptions {
                    requeue: true,
                    ..BasicNackOptions::default()
                };
                delivery.acker.nack(requeue).await
            }
            Disposition::DeadLetter(reason) => {
                let mut headers = FieldTable::default();
                headers.insert(
                    "x-ngobrol-reason".into(),
                    AMQPValue::LongString(reason.as_str().into()),
                );
                let properties = delivery
                    .properties
                    .clone()
                    .with_headers(headers)
                    .with_delivery_mode(2);
                let queue = self.names.dead_letter_queue();
                match self
                    .outbound
                    .publish("", &queue, &delivery.data, properties, false)
                    .await
                {
                    Ok(_) => {
                        warn!(%reason, queue, "a request was moved to the dead-letter queue");
                        delivery.acker.ack(BasicAckOptions::default()).await
                    }
                    Err(e) => {
                        error!("cannot dead-letter a request ({e}); it will be retried");
                        let requeue = BasicNackOptions {
                            requeue: true,
                            ..BasicNackOptions::default()
                        };
                        delivery.acker.nack(requeue).await
                    }
                }
            }
        };
        if let Err(e) = settled {
            warn!("cannot settle a request with the broker ({e}); it will be delivered again");
        }
    }

    /// Runs a request and publishes its reply.
    async fn process(
        &self,
        properties: &BasicProperties,
        decoded: Result<Envelope, Box<DecodeError>>,
    ) -> Disposition {
        let reply_to = properties
            .reply_to()
            .as_ref()
            .map(|q| q.as_str().to_owned())
            .filter(|q| !q.is_empty());
        let (reply, fallback, disposition) = match decoded {
            Ok(envelope) => {
                let fallback = self.reply_queue(&envelope.request);
                let reply = self.answer(envelope, properties).await;
                (reply, fallback, Disposition::Done)
            }
            Err(error) => {
                warn!(
                    code = error.code,
                    "refused a request: {}", error.description
                );
                let fallback = self.decode_error_queue(&error).await;
                let reply = Reply::from_decode_error(&error).encode();
                let reason = format!("{}: {}", error.code, error.description);
                (reply, fallback, Disposition::DeadLetter(reason))
            }
        };
        let Some(queue) = reply_to.or(fallback) else {
            debug!("the request gave no address to reply to");
            return disposition;
        };
        let mut reply_properties = json_properties();
        if let Some(id) = properties.correlation_id() {
            reply_properties = reply_properties.with_correlation_id(id.clone());
        }
        match self
            .outbound
            .publish("", &queue, &reply, reply_properties, false)
            .await
        {
            Ok(_) => disposition,
            Err(PortError::Rejected(e)) => {
                // The reply's queue is full (a length limit): the request
                // took effect; trying again would change nothing.
                warn!("a reply was refused ({e}); the request is done without it");
                disposition
            }
            Err(e) => {
                // Not acknowledged: the broker will deliver the request
                // again, to this server once reconnected or to another.
                // A request it names is then answered from the record.
                error!("cannot publish a reply ({e}); the request will be retried");
                Disposition::Retry
            }
        }
    }

    /// The encoded reply to a well-formed request: the one recorded for it
    /// if the client named it and it was seen before, else a new one.
    async fn answer(&self, envelope: Envelope, properties: &BasicProperties) -> Vec<u8> {
        let Envelope {
            request,
            request_id,
        } = envelope;
        let key = request_key(&request, request_id.as_ref(), properties);
        // Only authenticated requests that change something are
        // de-duplicated: their replies are given back only to a request with
        // a valid token of the same user, and reading twice is harmless.
        let changes = !matches!(request, Request::GetFriend(_) | Request::GetGroup(_));
        let credentials = match (&key, request.token()) {
            (Some(key), Some(token)) if changes => Username::parse(request.acting_user())
                .ok()
                .zip(Token::parse(token).ok())
                .map(|(user, token)| (key.clone(), Auth::new(user, token))),
            _ => None,
        };
        if let Some((key, auth)) = &credentials {
            if let Ok(Some(reply)) = self.service.recorded_reply(auth, key).await {
                info!(
                    method = request.method(),
                    user = %key.user,
                    "a repeated request; answering with its first reply"
                );
                return reply;
            }
        }
        let method = request.method();
        let reply = self
            .execute(request, key.as_ref().map(|k| k.request_id.clone()))
            .await
            .with_request_id(request_id);
        let encoded = reply.encode();
        let lasting = !matches!(
            reply.code.as_deref(),
            Some("internal" | "rate_limited" | "invalid_token" | "mailbox_full")
        );
        if let (Some((key, _)), true) = (&credentials, lasting) {
            if let Err(e) = self.service.record_reply(key, &encoded).await {
                warn!(method, "cannot record a reply for de-duplication: {e}");
            }
        }
        encoded
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

    async fn execute(&self, request: Request, request_id: Option<String>) -> Reply {
        let method = request.method();
        let user = request.acting_user().to_owned();
        match self.try_execute(request, request_id).await {
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

    async fn try_execute(
        &self,
        request: Request,
        request_id: Option<String>,
    ) -> Result<Reply, ChatError> {
        let chat = &self.service;
        let auth = |user: String, token: String| {
            auth(user, token).map(|a| a.with_request_id(request_id.clone()))
        };
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

/// The key that identifies a request its client named: the acting user
/// and the `request_id` (as JSON text, so `"7"` and `7` differ), or else
/// the AMQP `message_id`.
fn request_key(
    request: &Request,
    request_id: Option<&Value>,
    properties: &BasicProperties,
) -> Option<RequestKey> {
    let id = match request_id {
        Some(id) => id.to_string(),
        None => format!("amqp:{}", properties.message_id().as_ref()?.as_str()),
    };
    (id.len() <= MAX_REQUEST_ID_LEN).then(|| RequestKey {
        user: request.acting_user().to_owned(),
        request_id: id,
    })
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
