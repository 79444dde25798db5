//! The chat rules, one test per rule and per error path, with every port
//! mocked: these tests see exactly which calls the service makes, and, where
//! the order is itself the rule (a login's session and its mailbox, ending
//! a group, logging out), in which order. What operations leave behind is
//! checked on the in-memory ports in tests/effects.rs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mockall::Sequence;
use mockall::predicate::eq;
use ngobrol_core::ports::{
    MockFriendRepository, MockGroupRepository, MockHistoryRepository, MockOutbound, MockRequestLog,
    MockSessionRepository, MockUserRepository,
};
use ngobrol_core::{
    Auth, ChatError, ChatService, DeliveryBody, DeviceName, GroupId, GroupName, GroupRecord,
    Password, PasswordHasher, Placement, PortError, Ports, RateLimit, ServiceConfig, SessionId,
    SessionRecord, Token, UserRecord, Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn record(name: &str, password_hash: &str) -> UserRecord {
    UserRecord {
        username: user(name),
        password_hash: password_hash.to_owned(),
        created_at: SystemTime::now(),
    }
}

fn group(id: i64, name: &str, admin: &str) -> GroupRecord {
    GroupRecord {
        id: GroupId::new(id),
        name: GroupName::parse(name).unwrap(),
        admin: user(admin),
    }
}

#[derive(Default)]
struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    friends: MockFriendRepository,
    groups: MockGroupRepository,
    history: MockHistoryRepository,
    requests: MockRequestLog,
    outbound: MockOutbound,
    config: Option<ServiceConfig>,
}

impl Mocks {
    /// Mocks in which `name` holds a valid session; returns its credentials.
    fn logged_in(name: &str) -> (Self, Auth) {
        let mut mocks = Self::default();
        let auth = mocks.session_for(name, Duration::from_secs(3600));
        (mocks, auth)
    }

    fn session_for(&mut self, name: &str, valid_for: Duration) -> Auth {
        let (auth, session) = valid_session(name, valid_for);
        self.sessions
            .expect_find_session()
            .with(eq(auth.token.hash()))
            .returning(move |_| Ok(Some(session.clone())));
        auth
    }

    fn existing_users(&mut self, names: &[&'static str]) {
        let names = names.to_vec();
        self.users
            .expect_find_user()
            .returning(move |u| Ok(names.contains(&u.as_str()).then(|| record(u.as_str(), "x"))));
    }

    fn existing_group(&mut self, g: GroupRecord) {
        self.groups
            .expect_find_group()
            .returning(move |id| Ok((id == g.id).then(|| g.clone())));
    }

    /// Groups and users far from every size limit.
    fn roomy(&mut self) {
        self.groups.expect_count_members().returning(|_| Ok(1));
        self.groups.expect_count_groups_of().returning(|_| Ok(1));
        self.groups
            .expect_count_groups_administered()
            .returning(|_| Ok(1));
    }

    fn service(mut self) -> ChatService {
        // The history is the subject of tests of its own (the contract and
        // tests/history.rs): here it stores whatever it is given.
        self.history.expect_append_message().returning(|_, _| {
            Ok(Placement {
                position: 1,
                seq: 1,
            })
        });
        self.history.expect_latest_position().returning(|| Ok(0));
        // Users of the original client's mailbox: tests/sessions.rs.
        self.users
            .expect_is_mailbox_reader()
            .returning(|_| Ok(false));
        self.users
            .expect_set_mailbox_reader()
            .returning(|_, _| Ok(false));
        self.users
            .expect_mailbox_readers()
            .returning(|| Ok(Vec::new()));
        self.outbound
            .expect_share_mailbox()
            .returning(|_, _| Ok(()));
        // Blocking: tests/effects.rs.
        self.friends.expect_blocks().returning(|_, _| Ok(false));
        let ports = Ports {
            users: Arc::new(self.users),
            sessions: Arc::new(self.sessions),
            friends: Arc::new(self.friends),
            groups: Arc::new(self.groups),
            history: Arc::new(self.history),
            requests: Arc::new(self.requests),
            outbound: Arc::new(self.outbound),
        };
        let config = self.config.unwrap_or(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            ..ServiceConfig::default()
        });
        ChatService::new(ports, config).unwrap()
    }
}

/// A session of `name`, issued and seen now, and its credentials.
fn valid_session(name: &str, valid_for: Duration) -> (Auth, SessionRecord) {
    let token = Token::generate().unwrap();
    let now = SystemTime::now();
    let session = SessionRecord {
        id: SessionId::generate().unwrap(),
        token_hash: token.hash(),
        username: user(name),
        device: None,
        issued_at: now,
        expires_at: now + valid_for,
        last_seen: now,
    };
    (Auth::new(user(name), token), session)
}

async fn hash_of(password: &str) -> String {
    PasswordHasher::new(PasswordHasher::MIN_ITERATIONS, 1)
        .unwrap()
        .hash(&Password::new(password))
        .await
        .unwrap()
}

// --- register ---

#[tokio::test]
async fn register_refuses_a_taken_name_without_hashing() {
    let mut m = Mocks::default();
    m.existing_users(&["ana"]);
    m.users.expect_insert_user().never();
    let err = m
        .service()
        .register(&user("ana"), &Password::new("rahasia!"))
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::UsernameTaken);
}

#[tokio::test]
async fn register_losing_a_race_reports_the_name_taken() {
    let mut m = Mocks::default();
    m.users.expect_find_user().returning(|_| Ok(None));
    m.users
        .expect_insert_user()
        .returning(|_| Err(PortError::Conflict));
    m.outbound.expect_ensure_mailbox().never();
    let err = m
        .service()
        .register(&user("ana"), &Password::new("rahasia!"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "username_taken");
}

#[tokio::test]
async fn register_refuses_the_reserved_notice_sender() {
    let m = Mocks::default();
    let err = m
        .service()
        .register(&user("Admin"), &Password::new("rahasia!"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "reserved_username");
}

#[tokio::test]
async fn register_enforces_password_length_limits() {
    let m = Mocks {
        config: Some(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            min_password_chars: 8,
            max_password_bytes: 16,
            ..ServiceConfig::default()
        }),
        ..Mocks::default()
    };
    let service = m.service();
    for password in ["short", &"x".repeat(17)] {
        let err = service
            .register(&user("ana"), &Password::new(password))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_password", "{password:?}");
    }
}

#[tokio::test]
async fn register_reports_a_store_failure_as_internal() {
    let mut m = Mocks::default();
    m.users
        .expect_find_user()
        .returning(|_| Err(PortError::Unavailable("disk on fire".into())));
    let err = m
        .service()
        .register(&user("ana"), &Password::new("rahasia!"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
    assert!(!err.public_description().contains("disk"));
}

// --- login and authentication ---

#[tokio::test]
async fn login_issues_a_token_whose_hash_alone_is_stored() {
    let mut m = Mocks::default();
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .returning(move |_| Ok(Some(record("ana", &stored))));
    m.users.expect_is_disabled().returning(|_| Ok(false));
    let saved = Arc::new(std::sync::Mutex::new(None));
    let saved_in = saved.clone();
    let mut seq = Sequence::new();
    m.sessions
        .expect_insert_session()
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |s| {
            *saved_in.lock().unwrap() = Some(s.clone());
            Ok(())
        });
    m.outbound
        .expect_ensure_mailbox()
        .with(eq(user("ana")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let saved_for_open = saved.clone();
    m.outbound
        .expect_open_session_mailbox()
        .withf(move |u, id| {
            let saved = saved_for_open.lock().unwrap();
            *u == user("ana") && saved.as_ref().is_some_and(|s| s.id == *id)
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    let saved_for_list = saved.clone();
    m.sessions
        .expect_sessions_of()
        .with(eq(user("ana")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(saved_for_list.lock().unwrap().iter().cloned().collect()));
    m.sessions.expect_delete_session_by_id().never();
    m.outbound.expect_close_session_mailbox().never();
    let device = DeviceName::parse("Ponsel").unwrap();
    let login = m
        .service()
        .login(
            &user("ana"),
            &Password::new("rahasia!"),
            Some(device.clone()),
        )
        .await
        .unwrap();
    let session = saved.lock().unwrap().clone().unwrap();
    assert_eq!(session.token_hash, login.token.hash());
    assert_ne!(session.token_hash.as_str(), login.token.expose());
    assert_eq!(session.id, login.session);
    assert_eq!(session.username, user("ana"));
    assert_eq!(session.device, Some(device));
    assert_eq!(session.last_seen, session.issued_at);
    assert!(login.ended.is_empty());
    let ttl = session
        .expires_at
        .duration_since(session.issued_at)
        .unwrap();
    assert_eq!(ttl, ServiceConfig::default().token_ttl);
}

#[tokio::test]
async fn a_login_whose_session_mailbox_fails_takes_its_session_back() {
    let mut m = Mocks::default();
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .returning(move |_| Ok(Some(record("ana", &stored))));
    m.users.expect_is_disabled().returning(|_| Ok(false));
    let saved = Arc::new(std::sync::Mutex::new(None));
    let saved_in = saved.clone();
    m.sessions
        .expect_insert_session()
        .times(1)
        .returning(move |s| {
            *saved_in.lock().unwrap() = Some(s.clone());
            Ok(())
        });
    m.outbound.expect_ensure_mailbox().returning(|_| Ok(()));
    m.outbound
        .expect_open_session_mailbox()
        .times(1)
        .returning(|_, _| Err(PortError::Unavailable("broker: channel closed".into())));
    let mut seq = Sequence::new();
    let saved_for_close = saved.clone();
    m.outbound
        .expect_close_session_mailbox()
        .withf(move |id| saved_for_close.lock().unwrap().as_ref().unwrap().id == *id)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    let saved_for_delete = saved.clone();
    m.sessions
        .expect_delete_session_by_id()
        .withf(move |u, id| {
            *u == user("ana") && saved_for_delete.lock().unwrap().as_ref().unwrap().id == *id
        })
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(None));
    m.sessions.expect_sessions_of().never();
    let err = m
        .service()
        .login(&user("ana"), &Password::new("rahasia!"), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
}

#[tokio::test]
async fn a_login_past_the_cap_ends_the_least_recently_seen_mailbox_first() {
    let mut m = Mocks {
        config: Some(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            max_sessions_per_user: 2,
            ..ServiceConfig::default()
        }),
        ..Mocks::default()
    };
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .returning(move |_| Ok(Some(record("ana", &stored))));
    m.users.expect_is_disabled().returning(|_| Ok(false));
    let hour = Duration::from_secs(3600);
    let (_, mut stale) = valid_session("ana", hour);
    stale.last_seen -= Duration::from_secs(600);
    let (_, recent) = valid_session("ana", hour);
    let (_, mut expired) = valid_session("ana", hour);
    expired.expires_at = SystemTime::now() - Duration::from_secs(1);
    let saved = Arc::new(std::sync::Mutex::new(None));
    let saved_in = saved.clone();
    m.sessions.expect_insert_session().returning(move |s| {
        *saved_in.lock().unwrap() = Some(s.clone());
        Ok(())
    });
    m.outbound.expect_ensure_mailbox().returning(|_| Ok(()));
    m.outbound
        .expect_open_session_mailbox()
        .returning(|_, _| Ok(()));
    let listed = vec![stale.clone(), recent.clone(), expired.clone()];
    let saved_for_list = saved.clone();
    m.sessions.expect_sessions_of().returning(move |_| {
        let mut all = listed.clone();
        all.push(saved_for_list.lock().unwrap().clone().unwrap());
        Ok(all)
    });
    // Each one ended is closed first, then deleted: the expired one, then
    // the one seen least recently; the one seen recently stays.
    let mut seq = Sequence::new();
    for ended in [expired, stale.clone()] {
        let id = ended.id.clone();
        m.outbound
            .expect_close_session_mailbox()
            .with(eq(id.clone()))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(()));
        m.sessions
            .expect_delete_session_by_id()
            .with(eq(user("ana")), eq(id))
            .times(1)
            .in_sequence(&mut seq)
            .returning(move |_, _| Ok(Some(ended.clone())));
    }
    let login = m
        .service()
        .login(&user("ana"), &Password::new("rahasia!"), None)
        .await
        .unwrap();
    assert_eq!(login.ended, vec![stale.id]);
}

#[tokio::test]
async fn a_session_that_cannot_be_ended_does_not_fail_the_login() {
    let mut m = Mocks {
        config: Some(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            max_sessions_per_user: 1,
            ..ServiceConfig::default()
        }),
        ..Mocks::default()
    };
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .returning(move |_| Ok(Some(record("ana", &stored))));
    m.users.expect_is_disabled().returning(|_| Ok(false));
    let (_, old) = valid_session("ana", Duration::from_secs(3600));
    m.sessions.expect_insert_session().returning(|_| Ok(()));
    m.outbound.expect_ensure_mailbox().returning(|_| Ok(()));
    m.outbound
        .expect_open_session_mailbox()
        .returning(|_, _| Ok(()));
    m.sessions
        .expect_sessions_of()
        .returning(move |_| Ok(vec![old.clone()]));
    m.outbound
        .expect_close_session_mailbox()
        .times(1)
        .returning(|_| Err(PortError::Unavailable("broker: channel closed".into())));
    // Its mailbox still open, the old session is not deleted.
    m.sessions.expect_delete_session_by_id().never();
    let login = m
        .service()
        .login(&user("ana"), &Password::new("rahasia!"), None)
        .await
        .unwrap();
    assert!(login.ended.is_empty());
}

#[tokio::test]
async fn login_with_a_wrong_password_is_refused() {
    let mut m = Mocks::default();
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .returning(move |_| Ok(Some(record("ana", &stored))));
    m.sessions.expect_insert_session().never();
    m.outbound.expect_ensure_mailbox().never();
    m.outbound.expect_open_session_mailbox().never();
    let err = m
        .service()
        .login(&user("ana"), &Password::new("salah"), None)
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::InvalidCredentials);
}

#[tokio::test]
async fn login_as_an_unknown_user_is_refused_and_makes_no_mailbox() {
    let mut m = Mocks::default();
    m.users.expect_find_user().returning(|_| Ok(None));
    m.sessions.expect_insert_session().never();
    m.outbound.expect_ensure_mailbox().never();
    m.outbound.expect_open_session_mailbox().never();
    let err = m
        .service()
        .login(&user("ghost"), &Password::new("boo"), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_credentials");
}

#[tokio::test]
async fn a_token_of_another_user_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.friends.expect_friends_of().never();
    let impostor = Auth::new(user("budi"), ana.token.clone());
    let err = m.service().friends(&impostor).await.unwrap_err();
    assert_eq!(err.code(), "invalid_token");
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let mut m = Mocks::default();
    m.sessions.expect_find_session().returning(|_| Ok(None));
    let auth = Auth::new(user("ana"), Token::parse("made-up").unwrap());
    let err = m.service().friends(&auth).await.unwrap_err();
    assert_eq!(err, ChatError::InvalidToken);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let mut m = Mocks::default();
    let (auth, mut session) = valid_session("ana", Duration::from_secs(3600));
    session.issued_at = SystemTime::now() - Duration::from_secs(7200);
    session.last_seen = session.issued_at;
    session.expires_at = SystemTime::now() - Duration::from_secs(1);
    m.sessions
        .expect_find_session()
        .returning(move |_| Ok(Some(session.clone())));
    m.sessions.expect_touch_session().never();
    let err = m.service().friends(&auth).await.unwrap_err();
    assert_eq!(err.code(), "invalid_token");
}

#[tokio::test]
async fn authenticating_returns_the_session_and_writes_a_stale_last_seen_only() {
    let mut m = Mocks::default();
    let (fresh_auth, mut fresh) = valid_session("ana", Duration::from_secs(3600));
    fresh.last_seen -= Duration::from_secs(59);
    let (stale_auth, mut stale) = valid_session("ana", Duration::from_secs(3600));
    stale.last_seen -= Duration::from_secs(61);
    for session in [fresh.clone(), stale.clone()] {
        m.sessions
            .expect_find_session()
            .with(eq(session.token_hash.clone()))
            .returning(move |_| Ok(Some(session.clone())));
    }
    let (stale_hash, stale_seen) = (stale.token_hash.clone(), stale.last_seen);
    m.sessions
        .expect_touch_session()
        .withf(move |hash, at| *hash == stale_hash && *at > stale_seen)
        .times(1)
        .returning(|_, _| Ok(()));
    let service = m.service();
    assert_eq!(service.authenticate(&fresh_auth).await.unwrap(), fresh);
    let before = SystemTime::now();
    let touched = service.authenticate(&stale_auth).await.unwrap();
    assert!(touched.last_seen >= before, "{touched:?}");
    assert_eq!(
        SessionRecord {
            last_seen: stale.last_seen,
            ..touched
        },
        stale
    );
}

#[tokio::test]
async fn a_last_seen_that_cannot_be_written_does_not_fail_the_request() {
    let mut m = Mocks::default();
    let (auth, mut session) = valid_session("ana", Duration::from_secs(3600));
    session.last_seen -= Duration::from_secs(600);
    let seen = session.last_seen;
    m.sessions
        .expect_find_session()
        .returning(move |_| Ok(Some(session.clone())));
    m.sessions
        .expect_touch_session()
        .times(1)
        .returning(|_, _| Err(PortError::Unavailable("disk on fire".into())));
    let service = m.service();
    assert_eq!(service.authenticate(&auth).await.unwrap().last_seen, seen);
}

// --- friends ---

#[tokio::test]
async fn befriending_yourself_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.friends.expect_add_friendship().never();
    let err = m
        .service()
        .add_friend(&ana, &user("ana"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "cannot_befriend_self");
}

#[tokio::test]
async fn befriending_an_unknown_user_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana"]);
    m.friends.expect_add_friendship().never();
    let err = m
        .service()
        .add_friend(&ana, &user("ghost"))
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::UnknownUser("ghost".into()));
}

#[tokio::test]
async fn befriending_twice_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends
        .expect_add_friendship()
        .returning(|_, _| Err(PortError::Conflict));
    let err = m
        .service()
        .add_friend(&ana, &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already_friends");
}

#[tokio::test]
async fn befriending_stores_the_pair() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends
        .expect_add_friendship()
        .with(eq(user("ana")), eq(user("budi")))
        .times(1)
        .returning(|_, _| Ok(()));
    m.service().add_friend(&ana, &user("budi")).await.unwrap();
}

#[tokio::test]
async fn friends_lists_the_acting_users_friends() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.friends
        .expect_friends_of()
        .with(eq(user("ana")))
        .returning(|_| Ok(vec![user("budi"), user("cici")]));
    let friends = m.service().friends(&ana).await.unwrap();
    assert_eq!(friends, vec![user("budi"), user("cici")]);
}

// --- groups ---

#[tokio::test]
async fn groups_lists_the_acting_users_groups() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.groups
        .expect_groups_of()
        .with(eq(user("ana")))
        .returning(|_| Ok(vec![group(1, "a", "ana"), group(2, "b", "budi")]));
    let groups = m.service().groups(&ana).await.unwrap();
    assert_eq!(groups.len(), 2);
}

#[tokio::test]
async fn adding_to_an_unknown_group_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    let err = m
        .service()
        .add_member(&ana, GroupId::new(99), &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::UnknownGroup(GroupId::new(99)));
}

#[tokio::test]
async fn only_the_admin_may_add_members() {
    let (mut m, budi) = Mocks::logged_in("budi");
    m.existing_group(group(1, "g", "ana"));
    m.groups.expect_add_member().never();
    let err = m
        .service()
        .add_member(&budi, GroupId::new(1), &user("cici"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_group_admin");
}

#[tokio::test]
async fn adding_an_unknown_user_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.existing_users(&["ana"]);
    m.groups.expect_add_member().never();
    let err = m
        .service()
        .add_member(&ana, GroupId::new(1), &user("ghost"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[tokio::test]
async fn adding_a_member_twice_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.existing_users(&["ana", "budi"]);
    m.groups.expect_is_member().returning(|_, _| Ok(true));
    m.groups.expect_add_member().never();
    m.outbound.expect_deliver_to_group().never();
    let err = m
        .service()
        .add_member(&ana, GroupId::new(1), &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already_member");
}

#[tokio::test]
async fn a_concurrent_add_of_the_same_member_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.existing_users(&["ana", "budi"]);
    m.roomy();
    m.groups.expect_is_member().returning(|_, _| Ok(false));
    m.groups
        .expect_add_member()
        .returning(|_, _| Err(PortError::Conflict));
    m.outbound.expect_deliver_to_group().never();
    let err = m
        .service()
        .add_member(&ana, GroupId::new(1), &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already_member");
}

#[tokio::test]
async fn a_full_group_takes_no_one_more() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.existing_users(&["ana", "budi"]);
    m.groups.expect_is_member().returning(|_, _| Ok(false));
    m.groups.expect_count_members().returning(|_| Ok(1000));
    m.groups.expect_add_member().never();
    let err = m
        .service()
        .add_member(&ana, GroupId::new(1), &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ChatError::GroupFull {
            group: GroupId::new(1),
            max: 1000
        }
    );
}

#[tokio::test]
async fn nobody_joins_more_groups_than_allowed() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.existing_users(&["ana", "budi"]);
    m.groups.expect_is_member().returning(|_, _| Ok(false));
    m.groups.expect_count_members().returning(|_| Ok(2));
    m.groups
        .expect_count_groups_of()
        .with(eq(user("budi")))
        .returning(|_| Ok(1000));
    m.groups.expect_add_member().never();
    let err = m
        .service()
        .add_member(&ana, GroupId::new(1), &user("budi"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_groups");
}

#[tokio::test]
async fn nobody_creates_more_groups_than_allowed() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.groups.expect_count_groups_of().returning(|_| Ok(1000));
    m.groups.expect_create_group().never();
    let err = m
        .service()
        .create_group(&ana, &GroupName::parse("g").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_groups");
}

#[tokio::test]
async fn nobody_keeps_more_groups_created_than_allowed() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.groups.expect_count_groups_of().returning(|_| Ok(1));
    m.groups
        .expect_count_groups_administered()
        .with(eq(user("ana")))
        .returning(|_| Ok(100));
    m.groups.expect_create_group().never();
    let err = m
        .service()
        .create_group(&ana, &GroupName::parse("g").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "too_many_groups_created");
    assert!(
        matches!(err, ChatError::TooManyGroupsCreated { max: 100 }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_group_whose_channel_fails_is_deleted_again_row_then_channel() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.roomy();
    let mut seq = Sequence::new();
    m.groups
        .expect_create_group()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|name, admin, _| {
            Ok(GroupRecord {
                id: GroupId::new(7),
                name: name.clone(),
                admin: admin.clone(),
            })
        });
    m.outbound
        .expect_create_group_channel()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(PortError::Unavailable("broker down".into())));
    m.outbound.expect_subscribe().never();
    m.groups
        .expect_delete_group()
        .with(eq(GroupId::new(7)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(true));
    m.outbound
        .expect_delete_group_channel()
        .with(eq(GroupId::new(7)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Err(PortError::Unavailable("broker down".into())));
    let err = m
        .service()
        .create_group(&ana, &GroupName::parse("g").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
    assert!(err.to_string().contains("broker down"), "{err}");
}

#[tokio::test]
async fn a_failed_subscription_of_the_admin_also_takes_the_group_back() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.roomy();
    m.groups.expect_create_group().returning(|name, admin, _| {
        Ok(GroupRecord {
            id: GroupId::new(7),
            name: name.clone(),
            admin: admin.clone(),
        })
    });
    m.outbound
        .expect_create_group_channel()
        .returning(|_| Ok(()));
    m.outbound
        .expect_subscribe()
        .returning(|_, _| Err(PortError::Unavailable("no route".into())));
    // Even when the store cannot take the group back, the caller hears of
    // the first failure, not of the second.
    m.groups
        .expect_delete_group()
        .times(1)
        .returning(|_| Err(PortError::Unavailable("store down".into())));
    m.outbound.expect_delete_group_channel().never();
    let err = m
        .service()
        .create_group(&ana, &GroupName::parse("g").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
    assert!(err.to_string().contains("no route"), "{err}");
}

#[tokio::test]
async fn logout_closes_the_sessions_mailbox_then_revokes_the_presented_token() {
    let mut m = Mocks::default();
    let (ana, session) = valid_session("ana", Duration::from_secs(3600));
    let (hash, id) = (session.token_hash.clone(), session.id.clone());
    m.sessions
        .expect_find_session()
        .returning(move |_| Ok(Some(session.clone())));
    let mut seq = Sequence::new();
    m.outbound
        .expect_close_session_mailbox()
        .with(eq(id))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.sessions
        .expect_delete_session()
        .with(eq(hash))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(true));
    m.sessions.expect_delete_sessions_of().never();
    m.service().logout(&ana).await.unwrap();
}

#[tokio::test]
async fn a_logout_whose_mailbox_cannot_be_closed_keeps_the_session() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.outbound
        .expect_close_session_mailbox()
        .returning(|_| Err(PortError::Unavailable("broker: channel closed".into())));
    m.sessions.expect_delete_session().never();
    let err = m.service().logout(&ana).await.unwrap_err();
    assert_eq!(err.code(), "internal");
}

#[tokio::test]
async fn logout_all_closes_every_mailbox_before_deleting_the_sessions() {
    let mut m = Mocks::default();
    let (ana, mine) = valid_session("ana", Duration::from_secs(3600));
    let (_, other) = valid_session("ana", Duration::from_secs(3600));
    let (_, meanwhile) = valid_session("ana", Duration::from_secs(3600));
    let found = mine.clone();
    m.sessions
        .expect_find_session()
        .returning(move |_| Ok(Some(found.clone())));
    let listed = vec![mine.clone(), other.clone()];
    let mut seq = Sequence::new();
    m.sessions
        .expect_sessions_of()
        .with(eq(user("ana")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(listed.clone()));
    for id in [&mine.id, &other.id] {
        m.outbound
            .expect_close_session_mailbox()
            .with(eq(id.clone()))
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(()));
    }
    // A login meanwhile: its session is deleted too, and then closed.
    let deleted = vec![mine.id.clone(), other.id.clone(), meanwhile.id.clone()];
    let returned = deleted.clone();
    m.sessions
        .expect_delete_sessions_of()
        .with(eq(user("ana")))
        .times(1)
        .in_sequence(&mut seq)
        .returning(move |_| Ok(returned.clone()));
    m.outbound
        .expect_close_session_mailbox()
        .with(eq(meanwhile.id.clone()))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    assert_eq!(m.service().logout_all(&ana).await.unwrap(), deleted);
}

#[tokio::test]
async fn ending_a_session_that_is_not_yours_closes_nothing() {
    let (mut m, ana) = Mocks::logged_in("ana");
    let (_, mine) = valid_session("ana", Duration::from_secs(3600));
    m.sessions
        .expect_sessions_of()
        .with(eq(user("ana")))
        .returning(move |_| Ok(vec![mine.clone()]));
    m.outbound.expect_close_session_mailbox().never();
    m.sessions.expect_delete_session_by_id().never();
    let budis = SessionId::generate().unwrap();
    let err = m.service().end_session(&ana, &budis).await.unwrap_err();
    assert_eq!(err, ChatError::UnknownSession);
    assert_eq!(err.code(), "unknown_session");
    assert!(err.is_lasting());
}

#[tokio::test]
async fn the_session_methods_count_against_the_request_rate() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.config = Some(ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        request_rate: RateLimit {
            burst: 2,
            per_second: 0.001,
        },
        ..ServiceConfig::default()
    });
    m.sessions
        .expect_sessions_of()
        .times(2)
        .returning(|_| Ok(vec![]));
    let service = m.service();
    service.sessions(&ana).await.unwrap();
    let id = SessionId::generate().unwrap();
    assert_eq!(
        service.end_session(&ana, &id).await.unwrap_err().code(),
        "unknown_session"
    );
    for err in [
        service.sessions(&ana).await.unwrap_err(),
        service.end_session(&ana, &id).await.unwrap_err(),
        service.logout_all(&ana).await.unwrap_err(),
        service.logout(&ana).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), "rate_limited");
    }
}

#[tokio::test]
async fn a_users_requests_are_rate_limited() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.config = Some(ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        request_rate: RateLimit {
            burst: 3,
            per_second: 0.5,
        },
        ..ServiceConfig::default()
    });
    m.friends
        .expect_friends_of()
        .times(3)
        .returning(|_| Ok(vec![]));
    let service = m.service();
    for _ in 0..3 {
        service.friends(&ana).await.unwrap();
    }
    let err = service.friends(&ana).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    let wait = err.retry_after().unwrap();
    assert!(
        wait > Duration::from_millis(1500) && wait <= Duration::from_secs(2),
        "{wait:?}"
    );
}

#[tokio::test]
async fn forged_requests_spend_nothing_of_the_users_allowance() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.config = Some(ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        request_rate: RateLimit {
            burst: 3,
            per_second: 0.0,
        },
        ..ServiceConfig::default()
    });
    // Any other token is no session at all.
    m.sessions.expect_find_session().returning(|_| Ok(None));
    m.friends.expect_friends_of().returning(|_| Ok(vec![]));
    let service = m.service();
    let forged = Auth::new(ana.user.clone(), Token::generate().unwrap());
    for _ in 0..10 {
        let err = service.friends(&forged).await.unwrap_err();
        assert_eq!(err.code(), "invalid_token");
    }
    // Ana's own three are all still there, and only three.
    for _ in 0..3 {
        service.friends(&ana).await.unwrap();
    }
    let err = service.friends(&ana).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
}

#[tokio::test]
async fn repeated_wrong_passwords_are_throttled_per_username() {
    let mut m = Mocks {
        config: Some(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            auth_failures: RateLimit {
                burst: 2,
                per_second: 0.01,
            },
            ..ServiceConfig::default()
        }),
        ..Mocks::default()
    };
    let stored = hash_of("rahasia!").await;
    m.users
        .expect_find_user()
        .times(2)
        .returning(move |_| Ok(Some(record("ana", &stored))));
    let service = m.service();
    for _ in 0..2 {
        let err = service
            .login(&user("ana"), &Password::new("salah"), None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "invalid_credentials");
    }
    // Even the right password waits now: guessing is what is being slowed.
    let err = service
        .login(&user("ana"), &Password::new("rahasia!"), None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "rate_limited");
}

#[tokio::test]
async fn quitting_an_unknown_group_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    let err = m
        .service()
        .quit_group(&ana, GroupId::new(5))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_group");
}

#[tokio::test]
async fn quitting_a_group_you_are_not_in_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "budi"));
    m.groups.expect_remove_member().returning(|_, _| Ok(false));
    m.outbound.expect_unsubscribe().never();
    let err = m
        .service()
        .quit_group(&ana, GroupId::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_member");
}

#[tokio::test]
async fn the_last_member_leaving_deletes_the_row_then_the_channel_and_tells_nobody() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    let mut seq = Sequence::new();
    m.groups
        .expect_remove_member()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(true));
    m.outbound
        .expect_unsubscribe()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| Ok(()));
    m.groups
        .expect_count_members()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(0));
    m.groups
        .expect_delete_group()
        .with(eq(GroupId::new(1)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(true));
    m.outbound
        .expect_delete_group_channel()
        .with(eq(GroupId::new(1)))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_| Ok(()));
    m.outbound.expect_deliver_to_group().never();
    m.service().quit_group(&ana, GroupId::new(1)).await.unwrap();
}

#[tokio::test]
async fn a_channel_left_behind_by_an_ended_group_does_not_undo_the_quit() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.groups.expect_remove_member().returning(|_, _| Ok(true));
    m.outbound.expect_unsubscribe().returning(|_, _| Ok(()));
    m.groups.expect_count_members().returning(|_| Ok(0));
    m.groups
        .expect_delete_group()
        .times(1)
        .returning(|_| Ok(true));
    m.outbound
        .expect_delete_group_channel()
        .times(1)
        .returning(|_| Err(PortError::Unavailable("broker down".into())));
    m.service().quit_group(&ana, GroupId::new(1)).await.unwrap();
}

#[tokio::test]
async fn a_store_failure_ending_the_group_keeps_its_channel_and_is_reported() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    m.groups.expect_remove_member().returning(|_, _| Ok(true));
    m.outbound.expect_unsubscribe().returning(|_, _| Ok(()));
    m.groups.expect_count_members().returning(|_| Ok(0));
    m.groups
        .expect_delete_group()
        .returning(|_| Err(PortError::Unavailable("store down".into())));
    m.outbound.expect_delete_group_channel().never();
    let err = m
        .service()
        .quit_group(&ana, GroupId::new(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
}

// --- messages ---

#[tokio::test]
async fn messaging_an_unknown_user_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(false));
    m.outbound.expect_deliver_to_user().never();
    let service = m.service();
    let err = service
        .send_direct(&ana, &user("ghost"), service.message_text("hi").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[tokio::test]
async fn messaging_a_stranger_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(false));
    m.outbound.expect_deliver_to_user().never();
    let service = m.service();
    let err = service
        .send_direct(&ana, &user("budi"), service.message_text("hi").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_friends");
}

#[tokio::test]
async fn a_direct_message_is_stamped_with_the_authenticated_sender() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(true));
    m.outbound
        .expect_deliver_to_user()
        .withf(|to, d| {
            to.as_str() == "budi"
                && matches!(&d.body, DeliveryBody::Direct { from, text }
                    if from.as_str() == "ana" && text.as_str() == "halo")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let service = m.service();
    service
        .send_direct(&ana, &user("budi"), service.message_text("halo").unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failed_delivery_is_an_error_not_a_silent_loss() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(true));
    m.outbound
        .expect_deliver_to_user()
        .returning(|_, _| Err(PortError::Unavailable("broker nacked".into())));
    let service = m.service();
    let err = service
        .send_direct(&ana, &user("budi"), service.message_text("halo").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");
}

#[tokio::test]
async fn messaging_an_unknown_group_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "ana"));
    let service = m.service();
    let err = service
        .send_group(&ana, GroupId::new(2), service.message_text("hi").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_group");
}

#[tokio::test]
async fn messaging_a_group_you_are_not_in_is_refused() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "g", "budi"));
    m.groups.expect_is_member().returning(|_, _| Ok(false));
    m.outbound.expect_deliver_to_group().never();
    let service = m.service();
    let err = service
        .send_group(&ana, GroupId::new(1), service.message_text("hi").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_member");
}

#[tokio::test]
async fn a_group_message_names_its_group_and_sender() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_group(group(1, "Keluarga", "budi"));
    m.groups.expect_is_member().returning(|_, _| Ok(true));
    m.outbound
        .expect_deliver_to_group()
        .withf(|g, d| {
            *g == GroupId::new(1)
                && matches!(&d.body, DeliveryBody::Group { from, group, text }
                    if from.as_str() == "ana" && group.name.as_str() == "Keluarga"
                        && text.as_str() == "halo semua")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    let service = m.service();
    service
        .send_group(
            &ana,
            GroupId::new(1),
            service.message_text("halo semua").unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn messages_over_the_configured_size_are_refused() {
    let m = Mocks {
        config: Some(ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            max_message_bytes: 4,
            ..ServiceConfig::default()
        }),
        ..Mocks::default()
    };
    let service = m.service();
    assert!(service.message_text("four").is_ok());
    assert_eq!(
        service.message_text("fives").unwrap_err().code(),
        "message_too_long"
    );
}

#[tokio::test]
async fn restore_routing_hands_the_stores_memberships_to_the_outbound_side() {
    let mut m = Mocks::default();
    let memberships = vec![(GroupId::new(1), vec![user("ana"), user("budi")])];
    let stored = memberships.clone();
    m.groups
        .expect_all_memberships()
        .returning(move || Ok(stored.clone()));
    m.outbound
        .expect_restore_routing()
        .withf(move |given, readers| given == memberships.as_slice() && readers.is_empty())
        .times(1)
        .returning(|_, _| Ok(()));
    assert_eq!(m.service().restore_routing().await.unwrap(), 1);
}

#[tokio::test]
async fn the_default_restore_makes_channels_before_subscriptions() {
    use ngobrol_core::Outbound;
    use ngobrol_core::memory::MemoryOutbound;
    let outbound = MemoryOutbound::new();
    let memberships = vec![(GroupId::new(1), vec![user("ana"), user("budi")])];
    outbound
        .restore_routing(&memberships, &[user("cici")])
        .await
        .unwrap();
    assert!(outbound.is_mailbox_shared(&user("cici")));
    assert!(outbound.is_subscribed(GroupId::new(1), &user("ana")));
    assert!(outbound.is_subscribed(GroupId::new(1), &user("budi")));
}

#[tokio::test]
async fn a_named_request_makes_the_same_delivery_id_every_time() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(true));
    m.outbound.expect_deliver_to_user().returning(|_, _| Ok(()));
    let service = m.service();
    let named = ana.clone().with_request_id(Some("r-7".into()));
    let send = |auth: Auth| {
        let service = service.clone();
        async move {
            let text = service.message_text("halo").unwrap();
            service
                .send_direct(&auth, &user("budi"), text)
                .await
                .unwrap()
                .id
        }
    };
    let first = send(named.clone()).await;
    assert_eq!(first, send(named).await);
    assert_ne!(send(ana.clone()).await, send(ana).await);
}

#[tokio::test]
async fn a_refused_delivery_reports_the_full_mailbox() {
    let (mut m, ana) = Mocks::logged_in("ana");
    m.existing_users(&["ana", "budi"]);
    m.friends.expect_are_friends().returning(|_, _| Ok(true));
    m.outbound
        .expect_deliver_to_user()
        .returning(|_, _| Err(PortError::Rejected("queue at its limit".into())));
    let service = m.service();
    let err = service
        .send_direct(&ana, &user("budi"), service.message_text("halo").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::MailboxFull("budi".into()));
    assert_eq!(err.code(), "mailbox_full");
}
