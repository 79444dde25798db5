//! [`MemoryStore`]'s users and their sessions.

use std::time::SystemTime;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::PortError;
use crate::ports::{PresenceState, SessionRecord, SessionRepository, UserRecord, UserRepository};
use crate::types::{SessionId, TokenHash, Username};

#[async_trait]
impl UserRepository for MemoryStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<(), PortError> {
        let mut state = self.state();
        if state.users.contains_key(&user.username) {
            return Err(PortError::Conflict);
        }
        state.users.insert(user.username.clone(), user.clone());
        Ok(())
    }

    async fn find_user(&self, username: &Username) -> Result<Option<UserRecord>, PortError> {
        Ok(self.state().users.get(username).cloned())
    }

    async fn set_mailbox_reader(&self, user: &Username, reads: bool) -> Result<bool, PortError> {
        let mut state = self.state();
        if !state.users.contains_key(user) {
            return Ok(false);
        }
        Ok(if reads {
            state.mailbox_readers.insert(user.clone())
        } else {
            state.mailbox_readers.remove(user)
        })
    }

    async fn is_mailbox_reader(&self, user: &Username) -> Result<bool, PortError> {
        Ok(self.state().mailbox_readers.contains(user))
    }

    async fn mailbox_readers(&self) -> Result<Vec<Username>, PortError> {
        Ok(self.state().mailbox_readers.iter().cloned().collect())
    }

    async fn shares_activity(&self, user: &Username) -> Result<bool, PortError> {
        Ok(!self.state().activity_hidden.contains(user))
    }

    async fn set_shares_activity(&self, user: &Username, share: bool) -> Result<(), PortError> {
        let mut state = self.state();
        if share {
            state.activity_hidden.remove(user);
        } else {
            state.activity_hidden.insert(user.clone());
        }
        Ok(())
    }

    async fn set_disabled(&self, user: &Username, disabled: bool) -> Result<bool, PortError> {
        let mut state = self.state();
        if !state.users.contains_key(user) {
            return Ok(false);
        }
        if disabled {
            state.disabled.insert(user.clone());
        } else {
            state.disabled.remove(user);
        }
        Ok(true)
    }

    async fn is_disabled(&self, user: &Username) -> Result<bool, PortError> {
        Ok(self.state().disabled.contains(user))
    }

    async fn set_password_hash(&self, user: &Username, hash: &str) -> Result<bool, PortError> {
        let mut state = self.state();
        Ok(match state.users.get_mut(user) {
            Some(record) => {
                record.password_hash = hash.to_owned();
                true
            }
            None => false,
        })
    }
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), PortError> {
        let mut state = self.state();
        if state.sessions.contains_key(&session.token_hash)
            || state.sessions.values().any(|s| s.id == session.id)
        {
            return Err(PortError::Conflict);
        }
        state
            .sessions
            .insert(session.token_hash.clone(), session.clone());
        Ok(())
    }

    async fn find_session(
        &self,
        token_hash: &TokenHash,
    ) -> Result<Option<SessionRecord>, PortError> {
        Ok(self.state().sessions.get(token_hash).cloned())
    }

    async fn sessions_of(&self, user: &Username) -> Result<Vec<SessionRecord>, PortError> {
        let mut sessions: Vec<SessionRecord> = self
            .state()
            .sessions
            .values()
            .filter(|s| s.username == *user)
            .cloned()
            .collect();
        sessions.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        Ok(sessions)
    }

    async fn delete_session(&self, token_hash: &TokenHash) -> Result<bool, PortError> {
        Ok(self.state().sessions.remove(token_hash).is_some())
    }

    async fn delete_session_by_id(
        &self,
        user: &Username,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, PortError> {
        let mut state = self.state();
        let hash = state
            .sessions
            .values()
            .find(|s| s.id == *id && s.username == *user)
            .map(|s| s.token_hash.clone());
        Ok(hash.and_then(|hash| state.sessions.remove(&hash)))
    }

    async fn delete_sessions_of(&self, user: &Username) -> Result<Vec<SessionId>, PortError> {
        let mut state = self.state();
        let mut ended: Vec<SessionRecord> = Vec::new();
        state.sessions.retain(|_, s| {
            if s.username == *user {
                ended.push(s.clone());
                false
            } else {
                true
            }
        });
        ended.sort_by(|a, b| (a.issued_at, &a.id).cmp(&(b.issued_at, &b.id)));
        Ok(ended.into_iter().map(|s| s.id).collect())
    }

    async fn touch_session(&self, token_hash: &TokenHash, at: SystemTime) -> Result<(), PortError> {
        if let Some(session) = self.state().sessions.get_mut(token_hash) {
            session.last_seen = at;
        }
        Ok(())
    }

    async fn set_presence(
        &self,
        token_hash: &TokenHash,
        presence: PresenceState,
        at: SystemTime,
    ) -> Result<(), PortError> {
        self.state()
            .presence
            .insert(token_hash.clone(), (presence, at));
        Ok(())
    }

    async fn presence_reports(
        &self,
        user: &Username,
    ) -> Result<Vec<(PresenceState, SystemTime)>, PortError> {
        let state = self.state();
        // A session that ended took its report along.
        Ok(state
            .presence
            .iter()
            .filter(|(hash, _)| {
                state
                    .sessions
                    .get(*hash)
                    .is_some_and(|s| s.username == *user)
            })
            .map(|(_, report)| *report)
            .collect())
    }
}
