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
