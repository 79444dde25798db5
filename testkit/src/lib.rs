//! Test support for ngobrol: a real server on the real broker in a namespace of its
//! own, and a raw client that speaks the protocol exactly as the original
//! Java console client does.
//!
//! The broker is found at `NGOBROL_TEST_AMQP_URL` (default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). When it does not answer, tests
//! fail with that message; they never skip.

// Test scaffolding holds connections and tasks that have nothing useful to
// print.
#![allow(missing_debug_implementations)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ExchangeDeleteOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, Consumer};
use ngobrol_amqp::{DEFAULT_AMQP_URL, Namespace, Server, ServerConfig};
use ngobrol_core::{
    GroupId, GroupRepository, PasswordHasher, ServiceConfig, SessionRepository, Username,
};
use ngobrol_store::{Store, StoreOptions};
use serde_json::{Value, json};

pub const WAIT: Duration = Duration::from_secs(10);

pub fn amqp_url() -> String {
    std::env::var("NGOBROL_TEST_AMQP_URL").unwrap_or_else(|_| DEFAULT_AMQP_URL.into())
}

pub async fn connect() -> Connection {
    let url = amqp_url();
    Connection::connect(&url, ConnectionProperties::default())
        .await
        .unwrap_or_else(|e| {
            panic!("RabbitMQ at {url} does not answer ({e}); start it or set NGOBROL_TEST_AMQP_URL")
        })
}

/// A fresh namespace, unique to one test.
pub fn fresh_namespace() -> Namespace {
    Namespace::parse(format!("t{}", uuid::Uuid::new_v4().simple())).unwrap()
}

/// A server on the real broker with its own namespace and SQLite file.
pub struct TestServer {
    pub namespace: Namespace,
    pub store: Arc<Store>,
    pub users: Arc<Mutex<Vec<String>>>,
    server_config: ServerConfig,
    service_config: ServiceConfig,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default(), ServiceConfig::default()).await
    }

    /// A server in `namespace` (a fresh one from [`fresh_namespace`]),
    /// for tests that prepare the broker before the server starts.
    pub async fn start_in(namespace: Namespace) -> Self {
        let config = ServerConfig {
            namespace,
            ..ServerConfig::default()
        };
        Self::start_configured(config, ServiceConfig::default()).await
    }

    pub async fn start_with(server_config: ServerConfig, service_config: ServiceConfig) -> Self {
        let server_config = ServerConfig {
            namespace: fresh_namespace(),
            ..server_config
        };
        Self::start_configured(server_config, service_config).await
    }

    async fn start_configured(server_config: ServerConfig, service_config: ServiceConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            Store::open(
                dir.path().join("ngobrol.sqlite3").to_str().unwrap(),
                &StoreOptions::default(),
            )
            .unwrap(),
        );
        let server_config = ServerConfig {
            amqp_url: amqp_url(),
            ..server_config
        };
        let service_config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            ..service_config
        };
        let mut server = Self {
            namespace: server_config.namespace.clone(),
            store,
            users: Arc::new(Mutex::new(Vec::new())),
            server_config,
            service_config,
            shutdown: None,
            task: None,
            _dir: dir,
        };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        // Fail loudly, with the reason, when the broker is missing.
        connect().await.close(200, "probe".into()).await.ok();
        let server = Server::build(
            self.store.clone(),
            self.service_config.clone(),
            self.server_config.clone(),
        )
        .unwrap();
        let mut ready = server.ready();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            server
                .run(async {
                    let _ = rx.await;
                })
                .await
        });
        tokio::time::timeout(WAIT, ready.wait_for(|r| *r))
            .await
            .expect("the server did not become ready")
            .unwrap();
        self.shutdown = Some(tx);
        self.task = Some(task);
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the server did not stop")
                .unwrap();
        }
    }

    /// Stops the server and starts a new one on the same store and
    /// namespace, as after a process restart.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.launch().await;
    }

    /// A new client of this server, as the original client connects.
    pub async fn client(&self) -> RawClient {
        RawClient::connect(self.namespace.clone(), self.users.clone()).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Remove this test's queues and exchanges from the shared broker.
        let ns = self.namespace.clone();
        let users = self.users.lock().unwrap().clone();
        let store = self.store.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let groups: Vec<GroupId> = store
                    .all_memberships()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                let mut sessions = Vec::new();
                for user in users
                    .iter()
                    .filter_map(|u| Username::parse(u.as_str()).ok())
                {
                    let of_user = store.sessions_of(&user).await.unwrap_or_default();
                    sessions.extend(of_user.into_iter().map(|s| s.id.to_string()));
                }
                remove_broker_objects(&ns, &users, &groups).await;
                remove_session_queues(&ns, &sessions).await;
            });
        })
        .join()
        .ok();
    }
}

/// Deletes a namespace's request queue, the queues of `users` and the
/// exchanges of `groups` from the broker.
pub async fn remove_broker_objects(ns: &Namespace, users: &[String], groups: &[GroupId]) {
    let conn = connect().await;
    let ch = conn.create_channel().await.unwrap();
    let mut queues = vec![ns.request_queue(), ns.dead_letter_queue()];
    queues.extend(users.iter().map(|u| ns.user_queue(u)));
    for q in queues {
        let _ = ch
            .queue_delete(q.into(), QueueDeleteOptions::default())
            .await;
    }
    let mut exchanges: Vec<String> = users.iter().map(|u| ns.user_exchange(u)).collect();
    exchanges.push(ns.layout_marker());
    for exchange in exchanges {
        let _ = ch
            .exchange_delete(exchange.into(), ExchangeDeleteOptions::default())
            .await;
    }
    for id in groups {
        let _ = ch
            .exchange_delete(
                ns.group_exchange(*id).into(),
                ExchangeDeleteOptions::default(),
            )
            .await;
    }
    let _ = conn.close(200, "cleanup".into()).await;
}

/// Deletes the queues of `sessions` (ids) from the broker.
pub async fn remove_session_queues(ns: &Namespace, sessions: &[String]) {
    let conn = connect().await;
    let ch = conn.create_channel().await.unwrap();
    for id in sessions {
        let _ = ch
            .queue_delete(ns.session_queue(id).into(), QueueDeleteOptions::default())
            .await;
    }
    let _ = conn.close(200, "cleanup".into()).await;
}

/// A client that does what the original console client does: a
/// server-named exclusive queue for the register and login replies,
/// requests published to `<ns>` (declared before every publish, durable,
/// no arguments), and the user's own queue consumed after login.
pub struct RawClient {
    pub namespace: Namespace,
    pub connection: Connection,
    pub channel: Channel,
    pub reply_queue: String,
    replies: Consumer,
    mailbox: Option<Consumer>,
    pending: VecDeque<Value>,
    pub username: Option<String>,
    pub token: Option<String>,
    users: Arc<Mutex<Vec<String>>>,
}

impl RawClient {
    pub async fn connect(namespace: Namespace, users: Arc<Mutex<Vec<String>>>) -> Self {
        let connection = connect().await;
        let channel = connection.create_channel().await.unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let reply_queue = queue.name().as_str().to_owned();
        let replies = channel
            .basic_consume(
                reply_queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            namespace,
            connection,
            channel,
            reply_queue,
            replies,
            mailbox: None,
            pending: VecDeque::new(),
            username: None,
            token: None,
            users,
        }
    }

    /// Disconnects, as a client that quits.
    pub async fn close(self) {
        let _ = self.connection.close(200, "bye".into()).await;
    }

    /// Publishes raw bytes to the request queue.
    pub async fn publish_bytes(&self, body: &[u8], properties: BasicProperties) {
        let queue = self.namespace.request_queue();
        self.channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        self.channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .unwrap();
    }

    pub async fn publish(&self, request: &Value) {
        self.publish_bytes(
            &serde_json::to_vec(request).unwrap(),
            BasicProperties::default(),
        )
        .await;
    }

    /// The next message on the client's own reply queue.
    pub async fn next_reply(&mut self) -> Value {
        next_json(&mut self.replies).await
    }

    pub async fn register(&mut self, username: &str, password: &str) -> Value {
        self.users.lock().unwrap().push(username.to_owned());
        self.publish(&json!({
            "method": "register",
            "username": username,
            "password": password,
            "queue_name": self.reply_queue,
        }))
        .await;
        self.next_reply().await
    }

    /// Logs in; on success, consumes the user's queue from then on.
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        self.publish(&json!({
            "method": "login",
            "username": username,
            "password": password,
            "queue_name": self.reply_queue,
        }))
        .await;
        let reply = self.next_reply().await;
        if reply["status"] == "ok" {
            self.username = Some(username.to_owned());
            self.token = Some(reply["token"].as_str().unwrap().to_owned());
            let queue = self.namespace.user_queue(username);
            let consumer = self
                .channel
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            self.mailbox = Some(consumer);
        }
        reply
    }

    /// Registers and logs in, asserting both succeed.
    pub async fn sign_up(&mut self, username: &str) {
        let reply = self.register(username, "rahasia!").await;
        assert_eq!(reply["status"], "ok", "{reply}");
        let reply = self.login(username, "rahasia!").await;
        assert_eq!(reply["status"], "ok", "{reply}");
    }

    pub fn user(&self) -> &str {
        self.username.as_deref().expect("logged in")
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in")
    }

    /// The next message in the user's queue, strictly in arrival order.
    pub async fn recv(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        next_json(self.mailbox.as_mut().expect("logged in")).await
    }

    /// Whether a message arrives in the user's queue within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        let mailbox = self.mailbox.as_mut().expect("logged in");
        match tokio::time::timeout(wait, mailbox.next()).await {
            Ok(Some(Ok(d))) => Some(serde_json::from_slice(&d.data).unwrap()),
            _ => None,
        }
    }

    /// Sends `request` and returns its reply from the user's queue; other
    /// messages that arrive first are kept for [`recv`](Self::recv).
    pub async fn call(&mut self, request: Value) -> Value {
        let expected = format!("{}_reply", request["method"].as_str().unwrap());
        self.publish(&request).await;
        let mailbox = self.mailbox.as_mut().expect("logged in");
        loop {
            let message = next_json(mailbox).await;
            if message["method"] == expected.as_str() {
                return message;
            }
            self.pending.push_back(message);
        }
    }

    pub async fn add_friend(&mut self, friend: &str) -> Value {
        let request = json!({
            "method": "add_friend",
            "username_from": self.user(),
            "username_to": friend,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn send_client(&mut self, to: &str, message: &str) -> Value {
        let request = json!({
            "method": "send_client",
            "username_from": self.user(),
            "username_to": to,
            "message": message,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn create_group(&mut self, name: &str) -> Value {
        let request = json!({
            "method": "create_group",
            "username": self.user(),
            "group_name": name,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn add_member(&mut self, group_id: i64, member: &str) -> Value {
        let request = json!({
            "method": "add_member_to_group",
            "username_adder": self.user(),
            "username_to_add": member,
            "group_id": group_id,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn quit_group(&mut self, group_id: i64) -> Value {
        let request = json!({
            "method": "quit_from_group",
            "username": self.user(),
            "group_id": group_id,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn send_group(&mut self, group_id: i64, message: &str) -> Value {
        let request = json!({
            "method": "send_group",
            "username_from": self.user(),
            "group_id_to": group_id,
            "message": message,
            "token": self.token(),
        });
        self.call(request).await
    }
}

async fn next_json(consumer: &mut Consumer) -> Value {
    let delivery = tokio::time::timeout(WAIT, consumer.next())
        .await
        .expect("no message within the wait")
        .expect("consumer ended")
        .expect("delivery failed");
    serde_json::from_slice(&delivery.data).expect("the server sent invalid JSON")
}

/// Asserts an error reply with `code`, in the shape every error reply has.
#[track_caller]
pub fn assert_error(reply: &Value, method: &str, code: &str) {
    assert_eq!(reply["method"], format!("{method}_reply"), "{reply}");
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["code"], code, "{reply}");
    assert!(
        reply["description"].as_str().is_some_and(|d| !d.is_empty()),
        "{reply}"
    );
}

#[track_caller]
pub fn assert_ok(reply: &Value, method: &str) {
    assert_eq!(reply["method"], format!("{method}_reply"), "{reply}");
    assert_eq!(reply["status"], "ok", "{reply}");
    assert!(reply.get("code").is_none(), "{reply}");
}

/// A RabbitMQ node of this test's own, beside the shared one, for tests
/// that stop or restart the broker. It has its own node name, ports and
/// data directory; its data survives [`stop_app`](Self::stop_app) and
/// [`start_app`](Self::start_app). Dropping it stops the node and removes
/// its directory.
pub struct PrivateBroker {
    node: String,
    port: u16,
    dir: std::path::PathBuf,
    env: Vec<(String, String)>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl PrivateBroker {
    /// Starts the node and waits until it accepts AMQP connections.
    pub fn start() -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let node = format!("ngobrol-test-{}@localhost", &id[..12]);
        let (port, dist_port) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("ngobrol-rmq-{}", &id[..12]));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\nmax_message_size = 1048576\n"),
        )
        .unwrap();
        let status = std::process::Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(&dir)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cannot hand {} to the rabbitmq user",
            dir.display()
        );
        let path = |name: &str| dir.join(name).display().to_string();
        let env = vec![
            ("RABBITMQ_NODENAME".to_owned(), node.clone()),
            ("RABBITMQ_NODE_PORT".to_owned(), port.to_string()),
            ("RABBITMQ_DIST_PORT".to_owned(), dist_port.to_string()),
            ("RABBITMQ_MNESIA_BASE".to_owned(), path("mnesia")),
            ("RABBITMQ_LOG_BASE".to_owned(), path("log")),
            ("RABBITMQ_PID_FILE".to_owned(), path("pid")),
            (
                "RABBITMQ_ENABLED_PLUGINS_FILE".to_owned(),
                path("enabled_plugins"),
            ),
            ("RABBITMQ_CONFIG_FILE".to_owned(), path("rabbitmq")),
        ];
        let broker = Self {
            node,
            port,
            dir,
            env,
        };
        let started = std::process::Command::new("rabbitmq-server")
            .arg("-detached")
            .envs(broker.env.iter().map(|(k, v)| (k, v)))
            .status()
            .expect("rabbitmq-server is installed (scripts/ensure-services.sh installs it)");
        assert!(started.success(), "rabbitmq-server -detached failed");
        broker.wait_until_listening();
        broker
    }

    pub fn url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Runs `rabbitmqctl <command>` against this node.
    fn rabbitmqctl(&self, command: &str) -> std::io::Result<std::process::ExitStatus> {
        std::process::Command::new("rabbitmqctl")
            .args(["-n", &self.node, command])
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .status()
    }

    fn ctl(&self, command: &str) {
        let status = self.rabbitmqctl(command).expect("rabbitmqctl runs");
        assert!(status.success(), "rabbitmqctl {command} failed");
    }

    fn wait_until_listening(&self) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the private broker {} did not listen on {}",
                self.node,
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        self.ctl("await_startup");
    }

    /// Stops the broker (connections drop); the node and its data stay.
    pub fn stop_app(&self) {
        self.ctl("stop_app");
    }

    /// Starts the broker again, with the data it had.
    pub fn start_app(&self) {
        self.ctl("start_app");
        self.wait_until_listening();
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.rabbitmqctl("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
