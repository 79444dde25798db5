//! Extension: `kick_member`: the admin removes a member from a group.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username`, the group's admin, removes `member` from the group `group_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KickMember {
    /// The group's admin.
    pub username: String,
    /// The group to remove the member from.
    pub group_id: i64,
    /// The member to remove; not the admin, who leaves with
    /// `quit_from_group`.
    pub member: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for KickMember {
    const NAME: &'static str = "kick_member";
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
impl crate::server::Execute for KickMember {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        let member = ngobrol_core::Username::parse(self.member)?;
        cx.chat.remove_member(&auth, group, &member).await?;
        let said = Said::MemberRemoved {
            member: member.into_string(),
            group: group.get(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Removes a member from a group you are the admin of.
    pub async fn kick_member(
        &self,
        group_id: i64,
        member: &str,
    ) -> Result<(), crate::client::ClientError> {
        let request = KickMember {
            username: self.username().to_owned(),
            group_id,
            member: member.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
