//! Caches of what every message asks the store: whose session a token is,
//! whether two users are friends, whether a user is in a group and what
//! the group is called. [`Ports::cached`] puts them in front of the
//! repositories.
//!
//! Exact within one process: every write that changes a cached answer
//! goes through the same ports and forgets it once done, and an answer
//! read from the store while such a write ran is not kept (a generation
//! count tells). Between processes on one store: with
//! [`Ports::cached_telling`], each such forgetting is also handed to a
//! [`Teller`] (the server sends it to the other servers), and what the
//! others forgot is applied through [`Caches::forget`]; what a process
//! writes without telling (an operator's command) is seen once the entry
//! is older than the time to live, which also bounds a notice lost on
//! the way. Bounded: each cache keeps at most `capacity` entries, the
//! least recently used going first.

use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use lru::LruCache;

use crate::error::PortError;
use crate::ports::{
    FriendRepository, FriendRequest, GroupRecord, GroupRepository, Invitation, PresenceState,
    SessionRecord, SessionRepository,
};
use crate::service::Ports;
use crate::types::{GroupId, GroupName, SessionId, TokenHash, Username};

/// How the caches behave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheSettings {
    /// How long an entry is trusted: the longest another process's write
    /// to a shared store goes unseen.
    pub ttl: Duration,
    /// The most entries each cache keeps.
    pub capacity: usize,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(1),
            capacity: 100_000,
        }
    }
}

/// What a write made the caches forget: what other processes' caches on
/// the same store must forget too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forgotten {
    /// The session of this token hash changed or ended.
    Session(TokenHash),
    /// Sessions ended by id or by user: every cached session.
    AllSessions,
    /// The friendship of these two users (in either order).
    Friendship(Username, Username),
    /// This user's membership of this group.
    Membership(GroupId, Username),
    /// A group went: every cached membership.
    AllMemberships,
    /// This group's record (its name, its admin).
    Group(GroupId),
}

/// Hands on what the caches forgot after a write, to tell other
/// processes. Called after the write, on the task that made it; it must
/// not block.
pub type Teller = Arc<dyn Fn(&Forgotten) + Send + Sync>;

/// The caches of one [`Ports::cached_telling`], to make them forget what
/// another process wrote.
#[derive(Clone)]
pub struct Caches(Arc<Memos>);

impl std::fmt::Debug for Caches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caches").finish_non_exhaustive()
    }
}

impl Caches {
    /// Forgets what another process's write changed (without telling
    /// anyone).
    pub fn forget(&self, what: &Forgotten) {
        self.0.forget(what);
    }

    /// Forgets everything: after notices may have been missed (a lost
    /// broker connection).
    pub fn clear(&self) {
        self.0.sessions.clear();
        self.0.friends.clear();
        self.0.members.clear();
        self.0.records.clear();
    }
}

/// Every cache, and whom to tell what they forget.
struct Memos {
    sessions: Memo<TokenHash, Option<SessionRecord>>,
    friends: Memo<(Username, Username), bool>,
    members: Memo<(GroupId, Username), bool>,
    records: Memo<GroupId, Option<GroupRecord>>,
    tell: Option<Teller>,
}

impl Memos {
    fn forget(&self, what: &Forgotten) {
        match what {
            Forgotten::Session(hash) => self.sessions.forget(hash),
            Forgotten::AllSessions => self.sessions.clear(),
            Forgotten::Friendship(a, b) => self.friends.forget(&pair(a, b)),
            Forgotten::Membership(group, user) => self.members.forget(&(*group, user.clone())),
            Forgotten::AllMemberships => self.members.clear(),
            Forgotten::Group(group) => self.records.forget(group),
        }
    }

    /// Forgets what a write of this process changed, and tells.
    fn forgot(&self, what: Forgotten) {
        self.forget(&what);
        if let Some(tell) = &self.tell {
            tell(&what);
        }
    }
}

impl Ports {
    /// The same ports with caches in front of the sessions, friendships
    /// and groups (see [the module](crate::cache)).
    pub fn cached(self, settings: CacheSettings) -> Self {
        self.cached_telling(settings, None).0
    }

    /// [`cached`](Self::cached), handing what each write made the caches
    /// forget to `tell`; with the handle that applies other processes'.
    pub fn cached_telling(
        mut self,
        settings: CacheSettings,
        tell: Option<Teller>,
    ) -> (Self, Caches) {
        let memos = Arc::new(Memos {
            sessions: Memo::new(settings),
            friends: Memo::new(settings),
            members: Memo::new(settings),
            records: Memo::new(settings),
            tell,
        });
        self.sessions = Arc::new(CachedSessions {
            inner: self.sessions,
            memos: memos.clone(),
        });
        self.friends = Arc::new(CachedFriends {
            inner: self.friends,
            memos: memos.clone(),
        });
        self.groups = Arc::new(CachedGroups {
            inner: self.groups,
            memos: memos.clone(),
        });
        (self, Caches(memos))
    }
}

/// A bounded map of answers with a time to live.
struct Memo<K: Hash + Eq, V> {
    entries: Mutex<LruCache<K, (V, Instant)>>,
    ttl: Duration,
    /// Counts forgettings: an answer read across one is not kept.
    generation: AtomicU64,
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    fn new(settings: CacheSettings) -> Self {
        let capacity = NonZeroUsize::new(settings.capacity).unwrap_or(NonZeroUsize::MIN);
        Self {
            entries: Mutex::new(LruCache::new(capacity)),
            ttl: settings.ttl,
            generation: AtomicU64::new(0),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, LruCache<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        let mut entries = self.entries();
        match entries.get(key) {
            Some((value, at)) if at.elapsed() < self.ttl => Some(value.clone()),
            Some(_) => {
                entries.pop(key);
                None
            }
            None => None,
        }
    }

    /// The answer for `key`: the cached one, or `read`'s, kept unless
    /// something was forgotten meanwhile.
    async fn get_or_read<F>(
        &self,
        key: K,
        keep: impl Fn(&V) -> bool,
        read: F,
    ) -> Result<V, PortError>
    where
        F: Future<Output = Result<V, PortError>>,
    {
        if let Some(value) = self.get(&key) {
            return Ok(value);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let value = read.await?;
        if keep(&value) {
            let mut entries = self.entries();
            if self.generation.load(Ordering::Acquire) == generation {
                entries.put(key, (value.clone(), Instant::now()));
            }
        }
        Ok(value)
    }

    fn forget(&self, key: &K) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.pop(key);
    }

    fn clear(&self) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// Sessions by token hash (found ones only: a flood of made-up tokens
/// cannot push real sessions out).
struct CachedSessions {
    inner: Arc<dyn SessionRepository>,
    memos: Arc<Memos>,
}

#[async_trait]
impl SessionRepository for CachedSessions {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), PortError> {
        self.inner.insert_session(session).await
    }

    async fn find_session(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, PortError> {
        let read = self.inner.find_session(token_hash);
        self.memos
            .sessions
            .get_or_read(token_hash.clone(), Option::is_some, read)
            .await
    }

    async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, PortError> {
        self.inner.sessions_of(user).await
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> Result<bool, PortError> {
        let deleted = self.inner.delete_session(token_hash).await;
        self.memos.forgot(Forgotten::Session(token_hash.clone()));
        deleted
    }

    async fn delete_session_by_id(
        &self,
        user: &Username,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, PortError> {
        let deleted = self.inner.delete_session_by_id(user, id).await;
        // Keyed by token hash, not id: rare enough to start afresh.
        self.memos.forgot(Forgotten::AllSessions);
        deleted
    }

    async fn delete_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, PortError> {
        let deleted = self.inner.delete_sessions_of(user).await;
        self.memos.forgot(Forgotten::AllSessions);
        deleted
    }

    async fn touch_session(&self, token_hash: &TokenHash, at: SystemTime) -> Result<(), PortError> {
        let touched = self.inner.touch_session(token_hash, at).await;
        self.memos.forgot(Forgotten::Session(token_hash.clone()));
        touched
    }

    async fn set_presence(
        &self,
        token_hash: &TokenHash,
        state: PresenceState,
        at: SystemTime,
    ) -> Result<(), PortError> {
        self.inner.set_presence(token_hash, state, at).await
    }

    async fn presence_reports(
        &self,
        user: &Username,
    ) -> Result<Vec<(PresenceState, SystemTime)>, PortError> {
        self.inner.presence_reports(user).await
    }
}

/// Friendships by pair, in name order (the relation is mutual).
struct CachedFriends {
    inner: Arc<dyn FriendRepository>,
    memos: Arc<Memos>,
}

fn pair(a: &Username, b: &Username) -> (Username, Username) {
    if a <= b {
        (a.clone(), b.clone())
    } else {
        (b.clone(), a.clone())
    }
}

#[async_trait]
impl FriendRepository for CachedFriends {
    async fn add_friendship(&self, a: &Username, b: &Username) -> Result<(), PortError> {
        let added = self.inner.add_friendship(a, b).await;
        self.memos
            .forgot(Forgotten::Friendship(a.clone(), b.clone()));
        added
    }

    async fn are_friends(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let read = self.inner.are_friends(a, b);
        self.memos
            .friends
            .get_or_read(pair(a, b), |_| true, read)
            .await
    }

    async fn friends_of(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        self.inner.friends_of(user).await
    }

    async fn remove_friendship(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let removed = self.inner.remove_friendship(a, b).await;
        self.memos
            .forgot(Forgotten::Friendship(a.clone(), b.clone()));
        removed
    }

    async fn block(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        self.inner.block(user, blocked).await
    }

    async fn unblock(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        self.inner.unblock(user, blocked).await
    }

    async fn blocks(&self, user: &Username, other: &Username) -> Result<bool, PortError> {
        self.inner.blocks(user, other).await
    }

    async fn blocked_by(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        self.inner.blocked_by(user).await
    }

    async fn add_friend_request(
        &self,
        from: &Username,
        to: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.inner.add_friend_request(from, to, at).await
    }

    async fn remove_friend_request(
        &self,
        from: &Username,
        to: &Username,
    ) -> Result<bool, PortError> {
        self.inner.remove_friend_request(from, to).await
    }

    async fn friend_requests_of(&self, user: &Username) -> Result<Vec<FriendRequest>, PortError> {
        self.inner.friend_requests_of(user).await
    }
}

/// Memberships by (group, user), and groups by id (found ones only).
struct CachedGroups {
    inner: Arc<dyn GroupRepository>,
    memos: Arc<Memos>,
}

#[async_trait]
impl GroupRepository for CachedGroups {
    async fn create_group(
        &self,
        name: &GroupName,
        admin: &Username,
        created_at: SystemTime,
    ) -> Result<GroupRecord, PortError> {
        let created = self.inner.create_group(name, admin, created_at).await?;
        self.memos
            .forgot(Forgotten::Membership(created.id, admin.clone()));
        Ok(created)
    }

    async fn find_group(&self, id: GroupId) -> Result<Option<GroupRecord>, PortError> {
        let read = self.inner.find_group(id);
        self.memos
            .records
            .get_or_read(id, Option::is_some, read)
            .await
    }

    async fn add_member(&self, id: GroupId, user: &Username) -> Result<(), PortError> {
        let added = self.inner.add_member(id, user).await;
        self.memos.forgot(Forgotten::Membership(id, user.clone()));
        added
    }

    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let removed = self.inner.remove_member(id, user).await;
        self.memos.forgot(Forgotten::Membership(id, user.clone()));
        removed
    }

    async fn is_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let read = self.inner.is_member(id, user);
        self.memos
            .members
            .get_or_read((id, user.clone()), |_| true, read)
            .await
    }

    async fn count_members(&self, id: GroupId) -> Result<u64, PortError> {
        self.inner.count_members(id).await
    }

    async fn count_groups_of(&self, user: &Username) -> Result<u64, PortError> {
        self.inner.count_groups_of(user).await
    }

    async fn groups_of(&self, user: &Username) -> Result<Vec<GroupRecord>, PortError> {
        self.inner.groups_of(user).await
    }

    async fn members_of(&self, id: GroupId) -> Result<Vec<Username>, PortError> {
        self.inner.members_of(id).await
    }

    async fn set_admin(&self, id: GroupId, admin: &Username) -> Result<bool, PortError> {
        let set = self.inner.set_admin(id, admin).await;
        self.memos.forgot(Forgotten::Group(id));
        set
    }

    async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<bool, PortError> {
        let renamed = self.inner.rename_group(id, name).await;
        self.memos.forgot(Forgotten::Group(id));
        renamed
    }

    async fn all_memberships(&self) -> Result<Vec<(GroupId, Vec<Username>)>, PortError> {
        self.inner.all_memberships().await
    }

    async fn delete_group(&self, id: GroupId) -> Result<bool, PortError> {
        let deleted = self.inner.delete_group(id).await;
        self.memos.forgot(Forgotten::Group(id));
        self.memos.forgot(Forgotten::AllMemberships);
        deleted
    }

    async fn count_groups_administered(&self, user: &Username) -> Result<u64, PortError> {
        self.inner.count_groups_administered(user).await
    }

    async fn add_invitation(
        &self,
        group: GroupId,
        user: &Username,
        by: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.inner.add_invitation(group, user, by, at).await
    }

    async fn remove_invitation(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<Username>, PortError> {
        self.inner.remove_invitation(group, user).await
    }

    async fn invitations_of(&self, user: &Username) -> Result<Vec<Invitation>, PortError> {
        self.inner.invitations_of(user).await
    }
}
