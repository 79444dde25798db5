//! Friendships, each kept as two rows, one per direction.

use std::time::SystemTime;

use async_trait::async_trait;
use diesel::dsl::exists;
use diesel::prelude::*;
use ngobrol_core::{FriendRepository, FriendRequest, PortError, Username};

use crate::conn::WriteTransaction;
use crate::convert::{to_millis, username};
use crate::open::Store;
use crate::schema::{blocks, friendships};

#[async_trait]
impl FriendRepository for Store {
    async fn add_friendship(&self, a: &Username, b: &Username) -> Result<(), PortError> {
        let (a, b) = (a.as_str().to_owned(), b.as_str().to_owned());
        let now = to_millis(SystemTime::now());
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                diesel::insert_into(friendships::table)
                    .values(&vec![
                        (
                            friendships::username.eq(a.clone()),
                            friendships::friend.eq(b.clone()),
                            friendships::created_at.eq(now),
                        ),
                        (
                            friendships::username.eq(b),
                            friendships::friend.eq(a),
                            friendships::created_at.eq(now),
                        ),
                    ])
                    .execute(conn)?;
                Ok(())
            })
        })
    }

    async fn are_friends(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let (a, b) = (a.as_str().to_owned(), b.as_str().to_owned());
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(
                friendships::table
                    .filter(friendships::username.eq(a))
                    .filter(friendships::friend.eq(b)),
            ))
            .get_result::<bool>(conn)?)
        })
    }

    async fn friends_of(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            friendships::table
                .filter(friendships::username.eq(name))
                .select(friendships::friend)
                .order(friendships::friend.asc())
                .load::<String>(conn)?
                .into_iter()
                .map(username)
                .collect()
        })
    }

    async fn remove_friendship(&self, a: &Username, b: &Username) -> Result<bool, PortError> {
        let (a, b) = (a.as_str().to_owned(), b.as_str().to_owned());
        with_conn!(self, |conn| {
            let removed = diesel::delete(
                friendships::table.filter(
                    (friendships::username.eq(&a).and(friendships::friend.eq(&b)))
                        .or(friendships::username.eq(&b).and(friendships::friend.eq(&a))),
                ),
            )
            .execute(conn)?;
            Ok(removed > 0)
        })
    }

    async fn block(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        let row = (
            blocks::username.eq(user.as_str().to_owned()),
            blocks::blocked.eq(blocked.as_str().to_owned()),
            blocks::created_at.eq(to_millis(SystemTime::now())),
        );
        with_conn!(self, |conn| {
            let added = diesel::insert_into(blocks::table)
                .values(row)
                .on_conflict_do_nothing()
                .execute(conn)?;
            Ok(added > 0)
        })
    }

    async fn unblock(&self, user: &Username, blocked: &Username) -> Result<bool, PortError> {
        let (user, blocked) = (user.as_str().to_owned(), blocked.as_str().to_owned());
        with_conn!(self, |conn| {
            let removed = diesel::delete(
                blocks::table
                    .filter(blocks::username.eq(user))
                    .filter(blocks::blocked.eq(blocked)),
            )
            .execute(conn)?;
            Ok(removed > 0)
        })
    }

    async fn blocks(&self, user: &Username, other: &Username) -> Result<bool, PortError> {
        let (user, other) = (user.as_str().to_owned(), other.as_str().to_owned());
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(
                blocks::table
                    .filter(blocks::username.eq(user))
                    .filter(blocks::blocked.eq(other)),
            ))
            .get_result::<bool>(conn)?)
        })
    }

    async fn blocked_by(&self, user: &Username) -> Result<Vec<Username>, PortError> {
        let user = user.as_str().to_owned();
        with_conn!(self, |conn| {
            blocks::table
                .filter(blocks::username.eq(user))
                .select(blocks::blocked)
                .order(blocks::blocked.asc())
                .load::<String>(conn)?
                .into_iter()
                .map(username)
                .collect()
        })
    }

    async fn add_friend_request(
        &self,
        from: &Username,
        to: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.add_request(from, to, at).await
    }

    async fn remove_friend_request(
        &self,
        from: &Username,
        to: &Username,
    ) -> Result<bool, PortError> {
        self.remove_request(from, to).await
    }

    async fn friend_requests_of(&self, user: &Username) -> Result<Vec<FriendRequest>, PortError> {
        self.requests_of(user).await
    }
}
