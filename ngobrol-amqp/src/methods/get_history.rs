//! Extension: `get_history` reads one conversation's stored messages, a
//! page at a time.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;
use crate::wire::DeliveryMessage;

/// A page of the conversation with a friend (`with`) or of a group the
/// user is a member of (`group_id`): exactly one of the two. `after` and
/// `before` are `seq` bounds, both exclusive: with `after`, the page is
/// the oldest messages after it; otherwise the newest (before `before`,
/// when given). `limit` is 1 to 100 (50 when absent; more counts as 100).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetHistory {
    /// The reader.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
    /// The friend whose conversation to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// The group whose conversation to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// Read forwards: the oldest messages after this `seq` (`0` from the
    /// start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// Read backwards: the newest messages before this `seq`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// The most messages in the page: 1 to 100 (50 when absent; more counts
    /// as 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl GetHistory {
    /// A page's size when the request gives none.
    pub const DEFAULT_LIMIT: u32 = 50;
}

/// The body of `get_history_reply`: the page, oldest first, each message
/// as a delivery carries it (with `username_to` on direct messages, and
/// `seq`); `next` is the cursor of the next page in the direction read,
/// absent at the end. Empty in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GetHistoryReply {
    /// The page, oldest first.
    #[serde(default)]
    pub messages: Vec<DeliveryMessage>,
    /// The `seq` to ask from for the next page in the same direction; absent
    /// at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

impl Method for GetHistory {
    const NAME: &'static str = "get_history";
    const CHANGES_STATE: bool = false;
    type Reply = GetHistoryReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetHistory {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetHistoryReply), ngobrol_core::ChatError> {
        use ngobrol_core::{ChatError, GroupId, Peer, Username};
        let auth = cx.auth(self.username, self.token)?;
        let peer = match (self.with, self.group_id) {
            (Some(friend), None) => Peer::User(Username::parse(friend)?),
            (None, Some(group)) => Peer::Group(GroupId::new(group)),
            _ => {
                return Err(ChatError::BadRequest(
                    "name one conversation: a friend (`with`) or a group (`group_id`)".into(),
                ));
            }
        };
        let limit = self.limit.unwrap_or(Self::DEFAULT_LIMIT) as usize;
        let page = cx
            .chat
            .history(&auth, &peer, self.after, self.before, limit)
            .await?;
        let messages: Vec<_> = page
            .messages
            .iter()
            .map(|m| DeliveryMessage::from_stored_in(cx.lang, m))
            .collect();
        let said = Said::HistoryRead {
            count: messages.len(),
        };
        Ok((
            said,
            GetHistoryReply {
                messages,
                next: page.next,
            },
        ))
    }
}

#[cfg(feature = "client")]
mod client {
    use super::{GetHistory, GetHistoryReply};
    use crate::client::{ClientError, Event, Session};

    /// A conversation, as the reader names it.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub enum Peer {
        /// The conversation with this friend.
        User(String),
        /// A group's.
        Group(i64),
    }

    /// Which page of a conversation to read; each at most 100 messages.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Page {
        /// The newest messages.
        Latest(u32),
        /// The newest of those before this `seq`: scrolling back.
        Before(u64, u32),
        /// The oldest of those after this `seq`: reading forward (from
        /// `0`, the whole history from its start).
        After(u64, u32),
    }

    /// One page of a conversation, oldest first.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct History {
        /// The page's messages, oldest first.
        pub messages: Vec<Event>,
        /// The `seq` to read the next page from, in the same direction
        /// (as `Before` or `After`); `None` at the end.
        pub next: Option<u64>,
    }

    impl Session {
        /// A page of a conversation's stored history.
        pub async fn history(&self, with: &Peer, page: Page) -> Result<History, ClientError> {
            let (after, before, limit) = match page {
                Page::Latest(limit) => (None, None, limit),
                Page::Before(seq, limit) => (None, Some(seq), limit),
                Page::After(seq, limit) => (Some(seq), None, limit),
            };
            let (user, group) = match with {
                Peer::User(name) => (Some(name.clone()), None),
                Peer::Group(id) => (None, Some(*id)),
            };
            let request = GetHistory {
                username: self.username().to_owned(),
                token: self.token().clone(),
                with: user,
                group_id: group,
                after,
                before,
                limit: Some(limit),
            };
            let GetHistoryReply { messages, next } = self.call(request).await?;
            Ok(History {
                messages: messages.into_iter().filter_map(Event::from_wire).collect(),
                next,
            })
        }
    }
}

#[cfg(feature = "client")]
pub use client::{History, Page, Peer};
