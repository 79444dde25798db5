//! `ngobrol-cli`: chat with an ngobrol server from a terminal, or script
//! it. All protocol work is done by the `ngobrol_amqp::client` SDK; this
//! binary reads commands and prints what happens.

mod interactive;

use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ngobrol_amqp::client::{Client, ClientOptions, Event};
use ngobrol_amqp::{DEFAULT_AMQP_URL, Namespace};

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
    /// Print incoming messages as they arrive, one per line.
    Listen {
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
        /// Stop after this many messages.
        #[arg(long)]
        count: Option<usize>,
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
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let options = cli.connection.options()?;
    let Some(command) = cli.command else {
        return interactive::run(options, cli.user, cli.password).await;
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
            client.register(&user, &password).await?;
            println!("registered {user}");
        }
        Command::Send { to, group, text } => {
            let (session, _) = client.login(&user, &password).await?;
            let id = match (to, group) {
                (Some(to), _) => session.send_direct(&to, &text).await?,
                (None, Some(group)) => session.send_group(group, &text).await?,
                (None, None) => bail!("give --to or --group"),
            };
            println!("sent {}", id.unwrap_or_default());
        }
        Command::Listen { json, count } => {
            let (_session, mut events) = client.login(&user, &password).await?;
            let mut seen = 0;
            while count.is_none_or(|n| seen < n) {
                let Some(event) = events.recv().await else {
                    bail!("disconnected");
                };
                if json {
                    println!("{}", serde_json::to_string(&event)?);
                } else {
                    println!("{}", describe_event(&event));
                }
                seen += 1;
            }
        }
    }
    Ok(())
}

/// The time part (HH:MM:SS, UTC) of an event's `sent_at`, or now.
fn clock(sent_at: Option<&str>) -> String {
    let stamp = sent_at.map(str::to_owned).unwrap_or_else(|| {
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
    });
    stamp.get(11..19).unwrap_or("--:--:--").to_owned()
}

/// Shared by both modes: an event as one line of text.
pub(crate) fn describe_event(event: &Event) -> String {
    match event {
        Event::Direct(m) => format!("[{}] {}: {}", clock(m.sent_at.as_deref()), m.from, m.text),
        Event::Group(m) => format!(
            "[{}] [{} #{}] {}: {}",
            clock(m.sent_at.as_deref()),
            m.group_name,
            m.group_id,
            m.from,
            m.text
        ),
        Event::Notice(n) => format!(
            "[{}] [{} #{}] * {}",
            clock(n.sent_at.as_deref()),
            n.group_name,
            n.group_id,
            n.text
        ),
        // An event of a newer SDK than this CLI knows how to show.
        other => format!("{other:?}"),
    }
}
