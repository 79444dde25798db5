//! `create_group`: a new group, with its creator as admin and first
//! member.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` creates a group named `group_name`, as its admin and first
/// member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateGroup {
    /// The creator, who becomes the group's admin.
    pub username: String,
    /// The new group's name: 1 to 100 characters, not blank, no control
    /// characters.
    pub group_name: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// The body of `create_group_reply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateGroupReply {
    /// Extension: the new group's id. The original server sent none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

impl Method for CreateGroup {
    const NAME: &'static str = "create_group";
    const CHANGES_STATE: bool = true;
    type Reply = CreateGroupReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for CreateGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, CreateGroupReply), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let name = ngobrol_core::GroupName::parse(self.group_name)?;
        let group = cx.chat.create_group(&auth, &name).await?;
        let said = Said::GroupCreated {
            name: group.name.to_string(),
            id: group.id.get(),
        };
        let body = CreateGroupReply {
            group_id: Some(group.id.get()),
        };
        Ok((said, body))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Creates a group; returns its id when the server says it (ngobrol
    /// does; the original server did not).
    pub async fn create_group(
        &self,
        name: &str,
    ) -> Result<Option<i64>, crate::client::ClientError> {
        let request = CreateGroup {
            username: self.username().to_owned(),
            group_name: name.to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.group_id)
    }
}
