//! Edits and deletions over the real broker, through the SDK: the
//! conversation's online devices are told at once, the history shows the
//! change, the original client's mailbox is never sent a signal it would
//! not understand, and each refusal has its code.

use ngobrol_amqp::client::{ChangedMessage, Event, Page, Peer};
use ngobrol_testkit::{TestServer, code, next_event};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_and_a_deletion_reach_both_sides_and_the_history() {
    let server = TestServer::start().await;
    let (_a, ana, mut ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    ana.add_friend("budi").await.unwrap();
    let id = ana.send_direct("budi", "helo").await.unwrap().unwrap();
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "helo"));

    ana.edit_message(&id, "halo").await.unwrap();
    for events in [&mut budi_events, &mut ana_events] {
        match next_event(events).await {
            Event::Edited(ChangedMessage::Direct(m)) => {
                assert_eq!(m.message_id.as_deref(), Some(id.as_str()));
                assert_eq!(m.text, "halo");
                assert_eq!(m.from, "ana");
                assert!(m.edited_at.is_some());
            }
            other => panic!("not an edit: {other:?}"),
        }
    }
    let history = budi
        .history(&Peer::User("ana".into()), Page::Latest(10))
        .await
        .unwrap();
    match &history.messages[..] {
        [Event::Direct(m)] => {
            assert_eq!((m.text.as_str(), m.deleted), ("halo", false));
            assert!(m.edited_at.is_some());
        }
        other => panic!("{other:?}"),
    }

    ana.delete_message(&id).await.unwrap();
    match next_event(&mut budi_events).await {
        Event::Deleted(changed) => {
            assert_eq!(changed.message_id(), Some(id.as_str()));
            assert_eq!(changed.text(), "");
        }
        other => panic!("not a deletion: {other:?}"),
    }
    let history = budi
        .history(&Peer::User("ana".into()), Page::Latest(10))
        .await
        .unwrap();
    match &history.messages[..] {
        [Event::Direct(m)] => assert_eq!((m.text.as_str(), m.deleted), ("", true)),
        other => panic!("{other:?}"),
    }
    // Nothing else came: the next event is a sentinel.
    ana.send_direct("budi", "sentinel").await.unwrap();
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "sentinel"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_clients_mailbox_gets_no_signal() {
    let server = TestServer::start().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let (_b, _budi, mut budi_events) = server.person("budi").await;
    // Budi also uses the original client, which reads his mailbox.
    let mut original = server.client().await;
    assert_eq!(original.login("budi", "rahasia!").await["status"], "ok");
    ana.add_friend("budi").await.unwrap();
    let id = ana.send_direct("budi", "helo").await.unwrap().unwrap();
    ana.edit_message(&id, "halo").await.unwrap();
    ana.delete_message(&id).await.unwrap();
    ana.send_direct("budi", "sentinel").await.unwrap();
    let mut seen = Vec::new();
    while seen
        .last()
        .is_none_or(|m: &serde_json::Value| m["message"] != "sentinel")
    {
        seen.push(original.recv().await);
    }
    let methods: Vec<&str> = seen.iter().map(|m| m["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["send_client", "send_client"], "{seen:?}");
    // His device of ours got all four.
    let mut kinds = Vec::new();
    for _ in 0..4 {
        kinds.push(match next_event(&mut budi_events).await {
            Event::Direct(m) => format!("direct {}", m.text),
            Event::Edited(m) => format!("edited {}", m.text()),
            Event::Deleted(_) => "deleted".to_owned(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(
        kinds,
        ["direct helo", "edited halo", "deleted", "direct sentinel"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_refused_with_codes() {
    let server = TestServer::start().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    let (_c, cici, _cici_events) = server.person("cici").await;
    ana.add_friend("budi").await.unwrap();
    let id = ana.send_direct("budi", "mine").await.unwrap().unwrap();
    let err = budi.edit_message(&id, "yours").await.unwrap_err();
    assert_eq!(code(err), "not_author");
    let err = budi.delete_message(&id).await.unwrap_err();
    assert_eq!(code(err), "not_author");
    let err = cici.edit_message(&id, "hers").await.unwrap_err();
    assert_eq!(code(err), "unknown_message");
    let err = ana.edit_message("not-an-id", "x").await.unwrap_err();
    assert_eq!(code(err), "bad_request");
    let err = ana
        .delete_message("019ac4c1-0000-7000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(code(err), "unknown_message");
    // The message is as it was sent, and nobody was told anything.
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "mine"));
    ana.send_direct("budi", "sentinel").await.unwrap();
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "sentinel"));
}
