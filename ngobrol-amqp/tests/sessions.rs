//! Several devices per person: every login is a session of its own, every
//! session gets every message, and ending one leaves the others.

use std::time::Duration;

use futures_util::StreamExt;
use ngobrol_amqp::client::{Client, ClientOptions, Event, Events, Session};
use ngobrol_testkit::{TestServer, WAIT, assert_ok};

fn options(server: &TestServer) -> ClientOptions {
    ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    }
}

async fn device(server: &TestServer, user: &str, name: &str) -> (Client, Session, Events) {
    let client = Client::connect(options(server)).await.unwrap();
    let (session, events) = client.login_as(user, "rahasia!", Some(name)).await.unwrap();
    (client, session, events)
}

async fn texts(events: &mut Events, count: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout(WAIT, events.next()).await {
            Ok(Some(Event::Direct(m))) => got.push(m.text),
            Ok(Some(Event::Group(m))) => got.push(m.text),
            Ok(Some(_)) => {}
            other => panic!("after {got:?}: {other:?}"),
        }
    }
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_more_logins_leave_the_first_session_working() {
    let server = TestServer::start().await;
    let mut raw = server.client().await;
    raw.sign_up("ana").await;
    let (_c, first, _e) = device(&server, "ana", "laptop").await;
    let mut others = Vec::new();
    for i in 0..5 {
        others.push(device(&server, "ana", &format!("shell {i}")).await);
    }
    first.friends().await.unwrap();
    // The original client's login is a session too, and still works.
    let request =
        serde_json::json!({"method": "get_friend", "username": "ana", "token": raw.token()});
    assert_ok(&raw.call(request).await, "get_friend");
    let sessions = first.sessions().await.unwrap();
    assert_eq!(sessions.len(), 7, "{sessions:?}");
    let current: Vec<_> = sessions.iter().filter(|s| s.current).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].device.as_deref(), Some("laptop"));
    assert_eq!(Some(current[0].session_id.as_str()), first.id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_online_device_gets_every_message_once_in_order() {
    let server = TestServer::start().await;
    let mut budi_raw = server.client().await;
    budi_raw.sign_up("budi").await;
    let mut ana_raw = server.client().await;
    ana_raw.sign_up("ana").await;
    assert_ok(&ana_raw.add_friend("budi").await, "add_friend");
    let group = ana_raw.create_group("g").await["group_id"]
        .as_i64()
        .unwrap();
    let (_c1, _phone, mut phone) = device(&server, "budi", "phone").await;
    let (_c2, _laptop, mut laptop) = device(&server, "budi", "laptop").await;
    assert_ok(
        &ana_raw.add_member(group, "budi").await,
        "add_member_to_group",
    );

    let mut sent = Vec::new();
    for i in 0..10 {
        assert_ok(
            &ana_raw.send_client("budi", &format!("d{i}")).await,
            "send_client",
        );
        assert_ok(
            &ana_raw.send_group(group, &format!("g{i}")).await,
            "send_group",
        );
        sent.extend([format!("d{i}"), format!("g{i}")]);
    }
    assert_eq!(texts(&mut phone, 20).await, sent);
    assert_eq!(texts(&mut laptop, 20).await, sent);
    // And nothing twice: a sentinel is the next thing each sees.
    assert_ok(
        &ana_raw.send_client("budi", "sentinel").await,
        "send_client",
    );
    assert_eq!(texts(&mut phone, 1).await, ["sentinel"]);
    assert_eq!(texts(&mut laptop, 1).await, ["sentinel"]);
    // Budi's original client (his first login) is one more device: his
    // mailbox got it all too, once, in order.
    let mut mailbox = Vec::new();
    while mailbox.last().is_none_or(|last| last != "sentinel") {
        let message = budi_raw.recv().await;
        if message["username_from"] == "ana" {
            mailbox.push(message["message"].as_str().unwrap().to_owned());
        }
    }
    sent.push("sentinel".into());
    assert_eq!(mailbox, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_client_and_a_device_of_ours_each_get_everything() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    // Budi is offline everywhere: it waits for the device that comes first.
    assert_ok(&ana.send_client("budi", "while away").await, "send_client");
    let (_c, _phone, mut phone) = device(&server, "budi", "phone").await;
    assert_eq!(texts(&mut phone, 1).await, ["while away"]);
    // Now he opens the original client as well (a login without
    // `session_queue`): from then on both get every message.
    let mut original = server.client().await;
    let login = original.login("budi", "rahasia!").await;
    assert_ok(&login, "login");
    for i in 0..5 {
        assert_ok(
            &ana.send_client("budi", &format!("m{i}")).await,
            "send_client",
        );
    }
    let expected: Vec<String> = (0..5).map(|i| format!("m{i}")).collect();
    assert_eq!(texts(&mut phone, 5).await, expected);
    let mut mailbox = Vec::new();
    while mailbox.len() < 5 {
        let message = original.recv().await;
        mailbox.push(message["message"].as_str().unwrap().to_owned());
    }
    assert_eq!(mailbox, expected);
    // A device of ours that logs in now leaves the mailbox to the
    // original client.
    let (_c2, _laptop, mut laptop) = device(&server, "budi", "laptop").await;
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(texts(&mut laptop, 1).await, ["sentinel"]);
    assert_eq!(original.recv().await["message"], "sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_arrives_while_no_device_is_online_waits_for_the_next_one() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    assert_ok(&ana.add_member(group, "budi").await, "add_member_to_group");
    let mut sent = Vec::new();
    for i in 0..50 {
        assert_ok(
            &ana.send_client("budi", &format!("d{i}")).await,
            "send_client",
        );
        assert_ok(&ana.send_group(group, &format!("g{i}")).await, "send_group");
        sent.extend([format!("d{i}"), format!("g{i}")]);
    }
    // A device comes online: the 100 first, in order, then what comes next.
    let (_c, _s, mut phone) = device(&server, "budi", "phone").await;
    assert_ok(&ana.send_client("budi", "after").await, "send_client");
    sent.push("after".into());
    assert_eq!(texts(&mut phone, 101).await, sent);
    // Handed over once: a second device that comes now finds none of it.
    let (_c2, _s2, mut laptop) = device(&server, "budi", "laptop").await;
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(texts(&mut laptop, 1).await, ["sentinel"]);
    assert_eq!(texts(&mut phone, 1).await, ["sentinel"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_one_session_and_logout_all_ends_every_one() {
    let server = TestServer::start().await;
    let mut raw = server.client().await;
    raw.sign_up("ana").await;
    let (_c1, one, _e1) = device(&server, "ana", "one").await;
    let (_c2, two, _e2) = device(&server, "ana", "two").await;
    let (_c3, three, _e3) = device(&server, "ana", "three").await;
    one.logout().await.unwrap();
    assert_eq!(
        one.friends().await.unwrap_err().code().unwrap().as_str(),
        "invalid_token"
    );
    two.friends().await.unwrap();
    assert_eq!(
        two.sessions().await.unwrap().len(),
        3,
        "two, three and the raw client's"
    );
    assert_eq!(three.logout_all().await.unwrap(), 3);
    for session in [&two, &three] {
        let refused = session.friends().await.unwrap_err();
        assert_eq!(refused.code().unwrap().as_str(), "invalid_token");
    }
    let request =
        serde_json::json!({"method": "get_friend", "username": "ana", "token": raw.token()});
    assert_eq!(raw.call(request).await["code"], "invalid_token");
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// A broker from before users' exchanges (group exchanges bound straight
/// to mailboxes, no layout marker): at start-up the server removes the old
/// bindings once, so while a device is online a group message reaches the
/// device and nothing piles up in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_earlier_layouts_bindings_are_removed_once_at_start_up() {
    use lapin::options::{QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions};
    use lapin::types::FieldTable;

    let mut server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    assert_ok(&ana.add_member(group, "budi").await, "add_member_to_group");
    server.stop().await;
    // As the earlier version left it.
    let conn = ngobrol_testkit::connect().await;
    let channel = conn.create_channel().await.unwrap();
    let ns = server.namespace.clone();
    channel
        .queue_delete(ns.layout_marker().into(), QueueDeleteOptions::default())
        .await
        .unwrap();
    channel
        .queue_bind(
            ns.user_queue("budi").into(),
            ns.group_exchange(group).into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    server.restart().await;

    let (_c, _phone, mut phone) = device(&server, "budi", "phone").await;
    assert_ok(&ana.send_group(group, "sekali").await, "send_group");
    assert_eq!(texts(&mut phone, 1).await, ["sekali"]);
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let mailbox = channel
        .queue_declare(ns.user_queue("budi").into(), passive, FieldTable::default())
        .await
        .unwrap();
    assert_eq!(mailbox.message_count(), 0, "nothing went to the mailbox");
    conn.close(200, "done".into()).await.unwrap();
}
