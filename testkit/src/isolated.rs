//! An `ngobrol-server` process in isolated mode on a broker of its own,
//! whose HTTP auth backend asks that server who may do what.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ngobrol_amqp::Namespace;
use ngobrol_amqp::client::ClientOptions;

use crate::{PrivateBroker, fresh_namespace};

/// The broker, the server binary in isolated mode on it (SQLite store in
/// a temporary directory), and the server's log. Dropping it kills the
/// server and stops the broker.
pub struct IsolatedServer {
    broker: PrivateBroker,
    server: Child,
    /// The server's namespace.
    pub namespace: Namespace,
    dir: tempfile::TempDir,
}

impl Drop for IsolatedServer {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl IsolatedServer {
    /// Starts the broker (with the HTTP auth backend behind a cache of
    /// one second, and the management API) and `server_binary` with
    /// `--isolated`, and waits until it serves.
    pub fn start(server_binary: &Path) -> Self {
        assert!(
            server_binary.exists(),
            "{} is not built (cargo build -p ngobrol-server)",
            server_binary.display()
        );
        let http = free_port();
        let management = free_port();
        let auth =
            |path: &str| format!("auth_http.{path}_path = http://127.0.0.1:{http}/auth/{path}\n");
        let config = format!(
            "auth_backends.1 = internal\nauth_backends.2 = cache\n\
             auth_cache.cached_backend = http\nauth_cache.cache_ttl = 1000\n\
             auth_http.http_method = post\n\
             management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {management}\n\
             collect_statistics_interval = 500\n{}{}{}{}",
            auth("user"),
            auth("vhost"),
            auth("resource"),
            auth("topic")
        );
        let broker = PrivateBroker::start_with(
            &[
                "rabbitmq_auth_backend_http",
                "rabbitmq_auth_backend_cache",
                "rabbitmq_management",
            ],
            &config,
        );
        let dir = tempfile::tempdir().unwrap();
        let namespace = fresh_namespace();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let server = Command::new(server_binary)
            .env("NGOBROL_AMQP_URL", broker.url())
            .env("NGOBROL_DATABASE_URL", dir.path().join("ngobrol.sqlite3"))
            .env("NGOBROL_NAMESPACE", namespace.as_str())
            .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
            .env("NGOBROL_ISOLATED", "true")
            .env(
                "NGOBROL_BROKER_MANAGEMENT_URL",
                format!("http://guest:guest@127.0.0.1:{management}"),
            )
            .env("NGOBROL_HTTP_ADDR", format!("127.0.0.1:{http}"))
            .env_remove("NGOBROL_CONFIG")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let started = Self {
            broker,
            server,
            namespace,
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !started.log().contains("serving requests") {
            assert!(
                Instant::now() < deadline,
                "the isolated server does not serve:\n{}",
                started.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        started
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The broker's URL as `user` with `password`.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        format!(
            "amqp://{user}:{password}@127.0.0.1:{}/%2f",
            self.broker.port()
        )
    }

    /// The broker's URL without credentials.
    pub fn url(&self) -> String {
        format!("amqp://127.0.0.1:{}/%2f", self.broker.port())
    }

    /// SDK options for this server: through its login account.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            amqp_url: self.url(),
            namespace: self.namespace.clone(),
            ..ClientOptions::default()
        }
        .isolated_through(ClientOptions::LOGIN_ACCOUNT, ClientOptions::LOGIN_ACCOUNT)
    }
}
