//! Bulk fixtures: many rows written in one transaction, for benchmarks and
//! load tests (behind the cargo feature `fixtures`).
//!
//! Filling a store through the repository ports costs a transaction per
//! call, and through the service a password hash per user as well; a
//! benchmark that needs 100,000 users and 10,000 groups would spend
//! minutes on it. A [`BulkWriter`] writes the same rows as the ports do,
//! with multi-row inserts of up to [`ROWS_PER_STATEMENT`] rows each, inside
//! one transaction:
//!
//! ```no_run
//! use std::time::{Duration, SystemTime};
//! use ngobrol_core::{SessionId, SessionRecord, Token, UserRecord, Username};
//! use ngobrol_store::fixtures::{BulkWriter, FixtureError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut writer = BulkWriter::open("/tmp/bench.sqlite3")?;
//! let now = SystemTime::now();
//! let users: Vec<UserRecord> = (0..100_000)
//!     .map(|i| UserRecord {
//!         username: Username::parse(format!("u{i:06}")).unwrap(),
//!         password_hash: "$pbkdf2-sha256$…".into(),
//!         created_at: now,
//!     })
//!     .collect();
//! let token = Token::generate()?;
//! writer.transaction(|batch| -> Result<(), FixtureError> {
//!     batch.users(&users)?;
//!     batch.sessions(&[SessionRecord {
//!         id: SessionId::generate().unwrap(),
//!         token_hash: token.hash(),
//!         username: users[0].username.clone(),
//!         device: None,
//!         issued_at: now,
//!         expires_at: now + Duration::from_secs(3600),
//!         last_seen: now,
//!     }])?;
//!     Ok(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! The rows are the caller's to make consistent, parents first (users
//! before their sessions, friendships and groups): on SQLite the writer
//! does not check foreign keys, which would cost a look-up per row.
//! PostgreSQL checks them always.

use std::time::SystemTime;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::collections::HashMap;

use ngobrol_core::{Conversation, Delivery, GroupRecord, SessionRecord, UserRecord, Username};

use crate::convert::{message_columns, to_millis};
use crate::error::StoreError;
use crate::open::{Backend, Location, migrated_postgres, migrated_sqlite};
use crate::schema::{
    chat_groups, conversations, friendships, memberships, messages, sessions, users,
};

/// The most rows one insert statement carries. At seven columns a row at
/// most (sessions), a statement binds at most 7,000 values: well within
/// both SQLite's (32,766) and PostgreSQL's (65,535) limits.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// Why fixture rows could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixtureError {
    /// The database failed an insert, or the transaction itself (beginning
    /// or committing it); nothing of the transaction is written.
    #[error("cannot write the fixture rows: {0}")]
    Write(#[from] diesel::result::Error),
}

/// A group to write, with its members. The admin is written as the
/// group's admin only; to be a member too (as
/// [`create_group`](ngobrol_core::GroupRepository::create_group) makes
/// them), they must be among `members`.
#[derive(Clone, Debug)]
pub struct BulkGroup {
    /// The group's row: its id, name and admin.
    pub group: GroupRecord,
    /// Its members, each written as a membership.
    pub members: Vec<Username>,
}

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// One connection to a store's database, for bulk writes.
pub struct BulkWriter {
    conn: Conn,
}

impl std::fmt::Debug for BulkWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWriter")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

/// How a transaction ended early: the database failed, or the work did.
enum Abort<E> {
    Db(diesel::result::Error),
    Work(E),
}

impl<E> From<diesel::result::Error> for Abort<E> {
    fn from(error: diesel::result::Error) -> Self {
        Abort::Db(error)
    }
}

impl BulkWriter {
    /// Connects to the database at `url` (as [`Store::open`] reads it),
    /// creating and migrating it as needed. Blocks while it does.
    ///
    /// [`Store::open`]: crate::Store::open
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let conn = match Location::of(url)? {
            Location::Postgres(url) => Conn::Postgres(migrated_postgres(url)?),
            Location::Sqlite(path) => {
                let mut conn = migrated_sqlite(path)?;
                conn.batch_execute("PRAGMA foreign_keys = OFF;")
                    .map_err(|e| StoreError::Migrate(e.to_string()))?;
                Conn::Sqlite(conn)
            }
        };
        Ok(Self { conn })
    }

    /// The database it writes to.
    pub fn backend(&self) -> Backend {
        match self.conn {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `work` in one transaction (on SQLite, one that takes the write
    /// lock at once): it commits if `work` succeeds, and rolls back if
    /// `work` fails or the commit does.
    pub fn transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut Batch<'_>) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<FixtureError>,
    {
        let outcome = match &mut self.conn {
            Conn::Sqlite(conn) => conn.immediate_transaction(|conn| {
                work(&mut Batch {
                    conn: BatchConn::Sqlite(conn),
                    conversations: HashMap::new(),
                })
                .map_err(Abort::Work)
            }),
            Conn::Postgres(conn) => conn.transaction(|conn| {
                work(&mut Batch {
                    conn: BatchConn::Postgres(conn),
                    conversations: HashMap::new(),
                })
                .map_err(Abort::Work)
            }),
        };
        outcome.map_err(|abort| match abort {
            Abort::Db(e) => E::from(FixtureError::Write(e)),
            Abort::Work(e) => e,
        })
    }
}

enum BatchConn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// The writes of one [`BulkWriter::transaction`].
pub struct Batch<'a> {
    conn: BatchConn<'a>,
    /// The conversations messages were written to: their row's id and
    /// latest `seq`.
    conversations: HashMap<Conversation, (i64, i64)>,
}

impl std::fmt::Debug for Batch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch").finish_non_exhaustive()
    }
}

/// Runs `$body` with `$conn` bound to the batch's connection, whichever
/// backend it is; the body is type-checked against each.
macro_rules! on_conn {
    ($batch:expr, |$conn:ident| $body:expr) => {
        match &mut $batch.conn {
            BatchConn::Sqlite(conn) => {
                let $conn: &mut SqliteConnection = conn;
                $body
            }
            BatchConn::Postgres(conn) => {
                let $conn: &mut PgConnection = conn;
                $body
            }
        }
    };
}

impl Batch<'_> {
    /// Inserts the users, as
    /// [`insert_user`](ngobrol_core::UserRepository::insert_user) would
    /// one by one. Returns how many.
    pub fn users(&mut self, records: &[UserRecord]) -> Result<usize, FixtureError> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|u| {
                    (
                        users::username.eq(u.username.as_str()),
                        users::password_hash.eq(u.password_hash.as_str()),
                        users::created_at.eq(to_millis(u.created_at)),
                    )
                })
                .collect();
            on_conn!(self, |conn| diesel::insert_into(users::table)
                .values(&rows)
                .execute(conn))?;
        }
        Ok(records.len())
    }

    /// Inserts the sessions as they are, as
    /// [`insert_session`](ngobrol_core::SessionRepository::insert_session)
    /// would one by one (no session mailbox is opened: that is the
    /// outbound side's). Returns how many.
    pub fn sessions(&mut self, records: &[SessionRecord]) -> Result<usize, FixtureError> {
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|s| {
                    (
                        sessions::token_hash.eq(s.token_hash.as_str()),
                        sessions::session_id.eq(s.id.as_str()),
                        sessions::username.eq(s.username.as_str()),
                        sessions::device.eq(s.device.as_ref().map(|d| d.as_str())),
                        sessions::issued_at.eq(to_millis(s.issued_at)),
                        sessions::expires_at.eq(to_millis(s.expires_at)),
                        sessions::last_seen_at.eq(to_millis(s.last_seen)),
                    )
                })
                .collect();
            on_conn!(self, |conn| diesel::insert_into(sessions::table)
                .values(&rows)
                .execute(conn))?;
        }
        Ok(records.len())
    }

    /// Makes each pair friends of each other, made at `at`, as
    /// [`add_friendship`](ngobrol_core::FriendRepository::add_friendship)
    /// would (one row per direction). Returns how many pairs.
    pub fn friendships(
        &mut self,
        pairs: &[(Username, Username)],
        at: SystemTime,
    ) -> Result<usize, FixtureError> {
        let at = to_millis(at);
        // Two rows a pair.
        for chunk in pairs.chunks(ROWS_PER_STATEMENT / 2) {
            let rows: Vec<_> = chunk
                .iter()
                .flat_map(|(a, b)| [(a, b), (b, a)])
                .map(|(a, b)| {
                    (
                        friendships::username.eq(a.as_str()),
                        friendships::friend.eq(b.as_str()),
                        friendships::created_at.eq(at),
                    )
                })
                .collect();
            on_conn!(self, |conn| diesel::insert_into(friendships::table)
                .values(&rows)
                .execute(conn))?;
        }
        Ok(pairs.len())
    }

    /// Inserts the groups with the ids they have, made at `at`, and their
    /// members. Later groups made through
    /// [`create_group`](ngobrol_core::GroupRepository::create_group) get
    /// ids above every id written here. Returns how many groups.
    pub fn groups(&mut self, groups: &[BulkGroup], at: SystemTime) -> Result<usize, FixtureError> {
        let at = to_millis(at);
        for chunk in groups.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|g| {
                    (
                        chat_groups::id.eq(g.group.id.get()),
                        chat_groups::name.eq(g.group.name.as_str()),
                        chat_groups::admin.eq(g.group.admin.as_str()),
                        chat_groups::created_at.eq(at),
                    )
                })
                .collect();
            on_conn!(self, |conn| diesel::insert_into(chat_groups::table)
                .values(&rows)
                .execute(conn))?;
        }
        let members: Vec<_> = groups
            .iter()
            .flat_map(|g| g.members.iter().map(move |m| (g.group.id.get(), m)))
            .collect();
        for chunk in members.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<_> = chunk
                .iter()
                .map(|(id, member)| {
                    (
                        memberships::group_id.eq(*id),
                        memberships::username.eq(member.as_str()),
                    )
                })
                .collect();
            on_conn!(self, |conn| diesel::insert_into(memberships::table)
                .values(&rows)
                .execute(conn))?;
        }
        if !groups.is_empty() {
            self.advance_group_ids()?;
        }
        Ok(groups.len())
    }

    /// Appends the messages to their conversations' histories, in order,
    /// as [`append_message`](ngobrol_core::HistoryRepository::append_message)
    /// would one by one: each gets its conversation's next `seq` and the
    /// next position; the conversations' counts are brought up to date
    /// before it returns. Returns how many.
    pub fn messages(&mut self, stored: &[(Conversation, Delivery)]) -> Result<usize, FixtureError> {
        let mut touched = std::collections::HashSet::new();
        for chunk in stored.chunks(ROWS_PER_STATEMENT) {
            let mut rows = Vec::with_capacity(chunk.len());
            for (conversation, delivery) in chunk {
                let (id, seq) = self.next_seq(conversation)?;
                touched.insert(id);
                let columns = message_columns(conversation, &delivery.body);
                rows.push((
                    messages::conversation_id.eq(id),
                    messages::seq.eq(seq),
                    messages::message_id.eq(delivery.id.to_string()),
                    messages::sent_at.eq(to_millis(delivery.sent_at)),
                    messages::kind.eq(columns.kind),
                    messages::sender.eq(columns.sender),
                    messages::recipient.eq(columns.recipient),
                    messages::group_id.eq(columns.group_id),
                    messages::group_name.eq(columns.group_name),
                    messages::body.eq(columns.body),
                    messages::actor.eq(columns.actor),
                ));
            }
            on_conn!(self, |conn| diesel::insert_into(messages::table)
                .values(&rows)
                .execute(conn))?;
        }
        self.finish_messages(touched)?;
        Ok(stored.len())
    }

    /// The conversation's row id and the `seq` for its next message,
    /// making the row if there is none.
    fn next_seq(&mut self, conversation: &Conversation) -> Result<(i64, i64), FixtureError> {
        if let Some((id, seq)) = self.conversations.get_mut(conversation) {
            *seq += 1;
            return Ok((*id, *seq));
        }
        let (low, high, group) = match conversation {
            Conversation::Direct { low, high } => (
                Some(low.as_str().to_owned()),
                Some(high.as_str().to_owned()),
                None,
            ),
            Conversation::Group(group) => (None, None, Some(group.get())),
        };
        let found = on_conn!(self, |conn| {
            let query = conversations::table
                .select((conversations::id, conversations::last_seq))
                .into_boxed();
            let query = match (&low, &high, group) {
                (Some(low), Some(high), _) => query
                    .filter(conversations::user_low.eq(low.clone()))
                    .filter(conversations::user_high.eq(high.clone())),
                (_, _, group) => query.filter(conversations::group_id.eq(group)),
            };
            query.get_result::<(i64, i64)>(conn).optional()
        })?;
        let (id, last) = match found {
            Some(found) => found,
            None => {
                let id = on_conn!(self, |conn| diesel::insert_into(conversations::table)
                    .values((
                        conversations::user_low.eq(&low),
                        conversations::user_high.eq(&high),
                        conversations::group_id.eq(group),
                    ))
                    .returning(conversations::id)
                    .get_result::<i64>(conn))?;
                (id, 0)
            }
        };
        self.conversations
            .insert(conversation.clone(), (id, last + 1));
        Ok((id, last + 1))
    }

    /// Writes the latest `seq` and position of each conversation in
    /// `touched`.
    fn finish_messages(
        &mut self,
        touched: std::collections::HashSet<i64>,
    ) -> Result<(), FixtureError> {
        let latest: Vec<(i64, i64)> = self
            .conversations
            .values()
            .filter(|(id, _)| touched.contains(id))
            .copied()
            .collect();
        for (id, seq) in latest {
            on_conn!(self, |conn| {
                let position = messages::table
                    .filter(messages::conversation_id.eq(id))
                    .select(diesel::dsl::max(messages::position))
                    .get_result::<Option<i64>>(conn)?
                    .unwrap_or(0);
                diesel::update(conversations::table.find(id))
                    .set((
                        conversations::last_seq.eq(seq),
                        conversations::last_position.eq(position),
                    ))
                    .execute(conn)
            })?;
        }
        Ok(())
    }

    /// Moves PostgreSQL's id sequence past the ids written by hand, which
    /// it does not see. (SQLite's `AUTOINCREMENT` follows them itself.)
    fn advance_group_ids(&mut self) -> Result<(), FixtureError> {
        if let BatchConn::Postgres(conn) = &mut self.conn {
            diesel::sql_query(
                "SELECT setval(pg_get_serial_sequence('chat_groups', 'id'), \
                 (SELECT MAX(id) FROM chat_groups))",
            )
            .execute(&mut **conn)?;
        }
        Ok(())
    }
}
