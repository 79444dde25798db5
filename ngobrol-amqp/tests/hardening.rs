//! What a hostile client, a flood of requests and a broker where the
//! original server ran do to the server: each test shows one defence
//! over the real broker.

use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::ExchangeKind;
use lapin::options::{BasicGetOptions, ExchangeDeclareOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use ngobrol_amqp::ServerConfig;
use ngobrol_core::{Clock, RateLimit, ServiceConfig};
use ngobrol_testkit::{RawClient, TestServer, WAIT, assert_error, assert_ok};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_request_id_with_another_body_is_refused_not_answered_from_the_record() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let token = ana.token().to_owned();
    let send = |text: &str| {
        json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
               "message": text, "token": token, "request_id": "c1"})
    };
    assert_ok(&ana.call(send("first")).await, "send_client");
    // A second program that numbers its requests from 1 too.
    let reply = ana.call(send("second")).await;
    assert_error(&reply, "send_client", "request_id_conflict");
    assert_eq!(reply["request_id"], "c1");
    // The true retry is still answered from the record, and budi got one.
    assert_ok(&ana.call(send("first")).await, "send_client");
    // The same body and id from another session of ana's (its token) is
    // another request, refused too.
    let mut phone = server.client().await;
    assert_ok(&phone.login("ana", "rahasia!").await, "login");
    let phone_token = phone.token().to_owned();
    phone.close().await;
    let from_phone = json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                            "message": "first", "token": phone_token, "request_id": "c1"});
    assert_error(
        &ana.call(from_phone).await,
        "send_client",
        "request_id_conflict",
    );
    assert_ok(&ana.send_client("budi", "sentinel").await, "send_client");
    assert_eq!(budi.recv().await["message"], "first");
    assert_eq!(budi.recv().await["message"], "sentinel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_30_wrong_passwords_hashes_at_most_the_burst_and_the_owner_gets_back_in() {
    let clock = Clock::manual();
    let rules = ServiceConfig {
        auth_failures: RateLimit {
            burst: 5,
            per_second: 2.0,
        },
        clock: clock.clone(),
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut owner = server.client().await;
    assert_ok(&owner.register("ana", "rahasia!").await, "register");

    // 30 guesses at once, each on its own private queue.
    let mut attacker = server.client().await;
    for i in 0..30 {
        let guess = json!({"method": "login", "username": "ana", "password": format!("guess{i:03}"),
                           "queue_name": attacker.reply_queue, "request_id": i});
        attacker.publish(&guess).await;
    }
    let mut codes = Vec::new();
    for _ in 0..30 {
        codes.push(
            attacker.next_reply().await["code"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let hashed = codes.iter().filter(|c| *c == "invalid_credentials").count();
    // Refused unhashed: over the name's budget, or over the server's
    // logins in hand.
    let refused = codes
        .iter()
        .filter(|c| *c == "rate_limited" || *c == "busy")
        .count();
    assert!(hashed <= 5, "{hashed} guesses were checked: {codes:?}");
    assert_eq!(hashed + refused, 30, "{codes:?}");

    // The attacker stops; the owner is in again after the wait they are
    // told (the budget grows back at 2 per second), not minutes.
    let reply = owner.login("ana", "rahasia!").await;
    assert_error(&reply, "login", "rate_limited");
    let wait = reply["retry_after_ms"].as_u64().unwrap();
    assert!((1..=500).contains(&wait), "told to wait {wait} ms");
    clock.advance(Duration::from_millis(wait));
    assert_ok(&owner.login("ana", "rahasia!").await, "login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_a_taken_name_does_not_lock_its_owner_out() {
    let rules = ServiceConfig {
        auth_failures: RateLimit {
            burst: 2,
            per_second: 0.001,
        },
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut owner = server.client().await;
    assert_ok(&owner.register("ana", "rahasia!").await, "register");
    let mut other = server.client().await;
    for _ in 0..10 {
        assert_error(
            &other.register("ana", "whatever1").await,
            "register",
            "username_taken",
        );
    }
    assert_ok(&owner.login("ana", "rahasia!").await, "login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_replies_keep_coming_during_a_login_storm() {
    let config = ServerConfig {
        max_pending_logins: 2,
        ..ServerConfig::default()
    };
    // Hashing that takes a while (tens of milliseconds), as in production.
    let rules = ServiceConfig {
        pbkdf2_iterations: 100_000,
        hashing_concurrency: 1,
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(config, rules).await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    // 400 logins of unknown users at once, each of which costs a (decoy)
    // hash: at most 2 are in hand, the rest are answered `busy` unhashed.
    let mut storm = server.client().await;
    for i in 0..400 {
        let login = json!({"method": "login", "username": format!("nobody{i}"),
                           "password": "whatever1", "queue_name": storm.reply_queue});
        storm.publish(&login).await;
    }
    for i in 0..20 {
        assert_ok(
            &ana.send_client("budi", &format!("m{i}")).await,
            "send_client",
        );
    }
    let mut busy = 0;
    for _ in 0..400 {
        let reply = storm.next_reply().await;
        assert_eq!(reply["status"], "error", "{reply}");
        if reply["code"] == "busy" {
            assert!(reply["retry_after_ms"].as_u64().unwrap() > 0, "{reply}");
            busy += 1;
        } else {
            assert_eq!(reply["code"], "invalid_credentials", "{reply}");
        }
    }
    assert!(busy > 0, "no login was turned away");
    for i in 0..20 {
        assert_eq!(budi.recv().await["message"], format!("m{i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_go_only_to_private_queues_or_the_acting_users_own() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    let budi_queue = server.namespace.user_queue("budi");

    // reply_to naming budi's mailbox: ana's reply goes to ana's own.
    let request = json!({"method": "get_friend", "username": "ana", "token": ana.token()});
    let properties = BasicProperties::default().with_reply_to(budi_queue.as_str().into());
    ana.publish_bytes(&serde_json::to_vec(&request).unwrap(), properties)
        .await;
    assert_ok(&ana.recv().await, "get_friend");

    // A registration asking for its reply in budi's mailbox gets none.
    server.users.lock().unwrap().push("cici".into());
    ana.publish(
        &json!({"method": "register", "username": "cici", "password": "rahasia!",
                        "queue_name": budi_queue}),
    )
    .await;
    // A bad token with a request id: not answered into the named queue.
    ana.publish(
        &json!({"method": "get_group", "username": "budi", "token": "forged",
                        "request_id": "x"}),
    )
    .await;
    // The sentinel is the next thing in budi's queue.
    budi.assert_nothing_arrived().await;

    // Without a request id (as the original client), a bad token is still
    // told in the user's queue: the original client must learn it.
    let expired = json!({"method": "get_group", "username": "budi", "token": "expired"});
    assert_error(&budi.call(expired).await, "get_group", "invalid_token");
}

/// Reads every message of `queue`.
async fn drain(client: &RawClient, queue: &str) -> Vec<(Vec<u8>, FieldTable)> {
    let mut found = Vec::new();
    while let Some(message) = client
        .channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let headers = message
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        found.push((message.delivery.data.clone(), headers));
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_capped_and_hold_no_secret() {
    let config = ServerConfig {
        dead_letter_capacity: 3,
        max_body_bytes: 64 * 1024,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(config, ServiceConfig::default()).await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let dead_queue = server.namespace.dead_letter_queue();
    let count = |client: &RawClient| {
        let queue = dead_queue.clone();
        let channel = client.channel.clone();
        async move {
            let passive = QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            };
            channel
                .queue_declare(queue.as_str().into(), passive, FieldTable::default())
                .await
                .unwrap()
                .message_count()
        }
    };

    // An oversized request: answered (its token is found at the end of
    // the body by a bounded scan), and not copied whole anywhere.
    let huge = json!({"method": "send_client", "username_from": "ana", "username_to": "ana",
                      "message": "m".repeat(100_000), "token": ana.token()});
    assert_error(&ana.call(huge).await, "send_client", "payload_too_large");
    let started = Instant::now();
    while count(&ana).await < 1 {
        assert!(started.elapsed() < WAIT, "no dead letter");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = drain(&ana, &dead_queue).await;
    let (body, headers) = &dead[0];
    assert!(body.is_empty(), "an oversized body was copied");
    let size = headers.inner().get("x-ngobrol-size").cloned();
    assert!(
        matches!(size, Some(AMQPValue::LongLongInt(n)) if n > 100_000),
        "{size:?}"
    );

    // Five broken logins: each copied without its password, the oldest
    // dropped past the cap of 3.
    for i in 0..5 {
        let body = format!(r#"{{"method":"login","username":"ana","password":"hunter-{i}","#);
        let properties = BasicProperties::default().with_reply_to(ana.reply_queue.as_str().into());
        ana.publish_bytes(body.as_bytes(), properties).await;
    }
    for _ in 0..5 {
        assert_eq!(ana.next_reply().await["code"], "bad_request");
    }
    // Each is dead-lettered right after its reply, in ana's lane: once a
    // later request of hers is answered, all five are settled.
    assert_ok(
        &ana.call(json!({"method": "get_friend", "username": "ana",
                               "token": ana.token()}))
            .await,
        "get_friend",
    );
    let dead = drain(&ana, &dead_queue).await;
    assert_eq!(dead.len(), 3, "the cap keeps the newest 3");
    for (body, _) in &dead {
        let text = String::from_utf8_lossy(body);
        assert!(!text.contains("hunter"), "{text}");
        assert!(text.contains(r#""password":"***""#), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_holding_the_originals_non_durable_group_exchange_still_gives_a_working_group() {
    let namespace = ngobrol_testkit::fresh_namespace();
    // The original server's exchange for group 1: fanout, not durable.
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        namespace.group_exchange(1).into(),
        ExchangeKind::Fanout,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let server = TestServer::start_in(namespace.clone()).await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    let created = ana.create_group("keluarga").await;
    assert_ok(&created, "create_group");
    assert_eq!(created["group_id"], 1);
    assert_ok(&ana.add_member(1, "budi").await, "add_member_to_group");
    assert_eq!(ana.recv().await["notice"], true);
    assert_eq!(budi.recv().await["notice"], true);
    assert_ok(&ana.send_group(1, "halo").await, "send_group");
    assert_eq!(ana.recv().await["message"], "halo");
    assert_eq!(budi.recv().await["message"], "halo");
    // Now durable: a passive declaration as durable succeeds.
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        namespace.group_exchange(1).into(),
        ExchangeKind::Fanout,
        ExchangeDeclareOptions {
            durable: true,
            passive: true,
            ..ExchangeDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_stops_reading_a_mailbox_at_logout() {
    use ngobrol_amqp::client::{Client, ClientOptions, Event};
    let server = TestServer::start().await;
    server
        .users
        .lock()
        .unwrap()
        .extend(["ana".into(), "budi".into()]);
    let options = ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    };
    let client = Client::connect(options.clone()).await.unwrap();
    for user in ["ana", "budi"] {
        client.register(user, "rahasia!").await.unwrap();
    }
    let (ana, mut ana_events) = client.login("ana", "rahasia!").await.unwrap();
    let session_queue = server.namespace.session_queue(ana.id().unwrap());
    let other = Client::connect(options).await.unwrap();
    let (budi, _) = other.login("budi", "rahasia!").await.unwrap();
    ana.add_friend("budi").await.unwrap();
    let conn = ngobrol_testkit::connect().await;
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let consumers = |queue: String| {
        let conn = &conn;
        async move {
            let ch = conn.create_channel().await.unwrap();
            ch.queue_declare(queue.into(), passive, FieldTable::default())
                .await
                .map(|q| q.consumer_count())
        }
    };
    // The session's queue is exclusive to its connection: nobody else may
    // even look at it.
    assert!(consumers(session_queue).await.is_err());
    ana.logout().await.unwrap();
    // Nothing reads ana's mailbox.
    assert_eq!(
        consumers(server.namespace.user_queue("ana")).await.unwrap(),
        0
    );
    // What arrives now is not handed to the ended session, but waits for
    // ana's next login.
    budi.send_direct("ana", "nanti").await.unwrap();
    let (_, mut events) = client.login("ana", "rahasia!").await.unwrap();
    match tokio::time::timeout(WAIT, events.next()).await.unwrap() {
        Some(Event::Direct(message)) => assert_eq!(message.text, "nanti"),
        other => panic!("{other:?}"),
    }
    // The next login got it, so the ended session did not take it; and
    // it holds no copy either.
    assert!(
        ana_events
            .recv_timeout(Duration::ZERO)
            .await
            .is_none_or(|event| !matches!(event, Event::Direct(_)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sdk_holds_a_bounded_part_of_a_mailbox_backlog() {
    let rules = ServiceConfig {
        request_rate: RateLimit::UNLIMITED,
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    // budi registers but is not reading: his messages pile up.
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    for i in 0..2000 {
        ana.publish(
            &json!({"method": "send_client", "username_from": "ana", "username_to": "budi",
                            "message": format!("m{i}"), "token": ana.token()}),
        )
        .await;
    }
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    let queue = server.namespace.user_queue("budi");
    let passive = QueueDeclareOptions {
        passive: true,
        ..QueueDeclareOptions::default()
    };
    let waiting = || async {
        ch.queue_declare(queue.as_str().into(), passive, FieldTable::default())
            .await
            .unwrap()
            .message_count()
    };
    let started = Instant::now();
    while waiting().await < 2000 {
        assert!(started.elapsed() < WAIT * 3, "the backlog did not build up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    use ngobrol_amqp::client::{Client, ClientOptions};
    let client = Client::connect(ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        ..ClientOptions::default()
    })
    .await
    .unwrap();
    let (_session, _events) = client.login("budi", "rahasia!").await.unwrap();
    // Nobody reads the events: the SDK takes its event buffer and its
    // prefetch, then stops; the rest stays with the broker. Wait until it
    // has taken some and the count holds still for half a second.
    let started = Instant::now();
    let mut last = waiting().await;
    let mut still = 0;
    while last == 2000 || still < 10 {
        assert!(started.elapsed() < WAIT * 3, "the SDK never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = waiting().await;
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    let held = 2000 - last;
    assert!(
        held <= 1024 + 256 + 1,
        "the SDK holds {held} messages, more than its buffer and prefetch"
    );
}
