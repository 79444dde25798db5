//! The operator's side, with the real binary: the HTTP probes and metrics
//! over real HTTP, the config file's layering and its errors, and every
//! admin command on SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ngobrol_core::memory::MemoryOutbound;
use ngobrol_core::{
    Auth, ChatError, ChatService, GroupName, Password, Ports, ServiceConfig, Username,
};
use ngobrol_store::{Store, StoreOptions};
use ngobrol_testkit::{Database, PrivateBroker, RawClient, TestDatabase, fresh_namespace};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ngobrol-server");

/// A server process with its HTTP listener on a free port; killed when
/// dropped.
struct Served {
    child: Child,
    http: SocketAddr,
}

impl Served {
    fn start(amqp_url: &str, database: &str, namespace: &str, log: &Path) -> Self {
        let out = std::fs::File::create(log).unwrap();
        let child = Command::new(BIN)
            .env("NGOBROL_AMQP_URL", amqp_url)
            .env("NGOBROL_DATABASE_URL", database)
            .env("NGOBROL_NAMESPACE", namespace)
            .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
            .env("NGOBROL_HTTP_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = loop {
            let logs = std::fs::read_to_string(log).unwrap();
            let listening = logs
                .lines()
                .find(|l| l.contains("HTTP listener up"))
                .and_then(|l| l.split("addr=").nth(1))
                .and_then(|a| a.trim().parse().ok());
            if let Some(addr) = listening {
                break addr;
            }
            assert!(Instant::now() < deadline, "no HTTP listener:\n{logs}");
            std::thread::sleep(Duration::from_millis(50));
        };
        Self { child, http }
    }

    /// Polls `path` until it answers `status`.
    fn wait_for(&self, path: &str, status: u16) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (got, body) = get(self.http, path);
            if got == status {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: {got} {body}, not {status}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.1: the status and the body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    (status, body.to_owned())
}

/// The value of the sample `series` (name with labels, as rendered).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probes_answer_over_http_and_the_counters_move() {
    let dir = tempfile::tempdir().unwrap();
    let namespace = fresh_namespace();
    let database = dir.path().join("ngobrol.sqlite3");
    let served = Served::start(
        &ngobrol_testkit::amqp_url(),
        database.to_str().unwrap(),
        namespace.as_str(),
        &dir.path().join("log"),
    );
    assert_eq!(get(served.http, "/healthz"), (200, "ok\n".into()));
    served.wait_for("/readyz", 200);
    let before = get(served.http, "/metrics").1;
    assert_eq!(
        sample(&before, "ngobrol_broker_connected"),
        Some(1.0),
        "{before}"
    );
    assert_eq!(
        sample(&before, "ngobrol_deliveries_total{kind=\"direct\"}"),
        Some(0.0),
        "{before}"
    );

    let users = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut ana = RawClient::connect(namespace.clone(), users.clone()).await;
    let mut budi = RawClient::connect(namespace.clone(), users.clone()).await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    assert_eq!(ana.add_friend("budi").await["status"], "ok");
    assert_eq!(ana.send_client("budi", "halo").await["status"], "ok");
    assert_eq!(budi.recv().await["message"], "halo");
    let refused = ana.send_client("nobody", "halo").await;
    assert_eq!(refused["code"], "unknown_user", "{refused}");

    let after = get(served.http, "/metrics").1;
    let requests = |method: &str, code: &str| {
        sample(
            &after,
            &format!("ngobrol_requests_total{{method=\"{method}\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(requests("register", "ok"), Some(2.0), "{after}");
    assert_eq!(requests("login", "ok"), Some(2.0), "{after}");
    assert_eq!(requests("send_client", "ok"), Some(1.0), "{after}");
    assert_eq!(
        requests("send_client", "unknown_user"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "ngobrol_deliveries_total{kind=\"direct\"}"),
        Some(1.0),
        "{after}"
    );
    assert!(
        sample(
            &after,
            "ngobrol_request_duration_seconds_count{method=\"login\"}"
        ) == Some(2.0),
        "{after}"
    );
    assert!(
        after.contains("ngobrol_hashing_wait_seconds_bucket"),
        "{after}"
    );
    assert_eq!(get(served.http, "/nothing-here").0, 404);
    let names: Vec<String> = users.lock().unwrap().clone();
    ngobrol_testkit::remove_broker_objects(&namespace, &names, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_503_while_the_broker_is_down_and_healthz_stays_200() {
    let broker = PrivateBroker::start();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ngobrol.sqlite3");
    let served = Served::start(
        &broker.url(),
        database.to_str().unwrap(),
        fresh_namespace().as_str(),
        &dir.path().join("log"),
    );
    served.wait_for("/readyz", 200);
    broker.stop_app();
    let why = served.wait_for("/readyz", 503);
    assert!(why.contains("broker"), "{why}");
    assert_eq!(get(served.http, "/healthz").0, 200);
    let down = get(served.http, "/metrics").1;
    assert_eq!(
        sample(&down, "ngobrol_broker_connected"),
        Some(0.0),
        "{down}"
    );
    broker.start_app();
    served.wait_for("/readyz", 200);
    let up = get(served.http, "/metrics").1;
    assert!(
        sample(&up, "ngobrol_broker_reconnects_total").is_some_and(|n| n >= 1.0),
        "{up}"
    );
}

fn ngobrol_server(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("NGOBROL_CONFIG")
        .envs(env.iter().copied())
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
    child.wait_with_output().unwrap()
}

#[test]
fn the_config_file_lies_under_the_environment_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ngobrol.toml");
    std::fs::write(
        &file,
        "lanes = 8\nprefetch = 10\nnamespace = \"from_file\"\nrate_per_second = 2.5\n\
         amqp_url = \"amqp://ana:hush-hush@127.0.0.1:5672/%2f\"\n",
    )
    .unwrap();
    let out = ngobrol_server(
        &["--namespace", "from_flag", "config"],
        &[
            ("NGOBROL_CONFIG", file.to_str().unwrap()),
            ("NGOBROL_PREFETCH", "20"),
        ],
        "",
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{printed}");
    for line in [
        "lanes = 8  # config file",
        "prefetch = 20  # environment",
        "namespace = \"from_flag\"  # flag",
        "rate_per_second = 2.5  # config file",
        "min_password_chars = 8  # default",
        "amqp_url = \"amqp://ana:***@127.0.0.1:5672/%2f\"  # config file",
    ] {
        assert!(
            printed.lines().any(|l| l == line),
            "{line:?} not in:\n{printed}"
        );
    }
    assert!(!printed.contains("hush-hush"), "{printed}");
    // What it prints is a config file itself.
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &printed).unwrap();
    let out = ngobrol_server(&["--config", again.to_str().unwrap(), "config"], &[], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unknown_key_or_a_bad_value_in_the_config_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "lanez = 4\nlanes = \"many\"\nprefetch = [1]\nmax_group_members = 0\n",
    )
    .unwrap();
    let out = ngobrol_server(&["--config", file.to_str().unwrap(), "stats"], &[], "");
    let errors = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{errors}");
    assert!(errors.contains("unknown setting `lanez`"), "{errors}");
    assert!(errors.contains("`lanes`: invalid value 'many'"), "{errors}");
    assert!(
        errors.contains("`prefetch` must be a string or a number"),
        "{errors}"
    );
    // A value of the right type but out of range: the flags' own check.
    std::fs::write(&file, "max_group_members = 0\n").unwrap();
    let out = ngobrol_server(&["--config", file.to_str().unwrap(), "stats"], &[], "");
    let errors = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{errors}");
    assert!(
        errors.contains("--max-group-members (NGOBROL_MAX_GROUP_MEMBERS) must be between 1"),
        "{errors}"
    );
    assert!(errors.contains("max_group_members"), "{errors}");
    let missing = ngobrol_server(&["--config", "/nonexistent/ngobrol.toml", "stats"], &[], "");
    assert_eq!(missing.status.code(), Some(2));
}

/// Runs an admin command on `url` and returns its JSON output.
fn admin(url: &str, namespace: &str, args: &[&str], stdin: &str) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let out = ngobrol_server(
        &all,
        &[
            ("NGOBROL_DATABASE_URL", url),
            ("NGOBROL_NAMESPACE", namespace),
            ("NGOBROL_PBKDF2_ITERATIONS", "1000"),
            ("NGOBROL_AMQP_URL", &ngobrol_testkit::amqp_url()),
        ],
        stdin,
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

async fn admin_commands_on(database: Database) {
    let (_database, url) = TestDatabase::create(database);
    let namespace = fresh_namespace();
    let ns = namespace.as_str();
    let store = Arc::new(Store::open(&url, &StoreOptions::default()).unwrap());
    let rules = ServiceConfig {
        pbkdf2_iterations: 1000,
        ..ServiceConfig::default()
    };
    let chat = ChatService::new(Ports::new(store, Arc::new(MemoryOutbound::new())), rules).unwrap();
    let user = |name: &str| Username::parse(name).unwrap();
    let pw = |p: &str| Password::new(p);
    for name in ["ana", "budi", "cici"] {
        chat.register(&user(name), &pw("rahasia!")).await.unwrap();
    }
    let login = chat
        .login(&user("ana"), &pw("rahasia!"), None)
        .await
        .unwrap();
    let ana = Auth::new(user("ana"), login.token);
    let group = chat
        .create_group(&ana, &GroupName::parse("kelas").unwrap())
        .await
        .unwrap();

    let listed = admin(&url, ns, &["users", "list"], "");
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(listed[0]["username"], "ana");
    assert_eq!(listed[0]["sessions"], 1);
    let found = admin(&url, ns, &["users", "find", "ud"], "");
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["username"], "budi");

    let sessions = admin(&url, ns, &["sessions", "list", "ana"], "");
    assert_eq!(sessions.as_array().unwrap().len(), 1, "{sessions}");
    let disabled = admin(&url, ns, &["users", "disable", "ana"], "");
    assert_eq!(disabled["sessions_ended"], 1, "{disabled}");
    assert_eq!(
        chat.authenticate(&ana).await.err(),
        Some(ChatError::InvalidToken)
    );
    assert_eq!(
        chat.login(&user("ana"), &pw("rahasia!"), None).await.err(),
        Some(ChatError::AccountDisabled)
    );
    assert_eq!(
        chat.login(&user("ana"), &pw("wrong one"), None).await.err(),
        Some(ChatError::InvalidCredentials),
        "only the password's holder learns of the disabling"
    );
    assert_eq!(admin(&url, ns, &["users", "list"], "")[0]["disabled"], true);
    admin(&url, ns, &["users", "enable", "ana"], "");
    chat.login(&user("ana"), &pw("rahasia!"), None)
        .await
        .unwrap();

    let reset = admin(&url, ns, &["users", "reset-password", "ana"], "");
    let generated = reset["password"].as_str().unwrap().to_owned();
    assert_eq!(generated.len(), 20, "{reset}");
    assert_eq!(reset["sessions_ended"], 1, "{reset}");
    assert_eq!(
        chat.login(&user("ana"), &pw("rahasia!"), None).await.err(),
        Some(ChatError::InvalidCredentials)
    );
    chat.login(&user("ana"), &pw(&generated), None)
        .await
        .unwrap();
    let typed = admin(
        &url,
        ns,
        &["users", "reset-password", "budi", "--stdin"],
        "kata sandi baru\n",
    );
    assert_eq!(
        typed["password"],
        Value::Null,
        "a typed password is not printed"
    );
    chat.login(&user("budi"), &pw("kata sandi baru"), None)
        .await
        .unwrap();

    let ended = admin(&url, ns, &["sessions", "end", "ana"], "");
    assert_eq!(ended["ended"].as_array().unwrap().len(), 1, "{ended}");
    assert_eq!(
        admin(&url, ns, &["sessions", "list", "ana"], ""),
        Value::Array(vec![])
    );

    let groups = admin(&url, ns, &["groups", "list"], "");
    assert_eq!(groups[0]["id"], group.id.get(), "{groups}");
    assert_eq!(groups[0]["members"], 1);
    let shown = admin(&url, ns, &["groups", "show", &group.id.to_string()], "");
    assert_eq!(shown["admin"], "ana");
    assert_eq!(shown["members"], serde_json::json!(["ana"]));
    let stats = admin(&url, ns, &["stats"], "");
    assert_eq!(
        (stats["users"].as_u64(), stats["groups"].as_u64()),
        (Some(3), Some(1)),
        "{stats}"
    );
    assert_eq!(stats["sessions"], 1, "budi's");
    admin(&url, ns, &["groups", "delete", &group.id.to_string()], "");
    assert_eq!(
        admin(&url, ns, &["groups", "list"], ""),
        Value::Array(vec![])
    );

    let out = ngobrol_server(
        &["users", "disable", "nobody"],
        &[("NGOBROL_DATABASE_URL", &url), ("NGOBROL_NAMESPACE", ns)],
        "",
    );
    assert!(!out.status.success());
    let errors = String::from_utf8(out.stderr).unwrap();
    assert!(errors.contains("there is no user named nobody"), "{errors}");
    let users: Vec<String> = ["ana", "budi", "cici"].map(String::from).to_vec();
    ngobrol_testkit::remove_broker_objects(&namespace, &users, &[group.id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_on_sqlite() {
    admin_commands_on(Database::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_on_postgres() {
    admin_commands_on(Database::Postgres).await;
}
