//! A logged-in user.

use std::sync::Arc;

use super::ClientError;
use super::link::Shared;
use super::mailbox::Mailbox;
use crate::methods::Method;
use crate::secret::Secret;

/// A logged-in user: every operation that needs a token (each defined
/// with its method, in [`crate::methods`]). Cheap to clone; clones share
/// the connection. Its `Debug` output shows no token.
#[derive(Clone, Debug)]
pub struct Session {
    shared: Arc<Shared>,
    username: String,
    token: Secret,
    /// The session's id, from a server that makes sessions (ngobrol).
    id: Option<String>,
    mailbox: Arc<Mailbox>,
}

impl Session {
    pub(super) fn new(
        shared: Arc<Shared>,
        username: String,
        token: Secret,
        id: Option<String>,
        mailbox: Arc<Mailbox>,
    ) -> Self {
        Self {
            shared,
            username,
            token,
            id,
            mailbox,
        }
    }

    /// The name of the user logged in.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// This session's id, as `sessions()` lists it; `None` from a server
    /// without sessions of their own (the original).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The session's token, for a request of this user.
    pub(crate) fn token(&self) -> &Secret {
        &self.token
    }

    /// Sends a request of this session and waits for its reply.
    pub(crate) async fn call<M: Method>(&self, request: M) -> Result<M::Reply, ClientError> {
        self.shared.call(request).await
    }

    /// Stops reading this user's queue (after logout).
    pub(crate) async fn close_mailbox(&self) {
        self.shared.remove_mailbox(&self.mailbox).await;
    }

    /// In isolated mode the session has a connection of its own: closed
    /// once the session has ended.
    pub(crate) async fn close_own_connection(&self) {
        if self.shared.options.isolated {
            self.shared.shut().await;
        }
    }
}
