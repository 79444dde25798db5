//! The routing marker: what lets a restart serve at once.
//!
//! The durable queue `<ns>.routing` holds at most one message, the
//! fingerprint of the routing the broker holds (every group with its
//! members, and whose mailbox takes every delivery). It is written after
//! the routing was restored in full and when the server stops cleanly;
//! it is emptied before the first change to the routing that the server
//! makes. At start-up, a fingerprint equal to the store's says the broker
//! kept exactly the routing the store asks for, so nothing is declared
//! again (100,000 users and 10,000 groups: ~70,000 broker operations).
//! Otherwise (a broker that lost its definitions, a store changed while
//! the server was away, a server killed after changing the routing) the
//! routing is restored in full before serving.
//!
//! Users' exchanges declared on the way are not known to this process
//! then: each is declared again the first time it is used (one round
//! trip per user).

use std::sync::atomic::Ordering;

use lapin::options::{BasicGetOptions, BasicNackOptions, QueueDeclareOptions, QueuePurgeOptions};
use lapin::types::FieldTable;
use ngobrol_core::{GroupId, PortError, Username};
use sha2::{Digest, Sha256};

use super::outbound::{AmqpOutbound, unavailable};

/// The fingerprint of a routing: SHA-256 over the layout version, each
/// group with its members and each mailbox reader, in hex.
pub(super) fn fingerprint(
    memberships: &[(GroupId, Vec<Username>)],
    readers: &[Username],
) -> String {
    let mut hash = Sha256::new();
    hash.update(b"ngobrol-routing-1\n");
    let mut groups: Vec<(GroupId, Vec<&Username>)> = memberships
        .iter()
        .map(|(group, members)| {
            let mut members: Vec<&Username> = members.iter().collect();
            members.sort();
            (*group, members)
        })
        .collect();
    groups.sort_by_key(|(group, _)| *group);
    for (group, members) in groups {
        hash.update(format!("g {group}\n"));
        for member in members {
            hash.update(format!("m {member}\n"));
        }
    }
    let mut readers: Vec<&Username> = readers.iter().collect();
    readers.sort();
    for reader in readers {
        hash.update(format!("r {reader}\n"));
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl AmqpOutbound {
    /// Whether the broker's marker holds `fingerprint` (and the layout
    /// move was made: a broker an earlier version left has to be
    /// restored, whatever it holds).
    pub(super) async fn routing_marked(&self, fingerprint: &str) -> Result<bool, PortError> {
        let channel = self.topology().await?;
        let marker = self.names.routing_marker();
        if marker_count(&channel, &self.names.layout_marker()).await? == 0
            || marker_count(&channel, &marker).await? == 0
        {
            return Ok(false);
        }
        let got = channel
            .basic_get(marker.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(unavailable)?;
        let Some(got) = got else {
            return Ok(false);
        };
        let same = got.delivery.data == fingerprint.as_bytes();
        // Put back: the marker stays until the routing changes.
        let requeue = BasicNackOptions {
            multiple: false,
            requeue: true,
        };
        got.delivery
            .acker
            .nack(requeue)
            .await
            .map_err(unavailable)?;
        if same {
            self.marked.store(true, Ordering::Release);
        }
        Ok(same)
    }

    /// Writes `fingerprint` as the broker's marker, in place of any.
    pub(super) async fn mark_routing(&self, fingerprint: &str) -> Result<(), PortError> {
        self.unmark_routing_now().await?;
        let marker = self.names.routing_marker();
        let persistent = lapin::BasicProperties::default().with_delivery_mode(2);
        self.publish("", &marker, fingerprint.as_bytes(), persistent, false)
            .await?;
        self.marked.store(true, Ordering::Release);
        Ok(())
    }

    /// Empties the marker if this server wrote or read it: called before
    /// any change to the routing.
    pub(super) async fn unmark_routing(&self) -> Result<(), PortError> {
        if !self.marked.load(Ordering::Acquire) {
            return Ok(());
        }
        self.unmark_routing_now().await
    }

    async fn unmark_routing_now(&self) -> Result<(), PortError> {
        let marker = self.names.routing_marker();
        let channel = self.topology().await?;
        marker_count(&channel, &marker).await?;
        channel
            .queue_purge(marker.as_str().into(), QueuePurgeOptions::default())
            .await
            .map_err(unavailable)?;
        self.marked.store(false, Ordering::Release);
        Ok(())
    }
}

/// Declares the marker queue `name` (durable, no arguments; declaring one
/// that exists is no error, where probing an exchange would close the
/// channel) and returns how many messages it holds.
pub(super) async fn marker_count(channel: &lapin::Channel, name: &str) -> Result<u32, PortError> {
    channel
        .queue_declare(
            name.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .map(|declared| declared.message_count())
        .map_err(unavailable)
}
