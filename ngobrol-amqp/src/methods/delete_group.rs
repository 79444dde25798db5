//! Extension: `delete_group`: the admin closes a group; its members are told.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username`, the group's admin, closes the group `group_id`: every member
/// gets a `closed` notice, then the group ends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeleteGroup {
    /// The group's admin.
    pub username: String,
    /// The group to close.
    pub group_id: i64,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for DeleteGroup {
    const NAME: &'static str = "delete_group";
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
impl crate::server::Execute for DeleteGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        cx.chat.close_group(&auth, group).await?;
        let said = Said::GroupClosed { group: group.get() };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Closes a group you are the admin of: it is deleted, its members told.
    pub async fn delete_group(&self, group_id: i64) -> Result<(), crate::client::ClientError> {
        let request = DeleteGroup {
            username: self.username().to_owned(),
            group_id,
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
