//! A group's admin: listing members, removing one, handing the group over,
//! renaming and closing it; each refused to anyone else, each told to the
//! group. On the in-memory ports.

use std::sync::Arc;

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatError, ChatService, DeliveryBody, GroupId, GroupName, GroupRepository, NoticeEvent,
    Password, PasswordHasher, Ports, RateLimit, ServiceConfig, Username,
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
    async fn with(names: &[&str]) -> (Self, Vec<Auth>, GroupId) {
        let store = Arc::new(MemoryStore::new());
        let outbound = Arc::new(MemoryOutbound::new());
        let config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            request_rate: RateLimit::UNLIMITED,
            ..ServiceConfig::default()
        };
        let chat = ChatService::new(Ports::new(store.clone(), outbound.clone()), config).unwrap();
        let w = Self {
            store,
            outbound,
            chat,
        };
        let mut people = Vec::new();
        for name in names {
            let password = Password::new("rahasia!");
            w.chat.register(&user(name), &password).await.unwrap();
            let login = w.chat.login(&user(name), &password, None).await.unwrap();
            people.push(Auth::new(user(name), login.token));
        }
        let group = w
            .chat
            .create_group(&people[0], &GroupName::parse("Keluarga").unwrap())
            .await
            .unwrap()
            .id;
        for p in &people[1..] {
            w.chat.add_member(&people[0], group, &p.user).await.unwrap();
        }
        for p in &people {
            w.outbound.drain(&p.user);
        }
        (w, people, group)
    }

    fn notices(&self, name: &str) -> Vec<(NoticeEvent, String)> {
        self.outbound
            .drain(&user(name))
            .into_iter()
            .filter_map(|d| match d.body {
                DeliveryBody::Notice { event, group } => Some((event, group.name.to_string())),
                _ => None,
            })
            .collect()
    }
}

#[tokio::test]
async fn members_are_listed_to_members_only() {
    let (w, p, group) = World::with(&["ana", "budi", "cici"]).await;
    let (record, members) = w.chat.group_members(&p[1], group).await.unwrap();
    assert_eq!(record.admin, user("ana"));
    assert_eq!(members, [user("ana"), user("budi"), user("cici")]);
    w.chat.quit_group(&p[2], group).await.unwrap();
    let outside = w.chat.group_members(&p[2], group).await;
    assert!(
        matches!(outside, Err(ChatError::NotMember { .. })),
        "{outside:?}"
    );
    let missing = w.chat.group_members(&p[0], GroupId::new(99)).await;
    assert_eq!(missing, Err(ChatError::UnknownGroup(GroupId::new(99))));
}

#[tokio::test]
async fn the_admin_removes_a_member_who_is_told_with_the_group() {
    let (w, p, group) = World::with(&["ana", "budi", "cici"]).await;
    let refused = w.chat.remove_member(&p[1], group, &user("cici")).await;
    assert_eq!(refused, Err(ChatError::NotGroupAdmin(group)));
    let own = w.chat.remove_member(&p[0], group, &user("ana")).await;
    assert_eq!(own.unwrap_err().code(), "bad_request");
    w.chat
        .remove_member(&p[0], group, &user("cici"))
        .await
        .unwrap();
    assert!(!w.store.is_member(group, &user("cici")).await.unwrap());
    assert!(!w.outbound.is_subscribed(group, &user("cici")));
    let removed = NoticeEvent::Removed {
        member: user("cici"),
        by: user("ana"),
    };
    for name in ["ana", "budi", "cici"] {
        let notices: Vec<_> = w.notices(name).into_iter().map(|(e, _)| e).collect();
        assert_eq!(notices, vec![removed.clone()], "{name} is told once");
    }
    let again = w.chat.remove_member(&p[0], group, &user("cici")).await;
    assert!(
        matches!(again, Err(ChatError::NotMember { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn removing_the_last_member_ends_the_group() {
    let (w, p, group) = World::with(&["ana", "budi"]).await;
    w.chat.quit_group(&p[0], group).await.unwrap();
    // The admin left but keeps the group's rights.
    w.chat
        .remove_member(&p[0], group, &user("budi"))
        .await
        .unwrap();
    assert_eq!(w.store.find_group(group).await.unwrap(), None);
    assert!(!w.outbound.has_channel(group));
}

#[tokio::test]
async fn the_admin_hands_the_group_to_a_member() {
    let (w, p, group) = World::with(&["ana", "budi", "cici"]).await;
    assert_eq!(
        w.chat.transfer_admin(&p[1], group, &user("budi")).await,
        Err(ChatError::NotGroupAdmin(group))
    );
    w.chat.quit_group(&p[2], group).await.unwrap();
    w.notices("ana");
    w.notices("budi");
    let outsider = w.chat.transfer_admin(&p[0], group, &user("cici")).await;
    assert!(
        matches!(outsider, Err(ChatError::NotMember { .. })),
        "{outsider:?}"
    );
    w.chat
        .transfer_admin(&p[0], group, &user("budi"))
        .await
        .unwrap();
    assert_eq!(
        w.store.find_group(group).await.unwrap().unwrap().admin,
        user("budi")
    );
    let changed = NoticeEvent::AdminChanged {
        member: user("budi"),
        by: user("ana"),
    };
    assert_eq!(w.notices("ana"), vec![(changed, "Keluarga".to_owned())]);
    // The old admin is a member like any other now.
    assert_eq!(
        w.chat.transfer_admin(&p[0], group, &user("ana")).await,
        Err(ChatError::NotGroupAdmin(group))
    );
}

#[tokio::test]
async fn the_admin_renames_and_closes_the_group() {
    let (w, p, group) = World::with(&["ana", "budi"]).await;
    let name = GroupName::parse("Keluarga Besar").unwrap();
    assert_eq!(
        w.chat.rename_group(&p[1], group, &name).await,
        Err(ChatError::NotGroupAdmin(group))
    );
    let renamed = w.chat.rename_group(&p[0], group, &name).await.unwrap();
    assert_eq!(renamed.name, name);
    assert_eq!(
        w.notices("budi"),
        vec![(
            NoticeEvent::Renamed { by: user("ana") },
            "Keluarga Besar".to_owned()
        )]
    );
    assert_eq!(
        w.chat.close_group(&p[1], group).await,
        Err(ChatError::NotGroupAdmin(group))
    );
    w.chat.close_group(&p[0], group).await.unwrap();
    assert_eq!(
        w.notices("budi"),
        vec![(
            NoticeEvent::Closed { by: user("ana") },
            "Keluarga Besar".to_owned()
        )]
    );
    assert_eq!(w.store.find_group(group).await.unwrap(), None);
    assert!(!w.outbound.has_channel(group));
    assert_eq!(w.chat.groups(&p[1]).await.unwrap(), vec![]);
}
