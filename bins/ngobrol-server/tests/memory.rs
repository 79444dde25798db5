//! The server's memory stays bounded under a flood of refused
//! unauthenticated requests: the real binary, its resident memory read
//! from /proc.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lapin::BasicProperties;
use lapin::options::{BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use ngobrol_testkit::{RawClient, amqp_url, fresh_namespace, remove_broker_objects};
use serde_json::json;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

/// Publishes `count` registrations with a one-character password (refused
/// before any hashing) and reads every reply.
async fn flood(client: &mut RawClient, count: usize) {
    let queue = client.namespace.request_queue();
    for i in 0..count {
        let body = json!({"method": "register", "username": format!("u{i}"), "password": "x",
                          "queue_name": client.reply_queue});
        client
            .channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&body).unwrap(),
                BasicProperties::default(),
            )
            .await
            .unwrap();
    }
    for _ in 0..count {
        let reply = client.next_reply().await;
        assert_eq!(reply["status"], "error", "{reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_thousand_refused_registrations_leave_memory_where_it_was() {
    let namespace = fresh_namespace();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_ngobrol-server"))
        .env("NGOBROL_AMQP_URL", amqp_url())
        .env("NGOBROL_DATABASE_URL", dir.path().join("db.sqlite3"))
        .env("NGOBROL_NAMESPACE", namespace.as_str())
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Running(child);
    let pid = server.0.id();
    let mut client = RawClient::connect(namespace.clone(), Default::default()).await;
    let started = Instant::now();
    loop {
        let queue = client
            .channel
            .queue_declare(
                namespace.request_queue().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        if queue.consumer_count() > 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "never served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Warm up (allocator pools, channel buffers), then measure.
    flood(&mut client, 10_000).await;
    let before = rss_kib(pid);
    flood(&mut client, 30_000).await;
    let after = rss_kib(pid);
    let grown = after.saturating_sub(before);
    eprintln!("resident memory: {before} KiB after 10,000, {after} KiB after 40,000");
    assert!(
        grown < 4 * 1024,
        "resident memory grew by {grown} KiB ({before} → {after} KiB)"
    );
    drop(server);
    remove_broker_objects(&namespace, &[], &[]).await;
}
