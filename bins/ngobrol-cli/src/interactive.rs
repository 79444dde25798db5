//! The interactive chat: commands in, replies and incoming messages out.
//!
//! On a terminal, lines are read with rustyline (editing, history in
//! `~/.ngobrol_history`), passwords are read without echo, and incoming
//! messages are printed above the line being typed without garbling it.
//! When standard input is not a terminal (a script, a test), lines are
//! read plainly and a password is the line after `/login` or `/register`.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use std::collections::HashMap;

use ngobrol_amqp::client::{
    Client, ClientError, ClientOptions, Event, Events, LoginOptions, Peer, Session,
};
use tokio::task::JoinHandle;

use crate::describe::describe_requests;
use crate::input::{ChatEditor, Entry, Printer, plain_input, terminal_input};
use crate::refs::Refs;
use crate::sanitize::escape;
use crate::style::{ChatHelper, Known, Look, Shared};
use crate::wording::failure;
use crate::{describe_conversation, describe_event, short_ref};

const HELP: &str = "\
commands:
  /register <user>            create an account (asks for a password)
  /login <user>               log in (asks for a password)
  /share on|off               show your friends when you are online and typing
                              (on by default), or not
  /logout                     log out this device; the others stay
  /logout-all                 log out every device of yours
  /sessions                   list your sessions (devices)
  /friends                    list your friends
  /add <user>                 add a friend (on a server that asks for consent:
                              ask them, or accept their request)
  /requests                   friend requests and group invitations waiting
  /accept <user|#group>       accept a friend request or an invitation
  /decline <user|#group>      decline one (they are not told)
  /unfriend <user>            end a friendship
  /block <user>               block someone (they are not told); /unblock <user>
  /blocked                    whom you block
  /msg <user> <text>          message a friend
  /groups                     list your groups
  /create <group name>        create a group
  /invite <group id> <user>   add someone to a group you created
  /leave <group id>           leave a group
  /members <group id>         who is in a group (* the admin)
  /kick <group id> <user>     remove someone from a group you are admin of
  /transfer <group id> <user> make a member the group's admin instead of you
  /rename <group id> <name>   rename a group you are admin of
  /delete-group <group id>    close a group you are admin of
  /gmsg <group id> <text>     message a group
  /conversations              your conversations, newest first, with unread counts
  /history <user|#group> [n]  the last n messages (20) of a conversation
  /edit <message> <text>      change a message of yours (its short reference,
                              shown beside it, or its id)
  /unsend <message>           delete a message of yours
  /help                       this list
  /quit                       leave";

struct Chat {
    client: Client,
    printer: Printer,
    session: Option<Session>,
    listener: Option<JoinHandle<()>>,
    /// The device name each login gives.
    device: Option<String>,
    /// The messages shown, by their short references.
    refs: Refs,
    /// Who is logged in, their friends and groups: the prompt and Tab's.
    known: Shared,
    look: Look,
}

pub async fn run(
    options: ClientOptions,
    user: Option<String>,
    password: Option<String>,
    device: Option<String>,
) -> anyhow::Result<()> {
    let client = Client::connect(options)
        .await
        .context("cannot reach the broker")?;
    let tty = std::io::stdin().is_terminal();
    // Ask for the start-up password before the line editor owns the
    // terminal.
    let mut password = password;
    if user.is_some() && password.is_none() && tty {
        password = rpassword::prompt_password("password: ").ok();
    }
    let known: Shared = Arc::new(Mutex::new(Known::default()));
    let (mut input, printer) = if tty {
        let mut editor = ChatEditor::new()?;
        editor.set_helper(Some(ChatHelper(known.clone())));
        let external = editor.create_external_printer()?;
        let printer = Printer(Arc::new(Mutex::new(Some(Box::new(external)))));
        (terminal_input(editor, known.clone()), printer)
    } else {
        (plain_input(), Printer(Arc::new(Mutex::new(None))))
    };
    let mut chat = Chat {
        client,
        printer,
        session: None,
        listener: None,
        device,
        refs: Refs::default(),
        known,
        look: Look::detect(),
    };
    chat.printer
        .print("ngobrol: type /help for the commands".into());
    if let Some(user) = user {
        if password.is_none() {
            // Not a terminal: the password is the first line of input.
            password = input.recv().await.map(|e| e.line);
        }
        let outcome = chat.login(&user, &password.unwrap_or_default()).await;
        chat.report(outcome);
    }
    while let Some(Entry { line, password }) = input.recv().await {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" {
            break;
        }
        let outcome = chat.execute(line, password).await;
        let (command, _) = split_word(line);
        if outcome.is_ok() && CHANGES_KNOWN.contains(&command) {
            chat.refresh_known().await;
        }
        chat.report(outcome);
    }
    if let Some(listener) = chat.listener.take() {
        listener.abort();
    }
    if let Some(session) = &chat.session {
        // This device is gone: its friends need not wait for the report
        // to lapse.
        let _ = session.set_presence("offline").await;
    }
    let _ = chat.client.close().await;
    Ok(())
}

/// Prints what arrives for the session. What is shown is read: each
/// conversation is marked read up to the latest message shown, at most
/// twice a second. Receipts of the user's own reading are not shown. The
/// window says it is online, again every 30 seconds (a report counts for
/// 90).
async fn listen(session: Session, mut events: Events, printer: Printer, refs: Refs, look: Look) {
    let mut shown: HashMap<Peer, u64> = HashMap::new();
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    let mut here = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = here.tick() => {
                // A presence that fails costs only the presence.
                let _ = session.set_presence("online").await;
            }
            event = events.recv() => {
                let Some(event) = event else { break };
                if let Event::Receipt(r) = &event
                    && r.reader == session.username()
                {
                    continue;
                }
                refs.note(&event);
                if let Some((peer, seq)) = read_by_showing(&event, session.username()) {
                    let latest = shown.entry(peer).or_default();
                    *latest = (*latest).max(seq);
                }
                let line = describe_event(&event);
                printer.print(match event {
                    Event::Direct(_) | Event::Group(_) => look.message(&line),
                    _ => look.quiet(&line),
                });
            }
            _ = tick.tick() => {
                for (peer, seq) in shown.drain() {
                    // A receipt that fails costs only the receipt.
                    let _ = session.mark_read(&peer, seq).await;
                }
            }
        }
    }
}

/// The conversation and `seq` a shown message from someone else makes
/// read.
fn read_by_showing(event: &Event, me: &str) -> Option<(Peer, u64)> {
    match event {
        Event::Direct(m) if m.from != me => Some((Peer::User(m.from.clone()), m.seq?)),
        Event::Group(m) if m.from != me => Some((Peer::Group(m.group_id), m.seq?)),
        _ => None,
    }
}

/// The commands after which the friends and groups Tab knows may differ.
const CHANGES_KNOWN: &[&str] = &[
    "/add",
    "/accept",
    "/unfriend",
    "/friends",
    "/groups",
    "/create",
    "/invite",
    "/leave",
    "/kick",
    "/delete-group",
];

/// What a command did, or why it failed.
type Outcome = Result<String, String>;

/// A failed call, in the CLI's own words (never the server's, which are
/// in the server's language; see `wording`).
fn refused(error: ClientError) -> String {
    failure(&error)
}

/// The first word of `text` and the rest, trimmed.
fn split_word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_start()),
        None => (text, ""),
    }
}

fn group_id(word: &str) -> Result<i64, String> {
    word.parse()
        .map_err(|_| format!("error: {word:?} is not a group id (see /groups)"))
}

impl Chat {
    fn report(&self, outcome: Outcome) {
        match outcome {
            Ok(text) => self.printer.print(self.look.ok(&format!("ok: {text}"))),
            Err(text) => self.printer.print(self.look.error(&text)),
        }
    }

    /// ` (ref)` for a message just sent, noted for `/edit` and `/unsend`.
    fn shown_ref(&self, id: Option<String>) -> String {
        match id {
            Some(id) => {
                self.refs.note_id(&id);
                format!(" ({})", escape(&short_ref(&id)))
            }
            None => String::new(),
        }
    }

    fn session(&self) -> Result<&Session, String> {
        self.session
            .as_ref()
            .ok_or_else(|| "error: log in first: /login <user>".to_owned())
    }

    /// Forgets the session after logging out: no more events from it.
    fn end_session(&mut self) {
        self.session = None;
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = Known::default();
        if let Some(listener) = self.listener.take() {
            listener.abort();
        }
    }

    async fn login(&mut self, user: &str, password: &str) -> Outcome {
        let mut options = LoginOptions::default().delivery_receipts(true);
        if let Some(device) = &self.device {
            options = options.device(device);
        }
        let (session, events) = self
            .client
            .login_with(user, password, &options)
            .await
            .map_err(refused)?;
        if let Some(old) = self.listener.take() {
            old.abort();
        }
        let listener = listen(
            session.clone(),
            events,
            self.printer.clone(),
            self.refs.clone(),
            self.look,
        );
        self.listener = Some(tokio::spawn(listener));
        self.session = Some(session);
        self.refresh_known().await;
        Ok(format!("logged in as {user}"))
    }

    /// Notes who is logged in, their friends and groups, for the prompt
    /// and for Tab. A listing that fails leaves the last one.
    async fn refresh_known(&self) {
        let Some(session) = &self.session else { return };
        let friends = session.friends().await.ok();
        let groups = session.groups().await.ok();
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.user = Some(session.username().to_owned());
        if let Some(friends) = friends {
            known.friends = friends;
        }
        if let Some(groups) = groups {
            known.groups = groups.iter().map(|g| g.group_id).collect();
        }
    }

    async fn execute(&mut self, line: &str, password: Option<String>) -> Outcome {
        let (command, rest) = split_word(line);
        let password = password.unwrap_or_default();
        match command {
            "/help" => Ok(HELP.to_owned()),
            "/register" if !rest.is_empty() => {
                let (user, _) = split_word(rest);
                self.client
                    .register(user, &password)
                    .await
                    .map_err(refused)?;
                Ok(format!("registered {user}; now /login {user}"))
            }
            "/login" if !rest.is_empty() => {
                let (user, _) = split_word(rest);
                self.login(user, &password).await
            }
            "/share" if matches!(rest, "on" | "off") => {
                let share = rest == "on";
                self.session()?
                    .share_activity(share)
                    .await
                    .map_err(refused)?;
                Ok(if share {
                    "your friends see when you are online and typing".into()
                } else {
                    "your friends no longer see when you are online or typing".into()
                })
            }
            "/logout" => {
                let session = self.session()?;
                let _ = session.set_presence("offline").await;
                session.logout().await.map_err(refused)?;
                self.end_session();
                Ok("logged out".to_owned())
            }
            "/logout-all" => {
                let ended = self.session()?.logout_all().await.map_err(refused)?;
                self.end_session();
                Ok(format!("logged out of {ended} sessions"))
            }
            "/sessions" => {
                let session = self.session()?;
                let sessions = session.sessions().await.map_err(refused)?;
                let lines: Vec<String> = sessions
                    .iter()
                    .map(|s| {
                        format!(
                            "  {}{} {} (since {}, last seen {})",
                            if s.current { "* " } else { "  " },
                            escape(&s.session_id),
                            escape(s.device.as_deref().unwrap_or("-")),
                            escape(&s.created_at),
                            escape(&s.last_seen_at),
                        )
                    })
                    .collect();
                Ok(format!("sessions:\n{}", lines.join("\n")))
            }
            "/friends" => {
                let friends = self.session()?.friends().await.map_err(refused)?;
                Ok(if friends.is_empty() {
                    "no friends yet; /add <user>".to_owned()
                } else {
                    let list: Vec<_> = friends.iter().map(|f| escape(f)).collect();
                    format!("friends: {}", list.join(", "))
                })
            }
            "/block" if !rest.is_empty() => {
                self.session()?.block(rest).await.map_err(refused)?;
                Ok(format!("blocked {rest}"))
            }
            "/unblock" if !rest.is_empty() => {
                self.session()?.unblock(rest).await.map_err(refused)?;
                Ok(format!("unblocked {rest}"))
            }
            "/blocked" => {
                let blocked = self.session()?.blocked().await.map_err(refused)?;
                Ok(if blocked.is_empty() {
                    "you block nobody".to_owned()
                } else {
                    let list: Vec<_> = blocked.iter().map(|b| escape(b)).collect();
                    format!("blocked: {}", list.join(", "))
                })
            }
            "/unfriend" if !rest.is_empty() => {
                self.session()?.remove_friend(rest).await.map_err(refused)?;
                Ok(format!("{rest} is no longer your friend"))
            }
            "/add" if !rest.is_empty() => {
                if self.session()?.add_friend(rest).await.map_err(refused)? {
                    Ok(format!("{rest} is now your friend"))
                } else {
                    Ok(format!("asked {rest} to be your friend; they must accept"))
                }
            }
            "/requests" => {
                let waiting = self.session()?.friend_requests().await.map_err(refused)?;
                Ok(describe_requests(&waiting))
            }
            "/accept" | "/decline" if !rest.is_empty() => {
                let session = self.session()?;
                let accept = command == "/accept";
                match rest.strip_prefix('#') {
                    Some(group) => {
                        let group = group_id(group)?;
                        if accept {
                            session.accept_invitation(group).await.map_err(refused)?;
                            Ok(format!("joined group #{group}"))
                        } else {
                            session.decline_invitation(group).await.map_err(refused)?;
                            Ok(format!("declined the invitation to group #{group}"))
                        }
                    }
                    None if accept => {
                        session.accept_friend(rest).await.map_err(refused)?;
                        Ok(format!("{rest} is now your friend"))
                    }
                    None => {
                        session.decline_friend(rest).await.map_err(refused)?;
                        Ok(format!("declined {rest}'s request"))
                    }
                }
            }
            "/msg" => {
                let (to, text) = split_word(rest);
                if to.is_empty() || text.is_empty() {
                    return Err("usage: /msg <user> <text>".into());
                }
                let id = self
                    .session()?
                    .send_direct(to, text)
                    .await
                    .map_err(refused)?;
                Ok(format!("sent to {to}{}", self.shown_ref(id)))
            }
            "/groups" => {
                let groups = self.session()?.groups().await.map_err(refused)?;
                Ok(if groups.is_empty() {
                    "no groups yet; /create <name>".to_owned()
                } else {
                    let list: Vec<String> = groups
                        .iter()
                        .map(|g| format!("#{} {}", g.group_id, escape(&g.group_name)))
                        .collect();
                    format!("groups: {}", list.join(", "))
                })
            }
            "/create" if !rest.is_empty() => {
                let id = self.session()?.create_group(rest).await.map_err(refused)?;
                Ok(match id {
                    Some(id) => format!("created group #{id} {rest}"),
                    None => format!("created group {rest}"),
                })
            }
            "/invite" => {
                let (group, user) = split_word(rest);
                if user.is_empty() {
                    return Err("usage: /invite <group id> <user>".into());
                }
                let group = group_id(group)?;
                if self
                    .session()?
                    .add_member(group, user)
                    .await
                    .map_err(refused)?
                {
                    Ok(format!("added {user} to group #{group}"))
                } else {
                    Ok(format!(
                        "invited {user} to group #{group}; they must accept"
                    ))
                }
            }
            "/leave" if !rest.is_empty() => {
                let group = group_id(rest)?;
                self.session()?.quit_group(group).await.map_err(refused)?;
                Ok(format!("left group #{group}"))
            }
            "/gmsg" => {
                let (group, text) = split_word(rest);
                if text.is_empty() {
                    return Err("usage: /gmsg <group id> <text>".into());
                }
                let group = group_id(group)?;
                let id = self
                    .session()?
                    .send_group(group, text)
                    .await
                    .map_err(refused)?;
                Ok(format!("sent to group #{group}{}", self.shown_ref(id)))
            }
            "/members" if !rest.is_empty() => {
                let group = group_id(rest)?;
                let listed = self
                    .session()?
                    .group_members(group)
                    .await
                    .map_err(refused)?;
                let names: Vec<String> = listed
                    .members
                    .iter()
                    .map(|m| format!("{}{}", if m.admin { "*" } else { "" }, escape(&m.username)))
                    .collect();
                Ok(format!(
                    "#{group} {}: {}",
                    escape(listed.group_name.as_deref().unwrap_or("")),
                    names.join(", ")
                ))
            }
            "/kick" | "/transfer" => {
                let (group, user) = split_word(rest);
                if user.is_empty() {
                    return Err(format!("usage: {command} <group id> <user>"));
                }
                let group = group_id(group)?;
                let session = self.session()?;
                if command == "/kick" && user == session.username() {
                    return Err("error: to leave a group, /leave it".into());
                }
                if command == "/kick" {
                    session.kick_member(group, user).await.map_err(refused)?;
                    Ok(format!("removed {user} from group #{group}"))
                } else {
                    session.transfer_admin(group, user).await.map_err(refused)?;
                    Ok(format!("{user} is now the admin of group #{group}"))
                }
            }
            "/rename" => {
                let (group, name) = split_word(rest);
                if name.is_empty() {
                    return Err("usage: /rename <group id> <name>".into());
                }
                let group = group_id(group)?;
                self.session()?
                    .rename_group(group, name)
                    .await
                    .map_err(refused)?;
                Ok(format!("group #{group} is now called {name}"))
            }
            "/delete-group" if !rest.is_empty() => {
                let group = group_id(rest)?;
                self.session()?.delete_group(group).await.map_err(refused)?;
                Ok(format!("closed group #{group}"))
            }
            "/history" if !rest.is_empty() => {
                let (with, count) = split_word(rest);
                let peer = crate::parse_peer(with)?;
                let count = match count {
                    "" => 20,
                    n => n
                        .parse()
                        .map_err(|_| format!("error: {n:?} is not a number of messages"))?,
                };
                let messages = crate::latest(self.session()?, &peer, count)
                    .await
                    .map_err(refused)?;
                if messages.is_empty() {
                    return Ok(format!("no messages with {}", escape(with)));
                }
                messages.iter().for_each(|m| self.refs.note(m));
                let lines: Vec<String> = messages.iter().map(describe_event).collect();
                Ok(format!(
                    "history with {}:\n{}",
                    escape(with),
                    lines.join("\n")
                ))
            }
            "/conversations" => {
                let listed = self.session()?.conversations().await.map_err(refused)?;
                if listed.is_empty() {
                    return Ok("no conversations yet".into());
                }
                let lines: Vec<String> = listed.iter().map(describe_conversation).collect();
                Ok(format!("conversations:\n{}", lines.join("\n")))
            }
            "/edit" => {
                let (word, text) = split_word(rest);
                if text.is_empty() {
                    return Err("usage: /edit <message> <new text>".into());
                }
                let id = self.refs.resolve(word)?;
                self.session()?
                    .edit_message(&id, text)
                    .await
                    .map_err(refused)?;
                Ok(format!("edited {}", short_ref(&id)))
            }
            "/unsend" if !rest.is_empty() => {
                let id = self.refs.resolve(rest)?;
                self.session()?.delete_message(&id).await.map_err(refused)?;
                Ok(format!("deleted {}", short_ref(&id)))
            }
            _ => Err(format!("error: unknown command {line:?}; type /help")),
        }
    }
}
