//! Shared helpers of the benchmarks: fast fixtures in a SQLite store,
//! latency summaries, and the broker names and clean-up every run needs.
//!
//! The criterion benchmarks (`micro/`) and the load tool
//! (`src/bin/ngobrol-load`) both need a store holding many users. Going
//! through the repositories (or the protocol) would hash a password per
//! user and commit a transaction per row; the fixtures here write rows
//! straight into the tables instead, in one transaction, so 100,000 users
//! take well under a second.

use std::hash::BuildHasher;
use std::time::{SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use ngobrol_core::{Token, TokenHash};

/// A PHC string that looks like a password hash to the store but was never
/// computed: for users that never log in, where hashing 100,000 real
/// passwords would only cost time.
pub const FAKE_PASSWORD_HASH: &str =
    "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0$ZmFrZWZha2VmYWtlZmFrZWZha2VmYWtlZmFrZWZha2U";

/// The name of fixture user number `i`: `u000000`, `u000001`, … Fixed
/// width, so names sort as their numbers do, and short, as real ones are.
pub fn user_name(i: usize) -> String {
    format!("u{i:06}")
}

/// A namespace no one else uses: `bench` and 16 random hex digits.
pub fn random_namespace() -> String {
    let random = std::collections::hash_map::RandomState::new().hash_one((
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    ));
    format!("bench{random:016x}")
}

/// Milliseconds since the epoch, as the store keeps times.
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Writes fixture rows straight into the tables of a store that
/// `ngobrol_store::Store::open` has created (and so migrated).
///
/// It knows the column names of the migrations in `ngobrol-store`; the
/// values it writes are our own names and numbers, never outside input,
/// so they are spelled into the SQL text (quoted) rather than bound, which
/// lets one statement carry hundreds of rows.
pub struct Fixture {
    conn: SqliteConnection,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").finish_non_exhaustive()
    }
}

/// A group to write: its id, name, and members (the first is the admin).
#[derive(Clone, Debug)]
pub struct FixtureGroup {
    pub id: i64,
    pub name: String,
    pub members: Vec<String>,
}

impl Fixture {
    /// Opens the SQLite file at `path` for bulk writes.
    pub fn open(path: &str) -> anyhow::Result<Self> {
        let mut conn = SqliteConnection::establish(path)?;
        // The store's own settings, minus foreign keys: fixtures are written
        // parents first anyway, and checking each row costs time.
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")?;
        Ok(Self { conn })
    }

    /// Runs `work` in one transaction: one commit for the whole fixture.
    pub fn transaction(
        &mut self,
        work: impl FnOnce(&mut Self) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.conn.batch_execute("BEGIN IMMEDIATE")?;
        match work(self) {
            Ok(()) => {
                self.conn.batch_execute("COMMIT")?;
                Ok(())
            }
            Err(e) => {
                let _ = self.conn.batch_execute("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Inserts `rows` (each a parenthesized tuple of SQL literals) into
    /// `target` (`table (columns)`), a few hundred rows per statement.
    fn insert(
        &mut self,
        target: &str,
        rows: impl IntoIterator<Item = String>,
    ) -> anyhow::Result<usize> {
        let mut count = 0;
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<String> = rows.by_ref().take(500).collect();
            count += chunk.len();
            let sql = format!("INSERT INTO {target} VALUES {};", chunk.join(","));
            self.conn.batch_execute(&sql)?;
        }
        Ok(count)
    }

    /// Users `user_name(i)` for `i` in `range`, all with `password_hash`.
    pub fn users(
        &mut self,
        range: std::ops::Range<usize>,
        password_hash: &str,
    ) -> anyhow::Result<usize> {
        let (hash, now) = (quote(password_hash), now_millis());
        self.insert(
            "users (username, password_hash, created_at)",
            range.map(|i| format!("({},{hash},{now})", quote(&user_name(i)))),
        )
    }

    /// Makes each pair friends of each other (both directions, as the
    /// store keeps a friendship).
    pub fn friendships(&mut self, pairs: &[(String, String)]) -> anyhow::Result<usize> {
        let now = now_millis();
        self.insert(
            "friendships (username, friend, created_at)",
            pairs.iter().flat_map(|(a, b)| {
                let (a, b) = (quote(a), quote(b));
                [format!("({a},{b},{now})"), format!("({b},{a},{now})")]
            }),
        )
    }

    /// Groups with their members; the first member is the admin.
    pub fn groups(&mut self, groups: &[FixtureGroup]) -> anyhow::Result<usize> {
        let now = now_millis();
        self.insert(
            "chat_groups (id, name, admin, created_at)",
            groups.iter().map(|g| {
                let admin = g.members.first().map(String::as_str).unwrap_or("");
                format!("({},{},{},{now})", g.id, quote(&g.name), quote(admin))
            }),
        )?;
        self.insert(
            "memberships (group_id, username)",
            groups.iter().flat_map(|g| {
                g.members
                    .iter()
                    .map(move |m| format!("({},{})", g.id, quote(m)))
            }),
        )
    }

    /// A session for each user, valid for a day; returns the tokens, in
    /// the order of `users`.
    pub fn sessions(&mut self, users: &[String]) -> anyhow::Result<Vec<Token>> {
        let now = now_millis();
        let expires = now + 24 * 60 * 60 * 1000;
        let tokens = users
            .iter()
            .map(|_| Token::generate().map_err(|e| anyhow::anyhow!("{e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let hashes: Vec<TokenHash> = tokens.iter().map(Token::hash).collect();
        self.insert(
            "sessions (token_hash, username, issued_at, expires_at)",
            users.iter().zip(&hashes).map(|(user, hash)| {
                format!("({},{},{now},{expires})", quote(hash.as_str()), quote(user))
            }),
        )?;
        Ok(tokens)
    }
}

/// `text` as a SQL string literal.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Percentiles of a set of latency samples, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub count: usize,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Summary {
    /// Summarizes `samples` (sorting them). `None` when there are none.
    pub fn of(samples: &mut [u64]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        // Nearest rank: the smallest sample with at least p of them at or
        // below it.
        let rank = |p: f64| {
            let index = (p * samples.len() as f64).ceil() as usize;
            samples[index.clamp(1, samples.len()) - 1]
        };
        Some(Self {
            count: samples.len(),
            p50: rank(0.50),
            p90: rank(0.90),
            p99: rank(0.99),
            max: samples[samples.len() - 1],
        })
    }
}

/// Milliseconds, for reports.
pub fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}
