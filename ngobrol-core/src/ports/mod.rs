//! The ports: what the chat rules need from the outside world, as async
//! traits. `ngobrol-store` implements the repositories with Diesel,
//! `ngobrol-amqp` implements [`Outbound`] with RabbitMQ, and
//! [`crate::memory`] implements all of them in memory.
//!
//! Every method is a contract stated in its documentation; implementations
//! must keep it, because the service relies on it for correctness under
//! concurrency (for example, [`UserRepository::insert_user`] must refuse a
//! duplicate name itself, since two registrations may race).

use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::PortError;

mod history;
mod outbound;
mod turns;

use crate::types::{DeviceName, GroupId, GroupName, SessionId, TokenHash, Username};
pub use history::*;
pub use outbound::*;
pub use turns::*;

/// A registered user as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    /// The name the user registered under.
    pub username: Username,
    /// The PBKDF2 hash of the password, as a PHC string.
    pub password_hash: String,
    /// When the user registered.
    pub created_at: SystemTime,
}

/// A session: one login of a user on one device, a token hash bound to
/// the user it was issued to. A user may hold several at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Names the session to its user (listing, ending it) and to the
    /// outbound side (the session's mailbox). Unique, like the token hash.
    pub id: SessionId,
    /// The hash of the session's token, which is how a request finds it.
    pub token_hash: TokenHash,
    /// The user the session was issued to.
    pub username: Username,
    /// The name the user gave the device at login, if any.
    pub device: Option<DeviceName>,
    /// When the user logged in.
    pub issued_at: SystemTime,
    /// When the token stops being valid
    /// ([`token_ttl`](crate::ServiceConfig::token_ttl) after login).
    pub expires_at: SystemTime,
    /// When the session was last used, to within a minute (the service
    /// does not write every use): which sessions to end first when a user
    /// has too many.
    pub last_seen: SystemTime,
}

/// A group as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    /// The id the store gave the group.
    pub id: GroupId,
    /// The group's display name.
    pub name: GroupName,
    /// The user who created the group and alone may add members. Admin
    /// rights belong to the group: they stay with it if the admin leaves.
    pub admin: Username,
}

/// Users and their password hashes.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores a new user. Fails with [`PortError::Conflict`] when the name
    /// is taken, atomically: of two concurrent inserts of one name, exactly
    /// one succeeds.
    async fn insert_user(&self, user: &UserRecord) -> Result<(), PortError>;

    /// The user of that name, if there is one.
    async fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, PortError>;

    /// Notes whether `user` reads their mailbox with a client of the
    /// original protocol (one that knows nothing of sessions' own
    /// queues), and returns whether that changed. A user not stored is no
    /// error: nothing changes.
    async fn set_mailbox_reader(&self, user: &Username, reads: bool) -> Result<bool, PortError>;

    /// Whether `user` is noted as reading their mailbox.
    async fn is_mailbox_reader(&self, user: &Username) -> Result<bool, PortError>;

    /// Every user noted as reading their mailbox, by name.
    async fn mailbox_readers(&self) -> Result<Vec<Username>, PortError>;

    /// Whether `user` shows their typing and presence to friends (true
    /// until they say otherwise).
    async fn shares_activity(&self, user: &Username) -> Result<bool, PortError>;

    /// Notes whether `user` shows their typing and presence.
    async fn set_shares_activity(&self, user: &Username, share: bool) -> Result<(), PortError>;

    /// Notes whether `user` is disabled (refused at login, by an
    /// operator), and returns whether the user exists.
    async fn set_disabled(&self, user: &Username, disabled: bool) -> Result<bool, PortError>;

    /// Whether `user` is disabled; false for a user not stored.
    async fn is_disabled(&self, user: &Username) -> Result<bool, PortError>;

    /// Replaces `user`'s password hash, and returns whether the user
    /// exists.
    async fn set_password_hash(&self, user: &Username, hash: &str) -> Result<bool, PortError>;
}

/// Sessions, keyed by token hash and by id; a user may have many.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Stores a new session, leaving the user's other sessions as they
    /// are. Fails with [`PortError::Conflict`] when its token hash or its
    /// id is taken.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), PortError>;

    /// The session with that token hash, if there is one (expired or not:
    /// the service decides).
    async fn find_session(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, PortError>;

    /// Every session of `user` (expired or not), oldest issued first, and
    /// by id among those issued at the same time.
    async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, PortError>;

    /// Removes the session with that token hash; false when there was none.
    async fn delete_session(&self, token_hash: &TokenHash) -> Result<bool, PortError>;

    /// Removes the session with that id if it is `user`'s, and returns it;
    /// `None` when `user` has no session of that id (another user's
    /// session stays).
    async fn delete_session_by_id(
        &self,
        user: &Username,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, PortError>;

    /// Removes every session of `user`, in one transaction, and returns
    /// the ids of those removed, in the order of
    /// [`sessions_of`](SessionRepository::sessions_of).
    async fn delete_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, PortError>;

    /// Sets the session's `last_seen` to `at`. A session that does not
    /// exist (ended meanwhile) is no error: nothing is written.
    async fn touch_session(&self, token_hash: &TokenHash, at: SystemTime) -> Result<(), PortError>;

    /// Notes the session's presence as of `at` (a session that ends takes
    /// its report along).
    async fn set_presence(
        &self,
        token_hash: &TokenHash,
        state: PresenceState,
        at: SystemTime,
    ) -> Result<(), PortError>;

    /// The last presence report of each of `user`'s sessions that made
    /// one, with its time.
    async fn presence_reports(
        &self,
        user: &Username,
    ) -> Result<Vec<(PresenceState, SystemTime)>, PortError>;
}

/// The friendship relation, which is mutual.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait FriendRepository: Send + Sync {
    /// Makes `a` and `b` friends of each other. Fails with
    /// [`PortError::Conflict`] when they already are, atomically.
    async fn add_friendship(&self, a: &Username, b: &Username) -> Result<(), PortError>;

    /// Whether `a` and `b` are friends.
    async fn are_friends(&self, a: &Username, b: &Username) -> Result<bool, PortError>;

    /// The friends of `user`, sorted by name.
    async fn friends_of(&self, user: &Username) -> Result<Vec<Username>, PortError>;

    /// Ends the friendship of `a` and `b`, both ways; false when they were
    /// not friends.
    async fn remove_friendship(&self, a: &Username, b: &Username) -> Result<bool, PortError>;

    /// Notes that `user` blocks `blocked`; false when they did already.
    async fn block(&self, user: &Username, blocked: &Username) -> Result<bool, PortError>;

    /// Lifts `user`'s block of `blocked`; false when there was none.
    async fn unblock(&self, user: &Username, blocked: &Username) -> Result<bool, PortError>;

    /// Whether `user` blocks `other`.
    async fn blocks(&self, user: &Username, other: &Username) -> Result<bool, PortError>;

    /// Whom `user` blocks, sorted by name.
    async fn blocked_by(&self, user: &Username) -> Result<Vec<Username>, PortError>;

    /// Notes that `from` asks `to` to be friends; false when they had
    /// asked already.
    async fn add_friend_request(
        &self,
        from: &Username,
        to: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError>;

    /// Forgets `from`'s request to `to`; false when there was none.
    async fn remove_friend_request(
        &self,
        from: &Username,
        to: &Username,
    ) -> Result<bool, PortError>;

    /// The requests `user` made or got, oldest first.
    async fn friend_requests_of(&self, user: &Username) -> Result<Vec<FriendRequest>, PortError>;
}

/// A friend request: `from` asked `to`, at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendRequest {
    /// Who asked.
    pub from: Username,
    /// Who was asked.
    pub to: Username,
    /// When they asked.
    pub at: SystemTime,
}

/// An invitation of `user` to `group`, by its admin `by`, at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// The group they are invited to.
    pub group: GroupId,
    /// Who is invited.
    pub user: Username,
    /// The admin who invited them.
    pub by: Username,
    /// When they were invited.
    pub at: SystemTime,
}

/// Groups and their members.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait GroupRepository: Send + Sync {
    /// Creates a group with `admin` as its admin and first member, in one
    /// transaction, and returns it with its new id.
    async fn create_group(
        &self,
        name: &GroupName,
        admin: &Username,
        created_at: SystemTime,
    ) -> Result<GroupRecord, PortError>;

    /// The group with that id, if there is one.
    async fn find_group(&self, id: GroupId) -> Result<Option<GroupRecord>, PortError>;

    /// Adds `user` to the group. Fails with [`PortError::Conflict`] when
    /// the user is already a member, atomically. The membership starts
    /// after the group's latest stored message: of the group's history,
    /// the member sees what comes after it
    /// ([`HistoryRepository::joined_after`]).
    async fn add_member(&self, id: GroupId, user: &Username) -> Result<(), PortError>;

    /// Removes `user` from the group; false when the user was not a member.
    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError>;

    /// Whether `user` is a member of the group.
    async fn is_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError>;

    /// How many members the group has.
    async fn count_members(&self, id: GroupId) -> Result<u64, PortError>;

    /// How many groups `user` is a member of.
    async fn count_groups_of(&self, user: &Username) -> Result<u64, PortError>;

    /// The groups `user` is a member of, by id.
    async fn groups_of(&self, user: &Username) -> Result<Vec<GroupRecord>, PortError>;

    /// The group's members, sorted by name (none for no such group).
    async fn members_of(&self, id: GroupId) -> Result<Vec<Username>, PortError>;

    /// Makes `admin` the group's admin; false when there is no such group.
    async fn set_admin(&self, id: GroupId, admin: &Username) -> Result<bool, PortError>;

    /// Gives the group a new name; false when there is no such group.
    async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<bool, PortError>;

    /// Every group with its members, by group id: what the outbound side
    /// needs to rebuild its routing at start-up.
    async fn all_memberships(&self) -> Result<Vec<(GroupId, Vec<Username>)>, PortError>;

    /// Removes the group and every membership of it, in one transaction;
    /// false when there was no such group. Its id is not given to a group
    /// created later.
    async fn delete_group(&self, id: GroupId) -> Result<bool, PortError>;

    /// How many groups that still exist have `user` as their admin
    /// (whether or not `user` is still a member of them).
    async fn count_groups_administered(&self, user: &Username) -> Result<u64, PortError>;

    /// Notes that `by` invites `user` to `group`; false when they had
    /// been invited already.
    async fn add_invitation(
        &self,
        group: GroupId,
        user: &Username,
        by: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError>;

    /// Forgets `user`'s invitation to `group`, and says who invited them;
    /// `None` when there was none.
    async fn remove_invitation(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<Username>, PortError>;

    /// `user`'s invitations, oldest first.
    async fn invitations_of(&self, user: &Username) -> Result<Vec<Invitation>, PortError>;
}

/// A store that implements every repository port: what the service runs
/// on, and what the port contract ([`crate::contract`], feature
/// `contract`) is checked on. Implemented for every such type.
pub trait Repositories:
    UserRepository
    + SessionRepository
    + FriendRepository
    + GroupRepository
    + HistoryRepository
    + RequestLog
    + ShardTurns
    + 'static
{
}

impl<S> Repositories for S where
    S: UserRepository
        + SessionRepository
        + FriendRepository
        + GroupRepository
        + HistoryRepository
        + RequestLog
        + ShardTurns
        + 'static
{
}

/// A request a client named: its acting user (as the request gave it) and
/// the client's id for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// The acting user's name as the request gave it, not checked.
    pub user: String,
    /// The client's id for the request.
    pub request_id: String,
}

/// The replies already given to requests that clients named, so that a
/// request seen again (redelivered after a crash, or retried by its
/// client) is answered with its first reply instead of taking effect
/// twice. The replies are opaque bytes to this port.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait RequestLog: Send + Sync {
    /// The reply recorded for `key`, if any.
    async fn find_reply(&self, key: &RequestKey) -> Result<Option<Vec<u8>>, PortError>;

    /// Records the reply to `key`. If one is recorded already, it stays.
    async fn record_reply(
        &self,
        key: &RequestKey,
        reply: &[u8],
        at: SystemTime,
    ) -> Result<(), PortError>;

    /// Forgets replies recorded before `before`, then all but the newest
    /// `keep`. Returns how many were forgotten.
    async fn prune(&self, before: SystemTime, keep: u64) -> Result<u64, PortError>;
}
