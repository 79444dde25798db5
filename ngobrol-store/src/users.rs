//! Users and their sessions.

use async_trait::async_trait;
use diesel::prelude::*;
use ngobrol_core::{
    PortError, SessionRecord, SessionRepository, TokenHash, UserRecord, UserRepository, Username,
};

use crate::conn::WriteTransaction;
use crate::convert::{from_millis, to_millis, username};
use crate::open::Store;
use crate::schema::{sessions, users};

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
