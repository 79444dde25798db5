//! Secrets: passwords, session tokens, and the hashes the store keeps of
//! tokens.

use std::fmt;

use crate::error::ChatError;

/// A password as the user typed it. Never printed, never stored: only its
/// PBKDF2 hash is.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Wraps a password as the user typed it. Its rules are checked
    /// where one is set, not here.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password itself, for hashing and checking.
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

    /// The token itself, as the client sends and receives it.
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

    /// The hash as 64 lower-case hexadecimal characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn presented_tokens_are_bounded() {
        assert!(Token::parse("").is_err());
        assert!(Token::parse("t".repeat(257)).is_err());
        assert!(Token::parse("t".repeat(256)).is_ok());
    }
}
