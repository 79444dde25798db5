//! A bot written with the client SDK: it logs in and answers every direct
//! message by echoing it back. Anyone who befriends it can talk to it.
//!
//! Run it against a server (`scripts/run-server.sh`):
//!
//! ```sh
//! NGOBROL_BOT_PASSWORD=… cargo run -p ngobrol-examples --example echo_bot
//! ```
//!
//! Settings come from the environment: `NGOBROL_AMQP_URL`,
//! `NGOBROL_NAMESPACE`, `NGOBROL_BOT_NAME` (default `echo`) and
//! `NGOBROL_BOT_PASSWORD`. The bot registers itself the first time.

use ngobrol_amqp::Namespace;
use ngobrol_amqp::client::{Client, ClientError, ClientOptions, ErrorCode, Event};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut options = ClientOptions::default();
    if let Ok(namespace) = std::env::var("NGOBROL_NAMESPACE") {
        options.namespace = Namespace::parse(namespace)?;
    }
    let name = std::env::var("NGOBROL_BOT_NAME").unwrap_or_else(|_| "echo".into());
    let password = std::env::var("NGOBROL_BOT_PASSWORD")
        .map_err(|_| anyhow::anyhow!("set NGOBROL_BOT_PASSWORD"))?;
    run(options, &name, &password, None).await?;
    Ok(())
}

/// Serves as the bot until `limit` messages are answered (forever with
/// `None`) or the connection ends. Returns how many it answered.
pub async fn run(
    options: ClientOptions,
    name: &str,
    password: &str,
    limit: Option<usize>,
) -> Result<usize, ClientError> {
    let client = Client::connect(options).await?;
    match client.register(name, password).await {
        Ok(()) => println!("registered {name}"),
        Err(e) if e.code() == Some(&ErrorCode::UsernameTaken) => {}
        Err(e) => return Err(e),
    }
    let (bot, mut events) = client.login(name, password).await?;
    println!("{name} is listening");
    let mut answered = 0;
    while limit.is_none_or(|limit| answered < limit) {
        let Some(event) = events.recv().await else {
            break;
        };
        // Only direct messages are answered; friendship is mutual, so
        // whoever could write to the bot can be written back to.
        if let Event::Direct(message) = event {
            let echo = format!("echo: {}", message.text);
            match bot.send_direct(&message.from, &echo).await {
                Ok(_) => answered += 1,
                Err(e) => eprintln!("cannot answer {}: {e}", message.from),
            }
        }
    }
    Ok(answered)
}
