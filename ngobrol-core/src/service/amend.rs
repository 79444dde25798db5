//! Edits and deletions: the author changes a message after sending it.
//!
//! A message may be edited or deleted by its author at any time (there is
//! no window: what is stored is theirs). The history keeps the latest text
//! with the time of the change, or a tombstone in the message's place; the
//! conversation's online devices are told at once ([`Signal`]); a device
//! that was away reads the change in the history.

use super::{Auth, ChatService};
use crate::error::ChatError;
use crate::ports::{Conversation, DeliveryBody, Signal, StoredMessage};
use crate::types::{MessageId, MessageText, Username};

impl ChatService {
    /// Replaces the text of one of the acting user's messages. Refused
    /// `unknown_message` for an id of no message they can see (or one
    /// deleted), `not_author` for someone else's message or a notice.
    pub async fn edit_message(
        &self,
        auth: &Auth,
        id: &MessageId,
        text: MessageText,
    ) -> Result<StoredMessage, ChatError> {
        self.authorize(auth).await?;
        let message = self.own_message(auth, id).await?;
        if message.amended.is_some_and(|a| a.deleted) {
            return Err(ChatError::UnknownMessage);
        }
        let at = self.now_millis();
        self.amend(message, Some(text), at).await
    }

    /// Deletes one of the acting user's messages: its text goes, and a
    /// tombstone keeps its place in the history. Deleting it again
    /// changes nothing. Refused as [`edit_message`](Self::edit_message).
    pub async fn delete_message(
        &self,
        auth: &Auth,
        id: &MessageId,
    ) -> Result<StoredMessage, ChatError> {
        self.authorize(auth).await?;
        let message = self.own_message(auth, id).await?;
        if message.amended.is_some_and(|a| a.deleted) {
            return Ok(message);
        }
        let at = self.now_millis();
        self.amend(message, None, at).await
    }

    /// The message with `id`, if the acting user wrote it and can still
    /// see its conversation.
    async fn own_message(&self, auth: &Auth, id: &MessageId) -> Result<StoredMessage, ChatError> {
        let message = self
            .ports
            .history
            .find_message(id)
            .await?
            .ok_or(ChatError::UnknownMessage)?;
        if !self.can_read(&auth.user, &message).await? {
            return Err(ChatError::UnknownMessage);
        }
        match &message.delivery.body {
            DeliveryBody::Direct { from, .. } | DeliveryBody::Group { from, .. }
                if *from == auth.user =>
            {
                Ok(message)
            }
            _ => Err(ChatError::NotAuthor),
        }
    }

    /// Whether `user` may read `message`'s conversation now: one of the
    /// two of a direct one, a member of a group who joined before it.
    async fn can_read(&self, user: &Username, message: &StoredMessage) -> Result<bool, ChatError> {
        Ok(match &message.conversation {
            Conversation::Direct { low, high } => user == low || user == high,
            Conversation::Group(group) => self
                .ports
                .history
                .joined_after(*group, user)
                .await?
                .is_some_and(|floor| message.placement().seq > floor),
        })
    }

    async fn amend(
        &self,
        message: StoredMessage,
        text: Option<MessageText>,
        at: std::time::SystemTime,
    ) -> Result<StoredMessage, ChatError> {
        let id = message.delivery.id;
        if !self
            .ports
            .history
            .amend_message(&id, text.clone(), at)
            .await?
        {
            // Gone meanwhile (retention, or its group ended).
            return Err(ChatError::UnknownMessage);
        }
        let amended = self
            .ports
            .history
            .find_message(&id)
            .await?
            .ok_or(ChatError::UnknownMessage)?;
        let signal = if text.is_some() {
            Signal::Edited(amended.clone())
        } else {
            Signal::Deleted(amended.clone())
        };
        let audience = self.audience(&amended.conversation).await?;
        // Told as it happens; a device that misses it reads the history.
        if let Err(e) = self.ports.outbound.signal(&audience, &signal).await {
            tracing::warn!("cannot signal a changed message: {e}");
        }
        Ok(amended)
    }

    /// Whose devices hear of what happens in a conversation: both of a
    /// direct one, every member of a group.
    pub(super) async fn audience(
        &self,
        conversation: &Conversation,
    ) -> Result<Vec<Username>, ChatError> {
        Ok(match conversation {
            Conversation::Direct { low, high } => vec![low.clone(), high.clone()],
            Conversation::Group(group) => self.ports.groups.members_of(*group).await?,
        })
    }
}
