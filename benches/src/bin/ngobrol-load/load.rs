//! The load generator: simulated clients speaking the wire protocol with
//! raw lapin, many requests in flight at once, and the recorder that turns
//! what comes back into throughput and latency.
//!
//! Requests go out on one connection without publisher confirms, as the
//! original client sends them; every user's queue is consumed (without
//! acknowledgements) on another. Each message's text starts with
//! `phase:bucket:seq:nanos:`, the moment it was published on the tool's
//! monotonic clock, so a delivery's latency is read off the delivery
//! itself: publish of `send_client` to arrival in the recipient's queue.
//! Messages of an earlier phase that arrive late are counted apart and do
//! not pollute the current one.
//!
//! Two kinds of flow control: at saturation, a window of requests in flight
//! (a permit is taken per request and given back by its reply, which the
//! server sends only after the delivery is confirmed); at a fixed rate, a
//! schedule of publish times, with the window only as a safety bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use ngobrol_amqp::Namespace;
use ngobrol_amqp::wire::{Login, Request, SendClient, SendGroup};
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::procfs::{CpuReading, CpuUse};
use crate::recorder::{Measured, Recorder, Timeline, spawn_consumer};

/// A user who sends direct messages to a friend.
#[derive(Clone, Debug)]
pub struct DirectSender {
    pub from: String,
    pub to: String,
    pub token: String,
}

/// A member who sends messages to their group.
#[derive(Clone, Debug)]
pub struct GroupSender {
    pub from: String,
    pub group: i64,
    pub token: String,
    /// Members of the group, so deliveries per message.
    pub members: usize,
}

/// How requests are paced.
#[derive(Clone, Copy, Debug)]
pub enum Pace {
    /// As fast as replies come back, with this many requests in flight.
    Window(usize),
    /// This many requests per second, on a fixed schedule.
    Rate(f64),
}

/// A login storm to run during the second bucket of a phase.
#[derive(Clone, Debug)]
pub struct Storm {
    pub users: Vec<String>,
    pub password: String,
    /// Logins in flight.
    pub window: usize,
}

/// The simulated clients.
pub struct Load {
    namespace: String,
    publish: Channel,
    _connections: [Connection; 2],
    reply_queue: String,
    recorder: Arc<Recorder>,
    message_bytes: usize,
    request_ids: bool,
    next_phase: AtomicU64,
    seq: AtomicU64,
    /// The server's or relay's pid and the broker's, for CPU readings.
    pub target_pid: Mutex<Option<u32>>,
    pub broker_pid: Option<u32>,
}

/// Flow-control bound at a fixed rate: a safety net against a server that
/// cannot keep up, not a pacing device.
const RATE_WINDOW: usize = 20_000;
/// How long a phase waits for the last replies and deliveries.
const DRAIN_LIMIT: Duration = Duration::from_secs(20);

impl Load {
    /// Connects, declares and consumes the queues of `users`, and a private
    /// queue for login replies.
    pub async fn connect(
        url: &str,
        namespace: &str,
        users: &[String],
        message_bytes: usize,
        request_ids: bool,
    ) -> anyhow::Result<Self> {
        let publish_connection = Connection::connect(url, ConnectionProperties::default())
            .await
            .context("cannot connect to the broker")?;
        let consume_connection = Connection::connect(url, ConnectionProperties::default()).await?;
        let publish = publish_connection.create_channel().await?;
        let consume = consume_connection.create_channel().await?;
        let recorder = Arc::new(Recorder::new());
        let no_ack = BasicConsumeOptions {
            no_ack: true,
            ..BasicConsumeOptions::default()
        };
        // The request queue too, as the original client declares it, so
        // requests wait for a server that is (re)starting.
        publish
            .queue_declare(
                namespace.into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await?;
        for user in users {
            // Durable, no arguments: as the server declares mailboxes.
            let queue = Namespace::parse(namespace)?.user_queue(user);
            consume
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions::durable(),
                    FieldTable::default(),
                )
                .await?;
            let consumer = consume
                .basic_consume(queue.into(), "".into(), no_ack, FieldTable::default())
                .await?;
            spawn_consumer(consumer, recorder.clone(), false);
        }
        let private = consume
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        let reply_queue = private.name().as_str().to_owned();
        let consumer = consume
            .basic_consume(
                private.name().clone(),
                "".into(),
                no_ack,
                FieldTable::default(),
            )
            .await?;
        spawn_consumer(consumer, recorder.clone(), true);
        Ok(Self {
            namespace: namespace.to_owned(),
            publish,
            _connections: [publish_connection, consume_connection],
            reply_queue,
            recorder,
            message_bytes,
            request_ids,
            next_phase: AtomicU64::new(1),
            seq: AtomicU64::new(0),
            target_pid: Mutex::new(None),
            broker_pid: crate::procfs::broker_pid(),
        })
    }

    fn cpu_reading(&self) -> CpuReading {
        let target = *self.target_pid.lock().unwrap_or_else(|p| p.into_inner());
        CpuReading::take(target, self.broker_pid)
    }

    /// `phase:bucket:seq:nanos:` padded to the message size.
    fn stamped_text(&self, phase: u64, bucket: usize, at: Instant) -> String {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let mut text = format!("{phase}:{bucket}:{seq}:{}:", self.recorder.nanos(at));
        if text.len() < self.message_bytes {
            text.extend(std::iter::repeat_n('x', self.message_bytes - text.len()));
        }
        text
    }

    async fn publish(
        &self,
        queue: &str,
        request: &Request,
        properties: BasicProperties,
    ) -> anyhow::Result<()> {
        /// The request as a client sends it: its fields and `method`, and
        /// when asked, a `request_id` as the SDK adds.
        #[derive(Serialize)]
        struct Outgoing<'a> {
            #[serde(flatten)]
            request: &'a Request,
            #[serde(skip_serializing_if = "Option::is_none")]
            request_id: Option<String>,
        }
        let request_id = self
            .request_ids
            .then(|| format!("r{}", self.seq.fetch_add(1, Ordering::Relaxed)));
        let body = serde_json::to_vec(&Outgoing {
            request,
            request_id,
        })?;
        self.publish
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                &body,
                properties.with_content_type("application/json".into()),
            )
            .await?;
        Ok(())
    }

    /// Runs one phase: requests from `senders` (direct or group messages)
    /// paced by `pace`, optionally a login storm in the second bucket, and
    /// waits for everything to come back.
    pub async fn run_phase(
        &self,
        queue: &str,
        senders: Senders<'_>,
        pace: Pace,
        timeline: Timeline,
        storm: Option<&Storm>,
    ) -> anyhow::Result<Measured> {
        let phase = self.next_phase.fetch_add(1, Ordering::Relaxed);
        let buckets = if timeline.ends[1] > timeline.ends[0] {
            2
        } else {
            1
        };
        let window = match pace {
            Pace::Window(n) => n.max(1),
            Pace::Rate(_) => RATE_WINDOW,
        };
        let login_window = storm.map_or(1, |s| s.window.max(1));
        let (replies, login_permits) = self.recorder.begin(
            phase,
            buckets,
            (timeline.measure, timeline.end()),
            window,
            login_window,
        );

        let cpu = async {
            tokio::time::sleep_until(timeline.measure.into()).await;
            let start = self.cpu_reading();
            tokio::time::sleep_until(timeline.end().into()).await;
            CpuUse::between(&start, &self.cpu_reading())
        };
        let storm_run = async {
            match storm {
                Some(storm) if buckets == 2 => {
                    self.login_storm(phase, storm, &login_permits, timeline)
                        .await
                }
                _ => Ok(0),
            }
        };
        let requests = self.send(queue, phase, senders, pace, &replies, timeline);
        let (cpu, sent, logins) = tokio::join!(cpu, requests, storm_run);
        let (published, measured_requests, expected_deliveries) = sent?;
        let logins_sent = logins?;

        // Wait for every reply (the window refills) and every delivery.
        let drain_until = Instant::now() + DRAIN_LIMIT;
        loop {
            let replies_back = replies.available_permits() >= window;
            let logins_back = login_permits.available_permits() >= login_window;
            let delivered = self.recorder.state().deliveries >= expected_deliveries;
            if (replies_back && logins_back && delivered) || Instant::now() >= drain_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let _ = (published, logins_sent);

        let mut state = self.recorder.state();
        let seconds = timeline
            .end()
            .duration_since(timeline.measure)
            .as_secs_f64();
        let latency = state
            .latencies
            .iter_mut()
            .map(|samples| ngobrol_benches::Summary::of(samples))
            .collect();
        Ok(Measured {
            seconds,
            requests: measured_requests,
            deliveries_in_window: state.deliveries_in_window,
            requests_per_s: measured_requests as f64 / seconds,
            deliveries_per_s: state.deliveries_in_window as f64 / seconds,
            latency,
            logins_in_window: state.logins_in_window,
            logins_per_s: state.logins_in_window as f64 / seconds,
            login_latency: ngobrol_benches::Summary::of(&mut state.login_latencies),
            replies_ok: state.replies_ok,
            replies_error: state.replies_error,
            first_error: state.first_error.clone(),
            missing_deliveries: expected_deliveries.saturating_sub(state.deliveries),
            stale: state.stale,
            cpu,
        })
    }

    /// Publishes the phase's messages. Returns (published, published in
    /// the window, deliveries expected).
    async fn send(
        &self,
        queue: &str,
        phase: u64,
        senders: Senders<'_>,
        pace: Pace,
        replies: &Semaphore,
        timeline: Timeline,
    ) -> anyhow::Result<(u64, u64, u64)> {
        let end = timeline.end();
        let (mut published, mut measured, mut expected) = (0u64, 0u64, 0u64);
        let count = senders.len();
        if count == 0 {
            return Ok((0, 0, 0));
        }
        for i in 0u64..crate::MAX_REQUESTS_PER_PHASE {
            if let Pace::Rate(rate) = pace {
                let due = timeline.start + Duration::from_secs_f64(i as f64 / rate);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
            }
            // A permit per request, given back by its reply.
            match tokio::time::timeout_at(end.into(), replies.acquire()).await {
                Ok(Ok(permit)) => permit.forget(),
                _ => break,
            }
            let now = Instant::now();
            if now >= end {
                replies.add_permits(1);
                break;
            }
            let bucket = timeline.bucket(now);
            let text = self.stamped_text(phase, bucket, now);
            let (request, deliveries) = senders.request(i as usize % count, text);
            self.publish(queue, &request, BasicProperties::default())
                .await?;
            published += 1;
            expected += deliveries;
            if bucket > 0 {
                measured += 1;
            }
        }
        Ok((published, measured, expected))
    }

    /// Logs the storm's users in, `window` at a time, during the second
    /// bucket. Returns how many logins were sent.
    async fn login_storm(
        &self,
        phase: u64,
        storm: &Storm,
        permits: &Semaphore,
        timeline: Timeline,
    ) -> anyhow::Result<u64> {
        let (start, end) = (timeline.ends[0], timeline.ends[1]);
        tokio::time::sleep_until(start.into()).await;
        self.logins(phase, storm, permits, end, |_| 2).await
    }

    /// Logs users in back to back with `storm.window` in flight until
    /// `end`; `bucket` labels each by its publish time.
    async fn logins(
        &self,
        phase: u64,
        storm: &Storm,
        permits: &Semaphore,
        end: Instant,
        bucket: impl Fn(Instant) -> usize,
    ) -> anyhow::Result<u64> {
        let mut sent = 0u64;
        for i in 0..crate::MAX_REQUESTS_PER_PHASE as usize {
            match tokio::time::timeout_at(end.into(), permits.acquire()).await {
                Ok(Ok(permit)) => permit.forget(),
                _ => break,
            }
            let now = Instant::now();
            if now >= end {
                permits.add_permits(1);
                break;
            }
            let user = &storm.users[i % storm.users.len()];
            let request = Request::Login(Login {
                username: user.clone(),
                password: storm.password.as_str().into(),
                queue_name: Some(self.reply_queue.clone()),
                device: None,
                session_queue: true,
            });
            let correlation = format!("{phase}:{}:{i}:{}:", bucket(now), self.recorder.nanos(now));
            let properties = BasicProperties::default()
                .with_reply_to(self.reply_queue.as_str().into())
                .with_correlation_id(correlation.into());
            self.publish(&self.namespace, &request, properties).await?;
            sent += 1;
        }
        Ok(sent)
    }

    /// A phase of logins only, `storm.window` in flight: the login rate.
    pub async fn run_logins(&self, storm: &Storm, timeline: Timeline) -> anyhow::Result<Measured> {
        let phase = self.next_phase.fetch_add(1, Ordering::Relaxed);
        let window = storm.window.max(1);
        let (_, permits) =
            self.recorder
                .begin(phase, 1, (timeline.measure, timeline.end()), 1, window);
        let cpu = async {
            tokio::time::sleep_until(timeline.measure.into()).await;
            let start = self.cpu_reading();
            tokio::time::sleep_until(timeline.end().into()).await;
            CpuUse::between(&start, &self.cpu_reading())
        };
        let run = self.logins(phase, storm, &permits, timeline.end(), |at| {
            timeline.bucket(at)
        });
        let (cpu, sent) = tokio::join!(cpu, run);
        sent?;
        let drain_until = Instant::now() + DRAIN_LIMIT;
        while permits.available_permits() < window && Instant::now() < drain_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut state = self.recorder.state();
        let seconds = timeline
            .end()
            .duration_since(timeline.measure)
            .as_secs_f64();
        Ok(Measured {
            seconds,
            logins_in_window: state.logins_in_window,
            logins_per_s: state.logins_in_window as f64 / seconds,
            login_latency: ngobrol_benches::Summary::of(&mut state.login_latencies),
            replies_error: state.replies_error,
            first_error: state.first_error.clone(),
            stale: state.stale,
            cpu,
            ..Measured::default()
        })
    }
}

/// Who sends in a phase.
#[derive(Clone, Copy, Debug)]
pub enum Senders<'a> {
    Direct(&'a [DirectSender]),
    Group(&'a [GroupSender]),
}

impl Senders<'_> {
    pub fn len(&self) -> usize {
        match self {
            Senders::Direct(s) => s.len(),
            Senders::Group(s) => s.len(),
        }
    }

    /// Sender `i`'s request with `text`, and the deliveries it makes.
    fn request(&self, i: usize, text: String) -> (Request, u64) {
        match self {
            Senders::Direct(senders) => {
                let s = &senders[i];
                let request = Request::SendClient(SendClient {
                    username_from: s.from.clone(),
                    username_to: s.to.clone(),
                    message: text,
                    token: s.token.as_str().into(),
                });
                (request, 1)
            }
            Senders::Group(senders) => {
                let s = &senders[i];
                let request = Request::SendGroup(SendGroup {
                    username_from: s.from.clone(),
                    group_id_to: s.group,
                    message: text,
                    token: s.token.as_str().into(),
                });
                (request, s.members as u64)
            }
        }
    }
}
