//! Receipts and unread counts: how far each reader got in each of their
//! conversations, kept in the store as two watermarks (delivered, read)
//! per reader and conversation, so every device of theirs counts alike.

use super::{Auth, ChatService, Peer};
use crate::error::ChatError;
use crate::ports::{ConversationSummary, Marker, Signal};

impl ChatService {
    /// Moves the acting user's `marker` in the conversation with `peer`
    /// up to `up_to` (a `seq`; never backwards, never past the latest).
    /// When it moves, the authors of what it now covers are told (their
    /// devices show the receipt), and for a read marker the reader's own
    /// devices too (their unread counts follow). Refused as reading the
    /// conversation would be.
    pub async fn mark(
        &self,
        auth: &Auth,
        peer: &Peer,
        marker: Marker,
        up_to: u64,
    ) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let (conversation, _) = self.readable(auth, peer).await?;
        let history = &self.ports.history;
        let Some((before, after)) = history
            .advance_marker(&auth.user, &conversation, marker, up_to)
            .await?
        else {
            return Ok(());
        };
        let mut audience = history
            .authors_between(&conversation, before, after)
            .await?;
        audience.retain(|author| *author != auth.user);
        if marker == Marker::Read {
            audience.push(auth.user.clone());
        }
        let signal = Signal::Receipt {
            reader: auth.user.clone(),
            conversation,
            marker,
            up_to: after,
        };
        // Told as it happens; the markers are in the store for later.
        if let Err(e) = self.ports.outbound.signal(&audience, &signal).await {
            tracing::warn!("cannot signal a receipt: {e}");
        }
        Ok(())
    }

    /// The acting user's conversations, newest first: each with its latest
    /// message, how many messages from others are unread, and how far the
    /// other person of a direct conversation read.
    pub async fn conversations(&self, auth: &Auth) -> Result<Vec<ConversationSummary>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.history.conversations_of(&auth.user).await?)
    }
}
