//! The contract of the user and session repositories.

use std::sync::Arc;
use std::time::Duration;

use super::{Repositories, millis_ago, new_user, user};
use crate::error::PortError;
use crate::ports::SessionRecord;
use crate::types::{DeviceName, SessionId, Token};

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

/// An operator's disabling is noted per user and lifted; a new password
/// hash replaces the old one. Neither touches a user not stored.
pub async fn users_are_disabled_and_get_new_password_hashes<S: Repositories>(s: Arc<S>) {
    let ana = new_user("ana");
    s.insert_user(&ana).await.unwrap();
    s.insert_user(&new_user("budi")).await.unwrap();
    assert!(!s.is_disabled(&user("ana")).await.unwrap());
    assert!(s.set_disabled(&user("ana"), true).await.unwrap());
    assert!(s.set_disabled(&user("ana"), true).await.unwrap(), "again");
    assert!(s.is_disabled(&user("ana")).await.unwrap());
    assert!(!s.is_disabled(&user("budi")).await.unwrap());
    assert!(s.set_disabled(&user("ana"), false).await.unwrap());
    assert!(!s.is_disabled(&user("ana")).await.unwrap());
    assert!(!s.set_disabled(&user("nobody"), true).await.unwrap());
    assert!(!s.is_disabled(&user("nobody")).await.unwrap());

    assert!(s.set_password_hash(&user("ana"), "$new").await.unwrap());
    let found = s.find_user(&user("ana")).await.unwrap().unwrap();
    assert_eq!(found.password_hash, "$new");
    assert_eq!(found.created_at, ana.created_at);
    assert_ne!(
        s.find_user(&user("budi"))
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$new"
    );
    assert!(!s.set_password_hash(&user("nobody"), "$new").await.unwrap());
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

/// Who reads their mailbox with the original client is noted per user,
/// set and cleared with word of whether it changed, and listed by name;
/// an unknown user changes nothing.
pub async fn mailbox_readers_are_noted_and_cleared<S: Repositories>(s: Arc<S>) {
    for name in ["budi", "ana", "cici"] {
        s.insert_user(&new_user(name)).await.unwrap();
    }
    assert!(!s.is_mailbox_reader(&user("ana")).await.unwrap());
    assert!(s.set_mailbox_reader(&user("ana"), true).await.unwrap());
    assert!(!s.set_mailbox_reader(&user("ana"), true).await.unwrap());
    assert!(s.set_mailbox_reader(&user("budi"), true).await.unwrap());
    assert!(s.is_mailbox_reader(&user("ana")).await.unwrap());
    assert_eq!(
        s.mailbox_readers().await.unwrap(),
        vec![user("ana"), user("budi")]
    );
    assert!(s.set_mailbox_reader(&user("ana"), false).await.unwrap());
    assert!(!s.set_mailbox_reader(&user("ana"), false).await.unwrap());
    assert_eq!(s.mailbox_readers().await.unwrap(), vec![user("budi")]);
    assert!(!s.set_mailbox_reader(&user("nobody"), true).await.unwrap());
    assert!(!s.is_mailbox_reader(&user("nobody")).await.unwrap());
}

/// A session's presence report replaces its last one and goes with the
/// session; whether a user shares their activity is a flag they set.
pub async fn presence_is_reported_per_session_and_sharing_is_a_flag<S: Repositories>(s: Arc<S>) {
    use crate::ports::PresenceState;
    s.insert_user(&new_user("ana")).await.unwrap();
    s.insert_user(&new_user("budi")).await.unwrap();
    let (phone, _) = new_session("ana", 1_000);
    let (laptop, _) = new_session("ana", 1_000);
    let (other, _) = new_session("budi", 1_000);
    for session in [&phone, &laptop, &other] {
        s.insert_session(session).await.unwrap();
    }
    assert_eq!(s.presence_reports(&user("ana")).await.unwrap(), []);
    let (early, late) = (millis_ago(20), millis_ago(10));
    s.set_presence(&phone.token_hash, PresenceState::Online, early)
        .await
        .unwrap();
    s.set_presence(&phone.token_hash, PresenceState::Away, late)
        .await
        .unwrap();
    s.set_presence(&laptop.token_hash, PresenceState::Online, early)
        .await
        .unwrap();
    s.set_presence(&other.token_hash, PresenceState::Online, late)
        .await
        .unwrap();
    let mut reports = s.presence_reports(&user("ana")).await.unwrap();
    reports.sort();
    assert_eq!(
        reports,
        [(PresenceState::Away, late), (PresenceState::Online, early)]
    );
    s.delete_session(&laptop.token_hash).await.unwrap();
    assert_eq!(
        s.presence_reports(&user("ana")).await.unwrap(),
        [(PresenceState::Away, late)]
    );

    assert!(s.shares_activity(&user("ana")).await.unwrap());
    s.set_shares_activity(&user("ana"), false).await.unwrap();
    s.set_shares_activity(&user("ana"), false).await.unwrap();
    assert!(!s.shares_activity(&user("ana")).await.unwrap());
    assert!(s.shares_activity(&user("budi")).await.unwrap());
    s.set_shares_activity(&user("ana"), true).await.unwrap();
    assert!(s.shares_activity(&user("ana")).await.unwrap());
}
