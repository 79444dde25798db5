//! Groups and their memberships.

use std::time::SystemTime;

use async_trait::async_trait;
use diesel::dsl::exists;
use diesel::prelude::*;
use ngobrol_core::{
    GroupId, GroupName, GroupRecord, GroupRepository, Invitation, PortError, Username,
};

use crate::conn::{HistoryLock, WriteTransaction};
use crate::convert::{group_record, to_millis, username};
use crate::open::Store;
use crate::schema::{chat_groups, conversations, memberships, messages};

#[async_trait]
impl GroupRepository for Store {
    async fn create_group(
        &self,
        name: &GroupName,
        admin: &Username,
        created_at: SystemTime,
    ) -> Result<GroupRecord, PortError> {
        let record = (name.clone(), admin.clone());
        let row = (
            chat_groups::name.eq(name.as_str().to_owned()),
            chat_groups::admin.eq(admin.as_str().to_owned()),
            chat_groups::created_at.eq(to_millis(created_at)),
        );
        let admin = admin.as_str().to_owned();
        let id = with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let id = diesel::insert_into(chat_groups::table)
                    .values(row)
                    .returning(chat_groups::id)
                    .get_result::<i64>(conn)?;
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::group_id.eq(id),
                        memberships::username.eq(admin),
                    ))
                    .execute(conn)?;
                Ok(id)
            })
        })?;
        Ok(GroupRecord {
            id: GroupId::new(id),
            name: record.0,
            admin: record.1,
        })
    }

    async fn find_group(&self, id: GroupId) -> Result<Option<GroupRecord>, PortError> {
        with_conn!(self, |conn| {
            chat_groups::table
                .find(id.get())
                .select((chat_groups::id, chat_groups::name, chat_groups::admin))
                .get_result::<(i64, String, String)>(conn)
                .optional()?
                .map(group_record)
                .transpose()
        })
    }

    async fn add_member(&self, id: GroupId, user: &Username) -> Result<(), PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                // The member's view of the history starts after the
                // group's latest message; taking the history's turn first
                // means no append is half done meanwhile.
                conn.lock_history()?;
                let joined_after = conversations::table
                    .filter(conversations::group_id.eq(id.get()))
                    .select(conversations::last_seq)
                    .get_result::<i64>(conn)
                    .optional()?
                    .unwrap_or(0);
                diesel::insert_into(memberships::table)
                    .values((
                        memberships::group_id.eq(id.get()),
                        memberships::username.eq(name),
                        memberships::joined_after.eq(joined_after),
                    ))
                    .execute(conn)?;
                Ok(())
            })
        })
    }

    async fn remove_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let removed = diesel::delete(
                memberships::table
                    .filter(memberships::group_id.eq(id.get()))
                    .filter(memberships::username.eq(name)),
            )
            .execute(conn)?;
            Ok(removed > 0)
        })
    }

    async fn is_member(&self, id: GroupId, user: &Username) -> Result<bool, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            Ok(diesel::select(exists(
                memberships::table
                    .filter(memberships::group_id.eq(id.get()))
                    .filter(memberships::username.eq(name)),
            ))
            .get_result::<bool>(conn)?)
        })
    }

    async fn count_members(&self, id: GroupId) -> Result<u64, PortError> {
        with_conn!(self, |conn| {
            let count = memberships::table
                .filter(memberships::group_id.eq(id.get()))
                .count()
                .get_result::<i64>(conn)?;
            Ok(count.unsigned_abs())
        })
    }

    async fn count_groups_of(&self, user: &Username) -> Result<u64, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let count = memberships::table
                .filter(memberships::username.eq(name))
                .count()
                .get_result::<i64>(conn)?;
            Ok(count.unsigned_abs())
        })
    }

    async fn groups_of(&self, user: &Username) -> Result<Vec<GroupRecord>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            memberships::table
                .inner_join(chat_groups::table)
                .filter(memberships::username.eq(name))
                .select((chat_groups::id, chat_groups::name, chat_groups::admin))
                .order(chat_groups::id.asc())
                .load::<(i64, String, String)>(conn)?
                .into_iter()
                .map(group_record)
                .collect()
        })
    }

    async fn members_of(&self, id: GroupId) -> Result<Vec<Username>, PortError> {
        with_conn!(self, |conn| {
            memberships::table
                .filter(memberships::group_id.eq(id.get()))
                .select(memberships::username)
                .order(memberships::username.asc())
                .load::<String>(conn)?
                .into_iter()
                .map(username)
                .collect()
        })
    }

    async fn set_admin(&self, id: GroupId, admin: &Username) -> Result<bool, PortError> {
        let admin = admin.as_str().to_owned();
        with_conn!(self, |conn| {
            let changed = diesel::update(chat_groups::table.find(id.get()))
                .set(chat_groups::admin.eq(admin))
                .execute(conn)?;
            Ok(changed > 0)
        })
    }

    async fn rename_group(&self, id: GroupId, name: &GroupName) -> Result<bool, PortError> {
        let name = name.as_str().to_owned();
        with_conn!(self, |conn| {
            let changed = diesel::update(chat_groups::table.find(id.get()))
                .set(chat_groups::name.eq(name))
                .execute(conn)?;
            Ok(changed > 0)
        })
    }

    async fn all_memberships(&self) -> Result<Vec<(GroupId, Vec<Username>)>, PortError> {
        with_conn!(self, |conn| {
            let groups = chat_groups::table
                .select(chat_groups::id)
                .order(chat_groups::id.asc())
                .load::<i64>(conn)?;
            let members = memberships::table
                .select((memberships::group_id, memberships::username))
                .order((memberships::group_id.asc(), memberships::username.asc()))
                .load::<(i64, String)>(conn)?;
            let mut members = members.into_iter().peekable();
            let mut result = Vec::with_capacity(groups.len());
            for group in groups {
                let mut names = Vec::new();
                while let Some((_, name)) = members.next_if(|(g, _)| *g == group) {
                    names.push(username(name)?);
                }
                result.push((GroupId::new(group), names));
            }
            Ok(result)
        })
    }

    async fn delete_group(&self, id: GroupId) -> Result<bool, PortError> {
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                // The schema cascades, but not on a SQLite connection with
                // foreign keys off (the bulk writer's): say it outright.
                diesel::delete(memberships::table.filter(memberships::group_id.eq(id.get())))
                    .execute(conn)?;
                // Its history goes with it.
                let conversation = conversations::table
                    .filter(conversations::group_id.eq(id.get()))
                    .select(conversations::id);
                diesel::delete(
                    messages::table.filter(messages::conversation_id.eq_any(conversation)),
                )
                .execute(conn)?;
                diesel::delete(conversations::table.filter(conversations::group_id.eq(id.get())))
                    .execute(conn)?;
                let deleted = diesel::delete(chat_groups::table.find(id.get())).execute(conn)?;
                Ok(deleted > 0)
            })
        })
    }

    async fn count_groups_administered(&self, user: &Username) -> Result<u64, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let count = chat_groups::table
                .filter(chat_groups::admin.eq(name))
                .count()
                .get_result::<i64>(conn)?;
            Ok(count.unsigned_abs())
        })
    }

    async fn add_invitation(
        &self,
        group: GroupId,
        user: &Username,
        by: &Username,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.add_invite(group, user, by, at).await
    }

    async fn remove_invitation(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<Username>, PortError> {
        self.remove_invite(group, user).await
    }

    async fn invitations_of(&self, user: &Username) -> Result<Vec<Invitation>, PortError> {
        self.invites_of(user).await
    }
}
