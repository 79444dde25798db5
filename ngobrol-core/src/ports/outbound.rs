//! The outbound side's port: what the server delivers (messages and
//! notices), what it signals as it happens, and the trait that does both.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Conversation, Marker, Placement, StoredMessage};
use crate::error::PortError;
use crate::types::{GroupId, GroupName, MessageId, MessageText, SessionId, Username};

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
