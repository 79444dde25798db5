//! `ngobrol-cli`: chat with an ngobrol server from a terminal, or script
//! it. All protocol work is done by the `ngobrol_amqp::client` SDK; this
//! binary reads commands and prints what happens.

mod interactive;
mod refs;
mod sanitize;
mod wording;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use ngobrol_amqp::client::{
    ChangedMessage, Client, ClientError, ClientOptions, DirectMessage, Event, GroupMessage,
    LoginOptions, Page, Peer, Session,
};
use ngobrol_amqp::wire::ConversationEntry;
use ngobrol_amqp::{DEFAULT_AMQP_URL, Namespace};

use crate::sanitize::escape;

/// Chat with an ngobrol server. Without a subcommand, an interactive chat
/// (type /help); with one, a single action for scripts.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(flatten)]
    connection: ConnectionArgs,

    /// Log in as this user at start (the password is asked, or taken from
    /// NGOBROL_PASSWORD).
    #[arg(long, global = true)]
    user: Option<String>,

    /// The password, for scripts. Prefer the environment variable.
    #[arg(long, env = "NGOBROL_PASSWORD", hide_env_values = true, global = true)]
    password: Option<String>,

    /// A name for this device, shown in /sessions (each login is a session
    /// of its own; the others stay logged in).
    #[arg(long, env = "NGOBROL_DEVICE", global = true)]
    device: Option<String>,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
struct ConnectionArgs {
    /// The RabbitMQ broker.
    #[arg(
        long,
        env = "NGOBROL_AMQP_URL",
        default_value = DEFAULT_AMQP_URL,
        hide_env_values = true,
        global = true
    )]
    amqp_url: String,

    /// The server's namespace.
    #[arg(long, env = "NGOBROL_NAMESPACE", default_value = Namespace::DEFAULT, global = true)]
    namespace: String,

    /// Seconds to wait for each reply.
    #[arg(long, default_value_t = 10, global = true)]
    timeout_secs: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Register --user with --password.
    Register,
    /// Send one message, to a user (--to) or a group (--group).
    Send {
        #[arg(long, conflicts_with = "group", required_unless_present = "group")]
        to: Option<String>,
        #[arg(long)]
        group: Option<i64>,
        /// The message text.
        text: String,
    },
    /// Change the text of a message of yours (its id, as `send` prints
    /// it).
    Edit {
        message_id: String,
        /// The new text.
        text: String,
    },
    /// Delete a message of yours (its id, as `send` prints it).
    Unsend { message_id: String },
    /// Print incoming messages as they arrive, one per line.
    Listen {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
        /// Print (and count) every event, not only messages and notices:
        /// edits, deletions, receipts, requests, typing, presence.
        #[arg(long)]
        all_events: bool,
        /// Begin with what the server stored after this cursor (the
        /// `cursor` of a message printed with --json by an earlier run),
        /// so nothing between two runs is missed.
        #[arg(long)]
        since: Option<u64>,
    },
    /// Print the latest messages of a conversation, oldest first.
    History {
        /// A friend's name, or #<group id>.
        with: String,
        /// How many messages, at most.
        #[arg(long, default_value_t = 20)]
        count: usize,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
}

impl ConnectionArgs {
    fn options(&self) -> anyhow::Result<ClientOptions> {
        Ok(ClientOptions {
            amqp_url: self.amqp_url.clone(),
            namespace: Namespace::parse(self.namespace.clone())?,
            timeout: Duration::from_secs(self.timeout_secs),
            ..ClientOptions::default()
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line, escaped: parts of it may come
            // from the network. No backtrace.
            eprintln!("ngobrol-cli: {}", escape(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

/// A failed call as the CLI words it (see `wording`).
fn failed(error: ClientError) -> anyhow::Error {
    anyhow!(wording::failure(&error))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let options = cli.connection.options()?;
    let Some(command) = cli.command else {
        return interactive::run(options, cli.user, cli.password, cli.device).await;
    };
    let user = cli.user.context("--user is required")?;
    let password = cli
        .password
        .context("--password or NGOBROL_PASSWORD is required")?;
    let client = Client::connect(options)
        .await
        .context("cannot reach the broker")?;
    match command {
        Command::Register => {
            client.register(&user, &password).await.map_err(failed)?;
            println!("registered {user}");
        }
        Command::Send { to, group, text } => {
            let device = cli.device.as_deref().or(Some("ngobrol-cli send"));
            let (session, _) = client
                .login_as(&user, &password, device)
                .await
                .map_err(failed)?;
            let sent = match (to, group) {
                (Some(to), _) => session.send_direct(&to, &text).await,
                (None, Some(group)) => session.send_group(group, &text).await,
                (None, None) => bail!("give --to or --group"),
            };
            // A session for one message: ended again, so a shell loop does
            // not crowd out the person's other devices.
            let _ = session.logout().await;
            let id = sent.map_err(failed)?;
            println!("sent {}", escape(&id.unwrap_or_default()));
        }
        Command::Edit { message_id, text } => {
            let device = cli.device.as_deref().or(Some("ngobrol-cli edit"));
            let (session, _) = client
                .login_as(&user, &password, device)
                .await
                .map_err(failed)?;
            let edited = session.edit_message(&message_id, &text).await;
            let _ = session.logout().await;
            edited.map_err(failed)?;
            println!("edited {}", escape(&message_id));
        }
        Command::Unsend { message_id } => {
            let device = cli.device.as_deref().or(Some("ngobrol-cli unsend"));
            let (session, _) = client
                .login_as(&user, &password, device)
                .await
                .map_err(failed)?;
            let deleted = session.delete_message(&message_id).await;
            let _ = session.logout().await;
            deleted.map_err(failed)?;
            println!("deleted {}", escape(&message_id));
        }
        Command::Listen {
            json,
            count,
            all_events,
            since,
        } => {
            let device = cli.device.as_deref().unwrap_or("ngobrol-cli listen");
            let mut login = LoginOptions::default().device(device);
            if let Some(cursor) = since {
                login = login.since(cursor);
            }
            let (_session, mut events) = client
                .login_with(&user, &password, &login)
                .await
                .map_err(failed)?;
            let mut seen = 0;
            while count.is_none_or(|n| seen < n) {
                let Some(event) = events.recv().await else {
                    bail!("disconnected");
                };
                let message =
                    matches!(event, Event::Direct(_) | Event::Group(_) | Event::Notice(_));
                if !(message || all_events) {
                    continue;
                }
                if json {
                    // Exact JSON: it escapes C0 controls itself; DEL and
                    // C1 controls are escaped too (`\u007f`), same value.
                    println!("{}", sanitize::json(&serde_json::to_string(&event)?));
                } else {
                    println!("{}", describe_event(&event));
                }
                seen += 1;
            }
        }
        Command::History { with, count, json } => {
            let peer = parse_peer(&with).map_err(|e| anyhow!(e))?;
            let device = cli.device.as_deref().or(Some("ngobrol-cli history"));
            let (session, _) = client
                .login_as(&user, &password, device)
                .await
                .map_err(failed)?;
            let messages = latest(&session, &peer, count).await;
            let _ = session.logout().await;
            for event in messages.map_err(failed)? {
                if json {
                    println!("{}", sanitize::json(&serde_json::to_string(&event)?));
                } else {
                    println!("{}", describe_event(&event));
                }
            }
        }
    }
    Ok(())
}

/// A conversation as the CLI names it: `#12` is group 12, anything else
/// a user.
pub(crate) fn parse_peer(word: &str) -> Result<Peer, String> {
    match word.strip_prefix('#') {
        Some(id) => id
            .parse()
            .map(Peer::Group)
            .map_err(|_| format!("error: {word:?} is not a group (#<id>, see /groups)")),
        None if word.is_empty() => Err("error: name a friend or #<group id>".into()),
        None => Ok(Peer::User(word.to_owned())),
    }
}

/// The latest `count` messages of a conversation, oldest first, read a
/// page (at most 100) at a time backwards.
pub(crate) async fn latest(
    session: &Session,
    with: &Peer,
    count: usize,
) -> Result<Vec<Event>, ClientError> {
    let mut pages = Vec::new();
    let mut left = count;
    let mut page = Page::Latest(1);
    while left > 0 {
        let size = left.min(100) as u32;
        page = match page {
            Page::Before(seq, _) => Page::Before(seq, size),
            _ => Page::Latest(size),
        };
        let history = session.history(with, page).await?;
        left = left.saturating_sub(history.messages.len());
        pages.push(history.messages);
        match history.next {
            Some(seq) => page = Page::Before(seq, size),
            None => break,
        }
    }
    Ok(pages.into_iter().rev().flatten().collect())
}

/// The time part (HH:MM:SS, UTC) of an event's `sent_at`, or now.
fn clock(sent_at: Option<&str>) -> String {
    let stamp = sent_at.map(str::to_owned).unwrap_or_else(|| {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    });
    escape(stamp.get(11..19).unwrap_or("--:--:--")).into_owned()
}

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

#[cfg(test)]
mod tests {
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
