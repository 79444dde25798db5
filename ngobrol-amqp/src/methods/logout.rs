//! Extension: `logout` revokes the token it carries.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` ends the session this token is of; their other sessions stay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logout {
    /// The user logging out.
    pub username: String,
    /// The token of the session to end.
    pub token: Secret,
}

impl Method for Logout {
    const NAME: &'static str = "logout";
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
impl crate::server::Execute for Logout {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        cx.chat.logout(&cx.auth(self.username, self.token)?).await?;
        Ok((Said::LoggedOut, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Revokes this session's token: every clone of the session stops
    /// working, and its mailbox is no longer read.
    pub async fn logout(&self) -> Result<(), crate::client::ClientError> {
        let request = Logout {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)?;
        self.close_mailbox().await;
        self.close_own_connection().await;
        Ok(())
    }
}
