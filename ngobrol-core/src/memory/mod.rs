//! In-memory implementations of every port, so the whole service runs in
//! one process with no broker and no database: for embedding, examples and
//! fast tests. They keep the ports' contracts (uniqueness, atomicity) with
//! one lock each; nothing survives the process.

mod friends_groups;
mod history;
mod outbound;
mod request_log;
mod turns;
mod users_sessions;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use crate::ports::{
    FriendRequest, GroupRecord, Invitation, PresenceState, RequestKey, SessionRecord, UserRecord,
};
use crate::types::{GroupId, TokenHash, Username};

pub use outbound::MemoryOutbound;

#[derive(Debug, Default)]
struct StoreState {
    users: HashMap<Username, UserRecord>,
    sessions: HashMap<TokenHash, SessionRecord>,
    friends: BTreeSet<(Username, Username)>,
    groups: BTreeMap<GroupId, GroupRecord>,
    members: BTreeSet<(GroupId, Username)>,
    next_group_id: i64,
    replies: HashMap<RequestKey, (Vec<u8>, SystemTime)>,
    /// For each membership: the group's latest `seq` when it began.
    joined_after: HashMap<(GroupId, Username), u64>,
    history: history::History,
    mailbox_readers: BTreeSet<Username>,
    /// (blocker, blocked).
    blocks: BTreeSet<(Username, Username)>,
    /// Friend requests, in the order made.
    requests: Vec<FriendRequest>,
    /// Group invitations, in the order made.
    invitations: Vec<Invitation>,
    /// Each session's last presence report.
    presence: HashMap<TokenHash, (PresenceState, SystemTime)>,
    /// Who keeps their typing and presence to themselves.
    activity_hidden: BTreeSet<Username>,
    /// Who an operator disabled.
    disabled: BTreeSet<Username>,
}

/// Every repository, in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<StoreState>,
    /// Turns at shards, shared with the holders handed out.
    turns: std::sync::Arc<turns::Turns>,
}

impl MemoryStore {
    /// An empty store: no users, no groups, no history.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, StoreState> {
        // A panic while holding the lock cannot leave the maps half-updated
        // in a way that breaks a contract, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
