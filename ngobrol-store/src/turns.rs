//! Turns at shards ([`ShardTurns`]), for every server of the store.
//!
//! On PostgreSQL a turn is a session-level advisory lock, held by a
//! connection of the holder's own: the database ends it when that
//! connection goes, with its process or not. On SQLite it is a `flock` on
//! a file of its own beside the database (`<db>-turns/`), open in the
//! holder: the kernel ends it when the file is closed, at the latest when
//! the process ends. Either kind excludes every other holder, in another
//! process or in the same one.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Text};
use ngobrol_core::{PortError, ShardTurns, TurnHolder};

use crate::open::{Location, Store};

#[async_trait]
impl ShardTurns for Store {
    async fn turn_holder(&self, scope: &str) -> Result<Box<dyn TurnHolder>, PortError> {
        let (url, scope) = (self.url.clone(), scope.to_owned());
        blocking(move || match Location::of(&url).map_err(unavailable)? {
            Location::Postgres(url) => {
                let conn = PgConnection::establish(url).map_err(unavailable)?;
                Ok(Box::new(PgHolder {
                    conn: Arc::new(Mutex::new(conn)),
                    held: Arc::default(),
                    scope,
                }) as Box<dyn TurnHolder>)
            }
            Location::Sqlite(path) => {
                let dir = PathBuf::from(format!("{path}-turns"));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| unavailable(format!("{}: {e}", dir.display())))?;
                Ok(Box::new(FileHolder {
                    dir,
                    scope: fnv1a(&scope),
                    held: Arc::default(),
                }) as Box<dyn TurnHolder>)
            }
        })
        .await
    }
}

/// Runs blocking work off the async workers.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, PortError> + Send + 'static,
) -> Result<T, PortError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| PortError::Unavailable(format!("store task failed: {e}")))?
}

fn unavailable(e: impl std::fmt::Display) -> PortError {
    PortError::Unavailable(format!("turns at shards: {e}"))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A scope as a file name: FNV-1a of it, in hex.
fn fnv1a(scope: &str) -> String {
    let hash = scope.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// A holder on PostgreSQL: advisory locks keyed by the schema and scope,
/// and the shard. What it holds is counted here, so that taking a turn
/// twice does not stack PostgreSQL's lock (which would then need giving
/// back twice).
struct PgHolder {
    conn: Arc<Mutex<PgConnection>>,
    held: Arc<Mutex<HashSet<u16>>>,
    scope: String,
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

impl PgHolder {
    /// Runs `function(key, shard)` on the holder's connection.
    async fn call(&self, function: &'static str, shard: u16) -> Result<bool, PortError> {
        let (conn, scope) = (self.conn.clone(), self.scope.clone());
        blocking(move || {
            let sql =
                format!("SELECT {function}(hashtext(current_schema() || '/' || $1), $2) AS locked");
            diesel::sql_query(sql)
                .bind::<Text, _>(scope)
                .bind::<Integer, _>(i32::from(shard))
                .get_result::<Locked>(&mut *lock(&conn))
                .map(|l| l.locked)
                .map_err(unavailable)
        })
        .await
    }
}

#[async_trait]
impl TurnHolder for PgHolder {
    async fn try_take(&self, shard: u16) -> Result<bool, PortError> {
        if lock(&self.held).contains(&shard) {
            return Ok(true);
        }
        let taken = self.call("pg_try_advisory_lock", shard).await?;
        if taken {
            lock(&self.held).insert(shard);
        }
        Ok(taken)
    }

    async fn give_back(&self, shard: u16) -> Result<(), PortError> {
        if lock(&self.held).remove(&shard) {
            self.call("pg_advisory_unlock", shard).await?;
        }
        Ok(())
    }

    async fn check(&self) -> Result<(), PortError> {
        let conn = self.conn.clone();
        blocking(move || {
            diesel::sql_query("SELECT 1")
                .execute(&mut *lock(&conn))
                .map(drop)
                .map_err(unavailable)
        })
        .await
    }
}

impl Drop for PgHolder {
    fn drop(&mut self) {
        // Closing the connection ends its locks too, but the database
        // notices a moment later; this frees them before the next holder
        // asks.
        if !lock(&self.held).is_empty() {
            let _ = diesel::sql_query("SELECT pg_advisory_unlock_all()")
                .execute(&mut *lock(&self.conn));
        }
    }
}

/// A holder on SQLite: a locked file per turn held.
struct FileHolder {
    dir: PathBuf,
    /// The scope, as a file name prefix.
    scope: String,
    held: Arc<Mutex<HashMap<u16, std::fs::File>>>,
}

#[async_trait]
impl TurnHolder for FileHolder {
    async fn try_take(&self, shard: u16) -> Result<bool, PortError> {
        if lock(&self.held).contains_key(&shard) {
            return Ok(true);
        }
        let path = self.dir.join(format!("{}-{shard}", self.scope));
        let held = self.held.clone();
        blocking(move || {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| unavailable(format!("{}: {e}", path.display())))?;
            match file.try_lock() {
                Ok(()) => {
                    lock(&held).insert(shard, file);
                    Ok(true)
                }
                Err(std::fs::TryLockError::WouldBlock) => Ok(false),
                Err(std::fs::TryLockError::Error(e)) => {
                    Err(unavailable(format!("{}: {e}", path.display())))
                }
            }
        })
        .await
    }

    async fn give_back(&self, shard: u16) -> Result<(), PortError> {
        // Closing the file lets go of its lock.
        drop(lock(&self.held).remove(&shard));
        Ok(())
    }

    async fn check(&self) -> Result<(), PortError> {
        Ok(())
    }
}
