//! Receipts and unread counts, on the in-memory ports: markers move only
//! forward, the authors of what a marker covers are told, and the
//! conversation list counts what others wrote after the read marker.

use ngobrol_core::{Auth, Conversation, GroupName, Marker, Peer, Signal, Username};

mod common;
use common::World;

fn receipt(reader: &Auth, conversation: Conversation, marker: Marker, up_to: u64) -> Signal {
    Signal::Receipt {
        reader: reader.user.clone(),
        conversation,
        marker,
        up_to,
    }
}

#[tokio::test]
async fn a_read_marker_tells_the_author_and_the_readers_devices_once() {
    let w = World::new();
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    for text in ["satu", "dua", "tiga"] {
        w.say(&ana, &budi, text).await;
    }
    let chat = Conversation::direct(&ana.user, &budi.user);
    let with_ana = Peer::User(ana.user.clone());
    w.chat
        .mark(&budi, &with_ana, Marker::Delivered, 3)
        .await
        .unwrap();
    assert_eq!(
        w.outbound.drain_signals(&ana.user),
        [receipt(&budi, chat.clone(), Marker::Delivered, 3)]
    );
    assert!(w.outbound.drain_signals(&budi.user).is_empty());
    w.chat
        .mark(&budi, &with_ana, Marker::Read, 2)
        .await
        .unwrap();
    let read = receipt(&budi, chat.clone(), Marker::Read, 2);
    assert_eq!(
        w.outbound.drain_signals(&ana.user),
        std::slice::from_ref(&read)
    );
    assert_eq!(w.outbound.drain_signals(&budi.user), [read]);
    // Not again, nor backwards.
    w.chat
        .mark(&budi, &with_ana, Marker::Read, 2)
        .await
        .unwrap();
    w.chat
        .mark(&budi, &with_ana, Marker::Read, 1)
        .await
        .unwrap();
    assert!(w.outbound.drain_signals(&ana.user).is_empty());

    let listed = w.chat.conversations(&budi).await.unwrap();
    assert_eq!((listed[0].unread, listed[0].read_up_to), (1, 2));
    let listed = w.chat.conversations(&ana).await.unwrap();
    assert_eq!((listed[0].unread, listed[0].peer_read_up_to), (0, Some(2)));
}

#[tokio::test]
async fn marking_is_refused_as_reading_would_be() {
    let w = World::new();
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    w.say(&ana, &budi, "halo").await;
    let err = w
        .chat
        .mark(&cici, &Peer::User(ana.user.clone()), Marker::Read, 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_friends");
    let err = w
        .chat
        .mark(
            &cici,
            &Peer::User(Username::parse("nobody").unwrap()),
            Marker::Read,
            1,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_user");
    let name = GroupName::parse("Keluarga").unwrap();
    let group = w.chat.create_group(&ana, &name).await.unwrap().id;
    let err = w
        .chat
        .mark(&cici, &Peer::Group(group), Marker::Read, 1)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_member");
    // A group message's readers are counted for its author.
    w.chat.add_member(&ana, group, &budi.user).await.unwrap();
    let text = w.chat.message_text("halo semua").unwrap();
    let seq = w
        .chat
        .send_group(&ana, group, text)
        .await
        .unwrap()
        .placement
        .unwrap()
        .seq;
    w.outbound.drain_signals(&ana.user);
    w.chat
        .mark(&budi, &Peer::Group(group), Marker::Read, seq)
        .await
        .unwrap();
    assert_eq!(
        w.outbound.drain_signals(&ana.user),
        [receipt(
            &budi,
            Conversation::Group(group),
            Marker::Read,
            seq
        )]
    );
    assert!(w.outbound.drain_signals(&cici.user).is_empty());
}
