//! `send_group`: a message to a group, the sender included.

use serde::{Deserialize, Serialize};

use super::{Method, Sent};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username_from` sends `message` to every member of the group
/// `group_id_to`, the sender included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendGroup {
    /// The sender, a member of the group.
    pub username_from: String,
    /// The group the message is for.
    pub group_id_to: i64,
    /// The text, within the size limit (64 KiB of UTF-8 by default).
    pub message: String,
    /// The token of `username_from`'s session.
    pub token: Secret,
}

impl Method for SendGroup {
    const NAME: &'static str = "send_group";
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
impl crate::server::Execute for SendGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, Sent), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username_from, self.token)?;
        let group = ngobrol_core::GroupId::new(self.group_id_to);
        let text = cx.chat.message_text(self.message)?;
        let delivery = cx.chat.send_group(&auth, group, text).await?;
        let body = Sent {
            message_id: Some(delivery.id.to_string()),
        };
        Ok((Said::SentToGroup { group: group.get() }, body))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Sends a message to a group this user is in.
    pub async fn send_group(
        &self,
        group_id: i64,
        text: &str,
    ) -> Result<Option<String>, crate::client::ClientError> {
        let request = SendGroup {
            username_from: self.username().to_owned(),
            group_id_to: group_id,
            message: text.to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.message_id)
    }
}
