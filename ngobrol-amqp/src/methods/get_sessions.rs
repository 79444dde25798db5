//! Extension: `get_sessions` lists the user's sessions (devices).

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` asks for their sessions (devices).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetSessions {
    /// The user whose sessions are listed.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// One entry of `get_sessions_reply.sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEntry {
    /// The session's id; its own queue is `<ns>.session.<id>`.
    pub session_id: String,
    /// The device name given at login, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// When the session was last used, to the minute; RFC 3339, UTC.
    pub last_seen_at: String,
    /// Whether this is the session that asked.
    #[serde(default)]
    pub current: bool,
}

/// The body of `get_sessions_reply`: the sessions, oldest first; empty in
/// an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSessionsReply {
    /// The user's sessions, oldest first.
    #[serde(default)]
    pub sessions: Vec<SessionEntry>,
}

impl Method for GetSessions {
    const NAME: &'static str = "get_sessions";
    const CHANGES_STATE: bool = false;
    type Reply = GetSessionsReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        Some(&self.token)
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for GetSessions {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, GetSessionsReply), ngobrol_core::ChatError> {
        let auth = cx.auth(self.username, self.token)?;
        let current = auth.token.hash();
        let time = |t| humantime::format_rfc3339_seconds(t).to_string();
        let sessions: Vec<_> = cx
            .chat
            .sessions(&auth)
            .await?
            .into_iter()
            .map(|s| SessionEntry {
                session_id: s.id.to_string(),
                device: s.device.map(|d| d.as_str().to_owned()),
                created_at: time(s.issued_at),
                last_seen_at: time(s.last_seen),
                current: s.token_hash == current,
            })
            .collect();
        let said = Said::SessionsListed {
            count: sessions.len(),
        };
        Ok((said, GetSessionsReply { sessions }))
    }
}

#[cfg(feature = "client")]
impl crate::client::Session {
    /// This user's sessions (devices), oldest first.
    pub async fn sessions(&self) -> Result<Vec<SessionEntry>, crate::client::ClientError> {
        let request = GetSessions {
            username: self.username().to_owned(),
            token: self.token().clone(),
        };
        Ok(self.call(request).await?.sessions)
    }
}
