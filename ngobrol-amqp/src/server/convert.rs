//! From the core's values to the wire's messages.

use ngobrol_core::{
    ChatError, Conversation, Delivery, DeliveryBody, GroupRef, Marker, NoticeEvent, Signal,
    StoredMessage, Username,
};
use serde::Serialize;

use super::catalogue;
use crate::wire::{Body, DecodeError, DeliveryMessage, Language, NoticeFields, Reply};

impl<B: Serialize> Reply<B> {
    /// The error reply to `method` for a refused request, with `body` (a
    /// typed reply's `Default`), its description in English.
    pub fn from_chat_error(method: &str, error: &ChatError, body: B) -> Self {
        Self::refused_in(Language::En, method, error, body)
    }

    /// The error reply to `method` for a refused request, with `body`, its
    /// description from the catalogue in `lang`.
    pub fn refused_in(lang: Language, method: &str, error: &ChatError, body: B) -> Self {
        let description = catalogue::refusal(lang, method, error);
        let mut reply = Self::refusal(method, error.code(), description, body);
        reply.retry_after_ms = error
            .retry_after()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1));
        reply
    }
}

impl Reply<Body> {
    /// The error reply for a refused request, with the fields the
    /// original protocol always sends in that method's error reply; its
    /// description in English.
    pub fn from_error(method: &str, error: &ChatError) -> Self {
        Self::from_error_in(Language::En, method, error)
    }

    /// The same, its description in `lang`.
    pub fn from_error_in(lang: Language, method: &str, error: &ChatError) -> Self {
        let body = crate::methods::Request::error_body(method);
        Self::refused_in(lang, method, error, body)
    }

    /// The error reply for a body that could not be decoded, its
    /// description in `lang`.
    pub fn from_decode_error_in(lang: Language, error: &DecodeError) -> Self {
        let mut reply = Self::from_decode_error(error);
        reply.description = catalogue::decode_refusal(lang, error);
        reply
    }
}

impl DeliveryMessage {
    /// The wire message of a delivery, a notice's text in English.
    pub fn from_delivery(delivery: &Delivery) -> Self {
        Self::from_delivery_in(Language::En, delivery)
    }

    /// The wire message of a delivery, a notice's text in `lang`.
    pub fn from_delivery_in(lang: Language, delivery: &Delivery) -> Self {
        let message_id = Some(delivery.id.to_string());
        let sent_at = Some(humantime::format_rfc3339_millis(delivery.sent_at).to_string());
        let (method, from, group, message, notice) = match &delivery.body {
            DeliveryBody::Direct { from, text } => (
                "send_client",
                from.to_string(),
                None,
                text.as_str().to_owned(),
                false,
            ),
            DeliveryBody::Group { from, group, text } => {
                let text = text.as_str().to_owned();
                ("send_group", from.to_string(), Some(group), text, false)
            }
            DeliveryBody::Notice { group, event } => {
                let text = catalogue::notice(lang, event, &group.name);
                (
                    "send_group",
                    Username::NOTICE_SENDER.into(),
                    Some(group),
                    text,
                    true,
                )
            }
        };
        Self {
            method: method.into(),
            username_from: from,
            group_id_to: group.map(|g| g.id.get()),
            group_name_to: group.map(|g| g.name.to_string()),
            message,
            message_id,
            sent_at,
            notice,
            notice_event: notice_event(&delivery.body),
            username_to: None,
            cursor: delivery.placement.map(|p| p.position),
            seq: delivery.placement.map(|p| p.seq),
            edited_at: None,
            deleted: false,
            marker: None,
            presence: None,
        }
    }

    /// The wire message of a stored message, as history and sync pages
    /// carry it: a direct message names its recipient.
    pub fn from_stored_in(lang: Language, stored: &StoredMessage) -> Self {
        let mut message = Self::from_delivery_in(lang, &stored.delivery);
        if let DeliveryBody::Direct { from, .. } = &stored.delivery.body {
            message.username_to = stored.conversation.peer_of(from).map(ToString::to_string);
        }
        if let Some(amended) = stored.amended {
            message.edited_at = Some(humantime::format_rfc3339_millis(amended.at).to_string());
            message.deleted = amended.deleted;
        }
        message
    }

    /// The wire message of a signal (see [`Signal`]): a changed message
    /// as it is stored now, its `method` naming the change.
    pub fn from_signal_in(lang: Language, signal: &Signal) -> Self {
        let (method, stored) = match signal {
            Signal::Edited(stored) => ("message_edited", stored),
            Signal::Deleted(stored) => ("message_deleted", stored),
            Signal::Receipt {
                reader,
                conversation,
                marker,
                up_to,
            } => return Self::receipt(reader, conversation, *marker, *up_to),
            Signal::FriendRequest { from } => return Self::about("friend_request", from, None),
            Signal::FriendAccepted { by } => return Self::about("friend_accepted", by, None),
            Signal::Invitation { group, by } => {
                return Self::about("group_invitation", by, Some(group));
            }
            Signal::Typing { user, conversation } => {
                let mut message = Self::about("typing", user, None);
                if let Conversation::Group(group) = conversation {
                    message.group_id_to = Some(group.get());
                }
                return message;
            }
            Signal::Presence { user, state } => {
                let mut message = Self::about("presence", user, None);
                message.presence = Some(crate::methods::activity::wire_state(*state).into());
                return message;
            }
        };
        let mut message = Self::from_stored_in(lang, stored);
        message.method = method.into();
        message
    }
}

impl DeliveryMessage {
    /// A signal about someone (`username_from`) and, for an invitation,
    /// a group.
    fn about(method: &str, who: &Username, group: Option<&GroupRef>) -> Self {
        Self {
            method: method.into(),
            username_from: who.to_string(),
            group_id_to: group.map(|g| g.id.get()),
            group_name_to: group.map(|g| g.name.to_string()),
            ..Self::default()
        }
    }

    /// A receipt: `reader` got (or read) the conversation up to `up_to`;
    /// `username_to` is the other person of a direct conversation.
    fn receipt(reader: &Username, conversation: &Conversation, marker: Marker, up_to: u64) -> Self {
        let (to, group) = match conversation {
            Conversation::Direct { .. } => {
                (conversation.peer_of(reader).map(ToString::to_string), None)
            }
            Conversation::Group(group) => (None, Some(group.get())),
        };
        let marker = match marker {
            Marker::Delivered => "delivered",
            Marker::Read => "read",
        };
        Self {
            method: "receipt".into(),
            username_from: reader.to_string(),
            group_id_to: group,
            username_to: to,
            seq: Some(up_to),
            marker: Some(marker.into()),
            ..Self::default()
        }
    }
}

/// What a notice says, for programs: the event and its member.
fn notice_event(body: &DeliveryBody) -> Option<NoticeFields> {
    match body {
        DeliveryBody::Notice { event, .. } => Some(match event {
            NoticeEvent::Joined { member, by } => NoticeFields {
                event: "joined".into(),
                member: member.to_string(),
                by: Some(by.to_string()),
            },
            NoticeEvent::Left { member } => NoticeFields {
                event: "left".into(),
                member: member.to_string(),
                by: None,
            },
            NoticeEvent::Removed { member, by } => NoticeFields {
                event: "removed".into(),
                member: member.to_string(),
                by: Some(by.to_string()),
            },
            NoticeEvent::AdminChanged { member, by } => NoticeFields {
                event: "admin_changed".into(),
                member: member.to_string(),
                by: Some(by.to_string()),
            },
            // About the group: its member field names who did it.
            NoticeEvent::Renamed { by } => NoticeFields {
                event: "renamed".into(),
                member: by.to_string(),
                by: Some(by.to_string()),
            },
            NoticeEvent::Closed { by } => NoticeFields {
                event: "closed".into(),
                member: by.to_string(),
                by: Some(by.to_string()),
            },
        }),
        _ => None,
    }
}
