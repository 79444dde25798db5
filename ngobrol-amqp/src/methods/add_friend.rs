//! `add_friend`: makes two users friends of each other.

use serde::{Deserialize, Serialize};

use super::{Asked, Method};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username_from` and `username_to` become friends of each other; on a
/// server that asks for consent, `username_to` is asked first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddFriend {
    /// The user who adds the friend.
    pub username_from: String,
    /// The user to befriend.
    pub username_to: String,
    /// The token of `username_from`'s session.
    pub token: Secret,
}

impl Method for AddFriend {
    const NAME: &'static str = "add_friend";
    const CHANGES_STATE: bool = true;
    type Reply = Asked;

    fn acting_user(&self) -> &str {
        &self.username_from
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for AddFriend {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, Asked), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username_from, self.token)?;
        let friend = ngobrol_core::Username::parse(self.username_to)?;
        let done = cx.chat.add_friend(&auth, &friend).await?;
        let friend = friend.into_string();
        Ok(match done {
            ngobrol_core::Befriended::Friends => (Said::FriendAdded { friend }, Asked::default()),
            ngobrol_core::Befriended::Asked => {
                (Said::FriendAsked { friend }, Asked { pending: true })
            }
        })
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Makes `friend` and this user friends of each other; true when they
    /// are friends now, false when `friend` was asked (a server that asks
    /// for consent) and must accept first.
    pub async fn add_friend(&self, friend: &str) -> Result<bool, crate::client::ClientError> {
        let request = AddFriend {
            username_from: self.username().to_owned(),
            username_to: friend.to_owned(),
            token: self.token().clone(),
        };
        Ok(!self.call(request).await?.pending)
    }
}
