//! Pipelined lanes: a lane runs the rules and store effects of its
//! messages one after another and publishes their deliveries at once,
//! while the broker's confirms of earlier ones are still on their way.
//!
//! Three stages, each in order, joined by bounded queues (the whole
//! server never holds more than `prefetch` requests):
//! 1. the lane ([`run_lane`]) runs a request: its store effects, then its
//!    deliveries, published without waiting ([`defer`] collects their
//!    confirms). One user's requests take one lane and its publishes
//!    leave on one channel, so they reach the broker in order;
//! 2. the confirming stage waits for those confirms, settles the
//!    request's reply (a nack makes it a refusal, as an unpipelined
//!    delivery's would), records it for de-duplication, and publishes it;
//! 3. the settling stage waits for the reply's confirm and only then
//!    acknowledges the request.
//!
//! Only messages are pipelined. Any other request (logins, groups made
//! or changed, anything that declares or binds) waits until the lane has
//! settled everything before it, then runs as before, waiting for each
//! confirm: routing changes never overtake deliveries.
//!
//! In the middle of a pipeline:
//! - a **nack** (a full queue refused the copy) is not retried: the
//!   sender is told `mailbox_full`, the message stays in the history,
//!   nothing is republished, so nothing is reordered;
//! - a **returned** direct delivery (the user's routing was lost) pauses
//!   the lane before its next request; once everything the lane
//!   published before the pause is confirmed, the returned messages are
//!   published again, in their order, after the mailbox is declared
//!   again; then the lane goes on. A recipient sees them in order;
//! - a **failed** publish (the channel or connection lost) leaves its
//!   request unacknowledged and requeued, and every later request of the
//!   lane, run or not, is requeued after it, so that the broker delivers
//!   them again in their order.

use std::cell::RefCell;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use lapin::message::Delivery as AmqpDelivery;
use lapin::{BasicProperties, PublisherConfirm};
use ngobrol_core::{ChatError, PortError, RequestKey, Username};
use tokio::sync::{mpsc, watch};
use tracing::instrument::WithSubscriber;
use tracing::{error, warn};

use super::dispatch::Job;
use super::execute::Answer;
use super::handler::Handler;
use super::settle::Disposition;

tokio::task_local! {
    /// The confirms of the pipelined request the task is running.
    static DEFERRED: RefCell<Vec<Confirming>>;
}

/// A delivery published by a pipelined request, its confirm to come.
pub(super) struct Confirming {
    pub confirm: PublisherConfirm,
    /// What the sender is told if the broker refuses it (a nack).
    pub refusal: ChatError,
    /// How to publish it again if the broker returns it (direct
    /// deliveries, published mandatory).
    pub again: Option<Again>,
    /// Its kind, as the delivery metric counts it.
    pub kind: &'static str,
}

/// A direct delivery, to be published again.
pub(super) struct Again {
    pub user: Username,
    pub body: Vec<u8>,
    pub properties: BasicProperties,
}

/// Whether the running task runs a pipelined request: its deliveries'
/// confirms are then [deferred](defer).
pub(super) fn deferring() -> bool {
    DEFERRED.try_with(|_| ()).is_ok()
}

/// Leaves a delivery's confirm to the confirming stage. Only called when
/// [`deferring`].
pub(super) fn defer(confirming: Confirming) {
    let _ = DEFERRED.try_with(move |d| d.borrow_mut().push(confirming));
}

/// Runs `work` with its deliveries' confirms deferred; gives them back.
pub(super) async fn collecting<T>(work: impl Future<Output = T>) -> (T, Vec<Confirming>) {
    DEFERRED
        .scope(RefCell::new(Vec::new()), async {
            let out = work.await;
            (out, DEFERRED.with(|d| d.take()))
        })
        .await
}

/// A pipelined request once run: what stage 2 needs to finish it.
pub(super) struct Tail {
    pub delivery: AmqpDelivery,
    pub seq: u64,
    pub started: Instant,
    pub method: &'static str,
    /// The reply and where it goes, or what to do without one (the
    /// handler panicked).
    pub outcome: Result<Prepared, Disposition>,
    /// The request's de-duplication key, held in the lane until settled.
    pub key: Option<RequestKey>,
}

/// A pipelined request's reply, as decided before its confirms.
pub(super) struct Prepared {
    pub answer: Answer,
    /// Encodes a refusal in place of `answer` (after a nack).
    pub refuse: Box<dyn FnOnce(&ChatError) -> Answer + Send>,
    /// The fingerprint under which a lasting reply is recorded.
    pub record: Option<String>,
    pub reply_to: Option<String>,
    pub confirms: Vec<Confirming>,
}

/// A request whose reply is on its way: stage 3's work.
struct Settling {
    delivery: AmqpDelivery,
    disposition: Disposition,
    reply: Option<PublisherConfirm>,
    started: Instant,
    method: &'static str,
    /// The outcome as counted; `None` for a request not answered (it
    /// comes again, or its handler failed).
    code: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Pipelined requests run, and settled.
    ran: u64,
    settled: u64,
    /// Whether the lane is running a pipelined request now.
    running: bool,
    /// Set by stage 2 to hold the lane before its next request, until it
    /// has settled those numbered below `resume_at`.
    paused: bool,
    resume_at: u64,
    /// A publish failed: what follows is requeued.
    failed: bool,
}

/// The state shared by a lane and its stages.
struct Lane {
    progress: watch::Sender<Progress>,
    /// The de-duplication keys of the requests in the pipeline.
    keys: Mutex<HashSet<RequestKey>>,
}

impl Lane {
    fn new() -> Self {
        Self {
            progress: watch::channel(Progress::default()).0,
            keys: Mutex::default(),
        }
    }

    fn get(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Waits until `ready` holds.
    async fn until(&self, ready: impl FnMut(&Progress) -> bool) {
        let mut watching = self.progress.subscribe();
        let _ = watching.wait_for(ready).await;
    }

    /// Waits until every pipelined request run is settled.
    async fn drained(&self) {
        self.until(|p| p.settled == p.ran).await;
    }

    /// Waits until the lane is not paused, then marks it running.
    async fn begin(&self) -> u64 {
        self.until(|p| !p.paused).await;
        let mut seq = 0;
        self.progress.send_modify(|p| {
            p.running = true;
            seq = p.ran;
        });
        seq
    }

    fn end(&self) {
        self.progress.send_modify(|p| {
            p.running = false;
            p.ran += 1;
        });
    }

    /// Holds the lane before its next request and waits until it runs
    /// none; it resumes once what it ran until then is settled.
    async fn pause(&self) {
        if self.get().paused {
            return;
        }
        self.progress.send_modify(|p| p.paused = true);
        self.until(|p| !p.running).await;
        self.progress.send_modify(|p| p.resume_at = p.ran);
    }

    /// Stage 2 has finished request `seq`: a paused lane may go on.
    fn confirmed(&self, seq: u64) {
        self.progress.send_if_modified(|p| {
            let resume = p.paused && seq + 1 >= p.resume_at;
            if resume {
                p.paused = false;
            }
            resume
        });
    }

    fn settled(&self) {
        self.progress.send_modify(|p| p.settled += 1);
    }

    fn fail(&self) {
        self.progress.send_modify(|p| p.failed = true);
    }

    fn holds_key(&self, key: &RequestKey) -> bool {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(key)
    }

    fn hold_key(&self, key: &Option<RequestKey>) {
        if let Some(key) = key {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.insert(key.clone());
        }
    }

    fn release_key(&self, key: &Option<RequestKey>) {
        if let Some(key) = key {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            keys.remove(key);
        }
    }
}

/// Runs a lane: its jobs in order, messages pipelined. Returns once
/// `jobs` is closed and everything taken is settled.
pub(super) async fn run_lane(handler: Handler, mut jobs: mpsc::Receiver<Job>, depth: usize) {
    let lane = Arc::new(Lane::new());
    let (to_confirm, confirming) = mpsc::channel::<Tail>(depth.max(1));
    let (to_settle, settling) = mpsc::channel::<Settling>(depth.max(1));
    let confirm_stage = tokio::spawn(
        confirm_stage(handler.clone(), lane.clone(), confirming, to_settle)
            .with_current_subscriber(),
    );
    let settle_stage = tokio::spawn(
        settle_stage(handler.clone(), lane.clone(), settling).with_current_subscriber(),
    );
    while let Some(job) = jobs.recv().await {
        if lane.get().failed {
            // Requeued after the failed request, in their order.
            lane.drained().await;
            handler.settle(&job.delivery, Disposition::Retry).await;
            while let Ok(job) = jobs.try_recv() {
                handler.settle(&job.delivery, Disposition::Retry).await;
            }
            lane.progress.send_modify(|p| p.failed = false);
            continue;
        }
        let key = handler.pipelined_key(&job);
        match key {
            Some(key) if !key.as_ref().is_some_and(|k| lane.holds_key(k)) => {
                let seq = lane.begin().await;
                lane.hold_key(&key);
                let tail = handler.start(job, seq, key).await;
                lane.end();
                if to_confirm.send(tail).await.is_err() {
                    break;
                }
            }
            _ => {
                lane.drained().await;
                handler.handle(job).await;
            }
        }
    }
    drop(to_confirm);
    let _ = confirm_stage.await;
    let _ = settle_stage.await;
}

/// What became of one deferred delivery.
enum Confirmed {
    Delivered(&'static str),
    /// The broker returned it: to be published again.
    Returned(Box<Again>),
    /// The broker refused it: the sender is told this.
    Refused(ChatError),
    Failed(PortError),
}

/// A request whose deliveries were all answered by the broker.
struct Answered {
    tail: Tail,
    confirmed: Vec<Confirmed>,
}

impl Answered {
    async fn of(mut tail: Tail) -> Self {
        let confirms = match &mut tail.outcome {
            Ok(prepared) => std::mem::take(&mut prepared.confirms),
            Err(_) => Vec::new(),
        };
        let mut confirmed = Vec::with_capacity(confirms.len());
        for c in confirms {
            confirmed.push(match super::outbound::confirmed(c.confirm.await, "", "") {
                Ok(confirmation) => match (confirmation.take_message(), c.again) {
                    (None, _) => Confirmed::Delivered(c.kind),
                    (Some(_), Some(again)) => Confirmed::Returned(Box::new(again)),
                    (Some(_), None) => {
                        Confirmed::Failed(PortError::Unavailable("a delivery came back".into()))
                    }
                },
                Err(PortError::Rejected(_)) => Confirmed::Refused(c.refusal),
                Err(e) => Confirmed::Failed(e),
            });
        }
        Self { tail, confirmed }
    }

    fn returned(&self) -> bool {
        self.confirmed
            .iter()
            .any(|c| matches!(c, Confirmed::Returned(_)))
    }

    /// Publishes the returned deliveries again, in their order.
    async fn deliver_again(&mut self, handler: &Handler) {
        for c in &mut self.confirmed {
            if let Confirmed::Returned(again) = c {
                let outbound = &handler.outbound;
                *c = match outbound
                    .deliver_again(&again.user, &again.body, again.properties.clone())
                    .await
                {
                    Ok(()) => Confirmed::Delivered("direct"),
                    Err(PortError::Rejected(_)) => {
                        Confirmed::Refused(ChatError::MailboxFull(again.user.to_string()))
                    }
                    Err(e) => Confirmed::Failed(e),
                };
            }
        }
    }
}

/// Stage 2: each request's confirms, then its reply.
async fn confirm_stage(
    handler: Handler,
    lane: Arc<Lane>,
    mut tails: mpsc::Receiver<Tail>,
    next: mpsc::Sender<Settling>,
) {
    while let Some(tail) = tails.recv().await {
        let mut batch = vec![Answered::of(tail).await];
        if batch[0].returned() {
            // The user's routing was lost. Nothing the lane publishes from
            // now on may overtake the returned messages: it pauses, and
            // once the broker has answered everything it published before
            // (each delivered or returned), the returned ones go again,
            // in their order.
            lane.pause().await;
            let resume_at = lane.get().resume_at;
            while batch.last().is_some_and(|a| a.tail.seq + 1 < resume_at) {
                match tails.recv().await {
                    Some(tail) => batch.push(Answered::of(tail).await),
                    None => break,
                }
            }
            for answered in &mut batch {
                answered.deliver_again(&handler).await;
            }
        }
        for answered in batch {
            let (seq, key) = (answered.tail.seq, answered.tail.key.clone());
            let settling = finish(&handler, &lane, answered).await;
            lane.release_key(&key);
            lane.confirmed(seq);
            if next.send(settling).await.is_err() {
                return;
            }
        }
    }
}

/// The reply of a request whose deliveries were answered: recorded, if it
/// lasts, and published.
async fn finish(handler: &Handler, lane: &Lane, answered: Answered) -> Settling {
    let Answered { tail, confirmed } = answered;
    let Tail {
        delivery,
        started,
        method,
        outcome,
        key,
        ..
    } = tail;
    let unanswered = |delivery, disposition| Settling {
        delivery,
        disposition,
        reply: None,
        started,
        method,
        code: None,
    };
    let prepared = match outcome {
        Ok(prepared) => prepared,
        Err(disposition) => return unanswered(delivery, disposition),
    };
    let mut refusal = None;
    for c in confirmed {
        match c {
            Confirmed::Delivered(kind) => super::metrics::delivered(kind),
            Confirmed::Refused(refused) => {
                refusal.get_or_insert(refused);
            }
            Confirmed::Returned(_) | Confirmed::Failed(_) => {
                if let Confirmed::Failed(e) = c {
                    error!(
                        method,
                        "a delivery was not confirmed ({e}); the request will be retried"
                    );
                }
                lane.fail();
                return unanswered(delivery, Disposition::Retry);
            }
        }
    }
    let Prepared {
        mut answer,
        refuse,
        record,
        reply_to,
        ..
    } = prepared;
    if let Some(refusal) = &refusal {
        answer = refuse(refusal);
    }
    if let (Some(key), Some(fingerprint)) = (&key, &record)
        && answer.lasting
    {
        let recorded = super::dedup::record(fingerprint, &answer.reply);
        handler.record_reply(method, key, &recorded).await;
    }
    let reply = match reply_to {
        Some(queue) => {
            let sent = handler
                .send_reply_unconfirmed(&queue, &answer.reply, &delivery.properties)
                .await;
            match sent {
                Ok(confirm) => Some(confirm),
                Err(e) => {
                    error!("cannot publish a reply ({e}); the request will be retried");
                    lane.fail();
                    return unanswered(delivery, Disposition::Retry);
                }
            }
        }
        None => None,
    };
    Settling {
        delivery,
        disposition: Disposition::Done,
        reply,
        started,
        method,
        code: Some(answer.code),
    }
}

/// Stage 3: each reply's confirm, then the request's acknowledgement.
async fn settle_stage(handler: Handler, lane: Arc<Lane>, mut settling: mpsc::Receiver<Settling>) {
    while let Some(s) = settling.recv().await {
        let mut disposition = s.disposition;
        if let Some(reply) = s.reply {
            match super::outbound::confirmed(reply.await, "", "reply") {
                Ok(_) => {}
                Err(PortError::Rejected(e)) => {
                    warn!("a reply was refused ({e}); the request is done without it");
                }
                Err(e) => {
                    error!("a reply was not confirmed ({e}); the request will be retried");
                    lane.fail();
                    disposition = Disposition::Retry;
                }
            }
        }
        if let Some(code) = s.code {
            super::metrics::request(s.method, code, s.started.elapsed());
        }
        handler.settle(&s.delivery, disposition).await;
        lane.settled();
    }
}
