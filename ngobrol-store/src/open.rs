//! Opening a [`Store`]: the backend chosen from the URL, migrations, the
//! connection pools and the settings of every SQLite connection.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{Builder, ConnectionManager, CustomizeConnection, ManageConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::StoreError;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file, embedded in the process: the default.
    Sqlite,
    /// A PostgreSQL database, which several servers may share.
    Postgres,
}

/// How a [`Store`] connects.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// The most connections the pool holds.
    pub max_connections: u32,
    /// How long a repository call waits for a free connection.
    pub connection_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            connection_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// Every repository port of `ngobrol-core`, on SQLite or PostgreSQL.
pub struct Store {
    pub(crate) pools: Pools,
    /// The URL it was opened with, for connections of its own (turns).
    pub(crate) url: String,
    /// The history's appends, written in batches.
    pub(crate) appends: std::sync::Arc<crate::history::Appends>,
    /// SQLite's: checkpoints the write-ahead log until the store goes.
    _checkpointer: Option<Checkpointer>,
}

/// Checkpoints a SQLite store's write-ahead log every
/// [`CHECKPOINT_EVERY`] on a thread of its own, passively (writers go on
/// meanwhile), so that no commit has to. Dropping it stops the thread
/// and waits for it, so a dropped [`Store`] holds no connection.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// How often the write-ahead log is checkpointed.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl Checkpointer {
    fn start(pool: Pool<ConnectionManager<SqliteConnection>>) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let started = std::thread::Builder::new()
            .name("ngobrol-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    let checkpointed = pool.get().map_err(|e| e.to_string()).and_then(|mut c| {
                        c.batch_execute("PRAGMA wal_checkpoint(PASSIVE);")
                            .map_err(|e| e.to_string())
                    });
                    if let Err(e) = checkpointed {
                        tracing::debug!("cannot checkpoint the write-ahead log: {e}");
                    }
                }
            });
        let thread = started
            .map_err(|e| {
                tracing::warn!(
                    "cannot start the checkpointing thread ({e}); the write-ahead log grows until the store closes"
                )
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store at `url`, creating and migrating it as needed.
    ///
    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything
    /// without a scheme is a SQLite file path (created if absent), which
    /// may also be written `sqlite://path`. This blocks while it connects
    /// and migrates; call it at start-up (or through `spawn_blocking`).
    pub fn open(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let mut checkpointer = None;
        let pools = match Location::of(url)? {
            Location::Postgres(url) => {
                // Connect once by hand first: the pool would report a
                // failure only as a time-out, losing libpq's reason.
                let _migrated = migrated_postgres(url)?;
                Pools::Postgres(pool_builder(options).build(ConnectionManager::new(url))?)
            }
            Location::Sqlite(path) => {
                let _migrated = migrated_sqlite(path)?;
                let pool = pool_builder(options)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::new(path))?;
                checkpointer = Some(Checkpointer::start(pool.clone()));
                Pools::Sqlite(pool)
            }
        };
        Ok(Self {
            pools,
            url: url.to_owned(),
            appends: Default::default(),
            _checkpointer: checkpointer,
        })
    }

    /// The database it runs on, as its URL chose.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }
}

/// The database a URL names, by its scheme.
pub(crate) enum Location<'a> {
    /// A `postgres://` or `postgresql://` URL, whole.
    Postgres(&'a str),
    /// A SQLite file path, without any `sqlite://`.
    Sqlite(&'a str),
}

impl<'a> Location<'a> {
    pub(crate) fn of(url: &'a str) -> Result<Self, StoreError> {
        match scheme(url) {
            Some("postgres" | "postgresql") => Ok(Location::Postgres(url)),
            Some("sqlite") | None => Ok(Location::Sqlite(
                url.strip_prefix("sqlite://").unwrap_or(url),
            )),
            Some(other) => Err(StoreError::UnsupportedScheme(other.to_owned())),
        }
    }
}

/// A pool builder with `options`.
fn pool_builder<M: ManageConnection>(options: &StoreOptions) -> Builder<M> {
    Pool::builder()
        .max_size(options.max_connections)
        .connection_timeout(options.connection_timeout)
        // A broken connection fails its query and is replaced; a
        // `SELECT 1` before every use would cost more.
        .test_on_check_out(false)
}

fn scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

/// A connection to the PostgreSQL database at `url`, with every migration
/// applied.
pub(crate) fn migrated_postgres(url: &str) -> Result<PgConnection, StoreError> {
    let mut conn = PgConnection::establish(url)?;
    // Servers started together on a new database take turns: the second
    // finds the migrations done instead of failing to apply them twice.
    let lock = |conn: &mut PgConnection, sql: &str| {
        diesel::sql_query(sql)
            .execute(conn)
            .map_err(|e| StoreError::Migrate(e.to_string()))
    };
    lock(
        &mut conn,
        &format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"),
    )?;
    let migrated = conn
        .run_pending_migrations(POSTGRES_MIGRATIONS)
        .map(drop)
        .map_err(|e| StoreError::Migrate(e.to_string()));
    lock(
        &mut conn,
        &format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"),
    )?;
    migrated?;
    Ok(conn)
}

/// The PostgreSQL advisory lock that migrations take.
const MIGRATION_LOCK: i64 = 0x6e67_6f62_726f_6c01;

/// A connection to the SQLite file at `path` (created if absent), with the
/// settings of [`SqlitePragmas`] and every migration applied.
pub(crate) fn migrated_sqlite(path: &str) -> Result<SqliteConnection, StoreError> {
    let mut conn = SqliteConnection::establish(path)?;
    SqlitePragmas
        .on_acquire(&mut conn)
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(conn)
}

/// Settings every SQLite connection gets: write-ahead logging so readers
/// do not block the writer, a busy timeout so writers queue instead of
/// failing (set first: switching the journal mode waits for a lock too,
/// such as the one the last connection of another process takes to
/// checkpoint as it closes), and foreign keys, which SQLite leaves off by default. The
/// write-ahead log is checkpointed by [`Checkpointer`], not by the
/// commit that fills it (which would hold that commit's appends for
/// milliseconds).
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}
