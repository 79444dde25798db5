//! History: what was said in a conversation, and what a device missed.
//!
//! Every direct message, group message and group notice is stored before
//! it is delivered ([`ChatService::record`]), so the history is the
//! record of what was sent: a device that was offline, or is new, reads
//! it with [`ChatService::history`] (one conversation, paged by `seq`) or
//! [`ChatService::sync`] (everything for the user, by position).

use std::time::SystemTime;

use super::{Auth, ChatService};
use crate::error::ChatError;
use crate::ports::{Conversation, Delivery, HistoryQuery, StoredMessage};
use crate::types::{GroupId, Username};

/// The most messages one page of [`ChatService::history`] or
/// [`ChatService::sync`] holds; larger requests get this many.
pub const MAX_PAGE: usize = 100;

/// The conversation a history request is about, seen from the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// The reader's conversation with this friend.
    User(Username),
    /// A group the reader is a member of.
    Group(GroupId),
}

/// One page of a conversation's history, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPage {
    /// The page's messages, oldest first.
    pub messages: Vec<StoredMessage>,
    /// The cursor of the next page in the direction read, when there is
    /// more: pass it as `after` again when reading forward (`after` given),
    /// else as `before`.
    pub next: Option<u64>,
}

/// One page of [`ChatService::sync`], by position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPage {
    /// The page's messages, by position.
    pub messages: Vec<StoredMessage>,
    /// Where the next page starts: the position of the last message here,
    /// or the cursor asked with when there were none.
    pub cursor: u64,
    /// Whether more messages wait after `cursor` (a page came full).
    pub more: bool,
    /// Whether a client of the original protocol reads the user's mailbox
    /// (so a device of ours must leave it alone).
    pub mailbox_shared: bool,
}

impl ChatService {
    /// Stores `delivery` at the end of its conversation and notes its
    /// place in it. Idempotent by delivery id: a request retried with the
    /// same id finds its first placement.
    pub(super) async fn record(
        &self,
        conversation: &Conversation,
        delivery: &mut Delivery,
    ) -> Result<(), ChatError> {
        delivery.sent_at = self.now_millis();
        let placement = match self
            .ports
            .history
            .append_message(conversation, delivery)
            .await
        {
            // The id of another message: a request id used again for
            // another request, once its first reply was forgotten.
            Err(crate::error::PortError::Conflict) => return Err(ChatError::RequestIdConflict),
            other => other?,
        };
        delivery.placement = Some(placement);
        Ok(())
    }

    /// A page of one of the acting user's conversations: with a friend,
    /// or in a group they are a member of (of which they see what came
    /// after they joined). `after` and `before` are `seq` bounds, both
    /// exclusive; with `after`, the page is the oldest messages after it,
    /// else the newest (before `before`, when given). `limit` is at most
    /// `MAX_PAGE` (100). Refused as sending there would be: `not_friends`,
    /// `unknown_user`, `unknown_group`, `not_member`.
    pub async fn history(
        &self,
        auth: &Auth,
        peer: &Peer,
        after: Option<u64>,
        before: Option<u64>,
        limit: usize,
    ) -> Result<HistoryPage, ChatError> {
        self.authorize(auth).await?;
        let (conversation, visible_after) = self.readable(auth, peer).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        // One more than asked tells whether there is a next page.
        let query = HistoryQuery {
            conversation,
            visible_after,
            after,
            before,
            limit: limit + 1,
        };
        let mut messages = self.ports.history.history(&query).await?;
        let more = messages.len() > limit;
        if more {
            if after.is_some() {
                messages.truncate(limit);
            } else {
                messages.drain(..messages.len() - limit);
            }
        }
        let next = more
            .then(|| {
                let edge = if after.is_some() {
                    messages.last()
                } else {
                    messages.first()
                };
                edge.map(|m| m.placement().seq)
            })
            .flatten();
        Ok(HistoryPage { messages, next })
    }

    /// The conversation with `peer` and what of it the acting user may
    /// read (what came after the `seq` returned). Refused as sending there
    /// would be: `not_friends`, `unknown_user`, `unknown_group`,
    /// `not_member`.
    pub(super) async fn readable(
        &self,
        auth: &Auth,
        peer: &Peer,
    ) -> Result<(Conversation, u64), ChatError> {
        match peer {
            Peer::User(friend) => {
                if !self.ports.friends.are_friends(&auth.user, friend).await? {
                    self.require_user(friend).await?;
                    return Err(ChatError::NotFriends(friend.to_string()));
                }
                Ok((Conversation::direct(&auth.user, friend), 0))
            }
            Peer::Group(group) => {
                self.require_group(*group).await?;
                let Some(floor) = self.ports.history.joined_after(*group, &auth.user).await? else {
                    return Err(ChatError::NotMember {
                        user: auth.user.to_string(),
                        group: *group,
                    });
                };
                Ok((Conversation::Group(*group), floor))
            }
        }
    }

    /// Everything the acting user may read with a position above `after`,
    /// across all their conversations, oldest first, at most `limit`
    /// (at most `MAX_PAGE` (100)): what a device that was offline since
    /// `after` missed, including what the user sent from other devices.
    /// From a login's [`position`](super::Login::position), it is what
    /// arrived since that login.
    pub async fn sync(&self, auth: &Auth, after: u64, limit: usize) -> Result<SyncPage, ChatError> {
        self.authorize(auth).await?;
        let limit = limit.clamp(1, MAX_PAGE);
        let mut messages = self
            .ports
            .history
            .sync(&auth.user, after, limit + 1)
            .await?;
        let more = messages.len() > limit;
        messages.truncate(limit);
        let cursor = messages.last().map_or(after, |m| m.placement().position);
        let mailbox_shared = self.ports.users.is_mailbox_reader(&auth.user).await?;
        Ok(SyncPage {
            messages,
            cursor,
            more,
            mailbox_shared,
        })
    }

    /// Removes what the configured retention does not keep; returns how
    /// many messages went. Nothing with the default retention.
    pub async fn prune_history(&self, now: SystemTime) -> Result<u64, ChatError> {
        let retention = self.config.history_retention;
        if retention.keeps_everything() {
            return Ok(0);
        }
        Ok(self.ports.history.prune_history(retention, now).await?)
    }
}
