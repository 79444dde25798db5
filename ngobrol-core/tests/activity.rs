//! Activity, on the in-memory ports: typing reaches the others in the
//! conversation, presence changes reach friends, a report lapses after
//! its time, and a person may keep both to themselves.

use std::sync::Arc;

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatService, Clock, PRESENCE_TTL, Password, PasswordHasher, Peer, Ports, PresenceState,
    RateLimit, ServiceConfig, Signal, Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

struct World {
    outbound: Arc<MemoryOutbound>,
    chat: ChatService,
}

impl World {
    fn new(clock: Clock) -> Self {
        let store = Arc::new(MemoryStore::new());
        let outbound = Arc::new(MemoryOutbound::new());
        let config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            request_rate: RateLimit::UNLIMITED,
            clock,
            ..ServiceConfig::default()
        };
        let chat = ChatService::new(Ports::new(store, outbound.clone()), config).unwrap();
        Self { outbound, chat }
    }

    async fn people<const N: usize>(&self, names: [&str; N]) -> [Auth; N] {
        let mut out = Vec::new();
        for name in names {
            let password = Password::new("rahasia!");
            self.chat.register(&user(name), &password).await.unwrap();
            let login = self.chat.login(&user(name), &password, None).await.unwrap();
            out.push(Auth::new(user(name), login.token));
        }
        out.try_into().unwrap_or_else(|_| unreachable!())
    }
}

fn presence(user: &Auth, state: PresenceState) -> Signal {
    Signal::Presence {
        user: user.user.clone(),
        state,
    }
}

#[tokio::test]
async fn typing_reaches_the_other_and_is_rate_limited() {
    let w = World::new(Clock::manual());
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let with_budi = Peer::User(budi.user.clone());
    w.chat.typing(&ana, &with_budi).await.unwrap();
    match &w.outbound.drain_signals(&budi.user)[..] {
        [Signal::Typing { user, .. }] => assert_eq!(user, &ana.user),
        other => panic!("{other:?}"),
    }
    assert!(w.outbound.drain_signals(&ana.user).is_empty());
    for _ in 0..4 {
        w.chat.typing(&ana, &with_budi).await.unwrap();
    }
    let err = w.chat.typing(&ana, &with_budi).await.unwrap_err();
    assert_eq!(err.code(), "rate_limited");
    let [cici] = w.people(["cici"]).await;
    let err = w
        .chat
        .typing(&cici, &Peer::User(ana.user.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_friends");
}

#[tokio::test]
async fn presence_changes_reach_friends_and_lapse() {
    let clock = Clock::manual();
    let w = World::new(clock.clone());
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.chat
        .report_presence(&ana, PresenceState::Online)
        .await
        .unwrap();
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [presence(&ana, PresenceState::Online)]
    );
    assert!(
        w.outbound.drain_signals(&cici.user).is_empty(),
        "not a friend"
    );
    // The same again is no change.
    w.chat
        .report_presence(&ana, PresenceState::Online)
        .await
        .unwrap();
    assert!(w.outbound.drain_signals(&budi.user).is_empty());
    let users = [ana.user.clone(), cici.user.clone()];
    assert_eq!(
        w.chat.presence(&budi, &users).await.unwrap(),
        [(ana.user.clone(), PresenceState::Online)],
        "only friends are told"
    );
    w.chat
        .report_presence(&ana, PresenceState::Away)
        .await
        .unwrap();
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [presence(&ana, PresenceState::Away)]
    );
    // A report counts for its time only.
    clock.advance(PRESENCE_TTL);
    assert_eq!(
        w.chat.presence(&budi, &users).await.unwrap(),
        [(ana.user.clone(), PresenceState::Offline)]
    );
}

#[tokio::test]
async fn a_person_may_keep_their_activity_to_themselves() {
    let w = World::new(Clock::manual());
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.chat
        .report_presence(&ana, PresenceState::Online)
        .await
        .unwrap();
    w.outbound.drain_signals(&budi.user);
    w.chat.share_activity(&ana, false).await.unwrap();
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [presence(&ana, PresenceState::Offline)]
    );
    let users = [ana.user.clone()];
    assert_eq!(
        w.chat.presence(&budi, &users).await.unwrap(),
        [(ana.user.clone(), PresenceState::Offline)]
    );
    w.chat
        .typing(&ana, &Peer::User(budi.user.clone()))
        .await
        .unwrap();
    w.chat
        .report_presence(&ana, PresenceState::Away)
        .await
        .unwrap();
    assert!(w.outbound.drain_signals(&budi.user).is_empty());
    w.chat.share_activity(&ana, true).await.unwrap();
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [presence(&ana, PresenceState::Away)]
    );
}
