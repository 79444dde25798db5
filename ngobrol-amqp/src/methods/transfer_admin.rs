//! Extension: `transfer_admin`: the admin hands a group to one of its members.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username`, the group's admin, makes `member` the admin of the group
/// `group_id` instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferAdmin {
    /// The group's admin, who hands it over.
    pub username: String,
    /// The group to hand over.
    pub group_id: i64,
    /// The member who becomes the admin.
    pub member: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for TransferAdmin {
    const NAME: &'static str = "transfer_admin";
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
impl crate::server::Execute for TransferAdmin {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        let member = ngobrol_core::Username::parse(self.member)?;
        cx.chat.transfer_admin(&auth, group, &member).await?;
        let said = Said::AdminTransferred {
            member: member.into_string(),
            group: group.get(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Makes a member of a group you are the admin of its admin instead of you.
    pub async fn transfer_admin(
        &self,
        group_id: i64,
        member: &str,
    ) -> Result<(), crate::client::ClientError> {
        let request = TransferAdmin {
            username: self.username().to_owned(),
            group_id,
            member: member.to_owned(),
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
