//! Bringing the broker's routing in line with the store at start-up.

use std::collections::BTreeSet;

use lapin::options::{ExchangeBindOptions, ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{Channel, ExchangeKind};
use ngobrol_core::{GroupId, Outbound, PortError, Username};

use super::mailboxes::{declare_user_routing, durable_fanout};
use super::outbound::{AmqpOutbound, unavailable};

type Memberships = [(GroupId, Vec<Username>)];

/// The most restore operations sent before one is waited for.
const UNANSWERED: usize = 2_000;

impl AmqpOutbound {
    /// Pipelined: every declaration and binding goes out with `nowait`, on
    /// a channel of its own, and one synchronous call at the end tells
    /// whether the broker refused any (it would have closed the channel).
    /// Thousands of groups take a few hundred milliseconds instead of one
    /// round trip each. If the broker refused something (a group exchange
    /// of the original server's, say), it is done again one group at a
    /// time, where each refusal is dealt with on its own.
    pub(super) async fn restore(&self, memberships: &Memberships) -> Result<(), PortError> {
        let link = self.link()?;
        let channel = link
            .connection
            .create_channel()
            .await
            .map_err(unavailable)?;
        let pipelined = async {
            self.declare_routing(&channel, memberships).await?;
            // The barrier: answered only after everything before it was done.
            channel
                .queue_declare(
                    self.names.request_queue().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
            channel.close(200, "routing restored".into()).await
        };
        match pipelined.await {
            Ok(()) => {
                let members = memberships.iter().flat_map(|(_, members)| members);
                let mut declared = link.declared.lock().unwrap_or_else(|p| p.into_inner());
                declared.extend(members.map(|m| self.names.user_exchange(m)));
            }
            Err(e) if link.connection.status().connected() => {
                tracing::warn!("restoring routing in one pass failed ({e}); one group at a time");
                self.restore_one_by_one(memberships).await?;
            }
            Err(e) => return Err(unavailable(e)),
        }
        self.migrate_layout(memberships).await
    }

    async fn restore_one_by_one(&self, memberships: &Memberships) -> Result<(), PortError> {
        for (group, members) in memberships {
            self.create_group_channel(*group).await?;
            for member in members {
                self.ensure_mailbox(member).await?;
                self.subscribe(*group, member).await?;
            }
        }
        Ok(())
    }

    /// Every group exchange, every member's mailbox and exchange, every
    /// binding, each sent with `nowait`: nothing is answered, so nothing
    /// waits.
    async fn declare_routing(
        &self,
        channel: &Channel,
        memberships: &Memberships,
    ) -> Result<(), lapin::Error> {
        let nowait_fanout = ExchangeDeclareOptions {
            nowait: true,
            ..durable_fanout()
        };
        let mut members = BTreeSet::new();
        let mut unanswered = 0;
        for (group, group_members) in memberships {
            let exchange = self.names.group_exchange(*group);
            channel
                .exchange_declare(
                    exchange.into(),
                    ExchangeKind::Fanout,
                    nowait_fanout,
                    FieldTable::default(),
                )
                .await?;
            members.extend(group_members);
            self.now_and_then(channel, &mut unanswered, 1).await?;
        }
        for member in &members {
            declare_user_routing(channel, &self.names, member, true).await?;
            self.now_and_then(channel, &mut unanswered, 5).await?;
        }
        for (group, group_members) in memberships {
            for member in group_members {
                self.now_and_then(channel, &mut unanswered, 1).await?;
                channel
                    .exchange_bind(
                        self.names.user_exchange(member).into(),
                        self.names.group_exchange(*group).into(),
                        "".into(),
                        ExchangeBindOptions { nowait: true },
                        FieldTable::default(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Counts `sent` more operations without an answer; past
    /// [`UNANSWERED`] of them, waits for the broker to catch up (one
    /// synchronous call answered after all before it), so that what is
    /// buffered on the way stays bounded.
    async fn now_and_then(
        &self,
        channel: &Channel,
        unanswered: &mut usize,
        sent: usize,
    ) -> Result<(), lapin::Error> {
        *unanswered += sent;
        if *unanswered < UNANSWERED {
            return Ok(());
        }
        *unanswered = 0;
        channel
            .queue_declare(
                self.names.request_queue().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .map(drop)
    }

    /// Once per broker: an earlier version bound group exchanges straight
    /// to members' mailboxes; now they go through the members' exchanges,
    /// and the old bindings would put every group message in the mailbox
    /// even while the member's devices are online (the broker delivers to
    /// a queue once however many paths lead there, so it is no duplicate,
    /// but the mailbox would fill). They are removed (one
    /// round trip each: `queue.unbind` has no `nowait`), then one message
    /// in the marker queue `<ns>.layout.2` says it was done. The marker is
    /// a queue because declaring one that exists is no error, and its
    /// message count says whether the move was made: probing for an
    /// exchange passively would close a channel with an error, logged by
    /// the AMQP library at every first start.
    async fn migrate_layout(&self, memberships: &Memberships) -> Result<(), PortError> {
        let marker = self.names.layout_marker();
        let channel = self.topology().await?;
        if super::marker::marker_count(&channel, &marker).await? > 0 {
            return Ok(());
        }
        for (group, members) in memberships {
            for member in members {
                channel
                    .queue_unbind(
                        self.names.user_queue(member).into(),
                        self.names.group_exchange(*group).into(),
                        "".into(),
                        FieldTable::default(),
                    )
                    .await
                    .map_err(unavailable)?;
            }
        }
        let persistent = lapin::BasicProperties::default().with_delivery_mode(2);
        self.publish("", &marker, b"layout 2", persistent, false)
            .await
            .map(drop)
    }
}
