//! Broker policies a test sets on the shared broker, cleared when dropped.

use std::time::Duration;

use crate::WAIT;

/// Runs `rabbitmqctl` on the shared broker's node.
fn rabbitmqctl(args: &[&str]) -> String {
    let output = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl runs");
    assert!(output.status.success(), "rabbitmqctl {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A policy capping one queue at `max` messages, the overflow refused
/// (`reject-publish`: a publisher waiting for confirms gets a nack), as an
/// operator caps a mailbox. Cleared when dropped, so a failing test leaves
/// none behind; [`apply`](Self::apply) waits until the broker applies it.
#[derive(Debug)]
pub struct QueueCap(String);

impl QueueCap {
    pub async fn apply(queue: &str, max: u32) -> Self {
        let policy = format!("cap-{queue}");
        // Its priority puts it above any catch-all policy of the broker.
        rabbitmqctl(&[
            "set_policy",
            "--apply-to",
            "queues",
            "--priority",
            "10",
            &policy,
            &format!("^{}$", queue.replace('.', "\\.")),
            &format!(r#"{{"max-length": {max}, "overflow": "reject-publish"}}"#),
        ]);
        let started = std::time::Instant::now();
        while !rabbitmqctl(&["list_queues", "name", "policy"])
            .lines()
            .any(|line| line.split('\t').next() == Some(queue) && line.contains(&policy))
        {
            assert!(
                started.elapsed() < WAIT,
                "the policy on {queue} never applied"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self(policy)
    }
}

impl Drop for QueueCap {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["clear_policy", &self.0])
            .output();
    }
}
