//! A store that fails, stalls or panics on command: for tests of what the
//! server does when a port lets it down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use ngobrol_core::{
    Conversation, ConversationSummary, Delivery, FriendRepository, FriendRequest, GroupId,
    GroupName, GroupRecord, GroupRepository, HistoryQuery, HistoryRepository, Invitation, Marker,
    MessageId, MessageText, Placement, PortError, PresenceState, RequestKey, RequestLog, Retention,
    SessionId, SessionRecord, SessionRepository, ShardTurns, StoredMessage, TokenHash, TurnHolder,
    UserRecord, UserRepository, Username,
};

/// What a faulty port does when a call it was told about comes.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Fails with [`PortError::Unavailable`], as a lost database would.
    Fail,
    /// Panics, as a bug would.
    Panic,
    /// Waits this long, then does the call.
    Stall(Duration),
    /// Waits until the test opens the gate, then does the call.
    Hold(Gate),
}

/// What a [`Fault::Hold`] waits for: the test's word, not a time.
#[derive(Clone, Debug)]
pub struct Gate(Arc<tokio::sync::Semaphore>);

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    /// A gate, shut.
    pub fn new() -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(0)))
    }

    /// Lets every held call through, now and later.
    pub fn open(&self) {
        self.0.add_permits(tokio::sync::Semaphore::MAX_PERMITS / 2);
    }
}

/// The faults to inject, shared between a test and its [`FaultyStore`]:
/// each is for one method, for its next `times` calls.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<Mutex<HashMap<&'static str, (Fault, usize)>>>);

impl Faults {
    /// The next `times` calls of the repository method `method` (its name,
    /// as `"append_message"`) meet `fault`.
    pub fn inject(&self, method: &'static str, fault: Fault, times: usize) {
        self.lock().insert(method, (fault, times));
    }

    /// How many injected faults are still to come for `method`.
    pub fn pending(&self, method: &str) -> usize {
        self.lock().get(method).map_or(0, |(_, n)| *n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<&'static str, (Fault, usize)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn hit(&self, method: &'static str) -> Result<(), PortError> {
        let fault = match self.lock().get_mut(method) {
            Some((fault, times)) if *times > 0 => {
                *times -= 1;
                Some(fault.clone())
            }
            _ => None,
        };
        match fault {
            None => Ok(()),
            Some(Fault::Fail) => Err(PortError::Unavailable(format!(
                "injected fault: {method} failed"
            ))),
            Some(Fault::Panic) => panic!("injected fault: {method} panicked"),
            Some(Fault::Stall(wait)) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Some(Fault::Hold(gate)) => {
                drop(gate.0.acquire().await);
                Ok(())
            }
        }
    }
}

/// Every repository of `S`, with [`Faults`] injected before each call.
pub struct FaultyStore<S> {
    inner: Arc<S>,
    faults: Faults,
}

impl<S> FaultyStore<S> {
    pub fn new(inner: Arc<S>, faults: Faults) -> Self {
        Self { inner, faults }
    }
}

/// Implements `$port` for `FaultyStore`, each method asking the faults
/// first, then calling the store it wraps.
macro_rules! faulty {
    ($port:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ok:ty;)* }) => {
        #[async_trait]
        impl<S: $port> $port for FaultyStore<S> {
            $(
                async fn $name(&self $(, $arg: $ty)*) -> Result<$ok, PortError> {
                    self.faults.hit(stringify!($name)).await?;
                    self.inner.$name($($arg),*).await
                }
            )*
        }
    };
}

faulty!(UserRepository {
    fn insert_user(&self, user: &UserRecord) -> ();
    fn find_user(&self, username: &Username) -> Option<UserRecord>;
    fn set_mailbox_reader(&self, user: &Username, reads: bool) -> bool;
    fn is_mailbox_reader(&self, user: &Username) -> bool;
    fn mailbox_readers(&self) -> Vec<Username>;
    fn shares_activity(&self, user: &Username) -> bool;
    fn set_shares_activity(&self, user: &Username, share: bool) -> ();
    fn set_disabled(&self, user: &Username, disabled: bool) -> bool;
    fn is_disabled(&self, user: &Username) -> bool;
    fn set_password_hash(&self, user: &Username, hash: &str) -> bool;
});

faulty!(SessionRepository {
    fn insert_session(&self, session: &SessionRecord) -> ();
    fn find_session(&self, token_hash: &TokenHash) -> Option<SessionRecord>;
    fn sessions_of(&self, user: &Username) -> Vec<SessionRecord>;
    fn delete_session(&self, token_hash: &TokenHash) -> bool;
    fn delete_session_by_id(&self, user: &Username, id: &SessionId) -> Option<SessionRecord>;
    fn delete_sessions_of(&self, user: &Username) -> Vec<SessionId>;
    fn touch_session(&self, token_hash: &TokenHash, at: SystemTime) -> ();
    fn set_presence(&self, token_hash: &TokenHash, state: PresenceState, at: SystemTime) -> ();
    fn presence_reports(&self, user: &Username) -> Vec<(PresenceState, SystemTime)>;
});

faulty!(FriendRepository {
    fn add_friendship(&self, a: &Username, b: &Username) -> ();
    fn are_friends(&self, a: &Username, b: &Username) -> bool;
    fn friends_of(&self, user: &Username) -> Vec<Username>;
    fn remove_friendship(&self, a: &Username, b: &Username) -> bool;
    fn block(&self, user: &Username, blocked: &Username) -> bool;
    fn unblock(&self, user: &Username, blocked: &Username) -> bool;
    fn blocks(&self, user: &Username, other: &Username) -> bool;
    fn blocked_by(&self, user: &Username) -> Vec<Username>;
    fn add_friend_request(&self, from: &Username, to: &Username, at: SystemTime) -> bool;
    fn remove_friend_request(&self, from: &Username, to: &Username) -> bool;
    fn friend_requests_of(&self, user: &Username) -> Vec<FriendRequest>;
});

faulty!(GroupRepository {
    fn create_group(&self, name: &GroupName, admin: &Username, created_at: SystemTime) -> GroupRecord;
    fn find_group(&self, id: GroupId) -> Option<GroupRecord>;
    fn add_member(&self, id: GroupId, user: &Username) -> ();
    fn remove_member(&self, id: GroupId, user: &Username) -> bool;
    fn is_member(&self, id: GroupId, user: &Username) -> bool;
    fn count_members(&self, id: GroupId) -> u64;
    fn count_groups_of(&self, user: &Username) -> u64;
    fn groups_of(&self, user: &Username) -> Vec<GroupRecord>;
    fn members_of(&self, id: GroupId) -> Vec<Username>;
    fn set_admin(&self, id: GroupId, admin: &Username) -> bool;
    fn rename_group(&self, id: GroupId, name: &GroupName) -> bool;
    fn all_memberships(&self) -> Vec<(GroupId, Vec<Username>)>;
    fn delete_group(&self, id: GroupId) -> bool;
    fn count_groups_administered(&self, user: &Username) -> u64;
    fn add_invitation(&self, group: GroupId, user: &Username, by: &Username, at: SystemTime) -> bool;
    fn remove_invitation(&self, group: GroupId, user: &Username) -> Option<Username>;
    fn invitations_of(&self, user: &Username) -> Vec<Invitation>;
});

faulty!(HistoryRepository {
    fn append_message(&self, conversation: &Conversation, delivery: &Delivery) -> Placement;
    fn history(&self, query: &HistoryQuery) -> Vec<StoredMessage>;
    fn sync(&self, user: &Username, after: u64, limit: usize) -> Vec<StoredMessage>;
    fn joined_after(&self, group: GroupId, user: &Username) -> Option<u64>;
    fn find_message(&self, id: &MessageId) -> Option<StoredMessage>;
    fn amend_message(&self, id: &MessageId, text: Option<MessageText>, at: SystemTime) -> bool;
    fn advance_marker(&self, user: &Username, conversation: &Conversation, marker: Marker, seq: u64) -> Option<(u64, u64)>;
    fn authors_between(&self, conversation: &Conversation, after: u64, up_to: u64) -> Vec<Username>;
    fn conversations_of(&self, user: &Username) -> Vec<ConversationSummary>;
    fn latest_position(&self) -> u64;
    fn prune_history(&self, retention: Retention, now: SystemTime) -> u64;
});

faulty!(RequestLog {
    fn find_reply(&self, key: &RequestKey) -> Option<Vec<u8>>;
    fn record_reply(&self, key: &RequestKey, reply: &[u8], at: SystemTime) -> ();
    fn prune(&self, before: SystemTime, keep: u64) -> u64;
});

faulty!(ShardTurns {
    fn turn_holder(&self, scope: &str) -> Box<dyn TurnHolder>;
});
