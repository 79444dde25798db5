//! One call: send a request, wait for its reply, send it again (same id)
//! after a time-out.

use std::sync::atomic::Ordering;
use std::time::Duration;

use lapin::BasicProperties;
use lapin::options::BasicPublishOptions;
use serde_json::Value;

use super::ClientError;
use super::link::{Link, Shared, lock};
use crate::methods::{Method, Tagged};
use crate::wire::{ErrorCode, Reply, Status};

impl Shared {
    /// Sends `request` and waits for its reply, sending it again (same
    /// id) after each time-out, up to the configured retries. Each call
    /// has an id of its own, unique across processes and runs, so the
    /// server can tell a retry from a new request.
    pub async fn call<M: Method>(&self, request: M) -> Result<M::Reply, ClientError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut body = serde_json::to_value(Tagged {
            method: M::NAME,
            request: &request,
        })
        .expect("requests serialize");
        body["request_id"] = Value::String(id.clone());
        let mut receiver = lock(&self.waiting).expect(&id, format!("{}_reply", M::NAME));
        let attempts = self.options.retries + 1;
        for _ in 0..attempts {
            if self.closed.load(Ordering::Relaxed) {
                lock(&self.waiting).forget(&id);
                return Err(ClientError::Disconnected);
            }
            let sent = match self.link() {
                Some(link) => self
                    .send(&link, &mut body, M::REPLIES_TO_QUEUE_NAME, &id)
                    .await
                    .is_ok(),
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
                Ok(Ok(reply)) => return typed::<M>(reply),
                Ok(Err(_)) => return Err(ClientError::Disconnected),
                Err(_) => {}
            }
        }
        lock(&self.waiting).forget(&id);
        Err(ClientError::Timeout {
            attempts,
            timeout: self.options.timeout,
        })
    }

    async fn send(
        &self,
        link: &Link,
        body: &mut Value,
        to_queue_name: bool,
        id: &str,
    ) -> Result<(), lapin::Error> {
        if to_queue_name {
            // The reply queue of this connection: it changes with each.
            body["queue_name"] = Value::String(link.reply_queue.clone());
        }
        let mut properties = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_reply_to(link.reply_queue.as_str().into())
            .with_correlation_id(id.into());
        let names = &self.options.namespace;
        // Isolated: to the request exchange, as the broker user, which the
        // broker checks against the routing key and the `user_id`.
        let (exchange, key) = match self.identity() {
            Some(user) => {
                properties = properties.with_user_id(user.as_str().into());
                (names.request_exchange(), user)
            }
            None => (String::new(), names.request_queue()),
        };
        link.channel
            .basic_publish(
                exchange.as_str().into(),
                key.as_str().into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(body).expect("JSON values serialize"),
                properties,
            )
            .await?;
        Ok(())
    }
}

/// The body of `M`'s reply, or its refusal as an error.
fn typed<M: Method>(reply: Reply) -> Result<M::Reply, ClientError> {
    if reply.status == Status::Error {
        return Err(ClientError::Refused {
            code: ErrorCode::parse(reply.code.as_deref().unwrap_or("")),
            description: reply.description,
            retry_after: reply.retry_after_ms.map(Duration::from_millis),
        });
    }
    reply
        .typed::<M::Reply>()
        .map(|reply| reply.body)
        .map_err(|e| ClientError::BadReply(format!("{}_reply: {e}", M::NAME)))
}
