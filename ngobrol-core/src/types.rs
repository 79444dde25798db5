//! Validated value types. Each is built only through `parse` (or, for
//! server-made values, a constructor that cannot produce an invalid one), so
//! a function that receives a [`Username`] never has to ask whether it is
//! well formed.

use std::fmt;

use crate::error::ChatError;

/// The name a person registers under.
///
/// 1 to 64 characters of `A-Z a-z 0-9 _ . -`. The name becomes part of a
/// queue name on the broker (`<namespace>_<username>`) and appears in every
/// delivery, so anything that could be misread there (spaces, separators,
/// control characters, non-ASCII look-alikes) is refused up front.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Username(String);

impl Username {
    /// The longest name accepted, in characters (all ASCII, so also bytes).
    pub const MAX_LEN: usize = 64;

    /// The sender name of group notices ("alice joined the group"). Nobody
    /// can register it, so a notice cannot be forged by a user of that name.
    pub const NOTICE_SENDER: &'static str = "admin";

    /// Validates `name` as a username.
    pub fn parse(name: impl Into<String>) -> Result<Self, ChatError> {
        let name = name.into();
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(ChatError::InvalidUsername(format!(
                "a username has 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(ChatError::InvalidUsername(
                "a username may contain only letters A-Z and a-z, digits, '_', '.' and '-'".into(),
            ));
        }
        Ok(Self(name))
    }

    /// True for names kept for the server's own use, which nobody may
    /// register. Compared without regard to case, so `Admin` cannot pass
    /// for `admin` in a client that lower-cases names.
    pub fn is_reserved(&self) -> bool {
        self.0.eq_ignore_ascii_case(Self::NOTICE_SENDER)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The display name of a group: 1 to 100 characters, no control characters,
/// not only white space. Any script and emoji are welcome.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct GroupName(String);

impl GroupName {
    /// The longest name accepted, in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 100;

    pub fn parse(name: impl Into<String>) -> Result<Self, ChatError> {
        let name = name.into();
        let chars = name.chars().count();
        if name.trim().is_empty() || chars > Self::MAX_CHARS {
            return Err(ChatError::InvalidGroupName(format!(
                "a group name has 1 to {} characters and is not blank",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ChatError::InvalidGroupName(
                "a group name may not contain control characters".into(),
            ));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GroupName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The identifier the store gives a group. A 64-bit integer, as the wire
/// protocol carries it (a JSON number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(i64);

impl GroupId {
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The text of a chat message. Any Unicode text is carried as it is; only
/// its size (in UTF-8 bytes) is limited, by [`crate::ServiceConfig`].
#[derive(Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// The default size limit: 64 KiB of UTF-8.
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

    pub fn parse(text: impl Into<String>, max_bytes: usize) -> Result<Self, ChatError> {
        let text = text.into();
        if text.len() > max_bytes {
            return Err(ChatError::MessageTooLong { max_bytes });
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageText({} bytes)", self.0.len())
    }
}

/// A password as the user typed it. Never printed, never stored: only its
/// PBKDF2 hash is.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A session token: what a client presents with every request after login.
/// Never printed; the store keeps only its [`TokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Tokens longer than this cannot be ours; they are refused before any
    /// hashing or look-up.
    pub const MAX_LEN: usize = 256;

    /// Wraps a token a client presented. Only its length is checked here;
    /// whether it is valid is for the session store to say.
    pub fn parse(token: impl Into<String>) -> Result<Self, ChatError> {
        let token = token.into();
        if token.is_empty() || token.len() > Self::MAX_LEN {
            return Err(ChatError::InvalidToken);
        }
        Ok(Self(token))
    }

    /// A fresh token: 160 bits from the operating system's random source,
    /// written as 32 lower-case base-32 characters.
    pub fn generate() -> Result<Self, ChatError> {
        let mut bytes = [0u8; 20];
        getrandom::fill(&mut bytes)
            .map_err(|e| ChatError::Internal(format!("no randomness for a token: {e}")))?;
        Ok(Self(
            data_encoding::BASE32_NOPAD
                .encode(&bytes)
                .to_ascii_lowercase(),
        ))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the token, which is all the store ever sees. A token
    /// carries 160 random bits, so a fast hash is enough: there is nothing
    /// to guess that a slow hash would protect.
    pub fn hash(&self) -> TokenHash {
        use pbkdf2::sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.0.as_bytes());
        TokenHash(data_encoding::HEXLOWER.encode(&digest))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// The hex SHA-256 of a [`Token`], the key of a session in the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    /// Wraps a hash read back from the store.
    pub fn from_stored(hash: String) -> Self {
        Self(hash)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

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

/// The name a person gives a device when logging in ("phone", "Laptop
/// kantor"), shown when they list their sessions: 1 to 64 characters once
/// white space is trimmed from both ends, and no control character
/// anywhere (not even a trailing newline). The name is kept trimmed.
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceName(String);

impl DeviceName {
    /// The longest name accepted, in characters (Unicode scalar values).
    pub const MAX_CHARS: usize = 64;

    pub fn parse(name: impl Into<String>) -> Result<Self, ChatError> {
        let name = name.into();
        let trimmed = name.trim();
        let chars = trimmed.chars().count();
        if chars == 0 || chars > Self::MAX_CHARS {
            return Err(ChatError::InvalidDeviceName(format!(
                "a device name has 1 to {} characters and is not blank",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ChatError::InvalidDeviceName(
                "a device name may not contain control characters".into(),
            ));
        }
        let trimmed = if trimmed.len() == name.len() {
            name
        } else {
            trimmed.to_owned()
        };
        Ok(Self(trimmed))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The unique identifier the server gives every delivery: a UUID version 7,
/// so identifiers sort by the time they were made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(uuid::Uuid);

impl MessageId {
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

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_accept_the_documented_alphabet() {
        for name in ["a", "Alice_01", "bob.smith", "x-y", &"z".repeat(64)] {
            assert!(Username::parse(name).is_ok(), "{name:?} should be valid");
        }
    }

    #[test]
    fn usernames_refuse_everything_else() {
        for name in [
            "",
            &"z".repeat(65),
            "with space",
            "semi;colon",
            "quote'",
            "slash/",
            "nul\0",
            "émile",
            "amq.gen#",
            "new\nline",
        ] {
            let err = Username::parse(name).unwrap_err();
            assert_eq!(err.code(), "invalid_username", "{name:?}");
        }
    }

    #[test]
    fn the_notice_sender_is_reserved_in_any_case() {
        assert!(Username::parse("admin").unwrap().is_reserved());
        assert!(Username::parse("ADMIN").unwrap().is_reserved());
        assert!(!Username::parse("admins").unwrap().is_reserved());
    }

    #[test]
    fn group_names_allow_unicode_but_not_control_characters() {
        assert!(GroupName::parse("Keluarga 👨‍👩‍👧 besar").is_ok());
        assert!(GroupName::parse("x".repeat(100)).is_ok());
        for name in ["", "   ", "tab\there", "bell\u{7}", &"x".repeat(101)] {
            assert_eq!(
                GroupName::parse(name).unwrap_err().code(),
                "invalid_group_name",
                "{name:?}"
            );
        }
    }

    #[test]
    fn message_text_is_limited_in_bytes() {
        assert!(MessageText::parse("é".repeat(5), 10).is_ok());
        let err = MessageText::parse("é".repeat(6), 10).unwrap_err();
        assert_eq!(err.code(), "message_too_long");
        assert!(MessageText::parse("", 10).is_ok());
        assert!(MessageText::parse("nul \0 and 'quotes'", 100).is_ok());
    }

    #[test]
    fn generated_tokens_are_long_random_and_hash_stably() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 32);
        assert_eq!(a.hash(), a.hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().as_str().len(), 64);
    }

    #[test]
    fn secrets_do_not_print() {
        let token = Token::parse("sekrit-token").unwrap();
        let password = Password::new("hunter2");
        assert!(!format!("{token:?}").contains("sekrit"));
        assert!(!format!("{password:?}").contains("hunter2"));
    }

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

    #[test]
    fn device_names_are_trimmed_bounded_and_printable() {
        assert_eq!(
            DeviceName::parse("  Laptop kantor ").unwrap().as_str(),
            "Laptop kantor"
        );
        assert_eq!(DeviceName::parse("📱").unwrap().to_string(), "📱");
        assert!(DeviceName::parse("é".repeat(64)).is_ok());
        assert!(DeviceName::parse(format!(" {} ", "x".repeat(64))).is_ok());
        for name in [
            "",
            "   ",
            &"é".repeat(65),
            "tab\there",
            "phone\n",
            "bell\u{7}",
        ] {
            assert_eq!(
                DeviceName::parse(name).unwrap_err().code(),
                "invalid_device_name",
                "{name:?}"
            );
        }
    }

    #[test]
    fn presented_tokens_are_bounded() {
        assert!(Token::parse("").is_err());
        assert!(Token::parse("t".repeat(257)).is_err());
        assert!(Token::parse("t".repeat(256)).is_ok());
    }
}
