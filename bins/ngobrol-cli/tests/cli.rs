//! The CLI end to end, as a child process driven through stdin and
//! stdout, against a real server over the real broker: two people
//! befriend each other and chat, one to one and in a group; then the
//! scripting subcommands.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ngobrol_testkit::{TestServer, WAIT};

/// A running `ngobrol-cli` with its output collected line by line.
struct Cli {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Cli {
    fn start(server: &TestServer, args: &[&str], password: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ngobrol-cli"));
        command
            .env("NGOBROL_AMQP_URL", ngobrol_testkit::amqp_url())
            .env("NGOBROL_NAMESPACE", server.namespace.as_str())
            .env_remove("NGOBROL_PASSWORD")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(password) = password {
            command.env("NGOBROL_PASSWORD", password);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for a line containing `text`, and returns it.
    fn expect(&mut self, text: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {text:?}; the CLI printed:\n{}",
            self.seen.join("\n")
        );
    }

    /// Waits until a line containing each of `texts` has come, in any
    /// order (a reply and a notice arrive through different queues).
    fn expect_each(&mut self, texts: &[&str]) {
        let mut missing: Vec<&str> = texts.to_vec();
        let deadline = Instant::now() + WAIT;
        while !missing.is_empty()
            && let Some(left) = deadline.checked_duration_since(Instant::now())
        {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    missing.retain(|text| !line.contains(text));
                    self.seen.push(line);
                }
                Err(_) => break,
            }
        }
        assert!(
            missing.is_empty(),
            "no line with {missing:?}; the CLI printed:\n{}",
            self.seen.join("\n")
        );
    }

    fn quit(mut self) {
        self.type_line("/quit");
        drop(self.stdin.take());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            assert!(started.elapsed() < WAIT, "the CLI did not quit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sign_up(server: &TestServer, name: &str) -> Cli {
    server.users.lock().unwrap().push(name.to_owned());
    let mut cli = Cli::start(server, &[], None);
    cli.expect("type /help");
    cli.type_line(&format!("/register {name}"));
    cli.type_line("rahasia!");
    cli.expect(&format!("ok: registered {name}"));
    cli.type_line(&format!("/login {name}"));
    cli.type_line("rahasia!");
    cli.expect(&format!("ok: logged in as {name}"));
    cli
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_one_to_one_and_in_a_group() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let mut budi = sign_up(&server, "budi");

    ana.type_line("/msg budi too early");
    ana.expect("error (not_friends): you are not friends with that user");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    budi.type_line("/friends");
    budi.expect("friends: ana");

    ana.type_line("/msg budi halo budi, apa kabar?");
    ana.expect("ok: sent to budi");
    budi.expect("] ana: halo budi, apa kabar?");
    budi.type_line("/msg ana baik!");
    ana.expect("] budi: baik!");

    ana.type_line("/create Keluarga Besar");
    let created = ana.expect("ok: created group #");
    let gid: i64 = created
        .split('#')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no group id in {created:?}"));
    ana.type_line(&format!("/invite {gid} budi"));
    ana.expect(&format!("ok: added budi to group #{gid}"));
    // A notice is worded by the CLI from what the server says happened,
    // not from the server's sentence (Indonesian by default).
    budi.expect(&format!("[Keluarga Besar #{gid}] * budi joined the group"));
    budi.type_line("/groups");
    budi.expect(&format!("groups: #{gid} Keluarga Besar"));

    budi.type_line(&format!("/gmsg {gid} halo semua"));
    ana.expect(&format!("[Keluarga Besar #{gid}] budi: halo semua"));
    budi.expect(&format!("[Keluarga Besar #{gid}] budi: halo semua"));

    budi.type_line(&format!("/leave {gid}"));
    budi.expect(&format!("ok: left group #{gid}"));
    ana.expect(&format!("[Keluarga Besar #{gid}] * budi left the group"));

    budi.type_line("/fly");
    budi.expect("unknown command");
    ana.quit();
    budi.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_send_and_listen_as_json_lines() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    budi.quit();

    let mut listen = Cli::start(
        &server,
        &["--user", "budi", "listen", "--json", "--count", "1"],
        Some("rahasia!"),
    );
    // The listener is in once budi's queue has its consumer; a message sent
    // before then waits in the queue anyway.
    let mut send = Cli::start(
        &server,
        &["--user", "ana", "send", "--to", "budi", "lewat skrip"],
        Some("rahasia!"),
    );
    send.expect("sent ");
    let line = listen.expect("lewat skrip");
    let event: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["kind"], "direct");
    assert_eq!(event["from"], "ana");
    assert_eq!(event["text"], "lewat skrip");
    ana.quit();
}

/// Runs `ngobrol-cli` with `args` until it exits (within the test kit's
/// wait), and returns its exit status and its standard output, raw, and
/// standard error.
fn run_to_end(
    server: &TestServer,
    args: &[&str],
    password: &str,
) -> (std::process::ExitStatus, Vec<u8>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ngobrol-cli"))
        .env("NGOBROL_AMQP_URL", ngobrol_testkit::amqp_url())
        .env("NGOBROL_NAMESPACE", server.namespace.as_str())
        .env("NGOBROL_PASSWORD", password)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut bytes).map(|_| bytes)
    });
    let mut stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > WAIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("ngobrol-cli {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        reader.join().unwrap().unwrap(),
        errors.join().unwrap().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_from_the_network_never_reach_the_terminal() {
    // OSC 52 (set the clipboard), clear the screen, a carriage return and
    // a line feed to fake lines, a C1 CSI and DEL.
    const EVIL: &str = "halo\x1b]52;c;SGVsbG8=\x07\x1b[2J\r[00:00:00] admin: fake line\n\
                        [00:00:00] admin: another\u{9b}31m red\x7f";
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    budi.quit();

    // Text: one line, every control character shown as an escape.
    let (status, sent, _) = run_to_end(
        &server,
        &["--user", "ana", "send", "--to", "budi", EVIL],
        "rahasia!",
    );
    assert!(status.success(), "send: {status}");
    assert!(String::from_utf8_lossy(&sent).starts_with("sent "));
    let (status, out, _) = run_to_end(
        &server,
        &["--user", "budi", "listen", "--count", "1"],
        "rahasia!",
    );
    assert!(status.success(), "listen: {status}");
    let out = String::from_utf8(out).unwrap();
    for byte in [0x1b_u8, 0x07, b'\r', 0x7f] {
        assert!(
            !out.as_bytes().contains(&byte),
            "raw byte {byte:#x} in {out:?}"
        );
    }
    assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    assert_eq!(out.matches('\n').count(), 1, "not one line: {out:?}");
    assert!(
        out.contains(
            "] ana: halo\\u{1b}]52;c;SGVsbG8=\\u{7}\\u{1b}[2J\\r[00:00:00] admin: fake line\\n\
             [00:00:00] admin: another\\u{9b}31m red\\u{7f}"
        ),
        "{out:?}"
    );

    // JSON: the exact text, with no raw control character either.
    let (status, _, _) = run_to_end(
        &server,
        &["--user", "ana", "send", "--to", "budi", EVIL],
        "rahasia!",
    );
    assert!(status.success(), "send: {status}");
    let (status, out, _) = run_to_end(
        &server,
        &["--user", "budi", "listen", "--json", "--count", "1"],
        "rahasia!",
    );
    assert!(status.success(), "listen --json: {status}");
    let out = String::from_utf8(out).unwrap();
    let line = out.strip_suffix('\n').unwrap_or(&out);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    let event: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(event["kind"], "direct");
    assert_eq!(event["from"], "ana");
    assert_eq!(event["text"], EVIL);
    ana.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_worded_by_the_cli_not_the_server() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    ana.type_line("/msg nobody-here hello");
    ana.expect("error (unknown_user): there is no such user");
    ana.type_line("/add ana");
    ana.expect("error (cannot_befriend_self): you cannot befriend yourself");
    ana.type_line("/leave 424242");
    ana.expect("error (unknown_group): there is no such group");
    ana.quit();

    // The scripting mode words them too, on standard error, with exit 1.
    let (status, out, errors) = run_to_end(
        &server,
        &["--user", "ana", "send", "--to", "nobody-here", "hi"],
        "wrong password",
    );
    assert_eq!(status.code(), Some(1), "{status}\n{errors}");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert_eq!(
        errors.trim_end(),
        "ngobrol-cli: error (invalid_credentials): wrong username or password"
    );
    let (status, _, errors) = run_to_end(
        &server,
        &["--user", "ana", "send", "--to", "nobody-here", "hi"],
        "rahasia!",
    );
    assert_eq!(status.code(), Some(1), "{status}\n{errors}");
    assert_eq!(
        errors.trim_end(),
        "ngobrol-cli: error (unknown_user): there is no such user"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_a_group_from_the_chat_window() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let mut budi = sign_up(&server, "budi");
    let mut cici = sign_up(&server, "cici");
    ana.type_line("/create Keluarga");
    let created = ana.expect("ok: created group #");
    let id: String = created
        .split('#')
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    for who in ["budi", "cici"] {
        ana.type_line(&format!("/invite {id} {who}"));
        ana.expect(&format!("ok: added {who} to group #{id}"));
    }
    budi.type_line(&format!("/members {id}"));
    budi.expect(&format!("#{id} Keluarga: *ana, budi, cici"));
    budi.type_line(&format!("/kick {id} cici"));
    budi.expect("error (not_group_admin): only the group's admin can do that");
    ana.type_line(&format!("/kick {id} cici"));
    ana.expect(&format!("ok: removed cici from group #{id}"));
    cici.expect("* cici was removed from the group");
    budi.expect("* cici was removed from the group");
    ana.type_line(&format!("/transfer {id} budi"));
    ana.expect_each(&[
        "* budi is now the group's admin",
        &format!("ok: budi is now the admin of group #{id}"),
    ]);
    budi.type_line(&format!("/rename {id} Keluarga Besar"));
    budi.expect(&format!("ok: group #{id} is now called Keluarga Besar"));
    ana.expect("* budi renamed the group to Keluarga Besar");
    budi.type_line(&format!("/delete-group {id}"));
    budi.expect(&format!("ok: closed group #{id}"));
    ana.expect("* budi closed the group");
    ana.type_line("/groups");
    ana.expect("no groups yet");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    budi.type_line("/unfriend ana");
    budi.expect("ok: ana is no longer your friend");
    ana.type_line("/friends");
    ana.expect("no friends yet");
    ana.type_line("/block budi");
    ana.expect("ok: blocked budi");
    ana.type_line("/blocked");
    ana.expect("blocked: budi");
    budi.type_line("/add ana");
    budi.expect("error (unknown_user): there is no such user");
    ana.type_line("/unblock budi");
    ana.expect("ok: unblocked budi");
    for cli in [ana, budi, cici] {
        cli.quit();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_edited_and_unsent_by_its_short_reference() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let mut budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    ana.type_line("/msg budi helo");
    let sent = ana.expect("ok: sent to budi (");
    let short = sent
        .rsplit('(')
        .next()
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no reference in {sent:?}"))
        .to_owned();
    let shown = budi.expect("ana: helo");
    assert!(shown.contains(&format!(" {short}] ")), "{shown}");

    ana.type_line(&format!("/edit {short} halo"));
    ana.expect(&format!("ok: edited {short}"));
    budi.expect(&format!("{short}] ana: halo (edited)"));
    // Budi refers to it by what he was shown, and may not change it.
    budi.type_line(&format!("/unsend {short}"));
    budi.expect("error (not_author): only its author can change a message");
    budi.type_line("/history ana");
    budi.expect("ana -> budi: halo (edited)");

    ana.type_line(&format!("/unsend {short}"));
    ana.expect(&format!("ok: deleted {short}"));
    budi.expect("ana deleted a message");
    budi.type_line("/history ana");
    budi.expect("ana -> budi: (deleted)");
    ana.type_line("/edit ffffff nothing");
    ana.expect("error: no message ffffff was shown here");
    ana.quit();
    budi.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_shown_is_read_and_the_sender_sees_it() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    let mut budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    ana.type_line("/msg budi halo");
    ana.expect("ok: sent to budi");
    budi.expect("ana: halo");
    // Budi's window showed it: delivered, then read, on ana's side.
    ana.expect("· your messages delivered to budi");
    ana.expect("· your messages read by budi");
    ana.type_line("/conversations");
    ana.expect("conversations:");
    let listed = ana.expect("budi: [");
    assert!(listed.ends_with("ana: halo · read"), "{listed}");
    budi.type_line("/conversations");
    let listed = budi.expect("ana: [");
    assert!(!listed.contains("unread"), "{listed}");
    ana.quit();
    budi.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_consenting_server_requests_are_shown_and_answered() {
    let rules = ngobrol_core::ServiceConfig {
        friendship: ngobrol_core::FriendshipPolicy::Consent,
        ..ngobrol_core::ServiceConfig::default()
    };
    let server = TestServer::start_with_rules(rules).await;
    let mut ana = sign_up(&server, "ana");
    let mut budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: asked budi to be your friend; they must accept");
    budi.expect("* ana asks to be your friend: /accept ana or /decline ana");
    budi.type_line("/requests");
    budi.expect("ana asks to be your friend");
    budi.type_line("/accept ana");
    budi.expect("ok: ana is now your friend");
    ana.expect("* budi accepted: you are friends");

    budi.type_line("/create Keluarga");
    let created = budi.expect("ok: created group #");
    let gid: i64 = created
        .split('#')
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap();
    let mut cici = sign_up(&server, "cici");
    budi.type_line(&format!("/invite {gid} cici"));
    budi.expect(&format!(
        "ok: invited cici to group #{gid}; they must accept"
    ));
    cici.expect(&format!(
        "* budi invites you to #{gid} Keluarga: /accept #{gid}"
    ));
    cici.type_line(&format!("/accept #{gid}"));
    cici.expect(&format!("ok: joined group #{gid}"));
    budi.expect(&format!("[Keluarga #{gid}] * cici joined the group"));
    ana.quit();
    budi.quit();
    cici.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn friends_see_each_other_come_and_go() {
    let server = TestServer::start().await;
    let mut ana = sign_up(&server, "ana");
    ana.type_line("/add budi");
    ana.expect("error (unknown_user)");
    let budi = sign_up(&server, "budi");
    ana.type_line("/add budi");
    ana.expect("ok: budi is now your friend");
    // Budi's window says it is online when it opens; ana's shows it.
    budi.quit();
    let mut budi = Cli::start(&server, &[], None);
    budi.expect("type /help");
    budi.type_line("/login budi");
    budi.type_line("rahasia!");
    budi.expect("ok: logged in as budi");
    ana.expect("· budi is online");
    budi.type_line("/share off");
    budi.expect("ok: your friends no longer see when you are online or typing");
    ana.expect("· budi is offline");
    ana.quit();
    budi.quit();
}
