//! Several sessions (devices) per user: every login opens a session of
//! its own, with a mailbox of its own; the oldest-seen ones end past the
//! cap; logging out ends one or all. Run on the in-memory ports, so the
//! store and the outbound side can be looked at.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatError, ChatService, DeviceName, Login, Outbound, Password, PasswordHasher, Ports,
    RateLimit, Reader, ServiceConfig, SessionId, SessionRecord, SessionRepository, Token,
    UserRepository, Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

struct World {
    store: Arc<MemoryStore>,
    outbound: Arc<MemoryOutbound>,
    chat: ChatService,
}

impl World {
    fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let outbound = Arc::new(MemoryOutbound::new());
        let config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            request_rate: RateLimit::UNLIMITED,
            ..ServiceConfig::default()
        };
        let chat = ChatService::new(Ports::new(store.clone(), outbound.clone()), config).unwrap();
        Self {
            store,
            outbound,
            chat,
        }
    }

    async fn register(&self, name: &str) {
        self.chat
            .register(&user(name), &Password::new("rahasia!"))
            .await
            .unwrap();
    }

    /// Logs `name` in once more; the session's credentials and the login.
    async fn login(&self, name: &str) -> (Auth, Login) {
        let login = self
            .chat
            .login(&user(name), &Password::new("rahasia!"), None)
            .await
            .unwrap();
        (Auth::new(user(name), login.token.clone()), login)
    }

    /// Whether `auth` still authenticates (through a request that needs it).
    async fn works(&self, auth: &Auth) -> bool {
        match self.chat.friends(auth).await {
            Ok(_) => true,
            Err(ChatError::InvalidToken) => false,
            Err(other) => panic!("unexpected refusal: {other}"),
        }
    }

    async fn stored(&self, auth: &Auth) -> Option<SessionRecord> {
        self.store.find_session(&auth.token.hash()).await.unwrap()
    }

    async fn last_seen(&self, auth: &Auth) -> SystemTime {
        self.stored(auth).await.unwrap().last_seen
    }

    async fn set_last_seen(&self, auth: &Auth, ago: Duration) {
        self.store
            .touch_session(&auth.token.hash(), SystemTime::now() - ago)
            .await
            .unwrap();
    }
}

fn ids(sessions: &[SessionRecord]) -> Vec<SessionId> {
    sessions.iter().map(|s| s.id.clone()).collect()
}

#[tokio::test]
async fn five_more_logins_leave_the_first_session_working() {
    let w = World::new();
    w.register("ana").await;
    let (first, first_login) = w.login("ana").await;
    let mut logins = vec![first_login];
    for _ in 0..5 {
        let (auth, login) = w.login("ana").await;
        assert!(login.ended.is_empty());
        assert!(w.works(&auth).await);
        logins.push(login);
    }
    assert!(w.works(&first).await);
    let listed = w.chat.sessions(&first).await.unwrap();
    let expected: Vec<SessionId> = logins.iter().map(|l| l.session.clone()).collect();
    assert_eq!(ids(&listed), expected);
    for login in &logins {
        assert!(w.outbound.has_session_mailbox(&login.session));
    }
    assert_eq!(w.outbound.session_mailboxes_of(&user("ana")).len(), 6);
}

#[tokio::test]
async fn the_21st_login_ends_the_session_seen_least_recently_and_closes_its_mailbox() {
    let w = World::new();
    w.register("ana").await;
    let mut sessions = Vec::new();
    for _ in 0..20 {
        sessions.push(w.login("ana").await);
    }
    // All seen ten minutes ago, but the fourth an hour ago: the first
    // issued is not the one seen least recently.
    for (i, (auth, _)) in sessions.iter().enumerate() {
        let ago = if i == 3 { 3600 } else { 600 };
        w.set_last_seen(auth, Duration::from_secs(ago)).await;
    }
    let (newest, login) = w.login("ana").await;
    let (gone, gone_login) = &sessions[3];
    assert_eq!(login.ended, vec![gone_login.session.clone()]);
    assert!(!w.works(gone).await);
    assert_eq!(w.stored(gone).await, None);
    assert!(!w.outbound.has_session_mailbox(&gone_login.session));
    assert_eq!(
        w.outbound.closed_session_mailboxes(),
        vec![gone_login.session.clone()]
    );
    assert!(w.outbound.has_session_mailbox(&login.session));
    for (i, (auth, _)) in sessions.iter().enumerate() {
        assert_eq!(w.works(auth).await, i != 3, "session {i}");
    }
    assert!(w.works(&newest).await);
    let listed = w.chat.sessions(&newest).await.unwrap();
    assert_eq!(listed.len(), 20);
    assert!(!ids(&listed).contains(&gone_login.session));
    // The next login ends the one now seen least recently, never itself.
    let (_, next) = w.login("ana").await;
    assert_eq!(next.ended.len(), 1);
    assert_ne!(next.ended[0], next.session);
    assert_eq!(w.outbound.session_mailboxes_of(&user("ana")).len(), 20);
}

#[tokio::test]
async fn logout_ends_only_the_calling_session() {
    let w = World::new();
    w.register("ana").await;
    let (phone, phone_login) = w.login("ana").await;
    let (laptop, laptop_login) = w.login("ana").await;
    w.chat.logout(&phone).await.unwrap();
    assert!(!w.works(&phone).await);
    assert!(w.works(&laptop).await);
    assert!(!w.outbound.has_session_mailbox(&phone_login.session));
    assert!(w.outbound.has_session_mailbox(&laptop_login.session));
    assert_eq!(
        ids(&w.chat.sessions(&laptop).await.unwrap()),
        vec![laptop_login.session]
    );
    // The token is spent: logging out with it again is refused.
    assert_eq!(
        w.chat.logout(&phone).await.unwrap_err(),
        ChatError::InvalidToken
    );
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_only() {
    let w = World::new();
    w.register("ana").await;
    w.register("budi").await;
    let anas = [
        w.login("ana").await,
        w.login("ana").await,
        w.login("ana").await,
    ];
    let (budi, budi_login) = w.login("budi").await;
    let ended = w.chat.logout_all(&anas[1].0).await.unwrap();
    let expected: Vec<SessionId> = anas.iter().map(|(_, l)| l.session.clone()).collect();
    assert_eq!(ended, expected);
    for (auth, login) in &anas {
        assert!(!w.works(auth).await);
        assert!(!w.outbound.has_session_mailbox(&login.session));
    }
    assert_eq!(w.outbound.session_mailboxes_of(&user("ana")), vec![]);
    assert!(w.works(&budi).await);
    assert!(w.outbound.has_session_mailbox(&budi_login.session));
    // The user can log in again afterwards.
    let (again, _) = w.login("ana").await;
    assert!(w.works(&again).await);
}

#[tokio::test]
async fn a_session_is_ended_by_its_id_by_its_own_user_only() {
    let w = World::new();
    w.register("ana").await;
    w.register("budi").await;
    let (ana, _) = w.login("ana").await;
    let (ana_tablet, tablet_login) = w.login("ana").await;
    let (budi, budi_login) = w.login("budi").await;

    let err = w
        .chat
        .end_session(&ana, &budi_login.session)
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::UnknownSession);
    assert_eq!(err.code(), "unknown_session");
    assert!(w.works(&budi).await);
    assert!(w.outbound.has_session_mailbox(&budi_login.session));
    assert_eq!(w.outbound.closed_session_mailboxes(), vec![]);

    w.chat
        .end_session(&ana, &tablet_login.session)
        .await
        .unwrap();
    assert!(!w.works(&ana_tablet).await);
    assert!(!w.outbound.has_session_mailbox(&tablet_login.session));
    assert!(w.works(&ana).await);
    assert_eq!(
        w.chat
            .end_session(&ana, &tablet_login.session)
            .await
            .unwrap_err(),
        ChatError::UnknownSession
    );
    let never = SessionId::generate().unwrap();
    assert_eq!(
        w.chat.end_session(&ana, &never).await.unwrap_err(),
        ChatError::UnknownSession
    );
}

#[tokio::test]
async fn expired_sessions_are_not_listed_and_the_next_login_clears_them() {
    let w = World::new();
    w.register("ana").await;
    let (ana, login) = w.login("ana").await;
    let issued_at = SystemTime::now() - Duration::from_secs(7200);
    let expired = SessionRecord {
        id: SessionId::generate().unwrap(),
        token_hash: Token::generate().unwrap().hash(),
        username: user("ana"),
        device: Some(DeviceName::parse("old phone").unwrap()),
        issued_at,
        expires_at: SystemTime::now() - Duration::from_secs(1),
        last_seen: issued_at,
    };
    w.store.insert_session(&expired).await.unwrap();
    w.outbound
        .open_session_mailbox(&user("ana"), &expired.id)
        .await
        .unwrap();
    assert_eq!(
        ids(&w.chat.sessions(&ana).await.unwrap()),
        vec![login.session.clone()]
    );
    // Cleared, but not reported as ended by this login: it had ended.
    let (_, next) = w.login("ana").await;
    assert!(next.ended.is_empty());
    assert!(!w.outbound.has_session_mailbox(&expired.id));
    let left = w.store.sessions_of(&user("ana")).await.unwrap();
    assert_eq!(ids(&left), vec![login.session, next.session]);
}

#[tokio::test]
async fn authenticating_writes_last_seen_at_most_once_a_minute() {
    let w = World::new();
    w.register("ana").await;
    let (ana, _) = w.login("ana").await;

    w.set_last_seen(&ana, Duration::from_secs(30)).await;
    let half_a_minute_ago = w.last_seen(&ana).await;
    let session = w.chat.authenticate(&ana).await.unwrap();
    assert_eq!(session.last_seen, half_a_minute_ago);
    assert_eq!(
        w.last_seen(&ana).await,
        half_a_minute_ago,
        "not written again"
    );

    w.set_last_seen(&ana, Duration::from_secs(61)).await;
    let before = SystemTime::now();
    let session = w.chat.authenticate(&ana).await.unwrap();
    let written = w.last_seen(&ana).await;
    assert!(written >= before, "written anew");
    assert_eq!(session.last_seen, written);
    // Right after, the fresh time stands.
    w.chat.friends(&ana).await.unwrap();
    assert_eq!(w.last_seen(&ana).await, written);
}

#[tokio::test]
async fn every_session_mailbox_gets_what_its_user_gets_from_its_login_on() {
    let w = World::new();
    w.register("ana").await;
    w.register("budi").await;
    let (ana, _) = w.login("ana").await;
    let (_, phone) = w.login("budi").await;
    w.chat.add_friend(&ana, &user("budi")).await.unwrap();
    let first = w
        .chat
        .send_direct(&ana, &user("budi"), w.chat.message_text("satu").unwrap())
        .await
        .unwrap();
    let (_, laptop) = w.login("budi").await;
    let second = w
        .chat
        .send_direct(&ana, &user("budi"), w.chat.message_text("dua").unwrap())
        .await
        .unwrap();
    assert_eq!(
        w.outbound.drain_session(&phone.session),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        w.outbound.drain_session(&laptop.session),
        vec![second.clone()]
    );
    assert_eq!(w.outbound.drain(&user("budi")), vec![first, second]);
}

#[tokio::test]
async fn a_login_names_its_device_and_the_listing_shows_it() {
    let w = World::new();
    w.register("ana").await;
    let device = DeviceName::parse(" Laptop kantor ").unwrap();
    let login = w
        .chat
        .login(&user("ana"), &Password::new("rahasia!"), Some(device))
        .await
        .unwrap();
    let ana = Auth::new(user("ana"), login.token);
    let listed = w.chat.sessions(&ana).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, login.session);
    assert_eq!(
        listed[0].device.as_ref().map(DeviceName::as_str),
        Some("Laptop kantor")
    );
}

#[tokio::test]
async fn the_cap_is_configurable() {
    let store = Arc::new(MemoryStore::new());
    let outbound = Arc::new(MemoryOutbound::new());
    let config = ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        max_sessions_per_user: 1,
        ..ServiceConfig::default()
    };
    let chat = ChatService::new(Ports::new(store, outbound.clone()), config).unwrap();
    let (ana, password) = (user("ana"), Password::new("rahasia!"));
    chat.register(&ana, &password).await.unwrap();
    let first = chat.login(&ana, &password, None).await.unwrap();
    let second = chat.login(&ana, &password, None).await.unwrap();
    assert_eq!(second.ended, vec![first.session.clone()]);
    assert_eq!(outbound.session_mailboxes_of(&ana), vec![second.session]);
    let err = chat
        .friends(&Auth::new(ana, first.token))
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::InvalidToken);
}

#[tokio::test]
async fn a_login_of_the_original_client_shares_the_mailbox_until_logout_all() {
    let w = World::new();
    w.register("ana").await;
    let password = Password::new("rahasia!");
    let sdk = w.chat.login(&user("ana"), &password, None).await.unwrap();
    assert!(!sdk.mailbox_shared);
    assert!(!w.outbound.is_mailbox_shared(&user("ana")));
    let original = w
        .chat
        .login_reading(&user("ana"), &password, None, Reader::Mailbox)
        .await
        .unwrap();
    assert!(original.mailbox_shared);
    assert!(w.outbound.is_mailbox_shared(&user("ana")));
    // Devices of ours logging in now are told to leave the mailbox alone.
    let later = w.chat.login(&user("ana"), &password, None).await.unwrap();
    assert!(later.mailbox_shared);
    // The share is restored with the routing, and ends with logout_all.
    let fresh = MemoryOutbound::new();
    fresh
        .restore_routing(&[], &w.store.mailbox_readers().await.unwrap())
        .await
        .unwrap();
    assert!(fresh.is_mailbox_shared(&user("ana")));
    let auth = Auth::new(user("ana"), later.token);
    w.chat.logout_all(&auth).await.unwrap();
    assert!(!w.outbound.is_mailbox_shared(&user("ana")));
    assert!(w.store.mailbox_readers().await.unwrap().is_empty());
}
