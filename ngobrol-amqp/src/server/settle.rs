//! Settling a request with the broker once it is handled.

use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::{AMQPValue, FieldTable};
use tracing::{error, warn};

use super::handler::Handler;

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
    DeadLetter(String),
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
            Disposition::DeadLetter(reason) => self.dead_letter(delivery, &reason).await,
        };
        if let Err(e) = settled {
            warn!("cannot settle a request with the broker ({e}); it will be delivered again");
        }
    }

    /// Copies the request to the dead-letter queue with its reason, then
    /// acknowledges it; if the copy fails, the request is retried.
    async fn dead_letter(&self, delivery: &AmqpDelivery, reason: &str) -> lapin::Result<bool> {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-ngobrol-reason".into(),
            AMQPValue::LongString(reason.into()),
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
                delivery.acker.nack(REQUEUE).await
            }
        }
    }
}
