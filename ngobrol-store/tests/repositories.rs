//! The repository ports' contract (`ngobrol_core::contract`), run on
//! SQLite and on PostgreSQL, and the tests that only a SQL store has
//! (opening, schemes, connection failures). Each test gets a fresh SQLite
//! file or a fresh PostgreSQL schema.
//!
//! PostgreSQL is found at `NGOBROL_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); when it does not answer the
//! PostgreSQL tests fail with that message rather than skip.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use ngobrol_core::contract;
use ngobrol_core::{
    Conversation, Delivery, DeliveryBody, DeviceName, FriendRepository, GroupId, GroupName,
    GroupRecord, GroupRepository, HistoryQuery, HistoryRepository, MessageText, PortError,
    SessionId, SessionRecord, SessionRepository, Token, UserRecord, UserRepository, Username,
};
use ngobrol_store::fixtures::{BulkGroup, BulkWriter, FixtureError, ROWS_PER_STATEMENT};
use ngobrol_store::{Backend, Store, StoreError, StoreOptions};

/// A store and whatever keeps its database alive; dropping it cleans up.
struct Fixture {
    store: Arc<Store>,
    url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((base_url, schema)) = &self.pg_schema
            && let Ok(mut conn) = PgConnection::establish(base_url)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&mut conn);
        }
    }
}

fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ngobrol.sqlite3");
    let url = path.to_str().unwrap().to_owned();
    let store = Store::open(&url, &StoreOptions::default()).unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    Fixture {
        store: Arc::new(store),
        url,
        _sqlite_dir: Some(dir),
        pg_schema: None,
    }
}

fn postgres_base_url() -> String {
    std::env::var("NGOBROL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn postgres() -> Fixture {
    let base = postgres_base_url();
    let mut admin = PgConnection::establish(&base).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {base} does not answer ({e}); start it or set NGOBROL_TEST_DATABASE_URL"
        )
    });
    let schema = format!("ngobrol_test_{}", uuid::Uuid::new_v4().simple());
    diesel::sql_query(format!("CREATE SCHEMA \"{schema}\""))
        .execute(&mut admin)
        .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let store = Store::open(&url, &StoreOptions::default()).unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    Fixture {
        store: Arc::new(store),
        url,
        _sqlite_dir: None,
        pg_schema: Some((base, schema)),
    }
}

/// The contract's tests get the fixture's store; the fixture lives until
/// the test ends, and then drops the schema or deletes the file.
impl contract::Fixture for Fixture {
    type Store = Store;

    fn store(&self) -> Arc<Store> {
        self.store.clone()
    }
}

/// Per backend, a module with the whole contract and the tests of the SQL
/// store itself: `sqlite::…` and `postgres::…`.
macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            ngobrol_core::contract_suite!(super::sqlite());
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::sqlite()).await
                }
            )*
        }
        mod postgres {
            ngobrol_core::contract_suite!(super::postgres());
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::postgres()).await
                }
            )*
        }
    };
}

suite!(
    reopening_a_migrated_store_works,
    sessions_from_before_devices_get_ids_from_their_token_hashes,
    bulk_fixtures_read_back_through_the_repositories,
    a_failed_bulk_transaction_writes_nothing,
    bulk_messages_are_numbered_as_appends_number_them,
    appends_at_once_are_batched_each_on_its_own,
);

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn new_user(name: &str) -> UserRecord {
    UserRecord {
        username: user(name),
        password_hash: format!("$pbkdf2-sha256$i=1000,l=32$salt${name}"),
        created_at: SystemTime::now(),
    }
}

async fn reopening_a_migrated_store_works(f: Fixture) {
    // Opening runs the migrations; a second open of the same database must
    // find them applied and keep the data.
    f.store.insert_user(&new_user("ana")).await.unwrap();
    let url = f.url.clone();
    let again = tokio::task::spawn_blocking(move || Store::open(&url, &StoreOptions::default()))
        .await
        .unwrap()
        .unwrap();
    assert!(again.find_user(&user("ana")).await.unwrap().is_some());
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Undoes the migrations down to and including the one of several
/// sessions per user (later ones first) on the fixture's database, then writes sessions as the schema before it had
/// them, by raw SQL; `rows` are (token hash, username).
fn sessions_before_devices(backend: Backend, url: &str, rows: &[(String, &str)]) {
    let values: Vec<String> = rows
        .iter()
        .map(|(hash, name)| format!("('{hash}', '{name}', 1000, 4102444800000)"))
        .collect();
    let insert = format!(
        "INSERT INTO sessions (token_hash, username, issued_at, expires_at) VALUES {}",
        values.join(", ")
    );
    let reverted = match backend {
        Backend::Sqlite => {
            let mut conn = SqliteConnection::establish(url).unwrap();
            let version = loop {
                let version = conn.revert_last_migration(SQLITE_MIGRATIONS).unwrap();
                if version.to_string().ends_with("000003") {
                    break version;
                }
            };
            diesel::sql_query(insert).execute(&mut conn).unwrap();
            version.to_string()
        }
        Backend::Postgres => {
            let mut conn = PgConnection::establish(url).unwrap();
            let version = loop {
                let version = conn.revert_last_migration(POSTGRES_MIGRATIONS).unwrap();
                if version.to_string().ends_with("000003") {
                    break version;
                }
            };
            diesel::sql_query(insert).execute(&mut conn).unwrap();
            version.to_string()
        }
    };
    assert!(reverted.ends_with("000003"), "reverted {reverted}");
}

async fn sessions_from_before_devices_get_ids_from_their_token_hashes(f: Fixture) {
    for name in ["ana", "budi"] {
        f.store.insert_user(&new_user(name)).await.unwrap();
    }
    // Two sessions of one user (as a down migration leaves them) and one
    // of another.
    let tokens: Vec<Token> = (0..3).map(|_| Token::generate().unwrap()).collect();
    let rows: Vec<(String, &str)> = tokens
        .iter()
        .zip(["ana", "ana", "budi"])
        .map(|(token, name)| (token.hash().as_str().to_owned(), name))
        .collect();
    let (backend, url) = (f.store.backend(), f.url.clone());
    tokio::task::spawn_blocking(move || {
        sessions_before_devices(backend, &url, &rows);
        // Opening migrates again.
        Store::open(&url, &StoreOptions::default()).unwrap()
    })
    .await
    .unwrap();
    let s = &f.store;
    for (token, name) in tokens.iter().zip(["ana", "ana", "budi"]) {
        let session = s.find_session(&token.hash()).await.unwrap().unwrap();
        assert_eq!(session.id.as_str(), &token.hash().as_str()[..32]);
        assert_eq!(session.username, user(name));
        assert_eq!(session.device, None);
        assert_eq!(session.last_seen, session.issued_at);
        assert_eq!(session.issued_at, UNIX_EPOCH + Duration::from_secs(1));
    }
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap().len(), 2);
    // The migrated table takes new sessions, and keeps ids unique.
    let migrated = s.find_session(&tokens[0].hash()).await.unwrap().unwrap();
    let now = whole_millis();
    let fresh = Token::generate().unwrap();
    let mut session = SessionRecord {
        id: migrated.id.clone(),
        token_hash: fresh.hash(),
        username: user("ana"),
        device: None,
        issued_at: now,
        expires_at: now + Duration::from_secs(60),
        last_seen: now,
    };
    assert_eq!(s.insert_session(&session).await, Err(PortError::Conflict));
    session.id = SessionId::generate().unwrap();
    s.insert_session(&session).await.unwrap();
    assert_eq!(
        s.delete_session_by_id(&user("ana"), &migrated.id)
            .await
            .unwrap(),
        Some(migrated)
    );
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap().len(), 2);
}

#[test]
fn unknown_schemes_are_refused_by_name() {
    let err = Store::open("mysql://127.0.0.1/test", &StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, StoreError::UnsupportedScheme(ref s) if s == "mysql"),
        "{err}"
    );
}

#[test]
fn a_connection_failure_keeps_its_reason() {
    let err = Store::open(
        "postgres://postgres@127.0.0.1:1/test",
        &StoreOptions::default(),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1") || text.to_lowercase().contains("refused"),
        "{text}"
    );
}

/// A time the store keeps exactly: whole milliseconds.
fn whole_millis() -> SystemTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_millis(now.as_millis() as u64)
}

/// Runs blocking bulk writes off the async workers, as the load tool does.
async fn bulk<T: Send + 'static>(
    url: &str,
    work: impl FnOnce(&mut BulkWriter) -> T + Send + 'static,
) -> T {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || work(&mut BulkWriter::open(&url).unwrap()))
        .await
        .unwrap()
}

async fn bulk_fixtures_read_back_through_the_repositories(f: Fixture) {
    // More rows than one statement carries, so that chunks are crossed.
    let (n_users, n_groups) = (ROWS_PER_STATEMENT * 2 + 7, ROWS_PER_STATEMENT + 3);
    let at = whole_millis();
    let users: Vec<UserRecord> = (0..n_users)
        .map(|i| UserRecord {
            username: user(&format!("u{i:06}")),
            password_hash: format!("hash {i}"),
            created_at: at,
        })
        .collect();
    let name = |i: usize| users[i].username.clone();
    let token = Token::generate().unwrap();
    let session = SessionRecord {
        id: SessionId::generate().unwrap(),
        token_hash: token.hash(),
        username: name(1),
        device: Some(DeviceName::parse("bench 'rig'").unwrap()),
        issued_at: at,
        expires_at: at + Duration::from_secs(60),
        last_seen: at + Duration::from_secs(1),
    };
    let pairs: Vec<(Username, Username)> = (1..n_users).map(|i| (name(0), name(i))).collect();
    let groups: Vec<BulkGroup> = (0..n_groups)
        .map(|g| BulkGroup {
            group: GroupRecord {
                id: GroupId::new(g as i64 + 1),
                name: GroupName::parse(format!("group '{g}'")).unwrap(),
                admin: name(g),
            },
            members: vec![name(g), name(g + 1)],
        })
        .collect();
    let (users_, session_, pairs_, groups_) = (
        users.clone(),
        session.clone(),
        pairs.clone(),
        groups.clone(),
    );
    let written = bulk(&f.url, move |w| {
        w.transaction(|batch| -> Result<_, FixtureError> {
            Ok((
                batch.users(&users_)?,
                batch.sessions(&[session_])?,
                batch.friendships(&pairs_, at)?,
                batch.groups(&groups_, at)?,
            ))
        })
    })
    .await
    .unwrap();
    assert_eq!(written, (n_users, 1, n_users - 1, n_groups));

    let s = &f.store;
    for i in [0, ROWS_PER_STATEMENT, n_users - 1] {
        assert_eq!(
            s.find_user(&name(i)).await.unwrap().as_ref(),
            Some(&users[i])
        );
    }
    assert_eq!(s.find_session(&token.hash()).await.unwrap(), Some(session));
    assert!(s.are_friends(&name(n_users - 1), &name(0)).await.unwrap());
    assert!(!s.are_friends(&name(1), &name(2)).await.unwrap());
    assert_eq!(s.friends_of(&name(0)).await.unwrap().len(), n_users - 1);
    assert_eq!(s.friends_of(&name(5)).await.unwrap(), vec![name(0)]);
    let last = &groups[n_groups - 1];
    assert_eq!(
        s.find_group(last.group.id).await.unwrap().as_ref(),
        Some(&last.group)
    );
    assert_eq!(s.count_members(last.group.id).await.unwrap(), 2);
    assert_eq!(
        s.groups_of(&name(1)).await.unwrap(),
        vec![groups[0].group.clone(), groups[1].group.clone()]
    );
    assert_eq!(s.all_memberships().await.unwrap().len(), n_groups);
    // Groups made afterwards get ids past those written.
    let next = s
        .create_group(&GroupName::parse("later").unwrap(), &name(0), at)
        .await
        .unwrap();
    assert!(next.id > last.group.id, "{next:?}");
}

async fn a_failed_bulk_transaction_writes_nothing(f: Fixture) {
    let at = whole_millis();
    let record = |name: &str| UserRecord {
        username: user(name),
        password_hash: "hash".into(),
        created_at: at,
    };
    let (ana, budi) = (record("ana"), record("budi"));
    // A row the database refuses (a second "ana") fails the whole batch.
    let refused = bulk(&f.url, move |w| {
        w.transaction(|batch| batch.users(&[budi.clone(), ana.clone(), ana]))
    })
    .await;
    assert!(
        matches!(refused, Err(FixtureError::Write(_))),
        "{refused:?}"
    );
    // So does a failure of the work itself, after rows were written.
    #[derive(Debug)]
    enum Failed {
        GaveUp,
        Store(FixtureError),
    }
    impl From<FixtureError> for Failed {
        fn from(error: FixtureError) -> Self {
            Failed::Store(error)
        }
    }
    let budi = record("budi");
    let failed = bulk(&f.url, move |w| {
        w.transaction(|batch| -> Result<(), Failed> {
            batch.users(&[budi])?;
            Err(Failed::GaveUp)
        })
    })
    .await;
    match failed {
        Err(Failed::GaveUp) => {}
        Err(Failed::Store(e)) => panic!("the work should have failed first: {e}"),
        Ok(()) => panic!("the work's failure was lost"),
    }
    assert_eq!(f.store.find_user(&user("ana")).await.unwrap(), None);
    assert_eq!(f.store.find_user(&user("budi")).await.unwrap(), None);
}

/// Messages written in bulk (over more than one statement, in two
/// transactions) are numbered per conversation and positioned in order,
/// as appends would have; appends after them go on from there.
async fn bulk_messages_are_numbered_as_appends_number_them(f: Fixture) {
    for name in ["ana", "budi"] {
        f.store.insert_user(&new_user(name)).await.unwrap();
    }
    let chat = Conversation::direct(&user("ana"), &user("budi"));
    let message = |i: usize| {
        Delivery::new(DeliveryBody::Direct {
            from: user(if i.is_multiple_of(2) { "ana" } else { "budi" }),
            text: MessageText::parse(format!("m{i}"), 100).unwrap(),
        })
    };
    let first: Vec<_> = (0..ROWS_PER_STATEMENT + 5)
        .map(|i| (chat.clone(), message(i)))
        .collect();
    let second: Vec<_> = (ROWS_PER_STATEMENT + 5..ROWS_PER_STATEMENT + 10)
        .map(|i| (chat.clone(), message(i)))
        .collect();
    let written = bulk(&f.url, move |w| {
        let a = w.transaction(|b| b.messages(&first)).unwrap();
        let b = w.transaction(|b| b.messages(&second)).unwrap();
        a + b
    })
    .await;
    assert_eq!(written, ROWS_PER_STATEMENT + 10);
    let next = f.store.append_message(&chat, &message(9999)).await.unwrap();
    assert_eq!(next.seq as usize, ROWS_PER_STATEMENT + 11);
    assert_eq!(f.store.latest_position().await.unwrap(), next.position);
    let query = HistoryQuery {
        conversation: chat.clone(),
        visible_after: 0,
        after: None,
        before: None,
        limit: 3,
    };
    let newest = f.store.history(&query).await.unwrap();
    let seqs: Vec<u64> = newest.iter().map(|m| m.placement().seq).collect();
    let n = ROWS_PER_STATEMENT as u64;
    assert_eq!(seqs, [n + 9, n + 10, n + 11]);
    let synced = f.store.sync(&user("budi"), 0, 5).await.unwrap();
    assert_eq!(synced.len(), 5);
    assert_eq!(synced[0].placement().seq, 1);
}

/// Many appends at once (written in batches): each gets its own place,
/// numbered without gaps in its conversation, and one refused (a reused
/// id with other content) leaves the others of its batch stored.
async fn appends_at_once_are_batched_each_on_its_own(f: Fixture) {
    for name in ["ana", "budi", "cici"] {
        f.store.insert_user(&new_user(name)).await.unwrap();
    }
    let text = |t: &str| MessageText::parse(t, 100).unwrap();
    let taken = Delivery::new(DeliveryBody::Direct {
        from: user("ana"),
        text: text("first"),
    });
    let ana_budi = Conversation::direct(&user("ana"), &user("budi"));
    f.store.append_message(&ana_budi, &taken).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = f.store.clone();
        let (peer, conversation) = if i % 2 == 0 {
            ("budi", ana_budi.clone())
        } else {
            ("cici", Conversation::direct(&user("ana"), &user("cici")))
        };
        let delivery = if i == 100 {
            // The id of "first", with another text: refused.
            Delivery::with_id(
                taken.id,
                DeliveryBody::Direct {
                    from: user("ana"),
                    text: text("other"),
                },
            )
        } else {
            Delivery::new(DeliveryBody::Direct {
                from: user("ana"),
                text: text(&format!("{peer} {i}")),
            })
        };
        tasks.spawn(async move { (i, store.append_message(&conversation, &delivery).await) });
    }
    let mut placed = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.unwrap();
        match i {
            100 => assert_eq!(result, Err(PortError::Conflict), "the reused id"),
            _ => placed.push((i % 2, result.unwrap())),
        }
    }
    assert_eq!(placed.len(), 199);
    let mut positions: Vec<u64> = placed.iter().map(|(_, p)| p.position).collect();
    positions.sort_unstable();
    positions.dedup();
    assert_eq!(positions.len(), 199, "each its own position");
    for (parity, count) in [(0, 99u64), (1, 100)] {
        let mut seqs: Vec<u64> = placed
            .iter()
            .filter(|(p, _)| *p == parity)
            .map(|(_, p)| p.seq)
            .collect();
        seqs.sort_unstable();
        // ana-budi holds "first" as seq 1, and lost the refused one.
        let from = if parity == 0 { 2 } else { 1 };
        assert_eq!(seqs, (from..from + count).collect::<Vec<_>>());
    }
}
