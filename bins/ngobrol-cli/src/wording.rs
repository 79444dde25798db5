//! What the CLI says when a call fails: its own English sentence for each
//! error code the server may send, not the server's `description` (whose
//! language is the server's choice). Only a code this CLI does not know
//! falls back to the description, escaped.

use std::time::Duration;

use ngobrol_amqp::client::{ClientError, ErrorCode};

use crate::sanitize::escape;

/// A failed call, as one line: `error (<code>): <sentence>` for a
/// refusal, `error: <sentence>` for anything else.
pub(crate) fn failure(error: &ClientError) -> String {
    match error {
        ClientError::Refused {
            code,
            description,
            retry_after,
        } => {
            let sentence = refusal(code, description, *retry_after);
            if code.as_str().is_empty() {
                // A server that sends no codes (the original).
                format!("error: {sentence}")
            } else {
                format!("error ({}): {sentence}", escape(code.as_str()))
            }
        }
        ClientError::Timeout { attempts, timeout } => format!(
            "error: no reply from the server ({attempts} attempts of {} s each); is it running?",
            timeout.as_secs_f64()
        ),
        ClientError::Disconnected => "error: disconnected from the broker".to_owned(),
        ClientError::BadReply(detail) => {
            format!(
                "error: the server's reply could not be read ({})",
                escape(detail)
            )
        }
        // The broker's own errors, and kinds of a newer SDK.
        other => format!("error: {}", escape(&other.to_string())),
    }
}

/// The CLI's sentence for a refusal with `code`.
fn refusal(code: &ErrorCode, description: &str, retry_after: Option<Duration>) -> String {
    let sentence = match code {
        ErrorCode::BadRequest => "the server could not read the request",
        ErrorCode::UnknownMethod => "the server does not know this command",
        ErrorCode::PayloadTooLarge => "the request is too large for the server",
        ErrorCode::InvalidUsername => "that is not a valid username (1 to 64 of A-Z a-z 0-9 _ . -)",
        ErrorCode::ReservedUsername => "that username is reserved",
        ErrorCode::InvalidGroupName => "that is not a valid group name",
        ErrorCode::InvalidPassword => "that password is not accepted (too short or too long)",
        ErrorCode::MessageTooLong => "the message is too long",
        ErrorCode::UsernameTaken => "that username is taken",
        ErrorCode::InvalidCredentials => "wrong username or password",
        ErrorCode::InvalidToken => "your session has ended; log in again",
        ErrorCode::AccountDisabled => "this account is disabled; ask the server's operator",
        ErrorCode::NotPermitted => {
            "the server does not let this connection do that (isolated mode: log in again)"
        }
        ErrorCode::UnknownUser => "there is no such user",
        ErrorCode::CannotBefriendSelf => "you cannot befriend yourself",
        ErrorCode::AlreadyFriends => "you are already friends with that user",
        ErrorCode::NotFriends => "you are not friends with that user",
        ErrorCode::UnknownGroup => "there is no such group",
        ErrorCode::NotGroupAdmin => "only the group's admin can do that",
        ErrorCode::AlreadyMember => "that user is already in the group",
        ErrorCode::NotMember => "not a member of that group",
        ErrorCode::GroupFull => "the group is full",
        ErrorCode::TooManyGroups => "that would make too many groups for one user",
        ErrorCode::MailboxFull => "the recipient's mailbox is full; try again later",
        ErrorCode::RateLimited => return format!("too many requests; {}", retry(retry_after)),
        ErrorCode::Busy => return format!("the server is busy; {}", retry(retry_after)),
        ErrorCode::RequestIdConflict => "that request id was already used for another request",
        ErrorCode::UnknownMessage => "there is no such message",
        ErrorCode::NoRequest => "that user has not asked to be your friend",
        ErrorCode::NoInvitation => "you have no invitation to that group",
        ErrorCode::NotAuthor => "only its author can change a message",
        ErrorCode::Internal => "the server failed; try again later",
        // A code this CLI does not know (or none): the server's words.
        _ if description.trim().is_empty() => "the server refused the request",
        _ => return escape(description).into_owned(),
    };
    sentence.to_owned()
}

fn retry(after: Option<Duration>) -> String {
    match after {
        Some(after) => format!("try again in {:.1} s", after.as_secs_f64()),
        None => "try again shortly".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str, description: &str) -> ClientError {
        ClientError::Refused {
            code: ErrorCode::parse(code),
            description: description.to_owned(),
            retry_after: None,
        }
    }

    #[test]
    fn known_codes_get_the_cli_s_own_sentence() {
        assert_eq!(
            failure(&refused("not_friends", "kalian belum berteman")),
            "error (not_friends): you are not friends with that user"
        );
        assert_eq!(
            failure(&refused("invalid_credentials", "sandi salah")),
            "error (invalid_credentials): wrong username or password"
        );
        let limited = ClientError::Refused {
            code: ErrorCode::RateLimited,
            description: "terlalu banyak".into(),
            retry_after: Some(Duration::from_millis(1500)),
        };
        assert_eq!(
            failure(&limited),
            "error (rate_limited): too many requests; try again in 1.5 s"
        );
    }

    #[test]
    fn no_known_code_shows_the_server_s_description() {
        let codes = [
            "bad_request",
            "unknown_method",
            "payload_too_large",
            "invalid_username",
            "reserved_username",
            "invalid_group_name",
            "invalid_password",
            "message_too_long",
            "username_taken",
            "invalid_credentials",
            "invalid_token",
            "account_disabled",
            "not_permitted",
            "unknown_user",
            "cannot_befriend_self",
            "already_friends",
            "not_friends",
            "unknown_group",
            "not_group_admin",
            "already_member",
            "not_member",
            "group_full",
            "too_many_groups",
            "mailbox_full",
            "rate_limited",
            "busy",
            "request_id_conflict",
            "unknown_message",
            "not_author",
            "no_request",
            "no_invitation",
            "internal",
        ];
        for code in codes {
            assert!(
                !matches!(ErrorCode::parse(code), ErrorCode::Other(_)),
                "{code} is not a known code"
            );
            let line = failure(&refused(code, "DESKRIPSI DARI SERVER"));
            assert!(line.starts_with(&format!("error ({code}): ")), "{line}");
            assert!(!line.contains("DESKRIPSI"), "{line}");
        }
    }

    #[test]
    fn unknown_codes_fall_back_to_the_escaped_description() {
        assert_eq!(
            failure(&refused("from_the_future", "baru\x1b[2J")),
            "error (from_the_future): baru\\u{1b}[2J"
        );
        assert_eq!(
            failure(&refused("", "the original server's words")),
            "error: the original server's words"
        );
        assert_eq!(
            failure(&refused("odd\x1b]52;c;x\x07", "")),
            "error (odd\\u{1b}]52;c;x\\u{7}): the server refused the request"
        );
        assert_eq!(
            failure(&ClientError::BadReply("\r\x1b[2J".into())),
            "error: the server's reply could not be read (\\r\\u{1b}[2J)"
        );
    }
}
