//! A lane: its jobs in order, its messages run overlapping in their turns.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use ngobrol_core::RequestKey;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use super::stages::{Settling, confirm_stage, settle_stage};
use super::{OVERLAP, Tail, Turn};
use crate::server::dispatch::Job;
use crate::server::handler::Handler;
use crate::server::settle::Disposition;

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Progress {
    /// Pipelined runs started (each run's `seq` is the count before it),
    /// handed to stage 2, and settled.
    started: u64,
    ran: u64,
    settled: u64,
    /// Set by stage 2 to hold the lane before its next run, until it
    /// has settled those numbered below `resume_at`.
    paused: bool,
    pub(super) resume_at: u64,
    /// A publish failed: what follows is requeued.
    failed: bool,
}

/// The state shared by a lane and its stages.
pub(super) struct Lane {
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

    pub(super) fn get(&self) -> Progress {
        *self.progress.borrow()
    }

    /// Waits until `ready` holds.
    async fn until(&self, ready: impl FnMut(&Progress) -> bool) {
        let mut watching = self.progress.subscribe();
        let _ = watching.wait_for(ready).await;
    }

    /// Waits until every pipelined run is settled.
    async fn drained(&self) {
        self.until(|p| p.settled == p.started).await;
    }

    /// Numbers a new run, unless the lane is paused: decided at once with
    /// the pause, so no run starts after a pause counted what ran.
    fn try_start(&self) -> Option<u64> {
        let mut seq = None;
        self.progress.send_if_modified(|p| {
            if p.paused {
                return false;
            }
            seq = Some(p.started);
            p.started += 1;
            true
        });
        seq
    }

    /// A run is handed to stage 2.
    fn ran(&self) {
        self.progress.send_modify(|p| p.ran += 1);
    }

    /// Holds the lane before its next run and waits until none runs; it
    /// resumes once what it ran until then is settled by stage 2.
    pub(super) async fn pause(&self) {
        if self.get().paused {
            return;
        }
        self.progress.send_modify(|p| p.paused = true);
        self.until(|p| p.ran == p.started).await;
        self.progress.send_modify(|p| p.resume_at = p.ran);
    }

    /// Stage 2 has finished run `seq`: a paused lane may go on.
    pub(super) fn confirmed(&self, seq: u64) {
        self.progress.send_if_modified(|p| {
            let resume = p.paused && seq + 1 >= p.resume_at;
            if resume {
                p.paused = false;
            }
            resume
        });
    }

    pub(super) fn settled(&self) {
        self.progress.send_modify(|p| p.settled += 1);
    }

    pub(super) fn fail(&self) {
        self.progress.send_modify(|p| p.failed = true);
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, HashSet<RequestKey>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn holds_key(&self, key: &RequestKey) -> bool {
        self.keys().contains(key)
    }

    fn hold_key(&self, key: &Option<RequestKey>) {
        if let Some(key) = key {
            self.keys().insert(key.clone());
        }
    }

    pub(super) fn release_key(&self, key: &Option<RequestKey>) {
        if let Some(key) = key {
            self.keys().remove(key);
        }
    }
}

type Run = Pin<Box<dyn Future<Output = Tail> + Send>>;

/// The ends the next run waits on: the newest run's append and finish.
type Ends = (oneshot::Receiver<()>, oneshot::Receiver<()>);

/// Runs a lane: its jobs in order, messages pipelined. Returns once
/// `jobs` is closed and everything taken is settled.
pub(in crate::server) async fn run_lane(
    handler: Handler,
    mut jobs: mpsc::Receiver<Job>,
    depth: usize,
) {
    let lane = Arc::new(Lane::new());
    let (to_confirm, confirming) = mpsc::channel::<Tail>(depth.max(1));
    let (to_settle, settling) = mpsc::channel::<Settling>(depth.max(1));
    let mut confirm_stage = Stage(tokio::spawn(
        confirm_stage(handler.clone(), lane.clone(), confirming, to_settle)
            .in_current_span()
            .with_current_subscriber(),
    ));
    let mut settle_stage = Stage(tokio::spawn(
        settle_stage(handler.clone(), lane.clone(), settling)
            .in_current_span()
            .with_current_subscriber(),
    ));
    let mut runs: FuturesOrdered<Run> = FuturesOrdered::new();
    let mut newest: Option<Ends> = None;
    loop {
        let admit = runs.len() < OVERLAP;
        let paused = lane.get().paused;
        tokio::select! {
            biased;
            Some(tail) = runs.next(), if !runs.is_empty() => {
                lane.ran();
                if to_confirm.send(tail).await.is_err() {
                    break;
                }
            }
            () = lane.until(|p| !p.paused), if admit && paused => {}
            job = jobs.recv(), if admit && !paused => {
                let Some(job) = job else { break };
                if lane.get().failed {
                    finish_runs(&mut runs, &lane, &to_confirm).await;
                    newest = None;
                    // Requeued after the failed request, in their order.
                    lane.drained().await;
                    handler.settle(&job.delivery, Disposition::Retry).await;
                    while let Ok(job) = jobs.try_recv() {
                        handler.settle(&job.delivery, Disposition::Retry).await;
                    }
                    lane.progress.send_modify(|p| p.failed = false);
                    continue;
                }
                match handler.pipelined_key(&job) {
                    Some(key) if !key.as_ref().is_some_and(|k| lane.holds_key(k)) => {
                        let seq = loop {
                            if let Some(seq) = lane.try_start() {
                                break seq;
                            }
                            // Paused since the loop looked: what runs
                            // goes to stage 2, which resumes the lane.
                            finish_runs(&mut runs, &lane, &to_confirm).await;
                            lane.until(|p| !p.paused).await;
                        };
                        lane.hold_key(&key);
                        let (turn, finished, ends) = Turn::after(newest.take());
                        newest = Some(ends);
                        let handler = handler.clone();
                        runs.push_back(Box::pin(async move {
                            let tail = handler.start(job, seq, key, turn).await;
                            drop(finished);
                            tail
                        }));
                    }
                    _ => {
                        finish_runs(&mut runs, &lane, &to_confirm).await;
                        newest = None;
                        lane.drained().await;
                        handler.handle(job).await;
                    }
                }
            }
        }
    }
    finish_runs(&mut runs, &lane, &to_confirm).await;
    drop(to_confirm);
    let _ = (&mut confirm_stage.0).await;
    let _ = (&mut settle_stage.0).await;
}

/// A lane's stage: its task ends with the lane, also when the lane is
/// left unfinished (aborted), so that nothing it holds outlives it.
struct Stage(tokio::task::JoinHandle<()>);

impl Drop for Stage {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Lets every run in progress finish, and hands each to stage 2.
async fn finish_runs(runs: &mut FuturesOrdered<Run>, lane: &Lane, to_confirm: &mpsc::Sender<Tail>) {
    while let Some(tail) = runs.next().await {
        lane.ran();
        let _ = to_confirm.send(tail).await;
    }
}
