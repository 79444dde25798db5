//! History and sync as the service gives them: every message and notice is
//! stored before it is delivered, with the ids and times of the delivery;
//! who may read which conversation; pages and cursors; retention. Run on
//! the in-memory ports, so what was delivered can be compared with what
//! was stored.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatError, ChatService, Conversation, DeliveryBody, GroupId, GroupName, Password,
    PasswordHasher, Peer, Ports, RateLimit, Retention, ServiceConfig, StoredMessage, Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

struct World {
    outbound: Arc<MemoryOutbound>,
    chat: ChatService,
}

impl World {
    fn new(retention: Retention) -> Self {
        let store = Arc::new(MemoryStore::new());
        let outbound = Arc::new(MemoryOutbound::new());
        let config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            request_rate: RateLimit::UNLIMITED,
            history_retention: retention,
            ..ServiceConfig::default()
        };
        let chat = ChatService::new(Ports::new(store, outbound.clone()), config).unwrap();
        Self { outbound, chat }
    }

    /// Registers and logs in each of `names`.
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

    async fn say(&self, from: &Auth, to: &Auth, text: &str) {
        let text = self.chat.message_text(text).unwrap();
        self.chat.send_direct(from, &to.user, text).await.unwrap();
    }

    async fn say_in(&self, from: &Auth, group: GroupId, text: &str) {
        let text = self.chat.message_text(text).unwrap();
        self.chat.send_group(from, group, text).await.unwrap();
    }
}

fn texts(messages: &[StoredMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match &m.delivery.body {
            DeliveryBody::Direct { from, text } | DeliveryBody::Group { from, text, .. } => {
                format!("{from}: {}", text.as_str())
            }
            DeliveryBody::Notice { event, .. } => format!("notice: {event:?}"),
        })
        .collect()
}

#[tokio::test]
async fn what_is_delivered_is_what_is_stored() {
    let w = World::new(Retention::default());
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.say(&ana, &budi, "halo").await;
    w.say(&budi, &ana, "hai").await;
    let delivered = w.outbound.drain(&budi.user);
    assert_eq!(delivered.len(), 1);
    let page = w
        .chat
        .history(&budi, &Peer::User(ana.user.clone()), None, None, 10)
        .await
        .unwrap();
    assert_eq!(texts(&page.messages), ["ana: halo", "budi: hai"]);
    assert_eq!(page.next, None);
    // The delivery carries its place in the history, and the stored copy
    // is the delivery.
    assert_eq!(page.messages[0].delivery, delivered[0]);
    assert_eq!(delivered[0].placement.map(|p| p.seq), Some(1));
    assert_eq!(
        page.messages[0].conversation,
        Conversation::direct(&ana.user, &budi.user)
    );
}

#[tokio::test]
async fn only_friends_and_members_read_a_conversation() {
    let w = World::new(Retention::default());
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let refused = w
        .chat
        .history(&cici, &Peer::User(ana.user.clone()), None, None, 10)
        .await;
    assert_eq!(refused, Err(ChatError::NotFriends("ana".into())));
    let nobody = w
        .chat
        .history(&cici, &Peer::User(user("nobody")), None, None, 10)
        .await;
    assert_eq!(nobody, Err(ChatError::UnknownUser("nobody".into())));
    let group = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap()
        .id;
    let outside = w
        .chat
        .history(&cici, &Peer::Group(group), None, None, 10)
        .await;
    assert!(
        matches!(outside, Err(ChatError::NotMember { .. })),
        "{outside:?}"
    );
    let missing = w
        .chat
        .history(&cici, &Peer::Group(GroupId::new(999)), None, None, 10)
        .await;
    assert_eq!(missing, Err(ChatError::UnknownGroup(GroupId::new(999))));
}

#[tokio::test]
async fn a_member_sees_a_group_from_when_they_joined() {
    let w = World::new(Retention::default());
    let [ana, budi] = w.people(["ana", "budi"]).await;
    let group = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap()
        .id;
    w.say_in(&ana, group, "before budi").await;
    w.chat.add_member(&ana, group, &budi.user).await.unwrap();
    w.say_in(&ana, group, "welcome").await;
    let budi_sees = w
        .chat
        .history(&budi, &Peer::Group(group), None, None, 10)
        .await
        .unwrap();
    assert_eq!(
        texts(&budi_sees.messages),
        [
            "notice: Joined { member: \"budi\", by: \"ana\" }",
            "ana: welcome"
        ]
    );
    let ana_sees = w
        .chat
        .history(&ana, &Peer::Group(group), None, None, 10)
        .await
        .unwrap();
    assert_eq!(ana_sees.messages.len(), 3);
    assert_eq!(texts(&ana_sees.messages)[0], "ana: before budi");
}

#[tokio::test]
async fn pages_have_cursors_both_ways_and_at_most_a_hundred() {
    let w = World::new(Retention::default());
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    for i in 1..=150 {
        w.say(&ana, &budi, &format!("m{i}")).await;
    }
    let peer = Peer::User(budi.user.clone());
    // Backwards from the newest.
    let newest = w.chat.history(&ana, &peer, None, None, 1000).await.unwrap();
    assert_eq!(newest.messages.len(), 100, "a page holds at most 100");
    assert_eq!(newest.messages[0].placement().seq, 51);
    assert_eq!(newest.next, Some(51));
    let older = w
        .chat
        .history(&ana, &peer, None, newest.next, 100)
        .await
        .unwrap();
    assert_eq!(older.messages.len(), 50);
    assert_eq!(older.next, None);
    // Forwards from the start.
    let mut seen = Vec::new();
    let mut after = Some(0);
    while let Some(cursor) = after {
        let page = w
            .chat
            .history(&ana, &peer, Some(cursor), None, 40)
            .await
            .unwrap();
        seen.extend(page.messages.iter().map(|m| m.placement().seq));
        after = page.next;
    }
    assert_eq!(seen, (1..=150).collect::<Vec<u64>>());
}

#[tokio::test]
async fn sync_catches_a_device_up_across_conversations() {
    let w = World::new(Retention::default());
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.chat.add_friend(&cici, &budi.user).await.unwrap();
    // Budi's new device logs in: its starting point.
    let password = Password::new("rahasia!");
    let login = w.chat.login(&budi.user, &password, None).await.unwrap();
    let device = Auth::new(budi.user.clone(), login.token);
    let group = w
        .chat
        .create_group(&ana, &GroupName::parse("Keluarga").unwrap())
        .await
        .unwrap()
        .id;
    w.chat.add_member(&ana, group, &budi.user).await.unwrap();
    for i in 0..60 {
        w.say(&ana, &budi, &format!("a{i}")).await;
        w.say(&cici, &budi, &format!("c{i}")).await;
        w.say_in(&ana, group, &format!("g{i}")).await;
    }
    w.say(&budi, &ana, "from my other device").await;
    let mut got = Vec::new();
    let mut cursor = login.position;
    loop {
        let page = w.chat.sync(&device, cursor, 100).await.unwrap();
        assert!(page.messages.len() <= 100);
        got.extend(page.messages);
        cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    // The joined notice, 180 messages, and budi's own.
    assert_eq!(got.len(), 182);
    assert!(
        got.windows(2)
            .all(|w| w[0].placement().position < w[1].placement().position)
    );
    assert_eq!(texts(&got)[181], "budi: from my other device");
    let again = w.chat.sync(&device, cursor, 100).await.unwrap();
    assert!(again.messages.is_empty());
    assert_eq!(again.cursor, cursor);
}

#[tokio::test]
async fn retention_is_applied_when_pruning() {
    let kept = Retention {
        max_age: None,
        max_per_conversation: Some(5),
    };
    let w = World::new(kept);
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    for i in 1..=8 {
        w.say(&ana, &budi, &format!("m{i}")).await;
    }
    assert_eq!(w.chat.prune_history(SystemTime::now()).await.unwrap(), 3);
    let page = w
        .chat
        .history(&ana, &Peer::User(budi.user.clone()), Some(0), None, 100)
        .await
        .unwrap();
    assert_eq!(texts(&page.messages)[0], "ana: m4");

    let everything = World::new(Retention::default());
    assert_eq!(
        everything
            .chat
            .prune_history(SystemTime::now() + Duration::from_secs(1 << 30))
            .await
            .unwrap(),
        0
    );
}
