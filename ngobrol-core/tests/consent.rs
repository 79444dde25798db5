//! Consent, on the in-memory ports: under `FriendshipPolicy::Consent`,
//! befriending asks and adding a stranger to a group invites; answers,
//! refusals, blocks; and under the default nothing changes.

use ngobrol_core::{Added, Auth, Befriended, FriendshipPolicy, GroupName, ServiceConfig, Signal};

mod common;
use common::World;

async fn friends_of(w: &World, who: &Auth) -> Vec<String> {
    let friends = w.chat.friends(who).await.unwrap();
    friends.iter().map(|f| f.to_string()).collect()
}

#[tokio::test]
async fn under_consent_befriending_asks_and_adding_back_accepts() {
    let w = World::with(ServiceConfig {
        friendship: FriendshipPolicy::Consent,
        ..ServiceConfig::default()
    });
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    assert_eq!(
        w.chat.add_friend(&ana, &budi.user).await.unwrap(),
        Befriended::Asked
    );
    assert!(friends_of(&w, &ana).await.is_empty());
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [Signal::FriendRequest {
            from: ana.user.clone()
        }]
    );
    // Asking again changes nothing and tells nobody.
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    assert!(w.outbound.drain_signals(&budi.user).is_empty());
    let pending = w.chat.pending(&budi).await.unwrap();
    assert_eq!(pending.incoming.len(), 1);
    assert_eq!(pending.incoming[0].from, ana.user);
    assert_eq!(w.chat.pending(&ana).await.unwrap().outgoing.len(), 1);
    // Not friends yet: no messages.
    let text = w.chat.message_text("halo").unwrap();
    let err = w
        .chat
        .send_direct(&ana, &budi.user, text)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_friends");

    // Budi adds ana back, as the original client can: they are friends.
    assert_eq!(
        w.chat.add_friend(&budi, &ana.user).await.unwrap(),
        Befriended::Friends
    );
    assert_eq!(friends_of(&w, &ana).await, ["budi"]);
    assert_eq!(
        w.outbound.drain_signals(&ana.user),
        [Signal::FriendAccepted {
            by: budi.user.clone()
        }]
    );
    assert!(w.chat.pending(&budi).await.unwrap().incoming.is_empty());
    let err = w.chat.add_friend(&ana, &budi.user).await.unwrap_err();
    assert_eq!(err.code(), "already_friends");

    // Cici's request is accepted with accept_friend, then one declined.
    w.chat.add_friend(&cici, &ana.user).await.unwrap();
    w.chat.accept_friend(&ana, &cici.user).await.unwrap();
    assert_eq!(friends_of(&w, &ana).await, ["budi", "cici"]);
    let err = w.chat.accept_friend(&ana, &cici.user).await.unwrap_err();
    assert_eq!(err.code(), "no_request");
    w.chat.remove_friend(&ana, &cici.user).await.unwrap();
    w.chat.add_friend(&cici, &ana.user).await.unwrap();
    w.chat.decline_friend(&ana, &cici.user).await.unwrap();
    assert_eq!(friends_of(&w, &ana).await, ["budi"]);
    let err = w.chat.decline_friend(&ana, &cici.user).await.unwrap_err();
    assert_eq!(err.code(), "no_request");
}

#[tokio::test]
async fn a_block_forgets_the_requests_between_the_two() {
    let w = World::with(ServiceConfig {
        friendship: FriendshipPolicy::Consent,
        ..ServiceConfig::default()
    });
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.chat.block(&budi, &ana.user).await.unwrap();
    assert!(w.chat.pending(&budi).await.unwrap().incoming.is_empty());
    let err = w.chat.accept_friend(&budi, &ana.user).await.unwrap_err();
    assert_eq!(err.code(), "no_request");
    // And the blocked one is told nothing new: budi does not exist to her.
    let err = w.chat.add_friend(&ana, &budi.user).await.unwrap_err();
    assert_eq!(err.code(), "unknown_user");
}

#[tokio::test]
async fn under_consent_a_stranger_is_invited_and_joins_on_accepting() {
    let w = World::with(ServiceConfig {
        friendship: FriendshipPolicy::Consent,
        ..ServiceConfig::default()
    });
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    let name = GroupName::parse("Keluarga").unwrap();
    let group = w.chat.create_group(&ana, &name).await.unwrap().id;
    assert_eq!(
        w.chat.add_member(&ana, group, &budi.user).await.unwrap(),
        Added::Invited
    );
    assert!(!w.outbound.is_subscribed(group, &budi.user));
    match &w.outbound.drain_signals(&budi.user)[..] {
        [Signal::Invitation { group: g, by }] => {
            assert_eq!((g.id, by), (group, &ana.user));
        }
        other => panic!("{other:?}"),
    }
    let pending = w.chat.pending(&budi).await.unwrap();
    assert_eq!(pending.invitations.len(), 1);
    assert_eq!(pending.invitations[0].1.name, name);
    w.chat.accept_invitation(&budi, group).await.unwrap();
    assert!(w.outbound.is_subscribed(group, &budi.user));
    let err = w.chat.accept_invitation(&budi, group).await.unwrap_err();
    assert_eq!(err.code(), "no_invitation");

    // A friend of the admin is added at once.
    w.chat.add_friend(&ana, &cici.user).await.unwrap();
    w.chat.add_friend(&cici, &ana.user).await.unwrap();
    assert_eq!(
        w.chat.add_member(&ana, group, &cici.user).await.unwrap(),
        Added::Member
    );
    // An invitation declined leaves the group as it was.
    let [dedi] = w.people(["dedi"]).await;
    w.chat.add_member(&ana, group, &dedi.user).await.unwrap();
    w.chat.decline_invitation(&dedi, group).await.unwrap();
    let err = w.chat.accept_invitation(&dedi, group).await.unwrap_err();
    assert_eq!(err.code(), "no_invitation");
    assert!(!w.outbound.is_subscribed(group, &dedi.user));
}

#[tokio::test]
async fn by_default_both_take_effect_at_once() {
    let w = World::new();
    let [ana, budi] = w.people(["ana", "budi"]).await;
    assert_eq!(
        w.chat.add_friend(&ana, &budi.user).await.unwrap(),
        Befriended::Friends
    );
    let [cici] = w.people(["cici"]).await;
    let name = GroupName::parse("Keluarga").unwrap();
    let group = w.chat.create_group(&ana, &name).await.unwrap().id;
    assert_eq!(
        w.chat.add_member(&ana, group, &cici.user).await.unwrap(),
        Added::Member
    );
    assert!(w.outbound.drain_signals(&cici.user).is_empty());
}
