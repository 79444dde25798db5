//! Receipts and unread counts over the real broker, through the SDK: a
//! device that asks for them acknowledges what it receives, a reader marks
//! a conversation read, the authors' devices are told, and every device
//! of the reader's lists the same unread counts.

use futures_util::StreamExt;
use ngobrol_amqp::client::{
    Client, ClientOptions, Event, Events, LoginOptions, Peer, Receipt, Session,
};
use ngobrol_testkit::{TestServer, WAIT};

async fn client(server: &TestServer) -> Client {
    let options = ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    };
    Client::connect(options).await.unwrap()
}

async fn person(server: &TestServer, name: &str, receipts: bool) -> (Client, Session, Events) {
    let client = client(server).await;
    client.register(name, "rahasia!").await.unwrap();
    let login = LoginOptions::default().delivery_receipts(receipts);
    let (session, events) = client.login_with(name, "rahasia!", &login).await.unwrap();
    (client, session, events)
}

/// The next receipt, past any other event.
async fn receipt(events: &mut Events) -> Receipt {
    loop {
        match tokio::time::timeout(WAIT, events.next()).await {
            Ok(Some(Event::Receipt(r))) => return r,
            Ok(Some(_)) => {}
            other => panic!("no receipt: {other:?}"),
        }
    }
}

/// The seq of the next direct or group message.
async fn message_seq(events: &mut Events) -> u64 {
    loop {
        match tokio::time::timeout(WAIT, events.next()).await {
            Ok(Some(Event::Direct(m))) => return m.seq.unwrap(),
            Ok(Some(Event::Group(m))) => return m.seq.unwrap(),
            Ok(Some(_)) => {}
            other => panic!("no message: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_then_read_reach_the_sender_and_unread_counts_follow() {
    let server = TestServer::start().await;
    let (_a, ana, mut ana_events) = person(&server, "ana", false).await;
    let (budi_client, budi, mut budi_events) = person(&server, "budi", true).await;
    ana.add_friend("budi").await.unwrap();
    for text in ["satu", "dua", "tiga"] {
        ana.send_direct("budi", text).await.unwrap();
    }
    let mut last = 0;
    for _ in 0..3 {
        last = message_seq(&mut budi_events).await;
    }
    // Budi's device acknowledged what it got, at most up to the latest.
    let mut got = receipt(&mut ana_events).await;
    while got.up_to < last {
        got = receipt(&mut ana_events).await;
    }
    assert_eq!(
        got,
        Receipt {
            reader: "budi".into(),
            read: false,
            with: Some("ana".into()),
            group_id: None,
            up_to: last,
        }
    );
    let listed = budi.conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].with.as_deref(), listed[0].unread),
        (Some("ana"), 3)
    );
    assert_eq!(listed[0].last.message, "tiga");

    // Budi's other device hears of his reading, and lists what he lists.
    let (laptop, mut laptop_events) = budi_client.login("budi", "rahasia!").await.unwrap();
    budi.mark_read(&Peer::User("ana".into()), 2).await.unwrap();
    let read = receipt(&mut ana_events).await;
    assert_eq!((read.read, read.up_to), (true, 2));
    assert_eq!(receipt(&mut laptop_events).await, read);
    let listed = laptop.conversations().await.unwrap();
    assert_eq!((listed[0].unread, listed[0].read_up_to), (1, 2));
    let seen_by_ana = ana.conversations().await.unwrap();
    assert_eq!(seen_by_ana[0].peer_read_up_to, Some(2));
    assert_eq!(seen_by_ana[0].unread, 0, "her own messages are not unread");

    // Marking what is marked already tells nobody: the next receipt ana
    // gets is a new one.
    budi.mark_read(&Peer::User("ana".into()), 1).await.unwrap();
    budi.mark_read(&Peer::User("ana".into()), 3).await.unwrap();
    assert_eq!(receipt(&mut ana_events).await.up_to, 3);
    assert_eq!(budi.conversations().await.unwrap()[0].unread, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_group_the_authors_hear_of_each_reader() {
    let server = TestServer::start().await;
    let (_a, ana, mut ana_events) = person(&server, "ana", false).await;
    let (_b, budi, mut budi_events) = person(&server, "budi", false).await;
    let (_c, cici, mut cici_events) = person(&server, "cici", false).await;
    let group = ana.create_group("Keluarga").await.unwrap().unwrap();
    for member in ["budi", "cici"] {
        ana.add_member(group, member).await.unwrap();
    }
    ana.send_group(group, "halo semua").await.unwrap();
    let seq = message_seq(&mut budi_events).await;
    message_seq(&mut cici_events).await;
    assert_eq!(budi.conversations().await.unwrap()[0].unread, 1);

    budi.mark_read(&Peer::Group(group), seq).await.unwrap();
    let read = receipt(&mut ana_events).await;
    assert_eq!(
        (read.reader.as_str(), read.group_id, read.up_to, read.read),
        ("budi", Some(group), seq, true)
    );
    cici.mark_read(&Peer::Group(group), seq).await.unwrap();
    assert_eq!(receipt(&mut ana_events).await.reader, "cici");
    // Cici wrote nothing budi read: she heard only of her own reading.
    assert_eq!(receipt(&mut cici_events).await.reader, "cici");
    assert_eq!(budi.conversations().await.unwrap()[0].unread, 0);

    // Refused as reading would be.
    let err = cici
        .mark_read(&Peer::User("budi".into()), 1)
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.as_str()), Some("not_friends"));
    let (_d, dedi, _dedi_events) = person(&server, "dedi", false).await;
    let err = dedi.mark_read(&Peer::Group(group), 1).await.unwrap_err();
    assert_eq!(err.code().map(|c| c.as_str()), Some("not_member"));
}
