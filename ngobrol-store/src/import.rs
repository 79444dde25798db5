//! Writing another deployment's rows (the original server's users,
//! friendships and groups) so that a second run changes nothing: every
//! insert skips what is there already, and groups keep their ids.

use std::collections::HashSet;
use std::time::SystemTime;

use diesel::prelude::*;
use ngobrol_core::{GroupRecord, PortError, UserRecord, Username};

use crate::conn::WriteTransaction;
use crate::convert::to_millis;
use crate::error::Failure;
use crate::open::Store;
use crate::schema::{chat_groups, friendships, memberships, users};

/// What became of one imported group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupImport {
    /// Written now, with its id.
    Written,
    /// A group of that id, name and admin was there (an earlier import).
    AlreadyThere,
    /// Another group has that id in this store: nothing was written.
    IdTaken,
}

impl Store {
    /// Which of `names` are users here already.
    pub async fn existing_users(&self, names: Vec<String>) -> Result<HashSet<String>, PortError> {
        with_conn!(self, |conn| {
            let mut found = HashSet::new();
            for chunk in names.chunks(500) {
                found.extend(
                    users::table
                        .filter(users::username.eq_any(chunk))
                        .select(users::username)
                        .load::<String>(conn)?,
                );
            }
            Ok(found)
        })
    }

    /// Inserts the users not stored yet; returns how many were.
    pub async fn import_users(&self, records: Vec<UserRecord>) -> Result<usize, PortError> {
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let mut written = 0;
                for user in &records {
                    written += diesel::insert_into(users::table)
                        .values((
                            users::username.eq(user.username.as_str()),
                            users::password_hash.eq(&user.password_hash),
                            users::created_at.eq(to_millis(user.created_at)),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                Ok(written)
            })
        })
    }

    /// Makes each pair friends (both directions) unless they are;
    /// returns how many pairs were new.
    pub async fn import_friendships(
        &self,
        pairs: Vec<(Username, Username)>,
        at: SystemTime,
    ) -> Result<usize, PortError> {
        let at = to_millis(at);
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let mut new = 0;
                for (a, b) in &pairs {
                    let mut written = 0;
                    for (from, to) in [(a, b), (b, a)] {
                        written += diesel::insert_into(friendships::table)
                            .values((
                                friendships::username.eq(from.as_str()),
                                friendships::friend.eq(to.as_str()),
                                friendships::created_at.eq(at),
                            ))
                            .on_conflict_do_nothing()
                            .execute(conn)?;
                    }
                    new += usize::from(written > 0);
                }
                Ok(new)
            })
        })
    }

    /// Writes `group` with its own id and its members, unless a group of
    /// that id is here; later groups get ids above it.
    pub async fn import_group(
        &self,
        group: GroupRecord,
        members: Vec<Username>,
        at: SystemTime,
    ) -> Result<GroupImport, PortError> {
        let at = to_millis(at);
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let id = group.id.get();
                let written = diesel::insert_into(chat_groups::table)
                    .values((
                        chat_groups::id.eq(id),
                        chat_groups::name.eq(group.name.as_str()),
                        chat_groups::admin.eq(group.admin.as_str()),
                        chat_groups::created_at.eq(at),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
                let outcome = if written > 0 {
                    GroupImport::Written
                } else {
                    let (name, admin) = chat_groups::table
                        .find(id)
                        .select((chat_groups::name, chat_groups::admin))
                        .get_result::<(String, String)>(conn)?;
                    if name != group.name.as_str() || admin != group.admin.as_str() {
                        return Ok(GroupImport::IdTaken);
                    }
                    GroupImport::AlreadyThere
                };
                for member in &members {
                    diesel::insert_into(memberships::table)
                        .values((
                            memberships::group_id.eq(id),
                            memberships::username.eq(member.as_str()),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                }
                advance_group_ids(conn)?;
                Ok(outcome)
            })
        })
    }
}

/// Moves PostgreSQL's group id sequence past the ids written by hand
/// (never back: an id once issued is not issued again). SQLite's
/// `AUTOINCREMENT` follows them itself.
trait AdvanceGroupIds {
    fn advance(&mut self) -> Result<(), Failure>;
}

impl AdvanceGroupIds for SqliteConnection {
    fn advance(&mut self) -> Result<(), Failure> {
        Ok(())
    }
}

impl AdvanceGroupIds for PgConnection {
    fn advance(&mut self) -> Result<(), Failure> {
        diesel::sql_query(
            "SELECT setval(pg_get_serial_sequence('chat_groups', 'id'), \
             GREATEST((SELECT COALESCE(MAX(id), 1) FROM chat_groups), \
             nextval(pg_get_serial_sequence('chat_groups', 'id')) - 1))",
        )
        .execute(self)?;
        Ok(())
    }
}

fn advance_group_ids(conn: &mut impl AdvanceGroupIds) -> Result<(), Failure> {
    conn.advance()
}
