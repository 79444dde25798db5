//! The caches in front of the repositories (`Ports::cached`): with the
//! repositories mocked, each test sees how often the store is asked, and
//! that every write which changes an answer makes the next look-up ask
//! again.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use mockall::predicate::eq;
use ngobrol_core::ports::{
    MockFriendRepository, MockGroupRepository, MockHistoryRepository, MockOutbound, MockRequestLog,
    MockSessionRepository, MockUserRepository,
};
use ngobrol_core::{
    CacheSettings, GroupId, GroupName, GroupRecord, Ports, SessionId, SessionRecord, Token,
    Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn ports(
    sessions: MockSessionRepository,
    friends: MockFriendRepository,
    groups: MockGroupRepository,
    ttl: Duration,
) -> Ports {
    Ports {
        users: Arc::new(MockUserRepository::new()),
        sessions: Arc::new(sessions),
        friends: Arc::new(friends),
        groups: Arc::new(groups),
        history: Arc::new(MockHistoryRepository::new()),
        requests: Arc::new(MockRequestLog::new()),
        outbound: Arc::new(MockOutbound::new()),
    }
    .cached(CacheSettings { ttl, capacity: 100 })
}

fn session(token: &Token) -> SessionRecord {
    let now = SystemTime::now();
    SessionRecord {
        id: SessionId::generate().unwrap(),
        token_hash: token.hash(),
        username: user("ana"),
        device: None,
        issued_at: now,
        expires_at: now + Duration::from_secs(3600),
        last_seen: now,
    }
}

const LONG: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_found_session_is_asked_for_once_until_it_ends() {
    let token = Token::generate().unwrap();
    let found = session(&token);
    let mut sessions = MockSessionRepository::new();
    let stored = found.clone();
    sessions
        .expect_find_session()
        .with(eq(token.hash()))
        .times(2)
        .returning(move |_| Ok(Some(stored.clone())));
    sessions
        .expect_delete_session()
        .times(1)
        .returning(|_| Ok(true));
    let ports = ports(
        sessions,
        MockFriendRepository::new(),
        MockGroupRepository::new(),
        LONG,
    );
    for _ in 0..5 {
        assert_eq!(
            ports.sessions.find_session(&token.hash()).await.unwrap(),
            Some(found.clone())
        );
    }
    assert!(ports.sessions.delete_session(&token.hash()).await.unwrap());
    // Asked again: the second of the two expected calls.
    ports.sessions.find_session(&token.hash()).await.unwrap();
}

#[tokio::test]
async fn an_unknown_token_is_never_kept() {
    let token = Token::generate().unwrap();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_session()
        .times(3)
        .returning(|_| Ok(None));
    let ports = ports(
        sessions,
        MockFriendRepository::new(),
        MockGroupRepository::new(),
        LONG,
    );
    for _ in 0..3 {
        assert_eq!(
            ports.sessions.find_session(&token.hash()).await.unwrap(),
            None
        );
    }
}

#[tokio::test]
async fn ending_all_of_a_user_s_sessions_forgets_them() {
    let token = Token::generate().unwrap();
    let found = session(&token);
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_session()
        .times(2)
        .returning(move |_| Ok(Some(found.clone())));
    sessions
        .expect_delete_sessions_of()
        .times(1)
        .returning(|_| Ok(Vec::new()));
    let ports = ports(
        sessions,
        MockFriendRepository::new(),
        MockGroupRepository::new(),
        LONG,
    );
    ports.sessions.find_session(&token.hash()).await.unwrap();
    ports.sessions.find_session(&token.hash()).await.unwrap();
    ports
        .sessions
        .delete_sessions_of(&user("ana"))
        .await
        .unwrap();
    ports.sessions.find_session(&token.hash()).await.unwrap();
}

#[tokio::test]
async fn an_entry_older_than_its_time_to_live_is_asked_for_again() {
    let mut friends = MockFriendRepository::new();
    friends
        .expect_are_friends()
        .times(2)
        .returning(|_, _| Ok(true));
    let ports = ports(
        MockSessionRepository::new(),
        friends,
        MockGroupRepository::new(),
        Duration::from_millis(50),
    );
    assert!(
        ports
            .friends
            .are_friends(&user("ana"), &user("budi"))
            .await
            .unwrap()
    );
    assert!(
        ports
            .friends
            .are_friends(&user("budi"), &user("ana"))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(
        ports
            .friends
            .are_friends(&user("ana"), &user("budi"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_friendship_is_asked_for_again_after_it_changes() {
    let mut friends = MockFriendRepository::new();
    let mut answers = vec![true, false, true].into_iter();
    friends
        .expect_are_friends()
        .times(3)
        .returning(move |_, _| Ok(answers.next().unwrap()));
    friends
        .expect_remove_friendship()
        .times(1)
        .returning(|_, _| Ok(true));
    friends
        .expect_add_friendship()
        .times(1)
        .returning(|_, _| Ok(()));
    let ports = ports(
        MockSessionRepository::new(),
        friends,
        MockGroupRepository::new(),
        LONG,
    );
    let (ana, budi) = (user("ana"), user("budi"));
    assert!(ports.friends.are_friends(&ana, &budi).await.unwrap());
    assert!(ports.friends.are_friends(&ana, &budi).await.unwrap());
    // Either way round.
    ports.friends.remove_friendship(&budi, &ana).await.unwrap();
    assert!(!ports.friends.are_friends(&ana, &budi).await.unwrap());
    assert!(!ports.friends.are_friends(&budi, &ana).await.unwrap());
    ports.friends.add_friendship(&ana, &budi).await.unwrap();
    assert!(ports.friends.are_friends(&ana, &budi).await.unwrap());
}

#[tokio::test]
async fn memberships_and_groups_are_asked_for_again_after_they_change() {
    let id = GroupId::new(7);
    let record = |name: &str| GroupRecord {
        id,
        name: GroupName::parse(name).unwrap(),
        admin: user("ana"),
    };
    let mut groups = MockGroupRepository::new();
    let mut member = vec![false, true, false].into_iter();
    groups
        .expect_is_member()
        .times(3)
        .returning(move |_, _| Ok(member.next().unwrap()));
    groups.expect_add_member().times(1).returning(|_, _| Ok(()));
    groups
        .expect_remove_member()
        .times(1)
        .returning(|_, _| Ok(true));
    let mut names = vec![record("lama"), record("baru")].into_iter();
    groups
        .expect_find_group()
        .times(2)
        .returning(move |_| Ok(Some(names.next().unwrap())));
    groups
        .expect_rename_group()
        .times(1)
        .returning(|_, _| Ok(true));
    let ports = ports(
        MockSessionRepository::new(),
        MockFriendRepository::new(),
        groups,
        LONG,
    );
    let budi = user("budi");
    assert!(!ports.groups.is_member(id, &budi).await.unwrap());
    assert!(!ports.groups.is_member(id, &budi).await.unwrap());
    ports.groups.add_member(id, &budi).await.unwrap();
    assert!(ports.groups.is_member(id, &budi).await.unwrap());
    ports.groups.remove_member(id, &budi).await.unwrap();
    assert!(!ports.groups.is_member(id, &budi).await.unwrap());

    let name = |r: Option<GroupRecord>| r.unwrap().name.to_string();
    assert_eq!(name(ports.groups.find_group(id).await.unwrap()), "lama");
    assert_eq!(name(ports.groups.find_group(id).await.unwrap()), "lama");
    let renamed = GroupName::parse("baru").unwrap();
    ports.groups.rename_group(id, &renamed).await.unwrap();
    assert_eq!(name(ports.groups.find_group(id).await.unwrap()), "baru");
}
