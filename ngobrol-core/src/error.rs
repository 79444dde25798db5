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
    /// A username that breaks the rules of [`Username`](crate::Username):
    /// empty, too long, or with a character other than `A-Z a-z 0-9 _ . -`.
    /// The text says which rule.
    #[error("invalid username: {0}")]
    InvalidUsername(String),
    /// A registration of the name kept for the server's own use (the
    /// sender of group notices), in upper or lower case.
    #[error("this username is reserved")]
    ReservedUsername,
    /// A group name that is blank, too long, or has a control character.
    /// The text says which rule.
    #[error("invalid group name: {0}")]
    InvalidGroupName(String),
    /// A new password (at registration, or set by an operator) shorter
    /// than [`min_password_chars`](crate::ServiceConfig::min_password_chars)
    /// or longer than
    /// [`max_password_bytes`](crate::ServiceConfig::max_password_bytes).
    /// The text says which bound.
    #[error("invalid password: {0}")]
    InvalidPassword(String),
    /// A message text over the service's size limit.
    #[error("the message is longer than {max_bytes} bytes")]
    MessageTooLong {
        /// The limit, in UTF-8 bytes.
        max_bytes: usize,
    },
    /// A registration of a name someone already has.
    #[error("the username is already taken")]
    UsernameTaken,
    /// A login with a password that is not the user's, or for a user
    /// that does not exist: the reply does not tell which.
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A token that was not issued to the user the request names, has
    /// expired, was ended, or is no token at all (empty or too long).
    #[error("the token is not valid for this user; log in again")]
    InvalidToken,
    /// The operator disabled the account: the right password is refused
    /// until they enable it again.
    #[error("this account is disabled")]
    AccountDisabled,
    /// In isolated mode, a request whose broker user (the AMQP `user_id`
    /// the broker checked) may not make it: not its acting user, or a
    /// request other than a registration or a login from the login
    /// account.
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The named user does not exist (or blocks the acting user, who is
    /// not told so). The text is the name asked for.
    #[error("there is no user named {0}")]
    UnknownUser(String),
    /// `add_friend` of the acting user themselves.
    #[error("you cannot add yourself as a friend")]
    CannotBefriendSelf,
    /// `add_friend` of someone who is a friend already.
    #[error("you are already friends with {0}")]
    AlreadyFriends(String),
    /// A message to, a history with, or `remove_friend` of someone who is
    /// not the acting user's friend.
    #[error("you are not friends with {0}")]
    NotFriends(String),
    /// The group does not exist (or no longer does).
    #[error("there is no group with id {0}")]
    UnknownGroup(GroupId),
    /// A change only a group's admin may make (adding or removing a
    /// member, handing the group over, renaming or closing it), asked by
    /// someone else.
    #[error("only the admin of group {0} can add members")]
    NotGroupAdmin(GroupId),
    /// Adding someone to a group they are a member of already.
    #[error("{user} is already a member of group {group}")]
    AlreadyMember {
        /// The name of the one being added.
        user: String,
        /// The group they are in.
        group: GroupId,
    },
    /// Someone who is not a member of the group where one must be: the
    /// acting user, to send to, read, leave or list the group; the one
    /// named, to be removed or made admin.
    #[error("{user} is not a member of group {group}")]
    NotMember {
        /// The name of the one who is not a member.
        user: String,
        /// The group they are not in.
        group: GroupId,
    },
    /// Adding a member to a group that has
    /// [`max_group_members`](crate::ServiceConfig::max_group_members)
    /// already.
    #[error("group {group} is full: it has {max} members")]
    GroupFull {
        /// The full group.
        group: GroupId,
        /// The most members a group may have.
        max: usize,
    },
    /// Creating a group, or adding someone to one, when that user is in
    /// [`max_groups_per_user`](crate::ServiceConfig::max_groups_per_user)
    /// groups already.
    #[error("{user} is in {max} groups, the most allowed")]
    TooManyGroups {
        /// The name of the user who is in too many groups.
        user: String,
        /// The most groups a user may be a member of.
        max: usize,
    },
    /// Creating a group when the acting user has created
    /// [`max_groups_created_per_user`](crate::ServiceConfig::max_groups_created_per_user)
    /// groups that still exist.
    #[error("you have created {max} groups that still exist, the most allowed")]
    TooManyGroupsCreated {
        /// The most groups a user may have created that still exist.
        max: usize,
    },
    /// A message that a recipient's mailbox, at its size limit, refused
    /// (the message is stored in the history all the same). The text names
    /// the recipient.
    #[error("the mailbox of {0} is full; nothing more can wait there until they read it")]
    MailboxFull(String),
    /// A request past a rate limit: the user's requests, login attempts
    /// for the name, or typing signals.
    #[error("too many requests; try again in {} ms", retry_after.as_millis())]
    RateLimited {
        /// How long until the limit lets one more through.
        retry_after: Duration,
    },
    /// The server has as many logins and registrations in hand as it
    /// takes at once; the request was not looked at.
    #[error("the server is busy; try again in {} ms", retry_after.as_millis())]
    Busy {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// A request id the client used before, for a request with other
    /// contents: it is refused rather than answered with the earlier reply.
    #[error("this request id was already used for another request")]
    RequestIdConflict,
    /// A device name that is blank, too long, or has a control
    /// character. The text says which rule.
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
            Self::NotPermitted(_) => "not_permitted",
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
