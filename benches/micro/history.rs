//! Micro benchmarks of the history on SQLite: a page of one conversation,
//! a sync page of one user, and an append, each on a store holding
//! 100,000 messages (the baseline) and on one holding 10 million (or
//! `NGOBROL_BENCH_MESSAGES`), built in the same run. Both stores have the
//! same shape per conversation, only a hundred times as many of them, so
//! every call reads the same rows in both: what differs is the size of
//! the tables the indexes search.
//!
//! ```sh
//! cargo bench -p ngobrol-benches --bench history
//! NGOBROL_BENCH_MESSAGES=1000000 cargo bench -p ngobrol-benches --bench history
//! ```
//!
//! The shape: one user per 100 messages (100,000 users for 10 million), in
//! groups of 10; half the messages go to the groups (500 each), half to
//! direct conversations of each user with the next five (10 each).
//! Every call goes through the repository, as the server pays it: with
//! the hop to tokio's blocking pool and a pooled connection.

use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use ngobrol_benches::{FAKE_PASSWORD_HASH, Fixture, FixtureGroup, user_name};
use ngobrol_core::{
    Conversation, Delivery, DeliveryBody, GroupId, GroupName, GroupRef, HistoryQuery,
    HistoryRepository, Marker, MessageId, MessageText, Username,
};
use ngobrol_store::{Store, StoreOptions};

/// Messages per user.
const PER_USER: usize = 100;
const GROUP_SIZE: usize = 10;
/// Each user writes to the next `PEERS` users.
const PEERS: usize = 5;
const BASELINE: usize = 100_000;
/// Messages written per transaction while building.
const CHUNK: usize = 250_000;

struct Db {
    _dir: tempfile::TempDir,
    store: Store,
    messages: usize,
    shape: Shape,
}

/// How many users and groups a store of some size has.
#[derive(Clone, Copy)]
struct Shape {
    users: usize,
    groups: usize,
}

impl Shape {
    fn of(messages: usize) -> Self {
        let users = (messages / PER_USER).max(GROUP_SIZE * 10);
        Self {
            users,
            groups: users / GROUP_SIZE,
        }
    }

    fn name(&self, i: usize) -> Username {
        Username::parse(user_name(i % self.users)).unwrap()
    }
}

fn group_name() -> GroupName {
    GroupName::parse("Keluarga").unwrap()
}

/// Message `k` of the fixture, with its conversation.
fn message(shape: Shape, k: usize, text: &MessageText, at: SystemTime) -> (Conversation, Delivery) {
    let n = k / 2;
    let name = |i| shape.name(i);
    let (conversation, body) = if k.is_multiple_of(2) {
        let group = n % shape.groups;
        let id = GroupId::new(group as i64 + 1);
        let from = name(group * GROUP_SIZE + n / shape.groups % GROUP_SIZE);
        let body = DeliveryBody::Group {
            from,
            group: GroupRef {
                id,
                name: group_name(),
            },
            text: text.clone(),
        };
        (Conversation::Group(id), body)
    } else {
        let user = n % shape.users;
        let peer = user + 1 + n / shape.users % PEERS;
        let (from, to) = (name(user), name(peer));
        let conversation = Conversation::direct(&from, &to);
        let body = DeliveryBody::Direct {
            from,
            text: text.clone(),
        };
        (conversation, body)
    };
    let mut delivery = Delivery::new(body);
    delivery.sent_at = at;
    (conversation, delivery)
}

fn build(messages: usize) -> Db {
    let shape = Shape::of(messages);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.sqlite3");
    let path = path.to_str().unwrap().to_owned();
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    let started = Instant::now();
    let mut fixture = Fixture::open(&path).unwrap();
    fixture
        .transaction(|f| {
            f.users(0..shape.users, FAKE_PASSWORD_HASH)?;
            let groups: Vec<FixtureGroup> = (0..shape.groups)
                .map(|g| FixtureGroup {
                    id: g as i64 + 1,
                    name: "Keluarga".into(),
                    members: (0..GROUP_SIZE)
                        .map(|m| user_name(g * GROUP_SIZE + m))
                        .collect(),
                })
                .collect();
            f.groups(&groups)?;
            Ok(())
        })
        .unwrap();
    let text = MessageText::parse("halo, apa kabar? sampai jumpa nanti malam", 4096).unwrap();
    let at = SystemTime::now();
    for start in (0..messages).step_by(CHUNK) {
        let chunk: Vec<_> = (start..(start + CHUNK).min(messages))
            .map(|k| message(shape, k, &text, at))
            .collect();
        fixture
            .transaction(|f| f.messages(&chunk).map(drop))
            .unwrap();
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "built {messages} messages ({} users, {} groups) in {:?}; the file holds {} MiB",
        shape.users,
        shape.groups,
        started.elapsed(),
        bytes >> 20
    );
    Db {
        _dir: dir,
        store,
        messages,
        shape,
    }
}

/// Runs `call(i)` for `iters` values of `i` on `rt`, timing the whole loop.
fn timed<F, Fut>(rt: &tokio::runtime::Runtime, iters: u64, mut call: F) -> Duration
where
    F: FnMut(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    rt.block_on(async {
        let start = Instant::now();
        for i in 0..iters {
            call(i).await;
        }
        start.elapsed()
    })
}

/// Spreads calls over the fixture (a stride coprime with its sizes), so
/// they do not all hit the same cached pages.
fn spread(i: u64, n: usize) -> usize {
    ((i * 7919) % n as u64) as usize
}

fn on(c: &mut Criterion, rt: &tokio::runtime::Runtime, db: &Db) {
    let label = match db.messages {
        n if n >= 1_000_000 => format!("history_{}m", n / 1_000_000),
        n => format!("history_{}k", n / 1_000),
    };
    let (store, shape) = (&db.store, db.shape);
    let name = move |i| shape.name(i);
    let latest = rt.block_on(store.latest_position()).unwrap();
    let page = |conversation, after, before| HistoryQuery {
        conversation,
        visible_after: 0,
        after,
        before,
        limit: 50,
    };
    let mut group = c.benchmark_group(label);
    group.bench_function("group_latest_50", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let id = GroupId::new(spread(i, shape.groups) as i64 + 1);
                let query = page(Conversation::Group(id), None, None);
                assert!(!store.history(&query).await.unwrap().is_empty());
            })
        })
    });
    group.bench_function("group_before_seq_5", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let id = GroupId::new(spread(i, shape.groups) as i64 + 1);
                let query = page(Conversation::Group(id), None, Some(5));
                assert_eq!(store.history(&query).await.unwrap().len(), 4);
            })
        })
    });
    group.bench_function("direct_after_0", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let user = spread(i, shape.users - PEERS);
                let conversation = Conversation::direct(&name(user), &name(user + 1));
                let query = page(conversation, Some(0), None);
                assert_eq!(store.history(&query).await.unwrap().len(), 10);
            })
        })
    });
    // A device back after a short while: the last 1% of the store's
    // messages are after its cursor, one of its user's conversations'.
    group.bench_function("sync_recent", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let user = name(spread(i, shape.users));
                store.sync(&user, latest - latest / 100, 100).await.unwrap();
            })
        })
    });
    // A new device: the first page of everything its user may read.
    group.bench_function("sync_from_start", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let user = name(spread(i, shape.users));
                assert!(!store.sync(&user, 0, 100).await.unwrap().is_empty());
            })
        })
    });
    // A conversation list: every conversation of one user (one group
    // and their direct ones), each with its latest message and unread
    // count.
    group.bench_function("conversations_of", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let user = name(spread(i, shape.users));
                assert!(!store.conversations_of(&user).await.unwrap().is_empty());
            })
        })
    });
    // A read marker moved forward by one message (the next call finds it
    // where this one left it, so each moves it again).
    group.bench_function("mark_read", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let id = spread(i, shape.groups);
                let reader = name(id * GROUP_SIZE);
                let conversation = Conversation::Group(GroupId::new(id as i64 + 1));
                let seq = 1 + i / shape.groups as u64;
                store
                    .advance_marker(&reader, &conversation, Marker::Read, seq)
                    .await
                    .unwrap();
            })
        })
    });
    // The look-up an edit or a deletion starts with.
    let ids: Vec<MessageId> = rt.block_on(async {
        let mut ids = Vec::new();
        for g in 0..100.min(shape.groups) {
            let conversation = Conversation::Group(GroupId::new(g as i64 + 1));
            let query = page(conversation, None, None);
            let found = store.history(&query).await.unwrap();
            ids.extend(found.into_iter().take(1).map(|m| m.delivery.id));
        }
        ids
    });
    let ids = &ids;
    group.bench_function("find_message", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let id = &ids[spread(i, ids.len())];
                assert!(store.find_message(id).await.unwrap().is_some());
            })
        })
    });
    let text = MessageText::parse("satu lagi", 4096).unwrap();
    let text = &text;
    group.bench_function("append_direct", |b| {
        b.iter_custom(|iters| {
            timed(rt, iters, |i| async move {
                let user = spread(i, shape.users - PEERS);
                let (conversation, delivery) =
                    message(shape, 2 * user + 1, text, SystemTime::now());
                store
                    .append_message(&conversation, &delivery)
                    .await
                    .unwrap();
            })
        })
    });
    group.finish();
}

fn history(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let large: usize = std::env::var("NGOBROL_BENCH_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000_000);
    for messages in [BASELINE, large] {
        let db = build(messages);
        on(c, &rt, &db);
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = history
}
criterion_main!(benches);
