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
//!
//! With the cargo feature `fixtures`, [`fixtures`] writes many rows at once
//! (users, sessions, friendships, groups) in one transaction, for
//! benchmarks and load tests that need a large store quickly.

#![warn(missing_docs)]

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// `with_conn!` is defined in `conn`, which comes first so that the
// repository modules after it can use the macro.
#[macro_use]
mod conn;
mod activity;
mod consent;
mod convert;
mod error;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod friends;
mod groups;
mod history;
mod import;
mod lock;
mod open;
mod operator;
mod request_log;
mod schema;
mod turns;
mod users;

pub use error::StoreError;
pub use import::GroupImport;
pub use lock::StoreLock;
pub use open::{Backend, Store, StoreOptions};
pub use operator::{GroupSummary, StoreStats, UserSummary};
