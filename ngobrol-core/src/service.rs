//! The chat service: every operation of the protocol, as rules over the
//! ports.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq;

use crate::error::{ChatError, PortError};
use crate::limits::{RateLimit, RateLimiter};
use crate::password::PasswordHasher;
use crate::ports::{
    Delivery, DeliveryBody, FriendRepository, GroupRecord, GroupRef, GroupRepository, NoticeEvent,
    Outbound, RequestKey, RequestLog, SessionRecord, SessionRepository, UserRecord, UserRepository,
};
use crate::types::{GroupId, GroupName, MessageId, MessageText, Password, Token, Username};

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
    /// Every user's requests, once authenticated.
    pub request_rate: RateLimit,
    /// Failed logins and registrations per username: the brake on
    /// password guessing.
    pub auth_failures: RateLimit,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            pbkdf2_iterations: PasswordHasher::DEFAULT_ITERATIONS,
            hashing_concurrency: std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            token_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            max_message_bytes: MessageText::DEFAULT_MAX_BYTES,
            min_password_chars: 8,
            max_password_bytes: 1024,
            max_group_members: 1000,
            max_groups_per_user: 1000,
            request_rate: RateLimit {
                burst: 100,
                per_second: 50.0,
            },
            auth_failures: RateLimit {
                burst: 5,
                per_second: 1.0 / 12.0,
            },
        }
    }
}

/// The ports the service runs on.
#[derive(Clone)]
pub struct Ports {
    pub users: Arc<dyn UserRepository>,
    pub sessions: Arc<dyn SessionRepository>,
    pub friends: Arc<dyn FriendRepository>,
    pub groups: Arc<dyn GroupRepository>,
    pub requests: Arc<dyn RequestLog>,
    pub outbound: Arc<dyn Outbound>,
}

impl Ports {
    /// Ports from one store that implements every repository.
    pub fn new<S>(store: Arc<S>, outbound: Arc<dyn Outbound>) -> Self
    where
        S: UserRepository
            + SessionRepository
            + FriendRepository
            + GroupRepository
            + RequestLog
            + 'static,
    {
        Self {
            users: store.clone(),
            sessions: store.clone(),
            friends: store.clone(),
            groups: store.clone(),
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
    pub user: Username,
    pub token: Token,
    /// The client's own id for this request, if it gave one. Deliveries
    /// made for the request get ids derived from it
    /// ([`MessageId::derive`]), so a retry re-makes the same ids.
    pub request_id: Option<String>,
}

impl Auth {
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
}

impl ChatService {
    pub fn new(ports: Ports, config: ServiceConfig) -> Result<Self, ChatError> {
        let hasher = PasswordHasher::new(config.pbkdf2_iterations, config.hashing_concurrency)?;
        Ok(Self {
            ports,
            hasher,
            requests: Arc::new(RateLimiter::new(config.request_rate)),
            auth_failures: Arc::new(RateLimiter::new(config.auth_failures)),
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// Parses a message text against this service's size limit.
    pub fn message_text(&self, text: impl Into<String>) -> Result<MessageText, ChatError> {
        MessageText::parse(text, self.config.max_message_bytes)
    }

    /// Registers a user and gives them a mailbox.
    pub async fn register(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<(), ChatError> {
        if username.is_reserved() {
            return Err(ChatError::ReservedUsername);
        }
        self.check_password_shape(password)?;
        self.check_auth_failures(username)?;
        // A cheap look-up first, so a taken name costs no hashing; the
        // store's uniqueness still decides races.
        if self.ports.users.find_user(username).await?.is_some() {
            self.auth_failures.charge(username.as_str());
            return Err(ChatError::UsernameTaken);
        }
        let password_hash = self.hasher.hash(password).await?;
        let record = UserRecord {
            username: username.clone(),
            password_hash,
            created_at: SystemTime::now(),
        };
        match self.ports.users.insert_user(&record).await {
            Err(PortError::Conflict) => return Err(ChatError::UsernameTaken),
            other => other?,
        }
        self.ports.outbound.ensure_mailbox(username).await?;
        Ok(())
    }

    /// Checks a user's password and issues a fresh token. The new token
    /// replaces every earlier token of the user: one session per user, as
    /// the user's mailbox is one queue.
    pub async fn login(
        &self,
        username: &Username,
        password: &Password,
    ) -> Result<Token, ChatError> {
        if password.expose().len() > self.config.max_password_bytes {
            return Err(ChatError::InvalidCredentials);
        }
        self.check_auth_failures(username)?;
        let user = self.ports.users.find_user(username).await?;
        let stored = user.as_ref().map(|u| u.password_hash.as_str());
        if !self.hasher.verify(password, stored).await? {
            self.auth_failures.charge(username.as_str());
            return Err(ChatError::InvalidCredentials);
        }
        let token = Token::generate()?;
        let issued_at = SystemTime::now();
        let session = SessionRecord {
            token_hash: token.hash(),
            username: username.clone(),
            issued_at,
            expires_at: issued_at + self.config.token_ttl,
        };
        self.ports.sessions.replace_sessions(&session).await?;
        self.ports.outbound.ensure_mailbox(username).await?;
        Ok(token)
    }

    /// Succeeds when `auth.token` is an unexpired token issued to
    /// `auth.user`.
    pub async fn authenticate(&self, auth: &Auth) -> Result<(), ChatError> {
        let hash = auth.token.hash();
        let session = self.ports.sessions.find_session(&hash).await?;
        match session {
            Some(s)
                if bool::from(
                    s.token_hash
                        .as_str()
                        .as_bytes()
                        .ct_eq(hash.as_str().as_bytes()),
                ) && s.username == auth.user
                    && s.expires_at > SystemTime::now() =>
            {
                Ok(())
            }
            _ => Err(ChatError::InvalidToken),
        }
    }

    /// Authenticates, then takes one request from the user's rate limit.
    /// The limit is taken after the token checks out, so that forged
    /// requests cannot spend another user's allowance.
    async fn authorize(&self, auth: &Auth) -> Result<(), ChatError> {
        self.authenticate(auth).await?;
        self.requests
            .acquire(auth.user.as_str())
            .map_err(|retry_after| ChatError::RateLimited { retry_after })
    }

    /// Revokes the token presented: it no longer authenticates anyone.
    pub async fn logout(&self, auth: &Auth) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        self.ports
            .sessions
            .delete_session(&auth.token.hash())
            .await?;
        Ok(())
    }

    /// Makes the acting user and `friend` friends of each other.
    pub async fn add_friend(&self, auth: &Auth, friend: &Username) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        if *friend == auth.user {
            return Err(ChatError::CannotBefriendSelf);
        }
        self.require_user(friend).await?;
        match self.ports.friends.add_friendship(&auth.user, friend).await {
            Err(PortError::Conflict) => Err(ChatError::AlreadyFriends(friend.to_string())),
            other => Ok(other?),
        }
    }

    /// The acting user's friends, sorted by name.
    pub async fn friends(&self, auth: &Auth) -> Result<Vec<Username>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.friends.friends_of(&auth.user).await?)
    }

    /// Creates a group with the acting user as admin and first member.
    pub async fn create_group(
        &self,
        auth: &Auth,
        name: &GroupName,
    ) -> Result<GroupRecord, ChatError> {
        self.authorize(auth).await?;
        self.check_groups_of(&auth.user).await?;
        let group = self
            .ports
            .groups
            .create_group(name, &auth.user, SystemTime::now())
            .await?;
        // The channel must exist before anything is bound to it.
        self.ports.outbound.create_group_channel(group.id).await?;
        self.ports.outbound.subscribe(group.id, &auth.user).await?;
        Ok(group)
    }

    /// The groups the acting user is a member of.
    pub async fn groups(&self, auth: &Auth) -> Result<Vec<GroupRecord>, ChatError> {
        self.authorize(auth).await?;
        Ok(self.ports.groups.groups_of(&auth.user).await?)
    }

    /// Adds `member` to a group the acting user is admin of, and tells the
    /// whole group, the new member included.
    pub async fn add_member(
        &self,
        auth: &Auth,
        group: GroupId,
        member: &Username,
    ) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if record.admin != auth.user {
            return Err(ChatError::NotGroupAdmin(group));
        }
        self.require_user(member).await?;
        if self.ports.groups.is_member(group, member).await? {
            return Err(ChatError::AlreadyMember {
                user: member.to_string(),
                group,
            });
        }
        let max = self.config.max_group_members;
        if self.ports.groups.count_members(group).await? >= max as u64 {
            return Err(ChatError::GroupFull { group, max });
        }
        self.check_groups_of(member).await?;
        // The store still decides a race between two adds of one member.
        match self.ports.groups.add_member(group, member).await {
            Err(PortError::Conflict) => {
                return Err(ChatError::AlreadyMember {
                    user: member.to_string(),
                    group,
                });
            }
            other => other?,
        }
        let outbound = &self.ports.outbound;
        outbound.ensure_mailbox(member).await?;
        outbound.subscribe(group, member).await?;
        let notice = auth.delivery(
            "joined",
            DeliveryBody::Notice {
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                event: NoticeEvent::Joined {
                    member: member.clone(),
                    by: auth.user.clone(),
                },
            },
        );
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Takes the acting user out of a group, then tells those who stay.
    pub async fn quit_group(&self, auth: &Auth, group: GroupId) -> Result<(), ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if !self.ports.groups.remove_member(group, &auth.user).await? {
            return Err(ChatError::NotMember {
                user: auth.user.to_string(),
                group,
            });
        }
        let outbound = &self.ports.outbound;
        outbound.unsubscribe(group, &auth.user).await?;
        let notice = auth.delivery(
            "left",
            DeliveryBody::Notice {
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                event: NoticeEvent::Left {
                    member: auth.user.clone(),
                },
            },
        );
        outbound.deliver_to_group(group, &notice).await?;
        Ok(())
    }

    /// Sends a message to a friend's mailbox, and returns the delivery.
    pub async fn send_direct(
        &self,
        auth: &Auth,
        to: &Username,
        text: MessageText,
    ) -> Result<Delivery, ChatError> {
        self.authorize(auth).await?;
        // Friends exist (the store's foreign keys see to it), so the common
        // case needs one look-up; only a refusal asks which reason applies.
        if !self.ports.friends.are_friends(&auth.user, to).await? {
            self.require_user(to).await?;
            return Err(ChatError::NotFriends(to.to_string()));
        }
        let delivery = auth.delivery(
            "direct",
            DeliveryBody::Direct {
                from: auth.user.clone(),
                text,
            },
        );
        match self.ports.outbound.deliver_to_user(to, &delivery).await {
            Err(PortError::Rejected(_)) => return Err(ChatError::MailboxFull(to.to_string())),
            other => other?,
        }
        Ok(delivery)
    }

    /// Sends a message to every member of a group the acting user belongs
    /// to, the sender included, and returns the delivery.
    pub async fn send_group(
        &self,
        auth: &Auth,
        group: GroupId,
        text: MessageText,
    ) -> Result<Delivery, ChatError> {
        self.authorize(auth).await?;
        let record = self.require_group(group).await?;
        if !self.ports.groups.is_member(group, &auth.user).await? {
            return Err(ChatError::NotMember {
                user: auth.user.to_string(),
                group,
            });
        }
        let delivery = auth.delivery(
            "group",
            DeliveryBody::Group {
                from: auth.user.clone(),
                group: GroupRef {
                    id: group,
                    name: record.name,
                },
                text,
            },
        );
        // A full mailbox refuses its copy; the other members have theirs.
        match self.ports.outbound.deliver_to_group(group, &delivery).await {
            Err(PortError::Rejected(_)) => {
                return Err(ChatError::MailboxFull(format!("a member of group {group}")));
            }
            other => other?,
        }
        Ok(delivery)
    }

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
            .record_reply(key, reply, SystemTime::now())
            .await?)
    }

    /// Forgets recorded replies older than `window`, then all but the
    /// newest `keep`.
    pub async fn prune_replies(&self, window: Duration, keep: u64) -> Result<u64, ChatError> {
        let before = SystemTime::now()
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        Ok(self.ports.requests.prune(before, keep).await?)
    }

    /// Re-creates every group's channel and subscriptions from the store,
    /// so that routing matches the store after the outbound side lost its
    /// state (a fresh broker). Returns the number of groups.
    pub async fn restore_routing(&self) -> Result<usize, ChatError> {
        let memberships = self.ports.groups.all_memberships().await?;
        self.ports.outbound.restore_routing(&memberships).await?;
        Ok(memberships.len())
    }

    fn check_password_shape(&self, password: &Password) -> Result<(), ChatError> {
        let min = self.config.min_password_chars;
        let max = self.config.max_password_bytes;
        if password.expose().chars().count() < min {
            return Err(ChatError::InvalidPassword(format!(
                "a password has at least {min} characters"
            )));
        }
        if password.expose().len() > max {
            return Err(ChatError::InvalidPassword(format!(
                "a password has at most {max} bytes"
            )));
        }
        Ok(())
    }

    fn check_auth_failures(&self, username: &Username) -> Result<(), ChatError> {
        self.auth_failures
            .check(username.as_str())
            .map_err(|retry_after| ChatError::RateLimited { retry_after })
    }

    /// Refuses when `user` is in as many groups as allowed. The limits on
    /// group counts and sizes are checked before the write, so concurrent
    /// additions may pass them by a few; they bound abuse, not accounting.
    async fn check_groups_of(&self, user: &Username) -> Result<(), ChatError> {
        let max = self.config.max_groups_per_user;
        if self.ports.groups.count_groups_of(user).await? >= max as u64 {
            return Err(ChatError::TooManyGroups {
                user: user.to_string(),
                max,
            });
        }
        Ok(())
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

impl NoticeEvent {
    /// The sentence a person reads for this notice.
    pub fn describe(&self, group: &GroupName) -> String {
        match self {
            NoticeEvent::Joined { member, by } => {
                format!("{member} was added to {group} by {by}")
            }
            NoticeEvent::Left { member } => format!("{member} left {group}"),
        }
    }
}
