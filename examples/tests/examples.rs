//! Every example, run against a real server over the real broker (or, for
//! `in_process`, with no broker at all). The example files are compiled in
//! as modules, so what runs here is their own code.

#![allow(dead_code)]

#[path = "../echo_bot.rs"]
mod echo_bot;
#[path = "../embedded_server.rs"]
mod embedded_server;
#[path = "../in_process.rs"]
mod in_process;
#[path = "../raw_client.rs"]
mod raw_client;

use std::time::{Duration, Instant};

use ngobrol_amqp::ServerConfig;
use ngobrol_amqp::client::{Client, ClientOptions, ErrorCode, Event};
use ngobrol_core::{PasswordHasher, ServiceConfig};
use ngobrol_testkit::{TestServer, WAIT, amqp_url, fresh_namespace, remove_broker_objects};

fn options(namespace: &ngobrol_amqp::Namespace) -> ClientOptions {
    ClientOptions {
        amqp_url: amqp_url(),
        namespace: namespace.clone(),
        timeout: WAIT,
        retries: 0,
        isolated: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_process_runs_a_whole_conversation() {
    let shown = in_process::run().await.unwrap();
    assert!(
        shown.contains(
            &"cici -> ana refused: you are not friends with ana (not_friends)".to_owned()
        )
    );
    assert!(
        shown.contains(&"  ana: halo budi!".to_owned()),
        "{shown:#?}"
    );
    assert!(
        shown.contains(&"  [Keluarga] budi: halo semua".to_owned()),
        "{shown:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_client_speaks_the_protocol_by_hand() {
    let server = TestServer::start().await;
    server.users.lock().unwrap().push("ana".into());
    let said = raw_client::run(&amqp_url(), server.namespace.as_str(), "ana", "rahasia!")
        .await
        .unwrap();
    assert_eq!(
        said,
        vec![
            r#"register: "ok" ("Akun berhasil dibuat.")"#.to_owned(),
            "login: ok".to_owned(),
            "friends: []".to_owned(),
            "groups: []".to_owned(),
        ]
    );
    // A second run finds the name taken and still logs in.
    let said = raw_client::run(&amqp_url(), server.namespace.as_str(), "ana", "rahasia!")
        .await
        .unwrap();
    assert!(said[0].starts_with(r#"register: "error""#), "{said:?}");
    assert_eq!(said[1], "login: ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_bot_answers_direct_messages() {
    let server = TestServer::start().await;
    server
        .users
        .lock()
        .unwrap()
        .extend(["echo".to_owned(), "ana".to_owned()]);
    let bot = tokio::spawn(echo_bot::run(
        options(&server.namespace),
        "echo",
        "bot-secret",
        Some(2),
    ));

    let client = Client::connect(options(&server.namespace)).await.unwrap();
    client.register("ana", "rahasia!").await.unwrap();
    let (ana, mut events) = client.login("ana", "rahasia!").await.unwrap();
    // The bot registers itself; befriend it once it exists.
    let started = Instant::now();
    while let Err(e) = ana.add_friend("echo").await {
        assert_eq!(e.code(), Some(&ErrorCode::UnknownUser), "{e}");
        assert!(started.elapsed() < WAIT, "the bot never registered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for text in ["satu", "dua"] {
        ana.send_direct("echo", text).await.unwrap();
        match events.recv_timeout(WAIT).await {
            Some(Event::Direct(m)) => {
                assert_eq!(m.from, "echo");
                assert_eq!(m.text, format!("echo: {text}"));
            }
            other => panic!("expected the echo, got {other:?}"),
        }
    }
    assert_eq!(bot.await.unwrap().unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_server_serves_until_told_to_stop() {
    let namespace = fresh_namespace();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("embedded.sqlite3");
    let config = ServerConfig {
        amqp_url: amqp_url(),
        namespace: namespace.clone(),
        ..ServerConfig::default()
    };
    let rules = ServiceConfig {
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        ..ServiceConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        embedded_server::serve(database.to_str().unwrap(), config, rules, async {
            let _ = stopped.await;
        })
        .await
    });

    // Requests wait in the queue until the server consumes them.
    let client = Client::connect(options(&namespace)).await.unwrap();
    client.register("ana", "rahasia!").await.unwrap();
    let (ana, _) = client.login("ana", "rahasia!").await.unwrap();
    assert_eq!(ana.friends().await.unwrap(), Vec::<String>::new());

    stop.send(()).unwrap();
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the server stops")
        .unwrap()
        .unwrap();
    remove_broker_objects(&namespace, &["ana".to_owned()], &[]).await;
}
