//! The scripting mode as a shell uses it: separate `ngobrol-cli`
//! processes, one after another.

use std::process::{Command, Output, Stdio};

use ngobrol_testkit::{TestServer, assert_ok};

fn cli(server: &TestServer, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_ngobrol-cli"))
        .env("NGOBROL_AMQP_URL", ngobrol_testkit::amqp_url())
        .env("NGOBROL_NAMESPACE", server.namespace.as_str())
        .env("NGOBROL_PASSWORD", "rahasia!")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "ngobrol-cli {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_separate_cli_send_processes_deliver_three_messages() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    let mut ids = Vec::new();
    for i in 0..3 {
        let sent = cli(
            &server,
            &[
                "--user",
                "ana",
                "send",
                "--to",
                "budi",
                &format!("pesan {i}"),
            ],
        );
        ids.push(String::from_utf8(sent.stdout).unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "each run sent a message of its own: {ids:?}");

    let listened = cli(
        &server,
        &["--user", "budi", "listen", "--json", "--count", "3"],
    );
    let texts: Vec<String> = String::from_utf8(listened.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["text"].to_string())
        .collect();
    assert_eq!(texts, ["\"pesan 0\"", "\"pesan 1\"", "\"pesan 2\""]);
}
