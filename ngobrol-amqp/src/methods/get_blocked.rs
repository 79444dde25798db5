//! Extension: `get_blocked` lists whom the user blocks.

use serde::{Deserialize, Serialize};

use super::Method;
use super::get_friend::GetFriendReply;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` asks whom they block.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetBlocked {
    /// The user whose blocks are listed.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for GetBlocked {
    const NAME: &'static str = "get_blocked";
    const CHANGES_STATE: bool = false;
    /// `usernames`, sorted, as `get_friend_reply` has them.
    type Reply = GetFriendReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetBlocked {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetFriendReply), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let usernames: Vec<String> = cx
            .chat
            .blocked(&auth)
            .await?
            .into_iter()
            .map(|u| u.into_string())
            .collect();
        let said = Said::BlockedListed {
            count: usernames.len(),
        };
        Ok((said, GetFriendReply { usernames }))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Whom you block, sorted by name.
    pub async fn blocked(&self) -> Result<Vec<String>, crate::client::ClientError> {
        let request = GetBlocked {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.usernames)
    }
}
