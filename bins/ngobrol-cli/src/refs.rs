//! Messages as the user names them: by the short reference the CLI shows
//! beside each (the last six hexadecimal digits of its id), resolved to
//! the ids of the messages shown lately.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use ngobrol_amqp::client::Event;

use crate::short_ref;

/// The ids of the messages shown lately, newest last.
#[derive(Clone, Debug, Default)]
pub(crate) struct Refs(Arc<Mutex<VecDeque<String>>>);

impl Refs {
    /// How many ids are remembered.
    const KEEP: usize = 1_000;

    /// Notes the id of a message shown.
    pub fn note(&self, event: &Event) {
        if let Some(id) = event.message_id() {
            self.note_id(id);
        }
    }

    pub fn note_id(&self, id: &str) {
        let mut ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() == Self::KEEP {
            ids.pop_front();
        }
        ids.push_back(id.to_owned());
    }

    /// The id a word names: a whole id as it is, or the latest shown
    /// whose short reference it is.
    pub fn resolve(&self, word: &str) -> Result<String, String> {
        if word.len() == 36 && word.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Ok(word.to_owned());
        }
        let ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        ids.iter()
            .rev()
            .find(|id| short_ref(id) == word)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "error: no message {} was shown here (see /history)",
                    crate::sanitize::escape(word)
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Refs;

    #[test]
    fn a_short_reference_names_the_latest_message_shown_with_it() {
        let refs = Refs::default();
        refs.note_id("019ac4c1-0000-7000-8000-00000000abcd");
        refs.note_id("019ac4c1-0000-7000-8000-0000a1b2c3d4");
        assert_eq!(
            refs.resolve("b2c3d4").unwrap(),
            "019ac4c1-0000-7000-8000-0000a1b2c3d4"
        );
        assert_eq!(
            refs.resolve("019ac4c1-0000-7000-8000-000000000001")
                .unwrap(),
            "019ac4c1-0000-7000-8000-000000000001"
        );
        assert!(refs.resolve("ffffff").is_err());
    }
}
