//! `send_client`: a message to a friend.

use serde::{Deserialize, Serialize};

use super::{Method, Sent};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username_from` sends `message` to their friend `username_to`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendClient {
    /// The sender.
    pub username_from: String,
    /// The friend the message is for.
    pub username_to: String,
    /// The text, within the size limit (64 KiB of UTF-8 by default).
    pub message: String,
    /// The token of `username_from`'s session.
    pub token: Secret,
}

impl Method for SendClient {
    const NAME: &'static str = "send_client";
    const CHANGES_STATE: bool = true;
    type Reply = Sent;

    fn acting_user(&self) -> &str {
        &self.username_from
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for SendClient {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, Sent), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username_from, self.token)?;
        let to = ngobrol_core::Username::parse(self.username_to)?;
        let text = cx.chat.message_text(self.message)?;
        let delivery = cx.chat.send_direct(&auth, &to, text).await?;
        let body = Sent {
            message_id: Some(delivery.id.to_string()),
        };
        Ok((
            Said::SentDirect {
                to: to.into_string(),
            },
            body,
        ))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Sends a message to a friend; returns its id when the server gives
    /// one.
    pub async fn send_direct(
        &self,
        to: &str,
        text: &str,
    ) -> Result<Option<String>, crate::client::ClientError> {
        let request = SendClient {
            username_from: self.username().to_owned(),
            username_to: to.to_owned(),
            message: text.to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.message_id)
    }
}
