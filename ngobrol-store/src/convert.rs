//! Between the ports' types and the columns that store them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ngobrol_core::{
    Amendment, Conversation, Delivery, DeliveryBody, DeviceName, GroupId, GroupName, GroupRecord,
    GroupRef, MessageId, MessageText, NoticeEvent, Placement, SessionId, SessionRecord,
    StoredMessage, TokenHash, Username,
};

use crate::error::Failure;

pub(crate) fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn from_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

pub(crate) fn username(stored: String) -> Result<Username, Failure> {
    Username::parse(stored).map_err(|e| Failure::Corrupt(e.to_string()))
}

/// A `sessions` row as the store's queries select it: token hash,
/// session id, username, device, issued, expires, last seen.
pub(crate) type SessionRow = (String, String, String, Option<String>, i64, i64, i64);

pub(crate) fn session_id(stored: String) -> Result<SessionId, Failure> {
    SessionId::parse(stored.as_str()).map_err(|_| {
        Failure::Corrupt(format!(
            "session id {stored:?} is not 32 lower-case hexadecimal characters"
        ))
    })
}

pub(crate) fn session_record(
    (token_hash, id, name, device, issued_at, expires_at, last_seen_at): SessionRow,
) -> Result<SessionRecord, Failure> {
    Ok(SessionRecord {
        id: session_id(id)?,
        token_hash: TokenHash::from_stored(token_hash),
        username: username(name)?,
        device: device
            .map(DeviceName::parse)
            .transpose()
            .map_err(|e| Failure::Corrupt(e.to_string()))?,
        issued_at: from_millis(issued_at),
        expires_at: from_millis(expires_at),
        last_seen: from_millis(last_seen_at),
    })
}

pub(crate) fn group_record(
    (id, name, admin): (i64, String, String),
) -> Result<GroupRecord, Failure> {
    Ok(GroupRecord {
        id: GroupId::new(id),
        name: GroupName::parse(name).map_err(|e| Failure::Corrupt(e.to_string()))?,
        admin: username(admin)?,
    })
}

/// A `messages` row as the store's queries select it: position, seq,
/// message id, sent at, kind, sender, recipient, group id, group name,
/// body, actor.
pub(crate) type MessageRow = (
    i64,
    i64,
    String,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<Vec<u8>>,
    Option<String>,
    Option<i64>,
    bool,
);

/// The columns of a message, from kind on: what a delivery's body is.
pub(crate) struct MessageColumns {
    pub kind: &'static str,
    pub sender: String,
    pub recipient: Option<String>,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    /// The text's UTF-8 bytes.
    pub body: Option<Vec<u8>>,
    pub actor: Option<String>,
}

pub(crate) fn message_columns(conversation: &Conversation, body: &DeliveryBody) -> MessageColumns {
    let name = |u: &Username| u.as_str().to_owned();
    let group = |g: &GroupRef| (Some(g.id.get()), Some(g.name.as_str().to_owned()));
    match body {
        DeliveryBody::Direct { from, text } => MessageColumns {
            kind: "direct",
            sender: name(from),
            recipient: conversation.peer_of(from).map(name),
            group_id: None,
            group_name: None,
            body: Some(text.as_str().as_bytes().to_vec()),
            actor: None,
        },
        DeliveryBody::Group {
            from,
            group: g,
            text,
        } => {
            let (group_id, group_name) = group(g);
            MessageColumns {
                kind: "group",
                sender: name(from),
                recipient: None,
                group_id,
                group_name,
                body: Some(text.as_str().as_bytes().to_vec()),
                actor: None,
            }
        }
        DeliveryBody::Notice { group: g, event } => {
            let (group_id, group_name) = group(g);
            let (kind, member, actor) = match event {
                NoticeEvent::Joined { member, by } => ("joined", member, Some(name(by))),
                NoticeEvent::Left { member } => ("left", member, None),
                NoticeEvent::Removed { member, by } => ("removed", member, Some(name(by))),
                NoticeEvent::AdminChanged { member, by } => ("admin", member, Some(name(by))),
                // About the group itself: who did it is its subject.
                NoticeEvent::Renamed { by } => ("renamed", by, None),
                NoticeEvent::Closed { by } => ("closed", by, None),
            };
            MessageColumns {
                kind,
                sender: name(member),
                recipient: None,
                group_id,
                group_name,
                body: None,
                actor,
            }
        }
    }
}

pub(crate) fn stored_message(
    (
        position,
        seq,
        id,
        sent_at,
        kind,
        sender,
        recipient,
        group_id,
        group_name,
        body,
        actor,
        amended_at,
        deleted,
    ): MessageRow,
) -> Result<StoredMessage, Failure> {
    let corrupt = |what: &str| Failure::Corrupt(format!("message {id}: {what}"));
    let text = |body: Option<Vec<u8>>| {
        let bytes = body.ok_or_else(|| corrupt("no text"))?;
        let text = String::from_utf8(bytes).map_err(|_| corrupt("text not UTF-8"))?;
        // Stored texts met the limit of their day; read back whole.
        MessageText::parse(text, usize::MAX).map_err(|e| corrupt(&e.to_string()))
    };
    let group = || -> Result<GroupRef, Failure> {
        Ok(GroupRef {
            id: GroupId::new(group_id.ok_or_else(|| corrupt("no group"))?),
            name: GroupName::parse(group_name.clone().ok_or_else(|| corrupt("no group name"))?)
                .map_err(|e| corrupt(&e.to_string()))?,
        })
    };
    let sender = username(sender)?;
    let (conversation, body) = match kind.as_str() {
        "direct" => {
            let to = username(recipient.clone().ok_or_else(|| corrupt("no recipient"))?)?;
            let conversation = Conversation::direct(&sender, &to);
            let body = DeliveryBody::Direct {
                from: sender,
                text: text(body)?,
            };
            (conversation, body)
        }
        "group" => {
            let group = group()?;
            let conversation = Conversation::Group(group.id);
            let body = DeliveryBody::Group {
                from: sender,
                group,
                text: text(body)?,
            };
            (conversation, body)
        }
        "joined" | "left" | "removed" | "admin" | "renamed" | "closed" => {
            let group = group()?;
            let event = match (kind.as_str(), actor) {
                ("joined", Some(by)) => NoticeEvent::Joined {
                    member: sender,
                    by: username(by)?,
                },
                ("removed", Some(by)) => NoticeEvent::Removed {
                    member: sender,
                    by: username(by)?,
                },
                ("admin", Some(by)) => NoticeEvent::AdminChanged {
                    member: sender,
                    by: username(by)?,
                },
                ("left", None) => NoticeEvent::Left { member: sender },
                ("renamed", None) => NoticeEvent::Renamed { by: sender },
                ("closed", None) => NoticeEvent::Closed { by: sender },
                _ => return Err(corrupt("a notice without its actor")),
            };
            (
                Conversation::Group(group.id),
                DeliveryBody::Notice { group, event },
            )
        }
        other => return Err(corrupt(&format!("unknown kind {other:?}"))),
    };
    let message_id = MessageId::parse(&id).ok_or_else(|| corrupt("an unreadable id"))?;
    Ok(StoredMessage {
        conversation,
        delivery: Delivery {
            id: message_id,
            sent_at: from_millis(sent_at),
            body,
            placement: Some(Placement {
                position: position.unsigned_abs(),
                seq: seq.unsigned_abs(),
            }),
        },
        amended: amended_at.map(|at| Amendment {
            at: from_millis(at),
            deleted,
        }),
    })
}
