//! How a client connects, and how its calls fail.

use std::time::Duration;

use crate::names::Namespace;
use crate::url::{DEFAULT_AMQP_URL, redact_url};
use crate::wire::ErrorCode;

/// Where and how a [`Client`](super::Client) connects.
#[derive(Clone)]
pub struct ClientOptions {
    /// The broker, as an AMQP URI.
    pub amqp_url: String,
    /// The server's namespace: where its request queue and the users'
    /// queues are. The default, `ngobrol`, is the original server's.
    pub namespace: Namespace,
    /// How long a request waits for its reply before it is sent again.
    pub timeout: Duration,
    /// How many times a request that got no reply is sent again, with the
    /// same `request_id`: the server answers a repeated request with its
    /// first reply, so a retry never takes effect twice.
    pub retries: u32,
    /// A server in isolated mode: `amqp_url`'s user is its login account,
    /// and after each login the session connects as the person, with its
    /// token as password; requests go to the request exchange with the
    /// broker user as routing key and `user_id`. Off by default (the
    /// original's shared account).
    pub isolated: bool,
}

impl Default for ClientOptions {
    /// The local broker (or `NGOBROL_AMQP_URL`), the original namespace,
    /// 10 s per attempt, 2 retries.
    fn default() -> Self {
        Self {
            amqp_url: std::env::var("NGOBROL_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.into()),
            namespace: Namespace::default(),
            timeout: Duration::from_secs(10),
            retries: 2,
            isolated: false,
        }
    }
}

impl ClientOptions {
    /// The login account of a server in isolated mode, unless another is
    /// given (`ngobrol-server --login-user`).
    pub const LOGIN_ACCOUNT: &str = "~login";

    /// For a server in isolated mode: connect through its login account
    /// `user` with `password` (both [`LOGIN_ACCOUNT`](Self::LOGIN_ACCOUNT)
    /// by default), in place of the URL's own user.
    pub fn isolated_through(mut self, user: &str, password: &str) -> Self {
        self.amqp_url = crate::url::with_credentials(&self.amqp_url, user, password);
        self.isolated = true;
        self
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("namespace", &self.namespace)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("isolated", &self.isolated)
            .finish()
    }
}

/// How to log in: see [`Client::login_with`](super::Client::login_with).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginOptions {
    /// A name for the device (1 to 64 characters), shown in the user's
    /// session list.
    pub device: Option<String>,
    /// Resume from this history cursor (an [`Event::cursor`](super::Event::cursor)
    /// a program kept from an earlier session): the session's events begin
    /// with what was stored after it. By default, a session's events begin
    /// with its login.
    pub since: Option<u64>,
    /// Tell the server what this device received (`mark_delivered`, per
    /// conversation, a few times a second at most), so the senders'
    /// devices get a delivered [`Receipt`](super::Receipt). Off by default.
    pub delivery_receipts: bool,
}

impl LoginOptions {
    /// Send delivery receipts for what this device receives.
    pub fn delivery_receipts(mut self, on: bool) -> Self {
        self.delivery_receipts = on;
        self
    }

    /// The device's name.
    pub fn device(mut self, name: impl Into<String>) -> Self {
        self.device = Some(name.into());
        self
    }

    /// Where in the history to resume.
    pub fn since(mut self, cursor: u64) -> Self {
        self.since = Some(cursor);
        self
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server refused the request; `code` is its machine-readable
    /// reason (see the protocol's error codes; `Other("")` when a server
    /// sent none).
    #[error("{description} ({code})")]
    Refused {
        /// Why, as a code: match on it rather than on `description`.
        code: ErrorCode,
        /// The server's sentence for people, in its language.
        description: String,
        /// With [`ErrorCode::RateLimited`]: how long to wait.
        retry_after: Option<Duration>,
    },
    /// No reply came: the request was sent `attempts` times, and each
    /// time waited `timeout`.
    #[error("no reply after {attempts} attempts of {timeout:?} each")]
    Timeout {
        /// How many times it was sent: once, then
        /// [`ClientOptions::retries`] times more.
        attempts: u32,
        /// How long each attempt waited ([`ClientOptions::timeout`]).
        timeout: Duration,
    },
    /// The server's reply did not have the fields of its method.
    #[error("an unreadable reply: {0}")]
    BadReply(String),
    /// The broker failed or refused what the client asked of it:
    /// connecting, declaring or reading its queues, closing.
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// The client was closed ([`Client::close`](super::Client::close)), or
    /// had no connection to the broker when a call needed one.
    #[error("the client is disconnected")]
    Disconnected,
}

impl ClientError {
    /// The server's error code, for a refused request.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}
