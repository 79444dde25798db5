//! The operator's commands: users, their sessions, groups and a summary,
//! on the store (and, where sessions end or a group goes, the broker) of
//! the same settings as the server's. Each prints a table, or JSON with
//! `--json`.

use std::io::{BufRead, IsTerminal};
use std::time::SystemTime;

use anyhow::Context;
use clap::Subcommand;
use ngobrol_amqp::Server;
use ngobrol_core::{GroupId, Password, SessionId, Token, Username};
use serde_json::{Value, json};

use crate::Command;
use crate::settings::Settings;
use crate::table::{Table, printable, timestamp};

/// How a command prints.
#[derive(clap::Args, Debug, Clone, Copy)]
pub(crate) struct Output {
    /// Print JSON (for scripts) instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum UsersCommand {
    /// Every user, by name.
    List(Output),
    /// The users whose name contains TEXT.
    Find {
        text: String,
        #[command(flatten)]
        out: Output,
    },
    /// Refuses the user's password from now on and ends their sessions.
    Disable {
        username: String,
        #[command(flatten)]
        out: Output,
    },
    /// Lets a disabled user log in again.
    Enable {
        username: String,
        #[command(flatten)]
        out: Output,
    },
    /// Gives the user a new password and ends their sessions. The password
    /// is generated and printed, or with --stdin read from standard input
    /// (without echo on a terminal).
    ResetPassword {
        username: String,
        #[arg(long)]
        stdin: bool,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum SessionsCommand {
    /// The user's sessions (devices), oldest first.
    List {
        username: String,
        #[command(flatten)]
        out: Output,
    },
    /// Ends one session of the user by its id, or all of them.
    End {
        username: String,
        session: Option<String>,
        #[command(flatten)]
        out: Output,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum GroupsCommand {
    /// Every group, by id.
    List(Output),
    /// A group with its admin and members.
    Show {
        id: i64,
        #[command(flatten)]
        out: Output,
    },
    /// Deletes a group with its memberships and history (its members are
    /// not told).
    Delete {
        id: i64,
        #[command(flatten)]
        out: Output,
    },
}

/// Runs an admin command.
pub(crate) async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    let store = crate::open_store(&settings).await?;
    let server = Server::build(store.clone(), settings.rules, settings.server)?;
    let now = SystemTime::now();
    let (out, printed) = match command {
        Command::Users(UsersCommand::List(out)) => {
            (out, users(&store.user_summaries(None, now).await?, out))
        }
        Command::Users(UsersCommand::Find { text, out }) => (
            out,
            users(&store.user_summaries(Some(&text), now).await?, out),
        ),
        Command::Users(UsersCommand::Disable { username, out }) => {
            let user = username_of(&username)?;
            let ended = with_broker(&server, server.service().disable_user(&user)).await?;
            (
                out,
                changed(
                    out,
                    &format!("disabled {user}"),
                    json!({"user": user.as_str(), "disabled": true, "sessions_ended": ended.len()}),
                    ended.len(),
                ),
            )
        }
        Command::Users(UsersCommand::Enable { username, out }) => {
            let user = username_of(&username)?;
            server.service().enable_user(&user).await?;
            (
                out,
                changed(
                    out,
                    &format!("enabled {user}"),
                    json!({"user": user.as_str(), "disabled": false}),
                    0,
                ),
            )
        }
        Command::Users(UsersCommand::ResetPassword {
            username,
            stdin,
            out,
        }) => {
            let user = username_of(&username)?;
            let (password, generated) = if stdin {
                (read_password(&user)?, false)
            } else {
                (generated_password()?, true)
            };
            let ended = with_broker(
                &server,
                server
                    .service()
                    .reset_password(&user, &Password::new(password.clone())),
            )
            .await?;
            let shown = generated.then_some(password);
            let text = match &shown {
                Some(password) => format!(
                    "new password of {user}: {password}\n(give it to them over a channel you trust)"
                ),
                None => format!("new password of {user} set"),
            };
            (
                out,
                changed(
                    out,
                    &text,
                    json!({"user": user.as_str(), "password": shown, "sessions_ended": ended.len()}),
                    ended.len(),
                ),
            )
        }
        Command::Sessions(SessionsCommand::List { username, out }) => {
            let user = username_of(&username)?;
            let sessions = server.service().sessions_of(&user).await?;
            let mut table = Table::new(vec!["SESSION", "DEVICE", "ISSUED", "LAST SEEN", "EXPIRES"]);
            let mut list = Vec::new();
            for s in &sessions {
                let device = s.device.as_ref().map(|d| d.as_str().to_owned());
                table.row(vec![
                    s.id.to_string(),
                    device.clone().unwrap_or_else(|| "-".into()),
                    timestamp(s.issued_at),
                    timestamp(s.last_seen),
                    timestamp(s.expires_at),
                ]);
                list.push(json!({"session": s.id.as_str(), "device": device,
                    "issued_at": secs(s.issued_at), "last_seen": secs(s.last_seen),
                    "expires_at": secs(s.expires_at), "expired": s.expires_at <= now}));
            }
            (
                out,
                Printed {
                    table: table.render(),
                    json: Value::Array(list),
                },
            )
        }
        Command::Sessions(SessionsCommand::End {
            username,
            session,
            out,
        }) => {
            let user = username_of(&username)?;
            let ended: Vec<String> = match session {
                Some(id) => {
                    let id = SessionId::parse(id).context("not a session id")?;
                    with_broker(&server, server.service().end_session_of(&user, &id)).await?;
                    vec![id.to_string()]
                }
                None => with_broker(&server, server.service().end_sessions_of(&user))
                    .await?
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            };
            let text = format!("ended {} session(s) of {user}", ended.len());
            (
                out,
                Printed {
                    table: text + "\n",
                    json: json!({"user": user.as_str(), "ended": ended}),
                },
            )
        }
        Command::Groups(GroupsCommand::List(out)) => {
            let groups = store.group_summaries().await?;
            let mut table = Table::new(vec!["ID", "NAME", "ADMIN", "MEMBERS", "CREATED"]);
            let mut list = Vec::new();
            for g in &groups {
                table.row(vec![
                    g.id.to_string(),
                    g.name.clone(),
                    g.admin.clone(),
                    g.members.to_string(),
                    timestamp(g.created_at),
                ]);
                list.push(json!({"id": g.id.get(), "name": g.name, "admin": g.admin,
                    "members": g.members, "created_at": secs(g.created_at)}));
            }
            (
                out,
                Printed {
                    table: table.render(),
                    json: Value::Array(list),
                },
            )
        }
        Command::Groups(GroupsCommand::Show { id, out }) => {
            let (group, members) = server.service().inspect_group(GroupId::new(id)).await?;
            let mut text = format!(
                "group {}: {}\nadmin: {}\nmembers ({}):\n",
                group.id,
                printable(group.name.as_str()),
                group.admin,
                members.len()
            );
            for m in &members {
                text.push_str(&format!("  {m}\n"));
            }
            let names: Vec<&str> = members.iter().map(Username::as_str).collect();
            (
                out,
                Printed {
                    table: text,
                    json: json!({"id": group.id.get(), "name": group.name.as_str(),
                "admin": group.admin.as_str(), "members": names}),
                },
            )
        }
        Command::Groups(GroupsCommand::Delete { id, out }) => {
            let group = GroupId::new(id);
            with_broker(&server, server.service().delete_group(group)).await?;
            (
                out,
                Printed {
                    table: format!("deleted group {group}\n"),
                    json: json!({"id": id, "deleted": true}),
                },
            )
        }
        Command::Stats(out) => {
            let s = store.stats(now).await?;
            let mut table = Table::new(vec!["", "COUNT"]);
            for (name, n) in [
                ("users", s.users),
                ("disabled users", s.disabled_users),
                ("groups", s.groups),
                ("memberships", s.memberships),
                ("messages", s.messages),
                ("live sessions", s.sessions),
            ] {
                table.row(vec![name.into(), n.to_string()]);
            }
            (
                out,
                Printed {
                    table: table.render(),
                    json: json!({"users": s.users,
                "disabled_users": s.disabled_users, "groups": s.groups, "memberships": s.memberships,
                "messages": s.messages, "sessions": s.sessions}),
                },
            )
        }
        Command::Serve | Command::Config | Command::ImportOriginal(_) => {
            unreachable!("not an admin command")
        }
    };
    if out.json {
        println!("{}", printed.json);
    } else {
        print!("{}", printed.table);
    }
    Ok(())
}

/// What a command prints, both ways.
struct Printed {
    table: String,
    json: Value,
}

fn users(list: &[ngobrol_store::UserSummary], _out: Output) -> Printed {
    let mut table = Table::new(vec!["USERNAME", "CREATED", "SESSIONS", "DISABLED"]);
    let mut json = Vec::new();
    for u in list {
        table.row(vec![
            u.username.clone(),
            timestamp(u.created_at),
            u.sessions.to_string(),
            if u.disabled { "yes".into() } else { "".into() },
        ]);
        json.push(
            json!({"username": u.username, "created_at": secs(u.created_at),
            "sessions": u.sessions, "disabled": u.disabled}),
        );
    }
    Printed {
        table: table.render(),
        json: Value::Array(json),
    }
}

fn changed(_out: Output, text: &str, json: Value, ended: usize) -> Printed {
    let mut table = text.to_owned();
    if ended > 0 {
        table.push_str(&format!("; {ended} session(s) ended"));
    }
    table.push('\n');
    Printed { table, json }
}

/// Runs `call` with the service's outbound port on a broker connection.
async fn with_broker<T>(
    server: &Server,
    call: impl Future<Output = Result<T, ngobrol_core::ChatError>>,
) -> anyhow::Result<T> {
    let attached = server
        .connect()
        .await
        .context("cannot reach the broker (it must be up to end sessions or delete a group)")?;
    let outcome = call.await;
    attached.close().await;
    Ok(outcome?)
}

fn username_of(name: &str) -> anyhow::Result<Username> {
    Username::parse(name.to_owned()).map_err(|e| anyhow::anyhow!("{e}"))
}

fn secs(at: SystemTime) -> u64 {
    at.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 20 random characters (about 100 bits).
fn generated_password() -> anyhow::Result<String> {
    let token = Token::generate()?;
    Ok(token
        .expose()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(20)
        .collect())
}

/// A password from standard input: prompted without echo on a terminal,
/// else its first line.
fn read_password(user: &Username) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("new password of {user}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
