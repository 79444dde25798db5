//! `ngobrol-cli`: chat with an ngobrol server from a terminal, or script
//! it. All protocol work is done by the `ngobrol_amqp::client` SDK; this
//! binary reads commands and prints what happens.

mod describe;
mod input;
mod interactive;
mod refs;
pub(crate) use describe::{describe_conversation, describe_event, short_ref};
mod sanitize;
mod style;
mod wording;

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use ngobrol_amqp::client::{
    Client, ClientError, ClientOptions, Event, LoginOptions, Page, Peer, Session,
};
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

    /// The server runs in isolated mode: connect through its login
    /// account, then as yourself.
    #[arg(long, env = "NGOBROL_ISOLATED", global = true)]
    isolated: bool,

    /// In isolated mode, the server's login account, as `user:password`.
    #[arg(
        long,
        env = "NGOBROL_LOGIN_ACCOUNT",
        default_value = "~login:~login",
        global = true
    )]
    login_account: String,
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
        let options = ClientOptions {
            amqp_url: self.amqp_url.clone(),
            namespace: Namespace::parse(self.namespace.clone())?,
            timeout: Duration::from_secs(self.timeout_secs),
            ..ClientOptions::default()
        };
        if !self.isolated {
            return Ok(options);
        }
        let (user, password) = self
            .login_account
            .split_once(':')
            .unwrap_or((self.login_account.as_str(), ""));
        Ok(options.isolated_through(user, password))
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
