//! The time the rules go by: the system's, or one a test moves by hand, so
//! that no test of expiry or of a rate limit waits for real time to pass.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// The service's clock (in [`ServiceConfig`](crate::ServiceConfig)): wall
/// time for what is stored (issued, expires, last seen) and monotonic time
/// for rate limits. [`Clock::system`] (the default) reads the system's;
/// [`Clock::manual`] stands still until [`advance`](Clock::advance)d.
/// Cheap to clone: clones share the time.
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

struct Manual {
    wall: SystemTime,
    mono: Instant,
    elapsed: Mutex<Duration>,
}

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that starts at the system's time now and moves only when
    /// told.
    pub fn manual() -> Self {
        Self(Some(Arc::new(Manual {
            wall: SystemTime::now(),
            mono: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        })))
    }

    /// Wall time.
    pub fn now(&self) -> SystemTime {
        match &self.0 {
            None => SystemTime::now(),
            Some(manual) => manual.wall + manual.elapsed(),
        }
    }

    /// Monotonic time.
    pub fn instant(&self) -> Instant {
        match &self.0 {
            None => Instant::now(),
            Some(manual) => manual.mono + manual.elapsed(),
        }
    }

    /// Moves a manual clock forward. On the system clock this does
    /// nothing: time moves by itself there.
    pub fn advance(&self, by: Duration) {
        if let Some(manual) = &self.0 {
            *manual.elapsed.lock().unwrap_or_else(|p| p.into_inner()) += by;
        }
    }
}

impl Manual {
    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(manual) => write!(f, "Clock::manual(+{:?})", manual.elapsed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = Clock::manual();
        let (wall, mono) = (clock.now(), clock.instant());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!((clock.now(), clock.instant()), (wall, mono));
        let shared = clock.clone();
        shared.advance(Duration::from_secs(3600));
        assert_eq!(clock.now(), wall + Duration::from_secs(3600));
        assert_eq!(clock.instant(), mono + Duration::from_secs(3600));
        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now() <= SystemTime::now());
    }
}
