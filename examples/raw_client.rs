//! The protocol spelled out step by step, with nothing but lapin and
//! serde_json: what a client in any language does. Registers (or reuses) a
//! user, logs in, befriends nobody, and lists friends and groups.
//!
//! Run it against a server (`scripts/run-server.sh`):
//!
//! ```sh
//! cargo run -p ngobrol-examples --example raw_client -- ana rahasia!
//! ```
//!
//! `NGOBROL_AMQP_URL` and `NGOBROL_NAMESPACE` (default `ngobrol`) say
//! where the server is.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use ngobrol_amqp::Namespace;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url =
        std::env::var("NGOBROL_AMQP_URL").unwrap_or_else(|_| ngobrol_amqp::DEFAULT_AMQP_URL.into());
    let namespace = std::env::var("NGOBROL_NAMESPACE").unwrap_or_else(|_| "ngobrol".into());
    let mut args = std::env::args().skip(1);
    let user = args.next().unwrap_or_else(|| "ana".into());
    let password = args.next().unwrap_or_else(|| "rahasia!".into());
    for line in run(&url, &namespace, &user, &password).await? {
        println!("{line}");
    }
    Ok(())
}

/// Publishes one request to the request queue `<namespace>`.
async fn publish(channel: &Channel, namespace: &str, request: &Value) -> anyhow::Result<()> {
    // Step 0, before every publish, as the original client does: declare
    // the request queue (durable, no arguments), so requests wait even if
    // no server has started yet.
    channel
        .queue_declare(
            namespace.into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await?;
    channel
        .basic_publish(
            "".into(),
            namespace.into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(request)?,
            BasicProperties::default().with_content_type("application/json".into()),
        )
        .await?;
    Ok(())
}

/// The next JSON message a consumer receives.
async fn receive(consumer: &mut Consumer) -> anyhow::Result<Value> {
    let delivery = tokio::time::timeout(Duration::from_secs(10), consumer.next())
        .await?
        .ok_or_else(|| anyhow::anyhow!("the consumer ended"))??;
    Ok(serde_json::from_slice(&delivery.data)?)
}

/// Runs the steps; returns what each reply said.
pub async fn run(
    url: &str,
    namespace: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<Vec<String>> {
    let mut said = Vec::new();
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;

    // Step 1: a private, server-named queue for the register and login
    // replies.
    let private = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    let no_ack = BasicConsumeOptions {
        no_ack: true,
        ..Default::default()
    };
    let mut replies = channel
        .basic_consume(
            private.name().clone(),
            "".into(),
            no_ack,
            FieldTable::default(),
        )
        .await?;

    // Step 2: register, naming that queue in `queue_name`. A taken name is
    // fine here: it is our user from an earlier run.
    let register = json!({"method": "register", "username": user, "password": password,
                          "queue_name": private.name().as_str()});
    publish(&channel, namespace, &register).await?;
    let reply = receive(&mut replies).await?;
    said.push(format!(
        "register: {} ({})",
        reply["status"], reply["description"]
    ));

    // Step 3: log in the same way; the reply carries the token.
    let login = json!({"method": "login", "username": user, "password": password,
                       "queue_name": private.name().as_str()});
    publish(&channel, namespace, &login).await?;
    let reply = receive(&mut replies).await?;
    if reply["status"] != "ok" {
        anyhow::bail!("login refused: {}", reply["description"]);
    }
    let token = reply["token"].as_str().unwrap_or_default().to_owned();
    said.push("login: ok".to_owned());

    // Step 4: from now on, everything for this user (replies and incoming
    // messages) arrives in the queue `<namespace>_<user>`.
    let mut mailbox = channel
        .basic_consume(
            Namespace::parse(namespace)?.user_queue(user).into(),
            "".into(),
            no_ack,
            FieldTable::default(),
        )
        .await?;

    // Step 5: authenticated requests name the user and carry the token.
    publish(
        &channel,
        namespace,
        &json!({"method": "get_friend", "username": user, "token": token}),
    )
    .await?;
    let reply = receive(&mut mailbox).await?;
    said.push(format!("friends: {}", reply["usernames"]));
    publish(
        &channel,
        namespace,
        &json!({"method": "get_group", "username": user, "token": token}),
    )
    .await?;
    let reply = receive(&mut mailbox).await?;
    said.push(format!("groups: {}", reply["groups"]));

    connection.close(200, "bye".into()).await?;
    Ok(said)
}
