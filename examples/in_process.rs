//! A whole conversation with the chat rules alone: `ngobrol-core` and its
//! in-memory ports, no broker and no database. This is how to embed the
//! rules in another program, or to try them out.
//!
//! Run with `cargo run -p ngobrol-examples --example in_process`.

use std::sync::Arc;

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatError, ChatService, DeliveryBody, Password, PasswordHasher, Ports, ServiceConfig,
    Username,
};

#[tokio::main]
async fn main() -> Result<(), ChatError> {
    for line in run().await? {
        println!("{line}");
    }
    Ok(())
}

/// Runs the conversation; returns what there is to show.
pub async fn run() -> Result<Vec<String>, ChatError> {
    let mut shown = Vec::new();
    let outbound = Arc::new(MemoryOutbound::new());
    let ports = Ports::new(Arc::new(MemoryStore::new()), outbound.clone());
    // The fewest hashing rounds keep this demo instant; a server keeps the
    // default (600,000).
    let config = ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        ..ServiceConfig::default()
    };
    let chat = ChatService::new(ports, config)?;

    // Everyone registers and logs in.
    let mut people = Vec::new();
    for name in ["ana", "budi", "cici"] {
        let user = Username::parse(name)?;
        chat.register(&user, &Password::new("rahasia!")).await?;
        let token = chat
            .login(&user, &Password::new("rahasia!"), None)
            .await?
            .token;
        people.push(Auth::new(user, token));
    }
    let [ana, budi, cici] = <[Auth; 3]>::try_from(people).expect("three people");

    // One to one, between friends.
    chat.add_friend(&ana, &budi.user).await?;
    chat.send_direct(&ana, &budi.user, chat.message_text("halo budi!")?)
        .await?;
    let refused = chat
        .send_direct(&cici, &ana.user, chat.message_text("kenalan?")?)
        .await
        .unwrap_err();
    shown.push(format!(
        "cici -> ana refused: {} ({})",
        refused,
        refused.code()
    ));

    // A group: ana creates it, adds budi and cici, everyone talks, cici leaves.
    let group = chat
        .create_group(&ana, &ngobrol_core::GroupName::parse("Keluarga")?)
        .await?;
    chat.add_member(&ana, group.id, &budi.user).await?;
    chat.add_member(&ana, group.id, &cici.user).await?;
    chat.send_group(&budi, group.id, chat.message_text("halo semua")?)
        .await?;
    chat.quit_group(&cici, group.id).await?;

    for person in [&ana, &budi, &cici] {
        shown.push(format!("-- {}'s mailbox", person.user));
        for delivery in outbound.drain(&person.user) {
            match delivery.body {
                DeliveryBody::Direct { from, text } => {
                    shown.push(format!("  {from}: {}", text.as_str()))
                }
                DeliveryBody::Group { from, group, text } => {
                    shown.push(format!("  [{}] {from}: {}", group.name, text.as_str()))
                }
                DeliveryBody::Notice { group, event } => shown.push(format!(
                    "  [{}] * {}",
                    group.name,
                    event.describe(&group.name)
                )),
            }
        }
    }
    Ok(shown)
}
