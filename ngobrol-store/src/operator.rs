//! What an operator reads and changes in the store: disabled accounts,
//! password resets, and summaries for the admin commands. The summaries
//! are plain reads of this store (no port of `ngobrol-core` has them:
//! they are for the people who run it, not for the chat rules).

use std::time::SystemTime;

use diesel::dsl::{count_star, exists};
use diesel::prelude::*;
use ngobrol_core::{GroupId, PortError, Username};

use crate::conn::WriteTransaction;
use crate::convert::{from_millis, to_millis};
use crate::open::Store;
use crate::schema::{chat_groups, disabled_users, memberships, messages, sessions, users};

/// One user, as the admin commands list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSummary {
    /// Their username.
    pub username: String,
    /// When they registered.
    pub created_at: SystemTime,
    /// An operator disabled the account: its logins are refused.
    pub disabled: bool,
    /// Sessions not yet expired.
    pub sessions: u64,
}

/// One group, as the admin commands list them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupSummary {
    /// The group's id.
    pub id: GroupId,
    /// Its name.
    pub name: String,
    /// Its admin's username (the admin may have left the group).
    pub admin: String,
    /// How many members it has.
    pub members: u64,
    /// When it was created.
    pub created_at: SystemTime,
}

/// How much the store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Registered users, disabled ones included.
    pub users: u64,
    /// Users an operator disabled.
    pub disabled_users: u64,
    /// Groups that exist (a group ends when its last member leaves).
    pub groups: u64,
    /// Memberships: one for each member of each group.
    pub memberships: u64,
    /// Messages and notices kept in the history.
    pub messages: u64,
    /// Sessions not yet expired.
    pub sessions: u64,
}

impl Store {
    /// Answers once the database does (a trivial query on a pooled
    /// connection): for readiness checks.
    pub async fn ping(&self) -> Result<(), PortError> {
        with_conn!(self, |conn| {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
                .get_result::<i32>(conn)?;
            Ok(())
        })
    }

    /// The users whose name contains `part` (every user for `None`), by
    /// name, with their live sessions counted as of `now`.
    pub async fn user_summaries(
        &self,
        part: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<UserSummary>, PortError> {
        let pattern = part.map(like_pattern);
        let now = to_millis(now);
        with_conn!(self, |conn| {
            let mut query = users::table
                .select((users::username, users::created_at))
                .order(users::username.asc())
                .into_boxed();
            if let Some(pattern) = &pattern {
                query = query.filter(users::username.like(pattern.clone()).escape('\\'));
            }
            let rows = query.load::<(String, i64)>(conn)?;
            let disabled: std::collections::HashSet<String> = disabled_users::table
                .select(disabled_users::username)
                .load::<String>(conn)?
                .into_iter()
                .collect();
            let live: std::collections::HashMap<String, i64> = sessions::table
                .filter(sessions::expires_at.gt(now))
                .group_by(sessions::username)
                .select((sessions::username, count_star()))
                .load::<(String, i64)>(conn)?
                .into_iter()
                .collect();
            Ok(rows
                .into_iter()
                .map(|(username, created_at)| UserSummary {
                    disabled: disabled.contains(&username),
                    sessions: live.get(&username).copied().unwrap_or(0) as u64,
                    created_at: from_millis(created_at),
                    username,
                })
                .collect())
        })
    }

    /// Every group, by id, with its members counted.
    pub async fn group_summaries(&self) -> Result<Vec<GroupSummary>, PortError> {
        with_conn!(self, |conn| {
            let groups = chat_groups::table
                .select((
                    chat_groups::id,
                    chat_groups::name,
                    chat_groups::admin,
                    chat_groups::created_at,
                ))
                .order(chat_groups::id.asc())
                .load::<(i64, String, String, i64)>(conn)?;
            let counts: std::collections::HashMap<i64, i64> = memberships::table
                .group_by(memberships::group_id)
                .select((memberships::group_id, count_star()))
                .load::<(i64, i64)>(conn)?
                .into_iter()
                .collect();
            Ok(groups
                .into_iter()
                .map(|(id, name, admin, created_at)| GroupSummary {
                    id: GroupId::new(id),
                    members: counts.get(&id).copied().unwrap_or(0) as u64,
                    created_at: from_millis(created_at),
                    name,
                    admin,
                })
                .collect())
        })
    }

    /// How many users, groups, messages and live sessions (as of `now`).
    pub async fn stats(&self, now: SystemTime) -> Result<StoreStats, PortError> {
        let now = to_millis(now);
        with_conn!(self, |conn| {
            let count = |n: i64| n.max(0) as u64;
            Ok(StoreStats {
                users: count(users::table.count().get_result(conn)?),
                disabled_users: count(disabled_users::table.count().get_result(conn)?),
                groups: count(chat_groups::table.count().get_result(conn)?),
                memberships: count(memberships::table.count().get_result(conn)?),
                messages: count(messages::table.count().get_result(conn)?),
                sessions: count(
                    sessions::table
                        .filter(sessions::expires_at.gt(now))
                        .count()
                        .get_result(conn)?,
                ),
            })
        })
    }

    pub(crate) async fn mark_disabled(
        &self,
        user: &Username,
        disabled: bool,
    ) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        let now = to_millis(SystemTime::now());
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let known: bool =
                    diesel::select(exists(users::table.find(&name))).get_result(conn)?;
                if !known {
                    return Ok(false);
                }
                if disabled {
                    diesel::insert_into(disabled_users::table)
                        .values((
                            disabled_users::username.eq(&name),
                            disabled_users::disabled_at.eq(now),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                } else {
                    diesel::delete(disabled_users::table.find(&name)).execute(conn)?;
                }
                Ok(true)
            })
        })
    }

    pub(crate) async fn disabled(&self, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(disabled_users::table.find(name))).get_result(conn)?)
        })
    }

    pub(crate) async fn replace_password_hash(
        &self,
        user: &Username,
        hash: &str,
    ) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        let hash = hash.to_owned();
        with_conn!(self, |conn| {
            let changed = diesel::update(users::table.find(name))
                .set(users::password_hash.eq(hash))
                .execute(conn)?;
            Ok(changed > 0)
        })
    }
}

/// A `LIKE` pattern matching names that contain `part` literally.
fn like_pattern(part: &str) -> String {
    let mut pattern = String::from("%");
    for c in part.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}
