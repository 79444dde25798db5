//! Events and conversations as the CLI words them: one line each, with
//! everything that came from the network escaped (see `sanitize`).

use ngobrol_amqp::client::{ChangedMessage, DirectMessage, Event, GroupMessage};
use ngobrol_amqp::wire::{ConversationEntry, GetFriendRequestsReply};

use crate::sanitize::escape;

/// Shared by both modes: an event as one line of text. Everything in it
/// that came from the network is escaped (see `sanitize`), so the line is
/// one line and holds no terminal control sequence.
pub(crate) fn describe_event(event: &Event) -> String {
    match event {
        Event::Direct(m) => describe_direct(m),
        Event::Group(m) => describe_group(m),
        Event::Edited(changed) => format!("{} (edited)", describe_changed(changed)),
        Event::Deleted(changed) => match changed {
            ChangedMessage::Direct(m) => format!(
                "[{}] {} deleted a message",
                stamp(m.edited_at.as_deref(), m.message_id.as_deref()),
                escape(&m.from)
            ),
            ChangedMessage::Group(m) => format!(
                "[{}] [{} #{}] {} deleted a message",
                stamp(m.edited_at.as_deref(), m.message_id.as_deref()),
                escape(&m.group_name),
                m.group_id,
                escape(&m.from)
            ),
        },
        Event::Notice(n) => {
            // Worded by the CLI when the server says what happened, so the
            // server's language does not change what the CLI prints.
            let text = match (n.event.as_deref(), n.member.as_deref()) {
                (Some("joined"), Some(member)) => format!("{} joined the group", escape(member)),
                (Some("left"), Some(member)) => format!("{} left the group", escape(member)),
                (Some("removed"), Some(member)) => {
                    format!("{} was removed from the group", escape(member))
                }
                (Some("admin_changed"), Some(member)) => {
                    format!("{} is now the group's admin", escape(member))
                }
                (Some("renamed"), Some(by)) => format!(
                    "{} renamed the group to {}",
                    escape(by),
                    escape(&n.group_name)
                ),
                (Some("closed"), Some(by)) => format!("{} closed the group", escape(by)),
                _ => escape(&n.text).into_owned(),
            };
            format!(
                "[{}] [{} #{}] * {}",
                clock(n.sent_at.as_deref()),
                escape(&n.group_name),
                n.group_id,
                text
            )
        }
        Event::Receipt(r) => {
            let what = if r.read { "read by" } else { "delivered to" };
            match r.group_id {
                Some(group) => format!(
                    "  · your messages in #{group} up to {} {what} {}",
                    r.up_to,
                    escape(&r.reader)
                ),
                None => format!("  · your messages {what} {}", escape(&r.reader)),
            }
        }
        Event::FriendRequest { from } => {
            let who = escape(from);
            format!("* {who} asks to be your friend: /accept {who} or /decline {who}")
        }
        Event::FriendAccepted { by } => format!("* {} accepted: you are friends", escape(by)),
        Event::Invitation {
            group_id,
            group_name,
            by,
        } => format!(
            "* {} invites you to #{group_id} {}: /accept #{group_id} or /decline #{group_id}",
            escape(by),
            escape(group_name)
        ),
        Event::Typing { from, group_id } => match group_id {
            Some(group) => format!("  · {} is typing in #{group}…", escape(from)),
            None => format!("  · {} is typing…", escape(from)),
        },
        Event::Presence { user, state } => format!("  · {} is {}", escape(user), escape(state)),
        // An event of a newer SDK than this CLI knows how to show.
        other => escape(&format!("{other:?}")).into_owned(),
    }
}

/// A conversation as `/conversations` lists it: who or which group, the
/// unread count, how far the friend read, and the latest message.
pub(crate) fn describe_conversation(c: &ConversationEntry) -> String {
    let with = match (&c.with, c.group_id) {
        (Some(friend), _) => escape(friend).into_owned(),
        (None, Some(group)) => format!(
            "#{group} {}",
            escape(c.last.group_name_to.as_deref().unwrap_or(""))
        ),
        (None, None) => "?".to_owned(),
    };
    let unread = match c.unread {
        0 => String::new(),
        n => format!(" ({n} unread)"),
    };
    let last = &c.last;
    let seen = match (c.peer_read_up_to, last.seq) {
        (Some(read), Some(seq)) if read >= seq => " · read",
        _ => "",
    };
    let text = shown_text(&last.message, last.edited_at.as_deref(), last.deleted);
    format!(
        "{with}{unread}: [{}] {}: {text}{seen}",
        stamp(last.sent_at.as_deref(), last.message_id.as_deref()),
        escape(&last.username_from)
    )
}

/// The time and short reference of a message: `HH:MM:SS ref`.
fn stamp(at: Option<&str>, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{} {}", clock(at), escape(&short_ref(id))),
        None => clock(at),
    }
}

/// The short name of a message id, as the CLI shows it (and `/edit` and
/// `/unsend` take it): its last six hexadecimal digits.
pub(crate) fn short_ref(id: &str) -> String {
    let digits: Vec<char> = id.chars().filter(|c| *c != '-').collect();
    digits[digits.len().saturating_sub(6)..].iter().collect()
}

/// What a message says now: its text, `(deleted)`, and `(edited)`.
fn shown_text(text: &str, edited_at: Option<&str>, deleted: bool) -> String {
    match (deleted, edited_at) {
        (true, _) => "(deleted)".to_owned(),
        (false, Some(_)) => format!("{} (edited)", escape(text)),
        (false, None) => escape(text).into_owned(),
    }
}

fn describe_direct(m: &DirectMessage) -> String {
    let stamp = stamp(m.sent_at.as_deref(), m.message_id.as_deref());
    let text = shown_text(&m.text, m.edited_at.as_deref(), m.deleted);
    match &m.to {
        // From the history, which holds both sides of a conversation.
        Some(to) => format!("[{stamp}] {} -> {}: {text}", escape(&m.from), escape(to)),
        None => format!("[{stamp}] {}: {text}", escape(&m.from)),
    }
}

fn describe_group(m: &GroupMessage) -> String {
    format!(
        "[{}] [{} #{}] {}: {}",
        stamp(m.sent_at.as_deref(), m.message_id.as_deref()),
        escape(&m.group_name),
        m.group_id,
        escape(&m.from),
        shown_text(&m.text, m.edited_at.as_deref(), m.deleted)
    )
}

/// An edited message as it is now, stamped with the time of the edit.
fn describe_changed(changed: &ChangedMessage) -> String {
    match changed {
        ChangedMessage::Direct(m) => format!(
            "[{}] {}: {}",
            stamp(m.edited_at.as_deref(), m.message_id.as_deref()),
            escape(&m.from),
            escape(&m.text)
        ),
        ChangedMessage::Group(m) => format!(
            "[{}] [{} #{}] {}: {}",
            stamp(m.edited_at.as_deref(), m.message_id.as_deref()),
            escape(&m.group_name),
            m.group_id,
            escape(&m.from),
            escape(&m.text)
        ),
    }
}

/// The time part (HH:MM:SS, UTC) of an event's `sent_at`, or now.
fn clock(sent_at: Option<&str>) -> String {
    let stamp = sent_at.map(str::to_owned).unwrap_or_else(|| {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    });
    escape(stamp.get(11..19).unwrap_or("--:--:--")).into_owned()
}

/// What waits for an answer, as `/requests` lists it.
pub(crate) fn describe_requests(waiting: &GetFriendRequestsReply) -> String {
    let mut lines = Vec::new();
    for r in &waiting.incoming {
        let who = escape(&r.username);
        lines.push(format!(
            "{who} asks to be your friend: /accept {who} or /decline {who}"
        ));
    }
    for r in &waiting.outgoing {
        lines.push(format!(
            "you asked {}; not answered yet",
            escape(&r.username)
        ));
    }
    for i in &waiting.invitations {
        lines.push(format!(
            "{} invites you to #{} {}: /accept #{} or /decline #{}",
            escape(&i.by),
            i.group_id,
            escape(&i.group_name),
            i.group_id,
            i.group_id
        ));
    }
    if lines.is_empty() {
        return "nothing waits for an answer".into();
    }
    format!("waiting:\n{}", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use crate::sanitize;
    use ngobrol_amqp::client::GroupNotice;

    use super::*;

    fn evil() -> String {
        "\x1b]52;c;SGVsbG8=\x07\x1b[2J\r[00:00:00] admin: fake\n\u{9b}31m\x7f".to_owned()
    }

    fn events() -> Vec<Event> {
        vec![
            Event::Direct(DirectMessage {
                from: evil(),
                to: None,
                text: evil(),
                message_id: Some(evil()),
                sent_at: Some(format!("2024-01-01T{}", evil())),
                cursor: None,
                seq: None,
                edited_at: None,
                deleted: false,
            }),
            Event::Direct(DirectMessage {
                from: evil(),
                to: Some(evil()),
                text: evil(),
                message_id: None,
                sent_at: None,
                cursor: Some(7),
                seq: Some(3),
                edited_at: Some(evil()),
                deleted: false,
            }),
            Event::Group(GroupMessage {
                from: evil(),
                group_id: 7,
                group_name: evil(),
                text: evil(),
                message_id: None,
                sent_at: Some(evil()),
                cursor: None,
                seq: None,
                edited_at: None,
                deleted: false,
            }),
            Event::Notice(GroupNotice {
                group_id: 7,
                group_name: evil(),
                text: evil(),
                event: None,
                member: None,
                message_id: None,
                sent_at: None,
                cursor: None,
                seq: None,
            }),
            Event::Notice(GroupNotice {
                group_id: 7,
                group_name: evil(),
                text: evil(),
                event: Some("joined".into()),
                member: Some(evil()),
                message_id: None,
                sent_at: None,
                cursor: None,
                seq: None,
            }),
        ]
    }

    #[test]
    fn described_events_hold_no_control_character() {
        for event in events() {
            let line = describe_event(&event);
            assert!(!line.chars().any(char::is_control), "{line:?}");
            assert!(
                line.contains("\\u{1b}]52;c;SGVsbG8=\\u{7}\\u{1b}[2J\\r"),
                "{line}"
            );
        }
    }

    #[test]
    fn json_lines_escape_controls_and_keep_the_text_exact() {
        for event in events() {
            let line = sanitize::json(&serde_json::to_string(&event).unwrap()).into_owned();
            assert!(!line.chars().any(char::is_control), "{line:?}");
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(parsed["text"], evil());
            if let Some(name) = parsed.get("group_name") {
                assert_eq!(name, &serde_json::Value::String(evil()));
            }
        }
    }
}
