//! The contract of the history's changes after the fact: edits and
//! deletions, and readers' markers with the conversation list.

use std::sync::Arc;

use super::super::{Repositories, group_name, millis_ago, user};
use super::{direct, in_group, page, text, texts, users};
use crate::ports::{Conversation, Delivery, DeliveryBody, GroupRef, NoticeEvent};

/// A message is found by its id, edited in place (its place and id kept,
/// the time of the change noted) and deleted to a tombstone; a notice is
/// not amended, and an unknown id changes nothing.
pub async fn messages_are_found_edited_and_deleted_in_place<S: Repositories>(s: Arc<S>) {
    users(&*s, &["ana", "budi"]).await;
    let conversation = Conversation::direct(&user("ana"), &user("budi"));
    let first = direct("ana", "helo");
    let placement = s.append_message(&conversation, &first).await.unwrap();
    let found = s.find_message(&first.id).await.unwrap().unwrap();
    assert_eq!(found.placement(), placement);
    assert_eq!(found.amended, None);
    assert_eq!(texts(&[found]), ["helo"]);

    let at = millis_ago(1);
    assert!(
        s.amend_message(&first.id, Some(text("halo, typo")), at)
            .await
            .unwrap()
    );
    let edited = s.find_message(&first.id).await.unwrap().unwrap();
    assert_eq!(edited.placement(), placement);
    assert_eq!(edited.delivery.id, first.id);
    assert_eq!(
        edited.amended,
        Some(crate::ports::Amendment { at, deleted: false })
    );
    let page = s
        .history(&page(conversation.clone(), None, None))
        .await
        .unwrap();
    assert_eq!(texts(&page), ["halo, typo"]);

    let later = millis_ago(0);
    assert!(s.amend_message(&first.id, None, later).await.unwrap());
    let gone = s.find_message(&first.id).await.unwrap().unwrap();
    assert_eq!(texts(std::slice::from_ref(&gone)), [""]);
    assert_eq!(
        gone.amended,
        Some(crate::ports::Amendment {
            at: later,
            deleted: true
        })
    );
    let synced = s.sync(&user("budi"), 0, 10).await.unwrap();
    assert_eq!(synced, [gone]);

    let unknown = Delivery::new(DeliveryBody::Direct {
        from: user("ana"),
        text: text("never stored"),
    });
    assert!(!s.amend_message(&unknown.id, None, later).await.unwrap());
    assert_eq!(s.find_message(&unknown.id).await.unwrap(), None);

    let group = s
        .create_group(&group_name("Keluarga"), &user("ana"), millis_ago(3))
        .await
        .unwrap()
        .id;
    let notice = Delivery::new(DeliveryBody::Notice {
        group: GroupRef {
            id: group,
            name: group_name("Keluarga"),
        },
        event: NoticeEvent::Left {
            member: user("budi"),
        },
    });
    s.append_message(&Conversation::Group(group), &notice)
        .await
        .unwrap();
    assert!(!s.amend_message(&notice.id, None, later).await.unwrap());
}

/// A reader's markers only move forward, never past the conversation's
/// latest message, a read marker taking the delivered one along; the
/// conversation list counts what others wrote after the read marker, and
/// shows how far the other person read.
pub async fn markers_move_forward_and_count_what_is_unread<S: Repositories>(s: Arc<S>) {
    use crate::ports::Marker;
    users(&*s, &["ana", "budi"]).await;
    let (ana, budi) = (user("ana"), user("budi"));
    let chat = Conversation::direct(&ana, &budi);
    // Nothing to mark before the first message.
    assert_eq!(
        s.advance_marker(&budi, &chat, Marker::Read, 5)
            .await
            .unwrap(),
        None
    );
    for t in ["satu", "dua", "tiga"] {
        s.append_message(&chat, &direct("ana", t)).await.unwrap();
    }
    s.append_message(&chat, &direct("budi", "balas"))
        .await
        .unwrap();
    assert_eq!(
        s.advance_marker(&budi, &chat, Marker::Delivered, 2)
            .await
            .unwrap(),
        Some((0, 2))
    );
    assert_eq!(
        s.advance_marker(&budi, &chat, Marker::Delivered, 1)
            .await
            .unwrap(),
        None,
        "never backwards"
    );
    assert_eq!(
        s.advance_marker(&budi, &chat, Marker::Read, 99)
            .await
            .unwrap(),
        Some((0, 4)),
        "at most the latest"
    );
    assert_eq!(
        s.advance_marker(&budi, &chat, Marker::Delivered, 4)
            .await
            .unwrap(),
        None,
        "read took delivered along"
    );
    assert_eq!(
        s.authors_between(&chat, 0, 4).await.unwrap(),
        [ana.clone(), budi.clone()]
    );
    let authors = s.authors_between(&chat, 3, 4).await.unwrap();
    assert_eq!(authors.len(), 1);
    assert_eq!(authors[0], budi);

    let listed = s.conversations_of(&ana).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].conversation, chat);
    assert_eq!(listed[0].unread, 1, "budi's one reply");
    assert_eq!(listed[0].read_up_to, 0);
    assert_eq!(listed[0].peer_read_up_to, Some(4));
    let last = listed[0].last.iter().cloned().collect::<Vec<_>>();
    assert_eq!(texts(&last), ["balas"]);
    let listed = s.conversations_of(&budi).await.unwrap();
    assert_eq!((listed[0].unread, listed[0].read_up_to), (0, 4));

    // A group: listed for its members from when they joined, newest first.
    let group = s
        .create_group(&group_name("Keluarga"), &ana, millis_ago(2))
        .await
        .unwrap()
        .id;
    let group_chat = Conversation::Group(group);
    s.append_message(&group_chat, &in_group(group, "ana", "halo"))
        .await
        .unwrap();
    let listed = s.conversations_of(&ana).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| c.conversation.clone())
            .collect::<Vec<_>>(),
        [group_chat.clone(), chat.clone()]
    );
    assert_eq!((listed[0].unread, listed[0].peer_read_up_to), (0, None));
    assert!(
        s.conversations_of(&budi)
            .await
            .unwrap()
            .iter()
            .all(|c| c.conversation != group_chat),
        "not a member"
    );
}
