//! [`MemoryStore`]'s friendships, groups and their members.

use std::time::SystemTime;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::PortError;
use crate::ports::{
    Conversation, FriendRepository, FriendRequest, GroupRecord, GroupRepository, Invitation,
};
use crate::types::{GroupId, GroupName, Username};

#[async_trait]
impl FriendRepository for MemoryStore {
    async fn add_friendship(&self, a: &Username, b: &Username) -> Result<(), PortError> {
        let mut state = self.state();
        if state.friends.contains(&(a.clone(), b.clone())) {
            return Err(PortError::Conflict);
        }
        state.friends.insert((a.clone(), b.clone()));
        state.friends.insert((b.clone(), a.clone()));
        Ok(())
    }

    async fn are_friends(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        Ok(self.state().friends.contains(&(a.clone(), b.clone())))
    }

    async fn friends_of(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        Ok(self
            .state()
            .friends
            .iter()
            .filter(|(a, _)| a == user)
            .map(|(_, b)| b.clone())
            .collect())
    }

    async fn remove_friendship(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let mut state = self.state();
        let one = state.friends.remove(&(a.clone(), b.clone()));
        let other = state.friends.remove(&(b.clone(), a.clone()));
        Ok(one || other)
    }

    async fn block(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        Ok(self.state().blocks.insert((user.clone(), blocked.clone())))
    }

    async fn unblock(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        Ok(self.state().blocks.remove(&(user.clone(), blocked.clone())))
    }

    async fn blocks(&self, user: &Username, other: &Username) -> Result<bool, PortError> {
        Ok(self.state().blocks.contains(&(user.clone(), other.clone())))
    }

    async fn blocked_by(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        Ok(self
            .state()
            .blocks
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, b)| b.clone())
            .collect())
    }

    async fn add_friend_request(
        &self,
        from: &Username,
        to: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        if state
            .requests
            .iter()
            .any(|r| r.from == *from && r.to == *to)
        {
            return Ok(false);
        }
        state.requests.push(FriendRequest {
            from: from.clone(),
            to: to.clone(),
            at,
        });
        Ok(true)
    }

    async fn remove_friend_request(
        &self,
        from: &Username,
        to: &Username,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        let before = state.requests.len();
        state.requests.retain(|r| !(r.from == *from && r.to == *to));
        Ok(state.requests.len() < before)
    }

    async fn friend_requests_of(&self, user: &Username) -> Result<Vec<FriendRequest>, PortError> {
        Ok(self
            .state()
            .requests
            .iter()
            .filter(|r| r.from == *user || r.to == *user)
            .cloned()
            .collect())
    }
}

#[async_trait]
impl GroupRepository for MemoryStore {
    async fn create_group(
        &self,
        name: &GroupName,
        admin: &Username,
        _created_at: SystemTime,
    ) -> Result<GroupRecord, PortError> {
        let mut state = self.state();
        state.next_group_id += 1;
        let id = GroupId::new(state.next_group_id);
        let record = GroupRecord {
            id,
            name: name.clone(),
            admin: admin.clone(),
        };
        state.groups.insert(id, record.clone());
        state.members.insert((id, admin.clone()));
        state.joined_after.insert((id, admin.clone()), 0);
        Ok(record)
    }

    async fn find_group(&self, id: GroupId) -> Result<Option<GroupRecord>, PortError> {
        Ok(self.state().groups.get(&id).cloned())
    }

    async fn add_member(&self, id: GroupId, user: &Username) -> Result<(), PortError> {
        let mut state = self.state();
        // As a database's foreign key does: a group deleted meanwhile.
        if !state.groups.contains_key(&id) {
            return Err(PortError::Unavailable(format!("group {id} does not exist")));
        }
        if state.members.insert((id, user.clone())) {
            let floor = state.history.last_seq(&Conversation::Group(id));
            state.joined_after.insert((id, user.clone()), floor);
            Ok(())
        } else {
            Err(PortError::Conflict)
        }
    }

    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let mut state = self.state();
        state.joined_after.remove(&(id, user.clone()));
        Ok(state.members.remove(&(id, user.clone())))
    }

    async fn is_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        Ok(self.state().members.contains(&(id, user.clone())))
    }

    async fn count_members(&self, id: GroupId) -> Result<u64, PortError> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|(g, _)| *g == id)
            .count() as u64)
    }

    async fn count_groups_of(&self, user: &Username) -> Result<u64, PortError> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|(_, u)| u == user)
            .count() as u64)
    }

    async fn groups_of(&self, user: &Username) -> Result<Vec<GroupRecord>, PortError> {
        let state = self.state();
        Ok(state
            .members
            .iter()
            .filter(|(_, u)| u == user)
            .filter_map(|(id, _)| state.groups.get(id).cloned())
            .collect())
    }

    async fn members_of(&self, id: GroupId) -> Result<Vec<Username>, PortError> {
        Ok(self
            .state()
            .members
            .iter()
            .filter(|(g, _)| *g == id)
            .map(|(_, u)| u.clone())
            .collect())
    }

    async fn set_admin(&self, id: GroupId, admin: &Username) -> Result<bool, PortError> {
        Ok(match self.state().groups.get_mut(&id) {
            Some(group) => {
                group.admin = admin.clone();
                true
            }
            None => false,
        })
    }

    async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<bool, PortError> {
        Ok(match self.state().groups.get_mut(&id) {
            Some(group) => {
                group.name = name.clone();
                true
            }
            None => false,
        })
    }

    async fn all_memberships(&self) -> Result<Vec<(GroupId, Vec<Username>)>, PortError> {
        let state = self.state();
        Ok(state
            .groups
            .keys()
            .map(|id| {
                let members = state
                    .members
                    .iter()
                    .filter(|(g, _)| g == id)
                    .map(|(_, u)| u.clone())
                    .collect();
                (*id, members)
            })
            .collect())
    }

    async fn delete_group(&self, id: GroupId) -> Result<bool, PortError> {
        let mut state = self.state();
        let existed = state.groups.remove(&id).is_some();
        state.members.retain(|(g, _)| *g != id);
        state.joined_after.retain(|(g, _), _| *g != id);
        state.invitations.retain(|i| i.group != id);
        state.history.forget(&Conversation::Group(id));
        Ok(existed)
    }

    async fn add_invitation(
        &self,
        group: GroupId,
        user: &Username,
        by: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        if state
            .invitations
            .iter()
            .any(|i| i.group == group && i.user == *user)
        {
            return Ok(false);
        }
        state.invitations.push(Invitation {
            group,
            user: user.clone(),
            by: by.clone(),
            at,
        });
        Ok(true)
    }

    async fn remove_invitation(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<Username>, PortError> {
        let mut state = self.state();
        let found = state
            .invitations
            .iter()
            .position(|i| i.group == group && i.user == *user);
        Ok(found.map(|at| state.invitations.remove(at).by))
    }

    async fn invitations_of(&self, user: &Username) -> Result<Vec<Invitation>, PortError> {
        Ok(self
            .state()
            .invitations
            .iter()
            .filter(|i| i.user == *user)
            .cloned()
            .collect())
    }

    async fn count_groups_administered(&self, user: &Username) -> Result<u64, PortError> {
        Ok(self
            .state()
            .groups
            .values()
            .filter(|g| g.admin == *user)
            .count() as u64)
    }
}
