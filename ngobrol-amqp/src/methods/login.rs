//! `login`: a fresh token. The reply goes to `queue_name`.

use serde::{Deserialize, Serialize};

use super::Method;
use crate::secret::Secret;
#[cfg(feature = "server")]
use crate::server::Said;

/// `username` logs in with `password`, as a new session with a token of its
/// own; the user's other sessions stay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Login {
    /// The user logging in.
    pub username: String,
    /// The user's password.
    pub password: Secret,
    /// The private queue the reply goes to: a server-named queue or direct
    /// reply-to. Another name is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_name: Option<String>,
    /// Extension: a name for the device this session is on (1 to 64
    /// characters), shown in `get_sessions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Extension: true from a client that reads the session's own queue
    /// `<ns>.session.<id>` (ngobrol's SDK). A login with neither this nor
    /// a `request_id` is of a client that reads the user's mailbox
    /// `<ns>_<username>`, as the original protocol has it: from then on
    /// that mailbox gets every delivery to the user, whichever other
    /// devices are online, until `logout_all`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub session_queue: bool,
}

/// The body of `login_reply`: the token, `""` in an error reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginReply {
    /// The new session's token, for every later request.
    #[serde(default)]
    pub token: Secret,
    /// Extension: the new session's id. Its own queue
    /// `<ns>.session.<id>` gets every delivery to the user from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Extension: sessions this login ended, because the user had as many
    /// as allowed (those seen least recently go).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<String>,
    /// Extension: the history's latest `cursor` at login; a `sync` from
    /// it gives what was stored since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<u64>,
    /// Extension: true when a client of the original protocol reads the
    /// user's mailbox, so a device of ours must not take what waits there.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mailbox_shared: bool,
}

impl Method for Login {
    const NAME: &'static str = "login";
    const CHANGES_STATE: bool = true;
    const REPLIES_TO_QUEUE_NAME: bool = true;
    type Reply = LoginReply;

    fn acting_user(&self) -> &str {
        &self.username
    }

    fn token(&self) -> Option<&Secret> {
        None
    }

    fn queue_name(&self) -> Option<&str> {
        self.queue_name.as_deref()
    }
}

#[cfg(feature = "server")]
impl crate::server::Execute for Login {
    async fn execute(
        self,
        cx: &crate::server::Context<'_>,
    ) -> Result<(Said, LoginReply), ngobrol_core::ChatError> {
        let user = ngobrol_core::Username::parse(self.username)?;
        let device = self
            .device
            .map(ngobrol_core::DeviceName::parse)
            .transpose()?;
        let password = ngobrol_core::Password::new(self.password.into_exposed());
        // The original client reads the mailbox; it names no requests and
        // knows nothing of session queues. Any client that names its
        // requests (an earlier SDK of ours too) is taken to read its own.
        let reader = if self.session_queue || cx.request_id.is_some() {
            ngobrol_core::Reader::SessionQueue
        } else {
            ngobrol_core::Reader::Mailbox
        };
        let login = cx
            .chat
            .login_reading(&user, &password, device, reader)
            .await?;
        let body = LoginReply {
            token: login.token.expose().into(),
            session_id: Some(login.session.to_string()),
            ended_sessions: login.ended.iter().map(ToString::to_string).collect(),
            cursor: Some(login.position),
            mailbox_shared: login.mailbox_shared,
        };
        Ok((Said::LoggedIn, body))
    }
}

#[cfg(feature = "client")]
impl crate::client::Client {
    /// Logs in as a new session (device), and starts receiving the user's
    /// messages. Other sessions of the user stay logged in.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(crate::client::Session, crate::client::Events), crate::client::ClientError> {
        self.login_as(username, password, None).await
    }

    /// [`login`](Self::login), naming the device (shown in
    /// [`Session::sessions`](crate::client::Session::sessions)).
    pub async fn login_as(
        &self,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<(crate::client::Session, crate::client::Events), crate::client::ClientError> {
        let options = crate::client::LoginOptions {
            device: device.map(str::to_owned),
            ..Default::default()
        };
        self.login_with(username, password, &options).await
    }

    /// [`login`](Self::login) with options: a device name, and where in
    /// the history to resume (the events then start with what was stored
    /// after that cursor).
    pub async fn login_with(
        &self,
        username: &str,
        password: &str,
        options: &crate::client::LoginOptions,
    ) -> Result<(crate::client::Session, crate::client::Events), crate::client::ClientError> {
        let request = Login {
            username: username.to_owned(),
            password: password.into(),
            queue_name: None,
            device: options.device.clone(),
            session_queue: true,
        };
        let reply = self.call(request).await?;
        // A server without history (the original) gives no cursor: then
        // there is nothing to catch up from.
        let resume_from = reply.cursor.map(|now| options.since.unwrap_or(now));
        let backlog = !reply.mailbox_shared;
        // Isolated, the session connects as the person, the token its
        // password; otherwise it shares this client's connection.
        let person = match self.isolated() {
            true => {
                let session = reply.session_id.as_deref();
                Some(
                    self.as_person(username, reply.token.expose(), session)
                        .await?,
                )
            }
            false => None,
        };
        person
            .as_ref()
            .unwrap_or(self)
            .open_session(
                username,
                reply.token,
                reply.session_id,
                resume_from,
                backlog,
                options.delivery_receipts,
            )
            .await
    }
}
