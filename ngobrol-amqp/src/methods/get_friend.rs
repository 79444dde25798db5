//! `get_friend`: the user's friends.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` asks for their friends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetFriend {
    /// The user whose friends are listed.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// The body of `get_friend_reply`: the friends' names, empty in an error
/// reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetFriendReply {
    /// The friends' names, sorted (in `get_blocked_reply`, whom the user
    /// blocks).
    #[serde(default)]
    pub usernames: Vec<String>,
}

impl Method for GetFriend {
    const NAME: &'static str = "get_friend";
    const CHANGES_STATE: bool = false;
    type Reply = GetFriendReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetFriend {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetFriendReply), ngobrol_core::ChatError> {
        let friends = cx
            .chat
            .friends(&cx.auth(self.username, self.token)?)
            .await?;
        let said = Said::FriendsListed {
            count: friends.len(),
        };
        let usernames = friends.into_iter().map(|f| f.into_string()).collect();
        Ok((said, GetFriendReply { usernames }))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// This user's friends.
    pub async fn friends(&self) -> Result<Vec<String>, crate::client::ClientError> {
        let request = GetFriend {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.usernames)
    }
}
