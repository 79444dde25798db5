//! Users and their sessions.

use std::time::SystemTime;

use async_trait::async_trait;
use diesel::prelude::*;
use ngobrol_core::{
    PortError, PresenceState, SessionId, SessionRecord, SessionRepository, TokenHash, UserRecord,
    UserRepository, Username,
};

use crate::convert::{SessionRow, from_millis, session_id, session_record, to_millis, username};
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

    async fn set_mailbox_reader(&self, user: &Username, reads: bool) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let changed = diesel::update(
                users::table
                    .filter(users::username.eq(name))
                    .filter(users::reads_mailbox.ne(reads)),
            )
            .set(users::reads_mailbox.eq(reads))
            .execute(conn)?;
            Ok(changed > 0)
        })
    }

    async fn is_mailbox_reader(&self, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let reads = users::table
                .find(name)
                .select(users::reads_mailbox)
                .get_result::<bool>(conn)
                .optional()?;
            Ok(reads.unwrap_or(false))
        })
    }

    async fn mailbox_readers(&self) -> Result<Vec<Username>, PortError> {
        with_conn!(self, |conn| {
            users::table
                .filter(users::reads_mailbox.eq(true))
                .select(users::username)
                .order(users::username.asc())
                .load::<String>(conn)?
                .into_iter()
                .map(username)
                .collect()
        })
    }

    async fn shares_activity(&self, user: &Username) -> Result<bool, PortError> {
        self.shares(user).await
    }

    async fn set_shares_activity(&self, user: &Username, share: bool) -> Result<(), PortError> {
        self.set_shares(user, share).await
    }

    async fn set_disabled(&self, user: &Username, disabled: bool) -> Result<bool, PortError> {
        self.mark_disabled(user, disabled).await
    }

    async fn is_disabled(&self, user: &Username) -> Result<bool, PortError> {
        self.disabled(user).await
    }

    async fn set_password_hash(&self, user: &Username, hash: &str) -> Result<bool, PortError> {
        self.replace_password_hash(user, hash).await
    }
}

/// The columns of a [`SessionRow`], in its order.
macro_rules! session_columns {
    () => {
        (
            sessions::token_hash,
            sessions::session_id,
            sessions::username,
            sessions::device,
            sessions::issued_at,
            sessions::expires_at,
            sessions::last_seen_at,
        )
    };
}

#[async_trait]
impl SessionRepository for Store {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), PortError> {
        let row = (
            sessions::token_hash.eq(session.token_hash.as_str().to_owned()),
            sessions::session_id.eq(session.id.as_str().to_owned()),
            sessions::username.eq(session.username.as_str().to_owned()),
            sessions::device.eq(session.device.as_ref().map(|d| d.as_str().to_owned())),
            sessions::issued_at.eq(to_millis(session.issued_at)),
            sessions::expires_at.eq(to_millis(session.expires_at)),
            sessions::last_seen_at.eq(to_millis(session.last_seen)),
        );
        with_conn!(self, |conn| {
            diesel::insert_into(sessions::table)
                .values(row)
                .execute(conn)?;
            Ok(())
        })
    }

    async fn find_session(&self, hash: &TokenHash) -> Result<Option<SessionRecord>, PortError> {
        let hash = hash.as_str().to_owned();
        with_conn!(self, |conn| {
            let row = sessions::table
                .find(hash)
                .select(session_columns!())
                .get_result::<SessionRow>(conn)
                .optional()?;
            row.map(session_record).transpose()
        })
    }

    async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            sessions::table
                .filter(sessions::username.eq(name))
                .order((sessions::issued_at.asc(), sessions::session_id.asc()))
                .select(session_columns!())
                .load::<SessionRow>(conn)?
                .into_iter()
                .map(session_record)
                .collect()
        })
    }

    async fn delete_session(&self, hash: &TokenHash) -> Result<bool, PortError> {
        let hash = hash.as_str().to_owned();
        with_conn!(self, |conn| {
            let deleted = diesel::delete(sessions::table.find(hash)).execute(conn)?;
            Ok(deleted > 0)
        })
    }

    async fn delete_session_by_id(
        &self,
        user: &Username,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, PortError> {
        let (name, id) = (user.as_str().to_owned(), id.as_str().to_owned());
        with_conn!(self, |conn| {
            let row = diesel::delete(
                sessions::table
                    .filter(sessions::session_id.eq(id))
                    .filter(sessions::username.eq(name)),
            )
            .returning(session_columns!())
            .get_result::<SessionRow>(conn)
            .optional()?;
            row.map(session_record).transpose()
        })
    }

    async fn delete_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            // One statement, so all go at once; the order is the listing's.
            let mut deleted = diesel::delete(sessions::table.filter(sessions::username.eq(name)))
                .returning((sessions::issued_at, sessions::session_id))
                .get_results::<(i64, String)>(conn)?;
            deleted.sort_unstable();
            deleted.into_iter().map(|(_, id)| session_id(id)).collect()
        })
    }

    async fn touch_session(&self, hash: &TokenHash, at: SystemTime) -> Result<(), PortError> {
        let hash = hash.as_str().to_owned();
        let at = to_millis(at);
        with_conn!(self, |conn| {
            diesel::update(sessions::table.find(hash))
                .set(sessions::last_seen_at.eq(at))
                .execute(conn)?;
            Ok(())
        })
    }

    async fn set_presence(
        &self,
        token_hash: &TokenHash,
        state: PresenceState,
        at: SystemTime,
    ) -> Result<(), PortError> {
        self.note_presence(token_hash, state, at).await
    }

    async fn presence_reports(
        &self,
        user: &Username,
    ) -> Result<Vec<(PresenceState, SystemTime)>, PortError> {
        self.reports_of(user).await
    }
}
