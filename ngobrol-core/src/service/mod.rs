//! The chat service: every operation of the protocol, as rules over the
//! ports.
//!
//! [`ChatService`] is one type; its methods are spread over this module's
//! files by what they concern: `accounts` (registering, logging in and
//! out, authenticating, sessions), `friends`, `groups`, `messages`, `history` (scrolling back, and
//! catching up), and `requests`
//! (recorded replies of named requests, and routing restored at start-up).

mod accounts;
mod activity;
mod amend;
mod consent;
mod friends;
mod groups;
mod history;
mod messages;
mod operator;
mod receipts;
mod requests;
mod roles;
mod validate;

pub use accounts::{Login, Reader};
pub use activity::PRESENCE_TTL;
pub use consent::{Added, Befriended, FriendshipPolicy, Pending};
pub use history::{HistoryPage, Peer, SyncPage};
pub use requests::StoredRouting;

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::error::ChatError;
use crate::limits::{RateLimit, RateLimiter};
use crate::password::PasswordHasher;
use crate::ports::{
    Delivery, DeliveryBody, FriendRepository, GroupRecord, GroupRepository, HistoryRepository,
    Outbound, Repositories, RequestLog, Retention, SessionRecord, SessionRepository,
    UserRepository,
};
use crate::types::{GroupId, MessageId, MessageText, Token, Username};

/// The settings of the chat rules. `Default` gives production values.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// PBKDF2 rounds for new password hashes. Existing hashes keep the
    /// count they were made with.
    pub pbkdf2_iterations: u32,
    /// How many password hashes may run at once.
    pub hashing_concurrency: usize,
    /// How long a token stays valid after login.
    pub token_ttl: Duration,
    /// The most sessions (devices) a user may have at once. When a login
    /// would exceed it, the sessions seen least recently are ended, and
    /// the login reply lists them ([`Login::ended`]).
    pub max_sessions_per_user: usize,
    /// The largest message text, in UTF-8 bytes.
    pub max_message_bytes: usize,
    /// The shortest password accepted at registration, in characters.
    pub min_password_chars: usize,
    /// The longest password accepted, in bytes; it bounds the hashing cost.
    pub max_password_bytes: usize,
    /// The most members a group may have.
    pub max_group_members: usize,
    /// The most groups a user may be a member of.
    pub max_groups_per_user: usize,
    /// The most groups a user may have created that still exist (a group
    /// ends when its last member leaves; one whose admin left but others
    /// stayed still counts). Refused with
    /// [`ChatError::TooManyGroupsCreated`] (`too_many_groups_created`).
    pub max_groups_created_per_user: usize,
    /// Every user's requests, once authenticated.
    pub request_rate: RateLimit,
    /// Failed logins and registrations per username: the brake on
    /// password guessing.
    pub auth_failures: RateLimit,
    /// How long the history keeps messages; the default keeps everything.
    pub history_retention: Retention,
    /// The time the rules go by (expiry, last seen, rate limits): the
    /// system's by default; tests move a [`Clock::manual`] by hand.
    pub clock: Clock,
    /// Whether befriending and adding to groups need the other's consent:
    /// [`FriendshipPolicy::Open`] (the original's rule) by default.
    pub friendship: FriendshipPolicy,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pbkdf2_iterations: PasswordHasher::DEFAULT_ITERATIONS,
            hashing_concurrency: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_sessions_per_user: 20,
            max_message_bytes: MessageText::DEFAULT_MAX_BYTES,
            min_password_chars: 8,
            max_password_bytes: 1024,
            max_group_members: 1000,
            max_groups_per_user: 1000,
            max_groups_created_per_user: 100,
            request_rate: RateLimit {
                burst: 100,
                per_second: 50.0,
            },
            auth_failures: RateLimit {
                burst: 5,
                per_second: 1.0 / 12.0,
            },
            history_retention: Retention::default(),
            clock: Clock::system(),
            friendship: FriendshipPolicy::Open,
        }
    }
}

/// The ports the service runs on.
#[derive(Clone)]
pub struct Ports {
    /// Where users are kept.
    pub users: Arc<dyn UserRepository>,
    /// Where sessions are kept.
    pub sessions: Arc<dyn SessionRepository>,
    /// Where friendships, friend requests and blocks are kept.
    pub friends: Arc<dyn FriendRepository>,
    /// Where groups, their members and invitations are kept.
    pub groups: Arc<dyn GroupRepository>,
    /// Where every conversation's messages are kept.
    pub history: Arc<dyn HistoryRepository>,
    /// Where the replies to named requests are recorded.
    pub requests: Arc<dyn RequestLog>,
    /// How deliveries and signals reach people.
    pub outbound: Arc<dyn Outbound>,
}

impl Ports {
    /// Ports from one store that implements every repository.
    pub fn new<S: Repositories>(store: Arc<S>, outbound: Arc<dyn Outbound>) -> Self {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            friends: store.clone(),
            groups: store.clone(),
            history: store.clone(),
            requests: store,
            outbound,
        }
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ports").finish_non_exhaustive()
    }
}

/// Who a request says it comes from, and the token that proves it.
#[derive(Clone, Debug)]
pub struct Auth {
    /// The user the request acts for.
    pub user: Username,
    /// The token from that user's login.
    pub token: Token,
    /// The client's own id for this request, if it gave one. Deliveries
    /// made for the request get ids derived from it
    /// ([`MessageId::derive`]), so a retry re-makes the same ids.
    pub request_id: Option<String>,
}

impl Auth {
    /// The credentials of a request the client did not name.
    pub fn new(user: Username, token: Token) -> Self {
        Self {
            user,
            token,
            request_id: None,
        }
    }

    /// The same credentials, for a request the client named `request_id`.
    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// A delivery for this request: with an id derived from the request's
    /// id when it has one, else a fresh one.
    fn delivery(&self, purpose: &str, body: DeliveryBody) -> Delivery {
        let id = match &self.request_id {
            Some(request_id) => MessageId::derive(&self.user, request_id, purpose),
            None => MessageId::generate(),
        };
        Delivery::with_id(id, body)
    }
}

/// The chat rules. Cheap to clone: clones share the ports and the hasher.
///
/// Each method checks its rules in the order the original protocol did, so
/// a request that breaks several gets the same error it always got.
/// Authenticated methods first check that the token was issued to the user
/// the request names; the user acted for is never taken on trust.
#[derive(Clone, Debug)]
pub struct ChatService {
    ports: Ports,
    hasher: PasswordHasher,
    config: Arc<ServiceConfig>,
    requests: Arc<RateLimiter>,
    auth_failures: Arc<RateLimiter>,
    /// Typing signals per user: a few a second.
    typing_rate: Arc<RateLimiter>,
}

/// How often one user may say they type: a burst of 5, then 2 a second.
const TYPING_RATE: RateLimit = RateLimit {
    burst: 5,
    per_second: 2.0,
};

impl ChatService {
    /// A service on `ports` with `config`. Fails only when the
    /// password hasher cannot be made from the config's settings.
    pub fn new(ports: Ports, config: ServiceConfig) -> Result<Self, ChatError> {
        let hasher = PasswordHasher::new(config.pbkdf2_iterations, config.hashing_concurrency)?;
        Ok(Self {
            ports,
            hasher,
            requests: Arc::new(RateLimiter::with_clock(
                config.request_rate,
                config.clock.clone(),
            )),
            auth_failures: Arc::new(RateLimiter::with_clock(
                config.auth_failures,
                config.clock.clone(),
            )),
            typing_rate: Arc::new(RateLimiter::with_clock(TYPING_RATE, config.clock.clone())),
            config: Arc::new(config),
        })
    }

    /// The settings the service runs with.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Parses a message text against this service's size limit.
    pub fn message_text(&self, text: impl Into<String>) -> Result<MessageText, ChatError> {
        MessageText::parse(text, self.config.max_message_bytes)
    }

    /// Authenticates, then takes one request from the user's rate limit,
    /// and returns the caller's session. The limit is taken after the
    /// token checks out, so that forged requests cannot spend another
    /// user's allowance.
    async fn authorize(&self, auth: &Auth) -> Result<SessionRecord, ChatError> {
        let session = self.authenticate(auth).await?;
        self.requests
            .acquire(auth.user.as_str())
            .map_err(|retry_after| ChatError::RateLimited { retry_after })?;
        Ok(session)
    }

    /// Now, by the service's clock, in the whole milliseconds the store
    /// keeps, so what is read back is what was written.
    fn now_millis(&self) -> std::time::SystemTime {
        let millis = self
            .config
            .clock
            .now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis)
    }

    async fn require_user(&self, user: &Username) -> Result<(), ChatError> {
        match self.ports.users.find_user(user).await? {
            Some(_) => Ok(()),
            None => Err(ChatError::UnknownUser(user.to_string())),
        }
    }

    async fn require_group(&self, group: GroupId) -> Result<GroupRecord, ChatError> {
        self.ports
            .groups
            .find_group(group)
            .await?
            .ok_or(ChatError::UnknownGroup(group))
    }
}
