//! What the server does when its ports let it down, over the real broker:
//! a store that fails, panics or stalls on command (the test kit's
//! `FaultyStore`), and a broker that refuses the server's own publishes (a
//! queue capped by policy) or drops its connection. Outcomes are read raw,
//! copy by copy, and every negative check is a sentinel: the next message
//! is the one sent after.

use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use ngobrol_amqp::ServerConfig;
use ngobrol_amqp::client::{Client, ClientOptions};
use ngobrol_testkit::{
    Fault, Gate, PrivateBroker, QueueCap, RawClient, TestServer, WAIT, assert_error, assert_ok,
    fresh_namespace,
};
use serde_json::{Value, json};

async fn friends(server: &TestServer) -> (RawClient, RawClient) {
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    (ana, budi)
}

/// The reasons of what is in the dead-letter queue now, taken from it.
async fn dead_letters(server: &TestServer, client: &RawClient, at_least: usize) -> Vec<String> {
    let dead = server.namespace.dead_letter_queue();
    let mut reasons = Vec::new();
    let started = std::time::Instant::now();
    while reasons.len() < at_least {
        assert!(started.elapsed() < WAIT, "dead letters so far: {reasons:?}");
        let got = client
            .channel
            .basic_get(dead.as_str().into(), BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        match got {
            Some(message) => {
                let headers = message.delivery.properties.headers().clone();
                let reason = headers
                    .as_ref()
                    .and_then(|h| h.inner().get("x-ngobrol-reason").cloned());
                match reason {
                    Some(AMQPValue::LongString(reason)) => reasons.push(reason.to_string()),
                    other => panic!("no reason header: {other:?}"),
                }
            }
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    reasons
}

/// A store failure is an `internal` refusal, settled (not retried in a
/// loop); a refusal of the moment is not remembered, so the same named
/// request, tried again once the store is back, takes effect, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_failure_is_refused_internal_and_not_remembered() {
    let (server, faults) = TestServer::start_faulty().await;
    server.expect_error_lines("injected fault: append_message failed");
    let (mut ana, mut budi) = friends(&server).await;
    faults.inject("append_message", Fault::Fail, 1);
    let send = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                      "message": "lagi", "token": ana.token(), "request_id": "r-1"});
    let refused = ana.call(send.clone()).await;
    assert_error(&refused, "send_client", "internal");
    assert!(
        !refused["description"]
            .as_str()
            .unwrap()
            .contains("injected"),
        "no detail of the failure reaches the client: {refused}"
    );
    assert_eq!(faults.pending("append_message"), 0);
    let retried = ana.call(send).await;
    assert_ok(&retried, "send_client");
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "lagi");
    assert_eq!(budi.recv().await["message"], "sentinel", "delivered once");
}

/// A panic while handling a request sends it to the dead-letter queue,
/// once, with its reason, unanswered; the server serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_panic_dead_letters_the_request_once() {
    let (server, faults) = TestServer::start_faulty().await;
    server.expect_error_lines("a request handler panicked");
    let (mut ana, mut budi) = friends(&server).await;
    faults.inject("are_friends", Fault::Panic, 1);
    ana.publish(&json!({"method": "send_client", "username_from": "ana",
        "username_to": "budi", "message": "boom", "token": ana.token()}))
        .await;
    let reasons = dead_letters(&server, &ana, 1).await;
    assert_eq!(reasons, ["the server failed while handling it"]);
    // Served on: the next request is answered, and nothing else came.
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "sentinel");
    let friends = ana
        .call(json!({"method": "get_friend", "username": "ana", "token": ana.token()}))
        .await;
    assert_ok(&friends, "get_friend");
    assert!(
        dead_letters_now(&server, &ana).await.is_empty(),
        "dead-lettered once, not redelivered"
    );
}

async fn dead_letters_now(server: &TestServer, client: &RawClient) -> Vec<Vec<u8>> {
    let dead = server.namespace.dead_letter_queue();
    let mut found = Vec::new();
    while let Some(message) = client
        .channel
        .basic_get(dead.as_str().into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        found.push(message.delivery.data);
    }
    found
}

/// Different users' requests run concurrently: while ana's request waits
/// on a stalled store, budi's is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_stalled_request_does_not_hold_up_anothers() {
    // Ana and budi must not share a lane (by the hash of their names): with
    // the most lanes, that happens once in 4,096 runs rather than 32.
    let config = ServerConfig {
        lanes: *ServerConfig::LANES.end(),
        ..ServerConfig::default()
    };
    let (server, faults) = TestServer::start_faulty_with(config).await;
    let (mut ana, mut budi) = friends(&server).await;
    let gate = Gate::new();
    faults.inject("are_friends", Fault::Hold(gate.clone()), 1);
    ana.publish(&json!({"method": "send_client", "username_from": "ana",
        "username_to": "budi", "message": "slow", "token": ana.token(), "request_id": "s-1"}))
        .await;
    // Once ana's request holds the stall, budi asks.
    let started = std::time::Instant::now();
    while faults.pending("are_friends") > 0 {
        assert!(
            started.elapsed() < WAIT,
            "ana's request never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reply = budi
        .call(json!({"method": "get_friend", "username": "budi", "token": budi.token()}))
        .await;
    assert_ok(&reply, "get_friend");
    assert_eq!(reply["usernames"], json!(["ana"]));
    // Ana's has not been answered yet: it is still held.
    assert_eq!(ana.recv_within(Duration::ZERO).await, None);
    gate.open();
    let answered = ana.recv().await;
    assert_ok(&answered, "send_client");
    assert_eq!(budi.recv().await["message"], "slow");
}

/// A reply the broker refuses (the asker's queue is full) is given up:
/// the request is settled, not retried in a loop, and its effect stays
/// once; asked again by its id, it is answered from the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reply_is_given_up_and_its_request_settled_once() {
    let server = TestServer::start().await;
    let (mut ana, mut budi) = friends(&server).await;
    let send = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                      "message": "once", "token": ana.token(), "request_id": "r-cap"});
    let cap = QueueCap::apply(&server.namespace.user_queue("ana"), 0).await;
    ana.publish(&send).await;
    assert_eq!(budi.recv().await["message"], "once");
    wait_for_lane(&mut ana).await;
    drop(cap);
    // The refused reply was not published again: the next message in
    // ana's queue is the reply to what she asks now, the recorded one.
    let again = ana.call(send).await;
    assert_ok(&again, "send_client");
    ana.assert_nothing_arrived().await;
    budi.assert_nothing_arrived().await;
}

/// Returns once the requests `client` sent so far are settled: one user's
/// requests are handled in order, each settled before the next, so they
/// are once a request answered on the client's private reply queue is.
async fn wait_for_lane(client: &mut RawClient) {
    let ask = json!({"method": "get_friend", "username": client.user(), "token": client.token()});
    let properties = BasicProperties::default().with_reply_to(client.reply_queue.as_str().into());
    client
        .publish_bytes(&serde_json::to_vec(&ask).unwrap(), properties)
        .await;
    assert_ok(&client.next_reply().await, "get_friend");
}

/// The dead-letter queue refusing a request (full) drops it with an error
/// line, once: it is neither answered nor handled again, and the server
/// serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_dead_letter_is_dropped_once_and_serving_goes_on() {
    let (server, faults) = TestServer::start_faulty().await;
    server.expect_error_lines("a request handler panicked");
    server.expect_error_lines("the dead-letter queue refused a request");
    let (mut ana, mut budi) = friends(&server).await;
    let _cap = QueueCap::apply(&server.namespace.dead_letter_queue(), 0).await;
    faults.inject("are_friends", Fault::Panic, 1);
    ana.publish(&json!({"method": "send_client", "username_from": "ana",
        "username_to": "budi", "message": "boom", "token": ana.token()}))
        .await;
    // Handled again, it would now be delivered: the fault was for one call.
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "sentinel");
    assert!(dead_letters_now(&server, &ana).await.is_empty());
    ana.assert_nothing_arrived().await;
}

/// The messages in `queue` now, taken from it, read raw.
async fn take_all(channel: &Channel, queue: &str) -> Vec<Value> {
    let mut found = Vec::new();
    while let Some(message) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        found.push(serde_json::from_slice(&message.delivery.data).unwrap());
    }
    found
}

/// A reply that cannot be published because the broker connection went
/// (closed by the broker while the request was in hand) leaves its request
/// unacknowledged: the broker delivers it again once the server is back,
/// and it is answered from the record, its effect not repeated. Budi's
/// mailbox, read raw, holds one copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_lost_with_the_connection_is_retried_and_answered_from_the_record() {
    let broker = PrivateBroker::start();
    let server_url = broker.add_user("server", "server-secret");
    let namespace = fresh_namespace();
    let config = ServerConfig {
        amqp_url: server_url,
        namespace: namespace.clone(),
        ..ServerConfig::default()
    };
    let (server, faults) = TestServer::start_faulty_with(config).await;
    server.expect_error_lines("cannot publish a reply");
    let options = ClientOptions {
        amqp_url: broker.url(),
        namespace: namespace.clone(),
        timeout: Duration::from_secs(20),
        retries: 0,
        isolated: false,
    };
    let client = Client::connect(options).await.unwrap();
    client.register("ana", "rahasia!").await.unwrap();
    client.register("budi", "rahasia!").await.unwrap();
    let (ana, _ana_events) = client.login("ana", "rahasia!").await.unwrap();
    ana.add_friend("budi").await.unwrap();

    let gate = Gate::new();
    faults.inject("record_reply", Fault::Hold(gate.clone()), 1);
    let sending = tokio::spawn(async move { ana.send_direct("budi", "once").await });
    let started = std::time::Instant::now();
    while faults.pending("record_reply") > 0 {
        assert!(started.elapsed() < WAIT, "the reply was never recorded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    broker.close_connections_of("server");
    // The reply is recorded now, and its publication fails with the
    // connection.
    gate.open();
    // One attempt (no retries): the ok is the recorded reply to the
    // redelivered request.
    sending
        .await
        .unwrap()
        .expect("answered once the server is back");

    let raw = Connection::connect(&broker.url(), ConnectionProperties::default())
        .await
        .unwrap();
    let channel = raw.create_channel().await.unwrap();
    let copies = take_all(&channel, &namespace.user_queue("budi")).await;
    let texts: Vec<&str> = copies
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    assert_eq!(texts, ["once"], "budi's mailbox: {copies:?}");
    drop(server);
}
