//! [`MemoryOutbound`]: the outbound side, in memory.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::error::PortError;
use crate::ports::{Delivery, Outbound, Signal};
use crate::types::{GroupId, SessionId, Username};

/// The mailbox of one session: whose it is, and what waits in it.
#[derive(Debug)]
struct SessionMailbox {
    user: Username,
    deliveries: VecDeque<Delivery>,
}

#[derive(Debug, Default)]
struct OutboundState {
    mailboxes: HashMap<Username, VecDeque<Delivery>>,
    sessions: BTreeMap<SessionId, SessionMailbox>,
    closed_sessions: Vec<SessionId>,
    channels: BTreeMap<GroupId, BTreeSet<Username>>,
    shared_mailboxes: BTreeSet<Username>,
    signals: Vec<(Username, Signal)>,
}

impl OutboundState {
    /// Puts a copy of `delivery` in `user`'s mailbox, if there is one, and
    /// in the mailbox of each of the user's sessions.
    fn deliver(&mut self, user: &Username, delivery: &Delivery) {
        if let Some(mailbox) = self.mailboxes.get_mut(user) {
            mailbox.push_back(delivery.clone());
        }
        for session in self.sessions.values_mut() {
            if session.user == *user {
                session.deliveries.push_back(delivery.clone());
            }
        }
    }
}

/// The outbound side, in memory: a mailbox of deliveries per user and per
/// session, and the subscribers of each group. A session's mailbox gets a
/// copy of every delivery to its user from the time it was opened.
///
/// Like a broker, it drops a delivery addressed to a user without a
/// mailbox, and refuses to subscribe anyone to a group channel that does not
/// exist.
#[derive(Debug, Default)]
pub struct MemoryOutbound {
    state: Mutex<OutboundState>,
}

impl MemoryOutbound {
    /// An outbound side with no mailboxes and no group channels.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes every signal sent to `user`, oldest first.
    pub fn drain_signals(&self, user: &Username) -> Vec<Signal> {
        let mut state = self.state();
        let (theirs, rest) = std::mem::take(&mut state.signals)
            .into_iter()
            .partition(|(to, _)| to == user);
        state.signals = rest;
        theirs.into_iter().map(|(_, signal)| signal).collect()
    }

    /// Takes every delivery waiting in `user`'s mailbox, oldest first.
    pub fn drain(&self, user: &Username) -> Vec<Delivery> {
        self.state()
            .mailboxes
            .get_mut(user)
            .map(|mailbox| mailbox.drain(..).collect())
            .unwrap_or_default()
    }

    /// Takes every delivery waiting in the session's mailbox, oldest first.
    pub fn drain_session(&self, session: &SessionId) -> Vec<Delivery> {
        self.state()
            .sessions
            .get_mut(session)
            .map(|mailbox| mailbox.deliveries.drain(..).collect())
            .unwrap_or_default()
    }

    /// Whether `user`'s mailbox is shared with a client of the original
    /// protocol ([`Outbound::share_mailbox`]).
    pub fn is_mailbox_shared(&self, user: &Username) -> bool {
        self.state().shared_mailboxes.contains(user)
    }

    /// Whether the session's mailbox is open.
    pub fn has_session_mailbox(&self, session: &SessionId) -> bool {
        self.state().sessions.contains_key(session)
    }

    /// The sessions of `user` whose mailboxes are open, by id.
    pub fn session_mailboxes_of(&self, user: &Username) -> Vec<SessionId> {
        self.state()
            .sessions
            .iter()
            .filter(|(_, mailbox)| mailbox.user == *user)
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Every session mailbox closed so far, in the order they were closed
    /// (closing one that was not open counts too).
    pub fn closed_session_mailboxes(&self) -> Vec<SessionId> {
        self.state().closed_sessions.clone()
    }

    /// Whether `user` is subscribed to the group.
    pub fn is_subscribed(&self, group: GroupId, user: &Username) -> bool {
        self.state()
            .channels
            .get(&group)
            .is_some_and(|members| members.contains(user))
    }

    /// Whether the group's channel exists.
    pub fn has_channel(&self, group: GroupId) -> bool {
        self.state().channels.contains_key(&group)
    }

    fn state(&self) -> MutexGuard<'_, OutboundState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl Outbound for MemoryOutbound {
    async fn ensure_mailbox(&self, user: &Username) -> Result<(), PortError> {
        self.state().mailboxes.entry(user.clone()).or_default();
        Ok(())
    }

    async fn open_session_mailbox(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError> {
        self.state()
            .sessions
            .entry(session.clone())
            .or_insert_with(|| SessionMailbox {
                user: user.clone(),
                deliveries: VecDeque::new(),
            });
        Ok(())
    }

    async fn close_session_mailbox(&self, session: &SessionId) -> Result<(), PortError> {
        let mut state = self.state();
        state.sessions.remove(session);
        state.closed_sessions.push(session.clone());
        Ok(())
    }

    async fn share_mailbox(&self, user: &Username, shared: bool) -> Result<(), PortError> {
        // The user's mailbox here gets every delivery anyway; what is
        // noted is whether it was shared, for tests to see.
        let mut state = self.state();
        if shared {
            state.shared_mailboxes.insert(user.clone());
        } else {
            state.shared_mailboxes.remove(user);
        }
        Ok(())
    }

    async fn create_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.state().channels.entry(group).or_default();
        Ok(())
    }

    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.state().channels.remove(&group);
        Ok(())
    }

    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        match self.state().channels.get_mut(&group) {
            Some(members) => {
                members.insert(user.clone());
                Ok(())
            }
            None => Err(PortError::Unavailable(format!(
                "group channel {group} does not exist"
            ))),
        }
    }

    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        if let Some(members) = self.state().channels.get_mut(&group) {
            members.remove(user);
        }
        Ok(())
    }

    async fn signal(&self, users: &[Username], signal: &Signal) -> Result<(), PortError> {
        let mut state = self.state();
        for user in users {
            state.signals.push((user.clone(), signal.clone()));
        }
        Ok(())
    }

    async fn deliver_to_user(&self, user: &Username, delivery: &Delivery) -> Result<(), PortError> {
        self.state().deliver(user, delivery);
        Ok(())
    }

    async fn deliver_to_group(&self, group: GroupId, delivery: &Delivery) -> Result<(), PortError> {
        let mut state = self.state();
        let members: Vec<Username> = state
            .channels
            .get(&group)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default();
        for member in members {
            state.deliver(&member, delivery);
        }
        Ok(())
    }
}
