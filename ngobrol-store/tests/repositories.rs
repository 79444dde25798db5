//! One repository suite, run against SQLite and against PostgreSQL. Each
//! test gets a fresh SQLite file or a fresh PostgreSQL schema.
//!
//! PostgreSQL is found at `NGOBROL_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); when it does not answer the
//! PostgreSQL tests fail with that message rather than skip.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::{Connection, PgConnection, RunQueryDsl};
use ngobrol_core::{
    FriendRepository, GroupId, GroupName, GroupRepository, PortError, RequestKey, RequestLog,
    SessionRecord, SessionRepository, Token, UserRecord, UserRepository, Username,
};
use ngobrol_store::{Backend, Store, StoreError, StoreOptions};

/// A store and whatever keeps its database alive; dropping it cleans up.
struct Fixture {
    store: Arc<Store>,
    _sqlite_dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some((base_url, schema)) = &self.pg_schema {
            if let Ok(mut conn) = PgConnection::establish(base_url) {
                let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .execute(&mut conn);
            }
        }
    }
}

fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ngobrol.sqlite3");
    let store = Store::open(path.to_str().unwrap(), &StoreOptions::default()).unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    Fixture {
        store: Arc::new(store),
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
        _sqlite_dir: None,
        pg_schema: Some((base, schema)),
    }
}

macro_rules! suite {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::sqlite()).await
                }
            )*
        }
        mod postgres {
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
    users_are_stored_and_found,
    one_of_many_concurrent_registrations_wins,
    a_login_replaces_earlier_sessions,
    friendship_is_mutual_and_unique,
    groups_start_with_their_admin_as_member,
    memberships_are_unique_and_removable,
    all_memberships_lists_every_group,
    hostile_text_round_trips_exactly,
    reopening_a_migrated_store_works,
    the_request_log_keeps_the_first_reply_and_prunes,
);

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

/// A time the store can keep exactly: whole milliseconds.
fn millis_ago(ms: u64) -> SystemTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_millis(now.as_millis() as u64 - ms)
}

fn new_user(name: &str) -> UserRecord {
    UserRecord {
        username: user(name),
        password_hash: format!("$pbkdf2-sha256$i=1000,l=32$salt${name}"),
        created_at: millis_ago(5),
    }
}

async fn users_are_stored_and_found(f: Fixture) {
    let s = &f.store;
    assert_eq!(s.find_user(&user("ana")).await.unwrap(), None);
    let ana = new_user("ana");
    s.insert_user(&ana).await.unwrap();
    assert_eq!(s.find_user(&user("ana")).await.unwrap(), Some(ana));
    assert_eq!(
        s.insert_user(&new_user("ana")).await,
        Err(PortError::Conflict)
    );
    // Names are case-sensitive, as queue names are.
    assert_eq!(s.find_user(&user("ANA")).await.unwrap(), None);
}

async fn one_of_many_concurrent_registrations_wins(f: Fixture) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = f.store.clone();
            tokio::spawn(async move { store.insert_user(&new_user("racer")).await })
        })
        .collect();
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => wins += 1,
            Err(PortError::Conflict) => {}
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn a_login_replaces_earlier_sessions(f: Fixture) {
    let s = &f.store;
    s.insert_user(&new_user("ana")).await.unwrap();
    let issued_at = millis_ago(10);
    let session = |token: &Token| SessionRecord {
        token_hash: token.hash(),
        username: user("ana"),
        issued_at,
        expires_at: issued_at + Duration::from_secs(60),
    };
    let (first, second) = (Token::generate().unwrap(), Token::generate().unwrap());
    s.replace_sessions(&session(&first)).await.unwrap();
    assert_eq!(
        s.find_session(&first.hash()).await.unwrap(),
        Some(session(&first))
    );
    s.replace_sessions(&session(&second)).await.unwrap();
    assert_eq!(s.find_session(&first.hash()).await.unwrap(), None);
    assert_eq!(
        s.find_session(&second.hash()).await.unwrap(),
        Some(session(&second))
    );
    assert!(s.delete_session(&second.hash()).await.unwrap());
    assert!(!s.delete_session(&second.hash()).await.unwrap());
    assert_eq!(s.find_session(&second.hash()).await.unwrap(), None);
}

async fn friendship_is_mutual_and_unique(f: Fixture) {
    let s = &f.store;
    for name in ["ana", "budi", "cici", "dodi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    s.add_friendship(&user("ana"), &user("cici")).await.unwrap();
    s.add_friendship(&user("budi"), &user("ana")).await.unwrap();
    assert!(s.are_friends(&user("cici"), &user("ana")).await.unwrap());
    assert!(s.are_friends(&user("ana"), &user("budi")).await.unwrap());
    assert!(!s.are_friends(&user("ana"), &user("dodi")).await.unwrap());
    assert_eq!(
        s.add_friendship(&user("cici"), &user("ana")).await,
        Err(PortError::Conflict)
    );
    assert_eq!(
        s.friends_of(&user("ana")).await.unwrap(),
        vec![user("budi"), user("cici")]
    );
    assert_eq!(
        s.friends_of(&user("cici")).await.unwrap(),
        vec![user("ana")]
    );
}

async fn groups_start_with_their_admin_as_member(f: Fixture) {
    let s = &f.store;
    s.insert_user(&new_user("ana")).await.unwrap();
    let name = GroupName::parse("Keluarga").unwrap();
    let first = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let second = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    assert!(second.id > first.id, "ids grow: {first:?} then {second:?}");
    assert_eq!(first.admin, user("ana"));
    assert_eq!(s.find_group(first.id).await.unwrap(), Some(first.clone()));
    assert_eq!(s.find_group(GroupId::new(-1)).await.unwrap(), None);
    assert!(s.is_member(first.id, &user("ana")).await.unwrap());
    assert_eq!(
        s.groups_of(&user("ana")).await.unwrap(),
        vec![first, second]
    );
}

async fn memberships_are_unique_and_removable(f: Fixture) {
    let s = &f.store;
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let g = s
        .create_group(&GroupName::parse("g").unwrap(), &user("ana"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(g.id, &user("budi")).await.unwrap();
    assert_eq!(
        s.add_member(g.id, &user("budi")).await,
        Err(PortError::Conflict)
    );
    assert!(s.is_member(g.id, &user("budi")).await.unwrap());
    assert_eq!(s.count_members(g.id).await.unwrap(), 2);
    assert_eq!(s.count_groups_of(&user("budi")).await.unwrap(), 1);
    assert!(s.remove_member(g.id, &user("budi")).await.unwrap());
    assert!(!s.remove_member(g.id, &user("budi")).await.unwrap());
    assert!(!s.is_member(g.id, &user("budi")).await.unwrap());
    assert_eq!(s.groups_of(&user("budi")).await.unwrap(), vec![]);
    // The admin may leave; the group and its admin stay.
    assert!(s.remove_member(g.id, &user("ana")).await.unwrap());
    assert_eq!(
        s.find_group(g.id).await.unwrap().unwrap().admin,
        user("ana")
    );
}

async fn all_memberships_lists_every_group(f: Fixture) {
    let s = &f.store;
    for name in ["ana", "budi", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let name = GroupName::parse("g").unwrap();
    let g1 = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let g2 = s
        .create_group(&name, &user("budi"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(g1.id, &user("cici")).await.unwrap();
    s.remove_member(g2.id, &user("budi")).await.unwrap();
    assert_eq!(
        s.all_memberships().await.unwrap(),
        vec![(g1.id, vec![user("ana"), user("cici")]), (g2.id, vec![])]
    );
}

async fn hostile_text_round_trips_exactly(f: Fixture) {
    let s = &f.store;
    s.insert_user(&new_user("ana")).await.unwrap();
    let hostile = "'); DROP TABLE users; -- \"quoted\" \\ 🙂 ümlaut 日本";
    let g = s
        .create_group(
            &GroupName::parse(hostile).unwrap(),
            &user("ana"),
            millis_ago(0),
        )
        .await
        .unwrap();
    let found = s.find_group(g.id).await.unwrap().unwrap();
    assert_eq!(found.name.as_str(), hostile);
    assert!(s.find_user(&user("ana")).await.unwrap().is_some());
}

async fn reopening_a_migrated_store_works(f: Fixture) {
    // Opening runs the migrations; a second open of the same database must
    // find them applied and keep the data.
    f.store.insert_user(&new_user("ana")).await.unwrap();
    let url = match (&f.pg_schema, &f._sqlite_dir) {
        (Some((base, schema)), _) => format!("{base}?options=-csearch_path%3D{schema}"),
        (None, Some(dir)) => dir.path().join("ngobrol.sqlite3").display().to_string(),
        _ => unreachable!(),
    };
    let again = tokio::task::spawn_blocking(move || Store::open(&url, &StoreOptions::default()))
        .await
        .unwrap()
        .unwrap();
    assert!(again.find_user(&user("ana")).await.unwrap().is_some());
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

async fn the_request_log_keeps_the_first_reply_and_prunes(f: Fixture) {
    let s = &f.store;
    let key = |id: &str| RequestKey {
        user: "ana".into(),
        request_id: id.into(),
    };
    assert_eq!(s.find_reply(&key("r1")).await.unwrap(), None);
    s.record_reply(&key("r1"), b"first", millis_ago(3000))
        .await
        .unwrap();
    s.record_reply(&key("r1"), b"second", millis_ago(0))
        .await
        .unwrap();
    assert_eq!(
        s.find_reply(&key("r1")).await.unwrap(),
        Some(b"first".to_vec())
    );
    // Another user's id of the same name is another request.
    let budi = RequestKey {
        user: "budi".into(),
        request_id: "r1".into(),
    };
    assert_eq!(s.find_reply(&budi).await.unwrap(), None);

    for (i, age) in [(2, 2000), (3, 1000), (4, 10)] {
        s.record_reply(&key(&format!("r{i}")), b"x", millis_ago(age))
            .await
            .unwrap();
    }
    // Older than 2.5 s: r1 goes.
    assert_eq!(s.prune(millis_ago(2500), 100).await.unwrap(), 1);
    assert_eq!(s.find_reply(&key("r1")).await.unwrap(), None);
    // At most two: the newest two stay.
    assert_eq!(s.prune(millis_ago(100_000), 2).await.unwrap(), 1);
    assert_eq!(s.find_reply(&key("r2")).await.unwrap(), None);
    assert!(s.find_reply(&key("r3")).await.unwrap().is_some());
    assert!(s.find_reply(&key("r4")).await.unwrap().is_some());
}
