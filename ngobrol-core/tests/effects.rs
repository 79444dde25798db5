//! What registering, creating a group, adding a member and quitting leave
//! behind, looked at in the in-memory ports rather than by the order of
//! port calls (the in-memory outbound side refuses, as a broker does, to
//! subscribe anyone to a channel that does not exist, so the order that
//! matters is checked too).

use std::sync::Arc;

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatService, Conversation, Delivery, DeliveryBody, GroupName, GroupRepository,
    HistoryQuery, HistoryRepository, MessageText, NoticeEvent, Outbound, Password, PasswordHasher,
    Ports, RateLimit, ServiceConfig, UserRepository, Username,
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

    async fn person(&self, name: &str) -> Auth {
        let password = Password::new("rahasia!");
        self.chat.register(&user(name), &password).await.unwrap();
        let login = self.chat.login(&user(name), &password, None).await.unwrap();
        Auth::new(user(name), login.token)
    }

    /// The notices waiting in `name`'s mailbox, taken from it.
    fn notices(&self, name: &str) -> Vec<NoticeEvent> {
        self.outbound
            .drain(&user(name))
            .into_iter()
            .filter_map(|d| match d.body {
                DeliveryBody::Notice { event, .. } => Some(event),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn registering_stores_a_pbkdf2_hash_and_makes_a_mailbox() {
    let w = World::new();
    w.chat
        .register(&user("ana"), &Password::new("rahasia!"))
        .await
        .unwrap();
    let stored = w.store.find_user(&user("ana")).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$pbkdf2-sha256$"));
    assert!(!stored.password_hash.contains("rahasia!"));
    // The mailbox exists: a delivery to it is kept (one to a user without
    // a mailbox is dropped, as the broker would).
    let text = MessageText::parse("halo", 10).unwrap();
    let delivery = Delivery::new(DeliveryBody::Direct {
        from: user("budi"),
        text,
    });
    w.outbound
        .deliver_to_user(&user("ana"), &delivery)
        .await
        .unwrap();
    assert_eq!(w.outbound.drain(&user("ana")), [delivery]);
}

#[tokio::test]
async fn creating_a_group_stores_it_with_its_admin_subscribed_to_its_channel() {
    let w = World::new();
    let ana = w.person("ana").await;
    let g = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap();
    assert_eq!(w.store.find_group(g.id).await.unwrap(), Some(g.clone()));
    assert!(w.store.is_member(g.id, &ana.user).await.unwrap());
    assert!(w.outbound.has_channel(g.id));
    assert!(w.outbound.is_subscribed(g.id, &ana.user));
}

#[tokio::test]
async fn adding_a_member_subscribes_them_and_tells_the_whole_group() {
    let w = World::new();
    let ana = w.person("ana").await;
    w.person("budi").await;
    let g = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap();
    w.chat.add_member(&ana, g.id, &user("budi")).await.unwrap();
    assert!(w.store.is_member(g.id, &user("budi")).await.unwrap());
    assert!(w.outbound.is_subscribed(g.id, &user("budi")));
    let joined = NoticeEvent::Joined {
        member: user("budi"),
        by: user("ana"),
    };
    assert_eq!(
        w.notices("budi"),
        vec![joined.clone()],
        "the new member too"
    );
    assert_eq!(w.notices("ana"), vec![joined]);
}

#[tokio::test]
async fn quitting_unsubscribes_and_tells_only_those_who_stay() {
    let w = World::new();
    let ana = w.person("ana").await;
    let budi = w.person("budi").await;
    let g = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap();
    w.chat.add_member(&ana, g.id, &user("budi")).await.unwrap();
    w.notices("ana");
    w.notices("budi");
    w.chat.quit_group(&budi, g.id).await.unwrap();
    assert!(!w.store.is_member(g.id, &user("budi")).await.unwrap());
    assert!(!w.outbound.is_subscribed(g.id, &user("budi")));
    assert!(w.notices("budi").is_empty(), "the one who left is not told");
    assert_eq!(
        w.notices("ana"),
        [NoticeEvent::Left {
            member: user("budi")
        }]
    );
    // The group goes on, and its history holds both notices.
    assert!(w.outbound.has_channel(g.id));
    let query = HistoryQuery {
        conversation: Conversation::Group(g.id),
        visible_after: 0,
        after: Some(0),
        before: None,
        limit: 10,
    };
    assert_eq!(w.store.history(&query).await.unwrap().len(), 2);
}

#[tokio::test]
async fn removing_a_friend_ends_it_both_ways_until_befriended_again() {
    let w = World::new();
    let ana = w.person("ana").await;
    let budi = w.person("budi").await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let text = || w.chat.message_text("halo").unwrap();
    w.chat.send_direct(&budi, &ana.user, text()).await.unwrap();
    w.chat.remove_friend(&budi, &ana.user).await.unwrap();
    for (from, to) in [(&ana, &budi), (&budi, &ana)] {
        let refused = w.chat.send_direct(from, &to.user, text()).await;
        assert_eq!(refused.unwrap_err().code(), "not_friends");
    }
    let peer = ngobrol_core::Peer::User(budi.user.clone());
    let closed = w.chat.history(&ana, &peer, None, None, 10).await;
    assert_eq!(closed.unwrap_err().code(), "not_friends");
    let again = w.chat.remove_friend(&ana, &budi.user).await;
    assert_eq!(again.unwrap_err().code(), "not_friends");
    let nobody = w.chat.remove_friend(&ana, &user("nobody")).await;
    assert_eq!(nobody.unwrap_err().code(), "unknown_user");
    // Friends again: the conversation's history is theirs again.
    w.chat.add_friend(&budi, &ana.user).await.unwrap();
    let page = w.chat.history(&ana, &peer, None, None, 10).await.unwrap();
    assert_eq!(page.messages.len(), 1);
}

#[tokio::test]
async fn a_blocked_person_cannot_befriend_add_or_message_and_is_not_told() {
    let w = World::new();
    let ana = w.person("ana").await;
    let budi = w.person("budi").await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.chat.block(&ana, &budi.user).await.unwrap();
    assert_eq!(w.chat.blocked(&ana).await.unwrap(), vec![user("budi")]);
    // The friendship ended with the block.
    let text = w.chat.message_text("halo").unwrap();
    let refused = w.chat.send_direct(&budi, &ana.user, text).await;
    assert_eq!(refused.unwrap_err().code(), "not_friends");
    // To budi, ana looks like no user at all.
    let befriend = w.chat.add_friend(&budi, &ana.user).await.unwrap_err();
    assert_eq!(befriend.code(), "unknown_user");
    let group = w
        .chat
        .create_group(&budi, &GroupName::parse("g").unwrap())
        .await
        .unwrap();
    let added = w.chat.add_member(&budi, group.id, &ana.user).await;
    assert_eq!(added.unwrap_err().code(), "unknown_user");
    // Ana is told why she cannot befriend whom she blocks.
    let own = w.chat.add_friend(&ana, &budi.user).await.unwrap_err();
    assert_eq!(own.code(), "bad_request");
    let own_self = w.chat.block(&ana, &ana.user).await.unwrap_err();
    assert_eq!(own_self.code(), "bad_request");
    // Lifted: they may be friends again, but are not by themselves.
    w.chat.unblock(&ana, &budi.user).await.unwrap();
    assert!(w.chat.friends(&ana).await.unwrap().is_empty());
    w.chat.add_friend(&budi, &ana.user).await.unwrap();
    w.chat.add_member(&budi, group.id, &ana.user).await.unwrap();
}
