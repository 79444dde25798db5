//! Finding a stored message by its id, and its author's edits and
//! deletions, in place.

use std::time::SystemTime;

use diesel::prelude::*;
use ngobrol_core::{MessageId, MessageText, PortError, StoredMessage};

use super::MESSAGE_ROW;
use crate::convert::{MessageRow, stored_message, to_millis};
use crate::open::Store;
use crate::schema::messages;

impl Store {
    pub(super) async fn find(&self, id: &MessageId) -> Result<Option<StoredMessage>, PortError> {
        let id = id.to_string();
        let row = with_conn!(self, |conn| {
            messages::table
                .filter(messages::message_id.eq(&id))
                .select(MESSAGE_ROW)
                .get_result::<MessageRow>(conn)
                .optional()
                .map_err(Into::into)
        })?;
        row.map(|row| stored_message(row).map_err(PortError::from))
            .transpose()
    }

    pub(super) async fn amend(
        &self,
        id: &MessageId,
        text: Option<MessageText>,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let id = id.to_string();
        let body = text
            .as_ref()
            .map_or_else(Vec::new, |t| t.as_str().as_bytes().to_vec());
        let deleted = text.is_none();
        let at = to_millis(at);
        with_conn!(self, |conn| {
            let changed = diesel::update(
                messages::table
                    .filter(messages::message_id.eq(&id))
                    .filter(messages::kind.eq_any(["direct", "group"])),
            )
            .set((
                messages::body.eq(Some(&body)),
                messages::amended_at.eq(Some(at)),
                messages::deleted.eq(deleted),
            ))
            .execute(conn)?;
            Ok(changed > 0)
        })
    }
}
