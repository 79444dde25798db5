//! Extension: `get_group_members` lists a group's members, the admin
//! marked.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username`, a member of the group `group_id`, asks for its members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetGroupMembers {
    /// The member who asks.
    pub username: String,
    /// The group whose members are listed.
    pub group_id: i64,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// One entry of `get_group_members_reply.members`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// The member's name.
    pub username: String,
    /// Whether this member is the group's admin.
    #[serde(default)]
    pub admin: bool,
}

/// The body of `get_group_members_reply`: the group and its members by
/// name; `admin` is the admin's name (who may have left the group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetGroupMembersReply {
    /// The group's name; absent in an error reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// The admin's name; absent in an error reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// The members, by name.
    #[serde(default)]
    pub members: Vec<MemberEntry>,
}

impl Method for GetGroupMembers {
    const NAME: &'static str = "get_group_members";
    const CHANGES_STATE: bool = false;
    type Reply = GetGroupMembersReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetGroupMembers {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetGroupMembersReply), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        let (record, members) = cx.chat.group_members(&auth, group).await?;
        let members: Vec<_> = members
            .into_iter()
            .map(|m| MemberEntry {
                admin: m == record.admin,
                username: m.into_string(),
            })
            .collect();
        let said = Said::MembersListed {
            count: members.len(),
        };
        let body = GetGroupMembersReply {
            group_name: Some(record.name.to_string()),
            admin: Some(record.admin.into_string()),
            members,
        };
        Ok((said, body))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// A group's members (you must be one), by name, the admin marked.
    pub async fn group_members(
        &self,
        group_id: i64,
    ) -> Result<GetGroupMembersReply, crate::client::ClientError> {
        let request = GetGroupMembers {
            username: self.username().to_owned(),
            group_id,
            token: self.token().clone(),
        };
        self.call(request).await
    }
}
