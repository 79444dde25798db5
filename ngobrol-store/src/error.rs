//! What can fail: opening the store ([`StoreError`], public), and one
//! repository call ([`Failure`], turned into the ports' `PortError`).

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use ngobrol_core::PortError;

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
    /// Another process has the store in a way that excludes this use: a
    /// server serves it (for a job that needs it alone), or such a job
    /// runs (for a server).
    #[error("the store is in use by another process")]
    InUse,
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
