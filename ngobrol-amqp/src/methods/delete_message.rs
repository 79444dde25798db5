//! Extension: `delete_message` deletes one of the acting user's messages,
//! leaving a tombstone in its place.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` deletes their message `message_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteMessage {
    /// The message's author.
    pub username: String,
    /// The id of the message to delete.
    pub message_id: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for DeleteMessage {
    const NAME: &'static str = "delete_message";
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
impl crate::server::Execute for DeleteMessage {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let id = super::edit_message::message_id(&self.message_id)?;
        cx.chat.delete_message(&auth, &id).await?;
        Ok((Said::MessageDeleted, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Deletes your message `message_id` (a tombstone stays in the
    /// history); the conversation's online devices get
    /// [`Event::Deleted`](crate::client::Event::Deleted).
    pub async fn delete_message(&self, message_id: &str) -> Result<(), crate::client::ClientError> {
        let request = DeleteMessage {
            username: self.username().to_owned(),
            message_id: message_id.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
