//! Pipelined lanes: a lane runs the rules and store effects of its
//! messages one after another and publishes their deliveries at once,
//! while the broker's confirms of earlier ones are still on their way.
//!
//! Three stages, each in order, joined by bounded queues (the whole
//! server never holds more than `prefetch` requests):
//! 1. the lane ([`run_lane`]) runs its messages, up to [`OVERLAP`] at
//!    once, in two turns taken in the order the requests came: a run
//!    starts once the run before it has handed its append to the history
//!    (so rules are checked and appends numbered in that order, and the
//!    store writes appends that wait together in one batch), and
//!    publishes once the run before it has finished (its deliveries
//!    published without waiting; [`defer`] collects their confirms). One
//!    user's requests take one lane and its publishes leave on one
//!    channel, so they reach the broker in order;
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

mod history;
mod lane;
mod stages;

use std::cell::RefCell;
use std::task::Poll;
use std::time::Instant;

use lapin::message::Delivery as AmqpDelivery;
use lapin::{BasicProperties, PublisherConfirm};
use ngobrol_core::{ChatError, RequestKey, Username};
use tokio::sync::oneshot;

use super::execute::Answer;
use super::settle::Disposition;

pub(super) use history::OrderedHistory;
pub(super) use lane::run_lane;

/// The most messages of one lane running at once (each past its turns
/// only after the one before it).
pub(super) const OVERLAP: usize = 16;

tokio::task_local! {
    /// The pipelined request the future runs: its confirms, its turns.
    static SCOPE: RefCell<Scope>;
}

/// What a pipelined run collects and waits for.
struct Scope {
    confirms: Vec<Confirming>,
    turn: Turn,
}

/// A run's places in its lane's order.
#[derive(Default)]
pub(super) struct Turn {
    /// Resolves once the run before has handed its append to the history
    /// (or finished without one): this run starts then.
    after_append: Option<oneshot::Receiver<()>>,
    /// Resolves once the run before has finished: its publishes are out.
    after_run: Option<oneshot::Receiver<()>>,
    /// Dropped once this run's append is handed over (or it finishes).
    appended: Option<oneshot::Sender<()>>,
}

impl Turn {
    /// The turn of the run after the one whose `appended` and `finished`
    /// ends these are; the ends of this one's, for the run after it.
    pub(super) fn after(
        previous: Option<(oneshot::Receiver<()>, oneshot::Receiver<()>)>,
    ) -> (
        Self,
        oneshot::Sender<()>,
        (oneshot::Receiver<()>, oneshot::Receiver<()>),
    ) {
        let (appended, appended_rx) = oneshot::channel();
        let (finished, finished_rx) = oneshot::channel();
        let (after_append, after_run) = match previous {
            Some((a, r)) => (Some(a), Some(r)),
            None => (None, None),
        };
        let turn = Self {
            after_append,
            after_run,
            appended: Some(appended),
        };
        (turn, finished, (appended_rx, finished_rx))
    }
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

/// Whether the running future runs a pipelined request: its deliveries'
/// confirms are then [deferred](defer).
pub(super) fn deferring() -> bool {
    SCOPE.try_with(|_| ()).is_ok()
}

/// Leaves a delivery's confirm to the confirming stage. Only called when
/// [`deferring`].
pub(super) fn defer(confirming: Confirming) {
    let _ = SCOPE.try_with(move |s| s.borrow_mut().confirms.push(confirming));
}

/// Waits until the run before this one has finished, so that this run's
/// publishes follow all of its. Nothing to wait for outside a pipeline,
/// or the second time.
pub(super) async fn publishing_turn() {
    let wait = SCOPE
        .try_with(|s| s.borrow_mut().turn.after_run.take())
        .ok()
        .flatten();
    if let Some(wait) = wait {
        let _ = wait.await;
    }
}

/// Hands `append` to the history, then lets the run after this one
/// start: the store takes an append in its first poll (see
/// `OrderedHistory`), so the appends of a lane's runs are taken in the
/// order of their requests.
pub(super) async fn appending_turn<T>(append: impl Future<Output = T>) -> T {
    let mut append = std::pin::pin!(append);
    let first = std::future::poll_fn(|cx| Poll::Ready(append.as_mut().poll(cx))).await;
    let _ = SCOPE.try_with(|s| s.borrow_mut().turn.appended.take());
    match first {
        Poll::Ready(done) => done,
        Poll::Pending => append.await,
    }
}

/// Runs `work` in its `turn` (it starts once the run before it has handed
/// its append to the history, or finished: so the rules of one user's
/// requests are checked in their order), with its deliveries' confirms
/// deferred; gives them back.
pub(super) async fn collecting<T>(
    mut turn: Turn,
    work: impl Future<Output = T>,
) -> (T, Vec<Confirming>) {
    if let Some(previous) = turn.after_append.take() {
        let _ = previous.await;
    }
    let scope = Scope {
        confirms: Vec::new(),
        turn,
    };
    SCOPE
        .scope(RefCell::new(scope), async {
            let out = work.await;
            (
                out,
                SCOPE.with(|s| std::mem::take(&mut s.borrow_mut().confirms)),
            )
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
    /// Its shard's count of requests in hand, until settled.
    pub _hold: Option<super::shards::Hold>,
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
