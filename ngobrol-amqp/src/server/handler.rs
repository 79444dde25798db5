//! Handling one request: run it (or answer it from the record), publish
//! the reply where it belongs, and settle it with the broker.

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use lapin::BasicProperties;
use ngobrol_core::{Auth, ChatError, ChatService, PortError, RequestKey, Token, Username};
use tracing::{debug, error, warn};

use super::dedup::{Recorded, fingerprint, record as record_with, recorded_under, request_key};
use super::dispatch::Job;
use super::execute::{Answer, Context};
use super::hints::find_field;
use super::outbound::{AmqpOutbound, json_properties};
use super::pipeline::{Prepared, Tail, Turn};
use super::settle::{DeadLetter, Disposition};
use crate::methods::Request;
use crate::names::Namespace;
use crate::wire::{DecodeError, Envelope, Language, Reply};

/// Runs requests and publishes their replies. Cloned into every lane.
#[derive(Clone, Debug)]
pub(super) struct Handler {
    pub service: ChatService,
    pub outbound: Arc<AmqpOutbound>,
    pub names: Namespace,
    /// The language of the server's sentences, unless a request asks for
    /// another.
    pub language: Language,
    /// Isolated mode's check of each request's broker user, if on.
    pub isolation: Option<super::Isolation>,
}

impl Handler {
    /// Handles one request and settles it with the broker. A panic while
    /// handling is caught: the request goes to the dead-letter queue
    /// instead of coming back forever.
    pub async fn handle(&self, job: Job) {
        let Job {
            delivery,
            decoded,
            hold: _hold,
        } = job;
        let handled = std::panic::AssertUnwindSafe(self.process(&delivery.properties, decoded));
        let disposition = handled.catch_unwind().await.unwrap_or_else(|_| {
            error!("a request handler panicked; the request goes to the dead-letter queue");
            Disposition::dead_letter("the server failed while handling it")
        });
        self.settle(&delivery, disposition).await;
    }

    /// Runs a request and publishes its reply.
    async fn process(
        &self,
        properties: &BasicProperties,
        decoded: Result<Envelope, Box<DecodeError>>,
    ) -> Disposition {
        let started = Instant::now();
        let reply_to = private_reply_to(properties);
        let (reply, fallback, disposition, counted) = match decoded {
            Ok(envelope) => {
                let own_queue = self.reply_queue(&envelope.request);
                let named = envelope.request_id.is_some();
                let method = envelope.request.method();
                let (answer, record) = self.answer(envelope, properties).await;
                self.remember(method, record, &answer).await;
                // A request whose token did not check out proves no claim
                // to the user's queue; only the original client (which
                // names no request) is still told there, since it must
                // learn that its token expired.
                let fallback = own_queue.filter(|_| !(answer.refused_token && named));
                let counted = (method, answer.code);
                (answer.reply, fallback, Disposition::Done, counted)
            }
            Err(error) => {
                warn!(
                    code = error.code,
                    "refused a request: {}", error.description
                );
                let fallback = self.decode_error_queue(&error).await;
                let reply = Reply::from_decode_error_in(self.language, &error).encode();
                let letter = DeadLetter {
                    reason: format!("{}: {}", error.code, error.description),
                    keep_body: error.code != "payload_too_large",
                };
                let counted = (super::metrics::UNDECODED, error.code);
                (reply, fallback, Disposition::DeadLetter(letter), counted)
            }
        };
        let disposition = match reply_to.or(fallback) {
            Some(queue) => {
                self.send_reply(&queue, &reply, properties, disposition)
                    .await
            }
            None => {
                debug!("the request gave no address to reply to");
                disposition
            }
        };
        super::metrics::request(counted.0, counted.1, started.elapsed());
        disposition
    }

    /// Publishes `reply`; the request's disposition if that worked, or if
    /// the reply's queue refused it (the request took effect; trying again
    /// would change nothing), else a retry.
    async fn send_reply(
        &self,
        queue: &str,
        reply: &[u8],
        properties: &BasicProperties,
        disposition: Disposition,
    ) -> Disposition {
        match self.publish_reply(queue, reply, properties).await {
            Ok(()) => disposition,
            Err(PortError::Rejected(e)) => {
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

    /// Answers a registration or login `busy` without looking at it: the
    /// server has as many in hand as it takes.
    pub async fn refuse_busy(&self, job: Job) {
        let Job {
            delivery,
            decoded,
            hold: _hold,
        } = job;
        let started = Instant::now();
        let disposition = match decoded {
            Ok(envelope) => {
                super::metrics::request(envelope.request.method(), "busy", started.elapsed());
                let refusal = ChatError::Busy {
                    retry_after: BUSY_RETRY,
                };
                let lang = envelope.lang.unwrap_or(self.language);
                let reply = Reply::from_error_in(lang, envelope.request.method(), &refusal)
                    .with_request_id(envelope.request_id.clone())
                    .encode();
                let address = private_reply_to(&delivery.properties)
                    .or_else(|| self.reply_queue(&envelope.request));
                match address {
                    Some(queue) => {
                        let properties = &delivery.properties;
                        self.send_reply(&queue, &reply, properties, Disposition::Done)
                            .await
                    }
                    None => Disposition::Done,
                }
            }
            Err(_) => Disposition::Done,
        };
        self.settle(&delivery, disposition).await;
    }

    async fn publish_reply(
        &self,
        queue: &str,
        reply: &[u8],
        request: &BasicProperties,
    ) -> Result<(), PortError> {
        self.outbound
            .publish("", queue, reply, reply_properties(request), false)
            .await
            .map(drop)
    }

    /// Publishes `reply` without waiting for the broker's confirm.
    pub(super) async fn send_reply_unconfirmed(
        &self,
        queue: &str,
        reply: &[u8],
        request: &BasicProperties,
    ) -> Result<lapin::PublisherConfirm, PortError> {
        let properties = reply_properties(request);
        self.outbound
            .send("", queue, reply, properties, false)
            .await
    }

    /// The key under which a pipelined request runs (`Some(None)` for an
    /// unnamed one), or `None` if it does not run pipelined: only
    /// messages do.
    pub(super) fn pipelined_key(&self, job: &Job) -> Option<Option<RequestKey>> {
        let envelope = job.decoded.as_ref().ok()?;
        let request = &envelope.request;
        if !matches!(request, Request::SendClient(_) | Request::SendGroup(_)) {
            return None;
        }
        let properties = &job.delivery.properties;
        let key = request_key(request, envelope.request_id.as_ref(), properties);
        Some(recorded_under(request, key.as_ref()).map(|(key, _)| key))
    }

    /// Runs a pipelined request up to its deliveries' publication; the
    /// lane's later stages confirm, reply and settle it.
    pub(super) async fn start(
        &self,
        job: Job,
        seq: u64,
        key: Option<RequestKey>,
        turn: Turn,
    ) -> Tail {
        let Job {
            delivery,
            decoded,
            hold,
        } = job;
        let started = Instant::now();
        let Ok(envelope) = decoded else {
            unreachable!("only decoded requests run pipelined");
        };
        let method = envelope.request.method();
        let private = private_reply_to(&delivery.properties);
        let own_queue = self.reply_queue(&envelope.request);
        let named = envelope.request_id.is_some();
        let lang = envelope.lang.unwrap_or(self.language);
        let echo_id = envelope.request_id.clone();
        let run = std::panic::AssertUnwindSafe(super::pipeline::collecting(
            turn,
            self.answer(envelope, &delivery.properties),
        ));
        let outcome = match run.catch_unwind().await {
            Ok(((answer, record), confirms)) => Ok(Prepared {
                // As in `process`: a refused token proves no claim to the
                // user's queue.
                reply_to: private.or(own_queue.filter(|_| !(answer.refused_token && named))),
                answer,
                refuse: Box::new(move |error: &ChatError| Answer {
                    reply: Reply::refused_in(lang, method, error, crate::methods::Sent::default())
                        .with_request_id(echo_id)
                        .encode(),
                    lasting: error.is_lasting(),
                    refused_token: false,
                    code: error.code(),
                }),
                record: record.map(|(_, fingerprint)| fingerprint),
                confirms,
            }),
            Err(_) => {
                error!("a request handler panicked; the request goes to the dead-letter queue");
                Err(Disposition::dead_letter(
                    "the server failed while handling it",
                ))
            }
        };
        Tail {
            delivery,
            seq,
            started,
            method,
            outcome,
            key,
            _hold: hold,
        }
    }

    /// The reply to a well-formed request: the one recorded for it if the
    /// client named it and it was seen before, else a new one; with the key
    /// and fingerprint to record a new one under, if the client named it.
    async fn answer(
        &self,
        envelope: Envelope,
        properties: &BasicProperties,
    ) -> (Answer, Option<(RequestKey, String)>) {
        let Envelope {
            request,
            request_id,
            lang,
        } = envelope;
        let lang = lang.unwrap_or(self.language);
        let method = request.method();
        if let Some(refusal) = self.identity_refusal(&request, properties) {
            debug!(method, "refused for its broker user: {refusal}");
            let answer = Answer {
                reply: Reply::from_error_in(lang, method, &refusal)
                    .with_request_id(request_id)
                    .encode(),
                lasting: false,
                refused_token: true,
                code: refusal.code(),
            };
            return (answer, None);
        }
        let key = request_key(&request, request_id.as_ref(), properties);
        let credentials = recorded_under(&request, key.as_ref());
        let fingerprint = credentials.as_ref().map(|_| fingerprint(&request));
        if let (Some(credentials), Some(fingerprint)) = (&credentials, &fingerprint)
            && let Some(recorded) = self.recorded_reply(method, credentials).await
        {
            let reply = match Recorded::read(&recorded, fingerprint) {
                Recorded::Same(reply) => reply.to_vec(),
                Recorded::Conflict => {
                    Reply::from_error_in(lang, method, &ChatError::RequestIdConflict)
                        .with_request_id(request_id)
                        .encode()
                }
            };
            super::metrics::dedup_hit();
            let answer = Answer {
                reply,
                lasting: true,
                refused_token: false,
                code: "replayed",
            };
            return (answer, None);
        }
        let cx = Context {
            chat: &self.service,
            request_id: key.map(|k| k.request_id),
            echo_id: request_id,
            lang,
        };
        let answer = request.execute(&cx).await;
        let record = credentials.zip(fingerprint).map(|((key, _), fp)| (key, fp));
        (answer, record)
    }

    /// Records a lasting reply of a named request, for de-duplication.
    async fn remember(&self, method: &str, record: Option<(RequestKey, String)>, answer: &Answer) {
        if let Some((key, fingerprint)) = record
            && answer.lasting
        {
            let recorded = record_with(&fingerprint, &answer.reply);
            self.record_reply(method, &key, &recorded).await;
        }
    }

    /// In isolated mode, why the request's broker user may not make it:
    /// the broker checked the AMQP `user_id` against the connection's
    /// user, so it says who sent the request.
    fn identity_refusal(
        &self,
        request: &Request,
        properties: &BasicProperties,
    ) -> Option<ChatError> {
        let isolation = self.isolation.as_ref()?;
        let sender = super::intake::sender(properties);
        match sender {
            None => Some(ChatError::NotPermitted(
                "a request must carry its sender's user_id".into(),
            )),
            Some(login) if login == isolation.login_user => (!request.replies_to_queue_name())
                .then(|| {
                    ChatError::NotPermitted(
                        "log in first: this account only registers and logs in".into(),
                    )
                }),
            Some(user) if user == request.acting_user() => None,
            Some(user) => Some(ChatError::NotPermitted(format!(
                "{user} may act only for themselves"
            ))),
        }
    }

    /// Where a well-formed request's reply goes (unless the message names
    /// a private `reply_to`): `queue_name` for register and login, as the
    /// original protocol has it, if it is a private queue; the acting
    /// user's queue for the rest.
    fn reply_queue(&self, request: &Request) -> Option<String> {
        if request.replies_to_queue_name() {
            return usable_queue_name(request.queue_name());
        }
        Username::parse(request.acting_user())
            .ok()
            .map(|user| self.names.user_queue(&user))
    }

    /// Where the error reply to an undecodable request goes: its
    /// `queue_name`, or the queue of the user it names if its token checks
    /// out (so nobody can post errors into another user's queue).
    async fn decode_error_queue(&self, error: &DecodeError) -> Option<String> {
        if let Some(queue) = usable_queue_name(error.queue_name.as_deref()) {
            return Some(queue);
        }
        let user = Username::parse(error.acting_user.clone()?).ok()?;
        let token = Token::parse(error.token.as_ref()?.expose()).ok()?;
        let auth = Auth::new(user, token);
        self.service.authenticate(&auth).await.ok()?;
        Some(self.names.user_queue(&auth.user))
    }
}

/// The properties of a reply to a request with `request`'s.
fn reply_properties(request: &BasicProperties) -> BasicProperties {
    let properties = json_properties();
    match request.correlation_id() {
        Some(id) => properties.with_correlation_id(id.clone()),
        None => properties,
    }
}

/// How long a client told `busy` should wait before trying again.
const BUSY_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// The request's AMQP `reply_to`, if it names a private queue.
fn private_reply_to(properties: &BasicProperties) -> Option<String> {
    usable_queue_name(properties.reply_to().as_ref().map(|q| q.as_str()))
}

/// A client-given queue name the server replies to: only a private one.
fn usable_queue_name(name: Option<&str>) -> Option<String> {
    name.filter(|n| is_private_queue(n)).map(str::to_owned)
}

/// Whether `name` is a queue only its client can read: a server-named
/// queue (`amq.gen-...`, exclusive to the connection that declared it) or
/// RabbitMQ's direct reply-to. Replies go nowhere else on a request's
/// say-so, so nobody can make the server post into another's mailbox.
fn is_private_queue(name: &str) -> bool {
    name.len() <= 255 && (name.starts_with("amq.gen-") || name.starts_with("amq.rabbitmq.reply-to"))
}

/// The error for a body over the limit, with the few fields needed to
/// address the reply, found by a bounded scan: the body is not parsed.
pub(super) fn oversized(body: &[u8], length: usize, limit: usize) -> DecodeError {
    let mut error = DecodeError::too_large(length, limit);
    let field = |key| find_field(body, key);
    error.method = field("method").filter(|m| crate::wire::plausible_method(m));
    error.queue_name = field("queue_name");
    error.acting_user = field("username")
        .or_else(|| field("username_from"))
        .or_else(|| field("username_adder"));
    error.token = field("token").map(Into::into);
    error.request_id = field("request_id").map(serde_json::Value::String);
    error
}
