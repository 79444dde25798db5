//! Bad input gets an error reply with a code, and the server keeps
//! serving. Also the AMQP RPC conventions (`reply_to`, `correlation_id`,
//! direct reply-to) that clients other than the original may use.

use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::options::BasicConsumeOptions;
use lapin::types::FieldTable;
use serde_json::{Value, json};

use ngobrol_testkit::{TestServer, WAIT, assert_error, assert_ok};

/// Each case: a body, the reply method and the error code it must get.
fn cases(token: &str) -> Vec<(Vec<u8>, &'static str, &'static str)> {
    let body = |v: Value| serde_json::to_vec(&v).unwrap();
    vec![
        (b"not json at all".to_vec(), "error", "bad_request"),
        (
            b"{\"method\": \"register\", ".to_vec(),
            "error",
            "bad_request",
        ),
        (b"[1, 2, 3]".to_vec(), "error", "bad_request"),
        (b"\"register\"".to_vec(), "error", "bad_request"),
        (body(json!({"username": "ana"})), "error", "bad_request"),
        (body(json!({"method": 5})), "error", "bad_request"),
        (body(json!({"method": null})), "error", "bad_request"),
        (
            body(json!({"method": "fly"})),
            "fly_reply",
            "unknown_method",
        ),
        (
            body(json!({"method": "x".repeat(500)})),
            "error",
            "unknown_method",
        ),
        (
            body(json!({"method": "register", "username": "x"})),
            "register_reply",
            "bad_request",
        ),
        (
            body(json!({"method": "register", "username": 7, "password": "p"})),
            "register_reply",
            "bad_request",
        ),
        (
            body(
                json!({"method": "quit_from_group", "username": "ana", "group_id": "1", "token": token}),
            ),
            "quit_from_group_reply",
            "bad_request",
        ),
        (
            body(
                json!({"method": "send_group", "username_from": "ana", "group_id_to": 1.5, "message": "m", "token": token}),
            ),
            "send_group_reply",
            "bad_request",
        ),
        (
            body(
                json!({"method": "send_client", "username_from": "ana", "username_to": "budi", "token": token}),
            ),
            "send_client_reply",
            "bad_request",
        ),
        (
            body(json!({"method": "register", "username": "a b", "password": "p"})),
            "register_reply",
            "invalid_username",
        ),
        (
            body(json!({"method": "register", "username": "x".repeat(300), "password": "p"})),
            "register_reply",
            "invalid_username",
        ),
        (
            body(
                json!({"method": "register", "username": "'; DROP TABLE users; --", "password": "p"}),
            ),
            "register_reply",
            "invalid_username",
        ),
        (
            body(json!({"method": "register", "username": "ana\u{0}", "password": "p"})),
            "register_reply",
            "invalid_username",
        ),
        (
            body(json!({"method": "register", "username": "newcomer", "password": ""})),
            "register_reply",
            "invalid_password",
        ),
        (
            body(json!({"method": "register", "username": "admin", "password": "p"})),
            "register_reply",
            "reserved_username",
        ),
        (
            body(
                json!({"method": "create_group", "username": "ana", "group_name": "", "token": token}),
            ),
            "create_group_reply",
            "invalid_group_name",
        ),
        (
            body(
                json!({"method": "send_client", "username_from": "ana", "username_to": "ana",
                        "message": "m".repeat(70_000), "token": token}),
            ),
            "send_client_reply",
            "message_too_long",
        ),
        (
            body(
                json!({"method": "send_client", "username_from": "ana", "username_to": "ana",
                        "message": "m".repeat(600_000), "token": token}),
            ),
            "send_client_reply",
            "payload_too_large",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_request_gets_its_code_on_reply_to() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let token = ana.token().to_owned();

    for (i, (body, method, code)) in cases(&token).into_iter().enumerate() {
        let correlation = format!("case-{i}");
        let properties = BasicProperties::default()
            .with_reply_to(ana.reply_queue.as_str().into())
            .with_correlation_id(correlation.as_str().into());
        ana.publish_bytes(&body, properties).await;
        let reply = ana.next_reply().await;
        assert_eq!(reply["method"], method, "case {i}: {reply}");
        assert_eq!(reply["status"], "error", "case {i}: {reply}");
        assert_eq!(reply["code"], code, "case {i}: {reply}");
    }

    // The server is still serving.
    let mut later = server.client().await;
    assert_ok(&later.register("later", "rahasia!").await, "register");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_reply_to_errors_go_where_the_original_protocol_sends_replies() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;

    // register/login: to queue_name, even when a field is missing.
    ana.publish(&json!({"method": "login", "username": "ana", "queue_name": ana.reply_queue}))
        .await;
    assert_error(&ana.next_reply().await, "login", "bad_request");

    // Authenticated requests: to the user's queue once the token checks out.
    let mistyped = json!({"method": "quit_from_group", "username": "ana", "group_id": "7",
                          "token": ana.token(), "request_id": "r-1"});
    let reply = ana.call(mistyped).await;
    assert_error(&reply, "quit_from_group", "bad_request");
    assert_eq!(reply["request_id"], "r-1");

    let huge = json!({"method": "send_client", "username_from": "ana", "username_to": "ana",
                      "message": "m".repeat(600_000), "token": ana.token()});
    assert_error(&ana.call(huge).await, "send_client", "payload_too_large");

    // No address at all: nothing to answer, and the server carries on.
    ana.publish_bytes(b"\x00\xff garbage", BasicProperties::default())
        .await;
    // Malformed, and its token does not check out: not answered into
    // ana's queue, which the request cannot prove to own.
    let forged = json!({"method": "get_group", "username": "ana", "token": 12345});
    ana.publish(&forged).await;
    let forged = json!({"method": "quit_from_group", "username": "ana", "group_id": "x",
                        "token": "forged"});
    ana.publish(&forged).await;
    let reply = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_ok(&reply, "get_group");
    ana.assert_nothing_arrived().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_to_correlation_id_and_request_id_are_honoured() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    assert_ok(&ana.register("ana", "rahasia!").await, "register");

    // Direct reply-to: the broker's pseudo-queue, consumed without acks on
    // the channel that publishes.
    let mut direct = ana
        .channel
        .basic_consume(
            "amq.rabbitmq.reply-to".into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..BasicConsumeOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let request = json!({"method": "login", "username": "ana", "password": "rahasia!",
                         "request_id": 42});
    let properties = BasicProperties::default()
        .with_reply_to("amq.rabbitmq.reply-to".into())
        .with_correlation_id("corr-1".into());
    ana.publish_bytes(&serde_json::to_vec(&request).unwrap(), properties)
        .await;
    let delivery = tokio::time::timeout(WAIT, direct.next())
        .await
        .expect("a reply through direct reply-to")
        .unwrap()
        .unwrap();
    assert_eq!(
        delivery
            .properties
            .correlation_id()
            .as_ref()
            .map(|c| c.as_str()),
        Some("corr-1")
    );
    let reply: Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_ok(&reply, "login");
    assert_eq!(reply["request_id"], 42);
    assert!(reply["token"].as_str().is_some_and(|t| !t.is_empty()));
}
