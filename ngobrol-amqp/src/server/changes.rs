//! What the servers of one namespace tell each other: what a write made
//! their caches forget (`ngobrol_core::cache`). Each server publishes
//! its own to the fanout exchange `<ns>.changes` and reads everyone's
//! through a queue of its own (exclusive: it goes with the connection),
//! skipping its own by their `app_id`, the server's id. A notice is one
//! broker hop behind the write; one lost (the queue of notices full, the
//! connection down) is made up for by the caches' time to live, and a
//! server that connects again forgets everything first.

use std::sync::Arc;

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Connection, ExchangeKind};
use ngobrol_core::{Caches, Forgotten, GroupId, Teller, TokenHash, Username};
use tokio::sync::{Mutex, mpsc};
use tracing::{debug, warn};

use crate::names::Namespace;

/// The most notices waiting to be published; past it they are dropped
/// (the time to live covers them).
const WAITING: usize = 10_000;

/// This server's side of the notices.
pub(super) struct Changes {
    caches: Caches,
    /// This server's id, the `app_id` of its notices.
    origin: String,
    told: Mutex<mpsc::Receiver<Forgotten>>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The teller to give the caches, and what it told, to hand to
/// [`Changes::new`].
pub(super) fn teller() -> (Teller, mpsc::Receiver<Forgotten>) {
    let (sender, told) = mpsc::channel(WAITING);
    let tell: Teller = Arc::new(move |forgotten: &Forgotten| {
        if sender.try_send(forgotten.clone()).is_err() {
            debug!("too many cache notices waiting; one is left to the time to live");
        }
    });
    (tell, told)
}

impl Changes {
    pub fn new(caches: Caches, told: mpsc::Receiver<Forgotten>, origin: String) -> Self {
        Self {
            caches,
            origin,
            told: Mutex::new(told),
        }
    }

    /// Publishes this server's notices and applies the others' until the
    /// connection fails.
    pub async fn run(&self, connection: Arc<Connection>, names: Namespace) -> lapin::Result<()> {
        let exchange = names.change_exchange();
        let channel = connection.create_channel().await?;
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Fanout,
                ExchangeDeclareOptions {
                    durable: true,
                    ..ExchangeDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                queue.name().as_str().into(),
                exchange.as_str().into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut heard = channel
            .basic_consume(
                queue.name().as_str().into(),
                "ngobrol-changes".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        // What others wrote while this server was not listening.
        self.caches.clear();
        let mut told = self.told.lock().await;
        loop {
            tokio::select! {
                Some(forgotten) = told.recv() => {
                    let properties = BasicProperties::default().with_app_id(self.origin.as_str().into());
                    channel
                        .basic_publish(
                            exchange.as_str().into(),
                            "".into(),
                            BasicPublishOptions::default(),
                            encode(&forgotten).as_bytes(),
                            properties,
                        )
                        .await?;
                }
                next = heard.next() => match next {
                    Some(Ok(notice)) => {
                        let own = notice.properties.app_id().as_ref().map(|id| id.as_str())
                            == Some(self.origin.as_str());
                        if own {
                            continue;
                        }
                        match decode(&notice.data) {
                            Some(forgotten) => self.caches.forget(&forgotten),
                            None => {
                                warn!("a cache notice that makes no sense; forgetting everything");
                                self.caches.clear();
                            }
                        }
                    }
                    Some(Err(e)) => return Err(e),
                    None => return Ok(()),
                },
            }
        }
    }
}

/// A notice as text: a letter, then its values, separated by spaces.
fn encode(forgotten: &Forgotten) -> String {
    match forgotten {
        Forgotten::Session(hash) => format!("s {}", hash.as_str()),
        Forgotten::AllSessions => "S".into(),
        Forgotten::Friendship(a, b) => format!("f {a} {b}"),
        Forgotten::Membership(group, user) => format!("m {group} {user}"),
        Forgotten::AllMemberships => "M".into(),
        Forgotten::Group(group) => format!("g {group}"),
    }
}

fn decode(text: &[u8]) -> Option<Forgotten> {
    let text = std::str::from_utf8(text).ok()?;
    let mut words = text.split(' ');
    let user = |word: Option<&str>| Username::parse(word?).ok();
    let group = |word: Option<&str>| word?.parse::<i64>().ok().map(GroupId::new);
    let forgotten = match words.next()? {
        "s" => Forgotten::Session(TokenHash::from_stored(words.next()?.to_owned())),
        "S" => Forgotten::AllSessions,
        "f" => Forgotten::Friendship(user(words.next())?, user(words.next())?),
        "m" => Forgotten::Membership(group(words.next())?, user(words.next())?),
        "M" => Forgotten::AllMemberships,
        "g" => Forgotten::Group(group(words.next())?),
        _ => return None,
    };
    words.next().is_none().then_some(forgotten)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_reads_back_as_written() {
        let ana = Username::parse("ana").unwrap();
        let budi = Username::parse("budi.b-1").unwrap();
        for forgotten in [
            Forgotten::Session(TokenHash::from_stored("ab".repeat(32))),
            Forgotten::AllSessions,
            Forgotten::Friendship(ana.clone(), budi.clone()),
            Forgotten::Membership(GroupId::new(7), budi),
            Forgotten::AllMemberships,
            Forgotten::Group(GroupId::new(12)),
        ] {
            assert_eq!(decode(encode(&forgotten).as_bytes()), Some(forgotten));
        }
        for nonsense in ["", "x", "f ana", "m seven ana", "g 1 2", "f ana b c"] {
            assert_eq!(decode(nonsense.as_bytes()), None, "{nonsense:?}");
        }
    }
}
