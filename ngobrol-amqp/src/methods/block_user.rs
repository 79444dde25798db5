//! Extension: `block_user` and `unblock_user`: a person blocks someone (who
//! then cannot befriend them, add them to a group or message them, and is
//! not told), or lifts the block.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` blocks `blocked`: the two are friends no more, and `blocked`
/// can no longer befriend them, add them to a group or message them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BlockUser {
    /// The user who blocks.
    pub username: String,
    /// The user to block.
    pub blocked: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// `username` lifts their block of `blocked`; the friendship is not restored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnblockUser {
    /// The user who lifts the block.
    pub username: String,
    /// The user to unblock.
    pub blocked: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for BlockUser {
    const NAME: &'static str = "block_user";
    const CHANGES_STATE: bool = true;
    type Reply = NoBody;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

impl Method for UnblockUser {
    const NAME: &'static str = "unblock_user";
    const CHANGES_STATE: bool = true;
    type Reply = NoBody;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for BlockUser {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let blocked = ngobrol_core::Username::parse(self.blocked)?;
        cx.chat.block(&auth, &blocked).await?;
        let said = Said::Blocked {
            user: blocked.into_string(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for UnblockUser {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let blocked = ngobrol_core::Username::parse(self.blocked)?;
        cx.chat.unblock(&auth, &blocked).await?;
        let said = Said::Unblocked {
            user: blocked.into_string(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Blocks `user`: your friendship ends, and they cannot befriend you,
    /// add you to a group or message you.
    pub async fn block(&self, user: &str) -> Result<(), crate::client::ClientError> {
        let request = BlockUser {
            username: self.username().to_owned(),
            blocked: user.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }

    /// Lifts your block of `user`.
    pub async fn unblock(&self, user: &str) -> Result<(), crate::client::ClientError> {
        let request = UnblockUser {
            username: self.username().to_owned(),
            blocked: user.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
