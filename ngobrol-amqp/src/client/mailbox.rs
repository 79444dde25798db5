//! A logged-in user's queue, as a client reads it.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use lapin::types::ShortString;
use tokio::sync::mpsc;

use super::events::Event;

/// A user's queue, consumed on every connection until logout.
#[derive(Debug)]
pub(super) struct Mailbox {
    /// Whose it is.
    pub user: String,
    pub queue: String,
    /// For a session's own queue: how it is routed, and the user's mailbox
    /// to empty first.
    pub route: Option<SessionRoute>,
    pub events: mpsc::Sender<Event>,
    /// The ids of the latest deliveries, to drop a copy of one.
    pub seen: Mutex<Seen>,
    /// The consumer on the current connection.
    pub consumer_tag: Mutex<Option<ShortString>>,
    /// Set at logout: nothing more is handed over.
    pub closed: AtomicBool,
}

impl Mailbox {
    pub fn new(
        user: String,
        queue: String,
        route: Option<SessionRoute>,
        events: mpsc::Sender<Event>,
    ) -> Self {
        Self {
            user,
            queue,
            route,
            events,
            seen: Mutex::default(),
            consumer_tag: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }
}

/// Where a session's queue gets its messages from.
#[derive(Debug)]
pub(super) struct SessionRoute {
    /// The user's exchange, which the queue is bound to while online.
    pub exchange: String,
    /// Its alternate exchange (to the mailbox, while no device is online).
    pub offline: String,
    /// The user's mailbox: what waited there is handed over first.
    pub backlog: String,
}

/// The latest delivery ids, at most [`Seen::CAPACITY`].
#[derive(Debug, Default)]
pub(super) struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    const CAPACITY: usize = 10_000;

    /// False when `id` was seen already.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() == Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn a_copy_of_a_delivery_is_dropped_and_old_ids_are_forgotten() {
        let mut seen = Seen::default();
        assert!(seen.first_time("m1"));
        assert!(!seen.first_time("m1"));
        for i in 0..Seen::CAPACITY {
            assert!(seen.first_time(&format!("x{i}")));
        }
        // m1 was the oldest: forgotten to keep the memory bounded.
        assert!(seen.first_time("m1"));
    }
}
