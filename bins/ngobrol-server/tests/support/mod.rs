//! What the tests that run the real binary share: a server process, the
//! wait until it serves, and the check of its log.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties};
use ngobrol_amqp::Namespace;

/// A running `ngobrol-server`, killed with SIGKILL when dropped.
pub struct ServerProcess(pub Child);

impl ServerProcess {
    /// The server on `database` in `namespace`, logging to `log`, with
    /// the settings of `extra` (environment variables) on top of the
    /// tests' own.
    pub fn start(
        amqp_url: &str,
        database: &str,
        namespace: &Namespace,
        log: &Path,
        extra: &[(&str, &str)],
    ) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ngobrol-server"))
            .env("NGOBROL_AMQP_URL", amqp_url)
            .env("NGOBROL_DATABASE_URL", database)
            .env("NGOBROL_NAMESPACE", namespace.as_str())
            .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
            .env("NGOBROL_RATE_PER_SECOND", "0")
            .env("RUST_LOG", "info")
            .env_remove("NGOBROL_CONFIG")
            .envs(extra.iter().copied())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        Self(child)
    }

    pub fn kill(mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }

    /// Sends `signal` (`TERM`, `INT`) and waits for a clean exit.
    pub fn stop_with(mut self, signal: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.0.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal} failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                assert!(status.success(), "exit after SIG{signal}: {status}");
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no exit after SIG{signal}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Fails on any error-level line in a server's log, but those that
/// contain one of `expected`.
pub fn assert_no_unexpected_errors(log: &Path, expected: &[&str]) {
    let logs = std::fs::read_to_string(log).unwrap();
    let unexpected: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("ERROR"))
        .filter(|line| !expected.iter().any(|e| line.contains(e)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "error lines in the server's log:\n{}",
        unexpected.join("\n")
    );
}

/// How many consumers `queue` has (declaring it as the original client
/// does, if it is the request queue; passively otherwise).
async fn consumers(conn: &Connection, queue: &str, passive: bool) -> Option<u32> {
    let ch = conn.create_channel().await.unwrap();
    let declared = ch
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive,
                durable: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await
        .ok()?;
    let _ = ch.close(200, "ok".into()).await;
    Some(declared.consumer_count())
}

/// Waits until some server takes in the namespace's request queue, its
/// first shard is served, and every server of `logs` says it serves (the
/// broker counts only the active consumer of a shard); else fails,
/// showing the logs.
pub async fn wait_until_served_by(amqp_url: &str, namespace: &Namespace, logs: &[&Path]) {
    let conn = Connection::connect(amqp_url, ConnectionProperties::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let intake = consumers(&conn, &namespace.request_queue(), false).await;
        let shard = consumers(&conn, &namespace.shard_queue(0), true).await;
        let serving = logs.iter().all(|log| {
            std::fs::read_to_string(log).is_ok_and(|text| text.contains("serving requests"))
        });
        if intake > Some(0) && shard > Some(0) && serving {
            break;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = logs
                .iter()
                .map(|log| std::fs::read_to_string(log).unwrap_or_default())
                .collect();
            panic!(
                "{namespace} is not served (intake: {intake:?}, shard 0: {shard:?}); logs:\n{}",
                logs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = conn.close(200, "ok".into()).await;
}

/// Waits until some server takes in the namespace's request queue.
pub async fn wait_until_served(amqp_url: &str, namespace: &Namespace) {
    wait_until_served_by(amqp_url, namespace, &[]).await;
}
