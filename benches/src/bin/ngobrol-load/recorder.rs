//! The recorder: what comes back from the server (replies and
//! deliveries) turned into throughput and latency per phase, and the
//! timeline of a phase.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::Consumer;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::procfs::CpuUse;

/// What a phase measured, before it is labelled for the report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Measured {
    pub seconds: f64,
    /// Requests published inside the measurement window.
    pub requests: u64,
    /// Deliveries (of this phase's messages) that arrived inside the window.
    pub deliveries_in_window: u64,
    pub requests_per_s: f64,
    pub deliveries_per_s: f64,
    /// Latency of deliveries of messages published inside the window, by
    /// bucket (one bucket, or two for the mixed phase: quiet, then storm).
    pub latency: Vec<Option<ngobrol_benches::Summary>>,
    pub logins_in_window: u64,
    pub logins_per_s: f64,
    pub login_latency: Option<ngobrol_benches::Summary>,
    pub replies_ok: u64,
    pub replies_error: u64,
    pub first_error: Option<String>,
    /// Deliveries expected (one per direct message, one per member per
    /// group message) that had not arrived when the phase gave up waiting.
    pub missing_deliveries: u64,
    /// Deliveries of earlier phases that arrived during this one.
    pub stale: u64,
    pub cpu: CpuUse,
}

#[derive(Default)]
pub(crate) struct PhaseState {
    pub(crate) phase: u64,
    /// The measurement window, in nanoseconds on the tool's clock.
    pub(crate) window: (u64, u64),
    pub(crate) latencies: Vec<Vec<u64>>,
    pub(crate) deliveries: u64,
    pub(crate) deliveries_in_window: u64,
    pub(crate) stale: u64,
    pub(crate) replies_ok: u64,
    pub(crate) replies_error: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) login_latencies: Vec<u64>,
    pub(crate) logins_in_window: u64,
}

/// Collects what arrives, for the phase under way.
pub struct Recorder {
    pub(crate) epoch: Instant,
    pub(crate) state: Mutex<PhaseState>,
    /// The window of requests in flight of the current phase, and of logins.
    pub(crate) replies: Mutex<Arc<Semaphore>>,
    pub(crate) logins: Mutex<Arc<Semaphore>>,
}

/// The fields of any message a user's queue receives that matter here.
#[derive(Deserialize)]
pub(crate) struct Incoming<'a> {
    #[serde(borrow)]
    pub(crate) method: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) code: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) description: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) message: Option<Cow<'a, str>>,
}

/// `phase:bucket:seq:nanos:` at the start of a message text (or of a
/// login's correlation id).
fn parse_stamp(text: &str) -> Option<(u64, usize, u64)> {
    let mut parts = text.splitn(5, ':');
    let phase = parts.next()?.parse().ok()?;
    let bucket = parts.next()?.parse().ok()?;
    let _seq = parts.next()?;
    let sent = parts.next()?.parse().ok()?;
    Some((phase, bucket, sent))
}

impl Recorder {
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
            state: Mutex::new(PhaseState::default()),
            replies: Mutex::new(Arc::new(Semaphore::new(0))),
            logins: Mutex::new(Arc::new(Semaphore::new(0))),
        }
    }

    pub(crate) fn nanos(&self, at: Instant) -> u64 {
        at.duration_since(self.epoch).as_nanos() as u64
    }

    pub(crate) fn state(&self) -> std::sync::MutexGuard<'_, PhaseState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts recording phase `phase` with `buckets` latency buckets, a
    /// measurement window, and fresh request windows.
    pub(crate) fn begin(
        &self,
        phase: u64,
        buckets: usize,
        window: (Instant, Instant),
        requests: usize,
        logins: usize,
    ) -> (Arc<Semaphore>, Arc<Semaphore>) {
        *self.state() = PhaseState {
            phase,
            window: (self.nanos(window.0), self.nanos(window.1)),
            latencies: vec![Vec::new(); buckets],
            ..PhaseState::default()
        };
        let replies = Arc::new(Semaphore::new(requests));
        let login_permits = Arc::new(Semaphore::new(logins));
        *self.replies.lock().unwrap_or_else(|p| p.into_inner()) = replies.clone();
        *self.logins.lock().unwrap_or_else(|p| p.into_inner()) = login_permits.clone();
        (replies, login_permits)
    }

    /// A message from a user's queue: a reply or a delivery.
    pub fn on_message(&self, data: &[u8]) {
        let now = self.nanos(Instant::now());
        let Ok(incoming) = serde_json::from_slice::<Incoming>(data) else {
            return;
        };
        if incoming.method.ends_with("_reply") {
            {
                let mut state = self.state();
                if incoming.status.as_deref() == Some("ok") {
                    state.replies_ok += 1;
                } else {
                    state.replies_error += 1;
                    if state.first_error.is_none() {
                        state.first_error = Some(format!(
                            "{}: {} ({})",
                            incoming.method,
                            incoming.code.as_deref().unwrap_or("?"),
                            incoming.description.as_deref().unwrap_or("")
                        ));
                    }
                }
            }
            self.replies
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .add_permits(1);
            return;
        }
        let Some((phase, bucket, sent)) = incoming.message.as_deref().and_then(parse_stamp) else {
            return;
        };
        let mut state = self.state();
        if phase != state.phase {
            state.stale += 1;
            return;
        }
        state.deliveries += 1;
        if (state.window.0..state.window.1).contains(&now) {
            state.deliveries_in_window += 1;
        }
        if let Some(samples) = bucket
            .checked_sub(1)
            .and_then(|b| state.latencies.get_mut(b))
        {
            samples.push(now.saturating_sub(sent));
        }
    }

    /// A reply to a login, matched by its correlation id.
    pub fn on_login_reply(&self, data: &[u8], correlation: Option<&str>) {
        let now = self.nanos(Instant::now());
        let ok = serde_json::from_slice::<Incoming>(data)
            .is_ok_and(|r| r.status.as_deref() == Some("ok"));
        {
            let mut state = self.state();
            match correlation.and_then(parse_stamp) {
                Some((phase, bucket, sent)) if phase == state.phase => {
                    if ok {
                        if (state.window.0..state.window.1).contains(&now) {
                            state.logins_in_window += 1;
                        }
                        if bucket > 0 {
                            state.login_latencies.push(now.saturating_sub(sent));
                        }
                    } else {
                        state.replies_error += 1;
                        if state.first_error.is_none() {
                            state.first_error =
                                Some(format!("login_reply: {}", String::from_utf8_lossy(data)));
                        }
                    }
                }
                _ => state.stale += 1,
            }
        }
        self.logins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add_permits(1);
    }
}

/// Where a phase is in time.
#[derive(Clone, Copy, Debug)]
pub struct Timeline {
    pub start: Instant,
    /// End of the warm-up: measurement starts.
    pub measure: Instant,
    /// Bucket boundaries after `measure`; the last one ends the phase.
    pub ends: [Instant; 2],
}

impl Timeline {
    pub fn new(warmup: Duration, windows: &[Duration]) -> Self {
        let start = Instant::now();
        let measure = start + warmup;
        let first = measure + windows[0];
        let second = first + windows.get(1).copied().unwrap_or_default();
        Self {
            start,
            measure,
            ends: [first, second],
        }
    }

    pub fn end(&self) -> Instant {
        self.ends[1].max(self.ends[0])
    }

    /// The latency bucket of a message published at `at`: 0 during the
    /// warm-up, then 1, 2, ….
    pub(crate) fn bucket(&self, at: Instant) -> usize {
        if at < self.measure {
            0
        } else if at < self.ends[0] {
            1
        } else {
            2
        }
    }
}

pub fn spawn_consumer(mut consumer: Consumer, recorder: Arc<Recorder>, logins: bool) {
    tokio::spawn(async move {
        while let Some(Ok(delivery)) = consumer.next().await {
            if logins {
                let correlation = delivery.properties.correlation_id().as_ref();
                recorder.on_login_reply(&delivery.data, correlation.map(|c| c.as_str()));
            } else {
                recorder.on_message(&delivery.data);
            }
        }
    });
}
