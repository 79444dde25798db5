//! The names people, groups and devices go by, and the id of a group.

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

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
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

    /// Validates `name` as a group name.
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

    /// The name as text.
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
    /// Wraps an id the store gave (or a client named).
    pub const fn new(id: i64) -> Self {
        Self(id)
    }

    /// The id as the integer the store and the wire carry.
    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
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

    /// Validates `name` as a device name, and trims it.
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

    /// The name as text, trimmed.
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
}
