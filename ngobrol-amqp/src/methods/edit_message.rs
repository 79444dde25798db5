//! Extension: `edit_message` replaces the text of one of the acting
//! user's messages.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` replaces the text of their message `message_id` with
/// `message`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditMessage {
    /// The message's author.
    pub username: String,
    /// The id of the message to edit.
    pub message_id: String,
    /// The new text, within the size limit.
    pub message: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for EditMessage {
    const NAME: &'static str = "edit_message";
    const CHANGES_STATE: bool = true;
    type Reply = NoBody;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

/// A message id as the wire has it; `bad_request` for anything else.
#[cfg(feature = "server")]
pub(crate) fn message_id(text: &str) -> Result<ngobrol_core::MessageId, ngobrol_core::ChatError> {
    ngobrol_core::MessageId::parse(text)
        .ok_or_else(|| ngobrol_core::ChatError::BadRequest("message_id is not a message id".into()))
}

#[cfg(feature = "server")]
impl crate::server::Execute for EditMessage {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let id = message_id(&self.message_id)?;
        let text = cx.chat.message_text(self.message)?;
        cx.chat.edit_message(&auth, &id, text).await?;
        Ok((Said::MessageEdited, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Replaces the text of your message `message_id`; the conversation's
    /// online devices get [`Event::Edited`](crate::client::Event::Edited).
    pub async fn edit_message(
        &self,
        message_id: &str,
        text: &str,
    ) -> Result<(), crate::client::ClientError> {
        let request = EditMessage {
            username: self.username().to_owned(),
            message_id: message_id.to_owned(),
            message: text.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
