//! Running repository work: on the blocking pool, with a pooled
//! connection of either backend, in a write transaction where it writes.

use diesel::prelude::*;
use ngobrol_core::PortError;

use crate::error::Failure;

/// A transaction for work that writes. SQLite's must take the write lock
/// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
/// writes can fail at once with "database is locked" when another writer
/// got there first, whatever the busy timeout.
pub(crate) trait WriteTransaction: Connection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure>;
}

impl WriteTransaction for SqliteConnection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.immediate_transaction(work)
    }
}

impl WriteTransaction for PgConnection {
    fn write_transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.transaction(work)
    }
}

/// A transaction that reads one snapshot: every statement in it sees the
/// database as of its first read (SQLite's deferred transaction in WAL
/// mode; PostgreSQL's REPEATABLE READ, read only).
pub(crate) trait ReadSnapshot: Connection {
    fn read_snapshot<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure>;
}

impl ReadSnapshot for SqliteConnection {
    fn read_snapshot<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.transaction(work)
    }
}

impl ReadSnapshot for PgConnection {
    fn read_snapshot<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        self.build_transaction()
            .repeatable_read()
            .read_only()
            .run(work)
    }
}

/// Appends to the history take turns across the whole store, so that
/// positions commit in the order they are taken: a sync that has seen a
/// position has seen every lower one. SQLite's write transactions take
/// turns already; on PostgreSQL a transaction-scoped advisory lock does it
/// (for every server on the database).
pub(crate) trait HistoryLock: Connection {
    fn lock_history(&mut self) -> Result<(), Failure>;
}

impl HistoryLock for SqliteConnection {
    fn lock_history(&mut self) -> Result<(), Failure> {
        Ok(())
    }
}

/// The advisory lock's key: "ngobrol" in ASCII, as a number.
const HISTORY_LOCK_KEY: i64 = 0x6e_676f_6272_6f6c;

impl HistoryLock for PgConnection {
    fn lock_history(&mut self) -> Result<(), Failure> {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({HISTORY_LOCK_KEY})"))
            .execute(self)?;
        Ok(())
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PortError::Unavailable(format!("store task failed: {e}")))?
        .map_err(PortError::from)
}

/// Runs `$body` on the blocking pool with `$conn` bound to a pooled
/// connection of whichever backend the store has. The body is written once
/// and type-checked against each backend's connection.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            $crate::open::Pools::Sqlite(pool) => {
                let pool = pool.clone();
                $crate::conn::blocking(move || {
                    let mut pooled = pool
                        .get()
                        .map_err(|e| $crate::error::Failure::Pool(e.to_string()))?;
                    let $conn = &mut *pooled;
                    $body
                })
                .await
            }
            $crate::open::Pools::Postgres(pool) => {
                let pool = pool.clone();
                $crate::conn::blocking(move || {
                    let mut pooled = pool
                        .get()
                        .map_err(|e| $crate::error::Failure::Pool(e.to_string()))?;
                    let $conn = &mut *pooled;
                    $body
                })
                .await
            }
        }
    };
}
