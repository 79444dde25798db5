//! Dispatch: each request to the lane of its acting user, so one user's
//! requests run in order while different users' run at once; registrations
//! and logins beside the lanes.

use std::future::Future;
use std::hash::BuildHasher;
use std::pin::Pin;
use std::sync::Arc;

use lapin::message::Delivery as AmqpDelivery;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use super::handler::Handler;
use super::shards::{Arrival, Shards};
use super::{ServerConfig, ServerError};
use crate::wire::{DecodeError, Envelope, decode_request};

/// One request as delivered, decoded once.
pub(super) struct Job {
    pub delivery: AmqpDelivery,
    pub decoded: Result<Envelope, Box<DecodeError>>,
    /// Counts it among its shard's requests in hand until it is dropped,
    /// once settled.
    pub hold: Option<super::shards::Hold>,
}

impl Job {
    fn new(delivery: AmqpDelivery, hold: super::shards::Hold, max_body_bytes: usize) -> Self {
        // The intake cuts a body too large to serve, and says how large.
        let length = super::intake::original_length(&delivery.properties)
            .unwrap_or(delivery.data.len())
            .max(delivery.data.len());
        let decoded = if length > max_body_bytes {
            Err(Box::new(super::handler::oversized(
                &delivery.data,
                length,
                max_body_bytes,
            )))
        } else {
            decode_request(&delivery.data)
        };
        Self {
            delivery,
            decoded,
            hold: Some(hold),
        }
    }

    /// Whether this is a registration or a login: slow (password
    /// hashing), and needing no order with the user's other requests,
    /// since a client waits for the login reply before it does anything.
    fn is_authentication(&self) -> bool {
        self.decoded
            .as_ref()
            .is_ok_and(|envelope| envelope.request.token().is_none())
    }

    /// What orders this request: its acting user's name.
    fn lane_key(&self) -> Option<&str> {
        match &self.decoded {
            Ok(envelope) => Some(envelope.request.acting_user()),
            Err(error) => error.acting_user.as_deref(),
        }
    }
}

/// The lanes and the tasks that run requests.
pub(super) struct Dispatcher {
    handler: Handler,
    max_body_bytes: usize,
    lanes: Vec<mpsc::Sender<Job>>,
    workers: JoinSet<()>,
    /// One per registration or login in hand.
    logins: Arc<Semaphore>,
    hasher: std::collections::hash_map::RandomState,
}

impl Dispatcher {
    /// Starts `config.lanes` lanes, each running its requests in order.
    pub fn start(handler: &Handler, config: &ServerConfig) -> Self {
        let count = config.lanes.max(1);
        let mut lanes = Vec::with_capacity(count);
        let mut workers = JoinSet::new();
        for _ in 0..count {
            let (sender, receiver) = mpsc::channel::<Job>(usize::from(config.prefetch.max(1)));
            lanes.push(sender);
            let depth = usize::from(config.prefetch.max(1));
            workers.spawn(
                super::pipeline::run_lane(handler.clone(), receiver, depth)
                    .in_current_span()
                    .with_current_subscriber(),
            );
        }
        Self {
            handler: handler.clone(),
            max_body_bytes: config.max_body_bytes,
            lanes,
            workers,
            logins: Arc::new(Semaphore::new(config.max_pending_logins.max(1))),
            hasher: Default::default(),
        }
    }

    /// Hands every delivery to its lane until `shutdown` completes (Ok) or
    /// a shard's consumer fails or ends; leaves their shards to the other
    /// servers whenever the servers `alive` change.
    pub async fn run(
        &mut self,
        shards: &mut Shards,
        mut alive: watch::Receiver<Vec<String>>,
        me: &str,
        mut shutdown: Pin<&mut impl Future<Output = ()>>,
    ) -> Result<(), ServerError> {
        loop {
            tokio::select! {
                () = shutdown.as_mut() => return Ok(()),
                Ok(()) = alive.changed() => {
                    let now = alive.borrow_and_update().clone();
                    shards.rebalance(me, &now);
                }
                next = shards.next() => match next {
                    Some(Arrival::Request(delivery, hold)) => {
                        self.dispatch(Job::new(*delivery, hold, self.max_body_bytes)).await?;
                    }
                    Some(Arrival::Failed(e)) => return Err(e.into()),
                    Some(Arrival::TurnsLost(e)) => return Err(ServerError::Turns(e)),
                    Some(Arrival::Ended(shard)) => {
                        tracing::warn!(shard, "the broker ended a shard's consumer");
                        return Err(ServerError::ConsumerEnded);
                    }
                    None => return Err(ServerError::ConsumerEnded),
                },
            }
        }
    }

    async fn dispatch(&mut self, job: Job) -> Result<(), ServerError> {
        if job.is_authentication() {
            // Password hashing takes tens of milliseconds: registrations
            // and logins run beside the lanes, so a login storm does not
            // hold up messages, and at most `max_pending_logins` at once;
            // the rest are answered `busy` without being looked at, so
            // they cannot fill the prefetch window.
            // Reap the finished ones, so that a storm leaves nothing behind.
            while self.workers.try_join_next().is_some() {}
            let handler = self.handler.clone();
            match self.logins.clone().try_acquire_owned() {
                Ok(permit) => self.workers.spawn(
                    async move {
                        handler.handle(job).await;
                        drop(permit);
                    }
                    .in_current_span()
                    .with_current_subscriber(),
                ),
                Err(_) => self.workers.spawn(
                    async move { handler.refuse_busy(job).await }
                        .in_current_span()
                        .with_current_subscriber(),
                ),
            };
            return Ok(());
        }
        let count = self.lanes.len() as u64;
        let lane = match job.lane_key() {
            Some(key) => self.hasher.hash_one(key) % count,
            None => job.delivery.delivery_tag % count,
        };
        self.lanes[lane as usize]
            .send(job)
            .await
            .map_err(|_| ServerError::ConsumerEnded)
    }

    /// Closes the lanes and waits for every request in flight; with a
    /// `bound`, at most that long, then leaves (aborts) those left: after
    /// a lost connection they can no longer be acknowledged, and the
    /// broker has given them to the shard's next server, which waits for
    /// this one to let go.
    pub async fn finish(self, bound: Option<std::time::Duration>) {
        let Self {
            lanes, mut workers, ..
        } = self;
        drop(lanes);
        let finishing = async { while workers.join_next().await.is_some() {} };
        match bound {
            None => finishing.await,
            Some(bound) => {
                if tokio::time::timeout(bound, finishing).await.is_err() {
                    tracing::warn!(
                        left = workers.len(),
                        "requests still in flight {bound:?} after the broker was lost; leaving them"
                    );
                    workers.abort_all();
                    while workers.join_next().await.is_some() {}
                }
            }
        }
    }
}
