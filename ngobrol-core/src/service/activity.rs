//! Activity: who is typing, and who is online. Neither is history: typing
//! is told as it happens and kept nowhere; presence is each session's last
//! report, which counts for [`PRESENCE_TTL`] (clients report again well
//! within it), so a session that stops reporting is offline without
//! saying so. A person may keep both to themselves
//! ([`ChatService::share_activity`]): then their friends see them offline
//! and are never told they type.

use std::time::{Duration, SystemTime};

use super::{Auth, ChatService, Peer};
use crate::error::ChatError;
use crate::ports::{PresenceState, Signal};
use crate::types::Username;

/// How long a session's presence report counts.
pub const PRESENCE_TTL: Duration = Duration::from_secs(90);

impl ChatService {
    /// Tells the others in the conversation with `peer` that the acting
    /// user is typing, unless they keep their activity to themselves.
    /// Refused as reading the conversation would be, and past its own rate
    /// (`rate_limited`: a few a second).
    pub async fn typing(&self, auth: &Auth, peer: &Peer) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let (conversation, _) = self.readable(auth, peer).await?;
        self.typing_rate
            .acquire(auth.user.as_str())
            .map_err(|retry_after| ChatError::RateLimited { retry_after })?;
        if !self.ports.users.shares_activity(&auth.user).await? {
            return Ok(());
        }
        let mut audience = self.audience(&conversation).await?;
        audience.retain(|u| *u != auth.user);
        let signal = Signal::Typing {
            user: auth.user.clone(),
            conversation,
        };
        self.tell(&audience, &signal).await;
        Ok(())
    }

    /// Notes the acting session's presence; when the person's presence
    /// (the liveliest of their sessions) changes, their friends' devices
    /// are told, unless they keep it to themselves.
    pub async fn report_presence(
        &self,
        auth: &Auth,
        state: PresenceState,
    ) -> Result<(), ChatError> {
        let session = self.authorize(auth).await?;
        let before = self.presence_now(&auth.user).await?;
        let now = self.now_millis();
        self.ports
            .sessions
            .set_presence(&session.token_hash, state, now)
            .await?;
        let after = self.presence_now(&auth.user).await?;
        if before != after && self.ports.users.shares_activity(&auth.user).await? {
            let friends = self.ports.friends.friends_of(&auth.user).await?;
            let signal = Signal::Presence {
                user: auth.user.clone(),
                state: after,
            };
            self.tell(&friends, &signal).await;
        }
        Ok(())
    }

    /// The presence of each of `users` who is the acting user's friend
    /// (others are left out), by name: offline for one who keeps it to
    /// themselves.
    pub async fn presence(
        &self,
        auth: &Auth,
        users: &[Username],
    ) -> Result<Vec<(Username, PresenceState)>, ChatError> {
        self.authorize(auth).await?;
        let mut found = Vec::new();
        for user in users {
            if !self.ports.friends.are_friends(&auth.user, user).await? {
                continue;
            }
            let state = if self.ports.users.shares_activity(user).await? {
                self.presence_now(user).await?
            } else {
                PresenceState::Offline
            };
            found.push((user.clone(), state));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.dedup_by(|a, b| a.0 == b.0);
        Ok(found)
    }

    /// Whether the acting user's typing and presence are shown to their
    /// friends (they are, until they say otherwise).
    pub async fn share_activity(&self, auth: &Auth, share: bool) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let was = self.ports.users.shares_activity(&auth.user).await?;
        self.ports
            .users
            .set_shares_activity(&auth.user, share)
            .await?;
        if was != share {
            // Friends see the change: gone quiet, or back.
            let state = if share {
                self.presence_now(&auth.user).await?
            } else {
                PresenceState::Offline
            };
            let friends = self.ports.friends.friends_of(&auth.user).await?;
            let signal = Signal::Presence {
                user: auth.user.clone(),
                state,
            };
            self.tell(&friends, &signal).await;
        }
        Ok(())
    }

    /// A person's presence now: the liveliest report of their sessions
    /// within [`PRESENCE_TTL`]; offline with none.
    async fn presence_now(&self, user: &Username) -> Result<PresenceState, ChatError> {
        let now = self.config.clock.now();
        let fresh_after = now
            .checked_sub(PRESENCE_TTL)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let reports = self.ports.sessions.presence_reports(user).await?;
        Ok(reports
            .into_iter()
            .filter(|(_, at)| *at > fresh_after)
            .map(|(state, _)| state)
            .max()
            .unwrap_or(PresenceState::Offline))
    }
}
