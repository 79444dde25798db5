//! The ports: what the chat rules need from the outside world, as async
//! traits. `ngobrol-store` implements the repositories with Diesel,
//! `ngobrol-amqp` implements [`Outbound`] with RabbitMQ, and
//! [`crate::memory`] implements all of them in memory.
//!
//! Every method is a contract stated in its documentation; implementations
//! must keep it, because the service relies on it for correctness under
//! concurrency (for example, [`UserRepository::insert_user`] must refuse a
//! duplicate name itself, since two registrations may race).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use crate::error::PortError;

mod history;

use crate::types::{
    DeviceName, GroupId, GroupName, MessageId, MessageText, SessionId, TokenHash, Username,
};
pub use history::*;

/// A registered user as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub username: Username,
    /// The PBKDF2 hash of the password, as a PHC string.
    pub password_hash: String,
    pub created_at: SystemTime,
}

/// A session: one login of a user on one device, a token hash bound to
/// the user it was issued to. A user may hold several at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// Names the session to its user (listing, ending it) and to the
    /// outbound side (the session's mailbox). Unique, like the token hash.
    pub id: SessionId,
    pub token_hash: TokenHash,
    pub username: Username,
    /// The name the user gave the device at login, if any.
    pub device: Option<DeviceName>,
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
    /// When the session was last used, to within a minute (the service
    /// does not write every use): which sessions to end first when a user
    /// has too many.
    pub last_seen: SystemTime,
}

/// A group as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRecord {
    pub id: GroupId,
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
    pub from: Username,
    pub to: Username,
    pub at: SystemTime,
}

/// An invitation of `user` to `group`, by its admin `by`, at `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    pub group: GroupId,
    pub user: Username,
    pub by: Username,
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
        + 'static
{
}

/// A request a client named: its acting user (as the request gave it) and
/// the client's id for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RequestKey {
    pub user: String,
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

/// A group as deliveries name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRef {
    pub id: GroupId,
    pub name: GroupName,
}

/// Something that happened to a group's membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeEvent {
    /// `member` was added to the group by `by`.
    Joined { member: Username, by: Username },
    /// `member` left the group.
    Left { member: Username },
    /// The admin `by` removed `member` from the group.
    Removed { member: Username, by: Username },
    /// `member` is the group's admin now, made so by the admin before,
    /// `by`.
    AdminChanged { member: Username, by: Username },
    /// The admin `by` gave the group the name it now has.
    Renamed { by: Username },
    /// The admin `by` closed the group: it is deleted.
    Closed { by: Username },
}

/// What the server delivers to users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryBody {
    /// A message from one user to another.
    Direct { from: Username, text: MessageText },
    /// A message from a member to a whole group, the sender included.
    Group {
        from: Username,
        group: GroupRef,
        text: MessageText,
    },
    /// A notice from the server to a group about its membership.
    Notice { group: GroupRef, event: NoticeEvent },
}

/// One delivery: a body with the identity and time the server gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Unique per delivery; clients can use it to drop duplicates.
    pub id: MessageId,
    pub sent_at: SystemTime,
    pub body: DeliveryBody,
    /// Where the delivery is in the stored history, once stored.
    pub placement: Option<Placement>,
}

impl Delivery {
    /// A new delivery with a fresh id, stamped now.
    pub fn new(body: DeliveryBody) -> Self {
        Self::with_id(MessageId::generate(), body)
    }

    /// A new delivery with the given id, stamped now.
    pub fn with_id(id: MessageId, body: DeliveryBody) -> Self {
        // Whole milliseconds: what the store keeps, so that a stored
        // delivery reads back as it was sent.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| SystemTime::UNIX_EPOCH + Duration::from_millis(d.as_millis() as u64))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Self {
            id,
            sent_at: now,
            body,
            placement: None,
        }
    }
}

/// What a user's online devices are told as it happens, beside the
/// messages: the state it reports is kept in the store, so a device that
/// was away reads it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// Its author edited a message: as stored now, with its new text.
    Edited(StoredMessage),
    /// Its author deleted a message: its tombstone, as stored now.
    Deleted(StoredMessage),
    /// `from` asks to be friends (under consent).
    FriendRequest { from: Username },
    /// `by` accepted a friend request: the two are friends.
    FriendAccepted { by: Username },
    /// The admin `by` invites the user to a group (under consent).
    Invitation { group: GroupRef, by: Username },
    /// `user` is typing in a conversation.
    Typing {
        user: Username,
        conversation: Conversation,
    },
    /// `user`'s presence is now `state`.
    Presence {
        user: Username,
        state: PresenceState,
    },
    /// `reader`'s marker in a conversation moved up to `up_to` (a `seq`).
    Receipt {
        reader: Username,
        conversation: Conversation,
        marker: Marker,
        up_to: u64,
    },
}

/// A person's (or one session's) presence, from the least lively up: a
/// person's is the liveliest of their sessions'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PresenceState {
    Offline,
    Away,
    Online,
}

/// The outbound side: mailboxes, group routing and delivery.
///
/// A delivery method returns only once the delivery is durable (for
/// RabbitMQ: confirmed by the broker), so that the caller may then tell the
/// sender it was sent.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Outbound: Send + Sync {
    /// Makes sure `user` has a mailbox, where deliveries wait while the user
    /// is offline. Idempotent.
    async fn ensure_mailbox(&self, user: &Username) -> Result<(), PortError>;

    /// Makes sure the session has a mailbox of its own (one device's), which
    /// from now on receives everything `user`'s mailbox receives: direct
    /// deliveries and those of the user's groups. Idempotent. Called after
    /// [`ensure_mailbox`](Outbound::ensure_mailbox) for the same user.
    async fn open_session_mailbox(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError>;

    /// Removes the session's mailbox and what waits in it. Idempotent: a
    /// mailbox that does not exist is already removed.
    async fn close_session_mailbox(&self, session: &SessionId) -> Result<(), PortError>;

    /// Whether `user`'s mailbox gets every delivery to them (`true`: a
    /// client of the original protocol reads it, as one more device) or
    /// only those made while none of their sessions is online (`false`,
    /// the default: the devices' own queues get the rest). Idempotent.
    async fn share_mailbox(&self, user: &Username, shared: bool) -> Result<(), PortError>;

    /// Makes sure the group has its delivery channel. Idempotent, and
    /// always called before the first member is subscribed.
    async fn create_group_channel(&self, group: GroupId) -> Result<(), PortError>;

    /// Removes the group's delivery channel, and with it every
    /// subscription to it. Idempotent: a channel that does not exist is
    /// already removed.
    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError>;

    /// Routes the group's deliveries to `user`'s mailbox. Idempotent.
    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError>;

    /// Stops routing the group's deliveries to `user`'s mailbox. Idempotent.
    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError>;

    /// Delivers to one user's mailbox.
    async fn deliver_to_user(&self, user: &Username, delivery: &Delivery) -> Result<(), PortError>;

    /// Delivers to every member subscribed to the group.
    async fn deliver_to_group(&self, group: GroupId, delivery: &Delivery) -> Result<(), PortError>;

    /// Tells the online devices of each of `users` of `signal`: as it
    /// happens, not kept for a device that is offline, and never to a
    /// mailbox the original client reads (it would not understand). The
    /// default tells nobody.
    async fn signal(&self, users: &[Username], signal: &Signal) -> Result<(), PortError> {
        let _ = (users, signal);
        Ok(())
    }

    /// Brings the whole routing in line with the store at once: every
    /// group's channel, every member's mailbox, every subscription, and
    /// the mailboxes shared with a client of the original protocol. The
    /// default does it one call at a time; an implementation that can
    /// pipeline (the broker's) should, since a store may hold thousands of
    /// groups and this runs at every start.
    async fn restore_routing(
        &self,
        memberships: &[(GroupId, Vec<Username>)],
        mailbox_readers: &[Username],
    ) -> Result<(), PortError> {
        for user in mailbox_readers {
            self.ensure_mailbox(user).await?;
            self.share_mailbox(user, true).await?;
        }
        for (group, members) in memberships {
            self.create_group_channel(*group).await?;
            for member in members {
                self.ensure_mailbox(member).await?;
                self.subscribe(*group, member).await?;
            }
        }
        Ok(())
    }
}
