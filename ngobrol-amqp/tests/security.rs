//! The security promises, each against the real server over the real
//! broker: sessions expire and can be revoked, identity comes from the
//! token, notices cannot be forged, every limit answers with its code,
//! rate limits kick in and recover, hostile text round-trips or is refused.

use std::time::Duration;

use ngobrol_amqp::ServerConfig;
use ngobrol_core::{Clock, RateLimit, ServiceConfig};
use ngobrol_testkit::{TestServer, assert_error, assert_ok};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused() {
    let clock = Clock::manual();
    let rules = ServiceConfig {
        token_ttl: Duration::from_secs(3600),
        clock: clock.clone(),
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let request = json!({"method": "get_friend", "username": "ana", "token": ana.token()});
    clock.advance(Duration::from_secs(3599));
    assert_ok(&ana.call(request.clone()).await, "get_friend");
    clock.advance(Duration::from_secs(1));
    assert_error(&ana.call(request).await, "get_friend", "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_token_is_refused() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let logout = json!({"method": "logout", "username": "ana", "token": ana.token()});
    assert_ok(&ana.call(logout.clone()).await, "logout");
    assert_error(&ana.call(logout).await, "logout", "invalid_token");
    let request = json!({"method": "get_group", "username": "ana", "token": ana.token()});
    assert_error(&ana.call(request).await, "get_group", "invalid_token");
    // Logging in again works.
    assert_ok(&ana.login("ana", "rahasia!").await, "login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_cannot_be_forged() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    for name in ["admin", "Admin", "ADMIN"] {
        assert_error(
            &ana.register(name, "rahasia!").await,
            "register",
            "reserved_username",
        );
    }
    let gid = ana.create_group("g").await["group_id"].as_i64().unwrap();
    assert_ok(&ana.add_member(gid, "budi").await, "add_member_to_group");
    let notice = budi.recv().await;
    assert_eq!(
        (notice["username_from"].as_str(), notice["notice"].as_bool()),
        (Some("admin"), Some(true))
    );
    let _ = ana.recv().await;

    // A member who dresses a message up as a notice sends a plain message,
    // under their own name.
    let forged = json!({
        "method": "send_group", "username_from": "ana", "group_id_to": gid,
        "message": "budi was removed by admin", "notice": true, "token": ana.token(),
    });
    assert_ok(&ana.call(forged).await, "send_group");
    let got = budi.recv().await;
    assert_eq!(got["username_from"], "ana", "{got}");
    assert!(got.get("notice").is_none(), "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_limits_answer_with_their_codes() {
    let rules = ServiceConfig {
        max_group_members: 2,
        max_groups_per_user: 2,
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    let mut cici = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    cici.sign_up("cici").await;

    let g1 = ana.create_group("satu").await["group_id"].as_i64().unwrap();
    let g2 = ana.create_group("dua").await["group_id"].as_i64().unwrap();
    assert_error(
        &ana.create_group("tiga").await,
        "create_group",
        "too_many_groups",
    );

    assert_ok(&ana.add_member(g1, "budi").await, "add_member_to_group");
    assert_error(
        &ana.add_member(g1, "cici").await,
        "add_member_to_group",
        "group_full",
    );

    let b1 = budi.create_group("budi punya").await["group_id"]
        .as_i64()
        .unwrap();
    assert!(b1 > g2);
    assert_error(
        &ana.add_member(g2, "budi").await,
        "add_member_to_group",
        "too_many_groups",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_are_bounded_at_both_ends() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    assert_error(
        &ana.register("ana", "pendek").await,
        "register",
        "invalid_password",
    );
    assert_error(
        &ana.register("ana", &"x".repeat(1025)).await,
        "register",
        "invalid_password",
    );
    assert_ok(&ana.register("ana", &"x".repeat(1024)).await, "register");
    assert_error(
        &ana.login("ana", &"x".repeat(5000)).await,
        "login",
        "invalid_credentials",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_rate_limit_kicks_in_and_recovers() {
    let clock = Clock::manual();
    let rules = ServiceConfig {
        request_rate: RateLimit {
            burst: 3,
            per_second: 4.0,
        },
        clock: clock.clone(),
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let ask = |ana: &ngobrol_testkit::RawClient| json!({"method": "get_group", "username": "ana", "token": ana.token()});
    for _ in 0..3 {
        let request = ask(&ana);
        assert_ok(&ana.call(request).await, "get_group");
    }
    let request = ask(&ana);
    let refused = ana.call(request).await;
    assert_error(&refused, "get_group", "rate_limited");
    let wait = refused["retry_after_ms"].as_u64().expect("a retry hint");
    assert_eq!(wait, 250, "one request's worth at 4 per second: {refused}");
    clock.advance(Duration::from_millis(249));
    let request = ask(&ana);
    assert_error(&ana.call(request).await, "get_group", "rate_limited");
    clock.advance(Duration::from_millis(1));
    let request = ask(&ana);
    assert_ok(&ana.call(request).await, "get_group");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_throttled_per_username() {
    let rules = ServiceConfig {
        auth_failures: RateLimit {
            burst: 3,
            per_second: 0.01,
        },
        ..ServiceConfig::default()
    };
    let server = TestServer::start_with(ServerConfig::default(), rules).await;
    let mut ana = server.client().await;
    assert_ok(&ana.register("ana", "rahasia!").await, "register");
    for guess in ["a1234567", "b1234567", "c1234567"] {
        assert_error(
            &ana.login("ana", guess).await,
            "login",
            "invalid_credentials",
        );
    }
    let throttled = ana.login("ana", "d1234567").await;
    assert_error(&throttled, "login", "rate_limited");
    assert!(
        throttled["retry_after_ms"].as_u64().unwrap() > 1000,
        "{throttled}"
    );
    assert_eq!(throttled["token"], "");
    // Other names are not affected.
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.login("budi", "rahasia!").await, "login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_text_round_trips_exactly() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    let texts = [
        "'; DROP TABLE users; --",
        "\" OR \"1\"=\"1",
        "Robert'); DELETE FROM sessions;--",
        "emoji 👩‍👩‍👧‍👦🔥 and ümlauts, 日本語, العربية",
        "nul \u{0} inside, tab\tand\nnewline",
        "{\"method\":\"register\"}",
        "",
    ];
    for text in texts {
        assert_ok(&ana.send_client("budi", text).await, "send_client");
        let got = budi.recv().await;
        assert_eq!(got["message"], text, "{got}");
    }

    let name = "Grup '); DROP TABLE chat_groups; -- 🎉";
    let gid = ana.create_group(name).await["group_id"].as_i64().unwrap();
    let listed = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_eq!(
        listed["groups"],
        json!([{"group_name": name, "group_id": gid}])
    );
    assert_error(
        &ana.create_group("nul\u{0}name").await,
        "create_group",
        "invalid_group_name",
    );
    for hostile in ["ana'--", "budi\u{0}", "x y", "../ngobrol", "ana;DROP"] {
        assert_error(
            &ana.add_friend(hostile).await,
            "add_friend",
            "invalid_username",
        );
    }
    budi.assert_nothing_arrived().await;
}
