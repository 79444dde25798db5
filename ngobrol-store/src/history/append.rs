//! Appending to the history in batches: appends that arrive while one
//! batch is being written wait, and the next batch writes them all in one
//! transaction (each in a savepoint of its own, so one refused append
//! leaves the others). Appends take turns anyway (positions commit in the
//! order they are taken), so many lanes writing at once cost one commit,
//! one write lock and one thread hand-off per batch instead of one each.
//! A batch is written in the order its appends arrived.

use std::collections::VecDeque;
use std::sync::Mutex;

use diesel::prelude::*;
use ngobrol_core::{Placement, PortError};
use tokio::sync::oneshot;

use super::{Key, StoredKey, placement};
use crate::conn::{HistoryLock, WriteTransaction};
use crate::convert::MessageColumns;
use crate::error::Failure;
use crate::open::Pools;
use crate::schema::{conversations, messages};

/// The most appends written in one transaction.
const BATCH: usize = 128;

/// One message to store.
pub(super) struct Job {
    pub(super) columns: MessageColumns,
    pub(super) id: String,
    pub(super) sent_at: i64,
    pub(super) key: Key,
}

struct Append {
    job: Job,
    done: oneshot::Sender<Result<Placement, PortError>>,
}

/// The appends waiting for the next batch, and whether one is being
/// written.
#[derive(Default)]
pub(crate) struct Appends {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Append>,
    writing: bool,
}

impl std::fmt::Debug for Appends {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appends").finish_non_exhaustive()
    }
}

impl Appends {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores `job` with the next batch, and returns its placement.
    pub(super) async fn append(
        self: &std::sync::Arc<Self>,
        pools: &Pools,
        job: Job,
    ) -> Result<Placement, PortError> {
        let (done, placed) = oneshot::channel();
        let start = {
            let mut state = self.state();
            state.waiting.push_back(Append { job, done });
            !std::mem::replace(&mut state.writing, true)
        };
        if start {
            let (appends, pools) = (self.clone(), pools.clone());
            tokio::task::spawn_blocking(move || appends.write(&pools));
        }
        placed
            .await
            .map_err(|_| PortError::Unavailable("the history's writer stopped".into()))?
    }

    /// Writes batches until none is waiting.
    fn write(&self, pools: &Pools) {
        loop {
            let batch: Vec<Append> = {
                let mut state = self.state();
                if state.waiting.is_empty() {
                    state.writing = false;
                    return;
                }
                let n = state.waiting.len().min(BATCH);
                state.waiting.drain(..n).collect()
            };
            let jobs: Vec<&Job> = batch.iter().map(|a| &a.job).collect();
            // A panic fails its batch only: the writer goes on with the next.
            let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                write_batch(pools, &jobs)
            }))
            .unwrap_or_else(|_| Err(Failure::Corrupt("the history's writer failed".into())));
            match written {
                Ok(placed) => {
                    for (append, placed) in batch.into_iter().zip(placed) {
                        let _ = append.done.send(placed.map_err(PortError::from));
                    }
                }
                Err(failure) => {
                    let error = PortError::from(failure);
                    for append in batch {
                        let _ = append.done.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}

/// One transaction holding the history's turn, one savepoint per job.
fn write_batch(pools: &Pools, jobs: &[&Job]) -> Result<Vec<Result<Placement, Failure>>, Failure> {
    macro_rules! batch {
        ($pool:expr) => {{
            let mut pooled = $pool.get().map_err(|e| Failure::Pool(e.to_string()))?;
            let conn = &mut *pooled;
            conn.write_transaction(|conn| {
                conn.lock_history()?;
                Ok(jobs
                    .iter()
                    .map(|job| conn.transaction(|conn| append_row!(conn, *job)))
                    .collect())
            })
        }};
    }
    match pools {
        Pools::Sqlite(pool) => batch!(pool),
        Pools::Postgres(pool) => batch!(pool),
    }
}
