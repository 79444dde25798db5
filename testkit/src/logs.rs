//! What a test's server logs: its error-level lines fail the test unless
//! the test said it expects them.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::{EnvFilter, fmt};

/// The error-level lines logged by ngobrol's code in one test server's
/// tasks, and the ones the test expects.
#[derive(Clone, Debug, Default)]
pub struct ErrorLines {
    inner: Arc<Mutex<Lines>>,
}

#[derive(Debug, Default)]
struct Lines {
    seen: Vec<String>,
    expected: Vec<String>,
}

impl ErrorLines {
    /// A subscriber for the server's tasks: lines at `RUST_LOG` (default
    /// `warn`) to the test's output, and error lines collected here.
    pub fn dispatch(&self) -> Dispatch {
        let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
        let output = fmt::layer().with_test_writer().with_filter(filter);
        Dispatch::new(
            tracing_subscriber::registry()
                .with(output)
                .with(self.clone()),
        )
    }

    /// Error lines that contain `part` are expected: they fail nothing.
    pub fn expect(&self, part: &str) {
        self.lock().expected.push(part.to_owned());
    }

    /// The error lines logged so far that no expectation covers.
    pub fn unexpected(&self) -> Vec<String> {
        let lines = self.lock();
        lines
            .seen
            .iter()
            .filter(|line| !lines.expected.iter().any(|e| line.contains(e.as_str())))
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lines> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<S: Subscriber> Layer<S> for ErrorLines {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let metadata = event.metadata();
        // The server's own lines; a library's are its business.
        if *metadata.level() != Level::ERROR || !metadata.target().starts_with("ngobrol") {
            return;
        }
        let mut line = format!("{}:", metadata.target());
        event.record(&mut Fields(&mut line));
        self.lock().seen.push(line);
    }
}

/// Writes an event's fields as ` message key=value …`.
struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = match field.name() {
            "message" => write!(self.0, " {value:?}"),
            name => write!(self.0, " {name}={value:?}"),
        };
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = match field.name() {
            "message" => write!(self.0, " {value}"),
            name => write!(self.0, " {name}={value}"),
        };
    }
}
