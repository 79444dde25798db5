//! Colours and completion for the chat on a terminal.
//!
//! Colours only when standard output is a terminal and `NO_COLOR` is not
//! set (<https://no-color.org>): a script or a pipe gets plain text.
//! Tab completes commands, then friends' names and group ids (`#7` where a
//! command takes either), from what the session last listed.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use anstyle::{AnsiColor, Style};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// How lines are shown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Look {
    colours: bool,
}

impl Look {
    /// Colours if standard output is a terminal and `NO_COLOR` is unset or
    /// empty.
    pub fn detect() -> Self {
        let refused = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            colours: std::io::stdout().is_terminal() && !refused,
        }
    }

    fn paint(self, style: Style, text: &str) -> String {
        if self.colours {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }

    pub fn ok(self, text: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), text)
    }

    pub fn error(self, text: &str) -> String {
        self.paint(AnsiColor::Red.on_default().bold(), text)
    }

    /// A message someone sent.
    pub fn message(self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// Receipts, typing, presence, notices: shown, but quietly.
    pub fn quiet(self, text: &str) -> String {
        self.paint(Style::new().dimmed(), text)
    }
}

/// What Tab can complete beyond the commands, and the prompt: kept up to
/// date by the chat.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// Who is logged in, for the prompt.
    pub user: Option<String>,
    pub friends: Vec<String>,
    pub groups: Vec<i64>,
}

pub(crate) type Shared = Arc<Mutex<Known>>;

/// The prompt: `ana> ` once ana is logged in, else `> `.
pub(crate) fn prompt(known: &Shared) -> String {
    match &lock(known).user {
        Some(user) => format!("{user}> "),
        None => "> ".into(),
    }
}

fn lock(known: &Shared) -> std::sync::MutexGuard<'_, Known> {
    known.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every command, for completion.
pub(crate) const COMMANDS: &[&str] = &[
    "/register",
    "/login",
    "/share",
    "/logout",
    "/logout-all",
    "/sessions",
    "/friends",
    "/add",
    "/requests",
    "/accept",
    "/decline",
    "/unfriend",
    "/block",
    "/unblock",
    "/blocked",
    "/msg",
    "/groups",
    "/create",
    "/invite",
    "/leave",
    "/members",
    "/kick",
    "/transfer",
    "/rename",
    "/delete-group",
    "/gmsg",
    "/conversations",
    "/history",
    "/edit",
    "/unsend",
    "/help",
    "/quit",
];

/// What the word after a command names.
fn argument_of(command: &str) -> Option<Argument> {
    Some(match command {
        "/msg" | "/unfriend" | "/block" | "/unblock" => Argument::Friend,
        "/invite" | "/leave" | "/members" | "/kick" | "/transfer" | "/rename" | "/delete-group"
        | "/gmsg" => Argument::Group,
        "/history" | "/accept" | "/decline" => Argument::Either,
        _ => return None,
    })
}

enum Argument {
    Friend,
    Group,
    /// A friend, or a group as `#id`.
    Either,
}

/// The line editor's helper: completion only.
pub(crate) struct ChatHelper(pub Shared);

impl ChatHelper {
    /// The candidates for the word before `pos` in `line`, and where it
    /// starts.
    fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |at| at + 1);
        let word = &before[start..];
        let words: Vec<&str> = before[..start].split_whitespace().collect();
        let options: Vec<String> = match words.as_slice() {
            [] => COMMANDS.iter().map(|c| c.to_string()).collect(),
            [command] => {
                let known = lock(&self.0);
                let friends = known.friends.iter().cloned();
                match argument_of(command) {
                    Some(Argument::Friend) => friends.collect(),
                    Some(Argument::Group) => known.groups.iter().map(|g| g.to_string()).collect(),
                    Some(Argument::Either) => friends
                        .chain(known.groups.iter().map(|g| format!("#{g}")))
                        .collect(),
                    None => Vec::new(),
                }
            }
            // The user after a group id.
            [command, _] if matches!(*command, "/invite" | "/kick" | "/transfer") => {
                lock(&self.0).friends.clone()
            }
            _ => Vec::new(),
        };
        let matching = options
            .into_iter()
            .filter(|option| option.starts_with(word))
            .collect();
        (start, matching)
    }
}

impl Completer for ChatHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.candidates(line, pos);
        let pairs = found
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: format!("{c} "),
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for ChatHelper {
    type Hint = String;
}

impl Highlighter for ChatHelper {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        let look = Look::detect();
        Cow::Owned(look.paint(Style::new().bold(), prompt))
    }
}

impl Validator for ChatHelper {}

impl Helper for ChatHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> ChatHelper {
        ChatHelper(Arc::new(Mutex::new(Known {
            user: Some("ana".into()),
            friends: vec!["budi".into(), "bunga".into(), "cici".into()],
            groups: vec![7, 12],
        })))
    }

    #[test]
    fn tab_completes_commands_then_friends_and_groups() {
        let h = helper();
        assert_eq!(h.candidates("/he", 3), (0, vec!["/help".to_owned()]));
        assert_eq!(
            h.candidates("/msg bu", 7),
            (5, vec!["budi".into(), "bunga".into()])
        );
        assert_eq!(h.candidates("/gmsg 1", 7), (6, vec!["12".into()]));
        assert_eq!(
            h.candidates("/history #", 10),
            (9, vec!["#7".into(), "#12".into()])
        );
        assert_eq!(h.candidates("/invite 7 c", 11), (10, vec!["cici".into()]));
        assert_eq!(h.candidates("/msg budi ha", 12), (10, Vec::<String>::new()));
        assert_eq!(prompt(&h.0), "ana> ");
    }

    #[test]
    fn no_colours_off_a_terminal() {
        let look = Look { colours: false };
        assert_eq!(look.error("error: x"), "error: x");
        let look = Look { colours: true };
        assert!(look.error("error: x").starts_with("\u{1b}["));
    }
}
