//! The contract of the history repository.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Repositories, group_name, millis_ago, new_user, user};
use crate::ports::{
    Conversation, Delivery, DeliveryBody, GroupRef, HistoryQuery, NoticeEvent, Retention,
    StoredMessage,
};
use crate::types::{GroupId, MessageText};

mod changes;

pub use changes::{
    markers_move_forward_and_count_what_is_unread, messages_are_found_edited_and_deleted_in_place,
};

fn text(t: &str) -> MessageText {
    MessageText::parse(t, 4096).unwrap()
}

fn direct(from: &str, t: &str) -> Delivery {
    Delivery::new(DeliveryBody::Direct {
        from: user(from),
        text: text(t),
    })
}

fn in_group(group: GroupId, from: &str, t: &str) -> Delivery {
    Delivery::new(DeliveryBody::Group {
        from: user(from),
        group: GroupRef {
            id: group,
            name: group_name("Keluarga"),
        },
        text: text(t),
    })
}

fn texts(messages: &[StoredMessage]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match &m.delivery.body {
            DeliveryBody::Direct { text, .. } | DeliveryBody::Group { text, .. } => {
                text.as_str().to_owned()
            }
            DeliveryBody::Notice { .. } => "notice".to_owned(),
        })
        .collect()
}

fn seqs(messages: &[StoredMessage]) -> Vec<u64> {
    messages.iter().map(|m| m.placement().seq).collect()
}

async fn users<S: Repositories>(s: &S, names: &[&str]) {
    for name in names {
        s.insert_user(&new_user(name)).await.unwrap();
    }
}

fn page(conversation: Conversation, after: Option<u64>, before: Option<u64>) -> HistoryQuery {
    HistoryQuery {
        conversation,
        visible_after: 0,
        after,
        before,
        limit: 3,
    }
}

/// Each conversation numbers its messages 1, 2, 3…; positions grow across
/// all of them; storing a delivery again (same id) stores nothing and
/// gives its first placement; what is stored reads back as it was sent.
pub async fn appended_messages_are_numbered_per_conversation<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana", "budi", "cici"]).await;
    let ana_budi = Conversation::direct(&user("budi"), &user("ana"));
    assert_eq!(ana_budi, Conversation::direct(&user("ana"), &user("budi")));
    let budi_cici = Conversation::direct(&user("budi"), &user("cici"));
    assert_eq!(s.latest_position().await.unwrap(), 0);
    let first = direct("ana", "satu");
    let mut placed = Vec::new();
    for (conversation, delivery) in [
        (&ana_budi, first.clone()),
        (&budi_cici, direct("cici", "dua")),
        (&ana_budi, direct("budi", "tiga")),
        (&ana_budi, direct("ana", "empat")),
    ] {
        placed.push(s.append_message(conversation, &delivery).await.unwrap());
    }
    assert_eq!(
        placed.iter().map(|p| p.seq).collect::<Vec<_>>(),
        [1, 1, 2, 3]
    );
    assert!(placed.windows(2).all(|w| w[0].position < w[1].position));
    assert_eq!(s.latest_position().await.unwrap(), placed[3].position);
    // The same delivery again: a retried request.
    assert_eq!(
        s.append_message(&ana_budi, &first).await.unwrap(),
        placed[0]
    );
    assert_eq!(s.latest_position().await.unwrap(), placed[3].position);

    let all = s
        .history(&page(ana_budi.clone(), Some(0), None))
        .await
        .unwrap();
    assert_eq!(texts(&all), ["satu", "tiga", "empat"]);
    let mut expected = first;
    expected.placement = Some(placed[0]);
    assert_eq!(all[0].delivery, expected);
    assert_eq!(all[0].conversation, ana_budi);
}

/// Pages: the newest without `after`, the oldest after `after`, bounded
/// by `before`, never what the reader may not see; always oldest first.
pub async fn history_pages_come_oldest_first<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana", "budi"]).await;
    let chat = Conversation::direct(&user("ana"), &user("budi"));
    for i in 1..=10 {
        s.append_message(&chat, &direct("ana", &format!("m{i}")))
            .await
            .unwrap();
    }
    let newest = s.history(&page(chat.clone(), None, None)).await.unwrap();
    assert_eq!(seqs(&newest), [8, 9, 10]);
    let earlier = s.history(&page(chat.clone(), None, Some(8))).await.unwrap();
    assert_eq!(seqs(&earlier), [5, 6, 7]);
    let start = s.history(&page(chat.clone(), Some(2), None)).await.unwrap();
    assert_eq!(seqs(&start), [3, 4, 5]);
    let between = s
        .history(&page(chat.clone(), Some(3), Some(6)))
        .await
        .unwrap();
    assert_eq!(seqs(&between), [4, 5]);
    let floor = HistoryQuery {
        visible_after: 8,
        ..page(chat.clone(), Some(0), None)
    };
    assert_eq!(seqs(&s.history(&floor).await.unwrap()), [9, 10]);
    let other = Conversation::direct(&user("ana"), &user("ana"));
    assert!(
        s.history(&page(other, None, None))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Sync gives a user their direct conversations (both ways) and, of each
/// group they are a member of, what it said after they joined; by
/// position, from a cursor, at most the limit.
pub async fn sync_gives_what_the_user_may_read<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana", "budi", "cici"]).await;
    let group = s
        .create_group(&group_name("Keluarga"), &user("ana"), millis_ago(0))
        .await
        .unwrap()
        .id;
    let in_g = Conversation::Group(group);
    s.append_message(&in_g, &in_group(group, "ana", "before cici"))
        .await
        .unwrap();
    s.add_member(group, &user("cici")).await.unwrap();
    assert_eq!(s.joined_after(group, &user("cici")).await.unwrap(), Some(1));
    assert_eq!(s.joined_after(group, &user("ana")).await.unwrap(), Some(0));
    assert_eq!(s.joined_after(group, &user("budi")).await.unwrap(), None);
    let joined = Delivery::new(DeliveryBody::Notice {
        group: GroupRef {
            id: group,
            name: group_name("Keluarga"),
        },
        event: NoticeEvent::Joined {
            member: user("cici"),
            by: user("ana"),
        },
    });
    s.append_message(&in_g, &joined).await.unwrap();
    let ana_budi = Conversation::direct(&user("ana"), &user("budi"));
    let budi_cici = Conversation::direct(&user("budi"), &user("cici"));
    s.append_message(&ana_budi, &direct("ana", "to budi"))
        .await
        .unwrap();
    s.append_message(&budi_cici, &direct("cici", "from cici"))
        .await
        .unwrap();
    s.append_message(&in_g, &in_group(group, "cici", "hi all"))
        .await
        .unwrap();
    let read = |name: &'static str, after: u64, limit: usize| {
        let s = s.clone();
        async move { s.sync(&user(name), after, limit).await.unwrap() }
    };
    assert_eq!(
        texts(&read("cici", 0, 100).await),
        ["notice", "from cici", "hi all"]
    );
    // Once she leaves, the group's history is closed to her.
    s.remove_member(group, &user("cici")).await.unwrap();
    s.append_message(&in_g, &in_group(group, "ana", "cici gone"))
        .await
        .unwrap();
    assert_eq!(texts(&read("cici", 0, 100).await), ["from cici"]);
    let ana = read("ana", 0, 100).await;
    assert_eq!(
        texts(&ana),
        ["before cici", "notice", "to budi", "hi all", "cici gone"]
    );
    assert!(
        ana.windows(2)
            .all(|w| w[0].placement().position < w[1].placement().position)
    );
    let budi = read("budi", 0, 100).await;
    assert_eq!(texts(&budi), ["to budi", "from cici"]);
    // Paged: from the cursor of the last message read.
    let first = read("ana", 0, 2).await;
    assert_eq!(texts(&first), ["before cici", "notice"]);
    let rest = read("ana", first[1].placement().position, 10).await;
    assert_eq!(texts(&rest), ["to budi", "hi all", "cici gone"]);
    let latest = s.latest_position().await.unwrap();
    assert!(read("ana", latest, 10).await.is_empty());
    // Cici joins again: she sees what comes from now on.
    s.add_member(group, &user("cici")).await.unwrap();
    assert_eq!(s.joined_after(group, &user("cici")).await.unwrap(), Some(4));
    s.append_message(&in_g, &in_group(group, "ana", "welcome back"))
        .await
        .unwrap();
    assert_eq!(
        texts(&read("cici", 0, 100).await),
        ["from cici", "welcome back"]
    );
}

/// A group that ends takes its history with it.
pub async fn an_ended_groups_history_goes_with_it<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana"]).await;
    let group = s
        .create_group(&group_name("Keluarga"), &user("ana"), millis_ago(0))
        .await
        .unwrap()
        .id;
    let in_g = Conversation::Group(group);
    s.append_message(&in_g, &in_group(group, "ana", "x"))
        .await
        .unwrap();
    assert!(s.delete_group(group).await.unwrap());
    assert!(
        s.history(&page(in_g, Some(0), None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(s.sync(&user("ana"), 0, 10).await.unwrap().is_empty());
}

/// Retention removes what is older than its age, and all but the newest
/// of each conversation; the default removes nothing. Numbering goes on
/// where it was.
pub async fn retention_removes_the_oldest<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana", "budi", "cici"]).await;
    let ana_budi = Conversation::direct(&user("ana"), &user("budi"));
    let ana_cici = Conversation::direct(&user("ana"), &user("cici"));
    let old = |t: &str| Delivery {
        sent_at: millis_ago(3_600_000),
        ..direct("ana", t)
    };
    for t in ["old1", "old2"] {
        s.append_message(&ana_budi, &old(t)).await.unwrap();
    }
    for i in 1..=4 {
        s.append_message(&ana_budi, &direct("ana", &format!("b{i}")))
            .await
            .unwrap();
        s.append_message(&ana_cici, &direct("ana", &format!("c{i}")))
            .await
            .unwrap();
    }
    let now = SystemTime::now();
    assert_eq!(s.prune_history(Retention::default(), now).await.unwrap(), 0);
    let by_age = Retention {
        max_age: Some(Duration::from_secs(60)),
        ..Retention::default()
    };
    assert_eq!(s.prune_history(by_age, now).await.unwrap(), 2);
    let by_count = Retention {
        max_per_conversation: Some(3),
        ..Retention::default()
    };
    assert_eq!(s.prune_history(by_count, now).await.unwrap(), 2);
    let all = |c: &Conversation| HistoryQuery {
        limit: 100,
        ..page(c.clone(), Some(0), None)
    };
    let kept = s.history(&all(&ana_budi)).await.unwrap();
    assert_eq!(texts(&kept), ["b2", "b3", "b4"]);
    assert_eq!(seqs(&kept), [4, 5, 6]);
    let next = s
        .append_message(&ana_budi, &direct("budi", "b5"))
        .await
        .unwrap();
    assert_eq!(next.seq, 7);
    assert_eq!(
        texts(&s.history(&all(&ana_cici)).await.unwrap()),
        ["c2", "c3", "c4"]
    );
}

/// A message's text comes back byte for byte, whatever it holds: NUL and
/// other control characters, quotes, SQL, any script.
pub async fn hostile_message_text_round_trips<S: Repositories>(s: Arc<S>) {
    users(s.as_ref(), &["ana", "budi"]).await;
    let hostile =
        "nul\0 bell\x07 esc\x1b[2J '); DROP TABLE messages; -- \"q\" \\ 🙂 ü 日本 \u{202e}rtl";
    let chat = Conversation::direct(&user("ana"), &user("budi"));
    let sent = direct("ana", hostile);
    s.append_message(&chat, &sent).await.unwrap();
    let read = s.history(&page(chat, Some(0), None)).await.unwrap();
    assert_eq!(texts(&read), [hostile]);
    assert_eq!(read[0].delivery.id, sent.id);
}
