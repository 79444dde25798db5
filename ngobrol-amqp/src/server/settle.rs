//! Settling a request with the broker once it is handled.

use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::{AMQPValue, FieldTable};
use tracing::{error, warn};

use ngobrol_core::PortError;

use super::handler::Handler;
use super::hints::redact_secrets;

/// What becomes of a request once handled.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Done (answered, or nothing to answer): acknowledge.
    Done,
    /// Not done because the broker failed us: let the broker deliver it
    /// again.
    Retry,
    /// Never servable (undecodable, or its handler failed): keep it in
    /// the dead-letter queue for a person to look at, instead of it
    /// coming back forever.
    DeadLetter(DeadLetter),
}

/// Why a request goes to the dead-letter queue, and what of it is kept.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct DeadLetter {
    pub reason: String,
    /// False for a body over the size limit: only a summary is kept.
    pub keep_body: bool,
}

impl Disposition {
    /// To the dead-letter queue, body and all (secrets removed).
    pub fn dead_letter(reason: impl Into<String>) -> Self {
        Disposition::DeadLetter(DeadLetter {
            reason: reason.into(),
            keep_body: true,
        })
    }
}

const REQUEUE: BasicNackOptions = BasicNackOptions {
    multiple: false,
    requeue: true,
};

impl Handler {
    pub(super) async fn settle(&self, delivery: &AmqpDelivery, disposition: Disposition) {
        let settled = match disposition {
            Disposition::Done => delivery.acker.ack(BasicAckOptions::default()).await,
            Disposition::Retry => delivery.acker.nack(REQUEUE).await,
            Disposition::DeadLetter(letter) => self.dead_letter(delivery, &letter).await,
        };
        if let Err(e) = settled {
            warn!("cannot settle a request with the broker ({e}); it will be delivered again");
        }
    }

    /// Copies the request to the dead-letter queue with its reason (its
    /// passwords and tokens removed; of an oversized body only its size),
    /// then acknowledges it. If the broker is out of reach the request is
    /// retried; if the queue refuses the copy, it is dropped, never
    /// requeued in a loop.
    async fn dead_letter(
        &self,
        delivery: &AmqpDelivery,
        letter: &DeadLetter,
    ) -> lapin::Result<bool> {
        let reason = letter.reason.as_str();
        let mut headers = FieldTable::default();
        headers.insert(
            "x-ngobrol-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        let size =
            super::intake::original_length(&delivery.properties).unwrap_or(delivery.data.len());
        let size = i64::try_from(size).unwrap_or(i64::MAX);
        headers.insert("x-ngobrol-size".into(), AMQPValue::LongLongInt(size));
        let properties = delivery
            .properties
            .clone()
            .with_headers(headers)
            .with_delivery_mode(2);
        let body = if letter.keep_body {
            redact_secrets(&delivery.data)
        } else {
            Vec::new()
        };
        let queue = self.names.dead_letter_queue();
        match self
            .outbound
            .publish("", &queue, &body, properties, false)
            .await
        {
            Ok(_) => {
                warn!(%reason, queue, "a request was moved to the dead-letter queue");
                delivery.acker.ack(BasicAckOptions::default()).await
            }
            Err(PortError::Rejected(e)) => {
                error!(%reason, "the dead-letter queue refused a request ({e}); it is dropped");
                delivery.acker.ack(BasicAckOptions::default()).await
            }
            Err(e) => {
                error!("cannot dead-letter a request ({e}); it will be retried");
                delivery.acker.nack(REQUEUE).await
            }
        }
    }
}
