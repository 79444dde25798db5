//! Presence reports per session, and who keeps their activity to
//! themselves.

use std::time::SystemTime;

use diesel::dsl::exists;
use diesel::prelude::*;
use ngobrol_core::{PortError, PresenceState, TokenHash, Username};

use crate::convert::{from_millis, to_millis};
use crate::error::Failure;
use crate::open::Store;
use crate::schema::{activity_hidden, presence, sessions};

fn state_name(state: PresenceState) -> &'static str {
    match state {
        PresenceState::Online => "online",
        PresenceState::Away => "away",
        PresenceState::Offline => "offline",
    }
}

fn state_of(name: &str) -> Result<PresenceState, Failure> {
    match name {
        "online" => Ok(PresenceState::Online),
        "away" => Ok(PresenceState::Away),
        "offline" => Ok(PresenceState::Offline),
        other => Err(Failure::Corrupt(format!("unknown presence {other:?}"))),
    }
}

impl Store {
    pub(crate) async fn note_presence(
        &self,
        token_hash: &TokenHash,
        state: PresenceState,
        at: SystemTime,
    ) -> Result<(), PortError> {
        let hash = token_hash.as_str().to_owned();
        let (state, at) = (state_name(state), to_millis(at));
        with_conn!(self, |conn| {
            diesel::insert_into(presence::table)
                .values((
                    presence::token_hash.eq(&hash),
                    presence::state.eq(state),
                    presence::reported_at.eq(at),
                ))
                .on_conflict(presence::token_hash)
                .do_update()
                .set((presence::state.eq(state), presence::reported_at.eq(at)))
                .execute(conn)?;
            Ok(())
        })
    }

    pub(crate) async fn reports_of(
        &self,
        user: &Username,
    ) -> Result<Vec<(PresenceState, SystemTime)>, PortError> {
        let name = user.as_str().to_owned();
        let rows = with_conn!(self, |conn| {
            presence::table
                .inner_join(sessions::table.on(sessions::token_hash.eq(presence::token_hash)))
                .filter(sessions::username.eq(&name))
                .select((presence::state, presence::reported_at))
                .load::<(String, i64)>(conn)
                .map_err(Into::into)
        })?;
        rows.into_iter()
            .map(|(state, at)| Ok((state_of(&state)?, from_millis(at))))
            .collect::<Result<_, Failure>>()
            .map_err(PortError::from)
    }

    pub(crate) async fn shares(&self, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let hidden = diesel::select(exists(
                activity_hidden::table.filter(activity_hidden::username.eq(&name)),
            ))
            .get_result::<bool>(conn)?;
            Ok(!hidden)
        })
    }

    pub(crate) async fn set_shares(&self, user: &Username, share: bool) -> Result<(), PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            if share {
                diesel::delete(activity_hidden::table.find(&name)).execute(conn)?;
            } else {
                diesel::insert_into(activity_hidden::table)
                    .values(activity_hidden::username.eq(&name))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            Ok(())
        })
    }
}
