//! Passwords and tokens as they travel on the wire.

use serde::{Deserialize, Serialize};

/// A password or a token: on the wire a plain JSON string, in `Debug`
/// output `***`, so that logging a request, a reply or a session never
/// prints one. Read it with [`expose`](Self::expose), only where it is
/// used.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A secret holding this text.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret in plain text, for where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret in plain text, taking it.
    pub fn into_exposed(self) -> String {
        self.0
    }

    /// Whether the secret is `""`, as a token is in an error reply.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_is_plain_on_the_wire_and_hidden_in_debug() {
        let secret = Secret::new("hunter22");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"hunter22\"");
        assert_eq!(format!("{secret:?}"), "***");
        let back: Secret = serde_json::from_str("\"hunter22\"").unwrap();
        assert_eq!(back.expose(), "hunter22");
    }
}
