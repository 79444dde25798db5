//! Two people chat through the CLI, as separate processes, with a server
//! in isolated mode: the CLI needs only `--isolated`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ngobrol_testkit::IsolatedServer;

/// The server binary, built beside this one by `cargo test --workspace`.
fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ngobrol-cli")).with_file_name("ngobrol-server")
}

/// Runs `ngobrol-cli --isolated` with `args`, `stdin` as its input, to
/// its end (at most 30 s).
fn cli(server: &IsolatedServer, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ngobrol-cli"))
        .arg("--isolated")
        .args(args)
        .env("NGOBROL_AMQP_URL", server.url())
        .env("NGOBROL_NAMESPACE", server.namespace.as_str())
        .env("NGOBROL_PASSWORD", "rahasia!")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("ngobrol-cli {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "ngobrol-cli {args:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn two_people_chat_through_the_cli_in_isolated_mode() {
    let server = IsolatedServer::start(&server_binary());
    for user in ["ana", "budi"] {
        cli(&server, &["--user", user, "register"], "");
    }
    // The chat window (its password from NGOBROL_PASSWORD).
    let chat = cli(
        &server,
        &["--user", "ana"],
        "/add budi\n/msg budi halo\n/quit\n",
    );
    let shown = String::from_utf8(chat.stdout).unwrap();
    assert!(shown.contains("logged in as ana"), "{shown}");
    assert!(!shown.contains("error"), "{shown}");
    // budi was not online: the message waited for him.
    let listened = cli(
        &server,
        &["--user", "budi", "listen", "--json", "--count", "1"],
        "",
    );
    let line = String::from_utf8(listened.stdout).unwrap();
    let message: serde_json::Value = serde_json::from_str(line.lines().next().unwrap()).unwrap();
    assert_eq!(
        (message["from"].as_str(), message["text"].as_str()),
        (Some("ana"), Some("halo")),
        "{line}"
    );
    let sent = cli(
        &server,
        &["--user", "budi", "send", "--to", "ana", "halo juga"],
        "",
    );
    assert!(!sent.stdout.is_empty());
}
