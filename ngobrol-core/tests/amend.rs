//! Edits and deletions, on the in-memory ports: only the author changes a
//! message, the history shows the change, and both sides of the
//! conversation are told.

use ngobrol_core::{DeliveryBody, GroupName, MessageId, Peer, Signal, StoredMessage};

mod common;
use common::World;

fn text_of(message: &StoredMessage) -> &str {
    match &message.delivery.body {
        DeliveryBody::Direct { text, .. } | DeliveryBody::Group { text, .. } => text.as_str(),
        DeliveryBody::Notice { .. } => "notice",
    }
}

#[tokio::test]
async fn the_author_edits_and_both_sides_see_it() {
    let w = World::new();
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let id = w.say(&ana, &budi, "helo").await;
    let fixed = w.chat.message_text("halo").unwrap();
    let edited = w.chat.edit_message(&ana, &id, fixed).await.unwrap();
    assert_eq!(text_of(&edited), "halo");
    let amended = edited.amended.unwrap();
    assert!(!amended.deleted);

    let seen = w.history(&budi, Peer::User(ana.user.clone())).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(text_of(&seen[0]), "halo");
    assert_eq!(seen[0].delivery.id, id);
    for who in [&ana, &budi] {
        assert_eq!(
            w.outbound.drain_signals(&who.user),
            [Signal::Edited(edited.clone())]
        );
    }
}

#[tokio::test]
async fn a_deleted_message_leaves_a_tombstone_and_cannot_be_edited() {
    let w = World::new();
    let [ana, budi] = w.people(["ana", "budi"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let id = w.say(&ana, &budi, "oops").await;
    let later = w.say(&ana, &budi, "stays").await;
    let gone = w.chat.delete_message(&ana, &id).await.unwrap();
    assert_eq!(text_of(&gone), "");
    assert!(gone.amended.unwrap().deleted);
    assert_eq!(
        w.outbound.drain_signals(&budi.user),
        [Signal::Deleted(gone.clone())]
    );
    // Deleting again changes nothing and tells nobody.
    assert_eq!(w.chat.delete_message(&ana, &id).await.unwrap(), gone);
    assert!(w.outbound.drain_signals(&budi.user).is_empty());
    let text = w.chat.message_text("back").unwrap();
    let err = w.chat.edit_message(&ana, &id, text).await.unwrap_err();
    assert_eq!(err.code(), "unknown_message");

    let seen = w.history(&budi, Peer::User(ana.user.clone())).await;
    let ids: Vec<MessageId> = seen.iter().map(|m| m.delivery.id).collect();
    assert_eq!(ids, [id, later], "the tombstone keeps its place");
    assert_eq!(text_of(&seen[0]), "");
}

#[tokio::test]
async fn only_the_author_may_change_a_message() {
    let w = World::new();
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    w.chat.add_friend(&ana, &budi.user).await.unwrap();
    let id = w.say(&ana, &budi, "mine").await;
    let text = || w.chat.message_text("yours now").unwrap();
    let err = w.chat.edit_message(&budi, &id, text()).await.unwrap_err();
    assert_eq!(err.code(), "not_author");
    let err = w.chat.delete_message(&budi, &id).await.unwrap_err();
    assert_eq!(err.code(), "not_author");
    // Someone outside the conversation is not told it exists.
    let err = w.chat.edit_message(&cici, &id, text()).await.unwrap_err();
    assert_eq!(err.code(), "unknown_message");
    let err = w
        .chat
        .delete_message(&ana, &MessageId::generate())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "unknown_message");
    let seen = w.history(&ana, Peer::User(budi.user.clone())).await;
    assert_eq!(text_of(&seen[0]), "mine");
    assert!(seen[0].amended.is_none());
}

#[tokio::test]
async fn in_a_group_the_members_hear_of_it_and_notices_stay_as_they_are() {
    let w = World::new();
    let [ana, budi, cici] = w.people(["ana", "budi", "cici"]).await;
    let name = GroupName::parse("Keluarga").unwrap();
    let group = w.chat.create_group(&ana, &name).await.unwrap().id;
    w.chat.add_member(&ana, group, &budi.user).await.unwrap();
    let text = w.chat.message_text("halo semua").unwrap();
    let id = w.chat.send_group(&budi, group, text).await.unwrap().id;
    let gone = w.chat.delete_message(&budi, &id).await.unwrap();
    for who in [&ana, &budi] {
        assert_eq!(
            w.outbound.drain_signals(&who.user),
            [Signal::Deleted(gone.clone())]
        );
    }
    assert!(w.outbound.drain_signals(&cici.user).is_empty());

    // The notice of budi's joining is the server's, not anyone's to edit.
    let notice = w.history(&ana, Peer::Group(group)).await[0].delivery.id;
    let text = w.chat.message_text("forged").unwrap();
    let err = w.chat.edit_message(&ana, &notice, text).await.unwrap_err();
    assert_eq!(err.code(), "not_author");
    // A member who left cannot change what they said there.
    let text = w.chat.message_text("again").unwrap();
    let id = w.chat.send_group(&budi, group, text).await.unwrap().id;
    w.chat.quit_group(&budi, group).await.unwrap();
    let err = w.chat.delete_message(&budi, &id).await.unwrap_err();
    assert_eq!(err.code(), "unknown_message");
}
