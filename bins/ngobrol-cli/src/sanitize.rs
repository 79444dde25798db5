//! Text from the network, made safe to print on a terminal.
//!
//! Whatever another user or the server chose (message texts, usernames,
//! group names, descriptions, ids) goes through [`escape`] before the CLI
//! prints it, so that no escape sequence reaches the terminal: no clearing
//! the screen (`ESC [2J`), no setting the clipboard (OSC 52), no line that
//! pretends to be another (`CR`, `LF`).
//!
//! The format: every control character, C0 (U+0000 to U+001F), DEL
//! (U+007F) and C1 (U+0080 to U+009F), is shown as a Rust-style escape:
//! `\t`, `\n` and `\r` for tab, line feed and carriage return, and
//! `\u{…}` with the code point in lowercase hexadecimal for the others
//! (`\u{1b}` for ESC, `\u{7}` for BEL, `\u{7f}` for DEL, `\u{9b}` for the
//! C1 CSI). Every other character, a backslash included, is printed as it
//! is: a text that literally contains `\u{1b}` looks the same as one that
//! contained an ESC, which is harmless.
//!
//! `listen --json` prints exact JSON instead, through [`json`]: serde_json
//! escapes C0 controls (`\u001b`) but writes DEL and C1 controls as they
//! are, so [`json`] escapes those the JSON way (`\u009b`), which keeps
//! the value the same.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` is one of the characters [`escape`] replaces.
fn is_escaped(c: char) -> bool {
    // `char::is_control` is exactly the general category Cc: U+0000 to
    // U+001F, U+007F and U+0080 to U+009F.
    c.is_control()
}

/// `text` with every control character replaced by a visible escape (see
/// the module's documentation); borrowed when there is none.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => escaped.push_str("\\t"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            c if is_escaped(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// A line of JSON (as serde_json writes it) with DEL and the C1 controls
/// escaped as `\u00XX` as well: the same JSON value, and nothing a
/// terminal acts on. Those characters can only be inside strings, where
/// JSON allows any character to be written as a `\u` escape.
pub(crate) fn json(line: &str) -> Cow<'_, str> {
    if !line.chars().any(is_escaped) {
        return Cow::Borrowed(line);
    }
    let mut escaped = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        if is_escaped(c) {
            let _ = write!(escaped, "\\u{:04x}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::{escape, json};

    #[test]
    fn json_lines_keep_their_value_and_lose_their_controls() {
        let text = "\x1b]52;c;SGVsbG8=\x07 \x1b[2J\r\n\t\x7f \u{9b}2J \u{85} \\ \" 🙂";
        let line = serde_json::to_string(&serde_json::json!({ "text": text })).unwrap();
        let safe = json(&line);
        assert!(!safe.chars().any(char::is_control), "{safe:?}");
        let parsed: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(parsed["text"], text);
        assert!(
            safe.contains("\\u007f") && safe.contains("\\u009b"),
            "{safe}"
        );
        assert!(matches!(json("{\"a\":1}"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn plain_text_is_unchanged_and_not_copied() {
        for text in ["", "halo budi, apa kabar?", "emoji 🙂 and ümlauts", "a\\b"] {
            assert!(matches!(escape(text), std::borrow::Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn terminal_attacks_are_made_visible() {
        assert_eq!(
            escape("\x1b]52;c;SGVsbG8=\x07"),
            "\\u{1b}]52;c;SGVsbG8=\\u{7}"
        );
        assert_eq!(escape("\x1b[2J"), "\\u{1b}[2J");
        assert_eq!(
            escape("hi\r[12:00:00] admin: fake"),
            "hi\\r[12:00:00] admin: fake"
        );
        assert_eq!(escape("two\nlines\tand tab"), "two\\nlines\\tand tab");
        assert_eq!(escape("nul\0 del\x7f"), "nul\\u{0} del\\u{7f}");
        assert_eq!(escape("c1 \u{9b}2J \u{85}"), "c1 \\u{9b}2J \\u{85}");
    }

    #[test]
    fn every_control_character_and_only_those_is_escaped() {
        for code in 0..=0x10ffff_u32 {
            let Some(c) = char::from_u32(code) else {
                continue;
            };
            let control = code < 0x20 || code == 0x7f || (0x80..=0x9f).contains(&code);
            let escaped = escape(c.encode_utf8(&mut [0; 4])).into_owned();
            if control {
                assert!(escaped.starts_with('\\'), "U+{code:04X}: {escaped:?}");
                assert!(
                    !escaped.chars().any(char::is_control),
                    "U+{code:04X}: {escaped:?}"
                );
            } else {
                assert_eq!(escaped, c.to_string(), "U+{code:04X}");
            }
        }
    }
}
