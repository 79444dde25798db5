//! Lines in and out of the chat: on a terminal, read with rustyline
//! (editing, history in `~/.ngobrol_history`, passwords without echo) and
//! printed above the line being typed; otherwise read plainly, with a
//! password the line after `/login` or `/register`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Editor, ExternalPrinter};
use tokio::io::AsyncBufReadExt;
use tokio::sync::mpsc;

use crate::style::{ChatHelper, Shared, prompt};

/// A line the user entered, with the password it asked for, if any.
pub(crate) struct Entry {
    pub line: String,
    pub password: Option<String>,
}

/// Where output goes: stdout, or above rustyline's prompt.
#[derive(Clone)]
pub(crate) struct Printer(pub Arc<Mutex<Option<Box<dyn ExternalPrinter + Send>>>>);

impl Printer {
    pub fn print(&self, line: String) {
        let mut external = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match external.as_mut() {
            Some(printer) => {
                let _ = printer.print(format!("{line}\n"));
            }
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}");
                let _ = out.flush();
            }
        }
    }
}

/// The command name and the rest of a line, if the line is `/login user`
/// or `/register user`: those ask for a password.
fn asks_password(line: &str) -> bool {
    let mut words = line.split_whitespace();
    matches!(words.next(), Some("/login" | "/register")) && words.next().is_some()
}

/// The line editor: completion from what the chat knows.
pub(crate) type ChatEditor = Editor<ChatHelper, FileHistory>;

pub(crate) fn terminal_input(editor: ChatEditor, known: Shared) -> mpsc::Receiver<Entry> {
    let (sender, receiver) = mpsc::channel(16);
    let history = std::env::var_os("HOME")
        .map(|home| std::path::PathBuf::from(home).join(".ngobrol_history"));
    std::thread::spawn(move || {
        let mut editor = editor;
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        loop {
            let line = match editor.readline(&prompt(&known)) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted | ReadlineError::Eof) => "/quit".to_owned(),
                Err(_) => break,
            };
            let _ = editor.add_history_entry(line.as_str());
            let password = asks_password(&line)
                .then(|| rpassword::prompt_password("password: ").ok())
                .flatten();
            let quit = line.trim() == "/quit";
            if sender.blocking_send(Entry { line, password }).is_err() || quit {
                break;
            }
        }
        if let Some(path) = &history {
            let _ = editor.save_history(path);
        }
    });
    receiver
}

pub(crate) fn plain_input() -> mpsc::Receiver<Entry> {
    let (sender, receiver) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let password = if asks_password(&line) {
                lines.next_line().await.ok().flatten()
            } else {
                None
            };
            if sender.send(Entry { line, password }).await.is_err() {
                break;
            }
        }
        let _ = sender
            .send(Entry {
                line: "/quit".into(),
                password: None,
            })
            .await;
    });
    receiver
}
