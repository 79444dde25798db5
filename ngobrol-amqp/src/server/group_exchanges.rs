//! Groups' fanout exchanges: made and deleted.

use lapin::options::ExchangeDeleteOptions;
use ngobrol_core::{GroupId, PortError};

use super::outbound::{AmqpOutbound, declare_group_exchange, is_precondition_failed, unavailable};

impl AmqpOutbound {
    /// A group exchange that exists with other properties (the original
    /// server's are not durable) is replaced: a fanout exchange holds no
    /// messages, and its bindings are made again from the store.
    pub(super) async fn create_group_exchange(&self, group: GroupId) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let exchange = self.names.group_exchange(group);
        let declared = declare_group_exchange(&self.topology().await?, &exchange).await;
        match declared {
            Err(e) if is_precondition_failed(&e) => {
                tracing::warn!(
                    %group,
                    "the group's exchange exists with other properties (the original server's?); replacing it"
                );
                // The failed declaration closed its channel: a new one.
                let channel = self.topology().await?;
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
                    .map_err(unavailable)?;
                declare_group_exchange(&channel, &exchange)
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    /// Deletes the group's exchange, and with it every binding to it. A
    /// missing exchange is no failure: RabbitMQ (3.10 and later) answers
    /// its deletion with ok, and an older broker's NOT_FOUND (404, which
    /// closes the channel; the next call opens another) means the same.
    pub(super) async fn delete_group_exchange(&self, group: GroupId) -> Result<(), PortError> {
        self.unmark_routing().await?;
        let exchange = self.names.group_exchange(group);
        let deleted = self
            .topology()
            .await?
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
        match deleted {
            Ok(()) => Ok(()),
            Err(e) => match e.kind() {
                lapin::ErrorKind::ProtocolError(c) if c.get_id() == 404 => Ok(()),
                _ => Err(unavailable(e)),
            },
        }
    }
}
