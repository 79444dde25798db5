//! Who uses the store: servers share it, and a job that must have it to
//! itself (importing another deployment) takes it alone, or not at all.
//!
//! A SQLite store is locked with `flock` on its file (SQLite's own locks
//! are `fcntl` locks, which this does not touch); a PostgreSQL store with
//! a session-level advisory lock on its schema, held by a connection of its own for as
//! long as the [`StoreLock`] lives, for every server on the database.

use diesel::prelude::*;
use diesel::sql_types::Bool;

use crate::error::StoreError;
use crate::open::Location;

/// The advisory lock's key on PostgreSQL, in the two-key form (apart from
/// the one-key history lock): the store's schema, so that stores in other
/// schemas of one database are locked apart, and this number.
const USE_LOCK_KEY: i32 = 0x6e67;

/// A hold on the store, shared or alone; released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _held: Held,
}

/// What holds the lock: dropping it lets go.
enum Held {
    File { _file: std::fs::File },
    Postgres { _conn: PgConnection },
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Held::File { .. } => "File",
            Held::Postgres { .. } => "Postgres",
        })
    }
}

#[derive(diesel::QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

impl StoreLock {
    /// A hold shared with every other server of the store at `url`; fails
    /// with [`StoreError::InUse`] while a job has the store alone. The
    /// store must exist (open it first).
    pub fn shared(url: &str) -> Result<Self, StoreError> {
        Self::take(url, false)
    }

    /// The store at `url` alone; fails with [`StoreError::InUse`] while any
    /// server (or another job) holds it.
    pub fn exclusive(url: &str) -> Result<Self, StoreError> {
        Self::take(url, true)
    }

    fn take(url: &str, alone: bool) -> Result<Self, StoreError> {
        let held = match Location::of(url)? {
            Location::Sqlite(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| StoreError::Lock(format!("{path}: {e}")))?;
                let taken = if alone {
                    file.try_lock()
                } else {
                    file.try_lock_shared()
                };
                match taken {
                    Ok(()) => Held::File { _file: file },
                    Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::InUse),
                    Err(std::fs::TryLockError::Error(e)) => {
                        return Err(StoreError::Lock(format!("{path}: {e}")));
                    }
                }
            }
            Location::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                let function = if alone {
                    "pg_try_advisory_lock"
                } else {
                    "pg_try_advisory_lock_shared"
                };
                let locked = diesel::sql_query(format!(
                    "SELECT {function}(hashtext(current_schema()), {USE_LOCK_KEY}) AS locked"
                ))
                .get_result::<Locked>(&mut conn)
                .map_err(|e| StoreError::Lock(e.to_string()))?;
                if !locked.locked {
                    return Err(StoreError::InUse);
                }
                Held::Postgres { _conn: conn }
            }
        };
        Ok(Self { _held: held })
    }
}
