//! Delivery receipts, when a login asks for them
//! ([`LoginOptions::delivery_receipts`](super::LoginOptions::delivery_receipts)):
//! what the session hands over from others is acknowledged to the server
//! as delivered, per conversation up to the latest message, a few times a
//! second at most.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::Peer;
use super::link::Shared;
use crate::methods::mark::MarkDelivered;
use crate::secret::Secret;

/// How long receipts gather before they go, one per conversation.
const GATHER: Duration = Duration::from_millis(200);

/// How many handed-over messages may wait for their receipt; past it, a
/// receipt is skipped (a later one covers it).
pub(super) const WAITING: usize = 1024;

/// Sends the receipts of what `due` names until the session ends.
pub(super) async fn send_receipts(
    shared: Arc<Shared>,
    user: String,
    token: Secret,
    mut due: mpsc::Receiver<(Peer, u64)>,
) {
    while let Some((peer, seq)) = due.recv().await {
        let mut latest = HashMap::from([(peer, seq)]);
        tokio::time::sleep(GATHER).await;
        while let Ok((peer, seq)) = due.try_recv() {
            let known = latest.entry(peer).or_default();
            *known = (*known).max(seq);
        }
        for (peer, seq) in latest {
            let (with, group_id) = match peer {
                Peer::User(name) => (Some(name), None),
                Peer::Group(id) => (None, Some(id)),
            };
            let request = MarkDelivered {
                username: user.clone(),
                token: token.clone(),
                with,
                group_id,
                seq,
            };
            if let Err(e) = shared.call(request).await {
                tracing::debug!("a delivery receipt was not sent: {e}");
            }
        }
    }
}
