//! The text of a chat message.

use std::fmt;

use crate::error::ChatError;

/// The text of a chat message. Any Unicode text is carried as it is; only
/// its size (in UTF-8 bytes) is limited, by [`crate::ServiceConfig`].
#[derive(Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// The default size limit: 64 KiB of UTF-8.
    pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;

    /// Validates `text` against a limit of `max_bytes` UTF-8 bytes.
    pub fn parse(text: impl Into<String>, max_bytes: usize) -> Result<Self, ChatError> {
        let text = text.into();
        if text.len() > max_bytes {
            return Err(ChatError::MessageTooLong { max_bytes });
        }
        Ok(Self(text))
    }

    /// The text as it was written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// No text: what a deleted message keeps.
    pub fn empty() -> Self {
        Self(String::new())
    }
}

impl fmt::Debug for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageText({} bytes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_text_is_limited_in_bytes() {
        assert!(MessageText::parse("é".repeat(5), 10).is_ok());
        let err = MessageText::parse("é".repeat(6), 10).unwrap_err();
        assert_eq!(err.code(), "message_too_long");
        assert!(MessageText::parse("", 10).is_ok());
        assert!(MessageText::parse("nul \0 and 'quotes'", 100).is_ok());
    }
}
