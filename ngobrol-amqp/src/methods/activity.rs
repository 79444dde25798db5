//! Extension: activity. `typing` tells a conversation that the user
//! types; `set_presence` reports a session's presence; `get_presence`
//! asks for friends'; `share_activity` keeps both to oneself, or not.

use serde::{Deserialize, Serialize};

use super::{Method, NoBody};
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` is typing to a friend (`with`) or in a group (`group_id`),
/// exactly one of the two.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Typing {
    /// The user who is typing.
    pub username: String,
    /// The token of `username`'s session.
    pub token: Secret,
    /// The friend being typed to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with: Option<String>,
    /// The group being typed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
}

/// This session is `online`, `away` or `offline`; it counts for 90
/// seconds, so a client reports again well within that.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetPresence {
    /// The user whose session reports its presence.
    pub username: String,
    /// `online`, `away` or `offline`.
    pub state: String,
    /// The token of the session whose presence this is.
    pub token: Secret,
}

/// The presence of those of `usernames` who are friends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GetPresence {
    /// The user who asks.
    pub username: String,
    /// The users to ask about, at most 1,000; only the asker's friends are
    /// answered for.
    pub usernames: Vec<String>,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// Whether `username`'s typing and presence are shown to friends.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShareActivity {
    /// The user whose activity this is.
    pub username: String,
    /// Whether friends see the user's presence and typing (they do until the
    /// user says otherwise).
    pub share: bool,
    /// The token of `username`'s session.
    pub token: Secret,
}

/// One friend's presence in `get_presence_reply`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresenceEntry {
    /// The friend's name.
    pub username: String,
    /// `online`, `away` or `offline`.
    pub state: String,
}

/// The body of `get_presence_reply`, by name; empty in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetPresenceReply {
    /// The presence of those asked about who are friends, by name.
    #[serde(default)]
    pub presence: Vec<PresenceEntry>,
}

macro_rules! method {
    ($method:ident, $name:literal, $changes:literal, $reply:ty) => {
        impl Method for $method {
            const NAME: &'static str = $name;
            const CHANGES_STATE: bool = $changes;
            type Reply = $reply;

            fn acting_user(&self) -> &str {
                &self.username
            }

            fn token(&self) -> Option<&Secret> {
                Some(&self.token)
            }
        }
    };
}

// Typing and presence are of the moment: repeating one is harmless, so
// neither is de-duplicated.
method!(Typing, "typing", false, NoBody);
method!(SetPresence, "set_presence", false, NoBody);
method!(GetPresence, "get_presence", false, GetPresenceReply);
method!(ShareActivity, "share_activity", true, NoBody);

/// The most users one `get_presence` asks about.
pub const MAX_PRESENCE_USERS: usize = 1000;

#[cfg(feature = "server")]
mod server {
    use ngobrol_core::{ChatError, PresenceState, Username};

    use super::*;
    use crate::server::{Context, Execute};

    fn state(name: &str) -> Result<PresenceState, ChatError> {
        match name {
            "online" => Ok(PresenceState::Online),
            "away" => Ok(PresenceState::Away),
            "offline" => Ok(PresenceState::Offline),
            _ => Err(ChatError::BadRequest(
                "state is one of online, away, offline".into(),
            )),
        }
    }

    fn name(state: PresenceState) -> &'static str {
        match state {
            PresenceState::Online => "online",
            PresenceState::Away => "away",
            PresenceState::Offline => "offline",
        }
    }

    impl Execute for Typing {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            let peer = super::super::mark::peer(self.with, self.group_id)?;
            cx.chat.typing(&auth, &peer).await?;
            Ok((Said::Typing, NoBody {}))
        }
    }

    impl Execute for SetPresence {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            cx.chat.report_presence(&auth, state(&self.state)?).await?;
            Ok((Said::PresenceSet, NoBody {}))
        }
    }

    impl Execute for GetPresence {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, GetPresenceReply), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            if self.usernames.len() > MAX_PRESENCE_USERS {
                return Err(ChatError::BadRequest(format!(
                    "ask about at most {MAX_PRESENCE_USERS} users at once"
                )));
            }
            let users = self
                .usernames
                .into_iter()
                .map(Username::parse)
                .collect::<Result<Vec<_>, _>>()?;
            let presence: Vec<PresenceEntry> = cx
                .chat
                .presence(&auth, &users)
                .await?
                .into_iter()
                .map(|(user, state)| PresenceEntry {
                    username: user.into_string(),
                    state: name(state).into(),
                })
                .collect();
            let said = Said::PresenceListed {
                count: presence.len(),
            };
            Ok((said, GetPresenceReply { presence }))
        }
    }

    impl Execute for ShareActivity {
        async fn execute(self, cx: &Context<'_>) -> Result<(Said, NoBody), ChatError> {
            let auth = cx.auth(self.username, self.token)?;
            cx.chat.share_activity(&auth, self.share).await?;
            Ok((Said::ActivityShared { share: self.share }, NoBody {}))
        }
    }

    /// A presence as the wire names it.
    pub(crate) fn wire_state(state: PresenceState) -> &'static str {
        name(state)
    }
}

#[cfg(feature = "server")]
pub(crate) use server::wire_state;

#[cfg(feature = "client")]
mod client {
    use super::*;
    use crate::client::{ClientError, Peer, Session};

    impl Session {
        /// Tells the others in the conversation with `peer` that you are
        /// typing (a few times a second at most: more is refused
        /// `rate_limited`).
        pub async fn typing(&self, peer: &Peer) -> Result<(), ClientError> {
            let (with, group_id) = match peer {
                Peer::User(name) => (Some(name.clone()), None),
                Peer::Group(id) => (None, Some(*id)),
            };
            let request = Typing {
                username: self.username().to_owned(),
                token: self.token().clone(),
                with,
                group_id,
            };
            self.call(request).await.map(drop)
        }

        /// Reports this device's presence: `online`, `away` or `offline`.
        /// A report counts for 90 seconds: report again within that.
        pub async fn set_presence(&self, state: &str) -> Result<(), ClientError> {
            let request = SetPresence {
                username: self.username().to_owned(),
                state: state.to_owned(),
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }

        /// The presence of those of `users` who are your friends.
        pub async fn presence(&self, users: &[&str]) -> Result<Vec<PresenceEntry>, ClientError> {
            let request = GetPresence {
                username: self.username().to_owned(),
                usernames: users.iter().map(|u| (*u).to_owned()).collect(),
                token: self.token().clone(),
            };
            Ok(self.call(request).await?.presence)
        }

        /// Shows your typing and presence to your friends, or keeps them
        /// to yourself (then they see you offline).
        pub async fn share_activity(&self, share: bool) -> Result<(), ClientError> {
            let request = ShareActivity {
                username: self.username().to_owned(),
                share,
                token: self.token().clone(),
            };
            self.call(request).await.map(drop)
        }
    }
}
