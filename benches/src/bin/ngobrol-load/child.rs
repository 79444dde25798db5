//! The server and the relay run as child processes of the load tool (the
//! same binary, started with a hidden subcommand), so that each one's CPU
//! time and memory can be read from `/proc/<pid>` apart from the load
//! generator's, and a profiler can attach to it alone.
//!
//! The two sides talk through the child's standard streams: the child
//! prints one JSON object per line on stdout (`{"event": "ready", …}`,
//! `{"event": "stopped", …}`), and stops, gracefully, when its stdin
//! closes. Its stdin also closes when the load tool dies, and every child
//! has a lifetime limit besides, so no child outlives a run.

use std::io::{BufRead, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::sync::mpsc;

/// A child role started by the load tool.
#[derive(Debug)]
pub struct ChildProcess {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    events: mpsc::UnboundedReceiver<Value>,
}

impl ChildProcess {
    /// Starts this executable again with `args` (a role subcommand).
    pub fn spawn(name: &'static str, args: &[String]) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the load tool's executable")?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start the {name}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, events) = mpsc::unbounded_channel();
        // A plain thread: the pipe is read with blocking calls, and the
        // reader ends by itself when the child closes its stdout.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(event) => {
                        if sender.send(event).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("{name}: {line}"),
                }
            }
        });
        let stdin = child.stdin.take();
        Ok(Self {
            name,
            child,
            stdin,
            events,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child's next `event` line.
    pub async fn wait_for(&mut self, event: &str, limit: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.events.recv()).await;
            match next {
                Err(_) => bail!("the {} did not say {event:?} within {limit:?}", self.name),
                Ok(None) => bail!("the {} ended before saying {event:?}", self.name),
                Ok(Some(value)) if value["event"] == event => return Ok(value),
                Ok(Some(_)) => {}
            }
        }
    }

    /// Stops the child gracefully (its stdin closes) and waits for it to
    /// exit; kills it (this one process, by its handle) if it has not
    /// exited within `limit`. Returns its `stopped` event, if it said one.
    pub async fn stop(mut self, limit: Duration) -> Option<Value> {
        drop(self.stdin.take());
        let stopped = self.wait_for("stopped", limit).await.ok();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if std::time::Instant::now() >= deadline => {
                    eprintln!("the {} did not exit; killing it", self.name);
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        stopped
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Reached only when a run fails half-way: closing stdin asks the
        // child to stop, and the child's own lifetime limit does the rest.
        drop(self.stdin.take());
    }
}

/// The child side: prints one event line for the parent.
pub fn announce(event: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{event}");
    let _ = out.flush();
}

/// The child side: completes when the parent closes our stdin (or dies),
/// or after `lifetime`, whichever comes first.
pub async fn stop_requested(lifetime: Duration) {
    let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut sink);
        let _ = sender.send(());
    });
    tokio::select! {
        _ = receiver => {}
        () = tokio::time::sleep(lifetime) => {
            eprintln!("lifetime limit of {lifetime:?} reached; stopping");
        }
    }
}
