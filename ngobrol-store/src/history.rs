//! The history: conversations and their messages.
//!
//! A message is stored in one write transaction that numbers it in its
//! conversation (the conversation's row is updated first, so concurrent
//! appends to one conversation, from several servers on PostgreSQL, take
//! turns) and takes the next position. A sync looks only at the caller's
//! conversations whose newest message is past the cursor, and reads each
//! through the index on (conversation, position), so its cost follows what
//! the caller missed, not the size of the table.

use std::time::SystemTime;

use async_trait::async_trait;
use diesel::prelude::*;
use ngobrol_core::{
    Conversation, ConversationSummary, Delivery, GroupId, HistoryQuery, HistoryRepository, Marker,
    MessageId, MessageText, Placement, PortError, Retention, StoredMessage, Username,
};

use crate::conn::ReadSnapshot;
use crate::convert::{MessageRow, message_columns, stored_message, to_millis};
use crate::open::Store;
use crate::schema::{conversations, memberships, messages};

/// The types of the columns a message is read with.
type MessageColumnsOf = (
    messages::position,
    messages::seq,
    messages::message_id,
    messages::sent_at,
    messages::kind,
    messages::sender,
    messages::recipient,
    messages::group_id,
    messages::group_name,
    messages::body,
    messages::actor,
    messages::amended_at,
    messages::deleted,
);

/// The columns of a [`MessageRow`], in its order.
const MESSAGE_ROW: MessageColumnsOf = (
    messages::position,
    messages::seq,
    messages::message_id,
    messages::sent_at,
    messages::kind,
    messages::sender,
    messages::recipient,
    messages::group_id,
    messages::group_name,
    messages::body,
    messages::actor,
    messages::amended_at,
    messages::deleted,
);

/// What identifies a stored message's content: position, seq, kind,
/// sender, recipient, group, body.
type StoredKey = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<Vec<u8>>,
);

/// How many of the oldest messages one step of pruning by age looks at.
const PRUNE_BATCH: i64 = 1_000;

/// A conversation as its row is found: two names, or a group's id.
enum Key {
    Direct(String, String),
    Group(i64),
}

impl From<&Conversation> for Key {
    fn from(conversation: &Conversation) -> Self {
        match conversation {
            Conversation::Direct { low, high } => {
                Key::Direct(low.as_str().to_owned(), high.as_str().to_owned())
            }
            Conversation::Group(group) => Key::Group(group.get()),
        }
    }
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn placement(position: i64, seq: i64) -> Placement {
    Placement {
        position: position.unsigned_abs(),
        seq: seq.unsigned_abs(),
    }
}

/// The id of the conversation's row, if it has one. Written once per
/// backend's connection by the macro, like the repositories' bodies.
macro_rules! conversation_id {
    ($conn:expr, $key:expr) => {
        match $key {
            Key::Direct(low, high) => conversations::table
                .filter(conversations::user_low.eq(low))
                .filter(conversations::user_high.eq(high))
                .select(conversations::id)
                .get_result::<i64>($conn)
                .optional(),
            Key::Group(group) => conversations::table
                .filter(conversations::group_id.eq(*group))
                .select(conversations::id)
                .get_result::<i64>($conn)
                .optional(),
        }
    };
}

/// Stores one message in a write transaction that holds the history's
/// turn (`$conn`), unless the same message is stored already: its
/// placement. Written once per backend's connection, like
/// `conversation_id!`.
macro_rules! append_row {
    ($conn:expr, $job:expr) => {{
        let conn = $conn;
        let Job {
            columns,
            id,
            sent_at,
            key,
        } = $job;
        let sent_at = *sent_at;
        let stored = messages::table
            .filter(messages::message_id.eq(id))
            .select((
                messages::position,
                messages::seq,
                messages::kind,
                messages::sender,
                messages::recipient,
                messages::group_id,
                messages::body,
            ))
            .get_result::<StoredKey>(conn)
            .optional()?;
        if let Some((position, seq, kind, sender, recipient, group, body)) = stored {
            // The same delivery again (a retried request), or
            // another one under a reused id: refused, not merged.
            let same = kind == columns.kind
                && sender == columns.sender
                && recipient == columns.recipient
                && group == columns.group_id
                && body == columns.body;
            if !same {
                return Err(crate::error::Failure::Conflict);
            }
            return Ok(placement(position, seq));
        }
        let conversation_id = match conversation_id!(conn, &key)? {
            Some(found) => found,
            None => {
                match &key {
                    Key::Direct(low, high) => diesel::insert_into(conversations::table)
                        .values((
                            conversations::user_low.eq(low),
                            conversations::user_high.eq(high),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)?,
                    Key::Group(group) => diesel::insert_into(conversations::table)
                        .values(conversations::group_id.eq(*group))
                        .on_conflict_do_nothing()
                        .execute(conn)?,
                };
                conversation_id!(conn, &key)?.ok_or_else(|| {
                    crate::error::Failure::Corrupt("a conversation vanished".into())
                })?
            }
        };
        // The row's lock orders concurrent appends to it.
        let seq = diesel::update(conversations::table.find(conversation_id))
            .set(conversations::last_seq.eq(conversations::last_seq + 1))
            .returning(conversations::last_seq)
            .get_result::<i64>(conn)?;
        let position = diesel::insert_into(messages::table)
            .values((
                messages::conversation_id.eq(conversation_id),
                messages::seq.eq(seq),
                messages::message_id.eq(id),
                messages::sent_at.eq(sent_at),
                messages::kind.eq(columns.kind),
                messages::sender.eq(&columns.sender),
                messages::recipient.eq(&columns.recipient),
                messages::group_id.eq(columns.group_id),
                messages::group_name.eq(&columns.group_name),
                messages::body.eq(&columns.body),
                messages::actor.eq(&columns.actor),
            ))
            .returning(messages::position)
            .get_result::<i64>(conn)?;
        diesel::update(conversations::table.find(conversation_id))
            .set(conversations::last_position.eq(position))
            .execute(conn)?;
        Ok(placement(position, seq))
    }};
}

mod amend;
mod append;
mod markers;

pub(crate) use append::Appends;

#[async_trait]
impl HistoryRepository for Store {
    async fn append_message(
        &self,
        conversation: &Conversation,
        delivery: &Delivery,
    ) -> Result<Placement, PortError> {
        let job = append::Job {
            columns: message_columns(conversation, &delivery.body),
            id: delivery.id.to_string(),
            sent_at: to_millis(delivery.sent_at),
            key: Key::from(conversation),
        };
        self.appends.append(&self.pools, job).await
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>, PortError> {
        let key = Key::from(&query.conversation);
        let above = signed(query.visible_after.max(query.after.unwrap_or(0)));
        let below = query.before.map_or(i64::MAX, signed);
        let forward = query.after.is_some();
        let limit = signed(query.limit as u64);
        let rows = with_conn!(self, |conn| {
            let Some(conversation_id) = conversation_id!(conn, &key)? else {
                return Ok(Vec::new());
            };
            let page = messages::table
                .filter(messages::conversation_id.eq(conversation_id))
                .filter(messages::seq.gt(above))
                .filter(messages::seq.lt(below))
                .select(MESSAGE_ROW)
                .limit(limit);
            let rows = if forward {
                page.order(messages::seq.asc()).load::<MessageRow>(conn)?
            } else {
                let mut newest = page.order(messages::seq.desc()).load::<MessageRow>(conn)?;
                newest.reverse();
                newest
            };
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|row| stored_message(row).map_err(PortError::from))
            .collect()
    }

    async fn sync(
        &self,
        user: &Username,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, PortError> {
        let name = user.as_str().to_owned();
        let after = signed(after);
        let limit = signed(limit as u64);
        let mut rows = with_conn!(self, |conn| conn.read_snapshot(|conn| {
            // One snapshot for all of it: a conversation that changes
            // between the reads below is seen as it was, so the page's
            // cursor never passes over a message it did not return.
            // The caller's conversations that changed since the cursor,
            // each with what of it they may not see.
            let mut scope: Vec<(i64, i64)> = conversations::table
                .filter(
                    conversations::user_low
                        .eq(&name)
                        .or(conversations::user_high.eq(&name)),
                )
                .filter(conversations::last_position.gt(after))
                .select((
                    conversations::id,
                    0i64.into_sql::<diesel::sql_types::BigInt>(),
                ))
                .load(conn)?;
            scope.extend(
                memberships::table
                    .inner_join(
                        conversations::table
                            .on(conversations::group_id.eq(memberships::group_id.nullable())),
                    )
                    .filter(memberships::username.eq(&name))
                    .filter(conversations::last_position.gt(after))
                    .select((conversations::id, memberships::joined_after))
                    .load::<(i64, i64)>(conn)?,
            );
            let mut rows = Vec::new();
            for (conversation_id, floor) in scope {
                rows.extend(
                    messages::table
                        .filter(messages::conversation_id.eq(conversation_id))
                        .filter(messages::position.gt(after))
                        .filter(messages::seq.gt(floor))
                        .order(messages::position.asc())
                        .select(MESSAGE_ROW)
                        .limit(limit)
                        .load::<MessageRow>(conn)?,
                );
            }
            Ok(rows)
        }))?;
        rows.sort_unstable_by_key(|row| row.0);
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.into_iter()
            .map(|row| stored_message(row).map_err(PortError::from))
            .collect()
    }

    async fn joined_after(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<u64>, PortError> {
        let name = user.as_str().to_owned();
        with_conn!(self, |conn| {
            let floor = memberships::table
                .filter(memberships::group_id.eq(group.get()))
                .filter(memberships::username.eq(name))
                .select(memberships::joined_after)
                .get_result::<i64>(conn)
                .optional()?;
            Ok(floor.map(i64::unsigned_abs))
        })
    }

    async fn find_message(&self, id: &MessageId) -> Result<Option<StoredMessage>, PortError> {
        self.find(id).await
    }

    async fn amend_message(
        &self,
        id: &MessageId,
        text: Option<MessageText>,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        self.amend(id, text, at).await
    }

    async fn advance_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
        marker: Marker,
        seq: u64,
    ) -> Result<Option<(u64, u64)>, PortError> {
        self.advance(user, conversation, marker, seq).await
    }

    async fn authors_between(
        &self,
        conversation: &Conversation,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<Username>, PortError> {
        self.authors(conversation, after, up_to).await
    }

    async fn conversations_of(
        &self,
        user: &Username,
    ) -> Result<Vec<ConversationSummary>, PortError> {
        self.listed(user).await
    }

    async fn latest_position(&self) -> Result<u64, PortError> {
        with_conn!(self, |conn| {
            let latest = messages::table
                .select(diesel::dsl::max(messages::position))
                .get_result::<Option<i64>>(conn)?;
            Ok(latest.unwrap_or(0).unsigned_abs())
        })
    }

    async fn prune_history(&self, retention: Retention, now: SystemTime) -> Result<u64, PortError> {
        let mut removed = 0;
        if let Some(age) = retention.max_age {
            let cutoff = to_millis(now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH));
            // Positions follow the times messages were sent, give or take
            // the clocks of several servers: the old ones come first. A
            // batch at a time from the oldest, removing what is old in it,
            // until a batch holds nothing old.
            let mut from = 0i64;
            loop {
                let (gone, next) = with_conn!(self, |conn| {
                    let batch = messages::table
                        .filter(messages::position.gt(from))
                        .select((messages::position, messages::sent_at))
                        .order(messages::position.asc())
                        .limit(PRUNE_BATCH)
                        .load::<(i64, i64)>(conn)?;
                    let Some(&(last, _)) = batch.last() else {
                        return Ok((0, None));
                    };
                    if !batch.iter().any(|(_, at)| *at < cutoff) {
                        return Ok((0, None));
                    }
                    let gone = diesel::delete(
                        messages::table
                            .filter(messages::position.gt(from))
                            .filter(messages::position.le(last))
                            .filter(messages::sent_at.lt(cutoff)),
                    )
                    .execute(conn)?;
                    Ok((gone as u64, Some(last)))
                })?;
                removed += gone;
                match next {
                    Some(last) => from = last,
                    None => break,
                }
            }
        }
        if let Some(keep) = retention.max_per_conversation {
            let keep = signed(keep);
            removed += with_conn!(self, |conn| {
                let long = conversations::table
                    .filter(conversations::last_seq.gt(keep))
                    .select((conversations::id, conversations::last_seq))
                    .load::<(i64, i64)>(conn)?;
                let mut gone = 0;
                for (conversation_id, last_seq) in long {
                    gone += diesel::delete(
                        messages::table
                            .filter(messages::conversation_id.eq(conversation_id))
                            .filter(messages::seq.le(last_seq - keep)),
                    )
                    .execute(conn)?;
                }
                Ok(gone as u64)
            })?;
        }
        Ok(removed)
    }
}
