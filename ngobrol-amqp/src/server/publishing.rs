//! Publishing on the confirming channel, in order, one confirm number per
//! message.

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Confirmation, PublisherConfirm};
use ngobrol_core::{PortError, Username};

use super::outbound::{AmqpOutbound, confirmed, unavailable};

impl AmqpOutbound {
    /// Publishes `body` and waits for the broker's confirmation.
    pub(crate) async fn publish(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<Confirmation, PortError> {
        let confirm = self
            .send(exchange, routing_key, body, properties, mandatory)
            .await?;
        confirmed(confirm.await, exchange, routing_key)
    }

    /// Publishes `body` on the confirming channel: once this returns, the
    /// message is on its way, after every message published before it on
    /// this port; the broker's confirmation is still to come.
    pub(super) async fn send(
        &self,
        exchange: &str,
        routing_key: &str,
        body: &[u8],
        properties: BasicProperties,
        mandatory: bool,
    ) -> Result<PublisherConfirm, PortError> {
        let link = self.link()?;
        let channel = link
            .publisher
            .get_unless_lost(&link.connection)
            .await
            .map_err(unavailable)?;
        let Some(channel) = channel else {
            if !link.connection.status().connected() {
                return Err(PortError::Unavailable(
                    "the broker connection was lost".into(),
                ));
            }
            // Publishes after the lost ones would leave on a new channel
            // and could overtake them once those are requeued: the
            // connection goes instead, so the broker requeues every
            // unacknowledged request in its order, and serving starts
            // again on a new connection.
            tracing::error!("the broker closed the publishing channel; connecting again");
            let connection = link.connection.clone();
            tokio::spawn(async move {
                let _ = connection
                    .close(320, "publishing channel lost".into())
                    .await;
            });
            return Err(PortError::Unavailable(
                "the publishing channel was closed".into(),
            ));
        };
        let mut publish = std::pin::pin!(channel.basic_publish(
            exchange.into(),
            routing_key.into(),
            BasicPublishOptions {
                mandatory,
                ..BasicPublishOptions::default()
            },
            body,
            properties,
        ));
        // The broker numbers a channel's messages in the order their frames
        // arrive, and the AMQP library pairs each confirm with the message
        // it numbered when it took it (in the publish's first poll, before
        // queueing its frames). Publishers on several threads could take
        // numbers in one order and queue frames in the other, and a nack
        // would then be given to another message: the first poll is taken
        // under a lock, so numbering and queueing happen together.
        let first = std::future::poll_fn(|cx| {
            let _numbering = link.numbering.lock().unwrap_or_else(|p| p.into_inner());
            std::task::Poll::Ready(publish.as_mut().poll(cx))
        })
        .await;
        match first {
            std::task::Poll::Ready(sent) => sent,
            std::task::Poll::Pending => publish.await,
        }
        .map_err(unavailable)
    }

    /// Publishes a direct delivery's `body` to `user`'s exchange again,
    /// after the broker returned it (the user's routing was lost):
    /// declares their mailbox first, and waits for the confirmation.
    pub(super) async fn deliver_again(
        &self,
        user: &Username,
        body: &[u8],
        properties: BasicProperties,
    ) -> Result<(), PortError> {
        tracing::warn!(%user, "mailbox missing on the broker; declaring it again");
        let exchange = self.declare_mailbox(user).await?;
        let confirmation = self.publish(&exchange, "", body, properties, true).await?;
        if confirmation.take_message().is_some() {
            return Err(PortError::Unavailable(format!(
                "the mailbox of {user} does not take messages"
            )));
        }
        super::metrics::delivered("direct");
        Ok(())
    }
}
