//! What can fail: opening the store ([`StoreError`], public), and one
//! repository call ([`Failure`], turned into the ports' `PortError`).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use ngobrol_core::PortError;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be reached, or refused the connection (with
    /// libpq's or SQLite's reason).
    #[error("cannot connect to the database: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// The database's schema could not be brought up to date (or, on
    /// SQLite, a connection's settings could not be applied).
    #[error("cannot apply the database migrations: {0}")]
    Migrate(String),
    /// The connection pool could not open its connections within
    /// [`StoreOptions::connection_timeout`](crate::StoreOptions::connection_timeout).
    #[error("cannot build the connection pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    /// The URL's scheme names a database the store does not run on: only
    /// PostgreSQL and SQLite are supported.
    #[error(
        "unsupported database URL scheme {0:?}: use postgres://… or a SQLite file path \
         (optionally written sqlite://path)"
    )]
    UnsupportedScheme(String),
    /// Another process has the store in a way that excludes this use: a
    /// server serves it (for a job that needs it alone), or such a job
    /// runs (for a server).
    #[error("the store is in use by another process")]
    InUse,
    /// The hold on the store could not be taken for another reason: the
    /// SQLite file could not be opened (it must exist) or locked, or
    /// PostgreSQL's lock query failed.
    #[error("cannot lock the store: {0}")]
    Lock(String),
}

/// Failures inside one blocking repository call.
#[derive(Debug)]
pub(crate) enum Failure {
    Db(DieselError),
    Pool(String),
    Corrupt(String),
    /// What the port calls a conflict, found by the store's own check.
    Conflict,
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
            Failure::Conflict => PortError::Conflict,
        }
    }
}
