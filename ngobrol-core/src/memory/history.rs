//! [`MemoryStore`]'s history of every conversation.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::SystemTime;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::PortError;
use crate::ports::{
    Amendment, Conversation, ConversationSummary, Delivery, DeliveryBody, HistoryQuery,
    HistoryRepository, Marker, Placement, Retention, StoredMessage,
};
use crate::types::{GroupId, MessageId, MessageText, Username};

/// Every stored message by position, and what each conversation has.
#[derive(Debug, Default)]
pub(super) struct History {
    messages: BTreeMap<u64, StoredMessage>,
    by_id: HashMap<MessageId, Placement>,
    /// Each conversation's latest `seq`, and its messages' positions.
    conversations: HashMap<Conversation, (u64, Vec<u64>)>,
    last_position: u64,
    /// Each reader's markers in each conversation: delivered, read.
    markers: HashMap<(Username, Conversation), (u64, u64)>,
}

impl History {
    /// The conversation's latest `seq`; 0 before its first message.
    pub fn last_seq(&self, conversation: &Conversation) -> u64 {
        self.conversations
            .get(conversation)
            .map_or(0, |(seq, _)| *seq)
    }

    /// Drops a conversation and its messages (a group that ended).
    pub fn forget(&mut self, conversation: &Conversation) {
        self.markers.retain(|(_, c), _| c != conversation);
        if let Some((_, positions)) = self.conversations.remove(conversation) {
            for position in positions {
                self.remove(position);
            }
        }
    }

    fn remove(&mut self, position: u64) {
        if let Some(message) = self.messages.remove(&position) {
            self.by_id.remove(&message.delivery.id);
        }
    }

    fn append(
        &mut self,
        conversation: &Conversation,
        delivery: &Delivery,
    ) -> Result<Placement, PortError> {
        if let Some(placement) = self.by_id.get(&delivery.id) {
            let stored = &self.messages[&placement.position];
            if stored.conversation != *conversation || stored.delivery.body != delivery.body {
                return Err(PortError::Conflict);
            }
            return Ok(*placement);
        }
        self.last_position += 1;
        let (seq, positions) = self.conversations.entry(conversation.clone()).or_default();
        *seq += 1;
        positions.push(self.last_position);
        let placement = Placement {
            position: self.last_position,
            seq: *seq,
        };
        let mut delivery = delivery.clone();
        delivery.placement = Some(placement);
        self.by_id.insert(delivery.id, placement);
        self.messages.insert(
            placement.position,
            StoredMessage {
                conversation: conversation.clone(),
                delivery,
                amended: None,
            },
        );
        Ok(placement)
    }
}

#[async_trait]
impl HistoryRepository for MemoryStore {
    async fn append_message(
        &self,
        conversation: &Conversation,
        delivery: &Delivery,
    ) -> Result<Placement, PortError> {
        self.state().history.append(conversation, delivery)
    }

    async fn history(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>, PortError> {
        let state = self.state();
        let Some((_, positions)) = state.history.conversations.get(&query.conversation) else {
            return Ok(Vec::new());
        };
        let visible = positions
            .iter()
            .filter_map(|p| state.history.messages.get(p))
            .filter(|m| {
                let seq = m.placement().seq;
                seq > query.visible_after
                    && query.after.is_none_or(|after| seq > after)
                    && query.before.is_none_or(|before| seq < before)
            });
        let page: Vec<StoredMessage> = if query.after.is_some() {
            visible.take(query.limit).cloned().collect()
        } else {
            let mut newest: Vec<_> = visible.rev().take(query.limit).cloned().collect();
            newest.reverse();
            newest
        };
        Ok(page)
    }

    async fn sync(
        &self,
        user: &Username,
        after: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>, PortError> {
        let state = self.state();
        let page = state
            .history
            .messages
            .range((Bound::Excluded(after), Bound::Unbounded))
            .map(|(_, m)| m)
            .filter(|m| match &m.conversation {
                Conversation::Direct { low, high } => low == user || high == user,
                Conversation::Group(group) => state
                    .joined_after
                    .get(&(*group, user.clone()))
                    .is_some_and(|floor| m.placement().seq > *floor),
            })
            .take(limit)
            .cloned()
            .collect();
        Ok(page)
    }

    async fn joined_after(
        &self,
        group: GroupId,
        user: &Username,
    ) -> Result<Option<u64>, PortError> {
        Ok(self
            .state()
            .joined_after
            .get(&(group, user.clone()))
            .copied())
    }

    async fn find_message(&self, id: &MessageId) -> Result<Option<StoredMessage>, PortError> {
        let state = self.state();
        let history = &state.history;
        Ok(history
            .by_id
            .get(id)
            .and_then(|p| history.messages.get(&p.position))
            .cloned())
    }

    async fn amend_message(
        &self,
        id: &MessageId,
        text: Option<MessageText>,
        at: SystemTime,
    ) -> Result<bool, PortError> {
        let mut state = self.state();
        let history = &mut state.history;
        let Some(placement) = history.by_id.get(id).copied() else {
            return Ok(false);
        };
        let Some(message) = history.messages.get_mut(&placement.position) else {
            return Ok(false);
        };
        let stored = match &mut message.delivery.body {
            DeliveryBody::Direct { text, .. } | DeliveryBody::Group { text, .. } => text,
            DeliveryBody::Notice { .. } => return Ok(false),
        };
        let deleted = text.is_none();
        *stored = text.unwrap_or_else(MessageText::empty);
        message.amended = Some(Amendment { at, deleted });
        Ok(true)
    }

    async fn advance_marker(
        &self,
        user: &Username,
        conversation: &Conversation,
        marker: Marker,
        seq: u64,
    ) -> Result<Option<(u64, u64)>, PortError> {
        let mut state = self.state();
        let history = &mut state.history;
        let latest = history.last_seq(conversation);
        let seq = seq.min(latest);
        let (delivered, read) = history
            .markers
            .entry((user.clone(), conversation.clone()))
            .or_default();
        let before = match marker {
            Marker::Delivered => *delivered,
            Marker::Read => *read,
        };
        if seq <= before {
            return Ok(None);
        }
        *delivered = (*delivered).max(seq);
        if marker == Marker::Read {
            *read = seq;
        }
        Ok(Some((before, seq)))
    }

    async fn authors_between(
        &self,
        conversation: &Conversation,
        after: u64,
        up_to: u64,
    ) -> Result<Vec<Username>, PortError> {
        let state = self.state();
        let history = &state.history;
        let mut authors: Vec<Username> = history
            .conversations
            .get(conversation)
            .into_iter()
            .flat_map(|(_, positions)| positions)
            .filter_map(|p| history.messages.get(p))
            .filter(|m| (after + 1..=up_to).contains(&m.placement().seq))
            .filter_map(|m| match &m.delivery.body {
                DeliveryBody::Direct { from, .. } | DeliveryBody::Group { from, .. } => {
                    Some(from.clone())
                }
                DeliveryBody::Notice { .. } => None,
            })
            .collect();
        authors.sort();
        authors.dedup();
        Ok(authors)
    }

    async fn conversations_of(
        &self,
        user: &Username,
    ) -> Result<Vec<ConversationSummary>, PortError> {
        let state = self.state();
        let history = &state.history;
        let mut summaries = Vec::new();
        for (conversation, (_, positions)) in &history.conversations {
            let floor = match conversation {
                Conversation::Direct { low, high } if low == user || high == user => 0,
                Conversation::Group(group) => match state.joined_after.get(&(*group, user.clone()))
                {
                    Some(floor) => *floor,
                    None => continue,
                },
                Conversation::Direct { .. } => continue,
            };
            let visible: Vec<&StoredMessage> = positions
                .iter()
                .filter_map(|p| history.messages.get(p))
                .filter(|m| m.placement().seq > floor)
                .collect();
            let Some(last) = visible.last() else {
                continue;
            };
            let marker = |who: &Username| {
                history
                    .markers
                    .get(&(who.clone(), conversation.clone()))
                    .map_or(0, |(_, read)| *read)
            };
            let read_up_to = marker(user);
            let unread = visible
                .iter()
                .filter(|m| m.placement().seq > read_up_to)
                .filter(|m| match &m.delivery.body {
                    DeliveryBody::Direct { from, .. } | DeliveryBody::Group { from, .. } => {
                        from != user
                    }
                    DeliveryBody::Notice { .. } => false,
                })
                .count() as u64;
            summaries.push(ConversationSummary {
                conversation: conversation.clone(),
                last: Some((*last).clone()),
                unread,
                read_up_to,
                peer_read_up_to: conversation.peer_of(user).map(marker),
            });
        }
        summaries
            .sort_by_key(|s| std::cmp::Reverse(s.last.as_ref().map(|m| m.placement().position)));
        Ok(summaries)
    }

    async fn latest_position(&self) -> Result<u64, PortError> {
        Ok(self.state().history.last_position)
    }

    async fn prune_history(&self, retention: Retention, now: SystemTime) -> Result<u64, PortError> {
        let mut state = self.state();
        let history = &mut state.history;
        let mut doomed = Vec::new();
        if let Some(age) = retention.max_age {
            let cutoff = now.checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH);
            doomed.extend(
                history
                    .messages
                    .iter()
                    .filter(|(_, m)| m.delivery.sent_at < cutoff)
                    .map(|(p, _)| *p),
            );
        }
        if let Some(keep) = retention.max_per_conversation {
            let keep = usize::try_from(keep).unwrap_or(usize::MAX);
            for (_, positions) in history.conversations.values() {
                let live: Vec<u64> = positions
                    .iter()
                    .copied()
                    .filter(|p| history.messages.contains_key(p))
                    .collect();
                doomed.extend(&live[..live.len().saturating_sub(keep)]);
            }
        }
        doomed.sort_unstable();
        doomed.dedup();
        for position in &doomed {
            history.remove(*position);
        }
        for (_, positions) in history.conversations.values_mut() {
            positions.retain(|p| history.messages.contains_key(p));
        }
        Ok(doomed.len() as u64)
    }
}
