//! Delivery guarantees that need no broker restart: named requests take
//! effect once, poison input goes to the dead-letter queue.

use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::options::{BasicConsumeOptions, BasicGetOptions};
use lapin::types::{AMQPValue, FieldTable};
use ngobrol_testkit::{QueueCap, TestServer, WAIT, assert_ok};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_request_id_takes_effect_once_and_gets_the_first_reply() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    let send = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                      "message": "sekali saja", "token": ana.token(), "request_id": "m-1"});
    let first = ana.call(send.clone()).await;
    assert_ok(&first, "send_client");
    let again = ana.call(send).await;
    assert_eq!(
        again, first,
        "the retry gets the first reply, message id included"
    );
    let got = budi.recv().await;
    assert_eq!(got["message"], "sekali saja");
    assert_eq!(got["message_id"], first["message_id"]);
    budi.assert_nothing_arrived().await;

    // The same id from another user is another request.
    let from_budi = json!({"method": "send_client", "username_from": "budi", "username_to": "ana",
                           "message": "juga", "token": budi.token(), "request_id": "m-1"});
    assert_ok(&budi.call(from_budi).await, "send_client");
    assert_eq!(ana.recv().await["message"], "juga");

    // create_group named twice makes one group.
    let create = json!({"method": "create_group", "username": "ana", "group_name": "g",
                        "token": ana.token(), "request_id": 77});
    let first = ana.call(create.clone()).await;
    assert_eq!(ana.call(create).await["group_id"], first["group_id"]);
    let groups = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_eq!(groups["groups"].as_array().unwrap().len(), 1);
}

/// The record of a named request outlives the server: after a restart
/// (the store opened again) and on a second server sharing the store and
/// the request queue, the same request is answered from the record and
/// takes no effect again; the recipient's raw mailbox holds one copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_request_is_remembered_across_a_restart_and_a_second_server() {
    let mut server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let send = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                      "message": "sekali", "token": ana.token(), "request_id": "r-restart"});
    let first = ana.call(send.clone()).await;
    assert_ok(&first, "send_client");
    server.restart().await;
    assert_eq!(ana.call(send.clone()).await, first, "after the restart");
    // Two servers on one store consume the queue by turns: several tries
    // reach both.
    let second = server.second().await;
    for _ in 0..4 {
        assert_eq!(ana.call(send.clone()).await, first, "on either server");
    }
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "sekali");
    assert_eq!(budi.recv().await["message"], "sentinel", "one copy only");
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_amqp_message_id_names_a_request_too() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let body = serde_json::to_vec(&json!({"method": "send_client", "username_from": "ana",
        "username_to": "budi", "message": "m", "token": ana.token()}))
    .unwrap();
    for _ in 0..3 {
        ana.publish_bytes(
            &body,
            BasicProperties::default().with_message_id("amqp-1".into()),
        )
        .await;
    }
    assert_eq!(budi.recv().await["message"], "m");
    // The copies are consumed by now: ana's next request comes after them
    // in one user's order.
    let sentinel = json!({"method": "get_friend", "username": "ana", "token": ana.token()});
    assert_ok(&ana.call(sentinel).await, "get_friend");
    budi.assert_nothing_arrived().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_request_id_replays_nothing_without_the_token() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    // A recorded request: a message, named.
    let send = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                      "message": "rahasia", "token": ana.token(), "request_id": "secret-ish"});
    let first = ana.call(send).await;
    assert_ok(&first, "send_client");
    assert_eq!(budi.recv().await["message"], "rahasia");

    // Someone who learnt the id but not the token, asking on a queue of
    // their own: refused there, and neither the recorded reply nor a new
    // message is given.
    let mut mallory = server.client().await;
    let forged = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                        "message": "rahasia", "token": "wrong", "request_id": "secret-ish"});
    let properties = BasicProperties::default().with_reply_to(mallory.reply_queue.as_str().into());
    mallory
        .publish_bytes(&serde_json::to_vec(&forged).unwrap(), properties)
        .await;
    let reply = mallory.next_reply().await;
    assert_eq!(reply["code"], "invalid_token", "{reply}");
    assert!(reply.get("message_id").is_none(), "{reply}");
    // Nothing reached budi, and nothing went to ana's queue: a named
    // request that fails its token check is not answered there. The
    // sentinel is the next thing each of them sees.
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_input_goes_to_the_dead_letter_queue_once() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    ana.publish_bytes(b"{not json", BasicProperties::default())
        .await;
    ana.publish_bytes(br#"{"method":"explode"}"#, BasicProperties::default())
        .await;
    // Still serving, and the poison is not coming back.
    let reply = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_ok(&reply, "get_group");

    let dead = server.namespace.dead_letter_queue();
    let mut found = Vec::new();
    let started = std::time::Instant::now();
    while found.len() < 2 {
        assert!(started.elapsed() < WAIT, "dead letters: {found:?}");
        match ana
            .channel
            .basic_get(dead.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap()
        {
            Some(message) => {
                let reason = match message
                    .delivery
                    .properties
                    .headers()
                    .as_ref()
                    .and_then(|h| h.inner().get("x-ngobrol-reason").cloned())
                {
                    Some(AMQPValue::LongString(reason)) => reason.to_string(),
                    other => panic!("no reason header: {other:?}"),
                };
                found.push((
                    String::from_utf8_lossy(&message.delivery.data).into_owned(),
                    reason,
                ));
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    // Requests with no user run in no particular order.
    found.sort();
    assert_eq!(found[0].0, r#"{"method":"explode"}"#);
    assert!(found[0].1.starts_with("unknown_method"), "{found:?}");
    assert_eq!(found[1].0, "{not json");
    assert!(found[1].1.starts_with("bad_request"), "{found:?}");

    // Each was dead-lettered once, not redelivered in a loop: the next
    // dead letter is a marker sent now.
    ana.publish_bytes(br#"{"method":"marker"}"#, BasicProperties::default())
        .await;
    let mut consumer = ana
        .channel
        .basic_consume(
            dead.as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let next = tokio::time::timeout(WAIT, consumer.next())
        .await
        .expect("the marker is dead-lettered")
        .unwrap()
        .unwrap();
    assert_eq!(next.data, br#"{"method":"marker"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_mailbox_refuses_with_mailbox_full() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let mut budi = server.client().await;
    assert_ok(&budi.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    // The cap is a broker policy, as docs/reliability.md describes.
    let cap = QueueCap::apply(&server.namespace.user_queue("budi"), 3).await;
    for i in 0..3 {
        assert_ok(
            &ana.send_client("budi", &format!("m{i}")).await,
            "send_client",
        );
    }
    let refused = ana.send_client("budi", "one too many").await;
    assert_eq!(refused["code"], "mailbox_full", "{refused}");
    drop(cap);

    // What was accepted waits for budi.
    assert_ok(&budi.login("budi", "rahasia!").await, "login");
    for i in 0..3 {
        assert_eq!(budi.recv().await["message"], format!("m{i}"));
    }
}

/// A group message that a member's full mailbox refuses is refused to
/// the sender with `mailbox_full`; the other members have their copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_mailbox_refuses_group_messages_too() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let mut cici = server.client().await;
    cici.sign_up("cici").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    for member in ["budi", "cici"] {
        assert_ok(&ana.add_member(group, member).await, "add_member_to_group");
    }
    // Budi is offline; his mailbox holds the joined notices already (his
    // own and cici's), and one more message fills it.
    let _cap = QueueCap::apply(&server.namespace.user_queue("budi"), 3).await;
    assert_ok(&ana.send_group(group, "fits").await, "send_group");
    let refused = ana.send_group(group, "one too many").await;
    assert_eq!(refused["code"], "mailbox_full", "{refused}");
    // Cici got both: the refusal was budi's copy only.
    let mut got = Vec::new();
    while got.len() < 2 {
        let message = cici.recv().await;
        if message["notice"] != true {
            got.push(message["message"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(got, ["fits", "one too many"]);
}
