//! The contract of the repository ports, as tests any implementation can
//! run on itself (behind the cargo feature `contract`).
//!
//! [`ports`](crate::ports) states what each repository method promises;
//! the functions here check those promises on one store that implements
//! every repository ([`Repositories`]). They are written once, for every
//! backend: [`MemoryStore`](crate::memory::MemoryStore) runs them in this
//! crate's tests, and `ngobrol-store` runs them on SQLite and on
//! PostgreSQL. Each takes a fresh, empty store and panics (as a test does)
//! when the store breaks the contract.
//!
//! [`contract_suite!`](crate::contract_suite) turns the whole list into
//! `#[tokio::test]`s, one per function and named after it, so that no
//! implementation can skip one:
//!
//! ```ignore
//! // tests/contract.rs of a crate with tokio ("macros", "rt-multi-thread")
//! // among its dev-dependencies:
//! mod memory {
//!     ngobrol_core::contract_suite!(std::sync::Arc::new(ngobrol_core::memory::MemoryStore::new()));
//! }
//! ```
//!
//! The expression is evaluated afresh for each test and must give a
//! [`Fixture`]: an `Arc` of the store itself, or a value of the caller's
//! own that also keeps the store's database alive (a temporary file, a
//! schema to drop) until the test ends.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::PortError;
use crate::ports::{RequestKey, SessionRecord, UserRecord};
use crate::types::{DeviceName, GroupId, GroupName, SessionId, Token, Username};

pub use crate::ports::Repositories;

/// What [`contract_suite!`](crate::contract_suite) makes each test's store
/// from: the store, and whatever must live as long as the test does.
pub trait Fixture {
    type Store: Repositories;

    /// The store under test; fresh and empty.
    fn store(&self) -> Arc<Self::Store>;
}

impl<S: Repositories> Fixture for Arc<S> {
    type Store = S;

    fn store(&self) -> Arc<S> {
        self.clone()
    }
}

/// Declares one `#[tokio::test]` per contract function (multi-threaded
/// runtime, two workers), each running the function on a store made by the
/// given expression, which is evaluated once per test and must give a
/// [`contract::Fixture`](crate::contract::Fixture). The fixture is dropped
/// after the test's function returns.
///
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread`
/// features. Call it inside a module of its own per store, since the tests
/// are named after the contract functions.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:expr $(,)?) => {
        $crate::contract_suite!(@tests $fixture;
            users_are_stored_and_found,
            one_of_many_concurrent_registrations_wins,
            sessions_of_one_user_coexist,
            sessions_are_listed_in_the_order_issued,
            a_deleted_session_is_found_no_more,
            deleting_by_id_touches_only_that_users_session,
            deleting_all_of_a_users_sessions_returns_their_ids,
            touching_a_session_sets_its_last_seen,
            friendship_is_mutual_and_unique,
            groups_start_with_their_admin_as_member,
            memberships_are_unique_and_removable,
            all_memberships_lists_every_group,
            deleting_a_group_removes_it_and_its_memberships,
            groups_administered_are_counted_while_they_exist,
            hostile_text_round_trips_exactly,
            the_request_log_keeps_the_first_reply_and_prunes,
            pruning_to_keep_none_forgets_every_reply,
        );
    };
    (@tests $fixture:expr; $($test:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture = $fixture;
                $crate::contract::$test($crate::contract::Fixture::store(&fixture)).await;
                drop(fixture);
            }
        )*
    };
}

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn group_name(name: &str) -> GroupName {
    GroupName::parse(name).unwrap()
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

/// Stores a user, finds it by its exact name only, refuses the name twice.
pub async fn users_are_stored_and_found<S: Repositories>(s: Arc<S>) {
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

/// Of eight concurrent inserts of one name, exactly one succeeds; the
/// others fail with a conflict, not with any other error.
pub async fn one_of_many_concurrent_registrations_wins<S: Repositories>(s: Arc<S>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = s.clone();
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

/// A session of `name` issued `age_ms` ago, with a fresh token and id,
/// seen when issued; and its token.
fn new_session(name: &str, age_ms: u64) -> (SessionRecord, Token) {
    let token = Token::generate().unwrap();
    let issued_at = millis_ago(age_ms);
    let session = SessionRecord {
        id: SessionId::generate().unwrap(),
        token_hash: token.hash(),
        username: user(name),
        device: None,
        issued_at,
        expires_at: issued_at + Duration::from_secs(3600),
        last_seen: issued_at,
    };
    (session, token)
}

fn ids(sessions: &[SessionRecord]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

/// A user's sessions all stay valid side by side, each found by its
/// token's hash exactly as stored (device name included); a token hash or
/// an id is not taken twice.
pub async fn sessions_of_one_user_coexist<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let (phone, _) = new_session("ana", 30);
    let phone = SessionRecord {
        device: Some(DeviceName::parse("Ponsel 'ana' 📱; DROP TABLE sessions; --").unwrap()),
        ..phone
    };
    let (laptop, _) = new_session("ana", 20);
    let (tablet, _) = new_session("ana", 10);
    let (budis, _) = new_session("budi", 10);
    for session in [&phone, &laptop, &tablet, &budis] {
        s.insert_session(session).await.unwrap();
    }
    for session in [&phone, &laptop, &tablet, &budis] {
        assert_eq!(
            s.find_session(&session.token_hash).await.unwrap().as_ref(),
            Some(session)
        );
    }
    assert_eq!(
        s.find_session(&Token::generate().unwrap().hash())
            .await
            .unwrap(),
        None
    );

    let (fresh, _) = new_session("ana", 0);
    let same_hash = SessionRecord {
        token_hash: laptop.token_hash.clone(),
        ..fresh.clone()
    };
    assert_eq!(s.insert_session(&same_hash).await, Err(PortError::Conflict));
    let same_id = SessionRecord {
        id: budis.id.clone(),
        ..fresh.clone()
    };
    assert_eq!(s.insert_session(&same_id).await, Err(PortError::Conflict));
    assert_eq!(s.find_session(&fresh.token_hash).await.unwrap(), None);
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap().len(), 3);
}

/// A user's sessions are listed oldest issued first, by id among those
/// issued at the same moment, expired ones too, and nobody else's.
pub async fn sessions_are_listed_in_the_order_issued<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap(), vec![]);
    let (newest, _) = new_session("ana", 10);
    let (oldest, _) = new_session("ana", 50);
    let expired = SessionRecord {
        expires_at: millis_ago(1),
        ..new_session("ana", 40).0
    };
    // Two issued at the same moment, inserted with the greater id first.
    let (mut tie_a, _) = new_session("ana", 30);
    let mut tie_b = SessionRecord {
        issued_at: tie_a.issued_at,
        expires_at: tie_a.expires_at,
        last_seen: tie_a.last_seen,
        ..new_session("ana", 0).0
    };
    if tie_a.id < tie_b.id {
        std::mem::swap(&mut tie_a, &mut tie_b);
    }
    let (budis, _) = new_session("budi", 20);
    for session in [&newest, &tie_a, &budis, &oldest, &expired, &tie_b] {
        s.insert_session(session).await.unwrap();
    }
    assert_eq!(
        s.sessions_of(&user("ana")).await.unwrap(),
        vec![oldest, expired, tie_b, tie_a, newest]
    );
    assert_eq!(s.sessions_of(&user("budi")).await.unwrap(), vec![budis]);
    // Names are case-sensitive here too.
    assert_eq!(s.sessions_of(&user("ANA")).await.unwrap(), vec![]);
}

/// A session deleted by its token's hash is gone, from both look-ups;
/// deleting it again says so; the user's other sessions stay.
pub async fn a_deleted_session_is_found_no_more<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let (first, _) = new_session("ana", 20);
    let (second, _) = new_session("ana", 10);
    for session in [&first, &second] {
        s.insert_session(session).await.unwrap();
    }
    assert!(s.delete_session(&first.token_hash).await.unwrap());
    assert_eq!(s.find_session(&first.token_hash).await.unwrap(), None);
    assert!(!s.delete_session(&first.token_hash).await.unwrap());
    assert_eq!(
        s.sessions_of(&user("ana")).await.unwrap(),
        vec![second.clone()]
    );
    assert_eq!(
        s.find_session(&second.token_hash).await.unwrap(),
        Some(second)
    );
}

/// Deleting by id removes that session only if it is the named user's,
/// and gives back what it removed; another user's session of that id
/// stays untouched.
pub async fn deleting_by_id_touches_only_that_users_session<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let (anas, _) = new_session("ana", 20);
    let (anas_other, _) = new_session("ana", 10);
    let (budis, _) = new_session("budi", 10);
    for session in [&anas, &anas_other, &budis] {
        s.insert_session(session).await.unwrap();
    }
    // Budi cannot end ana's session, nor ana budi's.
    assert_eq!(
        s.delete_session_by_id(&user("budi"), &anas.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.delete_session_by_id(&user("ana"), &budis.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.find_session(&anas.token_hash).await.unwrap().as_ref(),
        Some(&anas)
    );
    assert_eq!(
        s.delete_session_by_id(&user("ana"), &anas.id)
            .await
            .unwrap(),
        Some(anas.clone())
    );
    assert_eq!(s.find_session(&anas.token_hash).await.unwrap(), None);
    assert_eq!(
        s.delete_session_by_id(&user("ana"), &anas.id)
            .await
            .unwrap(),
        None
    );
    let unknown = SessionId::generate().unwrap();
    assert_eq!(
        s.delete_session_by_id(&user("ana"), &unknown)
            .await
            .unwrap(),
        None
    );
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap(), vec![anas_other]);
    assert_eq!(s.sessions_of(&user("budi")).await.unwrap(), vec![budis]);
}

/// Deleting every session of a user returns their ids in the order they
/// are listed, leaves other users' sessions, and finds none the second
/// time.
pub async fn deleting_all_of_a_users_sessions_returns_their_ids<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let anas: Vec<SessionRecord> = [30, 10, 20].map(|age| new_session("ana", age).0).into();
    let (budis, _) = new_session("budi", 10);
    for session in anas.iter().chain([&budis]) {
        s.insert_session(session).await.unwrap();
    }
    let listed = s.sessions_of(&user("ana")).await.unwrap();
    assert_eq!(listed.len(), 3);
    assert_eq!(
        s.delete_sessions_of(&user("ana")).await.unwrap(),
        ids(&listed)
    );
    for session in &anas {
        assert_eq!(s.find_session(&session.token_hash).await.unwrap(), None);
    }
    assert_eq!(s.sessions_of(&user("ana")).await.unwrap(), vec![]);
    assert_eq!(s.delete_sessions_of(&user("ana")).await.unwrap(), vec![]);
    assert_eq!(
        s.find_session(&budis.token_hash).await.unwrap(),
        Some(budis)
    );
}

/// Touching a session sets its `last_seen` and nothing else, and no other
/// session's; touching a session that is gone is no error.
pub async fn touching_a_session_sets_its_last_seen<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let (touched, _) = new_session("ana", 120_000);
    let (left, _) = new_session("ana", 120_000);
    for session in [&touched, &left] {
        s.insert_session(session).await.unwrap();
    }
    let at = millis_ago(0);
    s.touch_session(&touched.token_hash, at).await.unwrap();
    let expected = SessionRecord {
        last_seen: at,
        ..touched.clone()
    };
    assert_eq!(
        s.find_session(&touched.token_hash).await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        s.find_session(&left.token_hash).await.unwrap(),
        Some(left.clone())
    );
    assert!(
        s.sessions_of(&user("ana"))
            .await
            .unwrap()
            .contains(&expected)
    );
    assert!(s.delete_session(&touched.token_hash).await.unwrap());
    s.touch_session(&touched.token_hash, at).await.unwrap();
    assert_eq!(s.find_session(&touched.token_hash).await.unwrap(), None);
}

/// A friendship holds both ways, is refused again from either side, and
/// friends are listed sorted by name.
pub async fn friendship_is_mutual_and_unique<S: Repositories>(s: Arc<S>) {
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

/// New groups get growing ids and their admin as first member; an unknown
/// id finds nothing; a user's groups come by id.
pub async fn groups_start_with_their_admin_as_member<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let name = group_name("Keluarga");
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

/// A member is added once (again is a conflict), counted, and removed
/// once; the admin may leave and stays the group's admin.
pub async fn memberships_are_unique_and_removable<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let g = s
        .create_group(&group_name("g"), &user("ana"), millis_ago(0))
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

/// Every group comes with its members sorted by name, an emptied group
/// included.
pub async fn all_memberships_lists_every_group<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let name = group_name("g");
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

/// A deleted group is gone with its memberships, from every look-up;
/// deleting it again, or a group that never was, says so; other groups
/// stay; the id of a deleted group is not given again.
pub async fn deleting_a_group_removes_it_and_its_memberships<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    let name = group_name("g");
    let kept = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let doomed = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    s.add_member(doomed.id, &user("budi")).await.unwrap();

    assert!(s.delete_group(doomed.id).await.unwrap());
    assert_eq!(s.find_group(doomed.id).await.unwrap(), None);
    for member in ["ana", "budi"] {
        assert!(!s.is_member(doomed.id, &user(member)).await.unwrap());
    }
    assert_eq!(s.count_members(doomed.id).await.unwrap(), 0);
    assert_eq!(s.groups_of(&user("ana")).await.unwrap(), vec![kept.clone()]);
    assert_eq!(s.groups_of(&user("budi")).await.unwrap(), vec![]);
    assert_eq!(s.count_groups_of(&user("budi")).await.unwrap(), 0);
    assert_eq!(
        s.all_memberships().await.unwrap(),
        vec![(kept.id, vec![user("ana")])]
    );

    assert!(!s.delete_group(doomed.id).await.unwrap());
    assert!(!s.delete_group(GroupId::new(-1)).await.unwrap());
    // A deleted group's id stays its own, even when it was the newest.
    let next = s
        .create_group(&name, &user("ana"), millis_ago(0))
        .await
        .unwrap();
    assert!(next.id > doomed.id, "{next:?} after {doomed:?}");
    // Deleting the last group leaves nothing to restore.
    assert!(s.delete_group(kept.id).await.unwrap());
    assert!(s.delete_group(next.id).await.unwrap());
    assert_eq!(s.all_memberships().await.unwrap(), vec![]);
}

/// The groups a user administers are counted whether or not the user is
/// still a member, and no longer once deleted; other users' are not.
pub async fn groups_administered_are_counted_while_they_exist<S: Repositories>(s: Arc<S>) {
    for name in ["ana", "budi"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 0);
    let name = group_name("g");
    let mut ids = Vec::new();
    for _ in 0..3 {
        let g = s
            .create_group(&name, &user("ana"), millis_ago(0))
            .await
            .unwrap();
        ids.push(g.id);
    }
    let budis = s
        .create_group(&name, &user("budi"), millis_ago(0))
        .await
        .unwrap();
    // A member of budi's group administers it no more than before.
    s.add_member(budis.id, &user("ana")).await.unwrap();
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 3);
    assert_eq!(s.count_groups_administered(&user("budi")).await.unwrap(), 1);
    // An admin who left still administers the group.
    s.add_member(ids[0], &user("budi")).await.unwrap();
    assert!(s.remove_member(ids[0], &user("ana")).await.unwrap());
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 3);
    assert!(s.delete_group(ids[1]).await.unwrap());
    assert_eq!(s.count_groups_administered(&user("ana")).await.unwrap(), 2);
    // Names are case-sensitive here too.
    assert_eq!(s.count_groups_administered(&user("ANA")).await.unwrap(), 0);
}

/// A group name with quotes, SQL, backslashes and non-ASCII text comes
/// back exactly, and harms nothing.
pub async fn hostile_text_round_trips_exactly<S: Repositories>(s: Arc<S>) {
    s.insert_user(&new_user("ana")).await.unwrap();
    let hostile = "'); DROP TABLE users; -- \"quoted\" \\ 🙂 ümlaut 日本";
    let g = s
        .create_group(&group_name(hostile), &user("ana"), millis_ago(0))
        .await
        .unwrap();
    let found = s.find_group(g.id).await.unwrap().unwrap();
    assert_eq!(found.name.as_str(), hostile);
    assert!(s.find_user(&user("ana")).await.unwrap().is_some());
}

/// The first reply recorded for a request stays; requests are per user;
/// pruning forgets by age, then all but the newest.
pub async fn the_request_log_keeps_the_first_reply_and_prunes<S: Repositories>(s: Arc<S>) {
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

/// Pruning with `keep` zero keeps none: "all but the newest zero" is all.
pub async fn pruning_to_keep_none_forgets_every_reply<S: Repositories>(s: Arc<S>) {
    let key = |id: &str| RequestKey {
        user: "ana".into(),
        request_id: id.into(),
    };
    for (id, age) in [("r1", 30), ("r2", 20), ("r3", 10)] {
        s.record_reply(&key(id), b"x", millis_ago(age))
            .await
            .unwrap();
    }
    assert_eq!(s.prune(millis_ago(100_000), 0).await.unwrap(), 3);
    for id in ["r1", "r2", "r3"] {
        assert_eq!(s.find_reply(&key(id)).await.unwrap(), None, "{id}");
    }
    assert_eq!(s.prune(millis_ago(100_000), 0).await.unwrap(), 0);
}
