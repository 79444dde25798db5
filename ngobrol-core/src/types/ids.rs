//! Identifiers the server makes: of sessions and of deliveries.

use std::fmt;

use super::Username;
use crate::error::ChatError;

/// The identifier of one session (one device) of a user: 128 random bits,
/// written as 32 lower-case hexadecimal characters.
///
/// Unlike the token, it is no secret: it names the session in listings,
/// in `end_session`, and in the name of the session's queue on the broker,
/// which is why nothing but those 32 characters is ever accepted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(String);

impl SessionId {
    /// The length of every session id, in characters (all ASCII).
    pub const LEN: usize = 32;

    /// A fresh id: 128 bits from the operating system's random source.
    pub fn generate() -> Result<Self, ChatError> {
        let mut bytes = [0u8; Self::LEN / 2];
        getrandom::fill(&mut bytes)
            .map_err(|e| ChatError::Internal(format!("no randomness for a session id: {e}")))?;
        Ok(Self(data_encoding::HEXLOWER.encode(&bytes)))
    }

    /// Validates `id` as a session id: exactly 32 characters of `0-9 a-f`.
    /// Anything else is refused with [`ChatError::UnknownSession`]: it
    /// names no session (as a malformed token is an
    /// [`InvalidToken`](ChatError::InvalidToken)).
    pub fn parse(id: impl Into<String>) -> Result<Self, ChatError> {
        let id = id.into();
        if id.len() == Self::LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(id))
        } else {
            Err(ChatError::UnknownSession)
        }
    }

    /// The id as 32 lower-case hexadecimal characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// The unique identifier the server gives every delivery: a UUID version 7,
/// so identifiers sort by the time they were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(uuid::Uuid);

impl MessageId {
    /// A fresh id, from the time now and random bits.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The id of a delivery made for a request the client named
    /// `request_id`: the same inputs always give the same id (a UUID
    /// version 8 from SHA-256), so a retried request re-makes deliveries
    /// with the ids they had, and receivers can drop the copies.
    pub fn derive(user: &Username, request_id: &str, purpose: &str) -> Self {
        use pbkdf2::sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for part in [user.as_str(), request_id, purpose] {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        let digest = hasher.finalize();
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Uuid::new_v8(bytes))
    }
}

impl MessageId {
    /// Reads an id as [`Display`](fmt::Display) writes it; `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_message_ids_are_stable_and_distinct() {
        let ana = Username::parse("ana").unwrap();
        let budi = Username::parse("budi").unwrap();
        let id = MessageId::derive(&ana, "r1", "send");
        assert_eq!(id, MessageId::derive(&ana, "r1", "send"));
        assert_ne!(id, MessageId::derive(&budi, "r1", "send"));
        assert_ne!(id, MessageId::derive(&ana, "r2", "send"));
        assert_ne!(id, MessageId::derive(&ana, "r1", "notice"));
        // Lengths are part of the hash: no two splits collide.
        assert_ne!(
            MessageId::derive(&ana, "r1x", "y"),
            MessageId::derive(&ana, "r1", "xy")
        );
    }

    #[test]
    fn session_ids_are_32_lowercase_hex_characters() {
        let a = SessionId::generate().unwrap();
        let b = SessionId::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert_eq!(SessionId::parse(a.as_str()).unwrap(), a);
        assert_eq!(a.to_string(), a.as_str());
        assert!(format!("{a:?}").contains(a.as_str()));
        let hex = "0123456789abcdef0123456789abcdef";
        assert!(SessionId::parse(hex).is_ok());
        for id in [
            "",
            &hex[1..],
            &format!("{hex}0"),
            &hex.to_uppercase(),
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef 123456789abcdef",
            "0123456789abcdef.123456789abcdef",
            "0123456789abcdef0123456789abcdé",
        ] {
            let err = SessionId::parse(id).unwrap_err();
            assert_eq!(err, ChatError::UnknownSession, "{id:?}");
            assert_eq!(err.code(), "unknown_session", "{id:?}");
        }
    }
}
