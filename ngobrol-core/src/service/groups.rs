//! Groups: creating them, listing them, joining and leaving.

use std::time::SystemTime;

use super::{Auth, ChatService};
use crate::error::{ChatError, PortError};
use crate::ports::{DeliveryBody, GroupRecord, GroupRef, NoticeEvent};
use crate::types::{GroupId, GroupName, Username};

impl ChatService {
    /// Creates a group with the acting user as admin and first member.
    pub async fn create_group(
        &self,
        auth: &Auth,
        name: &GroupName,
    ) -> Result<GroupRecord, ChatError> {
        self.authorize(auth).await?;
        self.check_groups_of(&auth.user).await?;
        let group = self
            .ports
            .groups
            .create_group(name, &auth.user, SystemTime::now())
            .await?;
        // The channel must exist before anything is bound to it.
        self.ports.outbound.create_group_channel(group.id).await?;
        self.ports.outbound.subscribe(group.id, &auth.user).await?;
        Ok(group)
    }

    /// The groups the acting user is a member of.
    pub async fn groups(&self, auth: &Auth) -> Result<Vec<GroupRecord>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.groups.groups_of(&auth.user).await?)
    }

    /// Adds `member` to a group the acting user is admin of, and tells the
    /// whole group, the new member included.
    pub async fn add_member(
        &self,
        auth: &Auth,
        group: GroupId,
        member: &Username,
    ) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if record.admin != auth.user {
            return Err(ChatError::NotGroupAdmin(group));
        }
        self.require_user(member).await?;
        if self.ports.groups.is_member(group, member).await? {
            return Err(ChatError::AlreadyMember {
                user: member.to_string(),
                group,
            });
        }
        let max = self.config.max_group_members;
        if self.ports.groups.count_members(group).await? >= max as u64 {
            return Err(ChatError::GroupFull { group, max });
        }
        self.check_groups_of(member).await?;
        // The store still decides a race between two adds of one member.
        match self.ports.groups.add_member(group, member).await {
            Err(PortError::Conflict) => {
                return Err(ChatError::AlreadyMember {
                    user: member.to_string(),
                    group,
                });
            }
            other => other?,
        }
        let outbound = &self.ports.outbound;
        outbound.ensure_mailbox(member).await?;
        outbound.subscribe(group, member).await?;
        let notice = auth.delivery(
            "joined",
            DeliveryBody::Notice {
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                event: NoticeEvent::Joined {
                    member: member.clone(),
                    by: auth.user.clone(),
                },
            },
        );
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Takes the acting user out of a group, then tells those who stay.
    pub async fn quit_group(&self, auth: &Auth, group: GroupId) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if !self.ports.groups.remove_member(group, &auth.user).await? {
            return Err(ChatError::NotMember {
                user: auth.user.to_string(),
                group,
            });
        }
        let outbound = &self.ports.outbound;
        outbound.unsubscribe(group, &auth.user).await?;
        let notice = auth.delivery(
            "left",
            DeliveryBody::Notice {
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                event: NoticeEvent::Left {
                    member: auth.user.clone(),
                },
            },
        );
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Refuses when `user` is in as many groups as allowed. The limits on
    /// group counts and sizes are checked before the write, so concurrent
    /// additions may pass them by a few; they bound abuse, not accounting.
    async fn check_groups_of(&self, user: &Username) -> Result<(), ChatError> {
        let max = self.config.max_groups_per_user;
        if self.ports.groups.count_groups_of(user).await? >= max as u64 {
            return Err(ChatError::TooManyGroups {
                user: user.to_string(),
                max,
            });
        }
        Ok(())
    }
}

impl NoticeEvent {
    /// The sentence a person reads for this notice.
    pub fn describe(&self, group: &GroupName) -> String {
        match self {
            NoticeEvent::Joined { member, by } => {
                format!("{member} was added to {group} by {by}")
            }
            NoticeEvent::Left { member } => format!("{member} left {group}"),
        }
    }
}
