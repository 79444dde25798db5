//! Extension: `rename_group`: the admin gives a group a new name.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username`, the group's admin, renames the group `group_id` to
/// `group_name`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RenameGroup {
    /// The group's admin.
    pub username: String,
    /// The group to rename.
    pub group_id: i64,
    /// The new name: 1 to 100 characters, not blank, no control characters.
    pub group_name: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for RenameGroup {
    const NAME: &'static str = "rename_group";
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
impl crate::server::Execute for RenameGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        let name = ngobrol_core::GroupName::parse(self.group_name)?;
        let record = cx.chat.rename_group(&auth, group, &name).await?;
        let said = Said::GroupRenamed {
            name: record.name.to_string(),
            group: group.get(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Gives a group you are the admin of a new name.
    pub async fn rename_group(
        &self,
        group_id: i64,
        name: &str,
    ) -> Result<(), crate::client::ClientError> {
        let request = RenameGroup {
            username: self.username().to_owned(),
            group_id,
            group_name: name.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
