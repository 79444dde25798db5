//! The history port: conversations, where a message is in them, and the
//! repository that keeps them.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::Delivery;
use crate::error::PortError;
use crate::types::{GroupId, MessageId, MessageText, Username};

/// A conversation, whose messages the history keeps in order: between two
/// users, or a group's.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Conversation {
    /// Two users' conversation; `low` sorts before `high` (byte order), so
    /// that each pair has one conversation whoever writes.
    Direct {
        /// The user whose name sorts first.
        low: Username,
        /// The user whose name sorts last.
        high: Username,
    },
    /// A group's conversation, among its members.
    Group(GroupId),
}

impl Conversation {
    /// The conversation of `a` and `b`, in whichever order they are given.
    pub fn direct(a: &Username, b: &Username) -> Self {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        Self::Direct {
            low: low.clone(),
            high: high.clone(),
        }
    }

    /// For a direct conversation that `user` is in: the other user.
    pub fn peer_of(&self, user: &Username) -> Option<&Username> {
        match self {
            Conversation::Direct { low, high } if low == user => Some(high),
            Conversation::Direct { low, high } if high == user => Some(low),
            _ => None,
        }
    }
}

/// Where a message is in the stored history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Placement {
    /// Its place among every stored message, increasing in the order they
    /// were stored: the cursor of [`HistoryRepository::sync`].
    pub position: u64,
    /// Its number in its conversation: 1, 2, 3… with no gaps when stored
    /// (retention may remove the oldest); the cursor of
    /// [`HistoryRepository::history`].
    pub seq: u64,
}

/// A message as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// The conversation the message is in.
    pub conversation: Conversation,
    /// With [`Delivery::placement`] set; its text the latest (empty once
    /// deleted).
    pub delivery: Delivery,
    /// When its author last edited or deleted it; `None` for a message as
    /// it was sent.
    pub amended: Option<Amendment>,
}

/// What its author did to a message after sending it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Amendment {
    /// When its author last edited or deleted it.
    pub at: SystemTime,
    /// Deleted: the text is gone, a tombstone stays in its place.
    pub deleted: bool,
}

impl StoredMessage {
    /// Its place in the history.
    pub fn placement(&self) -> Placement {
        self.delivery.placement.unwrap_or_default()
    }
}

/// How far a reader got in a conversation: what reached one of their
/// devices, and what they read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Marker {
    /// The message reached one of the reader's devices.
    Delivered,
    /// Read implies delivered.
    Read,
}

/// A conversation as its reader's list shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationSummary {
    /// The conversation summed up.
    pub conversation: Conversation,
    /// Its latest message the reader may see, if any.
    pub last: Option<StoredMessage>,
    /// How many messages from others came after what the reader read.
    pub unread: u64,
    /// The `seq` the reader read up to.
    pub read_up_to: u64,
    /// In a direct conversation: the `seq` the other person read up to.
    pub peer_read_up_to: Option<u64>,
}

/// Which page of one conversation's history [`HistoryRepository::history`]
/// returns: the messages whose `seq` is above `visible_after`, above
/// `after` and below `before` (each bound when given), at most `limit` of
/// them; the oldest of those when `after` is given, else the newest.
/// Always returned oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    /// The conversation to read.
    pub conversation: Conversation,
    /// What the reader may not see: a group's messages from before they
    /// joined. 0 for everything.
    pub visible_after: u64,
    /// Only messages whose `seq` is above this: reading forward.
    pub after: Option<u64>,
    /// Only messages whose `seq` is below this: reading back.
    pub before: Option<u64>,
    /// The most messages the page holds.
    pub limit: usize,
}

/// How long the history keeps messages. Each bound that is given applies;
/// with neither (the default), everything is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Messages stored longer ago than this are removed.
    pub max_age: Option<Duration>,
    /// Of each conversation, only the newest this many are kept.
    pub max_per_conversation: Option<u64>,
}

impl Retention {
    /// Whether this keeps every message.
    pub fn keeps_everything(&self) -> bool {
        self.max_age.is_none() && self.max_per_conversation.is_none()
    }
}

/// The history of every conversation: the messages (and group notices)
/// delivered, kept so that people can scroll back and devices catch up.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HistoryRepository: Send + Sync {
    /// Stores a delivery at the end of its conversation, and returns where
    /// it was placed: the conversation's next `seq`, and a `position`
    /// above every other stored so far. Appends take turns: positions
    /// become visible in the order they are given, so a reader that has
    /// seen a position has seen every lower one. Idempotent by delivery
    /// id: the same delivery (id, sender, recipient or group, text) stored
    /// already is not stored again, and its placement is returned; another
    /// delivery under a stored id fails with [`PortError::Conflict`].
    async fn append_message(
        &self,
        conversation: &Conversation,
        delivery: &Delivery,
    ) -> Result<Placement, PortError>;

    /// One page of a conversation's messages (see [`HistoryQuery`]),
    /// oldest first.
    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>, PortError>;

    /// What `user` may read with `position` above `after`, at most `limit`
    /// messages, by position: every message of their direct conversations
    /// (sent or received), and of each group they are a member of now,
    /// what came after they joined (a group they left is closed to them).
    async fn sync(
        &self,
        user: &Username,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, PortError>;

    /// For a member of the group: the `seq` of the group's latest message
    /// when they joined (0 for one there from the start); `None` for one
    /// who is not a member.
    async fn joined_after(&self, group: GroupId, user: &Username)
    -> Result<Option<u64>, PortError>;

    /// The stored message with this delivery id, if there is one.
    async fn find_message(&self, id: &MessageId) -> Result<Option<StoredMessage>, PortError>;

    /// Replaces a stored direct or group message's text with `text`, or,
    /// for `None`, deletes it (its text goes, a tombstone keeps its
    /// place), as of `at`. False when no such message is stored.
    async fn amend_message(
        &self,
        id: &MessageId,
        text: Option<MessageText>,
        at: SystemTime,
    ) -> Result<bool, PortError>;

    /// Moves `user`'s `marker` in `conversation` forward to `seq` (at
    /// most the conversation's latest; a read marker takes the delivered
    /// one along). The marker before and after when it moved, `None` when
    /// it was there already (or the conversation has no messages).
    async fn advance_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
        marker: Marker,
        seq: u64,
    ) -> Result<Option<(u64, u64)>, PortError>;

    /// Who wrote the direct and group messages of `conversation` with a
    /// `seq` above `after` and up to `up_to`, each once.
    async fn authors_between(
        &self,
        conversation: &Conversation,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<Username>, PortError>;

    /// Every conversation `user` has messages in: their direct ones, and
    /// those of the groups they are a member of (from when they joined),
    /// with the latest message, the unread count and the read markers.
    /// Newest first (by their latest message).
    async fn conversations_of(
        &self,
        user: &Username,
    ) -> Result<Vec<ConversationSummary>, PortError>;

    /// The highest position stored so far; 0 for an empty history.
    async fn latest_position(&self) -> Result<u64, PortError>;

    /// Removes what `retention` does not keep, as of `now`, and returns how
    /// many messages went. With [`Retention::default`], nothing goes.
    async fn prune_history(&self, retention: Retention, now: SystemTime) -> Result<u64, PortError>;
}
