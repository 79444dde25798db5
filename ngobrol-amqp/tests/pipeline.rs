//! Pipelined lanes over the real broker: one sender's messages published
//! back to back keep their order and are each delivered once, whatever
//! the broker answers in the middle of the pipeline (a nack from a full
//! mailbox, a message returned because the routing was lost); and the
//! routing marker that lets a restart serve at once.

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use ngobrol_core::{GroupId, GroupRepository, RateLimit, ServiceConfig, Username};
use ngobrol_testkit::{QueueCap, RawClient, TestServer, assert_ok, connect};
use serde_json::json;

const BURST: usize = 300;

/// A server whose rules let one sender send as fast as they like.
async fn unlimited() -> TestServer {
    let rules = ServiceConfig {
        request_rate: RateLimit::UNLIMITED,
        ..ServiceConfig::default()
    };
    TestServer::start_with_rules(rules).await
}

/// Publishes `count` messages from `from` to `to` back to back, without
/// waiting for a reply.
async fn burst(from: &RawClient, to: &str, count: usize) {
    for i in 0..count {
        from.publish(&json!({
            "method": "send_client", "username_from": from.user(), "username_to": to,
            "message": format!("m{i}"), "token": from.token(),
        }))
        .await;
    }
}

/// The next `count` replies of `send_client` in `client`'s queue, their
/// codes in order (`ok` or the error's).
async fn reply_codes(client: &mut RawClient, count: usize) -> Vec<String> {
    let mut codes = Vec::new();
    while codes.len() < count {
        let message = client.recv().await;
        if message["method"] == "send_client_reply" {
            let code = match message["status"].as_str() {
                Some("ok") => "ok".to_owned(),
                _ => message["code"].as_str().unwrap_or("?").to_owned(),
            };
            codes.push(code);
        }
    }
    codes
}

/// The texts of the next `count` messages in `client`'s queue.
async fn texts(client: &mut RawClient, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.len() < count {
        let message = client.recv().await;
        if let Some(text) = message["message"].as_str() {
            texts.push(text.to_owned());
        }
    }
    texts
}

fn numbered(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("m{i}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sender_s_burst_arrives_once_in_order_with_a_reply_each() {
    let server = unlimited().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    burst(&ana, "budi", BURST).await;
    assert_eq!(texts(&mut budi, BURST).await, numbered(0..BURST));
    assert_eq!(reply_codes(&mut ana, BURST).await, vec!["ok"; BURST]);
    budi.assert_nothing_arrived().await;
}

/// Group messages of one sender, pipelined, reach every member in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_sender_s_group_burst_reaches_every_member_in_order() {
    let server = unlimited().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    let mut cici = server.client().await;
    for (client, name) in [(&mut ana, "ana"), (&mut budi, "budi"), (&mut cici, "cici")] {
        client.sign_up(name).await;
    }
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    for member in ["budi", "cici"] {
        assert_ok(&ana.add_member(group, member).await, "add_member_to_group");
    }
    for i in 0..BURST {
        ana.publish(&json!({
            "method": "send_group", "username_from": "ana", "group_id_to": group,
            "message": format!("m{i}"), "token": ana.token(),
        }))
        .await;
    }
    for member in [&mut budi, &mut cici] {
        let mut got = Vec::new();
        while got.len() < BURST {
            let message = member.recv().await;
            if message["notice"] != true
                && let Some(text) = message["message"].as_str()
            {
                got.push(text.to_owned());
            }
        }
        assert_eq!(got, numbered(0..BURST));
    }
}

/// A full mailbox nacks a delivery in the middle of a pipeline: the
/// messages that fit are delivered in order, each later one is refused
/// `mailbox_full` in its own reply, and nothing is published again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nack_in_a_pipeline_refuses_what_did_not_fit_and_reorders_nothing() {
    let server = unlimited().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let mut budi = server.client().await;
    assert_ok(&budi.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    let fits = 20;
    let cap = QueueCap::apply(&server.namespace.user_queue("budi"), fits as u32).await;
    burst(&ana, "budi", 100).await;
    let mut expected = vec!["ok"; fits];
    expected.extend(vec!["mailbox_full"; 100 - fits]);
    assert_eq!(reply_codes(&mut ana, 100).await, expected);
    drop(cap);

    assert_ok(&budi.login("budi", "rahasia!").await, "login");
    assert_eq!(texts(&mut budi, fits).await, numbered(0..fits));
    budi.assert_nothing_arrived().await;
}

/// The broker returns deliveries in the middle of a pipeline because the
/// recipient's mailbox was deleted behind the server's back: the lane
/// pauses, the mailbox is declared again, and the returned messages go
/// again in their order; nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returned_deliveries_in_a_pipeline_go_again_in_order() {
    let server = unlimited().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let mut budi = server.client().await;
    assert_ok(&budi.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    // The server now knows budi's routing (it delivered there once).
    assert_ok(&ana.send_client("budi", "before").await, "send_client");

    let connection = connect().await;
    let channel = connection.create_channel().await.unwrap();
    channel
        .queue_delete(
            server.namespace.user_queue("budi").into(),
            QueueDeleteOptions::default(),
        )
        .await
        .unwrap();
    burst(&ana, "budi", BURST).await;
    assert_eq!(reply_codes(&mut ana, BURST).await, vec!["ok"; BURST]);

    assert_ok(&budi.login("budi", "rahasia!").await, "login");
    assert_eq!(texts(&mut budi, BURST).await, numbered(0..BURST));
    budi.assert_nothing_arrived().await;
}

/// How many messages the routing marker `<ns>.routing` holds.
async fn marker_count(server: &TestServer) -> u32 {
    let connection = connect().await;
    let channel = connection.create_channel().await.unwrap();
    let declared = channel
        .queue_declare(
            server.namespace.routing_marker().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    declared.message_count()
}

/// A clean stop leaves a marker; a restart on an unchanged store serves
/// on the routing the broker kept; the first routing change empties the
/// marker; a store changed while the server was away is restored in full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routing_marker_lets_a_restart_skip_only_what_the_broker_kept() {
    let mut server = TestServer::start().await;
    assert_eq!(marker_count(&server).await, 1, "written after the restore");
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let mut budi = server.client().await;
    budi.sign_up("budi").await;
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    assert_eq!(marker_count(&server).await, 0, "emptied by the change");
    assert_ok(&ana.add_member(group, "budi").await, "add_member_to_group");
    // Gone, so that the clients after the restart read alone.
    ana.close().await;
    budi.close().await;

    server.restart().await;
    assert_eq!(marker_count(&server).await, 1, "left by the clean stop");
    server.restart().await;
    assert_eq!(marker_count(&server).await, 1);
    let mut ana = server.client().await;
    assert_ok(&ana.login("ana", "rahasia!").await, "login");
    let mut budi = server.client().await;
    assert_ok(&budi.login("budi", "rahasia!").await, "login");
    assert_ok(&ana.send_group(group, "kept").await, "send_group");
    assert_eq!(texts(&mut budi, 1).await, ["kept"]);

    // Cici joins in the store alone, while the server is away: the
    // fingerprints differ, and the restart binds her too.
    let mut cici = server.client().await;
    cici.sign_up("cici").await;
    for client in [ana, budi, cici] {
        client.close().await;
    }
    server.stop().await;
    let id = GroupId::new(group);
    server
        .store
        .add_member(id, &Username::parse("cici").unwrap())
        .await
        .unwrap();
    server.restart().await;
    let mut cici = server.client().await;
    assert_ok(&cici.login("cici", "rahasia!").await, "login");
    let mut ana = server.client().await;
    assert_ok(&ana.login("ana", "rahasia!").await, "login");
    assert_ok(&ana.send_group(group, "to all").await, "send_group");
    assert_eq!(texts(&mut cici, 1).await, ["to all"]);
}
