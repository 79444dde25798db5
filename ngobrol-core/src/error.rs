//! The errors of the chat rules, each with a stable machine-readable code.

use std::time::Duration;

use crate::types::GroupId;

/// Why an operation was refused or failed.
///
/// Every variant has a [`code`](ChatError::code) that never changes once
/// published: clients match on the code, and show the `Display` text (the
/// reply's `description`) to people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    #[error("this username is reserved")]
    ReservedUsername,
    #[error("invalid group name: {0}")]
    InvalidGroupName(String),
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    #[error("the message is longer than {max_bytes} bytes")]
    MessageTooLong { max_bytes: usize },
    #[error("the username is already taken")]
    UsernameTaken,
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("the token is not valid for this user; log in again")]
    InvalidToken,
    /// The operator disabled the account: the right password is refused
    /// until they enable it again.
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("there is no user named {0}")]
    UnknownUser(String),
    #[error("you cannot add yourself as a friend")]
    CannotBefriendSelf,
    #[error("you are already friends with {0}")]
    AlreadyFriends(String),
    #[error("you are not friends with {0}")]
    NotFriends(String),
    #[error("there is no group with id {0}")]
    UnknownGroup(GroupId),
    #[error("only the admin of group {0} can add members")]
    NotGroupAdmin(GroupId),
    #[error("{user} is already a member of group {group}")]
    AlreadyMember { user: String, group: GroupId },
    #[error("{user} is not a member of group {group}")]
    NotMember { user: String, group: GroupId },
    #[error("group {group} is full: it has {max} members")]
    GroupFull { group: GroupId, max: usize },
    #[error("{user} is in {max} groups, the most allowed")]
    TooManyGroups { user: String, max: usize },
    #[error("you have created {max} groups that still exist, the most allowed")]
    TooManyGroupsCreated { max: usize },
    #[error("the mailbox of {0} is full; nothing more can wait there until they read it")]
    MailboxFull(String),
    #[error("too many requests; try again in {} ms", retry_after.as_millis())]
    RateLimited { retry_after: Duration },
    /// The server has as many logins and registrations in hand as it
    /// takes at once; the request was not looked at.
    #[error("the server is busy; try again in {} ms", retry_after.as_millis())]
    Busy { retry_after: Duration },
    /// A request id the client used before, for a request with other
    /// contents: it is refused rather than answered with the earlier reply.
    #[error("this request id was already used for another request")]
    RequestIdConflict,
    #[error("invalid device name: {0}")]
    InvalidDeviceName(String),
    /// A session id that names none of the acting user's sessions (ended,
    /// expired, never issued, or another user's), or that is no session id
    /// at all (not 32 lower-case hexadecimal characters).
    #[error("there is no such session of yours")]
    UnknownSession,
    /// A message id that names no message the acting user can see (or
    /// one deleted already, for an edit).
    #[error("there is no such message")]
    UnknownMessage,
    /// `accept_friend` or `decline_friend` of someone who has not asked.
    #[error("{0} has not asked to be your friend")]
    NoRequest(String),
    /// `accept_invitation` or `decline_invitation` without an invitation.
    #[error("you have no invitation to group {0}")]
    NoInvitation(GroupId),
    /// Only a message's author may edit or delete it.
    #[error("only its author can change a message")]
    NotAuthor,
    /// A request whose fields are well-formed but do not go together (for
    /// a history: neither a friend nor a group named, or both).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Something outside the rules failed (the store or the broker). The
    /// text is for logs; clients are told only that it was internal.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ChatError {
    /// The stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUsername(_) => "invalid_username",
            Self::ReservedUsername => "reserved_username",
            Self::InvalidGroupName(_) => "invalid_group_name",
            Self::InvalidPassword(_) => "invalid_password",
            Self::MessageTooLong { .. } => "message_too_long",
            Self::UsernameTaken => "username_taken",
            Self::InvalidCredentials => "invalid_credentials",
            Self::InvalidToken => "invalid_token",
            Self::AccountDisabled => "account_disabled",
            Self::UnknownUser(_) => "unknown_user",
            Self::CannotBefriendSelf => "cannot_befriend_self",
            Self::AlreadyFriends(_) => "already_friends",
            Self::NotFriends(_) => "not_friends",
            Self::UnknownGroup(_) => "unknown_group",
            Self::NotGroupAdmin(_) => "not_group_admin",
            Self::AlreadyMember { .. } => "already_member",
            Self::NotMember { .. } => "not_member",
            Self::GroupFull { .. } => "group_full",
            Self::TooManyGroups { .. } => "too_many_groups",
            Self::TooManyGroupsCreated { .. } => "too_many_groups_created",
            Self::MailboxFull(_) => "mailbox_full",
            Self::RateLimited { .. } => "rate_limited",
            Self::Busy { .. } => "busy",
            Self::RequestIdConflict => "request_id_conflict",
            Self::InvalidDeviceName(_) => "invalid_device_name",
            Self::UnknownSession => "unknown_session",
            Self::NoRequest(_) => "no_request",
            Self::NoInvitation(_) => "no_invitation",
            Self::UnknownMessage => "unknown_message",
            Self::NotAuthor => "not_author",
            Self::BadRequest(_) => "bad_request",
            Self::Internal(_) => "internal",
        }
    }

    /// For [`ChatError::RateLimited`], how long to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after } | Self::Busy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// Whether this refusal is an answer that stays true if the same
    /// request comes again, so a transport may remember it for
    /// de-duplication. Not so for failures of the moment: an internal
    /// error, a rate limit, a full mailbox, or a token that did not check
    /// out (a replayed request must not learn a recorded reply without a
    /// valid token).
    pub fn is_lasting(&self) -> bool {
        !matches!(
            self,
            Self::Internal(_)
                | Self::RateLimited { .. }
                | Self::Busy { .. }
                | Self::RequestIdConflict
                | Self::InvalidToken
                | Self::AccountDisabled
                | Self::MailboxFull(_)
        )
    }

    /// The text to show a client. The same as `Display`, except that
    /// internal errors do not reveal their details.
    pub fn public_description(&self) -> String {
        match self {
            Self::Internal(_) => "internal server error; try again later".to_owned(),
            other => other.to_string(),
        }
    }
}

/// A failure of a port (a repository or the outbound side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// A uniqueness rule refused the write: the row already exists.
    #[error("conflict: the record already exists")]
    Conflict,
    /// The backend could not do the work (connection lost, store down).
    #[error("{0}")]
    Unavailable(String),
    /// The outbound side refused a delivery: a mailbox at its size limit.
    #[error("refused: {0}")]
    Rejected(String),
}

impl From<PortError> for ChatError {
    fn from(error: PortError) -> Self {
        ChatError::Internal(error.to_string())
    }
}
