//! The history port as a pipelined run sees it: its append in its turn.

use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use ngobrol_core::{
    Conversation, ConversationSummary, Delivery, GroupId, HistoryQuery, HistoryRepository, Marker,
    MessageId, MessageText, Placement, PortError, Retention, StoredMessage, Username,
};

/// The history, each pipelined run's append handed over in the run's
/// turn (see [`super::appending_turn`]): so the appends of one lane's
/// overlapping runs are numbered in the order their requests came, and
/// the store can write them in one batch. The store takes an append in
/// the first poll of `append_message` (the SQL store queues it for its
/// next batch; the in-memory one stores it). Outside a pipelined run,
/// every call goes straight through.
pub(in crate::server) struct OrderedHistory(pub Arc<dyn HistoryRepository>);

#[async_trait]
impl HistoryRepository for OrderedHistory {
    async fn append_message(
        &self,
        conversation: &Conversation,
        delivery: &Delivery,
    ) -> Result<Placement, PortError> {
        super::appending_turn(self.0.append_message(conversation, delivery)).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>, PortError> {
        self.0.history(query).await
    }

    async fn sync(
        &self,
        user: &Username,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, PortError> {
        self.0.sync(user, after, limit).await
    }

    async fn joined_after(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<u64>, PortError> {
        self.0.joined_after(group, user).await
    }

    async fn find_message(&self, id: &MessageId) -> Result<Option<StoredMessage>, PortError> {
        self.0.find_message(id).await
    }

    async fn amend_message(
        &self,
        id: &MessageId,
        text: Option<MessageText>,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.0.amend_message(id, text, at).await
    }

    async fn advance_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
        marker: Marker,
        seq: u64,
    ) -> Result<Option<(u64, u64)>, PortError> {
        self.0.advance_marker(user, conversation, marker, seq).await
    }

    async fn authors_between(
        &self,
        conversation: &Conversation,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<Username>, PortError> {
        self.0.authors_between(conversation, after, up_to).await
    }

    async fn conversations_of(
        &self,
        user: &Username,
    ) -> Result<Vec<ConversationSummary>, PortError> {
        self.0.conversations_of(user).await
    }

    async fn latest_position(&self) -> Result<u64, PortError> {
        self.0.latest_position().await
    }

    async fn prune_history(&self, retention: Retention, now: SystemTime) -> Result<u64, PortError> {
        self.0.prune_history(retention, now).await
    }
}
