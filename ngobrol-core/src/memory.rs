//! In-memory implementations of every port, so the whole service runs in
//! one process with no broker and no database: for embedding, examples and
//! fast tests. They keep the ports' contracts (uniqueness, atomicity) with
//! one lock each; nothing survives the process.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::PortError;
use crate::ports::{
    Delivery, FriendRepository, GroupRecord, GroupRepository, Outbound, RequestKey, RequestLog,
    SessionRecord, SessionRepository, UserRecord, UserRepository,
};
use crate::types::{GroupId, GroupName, SessionId, TokenHash, Username};

#[derive(Debug, Default)]
struct StoreState {
    users: HashMap<Username, UserRecord>,
    sessions: HashMap<TokenHash, SessionRecord>,
    friends: BTreeSet<(Username, Username)>,
    groups: BTreeMap<GroupId, GroupRecord>,
    members: BTreeSet<(GroupId, Username)>,
    next_group_id: i64,
    replies: HashMap<RequestKey, (Vec<u8>, SystemTime)>,
}

/// Every repository, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<StoreState>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, StoreState> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that breaks a contract, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl UserRepository for MemoryStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<(), PortError> {
        let mut state = self.state();
        if state.users.contains_key(&user.username) {
            return Err(PortError::Conflict);
        }
        state.users.insert(user.username.clone(), user.clone());
        Ok(())
    }

    async fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, PortError> {
        Ok(self.state().users.get(username).cloned())
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), PortError> {
        let mut state = self.state();
        if state.sessions.contains_key(&session.token_hash)
            || state.sessions.values().any(|s| s.id == session.id)
        {
            return Err(PortError::Conflict);
        }
        state
            .sessions
            .insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    async fn find_session(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, PortError> {
        Ok(self.state().sessions.get(token_hash).cloned())
    }

    async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, PortError> {
        let mut sessions: Vec<SessionRecord> = self
            .state()
            .sessions
            .values()
            .filter(|s| s.username == *user)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        Ok(sessions)
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> Result<bool, PortError> {
        Ok(self.state().sessions.remove(token_hash).is_some())
    }

    async fn delete_session_by_id(
        &self,
        user: &Username,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, PortError> {
        let mut state = self.state();
        let hash = state
            .sessions
            .values()
            .find(|s| s.id == *id && s.username == *user)
            .map(|s| s.token_hash.clone());
        Ok(hash.and_then(|hash| state.sessions.remove(&hash)))
    }

    async fn delete_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, PortError> {
        let mut state = self.state();
        let mut ended: Vec<SessionRecord> = Vec::new();
        state.sessions.retain(|_, s| {
            if s.username == *user {
                ended.push(s.clone());
                false
            } else {
                true
            }
        });
        ended.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        Ok(ended.into_iter().map(|s| s.id).collect())
    }

    async fn touch_session(&self, token_hash: &TokenHash, at: SystemTime) -> Result<(), PortError> {
        if let Some(session) = self.state().sessions.get_mut(token_hash) {
            session.last_seen = at;
        }
        Ok(())
    }
}

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
            Ok(())
        } else {
            Err(PortError::Conflict)
        }
    }

    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        Ok(self.state().members.remove(&(id, user.clone())))
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
        Ok(existed)
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

#[async_trait]
impl RequestLog for MemoryStore {
    async fn find_reply(&self, key: &RequestKey) -> Result<Option<Vec<u8>>, PortError> {
        Ok(self
            .state()
            .replies
            .get(key)
            .map(|(reply, _)| reply.clone()))
    }

    async fn record_reply(
        &self,
        key: &RequestKey,
        reply: &[u8],
        at: SystemTime,
    ) -> Result<(), PortError> {
        self.state()
            .replies
            .entry(key.clone())
            .or_insert_with(|| (reply.to_vec(), at));
        Ok(())
    }

    async fn prune(&self, before: SystemTime, keep: u64) -> Result<u64, PortError> {
        let mut state = self.state();
        let start = state.replies.len();
        state.replies.retain(|_, (_, at)| *at >= before);
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        if keep == 0 {
            state.replies.clear();
        } else if state.replies.len() > keep {
            let mut times: Vec<SystemTime> = state.replies.values().map(|(_, at)| *at).collect();
            times.sort_unstable();
            let cutoff = times[times.len() - keep];
            state.replies.retain(|_, (_, at)| *at >= cutoff);
        }
        Ok((start - state.replies.len()) as u64)
    }
}

/// The mailbox of one session: whose it is, and what waits in it.
#[derive(Debug)]
struct SessionMailbox {
    user: Username,
    deliveries: VecDeque<Delivery>,
}

#[derive(Debug, Default)]
struct OutboundState {
    mailboxes: HashMap<Username, VecDeque<Delivery>>,
    sessions: BTreeMap<SessionId, SessionMailbox>,
    closed_sessions: Vec<SessionId>,
    channels: BTreeMap<GroupId, BTreeSet<Username>>,
}

impl OutboundState {
    /// Puts a copy of `delivery` in `user`'s mailbox, if there is one, and
    /// in the mailbox of each of the user's sessions.
    fn deliver(&mut self, user: &Username, delivery: &Delivery) {
        if let Some(mailbox) = self.mailboxes.get_mut(user) {
            mailbox.push_back(delivery.clone());
        }
        for session in self.sessions.values_mut() {
            if session.user == *user {
                session.deliveries.push_back(delivery.clone());
            }
        }
    }
}

/// The outbound side, in memory: a mailbox of deliveries per user and per
/// session, and the subscribers of each group. A session's mailbox gets a
/// copy of every delivery to its user from the time it was opened.
///
/// Like a broker, it drops a delivery addressed to a user without a
/// mailbox, and refuses to subscribe anyone to a group channel that does not
/// exist.
#[derive(Debug, Default)]
pub struct MemoryOutbound {
    state: Mutex<OutboundState>,
}

impl MemoryOutbound {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every delivery waiting in `user`'s mailbox, oldest first.
    pub fn drain(&self, user: &Username) -> Vec<Delivery> {
        self.state()
            .mailboxes
            .get_mut(user)
            .map(|mailbox| mailbox.drain(..).collect())
            .unwrap_or_default()
    }

    /// Takes every delivery waiting in the session's mailbox, oldest first.
    pub fn drain_session(&self, session: &SessionId) -> Vec<Delivery> {
        self.state()
            .sessions
            .get_mut(session)
            .map(|mailbox| mailbox.deliveries.drain(..).collect())
            .unwrap_or_default()
    }

    /// Whether the session's mailbox is open.
    pub fn has_session_mailbox(&self, session: &SessionId) -> bool {
        self.state().sessions.contains_key(session)
    }

    /// The sessions of `user` whose mailboxes are open, by id.
    pub fn session_mailboxes_of(&self, user: &Username) -> Vec<SessionId> {
        self.state()
            .sessions
            .iter()
            .filter(|(_, mailbox)| mailbox.user == *user)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Every session mailbox closed so far, in the order they were closed
    /// (closing one that was not open counts too).
    pub fn closed_session_mailboxes(&self) -> Vec<SessionId> {
        self.state().closed_sessions.clone()
    }

    /// Whether `user` is subscribed to the group.
    pub fn is_subscribed(&self, group: GroupId, user: &Username) -> bool {
        self.state()
            .channels
            .get(&group)
            .is_some_and(|members| members.contains(user))
    }

    /// Whether the group's channel exists.
    pub fn has_channel(&self, group: GroupId) -> bool {
        self.state().channels.contains_key(&group)
    }

    fn state(&self) -> MutexGuard<'_, OutboundState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Outbound for MemoryOutbound {
    async fn ensure_mailbox(&self, user: &Username) -> Result<(), PortError> {
        self.state().mailboxes.entry(user.clone()).or_default();
        Ok(())
    }

    async fn open_session_mailbox(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError> {
        self.state()
            .sessions
            .entry(session.clone())
            .or_insert_with(|| SessionMailbox {
                user: user.clone(),
                deliveries: VecDeque::new(),
            });
        Ok(())
    }

    async fn close_session_mailbox(&self, session: &SessionId) -> Result<(), PortError> {
        let mut state = self.state();
        state.sessions.remove(session);
        state.closed_sessions.push(session.clone());
        Ok(())
    }

    async fn create_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.state().channels.entry(group).or_default();
        Ok(())
    }

    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.state().channels.remove(&group);
        Ok(())
    }

    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        match self.state().channels.get_mut(&group) {
            Some(members) => {
                members.insert(user.clone());
                Ok(())
            }
            None => Err(PortError::Unavailable(format!(
                "group channel {group} does not exist"
            ))),
        }
    }

    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        if let Some(members) = self.state().channels.get_mut(&group) {
            members.remove(user);
        }
        Ok(())
    }

    async fn deliver_to_user(&self, user: &Username, delivery: &Delivery) -> Result<(), PortError> {
        self.state().deliver(user, delivery);
        Ok(())
    }

    async fn deliver_to_group(&self, group: GroupId, delivery: &Delivery) -> Result<(), PortError> {
        let mut state = self.state();
        let members: Vec<Username> = state
            .channels
            .get(&group)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default();
        for member in members {
            state.deliver(&member, delivery);
        }
        Ok(())
    }
}
