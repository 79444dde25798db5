//! What a group's admin may do beyond adding members: remove one, hand
//! the group over, rename it, close it; and who is in it. Each change is
//! told to the group with a notice, like joining and leaving.

use super::{Auth, ChatService};
use crate::error::ChatError;
use crate::ports::{Conversation, DeliveryBody, GroupRecord, GroupRef, NoticeEvent};
use crate::types::{GroupId, GroupName, Username};

impl ChatService {
    /// A group the acting user is a member of, with its members, sorted by
    /// name.
    pub async fn group_members(
        &self,
        auth: &Auth,
        group: GroupId,
    ) -> Result<(GroupRecord, Vec<Username>), ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        let members = self.ports.groups.members_of(group).await?;
        if !members.contains(&auth.user) {
            return Err(ChatError::NotMember {
                user: auth.user.to_string(),
                group,
            });
        }
        Ok((record, members))
    }

    /// The group, when the acting user is its admin.
    async fn as_admin(&self, auth: &Auth, group: GroupId) -> Result<GroupRecord, ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if record.admin != auth.user {
            return Err(ChatError::NotGroupAdmin(group));
        }
        Ok(record)
    }

    /// Tells the group (those subscribed now) of `event`, stored first.
    async fn tell_group(
        &self,
        auth: &Auth,
        record: &GroupRecord,
        purpose: &str,
        event: NoticeEvent,
    ) -> Result<crate::ports::Delivery, ChatError> {
        let mut notice = auth.delivery(
            purpose,
            DeliveryBody::Notice {
                group: GroupRef {
                    id: record.id,
                    name: record.name.clone(),
                },
                event,
            },
        );
        self.record(&Conversation::Group(record.id), &mut notice)
            .await?;
        self.ports
            .outbound
            .deliver_to_group(record.id, &notice)
            .await?;
        Ok(notice)
    }

    /// Removes `member` from a group the acting user is admin of. The
    /// group is told, and so is the one removed (it is no longer among
    /// those the group's notices reach). Removing the last member ends
    /// the group. The admin leaves with [`quit_group`](Self::quit_group).
    pub async fn remove_member(
        &self,
        auth: &Auth,
        group: GroupId,
        member: &Username,
    ) -> Result<(), ChatError> {
        let record = self.as_admin(auth, group).await?;
        if *member == auth.user {
            return Err(ChatError::BadRequest(
                "the admin leaves a group with quit_from_group".into(),
            ));
        }
        if !self.ports.groups.remove_member(group, member).await? {
            return Err(ChatError::NotMember {
                user: member.to_string(),
                group,
            });
        }
        self.ports.outbound.unsubscribe(group, member).await?;
        let event = NoticeEvent::Removed {
            member: member.clone(),
            by: auth.user.clone(),
        };
        let notice = self.tell_group(auth, &record, "removed", event).await?;
        self.ports.outbound.deliver_to_user(member, &notice).await?;
        if self.ports.groups.count_members(group).await? == 0 {
            return self.end_group_now(group).await;
        }
        Ok(())
    }

    /// Makes `member` (a member of the group) its admin, in place of the
    /// acting user; the group is told.
    pub async fn transfer_admin(
        &self,
        auth: &Auth,
        group: GroupId,
        member: &Username,
    ) -> Result<(), ChatError> {
        let record = self.as_admin(auth, group).await?;
        if !self.ports.groups.is_member(group, member).await? {
            return Err(ChatError::NotMember {
                user: member.to_string(),
                group,
            });
        }
        self.ports.groups.set_admin(group, member).await?;
        let event = NoticeEvent::AdminChanged {
            member: member.clone(),
            by: auth.user.clone(),
        };
        self.tell_group(auth, &record, "admin", event).await?;
        Ok(())
    }

    /// Gives a group the acting user is admin of a new name; the group is
    /// told (the notice carries the new name).
    pub async fn rename_group(
        &self,
        auth: &Auth,
        group: GroupId,
        name: &GroupName,
    ) -> Result<GroupRecord, ChatError> {
        let mut record = self.as_admin(auth, group).await?;
        self.ports.groups.rename_group(group, name).await?;
        record.name = name.clone();
        let event = NoticeEvent::Renamed {
            by: auth.user.clone(),
        };
        self.tell_group(auth, &record, "renamed", event).await?;
        Ok(record)
    }

    /// Closes a group the acting user is admin of: every member is told,
    /// then the group, its memberships and its history are deleted, as
    /// when its last member leaves.
    pub async fn close_group(&self, auth: &Auth, group: GroupId) -> Result<(), ChatError> {
        let record = self.as_admin(auth, group).await?;
        let event = NoticeEvent::Closed {
            by: auth.user.clone(),
        };
        self.tell_group(auth, &record, "closed", event).await?;
        self.end_group_now(group).await
    }
}
