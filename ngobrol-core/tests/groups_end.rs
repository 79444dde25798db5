//! Groups end: the last member leaving deletes the group and its channel,
//! the groups a user created (and that still exist) are capped, and a
//! group whose routing cannot be made is not left half made. Run on the
//! in-memory ports, so the store and the outbound side can be looked at.

use std::sync::Arc;

use async_trait::async_trait;
use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatError, ChatService, Delivery, DeliveryBody, GroupId, GroupName, GroupRepository,
    NoticeEvent, Outbound, Password, PasswordHasher, PortError, Ports, RateLimit, ServiceConfig,
    SessionId, Username,
};

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn name(text: &str) -> GroupName {
    GroupName::parse(text).unwrap()
}

struct World {
    store: Arc<MemoryStore>,
    outbound: Arc<MemoryOutbound>,
    chat: ChatService,
}

fn config() -> ServiceConfig {
    ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        // Creating a hundred groups is more than a burst of requests.
        request_rate: RateLimit::UNLIMITED,
        ..ServiceConfig::default()
    }
}

impl World {
    fn new() -> Self {
        let outbound = Arc::new(MemoryOutbound::new());
        Self::with_outbound(outbound.clone(), outbound)
    }

    fn with_outbound(outbound: Arc<MemoryOutbound>, port: Arc<dyn Outbound>) -> Self {
        let store = Arc::new(MemoryStore::new());
        let chat = ChatService::new(Ports::new(store.clone(), port), config()).unwrap();
        Self {
            store,
            outbound,
            chat,
        }
    }

    async fn person(&self, name: &str) -> Auth {
        let username = user(name);
        let password = Password::new("rahasia!");
        self.chat.register(&username, &password).await.unwrap();
        let login = self.chat.login(&username, &password, None).await.unwrap();
        Auth::new(username, login.token)
    }
}

#[tokio::test]
async fn the_last_member_leaving_deletes_the_group_and_its_channel() {
    let w = World::new();
    let ana = w.person("ana").await;
    let g = w.chat.create_group(&ana, &name("Keluarga")).await.unwrap();
    assert!(w.outbound.has_channel(g.id));
    assert!(w.outbound.is_subscribed(g.id, &ana.user));

    w.chat.quit_group(&ana, g.id).await.unwrap();

    assert!(!w.outbound.has_channel(g.id), "the channel is deleted");
    assert_eq!(w.store.find_group(g.id).await.unwrap(), None);
    assert_eq!(w.chat.groups(&ana).await.unwrap(), vec![]);
    // Start-up restores nothing of it.
    assert_eq!(w.store.all_memberships().await.unwrap(), vec![]);
    assert_eq!(w.chat.restore_routing().await.unwrap(), 0);
    assert!(!w.outbound.has_channel(g.id));
    // Nobody was told: there was nobody left.
    assert_eq!(w.outbound.drain(&ana.user), vec![]);
    // The group is unknown from now on.
    for err in [
        w.chat.quit_group(&ana, g.id).await.unwrap_err(),
        w.chat.add_member(&ana, g.id, &ana.user).await.unwrap_err(),
    ] {
        assert_eq!(err.code(), "unknown_group", "{err}");
    }
}

#[tokio::test]
async fn a_member_leaving_while_others_stay_ends_nothing() {
    let w = World::new();
    let (ana, budi, cici) = (
        w.person("ana").await,
        w.person("budi").await,
        w.person("cici").await,
    );
    let g = w.chat.create_group(&ana, &name("Keluarga")).await.unwrap();
    w.chat.add_member(&ana, g.id, &budi.user).await.unwrap();
    w.chat.add_member(&ana, g.id, &cici.user).await.unwrap();
    for person in [&ana, &budi, &cici] {
        w.outbound.drain(&person.user);
    }

    // The admin leaves first: the group stays, with its admin rights.
    w.chat.quit_group(&ana, g.id).await.unwrap();
    assert!(w.outbound.has_channel(g.id));
    assert_eq!(w.store.find_group(g.id).await.unwrap(), Some(g.clone()));
    assert!(!w.outbound.is_subscribed(g.id, &ana.user));
    for stays in [&budi, &cici] {
        let notices = w.outbound.drain(&stays.user);
        assert!(
            matches!(&notices[..], [Delivery { body: DeliveryBody::Notice {
                event: NoticeEvent::Left { member }, .. }, .. }] if *member == ana.user),
            "{notices:?}"
        );
    }
    assert_eq!(
        w.outbound.drain(&ana.user),
        vec![],
        "the leaver is not told"
    );

    w.chat.quit_group(&budi, g.id).await.unwrap();
    assert!(w.outbound.has_channel(g.id));
    assert_eq!(w.outbound.drain(&cici.user).len(), 1);
    assert_eq!(
        w.store.all_memberships().await.unwrap(),
        vec![(g.id, vec![cici.user.clone()])]
    );

    // cici is the last: now it ends.
    w.chat.quit_group(&cici, g.id).await.unwrap();
    assert!(!w.outbound.has_channel(g.id));
    assert_eq!(w.store.find_group(g.id).await.unwrap(), None);
    assert_eq!(w.outbound.drain(&cici.user), vec![]);
}

#[tokio::test]
async fn the_creation_cap_refuses_the_101st_group_until_one_ends() {
    let w = World::new();
    let (ana, budi) = (w.person("ana").await, w.person("budi").await);
    assert_eq!(config().max_groups_created_per_user, 100);
    let mut groups = Vec::new();
    for i in 0..100 {
        let g = w
            .chat
            .create_group(&ana, &name(&format!("g{i}")))
            .await
            .unwrap();
        groups.push(g.id);
    }
    let err = w.chat.create_group(&ana, &name("g100")).await.unwrap_err();
    assert!(
        matches!(&err, ChatError::TooManyGroupsCreated { max: 100 }),
        "{err:?}"
    );
    assert_eq!(err.code(), "too_many_groups_created");
    assert_eq!(w.store.groups_of(&ana.user).await.unwrap().len(), 100);
    // Another user's allowance is their own.
    w.chat.create_group(&budi, &name("mine")).await.unwrap();

    // A group ana left while budi stays is still hers: still refused.
    w.chat
        .add_member(&ana, groups[0], &budi.user)
        .await
        .unwrap();
    w.chat.quit_group(&ana, groups[0]).await.unwrap();
    let err = w.chat.create_group(&ana, &name("g100")).await.unwrap_err();
    assert_eq!(err.code(), "too_many_groups_created");

    // A group that ended no longer counts.
    w.chat.quit_group(&ana, groups[1]).await.unwrap();
    w.chat.create_group(&ana, &name("g100")).await.unwrap();
    let err = w.chat.create_group(&ana, &name("g101")).await.unwrap_err();
    assert_eq!(err.code(), "too_many_groups_created");
}

/// The in-memory outbound side, with group channels that cannot be made.
struct NoChannels(Arc<MemoryOutbound>);

#[async_trait]
impl Outbound for NoChannels {
    async fn ensure_mailbox(&self, user: &Username) -> Result<(), PortError> {
        self.0.ensure_mailbox(user).await
    }

    async fn open_session_mailbox(
        &self,
        user: &Username,
        session: &SessionId,
    ) -> Result<(), PortError> {
        self.0.open_session_mailbox(user, session).await
    }

    async fn close_session_mailbox(&self, session: &SessionId) -> Result<(), PortError> {
        self.0.close_session_mailbox(session).await
    }

    async fn share_mailbox(&self, user: &Username, shared: bool) -> Result<(), PortError> {
        self.0.share_mailbox(user, shared).await
    }

    async fn create_group_channel(&self, _group: GroupId) -> Result<(), PortError> {
        Err(PortError::Unavailable("broker: channel closed".into()))
    }

    async fn delete_group_channel(&self, group: GroupId) -> Result<(), PortError> {
        self.0.delete_group_channel(group).await
    }

    async fn subscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.0.subscribe(group, user).await
    }

    async fn unsubscribe(&self, group: GroupId, user: &Username) -> Result<(), PortError> {
        self.0.unsubscribe(group, user).await
    }

    async fn deliver_to_user(&self, user: &Username, delivery: &Delivery) -> Result<(), PortError> {
        self.0.deliver_to_user(user, delivery).await
    }

    async fn deliver_to_group(&self, group: GroupId, delivery: &Delivery) -> Result<(), PortError> {
        self.0.deliver_to_group(group, delivery).await
    }
}

#[tokio::test]
async fn a_group_whose_channel_cannot_be_made_is_not_stored() {
    let memory = Arc::new(MemoryOutbound::new());
    let w = World::with_outbound(memory.clone(), Arc::new(NoChannels(memory)));
    let ana = w.person("ana").await;

    let err = w
        .chat
        .create_group(&ana, &name("Keluarga"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "internal");

    assert_eq!(w.chat.groups(&ana).await.unwrap(), vec![]);
    assert_eq!(w.store.all_memberships().await.unwrap(), vec![]);
    assert_eq!(
        w.store.count_groups_administered(&ana.user).await.unwrap(),
        0
    );
    assert_eq!(w.store.count_groups_of(&ana.user).await.unwrap(), 0);
    assert_eq!(w.store.find_group(GroupId::new(1)).await.unwrap(), None);
    assert!(!w.outbound.has_channel(GroupId::new(1)));
}
