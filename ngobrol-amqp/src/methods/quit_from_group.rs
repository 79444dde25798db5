//! `quit_from_group`: a member leaves a group.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` leaves the group `group_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuitFromGroup {
    /// The member who leaves.
    pub username: String,
    /// The group to leave.
    pub group_id: i64,
    /// The token of `username`'s session.
    pub token: Secret,
}

impl Method for QuitFromGroup {
    const NAME: &'static str = "quit_from_group";
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
impl crate::server::Execute for QuitFromGroup {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, NoBody), ngobrol_core::ChatError> {
        let group = ngobrol_core::GroupId::new(self.group_id);
        let auth = cx.auth(self.username, self.token)?;
        cx.chat.quit_group(&auth, group).await?;
        let said = Said::GroupLeft {
            member: auth.user.to_string(),
            group: group.get(),
        };
        Ok((said, NoBody {}))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// Leaves a group.
    pub async fn quit_group(&self, group_id: i64) -> Result<(), crate::client::ClientError> {
        let request = QuitFromGroup {
            username: self.username().to_owned(),
            group_id,
            token: self.token().clone(),
        };
        self.call(request).await.map(drop)
    }
}
