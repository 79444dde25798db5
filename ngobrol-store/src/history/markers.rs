//! Readers' markers (delivered, read) per conversation, and the
//! conversation list they give unread counts to.

use diesel::prelude::*;
use ngobrol_core::{Conversation, ConversationSummary, Marker, PortError, Username};

use super::{Key, MESSAGE_ROW, signed};
use crate::conn::WriteTransaction;
use crate::convert::{MessageRow, stored_message, username};
use crate::open::Store;
use crate::schema::{conversations, markers, memberships, messages};

/// The kinds of message that count as someone's (not notices).
const AUTHORED: [&str; 2] = ["direct", "group"];

/// A conversation's row as the list reads it: its latest visible message,
/// the reader's read marker, the unread count, the other person's marker.
type Listed = (MessageRow, i64, i64, Option<i64>);

impl Store {
    pub(super) async fn advance(
        &self,
        user: &Username,
        conversation: &Conversation,
        marker: Marker,
        seq: u64,
    ) -> Result<Option<(u64, u64)>, PortError> {
        let key = Key::from(conversation);
        let name = user.as_str().to_owned();
        let wanted = signed(seq);
        with_conn!(self, |conn| {
            conn.write_transaction(|conn| {
                let found = match &key {
                    Key::Direct(low, high) => conversations::table
                        .filter(conversations::user_low.eq(low))
                        .filter(conversations::user_high.eq(high))
                        .select((conversations::id, conversations::last_seq))
                        .get_result::<(i64, i64)>(conn)
                        .optional()?,
                    Key::Group(group) => conversations::table
                        .filter(conversations::group_id.eq(*group))
                        .select((conversations::id, conversations::last_seq))
                        .get_result::<(i64, i64)>(conn)
                        .optional()?,
                };
                let Some((id, last_seq)) = found else {
                    return Ok(None);
                };
                let seq = wanted.min(last_seq);
                diesel::insert_into(markers::table)
                    .values((markers::username.eq(&name), markers::conversation_id.eq(id)))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
                let row = markers::table.find((&name, id));
                let (delivered, read) = row
                    .select((markers::delivered_seq, markers::read_seq))
                    .get_result::<(i64, i64)>(conn)?;
                let current = match marker {
                    Marker::Delivered => delivered,
                    Marker::Read => read,
                };
                if seq <= current {
                    return Ok(None);
                }
                match marker {
                    Marker::Delivered => diesel::update(row)
                        .set(markers::delivered_seq.eq(seq))
                        .execute(conn)?,
                    Marker::Read => diesel::update(row)
                        .set((
                            markers::read_seq.eq(seq),
                            markers::delivered_seq.eq(delivered.max(seq)),
                        ))
                        .execute(conn)?,
                };
                Ok(Some((current.unsigned_abs(), seq.unsigned_abs())))
            })
        })
    }

    pub(super) async fn authors(
        &self,
        conversation: &Conversation,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<Username>, PortError> {
        let key = Key::from(conversation);
        let (after, up_to) = (signed(after), signed(up_to));
        let names = with_conn!(self, |conn| {
            let Some(id) = conversation_id!(conn, &key)? else {
                return Ok(Vec::new());
            };
            messages::table
                .filter(messages::conversation_id.eq(id))
                .filter(messages::seq.gt(after))
                .filter(messages::seq.le(up_to))
                .filter(messages::kind.eq_any(AUTHORED))
                .select(messages::sender)
                .distinct()
                .load::<String>(conn)
                .map_err(Into::into)
        })?;
        names
            .into_iter()
            .map(|n| username(n).map_err(PortError::from))
            .collect()
    }

    pub(super) async fn listed(
        &self,
        user: &Username,
    ) -> Result<Vec<ConversationSummary>, PortError> {
        let name = user.as_str().to_owned();
        let rows: Vec<Listed> = with_conn!(self, |conn| {
            // Direct conversations (with the other person), and groups
            // (with the reader's floor).
            let mut scope: Vec<(i64, i64, Option<String>)> = conversations::table
                .filter(
                    conversations::user_low
                        .eq(&name)
                        .or(conversations::user_high.eq(&name)),
                )
                .select((
                    conversations::id,
                    conversations::user_low,
                    conversations::user_high,
                ))
                .load::<(i64, Option<String>, Option<String>)>(conn)?
                .into_iter()
                .map(|(id, low, high)| {
                    let peer = if low.as_deref() == Some(name.as_str()) {
                        high
                    } else {
                        low
                    };
                    (id, 0, peer)
                })
                .collect();
            scope.extend(
                conversations::table
                    .inner_join(
                        memberships::table
                            .on(conversations::group_id.eq(memberships::group_id.nullable())),
                    )
                    .filter(memberships::username.eq(&name))
                    .select((conversations::id, memberships::joined_after))
                    .load::<(i64, i64)>(conn)?
                    .into_iter()
                    .map(|(id, floor)| (id, floor, None)),
            );
            let mut rows = Vec::with_capacity(scope.len());
            for (id, floor, peer) in scope {
                let Some(last) = messages::table
                    .filter(messages::conversation_id.eq(id))
                    .filter(messages::seq.gt(floor))
                    .order(messages::seq.desc())
                    .select(MESSAGE_ROW)
                    .first::<MessageRow>(conn)
                    .optional()?
                else {
                    continue;
                };
                let read_of = |conn: &mut _, who: &str| {
                    markers::table
                        .find((who, id))
                        .select(markers::read_seq)
                        .get_result::<i64>(conn)
                        .optional()
                };
                let read = read_of(&mut *conn, &name)?.unwrap_or(0);
                let unread = messages::table
                    .filter(messages::conversation_id.eq(id))
                    .filter(messages::seq.gt(floor.max(read)))
                    .filter(messages::sender.ne(&name))
                    .filter(messages::kind.eq_any(AUTHORED))
                    .count()
                    .get_result::<i64>(conn)?;
                let peer_read = match &peer {
                    Some(peer) => Some(read_of(&mut *conn, peer)?.unwrap_or(0)),
                    None => None,
                };
                rows.push((last, read, unread, peer_read));
            }
            Ok(rows)
        })?;
        let mut summaries = rows
            .into_iter()
            .map(|(last, read, unread, peer_read)| {
                let last = stored_message(last)?;
                Ok(ConversationSummary {
                    conversation: last.conversation.clone(),
                    last: Some(last),
                    unread: unread.unsigned_abs(),
                    read_up_to: read.unsigned_abs(),
                    peer_read_up_to: peer_read.map(i64::unsigned_abs),
                })
            })
            .collect::<Result<Vec<_>, crate::error::Failure>>()
            .map_err(PortError::from)?;
        summaries
            .sort_by_key(|s| std::cmp::Reverse(s.last.as_ref().map(|m| m.placement().position)));
        Ok(summaries)
    }
}
