//! Handling one request: run it (or answer it from the record), publish
//! the reply where it belongs, and settle it with the broker.

use std::sync::Arc;

use futures_util::FutureExt;
use lapin::BasicProperties;
use ngobrol_core::{Auth, ChatService, PortError, Token, Username};
use serde::Deserialize;
use tracing::{debug, error, warn};

use super::dedup::{recorded_under, request_key};
use super::dispatch::Job;
use super::execute::Context;
use super::outbound::{AmqpOutbound, json_properties};
use super::settle::Disposition;
use crate::methods::Request;
use crate::names::Namespace;
use crate::wire::{DecodeError, Envelope, Reply};

/// Runs requests and publishes their replies. Cloned into every lane.
#[derive(Clone, Debug)]
pub(super) struct Handler {
    pub service: ChatService,
    pub outbound: Arc<AmqpOutbound>,
    pub names: Namespace,
}

impl Handler {
    /// Handles one request and settles it with the broker. A panic while
    /// handling is caught: the request goes to the dead-letter queue
    /// instead of coming back forever.
    pub async fn handle(&self, job: Job) {
        let Job { delivery, decoded } = job;
        let handled = std::panic::AssertUnwindSafe(self.process(&delivery.properties, decoded));
        let disposition = handled.catch_unwind().await.unwrap_or_else(|_| {
            error!("a request handler panicked; the request goes to the dead-letter queue");
            Disposition::DeadLetter("the server failed while handling it".into())
        });
        self.settle(&delivery, disposition).await;
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
        match self.publish_reply(&queue, &reply, properties).await {
            Ok(()) => disposition,
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

    async fn publish_reply(
        &self,
        queue: &str,
        reply: &[u8],
        request: &BasicProperties,
    ) -> Result<(), PortError> {
        let mut properties = json_properties();
        if let Some(id) = request.correlation_id() {
            properties = properties.with_correlation_id(id.clone());
        }
        self.outbound
            .publish("", queue, reply, properties, false)
            .await
            .map(drop)
    }

    /// The encoded reply to a well-formed request: the one recorded for it
    /// if the client named it and it was seen before, else a new one.
    async fn answer(&self, envelope: Envelope, properties: &BasicProperties) -> Vec<u8> {
        let Envelope {
            request,
            request_id,
        } = envelope;
        let method = request.method();
        let key = request_key(&request, request_id.as_ref(), properties);
        let credentials = recorded_under(&request, key.as_ref());
        if let Some(credentials) = &credentials
            && let Some(reply) = self.recorded_reply(method, credentials).await
        {
            return reply;
        }
        let cx = Context {
            chat: &self.service,
            request_id: key.map(|k| k.request_id),
            echo_id: request_id,
        };
        let answer = request.execute(&cx).await;
        if let (Some((key, _)), true) = (&credentials, answer.lasting) {
            self.record_reply(method, key, &answer.reply).await;
        }
        answer.reply
    }

    /// Where a well-formed request's reply goes (unless the message names
    /// its own `reply_to`): `queue_name` for register and login, as the
    /// original protocol has it; the acting user's queue for the rest.
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

/// A client-given queue name the broker could accept.
fn usable_queue_name(name: Option<&str>) -> Option<String> {
    name.filter(|n| !n.is_empty() && n.len() <= 255)
        .map(str::to_owned)
}

/// The error for a body over the limit, with the few fields needed to
/// address the reply, read without keeping anything else of the body.
pub(super) fn oversized(body: &[u8], limit: usize) -> DecodeError {
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
        error.method = hints.method.filter(|m| crate::wire::plausible_method(m));
        error.queue_name = hints.queue_name;
        error.acting_user = hints
            .username
            .or(hints.username_from)
            .or(hints.username_adder);
        error.token = hints.token.map(Into::into);
    }
    error
}
