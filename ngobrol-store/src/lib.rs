//! The repositories of `ngobrol-core`, implemented with Diesel.
//!
//! [`Store`] implements every repository port on one of two backends,
//! chosen from the database URL:
//!
//! - **SQLite** (the default): a file, with SQLite compiled in, so nothing
//!   needs installing. Write-ahead logging and a busy timeout let several
//!   connections share it; one server process owns the file.
//! - **PostgreSQL** (`postgres://…`): for several server processes sharing
//!   one store. libpq is compiled in as well.
//!
//! Migrations for both are embedded in the binary and run on connect.
//! Diesel is synchronous, so every call runs on tokio's blocking pool with
//! a connection from an r2d2 pool, never on the async workers. The
//! uniqueness rules the ports promise (one user per name, one friendship
//! per pair, one membership per group and user) are primary keys, so they
//! hold under any concurrency.

mod schema;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use diesel::connection::SimpleConnection;
use diesel::dsl::exists;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ngobrol_core::{
    FriendRepository, GroupId, GroupName, GroupRecord, GroupRepository, PortError, RequestKey,
    RequestLog, SessionRecord, SessionRepository, TokenHash, UserRecord, UserRepository, Username,
};

use schema::{chat_groups, friendships, memberships, request_log, sessions, users};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("cannot apply the database migrations: {0}")]
    Migrate(String),
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error(
        "unsupported database URL scheme {0:?}: use postgres://… or a SQLite file path \
         (optionally written sqlite://path)"
    )]
    UnsupportedScheme(String),
}

/// Which database a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
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

enum Pools {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<ConnectionManager<PgConnection>>),
}

/// Every repository port of `ngobrol-core`, on SQLite or PostgreSQL.
pub struct Store {
    pools: Pools,
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
        let pools = match scheme(url) {
            Some("postgres" | "postgresql") => {
                // Connect once by hand first: the pool would report a
                // failure only as a time-out, losing libpq's reason.
                let mut conn = PgConnection::establish(url)?;
                conn.run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                let pool = Pool::builder()
                    .max_size(options.max_connections)
                    .connection_timeout(options.connection_timeout)
                    // A broken connection fails its query and is replaced;
                    // a `SELECT 1` before every use would cost more.
                    .test_on_check_out(false)
                    .build(ConnectionManager::new(url))?;
                Pools::Postgres(pool)
            }
            Some("sqlite") | None => {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                let mut conn = SqliteConnection::establish(path)?;
                SqlitePragmas
                    .on_acquire(&mut conn)
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                let pool = Pool::builder()
                    .max_size(options.max_connections)
                    .connection_timeout(options.connection_timeout)
                    // A broken connection fails its query and is replaced;
                    // a `SELECT 1` before every use would cost more.
                    .test_on_check_out(false)
                    .connection_customizer(Box::new(SqlitePragmas))
                    .build(ConnectionManager::new(path))?;
                Pools::Sqlite(pool)
            }
            Some(other) => return Err(StoreError::UnsupportedScheme(other.to_owned())),
        };
        Ok(Self { pools })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }
}

fn scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

/// Settings every SQLite connection gets: write-ahead logging so readers
/// do not block the writer, a busy timeout so writers queue instead of
/// failing, and foreign keys, which SQLite leaves off by default.
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Failures inside one blocking repository call.
#[derive(Debug)]
enum Failure {
    Db(DieselError),
    Pool(String),
    Corrupt(String),
}

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Failure::Db(error)
    }
}

impl From<Failure> for PortError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Db(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                PortError::Conflict
            }
            Failure::Db(e) => PortError::Unavailable(format!("database error: {e}")),
            Failure::Pool(e) => PortError::Unavailable(format!("no database connection: {e}")),
            Failure::Corrupt(e) => PortError::Unavailable(format!("unreadable stored data: {e}")),
        }
    }
}

/// A transaction for work that writes. SQLite's must take the write lock
/// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
/// writes can fail at once with "database is locked" when another writer
/// got there first, whatever the busy timeout.
trait WriteTransaction: Connection {
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

async fn blocking<T: Send + 'static>(
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
            Pools::Sqlite(pool) => {
                let pool = pool.clone();
                blocking(move || {
                    let mut pooled = pool.get().map_err(|e| Failure::Pool(e.to_string()))?;
                    let $conn = &mut *pooled;
                    $body
                })
                .await
            }
            Pools::Postgres(pool) => {
                let pool = pool.clone();
                blocking(move || {
                    let mut pooled = pool.get().map_err(|e| Failure::Pool(e.to_string()))?;
                    let $conn = &mut *pooled;
                    $body
                })
                .await
            }
        }
    };
}

fn to_millis(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn from_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

fn username(stored: String) -> Result<Username, Failure> {
    Username::parse(stored).map_err(|e| Failure::Corrupt(e.to_string()))
}

fn group_record((id, name, admin): (i64, String, String)) -> Result<GroupRecord, Failure> {
    Ok(GroupRecord {
        id: GroupId::new(id),
        name: GroupName::parse(name).map_err(|e| Failure::Corrupt(e.to_string()))?,
        admin: username(admin)?,
    })
}

#[async_trait]
impl UserRepository for Store {
    async fn insert_user(&self, user: &UserRecord) -> Result<(), PortError> {
        let row = (
            users::username.eq(user.username.as_str().to_owned()),
            users::password_hash.eq(user.password_hash.clone()),
            users::created_at.eq(to_millis(user.created_at)),
        );
        with_conn!(self, |conn| {
            diesel::insert_into(users::table)
                .values(row)
                .execute(conn)?;
            Ok(())
        })
    }

    // Primary-key look-ups use `get_result`, not `first`: `first` binds a
    // `LIMIT ?`, which makes the bundled SQLite re-plan the statement on
    // every call (twice the time, measured in docs/performance.md).
    async fn find_user(&self, name: &Username) -> Result<Option<UserRecord>, PortError> {
        let name = name.as_str().to_owned();
        with_conn!(self, |conn| {
            let row = users::table
                .find(name)
                .select((users::username, users::password_hash, users::created_at))
                .get_result::<(String, String, i64)>(conn)
                .optional()?;
            row.map(|(username_, password_hash, created_at)| {
                Ok(UserRecord {
                    username: username(username_)?,
                    password_hash,
                    created_at: from_millis(created_at),
                })
            })
            .transpose()
        })
    }
}

#[async_trait]
impl SessionRepository for Store {
    async fn replace_sessions(&self, session: &SessionRecord) -> Result<(), PortError> {
        let name = session.username.as_str().to_owned();
        let row = (
            sessions::token_hash.eq(session.token_hash.as_str().to_owned()),
            sessions::username.eq(name.clone()),
            sessions::issued_at.eq(to_millis(session.issued_at)),
            sessions::expires_at.eq(to_millis(session.expires_at)),
        );
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                diesel::delete(sessions::table.filter(sessions::username.eq(name)))
                    .execute(conn)?;
                diesel::insert_into(sessions::table)
                    .values(row)
                    .execute(conn)?;
                Ok(())
            })
        })
    }

    async fn find_session(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, PortError> {
        let hash = hash.as_str().to_owned();
        with_conn!(self, |conn| {
            let row = sessions::table
                .find(hash)
                .select((
                    sessions::token_hash,
                    sessions::username,
                    sessions::issued_at,
                    sessions::expires_at,
                ))
                .get_result::<(String, String, i64, i64)>(conn)
                .optional()?;
            row.map(|(token_hash, name, issued_at, expires_at)| {
                Ok(SessionRecord {
                    token_hash: TokenHash::from_stored(token_hash),
                    username: username(name)?,
                    issued_at: from_millis(issued_at),
                    expires_at: from_millis(expires_at),
                })
            })
            .transpose()
        })
    }
    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, PortError> {
        let hash = hash.as_str().to_owned();
        with_conn!(self, |conn| {
            let deleted = diesel::delete(sessions::table.find(hash)).execute(conn)?;
            Ok(deleted > 0)
        })
    }
}

#[async_trait]
impl FriendRepository for Store {
    async fn add_friendship(&self, a: &Username, b: &Username) -> Result<(), PortError> {
        let (a, b) = (a.as_str().to_owned(), b.as_str().to_owned());
        let now = to_millis(SystemTime::now());
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                diesel::insert_into(friendships::table)
                    .values(&vec![
                        (
                            friendships::username.eq(a.clone()),
                            friendships::friend.eq(b.clone()),
                            friendships::created_at.eq(now),
                        ),
                        (
                            friendships::username.eq(b),
                            friendships::friend.eq(a),
                            friendships::created_at.eq(now),
                        ),
                    ])
                    .execute(conn)?;
                Ok(())
            })
        })
    }

    async fn are_friends(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let (a, b) = (a.as_str().to_owned(), b.as_str().to_owned());
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(
                friendships::table
                    .filter(friendships::username.eq(a))
                    .filter(friendships::friend.eq(b)),
            ))
            .get_result::<bool>(conn)?)
        })
    }

    async fn friends_of(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            friendships::table
                .filter(friendships::username.eq(name))
                .select(friendships::friend)
                .order(friendships::friend.asc())
                .load::<String>(conn)?
                .into_iter()
                .map(username)
                .collect()
        })
    }
}

#[async_trait]
impl GroupRepository for Store {
    async fn create_group(
        &self,
        name: &GroupName,
        admin: &Username,
        created_at: SystemTime,
    ) -> Result<GroupRecord, PortError> {
        let record = (name.clone(), admin.clone());
        let row = (
            chat_groups::name.eq(name.as_str().to_owned()),
            chat_groups::admin.eq(admin.as_str().to_owned()),
            chat_groups::created_at.eq(to_millis(created_at)),
        );
        let admin = admin.as_str().to_owned();
        let id = with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let id = diesel::insert_into(chat_groups::table)
                    .values(row)
                    .returning(chat_groups::id)
                    .get_result::<i64>(conn)?;
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::group_id.eq(id),
                        memberships::username.eq(admin),
                    ))
                    .execute(conn)?;
                Ok(id)
            })
        })?;
        Ok(GroupRecord {
            id: GroupId::new(id),
            name: record.0,
            admin: record.1,
        })
    }

    async fn find_group(&self, id: GroupId) -> Result<Option<GroupRecord>, PortError> {
        with_conn!(self, |conn| {
            chat_groups::table
                .find(id.get())
                .select((chat_groups::id, chat_groups::name, chat_groups::admin))
                .get_result::<(i64, String, String)>(conn)
                .optional()?
                .map(group_record)
                .transpose()
        })
    }

    async fn add_member(&self, id: GroupId, user: &Username) -> Result<(), PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            diesel::insert_into(memberships::table)
                .values((
                    memberships::group_id.eq(id.get()),
                    memberships::username.eq(name),
                ))
                .execute(conn)?;
            Ok(())
        })
    }

    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let removed = diesel::delete(
                memberships::table
                    .filter(memberships::group_id.eq(id.get()))
                    .filter(memberships::username.eq(name)),
            )
            .execute(conn)?;
            Ok(removed > 0)
        })
    }

    async fn is_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(
                memberships::table
                    .filter(memberships::group_id.eq(id.get()))
                    .filter(memberships::username.eq(name)),
            ))
            .get_result::<bool>(conn)?)
        })
    }

    async fn count_members(&self, id: GroupId) -> Result<u64, PortError> {
        with_conn!(self, |conn| {
            let count = memberships::table
                .filter(memberships::group_id.eq(id.get()))
                .count()
                .get_result::<i64>(conn)?;
            Ok(count.unsigned_abs())
        })
    }

    async fn count_groups_of(&self, user: &Username) -> Result<u64, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let count = memberships::table
                .filter(memberships::username.eq(name))
                .count()
                .get_result::<i64>(conn)?;
            Ok(count.unsigned_abs())
        })
    }

    async fn groups_of(&self, user: &Username) -> Result<Vec<GroupRecord>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            memberships::table
                .inner_join(chat_groups::table)
                .filter(memberships::username.eq(name))
                .select((chat_groups::id, chat_groups::name, chat_groups::admin))
                .order(chat_groups::id.asc())
                .load::<(i64, String, String)>(conn)?
                .into_iter()
                .map(group_record)
                .collect()
        })
    }

    async fn all_memberships(&self) -> Result<Vec<(GroupId, Vec<Username>)>, PortError> {
        with_conn!(self, |conn| {
            let groups = chat_groups::table
                .select(chat_groups::id)
                .order(chat_groups::id.asc())
                .load::<i64>(conn)?;
            let members = memberships::table
                .select((memberships::group_id, memberships::username))
                .order((memberships::group_id.asc(), memberships::username.asc()))
                .load::<(i64, String)>(conn)?;
            let mut members = members.into_iter().peekable();
            let mut result = Vec::with_capacity(groups.len());
            for group in groups {
                let mut names = Vec::new();
                while let Some((_, name)) = members.next_if(|(g, _)| *g == group) {
                    names.push(username(name)?);
                }
                result.push((GroupId::new(group), names));
            }
            Ok(result)
        })
    }
}

#[async_trait]
impl RequestLog for Store {
    async fn find_reply(&self, key: &RequestKey) -> Result<Option<Vec<u8>>, PortError> {
        let (user, id) = (key.user.clone(), key.request_id.clone());
        with_conn!(self, |conn| {
            Ok(request_log::table
                .find((user, id))
                .select(request_log::reply)
                .get_result::<Vec<u8>>(conn)
                .optional()?)
        })
    }

    async fn record_reply(
        &self,
        key: &RequestKey,
        reply: &[u8],
        at: SystemTime,
    ) -> Result<(), PortError> {
        let row = (
            request_log::username.eq(key.user.clone()),
            request_log::request_id.eq(key.request_id.clone()),
            request_log::reply.eq(reply.to_vec()),
            request_log::created_at.eq(to_millis(at)),
        );
        with_conn!(self, |conn| {
            diesel::insert_into(request_log::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(())
        })
    }

    async fn prune(&self, before: SystemTime, keep: u64) -> Result<u64, PortError> {
        let before = to_millis(before);
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        with_conn!(self, |conn| {
            let mut removed =
                diesel::delete(request_log::table.filter(request_log::created_at.lt(before)))
                    .execute(conn)?;
            // Past the size bound, keep only the newest `keep`: find the
            // creation time of the oldest one kept and drop what is older.
            let cutoff = request_log::table
                .select(request_log::created_at)
                .order(request_log::created_at.desc())
                .offset(keep.saturating_sub(1))
                .first::<i64>(conn)
                .optional()?;
            if let Some(cutoff) = cutoff {
                removed +=
                    diesel::delete(request_log::table.filter(request_log::created_at.lt(cutoff)))
                        .execute(conn)?;
            }
            Ok(removed as u64)
        })
    }
}
