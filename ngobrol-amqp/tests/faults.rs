//! What the server does when its store lets it down, over the real broker
//! with a store that fails, panics or stalls on command (the test kit's
//! `FaultyStore`). Outcomes are read raw, copy by copy, and every negative
//! check is a sentinel: the next message is the one sent after.

use std::time::Duration;

use lapin::options::BasicGetOptions;
use lapin::types::AMQPValue;
use ngobrol_testkit::{Fault, RawClient, TestServer, WAIT, assert_error, assert_ok};
use serde_json::json;

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
    let (server, faults) = TestServer::start_faulty().await;
    let (mut ana, mut budi) = friends(&server).await;
    faults.inject("are_friends", Fault::Stall(Duration::from_secs(3)), 1);
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
    // Ana's has not been answered yet: it is still in the stall.
    assert_eq!(ana.recv_within(Duration::ZERO).await, None);
    let answered = ana.recv().await;
    assert_ok(&answered, "send_client");
    assert_eq!(budi.recv().await["message"], "slow");
}
