//! The shards a server serves. Every server consumes every shard queue,
//! each on a channel of its own; the queues are single-active-consumer,
//! so the broker delivers a shard to one of them at a time (the first to
//! subscribe) and moves it to the next at once when that one's channel
//! goes, after putting back, first and in order, what it had not
//! acknowledged.
//!
//! To share the work, each shard has an owner among the servers alive
//! (`fleet.rs`): the one whose id scores highest with the shard
//! (rendezvous hashing, so a server joining or leaving moves only its
//! share). When the servers alive change, a server *yields* each shard it
//! does not own: it stops taking the shard's requests, waits until those
//! in hand are settled, closes the shard's channel (what was delivered but
//! not started goes back to the queue, ahead of the rest) and subscribes
//! again, behind the owner. The owner never yields its own, so it ends
//! first in line. Order holds throughout: at most one server has any of a
//! shard's requests in hand.
//!
//! The broker alone cannot promise that last part when a server's
//! connection breaks: it gives the shard to the next server at once, while
//! the first may still be running what it had in hand. So a server also
//! holds the shard's *turn* in the store ([`TurnHolder`]) from its first
//! request of the shard until it has let the shard go with nothing in
//! hand (yielded, or lost its connection and finished what was in
//! flight); a server the broker gave a shard to waits for the turn before
//! it runs anything of it. A server that dies lets go of its turns with
//! its process.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::{BoxStream, SelectAll};
use lapin::message::Delivery as AmqpDelivery;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use lapin::{Channel, Connection};
use ngobrol_core::{PortError, TurnHolder};
use tokio::sync::{Notify, mpsc};
use tracing::instrument::WithSubscriber;
use tracing::{Instrument, debug, info, warn};

use super::ServerError;
use crate::names::Namespace;

/// A shard's count of requests in hand, and a signal when it drops.
#[derive(Debug, Default)]
struct InHand {
    count: AtomicUsize,
    settled: Notify,
}

/// Counts one request among its shard's in hand until dropped.
#[derive(Debug)]
pub(super) struct Hold(Arc<InHand>);

impl Drop for Hold {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.settled.notify_waiters();
        }
    }
}

/// What the shards' consumers bring.
pub(super) enum Arrival {
    Request(Box<AmqpDelivery>, Hold),
    Failed(lapin::Error),
    /// A consumer the broker ended (its queue deleted).
    Ended(u16),
    /// The turns may have ended without this server giving them back.
    TurnsLost(PortError),
}

/// How often a server checks that its turns still hold.
const CHECK_TURNS_EVERY: Duration = Duration::from_secs(1);

/// How often a server the broker gave a shard to asks for its turn.
const ASK_FOR_TURN_EVERY: Duration = Duration::from_millis(20);

/// A shard's turn as this server has it.
#[derive(Debug, Default)]
struct Turn {
    /// Held by this server; locked while taking or giving it back.
    held: tokio::sync::Mutex<bool>,
    /// True from the moment the shard yields (or the server stops
    /// serving) until it is subscribed again: nothing more of it is taken
    /// in hand.
    closed: AtomicBool,
}

/// The shards' turns, held in the store by one holder.
struct Gate {
    holder: Box<dyn TurnHolder>,
    turns: Vec<Turn>,
}

impl Gate {
    /// Takes a request of `shard` in hand, once this server has the
    /// shard's turn; `None` if the shard yielded meanwhile (the request
    /// goes back to its queue with the channel).
    async fn enter(&self, shard: u16, in_hand: &Arc<InHand>) -> Option<Hold> {
        let turn = &self.turns[usize::from(shard)];
        let mut held = turn.held.lock().await;
        let mut waited = false;
        while !*held {
            if turn.closed.load(Ordering::Acquire) {
                return None;
            }
            match self.holder.try_take(shard).await {
                Ok(true) => {
                    *held = true;
                    info!(shard, "took a shard's turn");
                }
                Ok(false) => {
                    if !std::mem::replace(&mut waited, true) {
                        info!(
                            shard,
                            "waiting for a shard's turn: another server still has some of its requests in hand"
                        );
                    }
                    tokio::time::sleep(ASK_FOR_TURN_EVERY).await;
                }
                Err(e) => {
                    warn!(shard, "cannot ask for a shard's turn ({e}); asking again");
                    tokio::time::sleep(CHECK_TURNS_EVERY).await;
                }
            }
        }
        if turn.closed.load(Ordering::Acquire) {
            return None;
        }
        in_hand.count.fetch_add(1, Ordering::AcqRel);
        Some(Hold(in_hand.clone()))
    }

    /// Once nothing of the yielding `shard` is in hand, gives its turn
    /// back.
    async fn release(&self, shard: u16, in_hand: &InHand) {
        let turn = &self.turns[usize::from(shard)];
        loop {
            settled(in_hand).await;
            let mut held = turn.held.lock().await;
            // Requests are taken in hand only under the lock, and none
            // once the shard is closed.
            if in_hand.count.load(Ordering::Acquire) == 0 {
                if std::mem::take(&mut *held)
                    && let Err(e) = self.holder.give_back(shard).await
                {
                    warn!(shard, "cannot give a shard's turn back: {e}");
                }
                return;
            }
        }
    }
}

/// Until nothing is in hand.
async fn settled(in_hand: &InHand) {
    loop {
        let settled = in_hand.settled.notified();
        if in_hand.count.load(Ordering::Acquire) == 0 {
            return;
        }
        settled.await;
    }
}

/// The shards' consumers, their channels, and who owns what.
pub(super) struct Shards {
    connection: Arc<Connection>,
    names: Namespace,
    prefetch: u16,
    count: u16,
    channels: Vec<Option<Channel>>,
    /// A handle on each consumer: the AMQP library cancels a consumer
    /// once every handle is gone, and a cancelled shard would go to the
    /// next server while this one still has its requests in hand.
    consumers: Vec<Option<lapin::Consumer>>,
    in_hand: Vec<Arc<InHand>>,
    gate: Arc<Gate>,
    /// Says when the turns may have been lost.
    turns_lost: mpsc::UnboundedReceiver<PortError>,
    checking: tokio::task::JoinHandle<()>,
    /// Ends a shard's stream when it yields.
    yields: Vec<Option<tokio::sync::oneshot::Sender<()>>>,
    streams: SelectAll<BoxStream<'static, Arrival>>,
    /// Shards subscribed again after yielding.
    again: (
        mpsc::UnboundedSender<Subscribed>,
        mpsc::UnboundedReceiver<Subscribed>,
    ),
}

/// A shard subscribed to again: its number, channel and consumer.
type Subscribed = (u16, Channel, lapin::Consumer);

impl Shards {
    /// Subscribes to every shard, each on its own channel; runs a
    /// shard's requests only under its turn taken by `holder`.
    pub async fn subscribe(
        connection: Arc<Connection>,
        names: Namespace,
        count: u16,
        prefetch: u16,
        holder: Box<dyn TurnHolder>,
    ) -> Result<Self, ServerError> {
        let gate = Arc::new(Gate {
            holder,
            turns: (0..count).map(|_| Turn::default()).collect(),
        });
        let (lost, turns_lost) = mpsc::unbounded_channel();
        let checking = tokio::spawn({
            let gate = gate.clone();
            async move {
                let mut every = tokio::time::interval(CHECK_TURNS_EVERY);
                loop {
                    every.tick().await;
                    if let Err(e) = gate.holder.check().await {
                        let _ = lost.send(e);
                        return;
                    }
                }
            }
        });
        let mut shards = Self {
            connection,
            names,
            prefetch,
            count,
            channels: Vec::new(),
            consumers: Vec::new(),
            in_hand: (0..count).map(|_| Arc::default()).collect(),
            gate,
            turns_lost,
            checking,
            yields: Vec::new(),
            streams: SelectAll::new(),
            again: mpsc::unbounded_channel(),
        };
        for shard in 0..count {
            let (channel, consumer) =
                consume(&shards.connection, &shards.names, shard, prefetch).await?;
            shards.channels.push(None);
            shards.consumers.push(None);
            shards.yields.push(None);
            shards.add(shard, channel, consumer);
        }
        Ok(shards)
    }

    fn add(&mut self, shard: u16, channel: Channel, consumer: lapin::Consumer) {
        let (yielded, yielding) = tokio::sync::oneshot::channel();
        let in_hand = self.in_hand[usize::from(shard)].clone();
        let gate = self.gate.clone();
        gate.turns[usize::from(shard)]
            .closed
            .store(false, Ordering::Release);
        self.consumers[usize::from(shard)] = Some(consumer.clone());
        let arrivals = consumer
            .filter_map(move |next| {
                let (gate, in_hand) = (gate.clone(), in_hand.clone());
                async move {
                    match next {
                        Ok(delivery) => {
                            let hold = gate.enter(shard, &in_hand).await?;
                            Some(Arrival::Request(Box::new(delivery), hold))
                        }
                        Err(e) => Some(Arrival::Failed(e)),
                    }
                }
            })
            .chain(futures_util::stream::once(
                async move { Arrival::Ended(shard) },
            ))
            .take_until(yielding)
            .boxed();
        self.streams.push(arrivals);
        self.channels[usize::from(shard)] = Some(channel);
        self.yields[usize::from(shard)] = Some(yielded);
    }

    /// The next request of any shard; `None` only if none is subscribed.
    pub async fn next(&mut self) -> Option<Arrival> {
        loop {
            tokio::select! {
                arrival = self.streams.next(), if !self.streams.is_empty() => return arrival,
                Some(e) = self.turns_lost.recv() => return Some(Arrival::TurnsLost(e)),
                Some((shard, channel, consumer)) = self.again.1.recv() => {
                    self.add(shard, channel, consumer);
                }
            }
        }
    }

    /// Yields every shard that `owner` does not give to `me` among
    /// `alive`.
    pub fn rebalance(&mut self, me: &str, alive: &[String]) {
        let mut yielded = 0;
        for shard in 0..self.count {
            if owner(shard, alive) == Some(me) {
                continue;
            }
            let Some(stop) = self.yields[usize::from(shard)].take() else {
                continue; // already yielding
            };
            let Some(channel) = self.channels[usize::from(shard)].take() else {
                continue;
            };
            let consumer = self.consumers[usize::from(shard)].take();
            self.gate.turns[usize::from(shard)]
                .closed
                .store(true, Ordering::Release);
            let _ = stop.send(());
            yielded += 1;
            let in_hand = self.in_hand[usize::from(shard)].clone();
            let (connection, names, prefetch) =
                (self.connection.clone(), self.names.clone(), self.prefetch);
            let again = self.again.0.clone();
            let gate = self.gate.clone();
            tokio::spawn(async move {
                // Until what is in hand is settled, the channel stays,
                // and with it the shard; then the turn goes back, before
                // the next server is given the shard.
                gate.release(shard, &in_hand).await;
                let _ = channel.close(200, "shard yielded".into()).await;
                drop(consumer);
                match consume(&connection, &names, shard, prefetch).await {
                    Ok((channel, consumer)) => {
                        let _ = again.send((shard, channel, consumer));
                    }
                    Err(e) => warn!(shard, "cannot subscribe to a shard again: {e}"),
                }
            });
        }
        if yielded > 0 {
            info!(
                servers = alive.len(),
                yielded, "servers changed; leaving other servers their shards"
            );
        } else {
            debug!(servers = alive.len(), "servers changed; nothing to leave");
        }
    }

    /// The shards' channels, to close at a stop.
    pub fn channels(&self) -> impl Iterator<Item = &Channel> {
        self.channels.iter().flatten()
    }

    /// Takes nothing more in hand, and gives back each turn held as soon
    /// as nothing of its shard is in hand any more (in the background;
    /// await the handle to know they all went back).
    pub fn give_back_turns(&mut self) -> tokio::task::JoinHandle<()> {
        // A request waiting for its turn waits no more.
        self.streams = SelectAll::new();
        for turn in &self.gate.turns {
            turn.closed.store(true, Ordering::Release);
        }
        let (gate, in_hand, count) = (self.gate.clone(), self.in_hand.clone(), self.count);
        let releasing = async move {
            let releases =
                (0..count).map(|shard| gate.release(shard, &in_hand[usize::from(shard)]));
            futures_util::future::join_all(releases).await;
        };
        tokio::spawn(releasing.in_current_span().with_current_subscriber())
    }
}

impl Drop for Shards {
    fn drop(&mut self) {
        self.checking.abort();
    }
}

async fn consume(
    connection: &Connection,
    names: &Namespace,
    shard: u16,
    prefetch: u16,
) -> Result<(Channel, lapin::Consumer), ServerError> {
    let channel = connection.create_channel().await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await?;
    let consumer = channel
        .basic_consume(
            names.shard_queue(shard).as_str().into(),
            format!("ngobrol-shard-{shard}").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    Ok((channel, consumer))
}

/// The server of `alive` that owns `shard`: the highest score of its id
/// with the shard's number (FNV-1a of the id, mixed with the shard by
/// SplitMix64's finaliser; the same everywhere).
pub(super) fn owner(shard: u16, alive: &[String]) -> Option<&str> {
    let score = |id: &str| {
        let mut x = super::intake::fnv1a(id) ^ u64::from(shard).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    alive
        .iter()
        .map(String::as_str)
        .max_by_key(|id| (score(id), *id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_over_the_servers_and_move_only_with_theirs() {
        let three: Vec<String> = ["a1", "b2", "c3"].map(String::from).to_vec();
        let owners: Vec<&str> = (0..32).map(|k| owner(k, &three).unwrap()).collect();
        for id in &three {
            let owned = owners.iter().filter(|o| **o == id.as_str()).count();
            assert!((4..=20).contains(&owned), "{id} owns {owned} of 32");
        }
        // One leaves: only its shards move.
        let two = &three[..2];
        for (k, before) in owners.iter().enumerate() {
            let after = owner(k as u16, two).unwrap();
            if *before != "c3" {
                assert_eq!(after, *before, "shard {k} moved");
            }
        }
        assert_eq!(owner(0, &[]), None);
    }
}
