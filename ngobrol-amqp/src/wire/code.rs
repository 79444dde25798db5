//! The machine-readable error codes of error replies.

macro_rules! codes {
    ($($variant:ident = $code:literal,)+) => {
        /// The `code` of an error reply: the machine-readable reason a
        /// request was refused. Codes never change once published; new
        /// ones may be added, and a code this version does not know is
        /// kept as [`ErrorCode::Other`].
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(#[doc = concat!("`", $code, "`")] $variant,)+
            /// A code this version does not know, or `""` from a server
            /// that sends none (the original).
            Other(String),
        }

        impl ErrorCode {
            /// The code as it is on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $code,)+
                    ErrorCode::Other(code) => code,
                }
            }

            /// The code for its wire text.
            pub fn parse(code: &str) -> Self {
                match code {
                    $($code => ErrorCode::$variant,)+
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

codes! {
    BadRequest = "bad_request",
    UnknownMethod = "unknown_method",
    PayloadTooLarge = "payload_too_large",
    InvalidUsername = "invalid_username",
    ReservedUsername = "reserved_username",
    InvalidGroupName = "invalid_group_name",
    InvalidPassword = "invalid_password",
    MessageTooLong = "message_too_long",
    UsernameTaken = "username_taken",
    InvalidCredentials = "invalid_credentials",
    InvalidToken = "invalid_token",
    AccountDisabled = "account_disabled",
    NotPermitted = "not_permitted",
    UnknownUser = "unknown_user",
    CannotBefriendSelf = "cannot_befriend_self",
    AlreadyFriends = "already_friends",
    NotFriends = "not_friends",
    UnknownGroup = "unknown_group",
    NotGroupAdmin = "not_group_admin",
    AlreadyMember = "already_member",
    NotMember = "not_member",
    GroupFull = "group_full",
    TooManyGroups = "too_many_groups",
    TooManyGroupsCreated = "too_many_groups_created",
    MailboxFull = "mailbox_full",
    RateLimited = "rate_limited",
    Busy = "busy",
    InvalidDeviceName = "invalid_device_name",
    UnknownSession = "unknown_session",
    UnknownMessage = "unknown_message",
    NoRequest = "no_request",
    NoInvitation = "no_invitation",
    NotAuthor = "not_author",
    RequestIdConflict = "request_id_conflict",
    Internal = "internal",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        assert_eq!(ErrorCode::parse("not_friends"), ErrorCode::NotFriends);
        assert_eq!(ErrorCode::NotFriends.as_str(), "not_friends");
        assert_eq!(
            ErrorCode::parse("from_the_future"),
            ErrorCode::Other("from_the_future".into())
        );
        assert_eq!(ErrorCode::parse("").as_str(), "");
    }
}
