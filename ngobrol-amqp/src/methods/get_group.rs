//! `get_group`: the groups the user is a member of.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` asks for the groups they are a member of.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetGroup {
    /// The user whose groups are listed.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// One entry of `get_group_reply.groups`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupEntry {
    /// The group's name.
    pub group_name: String,
    /// The group's id.
    pub group_id: i64,
}

/// The body of `get_group_reply`: the groups, empty in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetGroupReply {
    /// The groups, by id.
    #[serde(default)]
    pub groups: Vec<GroupEntry>,
}

impl Method for GetGroup {
    const NAME: &'static str = "get_group";
    const CHANGES_STATE: bool = false;
    type Reply = GetGroupReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetGroupReply), ngobrol_core::ChatError> {
        let groups = cx.chat.groups(&cx.auth(self.username, self.token)?).await?;
        let said = Said::GroupsListed {
            count: groups.len(),
        };
        let groups = groups
            .into_iter()
            .map(|g| GroupEntry {
                group_name: g.name.as_str().to_owned(),
                group_id: g.id.get(),
            })
            .collect();
        Ok((said, GetGroupReply { groups }))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// The groups this user is a member of.
    pub async fn groups(&self) -> Result<Vec<GroupEntry>, crate::client::ClientError> {
        let request = GetGroup {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.groups)
    }
}
