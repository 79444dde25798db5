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
    /// The group's id.
    pub id: GroupId,
    /// The group's name at the time of the delivery.
    pub name: GroupName,
}

/// Something that happened to a group's membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoticeEvent {
    /// `member` was added to the group by `by`.
    Joined {
        /// Who joined.
        member: Username,
        /// The admin who added them (or, for an invitation they accepted,
        /// who invited them).
        by: Username,
    },
    /// `member` left the group.
    Left {
        /// Who left.
        member: Username,
    },
    /// The admin `by` removed `member` from the group.
    Removed {
        /// Who was removed.
        member: Username,
        /// The admin who removed them.
        by: Username,
    },
    /// `member` is the group's admin now, made so by the admin before,
    /// `by`.
    AdminChanged {
        /// The new admin.
        member: Username,
        /// The admin who handed the group over.
        by: Username,
    },
    /// The admin `by` gave the group the name it now has.
    Renamed {
        /// The admin who renamed the group.
        by: Username,
    },
    /// The admin `by` closed the group: it is deleted.
    Closed {
        /// The admin who closed the group.
        by: Username,
    },
}

/// What the server delivers to users.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryBody {
    /// A message from one user to another.
    Direct {
        /// The sender.
        from: Username,
        /// What they wrote.
        text: MessageText,
    },
    /// A message from a member to a whole group, the sender included.
    Group {
        /// The sender.
        from: Username,
        /// The group it was sent to.
        group: GroupRef,
        /// What they wrote.
        text: MessageText,
    },
    /// A notice from the server to a group about its membership.
    Notice {
        /// The group the notice is about.
        group: GroupRef,
        /// What happened to its membership.
        event: NoticeEvent,
    },
}

/// One delivery: a body with the identity and time the server gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Unique per delivery; clients can use it to drop duplicates.
    pub id: MessageId,
    /// When the server made the delivery, in whole milliseconds.
    pub sent_at: SystemTime,
    /// What is delivered.
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
    FriendRequest {
        /// Who asks.
        from: Username,
    },
    /// `by` accepted a friend request: the two are friends.
    FriendAccepted {
        /// Who accepted.
        by: Username,
    },
    /// The admin `by` invites the user to a group (under consent).
    Invitation {
        /// The group the user is invited to.
        group: GroupRef,
        /// The admin who invites them.
        by: Username,
    },
    /// `user` is typing in a conversation.
    Typing {
        /// Who is typing.
        user: Username,
        /// The conversation they are typing in.
        conversation: Conversation,
    },
    /// `user`'s presence is now `state`.
    Presence {
        /// Whose presence changed.
        user: Username,
        /// Their presence now.
        state: PresenceState,
    },
    /// `reader`'s marker in a conversation moved up to `up_to` (a `seq`).
    Receipt {
        /// Whose marker moved.
        reader: Username,
        /// The conversation it moved in.
        conversation: Conversation,
        /// Which marker moved: delivered or read.
        marker: Marker,
        /// The `seq` it moved up to.
        up_to: u64,
    },
}

/// A person's (or one session's) presence, from the least lively up: a
/// person's is the liveliest of their sessions'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PresenceState {
    /// Not there: also a person with no fresh report, or one who keeps
    /// their activity to themselves.
    Offline,
    /// Its client reports that its user is away.
    Away,
    /// Its client reports that its user is there.
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
