//! The scripting mode as a shell uses it: separate `ngobrol-cli`
//! processes, one after another.

use std::process::{Command, Output, Stdio};

use ngobrol_testkit::{TestServer, assert_ok};

/// `ngobrol-cli` with `args` on the test's server, every person's password
/// `rahasia!`, its output piped.
fn command(server: &TestServer, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ngobrol-cli"));
    command
        .env("NGOBROL_AMQP_URL", ngobrol_testkit::amqp_url())
        .env("NGOBROL_NAMESPACE", server.namespace.as_str())
        .env("NGOBROL_PASSWORD", "rahasia!")
        .args(args)
        .stdout(Stdio::piped());
    command
}

/// Runs `ngobrol-cli` with `args` to its end (at most 30 s: a hang fails
/// the test instead of stalling the suite), asserting it succeeds.
fn cli(server: &TestServer, args: &[&str]) -> Output {
    let mut child = command(server, args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            panic!("ngobrol-cli {args:?} did not finish");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_listeners_and_the_chat_window_of_one_person_each_get_every_message() {
    use ngobrol_core::{SessionRepository, Username};
    use std::io::{BufRead, BufReader, Write};

    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");

    let spawn = |args: &[&str]| {
        let mut child = command(&server, args);
        child.stdin(Stdio::piped()).stderr(Stdio::inherit());
        child.spawn().unwrap()
    };
    let listen = ["--user", "budi", "listen", "--json", "--count", "3"];
    let listeners = [spawn(&listen), spawn(&listen)];
    // The chat window, logged in as budi too (its password on stdin).
    let mut window = spawn(&["--user", "budi"]);
    let mut stdin = window.stdin.take().unwrap();
    writeln!(stdin, "rahasia!").unwrap();
    let budi = Username::parse("budi").unwrap();
    let started = std::time::Instant::now();
    while server.store.sessions_of(&budi).await.unwrap().len() < 3 {
        assert!(
            started.elapsed() < ngobrol_testkit::WAIT,
            "the devices never logged in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    for i in 0..3 {
        cli(
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
    }
    for listener in listeners {
        let output = listener.wait_with_output().unwrap();
        let texts: Vec<String> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].to_string())
            .collect();
        assert_eq!(texts, ["\"pesan 0\"", "\"pesan 1\"", "\"pesan 2\""]);
    }
    let mut lines = BufReader::new(window.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let line = lines.next().expect("the window printed").unwrap();
        if let Some(at) = line.find("ana: pesan ") {
            seen.push(line[at..].to_owned());
        }
    }
    assert_eq!(seen, ["ana: pesan 0", "ana: pesan 1", "ana: pesan 2"]);
    writeln!(stdin, "/quit").unwrap();
    drop(stdin);
    let _ = window.wait();
}

fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A `listen` run that stopped resumes with `--since` from the cursor it
/// printed last, and gets what came meanwhile once, though another device
/// of the person's was online all along; `history` and `/history` print
/// both sides of the conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_resumes_with_since_and_history_prints_both_sides() {
    use std::io::{BufRead, BufReader, Write};

    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    // Budi's chat window stays online throughout.
    let mut window = command(&server, &["--user", "budi"])
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = window.stdin.take().unwrap();
    writeln!(stdin, "rahasia!").unwrap();
    let mut lines = BufReader::new(window.stdout.take().unwrap()).lines();
    let mut wait_for = |needle: &str| loop {
        let line = lines.next().expect("the window printed").unwrap();
        if line.contains(needle) {
            return line;
        }
    };
    wait_for("logged in as budi");

    let listener = command(
        &server,
        &["--user", "budi", "listen", "--json", "--count", "2"],
    )
    .stdin(Stdio::null())
    .stderr(Stdio::inherit())
    .spawn()
    .unwrap();
    // Once the listener is in (the window's session and its own), two
    // messages.
    let budi = ngobrol_core::Username::parse("budi").unwrap();
    let started = std::time::Instant::now();
    while ngobrol_core::SessionRepository::sessions_of(&*server.store, &budi)
        .await
        .unwrap()
        .len()
        < 2
    {
        assert!(started.elapsed() < ngobrol_testkit::WAIT, "no listener");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for i in 0..2 {
        cli(
            &server,
            &["--user", "ana", "send", "--to", "budi", &format!("m{i}")],
        );
    }
    let first = listener.wait_with_output().unwrap();
    let first = json_lines(&first);
    assert_eq!(first[1]["text"], "m1");
    let cursor = first[1]["cursor"].as_u64().expect("a cursor in each line");

    // The listener is gone; three more arrive (the window gets them).
    for i in 2..5 {
        cli(
            &server,
            &["--user", "ana", "send", "--to", "budi", &format!("m{i}")],
        );
    }
    wait_for("ana: m4");
    let resumed = cli(
        &server,
        &[
            "--user",
            "budi",
            "listen",
            "--json",
            "--count",
            "3",
            "--since",
            &cursor.to_string(),
        ],
    );
    let texts: Vec<_> = json_lines(&resumed)
        .iter()
        .map(|line| line["text"].clone())
        .collect();
    assert_eq!(texts, ["m2", "m3", "m4"]);

    cli(&server, &["--user", "budi", "send", "--to", "ana", "siap"]);
    let history = cli(
        &server,
        &["--user", "budi", "history", "ana", "--count", "3"],
    );
    let history = String::from_utf8(history.stdout).unwrap();
    let printed: Vec<_> = history.lines().collect();
    assert_eq!(printed.len(), 3, "{history}");
    assert!(printed[0].ends_with("ana -> budi: m3"), "{history}");
    assert!(printed[2].ends_with("budi -> ana: siap"), "{history}");

    writeln!(stdin, "/history ana 2").unwrap();
    wait_for("history with ana:");
    assert!(wait_for("m4").ends_with("ana -> budi: m4"));
    assert!(wait_for("siap").ends_with("budi -> ana: siap"));
    writeln!(stdin, "/history #99").unwrap();
    assert!(wait_for("error").contains("error"));
    writeln!(stdin, "/quit").unwrap();
    drop(stdin);
    let _ = window.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listen_with_all_events_shows_an_edit_beside_the_message() {
    use ngobrol_core::{SessionRepository, Username};

    let server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    assert_ok(&ana.register("budi", "rahasia!").await, "register");
    assert_ok(&ana.add_friend("budi").await, "add_friend");
    let listen = |extra: &[&str]| {
        let mut args = vec!["--user", "budi", "listen", "--json", "--count", "2"];
        args.extend_from_slice(extra);
        command(&server, &args)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap()
    };
    let everything = listen(&["--all-events"]);
    let messages = listen(&[]);
    let budi = Username::parse("budi").unwrap();
    let started = std::time::Instant::now();
    while server.store.sessions_of(&budi).await.unwrap().len() < 2 {
        assert!(started.elapsed() < ngobrol_testkit::WAIT, "no listeners");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let sent = cli(&server, &["--user", "ana", "send", "--to", "budi", "helo"]);
    let sent = String::from_utf8(sent.stdout).unwrap();
    let id = sent.trim().strip_prefix("sent ").unwrap().to_owned();
    cli(&server, &["--user", "ana", "edit", &id, "halo"]);
    cli(&server, &["--user", "ana", "send", "--to", "budi", "lagi"]);

    let kinds = |child: std::process::Child| -> Vec<(String, String)> {
        json_lines(&child.wait_with_output().unwrap())
            .iter()
            .map(|l| {
                (
                    l["kind"].as_str().unwrap().to_owned(),
                    l["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let pair = |k: &str, t: &str| (k.to_owned(), t.to_owned());
    assert_eq!(
        kinds(everything),
        [pair("direct", "helo"), pair("edited", "halo")]
    );
    assert_eq!(
        kinds(messages),
        [pair("direct", "helo"), pair("direct", "lagi")]
    );
}
