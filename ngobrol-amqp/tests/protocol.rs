//! The protocol end to end: the real server over the real broker, driven
//! the way the original console client drives it. Each test has its own
//! namespace, so tests run in parallel and never see each other's queues.

use ngobrol_testkit::{TestServer, assert_error, assert_ok};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_and_login_answer_on_the_clients_queue() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;

    let reply = ana.register("ana", "rahasia!").await;
    assert_ok(&reply, "register");
    assert!(reply["description"].is_string());

    assert_error(
        &ana.register("ana", "another-one").await,
        "register",
        "username_taken",
    );

    let wrong = ana.login("ana", "salah").await;
    assert_error(&wrong, "login", "invalid_credentials");
    assert_eq!(wrong["token"], "", "login errors carry an empty token");

    let unknown = ana.login("nobody", "rahasia!").await;
    assert_error(&unknown, "login", "invalid_credentials");

    let ok = ana.login("ana", "rahasia!").await;
    assert_ok(&ok, "login");
    let token = ok["token"].as_str().unwrap();
    assert!(token.len() >= 26, "a token has at least 128 bits: {token}");

    // A second login issues a new token, a session of its own; the first
    // one keeps working (several devices per person).
    let mut again = server.client().await;
    let second = again.login("ana", "rahasia!").await;
    assert_ne!(second["token"], ok["token"]);
    // Two consumers of one queue would share its messages: leave one.
    again.close().await;
    let first = ana
        .call(json!({"method": "get_friend", "username": "ana", "token": token}))
        .await;
    assert_ok(&first, "get_friend");
    let forged = ana
        .call(json!({"method": "get_friend", "username": "ana", "token": "forged"}))
        .await;
    assert_error(&forged, "get_friend", "invalid_token");
    assert_eq!(forged["usernames"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_are_mutual_and_checked() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;

    assert_error(
        &ana.add_friend("ana").await,
        "add_friend",
        "cannot_befriend_self",
    );
    assert_error(&ana.add_friend("ghost").await, "add_friend", "unknown_user");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    assert_error(
        &ana.add_friend("budi").await,
        "add_friend",
        "already_friends",
    );
    assert_error(
        &budi.add_friend("ana").await,
        "add_friend",
        "already_friends",
    );

    let request = json!({"method": "get_friend", "username": "budi", "token": budi.token()});
    let friends = budi.call(request).await;
    assert_ok(&friends, "get_friend");
    assert_eq!(friends["usernames"], json!(["ana"]));

    // add_friend does not notify its target.
    budi.assert_nothing_arrived().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_wait_for_an_offline_user_in_order() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    // budi registers (which gives him a mailbox) and is not online.
    let mut budi = server.client().await;
    assert_ok(&budi.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    for i in 0..5 {
        let reply = ana.send_client("budi", &format!("pesan {i}")).await;
        assert_ok(&reply, "send_client");
        assert!(reply["message_id"].is_string(), "{reply}");
    }

    // budi logs in later and finds them, oldest first.
    assert_ok(&budi.login("budi", "rahasia!").await, "login");
    for i in 0..5 {
        let message = budi.recv().await;
        assert_eq!(message["method"], "send_client", "{message}");
        assert_eq!(message["username_from"], "ana");
        assert_eq!(message["message"], format!("pesan {i}"));
        assert!(message["message_id"].is_string());
        assert!(message["sent_at"].as_str().unwrap().ends_with('Z'));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_messages_need_an_existing_friend() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_error(
        &ana.send_client("ghost", "hi").await,
        "send_client",
        "unknown_user",
    );
    assert_error(
        &ana.send_client("budi", "hi").await,
        "send_client",
        "not_friends",
    );
    budi.assert_nothing_arrived().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_from_one_sender_arrive_in_the_order_sent() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    // Published back to back, without waiting for replies.
    for i in 0..50 {
        ana.publish(&json!({
            "method": "send_client", "username_from": "ana", "username_to": "budi",
            "message": i.to_string(), "token": ana.token(),
        }))
        .await;
    }
    for i in 0..50 {
        assert_eq!(budi.recv().await["message"], i.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_from_creation_to_leaving() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    let mut cici = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    cici.sign_up("cici").await;

    // On a namespace the broker has never seen: the exchange is made first.
    let created = ana.create_group("Keluarga").await;
    assert_ok(&created, "create_group");
    let gid = created["group_id"]
        .as_i64()
        .expect("group_id is a JSON integer");

    let listed = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_ok(&listed, "get_group");
    assert_eq!(
        listed["groups"],
        json!([{"group_name": "Keluarga", "group_id": gid}])
    );

    assert_error(
        &budi.add_member(gid, "cici").await,
        "add_member_to_group",
        "not_group_admin",
    );
    assert_error(
        &ana.add_member(gid + 100, "budi").await,
        "add_member_to_group",
        "unknown_group",
    );
    assert_error(
        &ana.add_member(gid, "ghost").await,
        "add_member_to_group",
        "unknown_user",
    );
    assert_error(
        &ana.add_member(gid, "ana").await,
        "add_member_to_group",
        "already_member",
    );

    // Adding tells every member, the new one included, before the reply.
    ana.publish(&json!({
        "method": "add_member_to_group", "username_adder": "ana", "username_to_add": "budi",
        "group_id": gid, "token": ana.token(),
    }))
    .await;
    let notice = ana.recv().await;
    assert_eq!(notice["method"], "send_group", "{notice}");
    assert_eq!(notice["username_from"], "admin");
    assert_eq!(notice["notice"], true);
    assert_eq!(notice["group_id_to"], gid);
    assert_eq!(notice["group_name_to"], "Keluarga");
    assert!(notice["message"].as_str().unwrap().contains("budi"));
    assert_ok(&ana.recv().await, "add_member_to_group");
    let notice = budi.recv().await;
    assert_eq!(notice["notice"], true, "{notice}");

    // A group message reaches every member; the sender's copy comes first.
    ana.publish(&json!({
        "method": "send_group", "username_from": "ana", "group_id_to": gid,
        "message": "halo semua", "token": ana.token(),
    }))
    .await;
    let own = ana.recv().await;
    assert_eq!(own["method"], "send_group", "{own}");
    assert_eq!(own["username_from"], "ana");
    assert_eq!(own["message"], "halo semua");
    assert_ok(&ana.recv().await, "send_group");
    let got = budi.recv().await;
    assert_eq!(got["username_from"], "ana");
    assert_eq!(got["group_id_to"], gid);
    assert_eq!(got["group_name_to"], "Keluarga");
    assert_eq!(got["message"], "halo semua");
    assert!(got.get("notice").is_none(), "{got}");
    // Non-members get nothing.
    cici.assert_nothing_arrived().await;
    assert_error(
        &cici.send_group(gid, "hi").await,
        "send_group",
        "not_member",
    );
    assert_error(
        &cici.send_group(gid + 100, "hi").await,
        "send_group",
        "unknown_group",
    );

    // Leaving: the leaver is unsubscribed first; those who stay are told.
    assert_ok(&budi.quit_group(gid).await, "quit_from_group");
    let notice = ana.recv().await;
    assert_eq!(notice["username_from"], "admin");
    assert!(
        notice["message"].as_str().unwrap().contains("budi"),
        "{notice}"
    );
    // The leaver is not told.
    budi.assert_nothing_arrived().await;
    assert_error(&budi.quit_group(gid).await, "quit_from_group", "not_member");
    assert_error(
        &budi.send_group(gid, "masih?").await,
        "send_group",
        "not_member",
    );
    assert_error(
        &budi.quit_group(gid + 100).await,
        "quit_from_group",
        "unknown_group",
    );

    // The admin may leave too; admin rights stay with the group while
    // anyone is in it.
    assert_ok(&ana.add_member(gid, "cici").await, "add_member_to_group");
    assert_ok(&ana.quit_group(gid).await, "quit_from_group");
    assert_ok(&ana.add_member(gid, "budi").await, "add_member_to_group");
    // When the last member leaves, the group ends.
    assert_ok(&budi.quit_group(gid).await, "quit_from_group");
    assert_ok(&cici.quit_group(gid).await, "quit_from_group");
    assert_error(
        &ana.add_member(gid, "cici").await,
        "add_member_to_group",
        "unknown_group",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_against_the_named_user() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;

    let forged = json!({"method": "get_group", "username": "ana", "token": "not-a-token"});
    let reply = ana.call(forged).await;
    assert_error(&reply, "get_group", "invalid_token");
    assert_eq!(reply["groups"], json!([]));

    // budi's valid token does not let him act as ana.
    let impostor = json!({
        "method": "send_client", "username_from": "ana", "username_to": "budi",
        "message": "I am ana", "token": budi.token(),
    });
    assert_error(&ana.call(impostor).await, "send_client", "invalid_token");
    budi.assert_nothing_arrived().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_routing_is_restored_after_a_restart() {
    let mut server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let gid = ana.create_group("g").await["group_id"].as_i64().unwrap();

    server.stop().await;
    // As if the broker had lost its state: the group's exchange is gone,
    // and so is the marker of the routing it held.
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    ch.queue_delete(server.namespace.routing_marker().into(), Default::default())
        .await
        .unwrap();
    ch.exchange_delete(
        server
            .namespace
            .group_exchange(ngobrol_core::GroupId::new(gid))
            .into(),
        Default::default(),
    )
    .await
    .unwrap();
    server.restart().await;

    let reply = ana.send_group(gid, "still here").await;
    assert_ok(&reply, "send_group");
    assert_eq!(ana.recv().await["message"], "still here");
}
