//! What arrives for a logged-in user apart from replies.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::wire::DeliveryMessage;

/// A message from one user to another: to the session's user, or, in a
/// history or sync page, possibly from them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DirectMessage {
    /// The sender.
    pub from: String,
    /// The recipient, in history and sync pages; `None` in a delivery
    /// (it is the session's user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The message's text: empty once deleted.
    pub text: String,
    /// The id the server gave the message (a UUID v7); `None` from the
    /// original server.
    pub message_id: Option<String>,
    /// When the server accepted the message, RFC 3339 in UTC with
    /// milliseconds; `None` from the original server.
    pub sent_at: Option<String>,
    /// Where the message is in the stored history (see [`Event::cursor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Its number in its conversation (see [`Event::seq`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// In history and sync pages: when its author last edited or deleted
    /// it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// Deleted by its author: `text` is empty.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A message to a group the session's user is in (their own included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupMessage {
    /// The sender (the session's user, for their own messages).
    pub from: String,
    /// The group it was sent to.
    pub group_id: i64,
    /// The group's name, as the message carries it.
    pub group_name: String,
    /// The message's text: empty once deleted.
    pub text: String,
    /// The id the server gave the message (a UUID v7); `None` from the
    /// original server.
    pub message_id: Option<String>,
    /// When the server accepted the message, RFC 3339 in UTC with
    /// milliseconds; `None` from the original server.
    pub sent_at: Option<String>,
    /// Where the message is in the stored history (see [`Event::cursor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Its number in the group's conversation (see [`Event::seq`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// In history and sync pages: when its author last edited or deleted
    /// it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// Deleted by its author: `text` is empty.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A message its author changed: as it is now (its new text, or empty
/// once deleted). Either a [`DirectMessage`] (`to` names its recipient)
/// or a [`GroupMessage`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ChangedMessage {
    /// A direct message; `to` names its recipient.
    Direct(DirectMessage),
    /// A message to a group.
    Group(GroupMessage),
}

impl ChangedMessage {
    /// The id of the message that changed.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            ChangedMessage::Direct(m) => m.message_id.as_deref(),
            ChangedMessage::Group(m) => m.message_id.as_deref(),
        }
    }

    /// Its text now: empty once deleted.
    pub fn text(&self) -> &str {
        match self {
            ChangedMessage::Direct(m) => &m.text,
            ChangedMessage::Group(m) => &m.text,
        }
    }
}

/// `reader` got (or read) a conversation up to the message numbered
/// `up_to`: sent to the authors of what it covers, and for a read
/// receipt to the reader's own devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    /// Who got or read the messages.
    pub reader: String,
    /// Read, not only delivered.
    pub read: bool,
    /// In a direct conversation: the other person (seen from the reader).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// In a group conversation: the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    /// A `seq` of the conversation.
    pub up_to: u64,
}

/// A notice from the server to a group: someone joined or left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupNotice {
    /// The group the notice is about.
    pub group_id: i64,
    /// The group's name (for a `renamed` notice, the new one).
    pub group_name: String,
    /// The server's sentence, in its language.
    pub text: String,
    /// What happened (`joined`, `left`) and to whom, when the server says
    /// it (ngobrol does; the original server did not).
    pub event: Option<String>,
    /// Whom `event` is about: who joined, left or was removed; the new admin
    /// for `admin_changed`; the admin who did it for `renamed` and `closed`.
    /// `None` when `event` is.
    pub member: Option<String>,
    /// The id the server gave the notice (a UUID v7); `None` from the
    /// original server.
    pub message_id: Option<String>,
    /// When it happened, RFC 3339 in UTC with milliseconds; `None` from
    /// the original server.
    pub sent_at: Option<String>,
    /// Where the notice is in the stored history (see [`Event::cursor`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Its number in the group's conversation (see [`Event::seq`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

/// Something that arrived for the session's user, apart from replies.
/// Serialized (for JSON lines), it is the message's fields with a `kind`:
/// `direct`, `group`, `notice`, `edited`, `deleted`, `receipt`,
/// `friend_request`, `friend_accepted`, `invitation`, `typing` or
/// `presence`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A direct message to the session's user (in history and sync pages,
    /// also one they sent).
    Direct(DirectMessage),
    /// A message to a group the session's user is in, their own included.
    Group(GroupMessage),
    /// The server told a group what changed in it: a member joined, left or
    /// was removed, the admin changed, or the group was renamed or closed.
    Notice(GroupNotice),
    /// Its author edited a message (live only: a device that was away
    /// reads the new text in the history).
    Edited(ChangedMessage),
    /// Its author deleted a message (live only, as [`Event::Edited`]).
    Deleted(ChangedMessage),
    /// Someone got or read a conversation up to a message (live only: the
    /// markers are in [`Session::conversations`](super::Session::conversations)).
    Receipt(Receipt),
    /// `from` asks to be your friend (a server that asks for consent;
    /// [`Session::friend_requests`](super::Session::friend_requests)
    /// lists what waits).
    FriendRequest {
        /// Who asks.
        from: String,
    },
    /// `by` accepted your friend request: you are friends.
    FriendAccepted {
        /// Who accepted: your friend now.
        by: String,
    },
    /// The admin `by` invites you to a group (a server that asks for
    /// consent).
    Invitation {
        /// The group you are invited to.
        group_id: i64,
        /// Its name.
        group_name: String,
        /// The group's admin, who invites you.
        by: String,
    },
    /// `from` is typing: to you, or in a group.
    Typing {
        /// Who is typing.
        from: String,
        /// The group they are typing in; `None` when they are typing to you.
        #[serde(skip_serializing_if = "Option::is_none")]
        group_id: Option<i64>,
    },
    /// A friend's presence changed: `online`, `away` or `offline`.
    Presence {
        /// The friend whose presence changed.
        user: String,
        /// Their presence now: `online`, `away` or `offline` (`offline` too
        /// when they keep their activity to themselves).
        state: String,
    },
}

impl Event {
    /// The id the server gave the message, if it gave one (ngobrol does).
    pub fn message_id(&self) -> Option<&str> {
        match self {
            Event::Direct(m) => m.message_id.as_deref(),
            Event::Group(m) => m.message_id.as_deref(),
            Event::Notice(m) => m.message_id.as_deref(),
            Event::Edited(m) | Event::Deleted(m) => m.message_id(),
            _ => None,
        }
    }

    /// The message's place among all the server stored: a
    /// [`Session::sync`](super::Session::sync) from it gives what came
    /// after, and [`LoginOptions::since`](super::LoginOptions::since)
    /// resumes a later login there. `None` from a server without history.
    pub fn cursor(&self) -> Option<u64> {
        match self {
            Event::Direct(m) => m.cursor,
            Event::Group(m) => m.cursor,
            Event::Notice(m) => m.cursor,
            Event::Edited(ChangedMessage::Direct(m))
            | Event::Deleted(ChangedMessage::Direct(m)) => m.cursor,
            Event::Edited(ChangedMessage::Group(m)) | Event::Deleted(ChangedMessage::Group(m)) => {
                m.cursor
            }
            _ => None,
        }
    }

    /// The message's number in its conversation: the cursor of
    /// [`Session::history`](super::Session::history).
    pub fn seq(&self) -> Option<u64> {
        match self {
            Event::Direct(m) => m.seq,
            Event::Group(m) => m.seq,
            Event::Notice(m) => m.seq,
            Event::Edited(ChangedMessage::Direct(m))
            | Event::Deleted(ChangedMessage::Direct(m)) => m.seq,
            Event::Edited(ChangedMessage::Group(m)) | Event::Deleted(ChangedMessage::Group(m)) => {
                m.seq
            }
            Event::Receipt(r) => Some(r.up_to),
            _ => None,
        }
    }

    pub(crate) fn from_wire(message: DeliveryMessage) -> Option<Self> {
        let DeliveryMessage {
            method,
            username_from,
            group_id_to,
            group_name_to,
            message,
            message_id,
            sent_at,
            notice,
            notice_event,
            username_to,
            cursor,
            seq,
            edited_at,
            deleted,
            marker,
            presence,
        } = message;
        let (event, member) = match notice_event {
            Some(fields) => (Some(fields.event), Some(fields.member)),
            None => (None, None),
        };
        let group_name = group_name_to.unwrap_or_default();
        let direct = || DirectMessage {
            from: username_from.clone(),
            to: username_to.clone(),
            text: message.clone(),
            message_id: message_id.clone(),
            sent_at: sent_at.clone(),
            cursor,
            seq,
            edited_at: edited_at.clone(),
            deleted,
        };
        let grouped = |group_id| GroupMessage {
            from: username_from.clone(),
            group_id,
            group_name: group_name.clone(),
            text: message.clone(),
            message_id: message_id.clone(),
            sent_at: sent_at.clone(),
            cursor,
            seq,
            edited_at: edited_at.clone(),
            deleted,
        };
        let changed = || match group_id_to {
            Some(group_id) => ChangedMessage::Group(grouped(group_id)),
            None => ChangedMessage::Direct(direct()),
        };
        let event = match (method.as_str(), group_id_to) {
            ("send_client", _) => Event::Direct(direct()),
            ("message_edited", _) => Event::Edited(changed()),
            ("message_deleted", _) => Event::Deleted(changed()),
            ("friend_request", _) => Event::FriendRequest {
                from: username_from.clone(),
            },
            ("friend_accepted", _) => Event::FriendAccepted {
                by: username_from.clone(),
            },
            ("group_invitation", Some(group_id)) => Event::Invitation {
                group_id,
                group_name: group_name.clone(),
                by: username_from.clone(),
            },
            ("typing", _) => Event::Typing {
                from: username_from.clone(),
                group_id: group_id_to,
            },
            ("presence", _) => Event::Presence {
                user: username_from.clone(),
                state: presence.clone()?,
            },
            ("receipt", _) => Event::Receipt(Receipt {
                reader: username_from.clone(),
                read: marker.as_deref() == Some("read"),
                with: username_to.clone(),
                group_id: group_id_to,
                up_to: seq?,
            }),
            // The original server marks notices only by their sender.
            ("send_group", Some(group_id)) if notice || username_from == "admin" => {
                Event::Notice(GroupNotice {
                    group_id,
                    group_name: group_name.clone(),
                    text: message.clone(),
                    event,
                    member,
                    message_id: message_id.clone(),
                    sent_at: sent_at.clone(),
                    cursor,
                    seq,
                })
            }
            ("send_group", Some(group_id)) => Event::Group(grouped(group_id)),
            _ => return None,
        };
        Some(event)
    }
}

/// The incoming events of a [`Session`](super::Session), in arrival
/// order; also a [`Stream`].
#[derive(Debug)]
pub struct Events {
    receiver: mpsc::Receiver<Event>,
}

impl Events {
    pub(super) fn new(receiver: mpsc::Receiver<Event>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the session's connection is gone or
    /// the session logged out.
    pub async fn recv(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }

    /// The next event if one arrives within `wait`.
    pub async fn recv_timeout(&mut self, wait: Duration) -> Option<Event> {
        tokio::time::timeout(wait, self.receiver.recv())
            .await
            .ok()
            .flatten()
    }
}

impl Stream for Events {
    type Item = Event;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.poll_recv(cx)
    }
}
