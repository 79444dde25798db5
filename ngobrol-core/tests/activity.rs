//! Activity, on the in-memory ports: typing reaches the others in the
//! conversation, presence changes reach friends, a report lapses after
//! its time, and a person may keep both to themselves.

use ngobrol_core::{Auth, Clock, PRESENCE_TTL, Peer, PresenceState, ServiceConfig, Signal};

mod common;
use common::World;

fn presence(user: &Auth, state: PresenceState) -> Signal {
    Signal::Presence {
        user: user.user.clone(),
        state,
    }
}

#[tokio::test]
async fn typing_reaches_the_other_and_is_rate_limited() {
    let w = World::with(ServiceConfig {
        clock: Clock::manual(),
        ..ServiceConfig::default()
    });
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
    let w = World::with(ServiceConfig {
        clock: clock.clone(),
        ..ServiceConfig::default()
    });
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
    let w = World::with(ServiceConfig {
        clock: Clock::manual(),
        ..ServiceConfig::default()
    });
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
