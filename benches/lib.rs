//! Shared helpers of the benchmarks: fast fixtures in a store, latency
//! summaries, and the broker names and clean-up every run needs.
//!
//! The criterion benchmarks (`micro/`) and the load tool
//! (`src/bin/ngobrol-load`) both need a store holding many users. Going
//! through the repositories (or the protocol) would hash a password per
//! user and commit a transaction per row; the fixtures here write rows
//! with the store's bulk writer (`ngobrol_store::fixtures`) instead, many
//! rows a statement and one transaction in all, so 100,000 users take
//! well under a second.

use std::hash::BuildHasher;
use std::ops::Range;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ngobrol_core::{
    Conversation, Delivery, GroupId, GroupName, GroupRecord, SessionId, SessionRecord, Token,
    UserRecord, Username,
};
use ngobrol_store::fixtures::{Batch, BulkGroup, BulkWriter};

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

/// Writes fixture rows into a store, in bulk: a thin layer over
/// [`ngobrol_store::fixtures::BulkWriter`] that speaks in the benchmarks'
/// terms (users by number, names as strings).
pub struct Fixture {
    writer: BulkWriter,
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
    /// Opens the store at `path` (a SQLite file, or any URL
    /// `ngobrol_store::Store::open` takes) for bulk writes, creating and
    /// migrating it if needed.
    pub fn open(path: &str) -> anyhow::Result<Self> {
        Ok(Self {
            writer: BulkWriter::open(path)?,
        })
    }

    /// Runs `work` in one transaction: one commit for the whole fixture.
    pub fn transaction(
        &mut self,
        work: impl FnOnce(&mut FixtureBatch<'_, '_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        self.writer
            .transaction(|batch| work(&mut FixtureBatch { batch }))
    }
}

/// The writes of one [`Fixture::transaction`].
pub struct FixtureBatch<'a, 'b> {
    batch: &'a mut Batch<'b>,
}

impl std::fmt::Debug for FixtureBatch<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixtureBatch").finish_non_exhaustive()
    }
}

fn username(name: &str) -> anyhow::Result<Username> {
    Username::parse(name).map_err(|e| anyhow::anyhow!("fixture user {name:?}: {e}"))
}

impl FixtureBatch<'_, '_> {
    /// Users `user_name(i)` for `i` in `range`, all with `password_hash`.
    /// Returns how many.
    pub fn users(&mut self, range: Range<usize>, password_hash: &str) -> anyhow::Result<usize> {
        let created_at = SystemTime::now();
        let records = range
            .map(|i| {
                Ok(UserRecord {
                    username: username(&user_name(i))?,
                    password_hash: password_hash.to_owned(),
                    created_at,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(self.batch.users(&records)?)
    }

    /// Makes each pair friends of each other (both directions, as the
    /// store keeps a friendship). Returns the rows written: two a pair.
    pub fn friendships(&mut self, pairs: &[(String, String)]) -> anyhow::Result<usize> {
        let pairs = pairs
            .iter()
            .map(|(a, b)| Ok((username(a)?, username(b)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(2 * self.batch.friendships(&pairs, SystemTime::now())?)
    }

    /// Groups with their members; the first member is the admin. Returns
    /// the memberships written.
    pub fn groups(&mut self, groups: &[FixtureGroup]) -> anyhow::Result<usize> {
        let groups = groups
            .iter()
            .map(|g| {
                let members = g
                    .members
                    .iter()
                    .map(|m| username(m))
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let admin = members
                    .first()
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("group {} has no members, so no admin", g.id))?;
                let name = GroupName::parse(g.name.as_str())
                    .map_err(|e| anyhow::anyhow!("fixture group {:?}: {e}", g.name))?;
                Ok(BulkGroup {
                    group: GroupRecord {
                        id: GroupId::new(g.id),
                        name,
                        admin,
                    },
                    members,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.batch.groups(&groups, SystemTime::now())?;
        Ok(groups.iter().map(|g| g.members.len()).sum())
    }

    /// Messages appended to their conversations' histories, in order.
    /// Returns how many.
    pub fn messages(&mut self, stored: &[(Conversation, Delivery)]) -> anyhow::Result<usize> {
        Ok(self.batch.messages(stored)?)
    }

    /// A session for each user, valid for a day; returns the tokens, in
    /// the order of `users`.
    pub fn sessions(&mut self, users: &[String]) -> anyhow::Result<Vec<Token>> {
        let issued_at = SystemTime::now();
        let expires_at = issued_at + Duration::from_secs(24 * 60 * 60);
        let tokens = users
            .iter()
            .map(|_| Token::generate().map_err(|e| anyhow::anyhow!("{e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let records = users
            .iter()
            .zip(&tokens)
            .map(|(user, token)| {
                Ok(SessionRecord {
                    id: SessionId::generate().map_err(|e| anyhow::anyhow!("{e}"))?,
                    token_hash: token.hash(),
                    username: username(user)?,
                    device: None,
                    issued_at,
                    expires_at,
                    last_seen: issued_at,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        self.batch.sessions(&records)?;
        Ok(tokens)
    }
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
