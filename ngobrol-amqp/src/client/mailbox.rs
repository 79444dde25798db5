//! A logged-in user's queue, as a client reads it.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lapin::types::ShortString;
use tokio::sync::mpsc;

use super::events::Event;
use crate::secret::Secret;

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
    /// Where what is handed over from others goes to be acknowledged as
    /// delivered, when the login asked for receipts.
    pub receipts: Option<mpsc::Sender<(super::Peer, u64)>>,
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
            receipts: None,
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
    /// The signal exchange, which the queue is bound to with the user's
    /// name.
    pub signals: String,
    /// The user's mailbox, when what waits there is this device's to hand
    /// over first: not when a client of the original protocol reads it.
    pub backlog: Option<String>,
    /// How the session catches up from the server's history, when the
    /// server keeps one.
    pub catch_up: Option<CatchUp>,
}

/// What a session needs to catch up with `sync` (at login, and after each
/// reconnection): its token, and how far it got.
#[derive(Debug)]
pub(super) struct CatchUp {
    pub token: Secret,
    pub resume: Mutex<Resume>,
}

/// How far a session got in the history: the cursor from which a `sync`
/// gives everything it may have missed.
///
/// A sync page's cursor counts at once. A delivery's counts once it is
/// [`Resume::MARGIN`] old: deliveries of different conversations can reach
/// the session out of order (they are published by different requests),
/// so one with a lower cursor may still be on its way. What a sync from
/// the resume point gives again is dropped by message id.
#[derive(Debug, Default)]
pub(super) struct Resume {
    settled: u64,
    recent: VecDeque<(Instant, u64)>,
}

impl Resume {
    pub const MARGIN: Duration = Duration::from_secs(30);
    /// The most deliveries waiting to count; past it, the oldest counts.
    const RECENT: usize = 10_000;

    pub fn from(cursor: u64) -> Self {
        Self {
            settled: cursor,
            recent: VecDeque::new(),
        }
    }

    /// A sync page ended at `cursor`.
    pub fn synced(&mut self, cursor: u64) {
        self.settled = self.settled.max(cursor);
    }

    /// A delivery with `cursor` was handed over at `now`.
    pub fn delivered(&mut self, cursor: u64, now: Instant) {
        if self.recent.len() == Self::RECENT
            && let Some((_, oldest)) = self.recent.pop_front()
        {
            self.settled = self.settled.max(oldest);
        }
        self.recent.push_back((now, cursor));
    }

    /// Where a sync should start, as of `now`.
    pub fn point(&mut self, now: Instant) -> u64 {
        while let Some(&(at, cursor)) = self.recent.front() {
            if now.duration_since(at) < Self::MARGIN {
                break;
            }
            self.settled = self.settled.max(cursor);
            self.recent.pop_front();
        }
        self.settled
    }
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
    use std::time::{Duration, Instant};

    use super::{Resume, Seen};

    #[test]
    fn a_delivery_counts_for_resuming_once_it_is_old_enough() {
        let start = Instant::now();
        let mut resume = Resume::from(10);
        resume.delivered(15, start);
        resume.delivered(12, start + Duration::from_secs(1));
        assert_eq!(resume.point(start + Duration::from_secs(5)), 10);
        resume.synced(13);
        assert_eq!(resume.point(start + Duration::from_secs(5)), 13);
        assert_eq!(resume.point(start + Resume::MARGIN), 15);
        // Never backwards.
        resume.synced(11);
        assert_eq!(resume.point(start + Resume::MARGIN * 2), 15);
    }

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
