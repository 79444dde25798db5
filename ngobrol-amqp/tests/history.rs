//! History and catching up, over the real broker, on both stores: what a
//! device missed reaches it once, in order, live or through `sync`; a new
//! device pages through everything; the original client's replies are as
//! they were; bad history requests get codes.

use futures_util::{StreamExt, TryStreamExt};
use ngobrol_amqp::client::{
    Client, ClientOptions, Event, Events, LoginOptions, Page, Peer, Session,
};
use ngobrol_testkit::{
    Database, PrivateBroker, RawClient, TestServer, WAIT, assert_error, assert_ok,
};
use serde_json::json;

fn options(server: &TestServer, amqp_url: String) -> ClientOptions {
    ClientOptions {
        amqp_url,
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    }
}

async fn device(server: &TestServer, user: &str, login: LoginOptions) -> (Client, Session, Events) {
    let client = Client::connect(options(server, ngobrol_testkit::amqp_url()))
        .await
        .unwrap();
    let (session, events) = client.login_with(user, "rahasia!", &login).await.unwrap();
    (client, session, events)
}

fn text(event: &Event) -> Option<String> {
    match event {
        Event::Direct(m) => Some(m.text.clone()),
        Event::Group(m) => Some(m.text.clone()),
        _ => None,
    }
}

/// The next `count` messages (notices skipped), with their cursors.
async fn messages(events: &mut Events, count: usize) -> Vec<(String, Option<u64>)> {
    let mut got = Vec::new();
    while got.len() < count {
        match tokio::time::timeout(WAIT, events.next()).await {
            Ok(Some(event)) => {
                if let Some(t) = text(&event) {
                    got.push((t, event.cursor()));
                }
            }
            other => panic!("after {} messages: {other:?}", got.len()),
        }
    }
    got
}

async fn texts(events: &mut Events, count: usize) -> Vec<String> {
    messages(events, count)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

/// Ana and budi, friends, in a group of ana's: ana's raw client (as the
/// original speaks) and the group's id.
async fn friends_in_a_group(server: &TestServer) -> (RawClient, i64) {
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let group = ana.create_group("g").await["group_id"].as_i64().unwrap();
    assert_ok(&ana.add_member(group, "budi").await, "add_member_to_group");
    (ana, group)
}

/// 100 messages to budi, direct and to the group by turns.
async fn hundred(ana: &mut RawClient, group: i64, tag: &str) -> Vec<String> {
    let mut sent = Vec::new();
    for i in 0..50 {
        let (d, g) = (format!("{tag}d{i}"), format!("{tag}g{i}"));
        assert_ok(&ana.send_client("budi", &d).await, "send_client");
        assert_ok(&ana.send_group(group, &g).await, "send_group");
        sent.extend([d, g]);
    }
    sent
}

async fn a_device_away_while_another_is_online_resumes_from_its_cursor(database: Database) {
    let server = TestServer::start_on(database).await;
    let (mut ana, group) = friends_in_a_group(&server).await;
    let (_c1, _laptop, mut laptop) = device(&server, "budi", LoginOptions::default()).await;
    let (phone_client, _phone, mut phone) = device(&server, "budi", LoginOptions::default()).await;
    assert_ok(&ana.send_client("budi", "before").await, "send_client");
    let seen = messages(&mut phone, 1).await;
    assert_eq!(seen[0].0, "before");
    let cursor = seen[0].1.expect("a stored message has a cursor");
    phone_client.close().await.unwrap();

    // The phone is away; the laptop stays online, so nothing waits in the
    // mailbox: the history alone has it for the phone.
    let sent = hundred(&mut ana, group, "").await;
    assert_eq!(texts(&mut laptop, 101).await[1..], sent[..]);

    let since = LoginOptions::default().since(cursor);
    let (_c3, _phone, mut phone) = device(&server, "budi", since).await;
    assert_ok(&ana.send_client("budi", "after").await, "send_client");
    let mut expected = sent.clone();
    expected.push("after".into());
    assert_eq!(texts(&mut phone, 101).await, expected);
    // None twice: the next thing is the sentinel.
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(texts(&mut phone, 1).await, ["sentinel"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_resumes_from_its_cursor_on_sqlite() {
    a_device_away_while_another_is_online_resumes_from_its_cursor(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_resumes_from_its_cursor_on_postgres() {
    a_device_away_while_another_is_online_resumes_from_its_cursor(Database::Postgres).await;
}

async fn a_new_device_pages_through_the_whole_history(database: Database) {
    let server = TestServer::start_on(database).await;
    let (mut ana, group) = friends_in_a_group(&server).await;
    let sent = hundred(&mut ana, group, "").await;
    let (_c, budi, _events) = device(&server, "budi", LoginOptions::default()).await;
    assert_ok(&ana.send_client("budi", "last").await, "send_client");
    budi.send_direct("ana", "a reply").await.unwrap();

    // One conversation, forwards from its start, 30 at a time.
    let mut direct = Vec::new();
    let mut page = Page::After(0, 30);
    loop {
        let history = budi.history(&Peer::User("ana".into()), page).await.unwrap();
        assert!(history.messages.len() <= 30);
        direct.extend(history.messages);
        match history.next {
            Some(seq) => page = Page::After(seq, 30),
            None => break,
        }
    }
    let direct_texts: Vec<_> = direct.iter().filter_map(text).collect();
    let mut expected: Vec<_> = sent.iter().filter(|t| t.contains('d')).cloned().collect();
    expected.extend(["last".to_owned(), "a reply".to_owned()]);
    assert_eq!(direct_texts, expected);
    let seqs: Vec<_> = direct.iter().filter_map(Event::seq).collect();
    assert_eq!(seqs, (1..=52).collect::<Vec<u64>>());
    // Both sides are there, each with its author and recipient.
    let Event::Direct(reply) = &direct[51] else {
        panic!("{:?}", direct[51]);
    };
    assert_eq!(
        (reply.from.as_str(), reply.to.as_deref()),
        ("budi", Some("ana"))
    );

    // The group, backwards from its newest: budi sees from when he joined
    // (his own joined notice first).
    let group_page = budi
        .history(&Peer::Group(group), Page::Latest(100))
        .await
        .unwrap();
    assert_eq!(group_page.next, None);
    assert!(matches!(group_page.messages[0], Event::Notice(_)));
    assert_eq!(group_page.messages.len(), 51);

    // Everything, through sync from the start.
    let pages: Vec<_> = budi.sync(0).try_collect().await.unwrap();
    assert!(
        pages.len() >= 2,
        "more than one page of 100: {}",
        pages.len()
    );
    let all: Vec<Event> = pages.into_iter().flat_map(|p| p.messages).collect();
    let all_texts: Vec<_> = all.iter().filter_map(text).collect();
    let mut expected = sent.clone();
    expected.extend(["last".to_owned(), "a reply".to_owned()]);
    assert_eq!(all_texts, expected);
    let cursors: Vec<_> = all.iter().filter_map(Event::cursor).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_pages_through_the_history_on_sqlite() {
    a_new_device_pages_through_the_whole_history(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_pages_through_the_history_on_postgres() {
    a_new_device_pages_through_the_whole_history(Database::Postgres).await;
}

/// A device's connection drops while the broker stays up (its own broker
/// user's connections are closed), and messages arrive while it is gone:
/// the SDK reconnects, catches up, and the program sees each once, in
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_dropped_connection_the_sdk_catches_up_by_itself() {
    let broker = PrivateBroker::start();
    let config = ngobrol_amqp::ServerConfig {
        amqp_url: broker.url(),
        ..ngobrol_amqp::ServerConfig::default()
    };
    let server = TestServer::start_with(config, ngobrol_core::ServiceConfig::default()).await;
    let ana_client = Client::connect(options(&server, broker.url()))
        .await
        .unwrap();
    ana_client.register("ana", "rahasia!").await.unwrap();
    ana_client.register("budi", "rahasia!").await.unwrap();
    let (ana, _ana_events) = ana_client.login("ana", "rahasia!").await.unwrap();
    ana.add_friend("budi").await.unwrap();
    let group = ana.create_group("g").await.unwrap().unwrap();
    ana.add_member(group, "budi").await.unwrap();

    let laptop_client = Client::connect(options(&server, broker.url()))
        .await
        .unwrap();
    let (_laptop, mut laptop) = laptop_client.login("budi", "rahasia!").await.unwrap();
    let phone_url = broker.add_user("phone", "phone-secret");
    let phone_client = Client::connect(options(&server, phone_url)).await.unwrap();
    let (_phone, mut phone) = phone_client.login("budi", "rahasia!").await.unwrap();
    ana.send_direct("budi", "before").await.unwrap();
    assert_eq!(texts(&mut phone, 1).await, ["before"]);

    broker.close_connections_of("phone");
    let mut sent = Vec::new();
    for i in 0..50 {
        let (d, g) = (format!("d{i}"), format!("g{i}"));
        ana.send_direct("budi", &d).await.unwrap();
        ana.send_group(group, &g).await.unwrap();
        sent.extend([d, g]);
    }
    assert_eq!(texts(&mut laptop, 101).await[1..], sent[..]);
    ana.send_direct("budi", "sentinel").await.unwrap();
    sent.push("sentinel".into());
    // Nothing twice: the sentinel comes right after the hundred.
    assert_eq!(texts(&mut phone, 101).await, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_requests_are_refused_with_codes() {
    let server = TestServer::start().await;
    let (mut ana, group) = friends_in_a_group(&server).await;
    let mut cici = server.client().await;
    cici.sign_up("cici").await;
    let token = cici.token().to_owned();
    let ask = |fields: serde_json::Value| {
        let mut request = json!({"method": "get_history", "username": "cici", "token": token});
        for (k, v) in fields.as_object().unwrap() {
            request[k] = v.clone();
        }
        request
    };
    for (fields, code) in [
        (json!({}), "bad_request"),
        (json!({"with": "ana", "group_id": group}), "bad_request"),
        (json!({"with": "ana"}), "not_friends"),
        (json!({"with": "nobody"}), "unknown_user"),
        (json!({"with": "../../x"}), "invalid_username"),
        (json!({"group_id": group}), "not_member"),
        (json!({"group_id": 987_654}), "unknown_group"),
        (json!({"with": "ana", "limit": "ten"}), "bad_request"),
        (json!({"with": "ana", "before": -1}), "bad_request"),
        (json!({"token": "forged", "with": "ana"}), "invalid_token"),
    ] {
        let reply = cici.call(ask(fields.clone())).await;
        assert_error(&reply, "get_history", code);
        if code != "bad_request" {
            assert_eq!(reply["messages"], json!([]), "{fields}");
        }
    }
    let sync = json!({"method": "sync", "username": "cici", "token": "forged"});
    assert_error(&cici.call(sync).await, "sync", "invalid_token");
    let sync = json!({"method": "sync", "username": "cici", "token": cici.token(), "after": "x"});
    assert_error(&cici.call(sync).await, "sync", "bad_request");
    // And the server serves on: ana's own history works.
    assert_ok(&ana.send_client("budi", "halo").await, "send_client");
    let mine =
        json!({"method": "get_history", "username": "ana", "token": ana.token(), "with": "budi"});
    let reply = ana.call(mine).await;
    assert_ok(&reply, "get_history");
    assert_eq!(reply["messages"][0]["message"], "halo");
    assert_eq!(reply["messages"][0]["username_to"], "budi");
    assert_eq!(reply["messages"][0]["seq"], 1);
}

/// What a device missed comes in order even when part of it reached
/// another device and part waited in the mailbox: the history's pages and
/// the mailbox's backlog are merged by cursor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_missed_comes_in_order_from_the_history_and_the_mailbox() {
    let server = TestServer::start().await;
    let (mut ana, _group) = friends_in_a_group(&server).await;
    let (laptop_client, _laptop, mut laptop) =
        device(&server, "budi", LoginOptions::default()).await;
    assert_ok(&ana.send_client("budi", "first").await, "send_client");
    let cursor = messages(&mut laptop, 1).await[0].1.unwrap();
    laptop_client.close().await.unwrap();
    // The phone is online for the first five, then goes too: the next
    // five wait in the mailbox.
    let (phone_client, _phone, mut phone) = device(&server, "budi", LoginOptions::default()).await;
    let mut expected = Vec::new();
    for i in 0..5 {
        assert_ok(
            &ana.send_client("budi", &format!("a{i}")).await,
            "send_client",
        );
        expected.push(format!("a{i}"));
    }
    assert_eq!(texts(&mut phone, 5).await, expected);
    phone_client.close().await.unwrap();
    for i in 0..5 {
        assert_ok(
            &ana.send_client("budi", &format!("b{i}")).await,
            "send_client",
        );
        expected.push(format!("b{i}"));
    }
    let (_c, _laptop, mut laptop) =
        device(&server, "budi", LoginOptions::default().since(cursor)).await;
    assert_eq!(texts(&mut laptop, 10).await, expected);
    assert_ok(&ana.send_client("budi", "last").await, "send_client");
    assert_eq!(texts(&mut laptop, 1).await, ["last"]);
}
