//! Extension: `mark_read` and `mark_delivered` move the acting user's
//! markers in one conversation; `get_conversations` lists their
//! conversations with unread counts.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;
use crate::wire::DeliveryMessage;

/// `username` read (or got) the conversation with a friend (`with`) or of
/// a group (`group_id`), exactly one of the two, up to `seq`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkRead {
    /// The reader.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
    /// The friend of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// The group of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// The conversation's `seq` the user read up to.
    pub seq: u64,
}

/// As [`MarkRead`], for what reached a device of the user's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarkDelivered {
    /// The user whose device got the messages.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
    /// The friend of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// The group of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// The conversation's `seq` the user's device got up to.
    pub seq: u64,
}

/// The user's conversations, newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetConversations {
    /// The user whose conversations are listed.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// One conversation in `get_conversations_reply`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationEntry {
    /// The friend of a direct conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// The group of a group conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// The latest message, as `get_history` gives it.
    pub last: DeliveryMessage,
    /// How many messages from others are unread.
    pub unread: u64,
    /// The `seq` the user read up to.
    pub read_up_to: u64,
    /// In a direct conversation: the `seq` the friend read up to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_read_up_to: Option<u64>,
}

/// The body of `get_conversations_reply`; empty in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GetConversationsReply {
    /// The conversations, newest first: every direct one with messages, and
    /// every group the user is a member of.
    #[serde(default)]
    pub conversations: Vec<ConversationEntry>,
}

macro_rules! marking {
    ($method:ident, $name:literal) => {
        impl Method for $method {
            const NAME: &'static str = $name;
            const CHANGES_STATE: bool = true;
            type Reply = NoBody;

            fn acting_user(&self) -> &str {
                &self.username
            }

            fn token(&self) -> Option<&Secret> {
                Some(&self.token)
            }
        }
    };
}

marking!(MarkRead, "mark_read");
marking!(MarkDelivered, "mark_delivered");

impl Method for GetConversations {
    const NAME: &'static str = "get_conversations";
    const CHANGES_STATE: bool = false;
    type Reply = GetConversationsReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
mod server {
    use ngobrol_core::{ChatError, Conversation, GroupId, Marker, Peer, Username};

    use super::*;
    use crate::server::{Context, Execute};

    /// The conversation a request names: a friend or a group.
    pub(crate) fn peer(with: Option<String>, group: Option<i64>) -> Result<Peer, ChatError> {
        match (with, group) {
            (Some(friend), None) => Ok(Peer::User(Username::parse(friend)?)),
            (None, Some(group)) => Ok(Peer::Group(GroupId::new(group))),
            _ => Err(ChatError::BadRequest(
                "name one conversation: a friend (`with`) or a group (`group_id`)".into(),
            )),
        }
    }

    impl Execute for MarkRead {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let peer = peer(self.with, self.group_id)?;
            cx.chat.mark(&auth, &peer, Marker::Read, self.seq).await?;
            Ok((Said::Marked, NoBody {}))
        }
    }

    impl Execute for MarkDelivered {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let peer = peer(self.with, self.group_id)?;
            cx.chat
                .mark(&auth, &peer, Marker::Delivered, self.seq)
                .await?;
            Ok((Said::Marked, NoBody {}))
        }
    }

    impl Execute for GetConversations {
        async fn execute(
            self,
            cx: &Context<'_>,
        ) -> Result<(Said, GetConversationsReply), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let conversations: Vec<ConversationEntry> = cx
                .chat
                .conversations(&auth)
                .await?
                .into_iter()
                .filter_map(|summary| {
                    let last = summary.last.as_ref()?;
                    let (with, group_id) = match &summary.conversation {
                        Conversation::Direct { .. } => (
                            summary
                                .conversation
                                .peer_of(&auth.user)
                                .map(ToString::to_string),
                            None,
                        ),
                        Conversation::Group(group) => (None, Some(group.get())),
                    };
                    Some(ConversationEntry {
                        with,
                        group_id,
                        last: DeliveryMessage::from_stored_in(cx.lang, last),
                        unread: summary.unread,
                        read_up_to: summary.read_up_to,
                        peer_read_up_to: summary.peer_read_up_to,
                    })
                })
                .collect();
            let said = Said::ConversationsListed {
                count: conversations.len(),
            };
            Ok((said, GetConversationsReply { conversations }))
        }
    }
}

#[cfg(feature = "server")]
pub(crate) use server::peer;

#[cfg(feature = "client")]
mod client {
    use super::*;
    use crate::client::{ClientError, Peer, Session};

    fn names(peer: &Peer) -> (Option<String>, Option<i64>) {
        match peer {
            Peer::User(name) => (Some(name.clone()), None),
            Peer::Group(id) => (None, Some(*id)),
        }
    }

    impl Session {
        /// Marks the conversation with `peer` read up to `seq` (a
        /// message's [`Event::seq`](crate::client::Event::seq)): your
        /// devices' unread counts follow, and the authors of what you
        /// read get a [`Event::Receipt`](crate::client::Event::Receipt).
        pub async fn mark_read(&self, peer: &Peer, seq: u64) -> Result<(), ClientError> {
            let (with, group_id) = names(peer);
            let request = MarkRead {
                username: self.username().to_owned(),
                token: self.token().clone(),
                with,
                group_id,
                seq,
            };
            self.call(request).await.map(drop)
        }

        /// Says a device of yours got the conversation with `peer` up to
        /// `seq`; the SDK sends it by itself with
        /// [`LoginOptions::delivery_receipts`](crate::client::LoginOptions::delivery_receipts).
        pub async fn mark_delivered(&self, peer: &Peer, seq: u64) -> Result<(), ClientError> {
            let (with, group_id) = names(peer);
            let request = MarkDelivered {
                username: self.username().to_owned(),
                token: self.token().clone(),
                with,
                group_id,
                seq,
            };
            self.call(request).await.map(drop)
        }

        /// Your conversations, newest first, with their latest message and
        /// unread count.
        pub async fn conversations(&self) -> Result<Vec<ConversationEntry>, ClientError> {
            let request = GetConversations {
                username: self.username().to_owned(),
                token: self.token().clone(),
            };
            Ok(self.call(request).await?.conversations)
        }
    }
}
