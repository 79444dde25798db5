//! Extension: `remove_friend` ends a friendship, both ways.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// Named as `add_friend` is: `username_from` ends the friendship with
/// `username_to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemoveFriend {
    /// The user who ends the friendship.
    pub username_from: String,
    /// The friend to remove.
    pub username_to: String,
    /// The token of `username_from`'s session.
    pub token: Secret,
}

impl Method for RemoveFriend {
    const NAME: &'static str = "remove_friend";
    const CHANGES_STATE: bool = true;
    type Reply = NoBody;

    fn acting_user(&self) -> &str {
        &self.username_from
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for RemoveFriend {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username_from, self.token)?;
        let friend = ngobrol_core::Username::parse(self.username_to)?;
        cx.chat.remove_friend(&auth, &friend).await?;
        let said = Said::FriendRemoved {
            friend: friend.into_string(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Ends your friendship with `friend`, both ways.
    pub async fn remove_friend(&self, friend: &str) -> Result<(), crate::client::ClientError> {
        let request = RemoveFriend {
            username_from: self.username().to_owned(),
            username_to: friend.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
