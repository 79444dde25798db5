//! Groups: creating them, listing them, joining and leaving.

use super::{Added, Auth, ChatService, FriendshipPolicy};
use crate::error::{ChatError, PortError};
use crate::ports::{Conversation, DeliveryBody, GroupRecord, GroupRef, NoticeEvent};
use crate::types::{GroupId, GroupName, Username};

impl ChatService {
    /// Creates a group with the acting user as admin and first member.
    /// All or nothing: when its routing cannot be made, the stored group
    /// is deleted again before the error is returned.
    pub async fn create_group(
        &self,
        auth: &Auth,
        name: &GroupName,
    ) -> Result<GroupRecord, ChatError> {
        self.authorize(auth).await?;
        self.check_groups_of(&auth.user).await?;
        self.check_groups_created(&auth.user).await?;
        let group = self
            .ports
            .groups
            .create_group(name, &auth.user, self.config.clock.now())
            .await?;
        if let Err(error) = self.route_new_group(group.id, &auth.user).await {
            self.undo_create_group(group.id).await;
            return Err(error.into());
        }
        Ok(group)
    }

    async fn route_new_group(&self, group: GroupId, admin: &Username) -> Result<(), PortError> {
        // The channel must exist before anything is bound to it.
        self.ports.outbound.create_group_channel(group).await?;
        self.ports.outbound.subscribe(group, admin).await
    }

    /// Takes back a group whose routing could not be made. In the order
    /// of [`Self::end_group`], the row first; if even that fails, the group
    /// stays stored with its admin as member, and the next start-up's
    /// restore makes its routing.
    async fn undo_create_group(&self, group: GroupId) {
        match self.ports.groups.delete_group(group).await {
            Ok(_) => self.delete_channel_of_ended_group(group).await,
            Err(error) => tracing::error!(
                %group,
                %error,
                "a group whose routing failed could not be deleted again; \
                 it stays stored, and the next start-up completes its routing"
            ),
        }
    }

    /// The groups the acting user is a member of.
    pub async fn groups(&self, auth: &Auth) -> Result<Vec<GroupRecord>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.groups.groups_of(&auth.user).await?)
    }

    /// Adds `member` to a group the acting user is admin of, and tells the
    /// whole group, the new member included. Under
    /// [`FriendshipPolicy::Consent`], someone who is not the admin's friend
    /// is invited instead, and joins once they accept.
    pub async fn add_member(
        &self,
        auth: &Auth,
        group: GroupId,
        member: &Username,
    ) -> Result<Added, ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if record.admin != auth.user {
            return Err(ChatError::NotGroupAdmin(group));
        }
        self.require_user(member).await?;
        if self.ports.friends.blocks(member, &auth.user).await? {
            return Err(ChatError::UnknownUser(member.to_string()));
        }
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
        if self.config.friendship == FriendshipPolicy::Consent
            && !self.ports.friends.are_friends(&auth.user, member).await?
        {
            return self.invite(auth, &record, member).await;
        }
        self.join(&record, member, &auth.user, auth).await?;
        Ok(Added::Member)
    }

    /// Makes `member` a member of `record`'s group, added by `by`, and
    /// tells the whole group, the new member included. The group's limits
    /// are checked here again, for an invitation accepted later.
    pub(super) async fn join(
        &self,
        record: &GroupRecord,
        member: &Username,
        by: &Username,
        auth: &Auth,
    ) -> Result<(), ChatError> {
        let group = record.id;
        let max = self.config.max_group_members;
        if self.ports.groups.count_members(group).await? >= max as u64 {
            return Err(ChatError::GroupFull { group, max });
        }
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
        let mut notice = auth.delivery(
            "joined",
            DeliveryBody::Notice {
                group: GroupRef {
                    id: group,
                    name: record.name.clone(),
                },
                event: NoticeEvent::Joined {
                    member: member.clone(),
                    by: by.clone(),
                },
            },
        );
        self.record(&Conversation::Group(group), &mut notice)
            .await?;
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Takes the acting user out of a group, then tells those who stay.
    /// When the last member leaves, the group ends: it is deleted with its
    /// channel.
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
        if self.ports.groups.count_members(group).await? == 0 {
            // The last member left: the group ends, and nobody is told.
            return self.end_group(group).await;
        }
        let mut notice = auth.delivery(
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
        self.record(&Conversation::Group(group), &mut notice)
            .await?;
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Deletes a group nobody is a member of any more, and its channel.
    ///
    /// The store's row goes first, the channel second. The store is the
    /// truth at start-up: restoring re-declares a channel for every stored
    /// group. Had the channel gone first, a crash (or a store failure)
    /// between the two would leave a memberless row that every start-up
    /// re-declares a channel for, and that no one can quit any more, for
    /// ever. This way round, the worst left behind is a channel with no
    /// subscribers under an id no later group is given (the port's
    /// contract): nothing routes to it and nothing restores it. So a
    /// failure to delete the channel is logged and the quit stands: it
    /// took effect in the store.
    ///
    /// An admin who is not a member may add someone between the count and
    /// the deletion; then the deletion wins (the addition fails in the
    /// store or binds to a channel about to go), as if the addition had
    /// come after.
    pub(super) async fn end_group_now(&self, group: GroupId) -> Result<(), ChatError> {
        self.end_group(group).await
    }

    async fn end_group(&self, group: GroupId) -> Result<(), ChatError> {
        self.ports.groups.delete_group(group).await?;
        self.delete_channel_of_ended_group(group).await;
        Ok(())
    }

    async fn delete_channel_of_ended_group(&self, group: GroupId) {
        if let Err(error) = self.ports.outbound.delete_group_channel(group).await {
            tracing::warn!(
                %group,
                %error,
                "the channel of a deleted group could not be deleted; it stays, unused"
            );
        }
    }

    /// Refuses when `user` has created as many groups (still existing) as
    /// allowed.
    async fn check_groups_created(&self, user: &Username) -> Result<(), ChatError> {
        let max = self.config.max_groups_created_per_user;
        if self.ports.groups.count_groups_administered(user).await? >= max as u64 {
            return Err(ChatError::TooManyGroupsCreated { max });
        }
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
            NoticeEvent::Removed { member, by } => {
                format!("{member} was removed from {group} by {by}")
            }
            NoticeEvent::AdminChanged { member, by } => {
                format!("{member} is now the admin of {group}, made so by {by}")
            }
            NoticeEvent::Renamed { by } => format!("{by} renamed the group to {group}"),
            NoticeEvent::Closed { by } => format!("{by} closed {group}"),
        }
    }
}
