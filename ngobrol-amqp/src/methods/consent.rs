//! Extension, for a server that asks for consent: answering friend
//! requests and group invitations, and listing what waits for an answer.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` accepts `friend`'s request to be friends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptFriend {
    /// The user who was asked.
    pub username: String,
    /// The user who asked to be friends.
    pub friend: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// `username` declines `friend`'s request; `friend` is not told.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclineFriend {
    /// The user who was asked.
    pub username: String,
    /// The user who asked to be friends.
    pub friend: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// `username` accepts the invitation to `group_id`, and joins it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AcceptInvitation {
    /// The invited user.
    pub username: String,
    /// The group the invitation is to.
    pub group_id: i64,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// `username` declines the invitation to `group_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeclineInvitation {
    /// The invited user.
    pub username: String,
    /// The group the invitation is to.
    pub group_id: i64,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// What waits for `username`'s answer, or for others'.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetFriendRequests {
    /// The user who asks.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// A friend request in `get_friend_requests_reply`: the other person and
/// when it was made (RFC 3339 UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEntry {
    /// The other person: who asked the user, or whom the user asked.
    pub username: String,
    /// When the request was made, RFC 3339 UTC.
    pub at: String,
}

/// A group invitation in `get_friend_requests_reply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationEntry {
    /// The group the user is invited to.
    pub group_id: i64,
    /// The group's name.
    pub group_name: String,
    /// The admin who invited.
    pub by: String,
    /// When the invitation was made, RFC 3339 UTC.
    pub at: String,
}

/// The body of `get_friend_requests_reply`, each list oldest first;
/// empty in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetFriendRequestsReply {
    /// Who asked you.
    #[serde(default)]
    pub incoming: Vec<RequestEntry>,
    /// Whom you asked.
    #[serde(default)]
    pub outgoing: Vec<RequestEntry>,
    /// The groups the user is invited to.
    #[serde(default)]
    pub invitations: Vec<InvitationEntry>,
}

macro_rules! answering {
    ($method:ident, $name:literal, $reply:ty) => {
        impl Method for $method {
            const NAME: &'static str = $name;
            const CHANGES_STATE: bool = true;
            type Reply = $reply;

            fn acting_user(&self) -> &str {
                &self.username
            }

            fn token(&self) -> Option<&Secret> {
                Some(&self.token)
            }
        }
    };
}

answering!(AcceptFriend, "accept_friend", NoBody);
answering!(DeclineFriend, "decline_friend", NoBody);
answering!(AcceptInvitation, "accept_invitation", NoBody);
answering!(DeclineInvitation, "decline_invitation", NoBody);

impl Method for GetFriendRequests {
    const NAME: &'static str = "get_friend_requests";
    const CHANGES_STATE: bool = false;
    type Reply = GetFriendRequestsReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
mod server {
    use ngobrol_core::{ChatError, GroupId, Username};

    use super::*;
    use crate::server::{Context, Execute};

    fn stamp(at: std::time::SystemTime) -> String {
        humantime::format_rfc3339_millis(at).to_string()
    }

    impl Execute for AcceptFriend {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let friend = Username::parse(self.friend)?;
            cx.chat.accept_friend(&auth, &friend).await?;
            let friend = friend.into_string();
            Ok((Said::FriendAccepted { friend }, NoBody {}))
        }
    }

    impl Execute for DeclineFriend {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let friend = Username::parse(self.friend)?;
            cx.chat.decline_friend(&auth, &friend).await?;
            let friend = friend.into_string();
            Ok((Said::FriendDeclined { friend }, NoBody {}))
        }
    }

    impl Execute for AcceptInvitation {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let group = GroupId::new(self.group_id);
            cx.chat.accept_invitation(&auth, group).await?;
            Ok((Said::InvitationAccepted { group: group.get() }, NoBody {}))
        }
    }

    impl Execute for DeclineInvitation {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let group = GroupId::new(self.group_id);
            cx.chat.decline_invitation(&auth, group).await?;
            Ok((Said::InvitationDeclined { group: group.get() }, NoBody {}))
        }
    }

    impl Execute for GetFriendRequests {
        async fn execute(
            self,
            cx: &Context<'_>,
        ) -> Result<(Said, GetFriendRequestsReply), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let pending = cx.chat.pending(&auth).await?;
            let entry = |who: &Username, at| RequestEntry {
                username: who.to_string(),
                at: stamp(at),
            };
            let reply = GetFriendRequestsReply {
                incoming: pending
                    .incoming
                    .iter()
                    .map(|r| entry(&r.from, r.at))
                    .collect(),
                outgoing: pending
                    .outgoing
                    .iter()
                    .map(|r| entry(&r.to, r.at))
                    .collect(),
                invitations: pending
                    .invitations
                    .iter()
                    .map(|(invitation, group)| InvitationEntry {
                        group_id: group.id.get(),
                        group_name: group.name.to_string(),
                        by: invitation.by.to_string(),
                        at: stamp(invitation.at),
                    })
                    .collect(),
            };
            let count = reply.incoming.len() + reply.invitations.len();
            Ok((Said::RequestsListed { count }, reply))
        }
    }
}

#[cfg(feature = "client")]
mod client {
    use super::*;
    use crate::client::{ClientError, Session};

    impl Session {
        /// Accepts `friend`'s request to be friends.
        pub async fn accept_friend(&self, friend: &str) -> Result<(), ClientError> {
            let request = AcceptFriend {
                username: self.username().to_owned(),
                friend: friend.to_owned(),
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }

        /// Declines `friend`'s request to be friends (they are not told).
        pub async fn decline_friend(&self, friend: &str) -> Result<(), ClientError> {
            let request = DeclineFriend {
                username: self.username().to_owned(),
                friend: friend.to_owned(),
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }

        /// Accepts the invitation to `group_id`: you join the group.
        pub async fn accept_invitation(&self, group_id: i64) -> Result<(), ClientError> {
            let request = AcceptInvitation {
                username: self.username().to_owned(),
                group_id,
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }

        /// Declines the invitation to `group_id`.
        pub async fn decline_invitation(&self, group_id: i64) -> Result<(), ClientError> {
            let request = DeclineInvitation {
                username: self.username().to_owned(),
                group_id,
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }

        /// Friend requests to and from you, and your group invitations.
        pub async fn friend_requests(&self) -> Result<GetFriendRequestsReply, ClientError> {
            let request = GetFriendRequests {
                username: self.username().to_owned(),
                token: self.token().clone(),
            };
            self.call(request).await
        }
    }
}
