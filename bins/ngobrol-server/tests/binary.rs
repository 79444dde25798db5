//! The real `ngobrol-server` binary: it starts from flags and environment,
//! serves a client, keeps secrets out of its logs, and stops cleanly on
//! SIGTERM.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::options::{QueueDeclareOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};

fn amqp_url() -> String {
    std::env::var("NGOBROL_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

struct Running(Child);

/// Reads `pipe` to its end on a thread of its own.
fn reader(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_stops_on_sigterm() {
    let url = amqp_url();
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| panic!("RabbitMQ at {url} does not answer ({e})"));
    let ch = conn.create_channel().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let namespace = format!("t{}", uuid::Uuid::new_v4().simple());
    let child = Command::new(env!("CARGO_BIN_EXE_ngobrol-server"))
        .env("NGOBROL_AMQP_URL", &url)
        .env("NGOBROL_DATABASE_URL", dir.path().join("db.sqlite3"))
        .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
        .arg("--namespace")
        .arg(&namespace)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Running(child);
    // Read the logs as they come, so a chatty server never blocks on a
    // full pipe.
    let readers = [
        reader(server.0.stdout.take().unwrap()),
        reader(server.0.stderr.take().unwrap()),
    ];

    // Ready once it consumes its request queue.
    let started = Instant::now();
    loop {
        let queue = ch
            .queue_declare(
                namespace.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        if queue.consumer_count() > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never consumed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A client as the original one: register and log in.
    let users = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let ns = ngobrol_amqp::Namespace::parse(namespace.clone()).unwrap();
    let mut client = ngobrol_testkit::RawClient::connect(ns, users).await;
    let reply = client.register("ana", "guest-password").await;
    assert_eq!(reply["status"], "ok", "{reply}");
    let reply = client.login("ana", "guest-password").await;
    assert_eq!(reply["status"], "ok", "{reply}");
    let token = client.token().to_owned();
    // Requests that carry the token: served, refused, and malformed (the
    // malformed one is logged and dead-lettered).
    let friends = serde_json::json!({"method": "get_friend", "username": "ana", "token": token});
    assert_eq!(client.call(friends).await["status"], "ok");
    let refused = serde_json::json!({"method": "add_friend", "username_from": "ana",
                                     "username_to": "nobody", "token": token});
    assert_eq!(client.call(refused).await["code"], "unknown_user");
    let malformed = serde_json::json!({"method": "quit_from_group", "username": "ana",
                                       "group_id": "not a number", "token": token});
    assert_eq!(client.call(malformed).await["code"], "bad_request");
    client.close().await;

    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");

    let logs: String = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert!(logs.contains("serving requests"), "{logs}");
    assert!(logs.contains("stopped"), "{logs}");
    assert!(
        !logs.contains("guest@"),
        "the broker password leaked into the logs:\n{logs}"
    );
    assert!(
        !logs.contains(&token),
        "a token leaked into the logs:\n{logs}"
    );
    assert!(
        !logs.contains("guest-password"),
        "a password leaked:\n{logs}"
    );

    for queue in [
        namespace.clone(),
        format!("{namespace}.dead"),
        format!("{namespace}_ana"),
    ] {
        let _ = ch
            .queue_delete(queue.into(), QueueDeleteOptions::default())
            .await;
    }
}

#[test]
fn an_unreachable_broker_is_retried_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Running(
        Command::new(env!("CARGO_BIN_EXE_ngobrol-server"))
            // Nothing listens on port 1.
            .env("NGOBROL_AMQP_URL", "amqp://guest:secret@127.0.0.1:1/%2f")
            .env("NGOBROL_DATABASE_URL", dir.path().join("db.sqlite3"))
            .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The log is read as it comes (a pipe read only after exit could
    // fill): wait for two attempts, then the server is still running.
    let stdout = server.0.stdout.take().unwrap();
    let (lines, seen) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines.send(line);
        }
    });
    let mut logs = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while logs.matches("cannot reach the broker").count() < 2 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = seen
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no second attempt:\n{logs}"));
        logs.push_str(&line);
        logs.push('\n');
    }
    assert!(server.0.try_wait().unwrap().is_none(), "the server gave up");
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    reader.join().unwrap();
    for line in seen.try_iter() {
        logs.push_str(&line);
        logs.push('\n');
    }
    let attempts = logs.matches("cannot reach the broker").count();
    assert!(attempts >= 2, "expected repeated attempts:\n{logs}");
    assert!(logs.contains("trying again in"), "{logs}");
    assert!(!logs.contains("secret"), "the password leaked:\n{logs}");
}
