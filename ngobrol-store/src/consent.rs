//! Friend requests and group invitations, kept until answered (under
//! consent).

use std::time::SystemTime;

use diesel::prelude::*;
use ngobrol_core::{FriendRequest, GroupId, Invitation, PortError, Username};

use crate::convert::{from_millis, to_millis, username};
use crate::error::Failure;
use crate::open::Store;
use crate::schema::{friend_requests, invitations};

impl Store {
    pub(crate) async fn add_request(
        &self,
        from: &Username,
        to: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        let at = to_millis(at);
        with_conn!(self, |conn| {
            let added = diesel::insert_into(friend_requests::table)
                .values((
                    friend_requests::from_user.eq(&from),
                    friend_requests::to_user.eq(&to),
                    friend_requests::created_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(added > 0)
        })
    }

    pub(crate) async fn remove_request(
        &self,
        from: &Username,
        to: &Username,
    ) -> Result<bool, PortError> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        with_conn!(self, |conn| {
            let removed =
                diesel::delete(friend_requests::table.find((&from, &to))).execute(conn)?;
            Ok(removed > 0)
        })
    }

    pub(crate) async fn requests_of(
        &self,
        user: &Username,
    ) -> Result<Vec<FriendRequest>, PortError> {
        let name = user.as_str().to_owned();
        let rows = with_conn!(self, |conn| {
            friend_requests::table
                .filter(
                    friend_requests::from_user
                        .eq(&name)
                        .or(friend_requests::to_user.eq(&name)),
                )
                .order((
                    friend_requests::created_at.asc(),
                    friend_requests::from_user.asc(),
                ))
                .select((
                    friend_requests::from_user,
                    friend_requests::to_user,
                    friend_requests::created_at,
                ))
                .load::<(String, String, i64)>(conn)
                .map_err(Into::into)
        })?;
        rows.into_iter()
            .map(|(from, to, at)| {
                Ok(FriendRequest {
                    from: username(from)?,
                    to: username(to)?,
                    at: from_millis(at),
                })
            })
            .collect::<Result<_, Failure>>()
            .map_err(PortError::from)
    }

    pub(crate) async fn add_invite(
        &self,
        group: GroupId,
        user: &Username,
        by: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let (user, by) = (user.as_str().to_owned(), by.as_str().to_owned());
        let (group, at) = (group.get(), to_millis(at));
        with_conn!(self, |conn| {
            let added = diesel::insert_into(invitations::table)
                .values((
                    invitations::group_id.eq(group),
                    invitations::username.eq(&user),
                    invitations::invited_by.eq(&by),
                    invitations::created_at.eq(at),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(added > 0)
        })
    }

    pub(crate) async fn remove_invite(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<Username>, PortError> {
        let user = user.as_str().to_owned();
        let group = group.get();
        let by = with_conn!(self, |conn| {
            let row = invitations::table.find((group, &user));
            let by = row
                .select(invitations::invited_by)
                .get_result::<String>(conn)
                .optional()?;
            diesel::delete(row).execute(conn)?;
            Ok(by)
        })?;
        by.map(|by| username(by).map_err(PortError::from))
            .transpose()
    }

    pub(crate) async fn invites_of(&self, user: &Username) -> Result<Vec<Invitation>, PortError> {
        let name = user.as_str().to_owned();
        let rows = with_conn!(self, |conn| {
            invitations::table
                .filter(invitations::username.eq(&name))
                .order((invitations::created_at.asc(), invitations::group_id.asc()))
                .select((
                    invitations::group_id,
                    invitations::invited_by,
                    invitations::created_at,
                ))
                .load::<(i64, String, i64)>(conn)
                .map_err(Into::into)
        })?;
        rows.into_iter()
            .map(|(group, by, at)| {
                Ok(Invitation {
                    group: GroupId::new(group),
                    user: user.clone(),
                    by: username(by)?,
                    at: from_millis(at),
                })
            })
            .collect::<Result<_, Failure>>()
            .map_err(PortError::from)
    }
}
