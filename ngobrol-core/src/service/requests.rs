//! Requests clients named (their recorded replies, for de-duplication)
//! and the routing restored from the store.

use std::time::{Duration, SystemTime};

use super::{Auth, ChatService};
use crate::error::ChatError;
use crate::ports::RequestKey;

impl ChatService {
    /// The reply already given to the request `key`, if any. Only for
    /// authenticated requests: the caller checks `auth` first, so nobody
    /// can read another user's replies by guessing request ids.
    pub async fn recorded_reply(
        &self,
        auth: &Auth,
        key: &RequestKey,
    ) -> Result<Option<Vec<u8>>, ChatError> {
        self.authenticate(auth).await?;
        Ok(self.ports.requests.find_reply(key).await?)
    }

    /// Records the reply given to the request `key`.
    pub async fn record_reply(&self, key: &RequestKey, reply: &[u8]) -> Result<(), ChatError> {
        Ok(self
            .ports
            .requests
            .record_reply(key, reply, self.config.clock.now())
            .await?)
    }

    /// Forgets recorded replies older than `window`, then all but the
    /// newest `keep`.
    pub async fn prune_replies(&self, window: Duration, keep: u64) -> Result<u64, ChatError> {
        let before = self
            .config
            .clock
            .now()
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(self.ports.requests.prune(before, keep).await?)
    }

    /// Re-creates every group's channel and subscriptions from the store,
    /// so that routing matches the store after the outbound side lost its
    /// state (a fresh broker). Returns the number of groups.
    pub async fn restore_routing(&self) -> Result<usize, ChatError> {
        let routing = self.stored_routing().await?;
        self.ports
            .outbound
            .restore_routing(&routing.memberships, &routing.mailbox_readers)
            .await?;
        Ok(routing.memberships.len())
    }

    /// The routing the store asks for: every group with its members, and
    /// the users whose mailbox takes every delivery (the original client's
    /// users).
    pub async fn stored_routing(&self) -> Result<StoredRouting, ChatError> {
        Ok(StoredRouting {
            memberships: self.ports.groups.all_memberships().await?,
            mailbox_readers: self.ports.users.mailbox_readers().await?,
        })
    }
}

/// The routing the store asks for (see [`ChatService::stored_routing`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredRouting {
    /// Every group with its members, by group id.
    pub memberships: Vec<(crate::types::GroupId, Vec<crate::types::Username>)>,
    /// The users whose mailbox takes every delivery.
    pub mailbox_readers: Vec<crate::types::Username>,
}
