//! Micro benchmarks of the store's look-ups on the hot path of a message,
//! on SQLite holding 100,000 users: `find_user` (the recipient exists),
//! `find_session` (the token checks out), `are_friends`. Each call is
//! measured as the server pays it: through the repository, so with the
//! hop to tokio's blocking pool and a connection from the pool.
//!
//! ```sh
//! cargo bench -p ngobrol-benches --bench store
//! ```
//!
//! The database is built once per run in a temporary directory, with rows
//! written in bulk through the store's `fixtures` API (see
//! `ngobrol_benches::Fixture`).
//!
//! Two reference points sit beside them. `diesel_pk_lookup` runs the
//! primary-key query of `find_user` on a bare connection, once as the
//! store writes it (`.first()`, which binds `LIMIT ?`) and once without a
//! limit (`.get_result()`): the bundled SQLite (3.53, built with STAT4)
//! takes a bound LIMIT into account when planning, so rebinding it marks
//! the statement expired and every `.first()` is parsed and planned again.
//! `spawn_blocking_noop` is the hop to the blocking pool alone, which every
//! repository call pays.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use diesel::prelude::*;
use ngobrol_benches::{FAKE_PASSWORD_HASH, Fixture, user_name};
use ngobrol_core::{FriendRepository, SessionRepository, Token, UserRepository, Username};
use ngobrol_store::{Store, StoreOptions};

const USERS: usize = 100_000;
/// Users with a live session: those "online".
const SESSIONS: usize = 10_000;
/// Each user is friends with the next `FRIENDS` users.
const FRIENDS: usize = 5;

// The `users` table as the migrations of ngobrol-store create it (its own
// schema module is private).
diesel::table! {
    users (username) {
        username -> Text,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

struct Db {
    _dir: tempfile::TempDir,
    path: String,
    store: Store,
    tokens: Vec<Token>,
}

fn build() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.sqlite3");
    let path = path.to_str().unwrap().to_owned();
    let path = path.as_str();
    // Opening creates the file and runs the migrations.
    let store = Store::open(path, &StoreOptions::default()).unwrap();
    let started = Instant::now();
    let mut fixture = Fixture::open(path).unwrap();
    let mut tokens = Vec::new();
    fixture
        .transaction(|f| {
            f.users(0..USERS, FAKE_PASSWORD_HASH)?;
            let pairs: Vec<(String, String)> = (0..USERS - FRIENDS)
                .flat_map(|i| (1..=FRIENDS).map(move |d| (user_name(i), user_name(i + d))))
                .collect();
            f.friendships(&pairs)?;
            let online: Vec<String> = (0..SESSIONS).map(|i| user_name(i * 7)).collect();
            tokens = f.sessions(&online)?;
            Ok(())
        })
        .unwrap();
    eprintln!(
        "built {USERS} users, {} friendships, {SESSIONS} sessions in {:?}",
        (USERS - FRIENDS) * FRIENDS,
        started.elapsed()
    );
    Db {
        path: path.to_owned(),
        _dir: dir,
        store,
        tokens,
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

/// Spreads look-ups over the table (a stride coprime with its size), so
/// they do not all hit the same cached pages.
fn spread(i: u64, n: usize) -> usize {
    ((i * 7919) % n as u64) as usize
}

fn lookups(c: &mut Criterion) {
    let db = build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let users: Vec<Username> = (0..USERS)
        .map(|i| Username::parse(user_name(i)).unwrap())
        .collect();
    let nobody = Username::parse("nobody").unwrap();
    let hashes: Vec<_> = db.tokens.iter().map(Token::hash).collect();
    // References, so that each look-up's `async move` copies a pointer.
    let (store, users, hashes, nobody) = (&db.store, &users, &hashes, &nobody);

    let mut group = c.benchmark_group("store_100k");
    group.bench_function("find_user/hit", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |i| async move {
                let user = &users[spread(i, USERS)];
                assert!(store.find_user(user).await.unwrap().is_some());
            })
        })
    });
    group.bench_function("find_user/miss", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |_| async move {
                assert!(store.find_user(nobody).await.unwrap().is_none());
            })
        })
    });
    group.bench_function("find_session", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |i| async move {
                let hash = &hashes[spread(i, hashes.len())];
                assert!(store.find_session(hash).await.unwrap().is_some());
            })
        })
    });
    group.bench_function("are_friends/yes", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |i| async move {
                let a = spread(i, USERS - FRIENDS);
                let (a, b) = (&users[a], &users[a + 1]);
                assert!(store.are_friends(a, b).await.unwrap());
            })
        })
    });
    group.bench_function("are_friends/no", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |i| async move {
                let a = spread(i, USERS - 2 * FRIENDS);
                let (a, b) = (&users[a], &users[a + 2 * FRIENDS]);
                assert!(!store.are_friends(a, b).await.unwrap());
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("diesel_pk_lookup");
    let mut conn = SqliteConnection::establish(db.path.as_str()).unwrap();
    type Row = (String, String, i64);
    let columns = (users::username, users::password_hash, users::created_at);
    group.bench_function("first_limit_bound", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let name = user_name(spread(i, USERS));
            let row = users::table
                .find(name)
                .select(columns)
                .first::<Row>(&mut conn)
                .optional()
                .unwrap();
            assert!(row.is_some());
        })
    });
    group.bench_function("get_result_no_limit", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let name = user_name(spread(i, USERS));
            let row = users::table
                .find(name)
                .select(columns)
                .get_result::<Row>(&mut conn)
                .optional()
                .unwrap();
            assert!(row.is_some());
        })
    });
    group.finish();

    c.bench_function("spawn_blocking_noop", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, |_| async {
                tokio::task::spawn_blocking(|| ()).await.unwrap();
            })
        })
    });
}

criterion_group! {
    name = store;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = lookups
}
criterion_main!(store);
