//! `add_member_to_group`: the group's admin adds a user.

use serde::{Deserialize, Serialize};

use super::{Asked, Method};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username_adder`, the group's admin, adds `username_to_add` to the group
/// `group_id`; on a server that asks for consent, one who is not the admin's
/// friend is invited instead.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AddMemberToGroup {
    /// The group's admin, who adds the member.
    pub username_adder: String,
    /// The user to add.
    pub username_to_add: String,
    /// The group to add them to.
    pub group_id: i64,
    /// The token of `username_adder`'s session.
    pub token: Secret,
}

impl Method for AddMemberToGroup {
    const NAME: &'static str = "add_member_to_group";
    const CHANGES_STATE: bool = true;
    type Reply = Asked;

    fn acting_user(&self) -> &str {
        &self.username_adder
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for AddMemberToGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, Asked), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username_adder, self.token)?;
        let member = ngobrol_core::Username::parse(self.username_to_add)?;
        let group = ngobrol_core::GroupId::new(self.group_id);
        let done = cx.chat.add_member(&auth, group, &member).await?;
        let (member, group) = (member.into_string(), group.get());
        Ok(match done {
            ngobrol_core::Added::Member => (Said::MemberAdded { member, group }, Asked::default()),
            ngobrol_core::Added::Invited => (
                Said::MemberInvited { member, group },
                Asked { pending: true },
            ),
        })
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Adds `user` to a group this user is the admin of; true when they
    /// are a member now, false when they were invited (a server that asks
    /// for consent, and `user` is not this user's friend).
    pub async fn add_member(
        &self,
        group_id: i64,
        user: &str,
    ) -> Result<bool, crate::client::ClientError> {
        let request = AddMemberToGroup {
            username_adder: self.username().to_owned(),
            username_to_add: user.to_owned(),
            group_id,
            token: self.token().clone(),
        };
        Ok(!self.call(request).await?.pending)
    }
}
