//! Extension: `logout_all` ends every session of the user, the calling one
//! included.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` ends every session of theirs, this one included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogoutAll {
    /// The user whose sessions end.
    pub username: String,
    /// The token of any of `username`'s sessions.
    pub token: Secret,
}

/// The body of `logout_all_reply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutAllReply {
    /// How many sessions ended.
    #[serde(default)]
    pub ended: usize,
}

impl Method for LogoutAll {
    const NAME: &'static str = "logout_all";
    const CHANGES_STATE: bool = true;
    type Reply = LogoutAllReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for LogoutAll {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, LogoutAllReply), ngobrol_core::ChatError> {
        let ended = cx
            .chat
            .logout_all(&cx.auth(self.username, self.token)?)
            .await?;
        let count = ended.len();
        Ok((
            Said::LoggedOutAll { count },
            LogoutAllReply { ended: count },
        ))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Ends every session of this user, on every device, this one
    /// included; returns how many ended.
    pub async fn logout_all(&self) -> Result<usize, crate::client::ClientError> {
        let request = LogoutAll {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        let reply = self.call(request).await?;
        self.close_mailbox().await;
        self.close_own_connection().await;
        Ok(reply.ended)
    }
}
