//! A real server on the real broker, in a namespace of its own.

use std::sync::{Arc, Mutex};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use ngobrol_amqp::{Namespace, Server, ServerConfig};
use ngobrol_core::{
    GroupId, GroupRepository, PasswordHasher, ServiceConfig, SessionRepository, Username,
};
use ngobrol_store::{Store, StoreOptions};
use tracing::instrument::WithSubscriber;

use crate::{ErrorLines, Faults, FaultyStore, RawClient, WAIT, amqp_url, connect, fresh_namespace};

/// Which store a [`TestServer`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh schema of the PostgreSQL database at
    /// `NGOBROL_TEST_DATABASE_URL` (default
    /// `postgres://postgres@127.0.0.1:5432/test`), dropped at the end.
    Postgres,
}

impl Database {
    /// The store of test servers that do not choose one:
    /// `NGOBROL_TEST_STORE=postgres` for PostgreSQL, else SQLite.
    pub fn from_env() -> Self {
        match std::env::var("NGOBROL_TEST_STORE").as_deref() {
            Ok("postgres") => Database::Postgres,
            Ok("sqlite") | Err(_) => Database::Sqlite,
            Ok(other) => panic!("NGOBROL_TEST_STORE={other:?}: say sqlite or postgres"),
        }
    }
}

/// A test's database, removed when dropped.
#[derive(Debug)]
pub enum TestDatabase {
    /// The directory holds the file; it goes when dropped.
    Sqlite {
        _dir: tempfile::TempDir,
    },
    Postgres {
        base_url: String,
        schema: String,
    },
    /// Another test server's: it removes it.
    Shared,
}

impl TestDatabase {
    /// A fresh database and the URL of a store on it.
    pub fn create(database: Database) -> (Self, String) {
        match database {
            Database::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = dir.path().join("ngobrol.sqlite3");
                let url = url.to_str().unwrap().to_owned();
                (TestDatabase::Sqlite { _dir: dir }, url)
            }
            Database::Postgres => {
                use diesel::{Connection, PgConnection, RunQueryDsl};
                let base_url = std::env::var("NGOBROL_TEST_DATABASE_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
                let mut admin = PgConnection::establish(&base_url).unwrap_or_else(|e| {
                    panic!("PostgreSQL at {base_url} does not answer ({e}); start it or set NGOBROL_TEST_DATABASE_URL")
                });
                let schema = format!("ngobrol_test_{}", uuid::Uuid::new_v4().simple());
                diesel::sql_query(format!("CREATE SCHEMA \"{schema}\""))
                    .execute(&mut admin)
                    .unwrap();
                let separator = if base_url.contains('?') { '&' } else { '?' };
                let url = format!("{base_url}{separator}options=-csearch_path%3D{schema}");
                (TestDatabase::Postgres { base_url, schema }, url)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        use diesel::{Connection, PgConnection, RunQueryDsl};
        if let TestDatabase::Postgres { base_url, schema } = self
            && let Ok(mut conn) = PgConnection::establish(base_url)
        {
            let _ = diesel::sql_query(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .execute(&mut conn);
        }
    }
}

/// A server on the real broker with its own namespace and store (a SQLite
/// file, or a PostgreSQL schema).
pub struct TestServer {
    pub namespace: Namespace,
    pub store: Arc<Store>,
    pub users: Arc<Mutex<Vec<String>>>,
    /// The store's URL: a SQLite path or a PostgreSQL URL with its schema.
    pub store_url: String,
    server_config: ServerConfig,
    service_config: ServiceConfig,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// When set, the server runs on the store through a [`FaultyStore`].
    faults: Option<Faults>,
    /// The other servers of `NGOBROL_TEST_SERVERS`, on the same store and
    /// namespace: their shutdown senders and tasks.
    extras: Vec<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
    /// The error lines its tasks logged: unexpected ones fail the test.
    errors: ErrorLines,
    /// Last: the store's connections close before its database goes.
    _database: TestDatabase,
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

    /// A server with the default settings and these rules.
    pub async fn start_with_rules(service_config: ServiceConfig) -> Self {
        Self::start_with(ServerConfig::default(), service_config).await
    }

    pub async fn start_with(server_config: ServerConfig, service_config: ServiceConfig) -> Self {
        let server_config = ServerConfig {
            namespace: fresh_namespace(),
            ..server_config
        };
        Self::start_configured(server_config, service_config).await
    }

    /// A server whose store meets the faults the test injects through the
    /// returned [`Faults`] (none at first).
    pub async fn start_faulty() -> (Self, Faults) {
        let config = ServerConfig {
            namespace: fresh_namespace(),
            ..ServerConfig::default()
        };
        Self::start_faulty_with(config).await
    }

    /// [`start_faulty`](Self::start_faulty) with `server_config` (its
    /// namespace and broker kept).
    pub async fn start_faulty_with(server_config: ServerConfig) -> (Self, Faults) {
        let faults = Faults::default();
        let mut server = Self::start_configured(server_config, ServiceConfig::default()).await;
        server.stop().await;
        server.faults = Some(faults.clone());
        server.launch().await;
        (server, faults)
    }

    /// A server with default settings on the given store.
    pub async fn start_on(database: Database) -> Self {
        let server_config = ServerConfig {
            namespace: fresh_namespace(),
            ..ServerConfig::default()
        };
        Self::start_on_configured(database, server_config, ServiceConfig::default()).await
    }

    async fn start_configured(server_config: ServerConfig, service_config: ServiceConfig) -> Self {
        Self::start_on_configured(Database::from_env(), server_config, service_config).await
    }

    async fn start_on_configured(
        database: Database,
        server_config: ServerConfig,
        service_config: ServiceConfig,
    ) -> Self {
        let (database, url) = TestDatabase::create(database);
        let store = Arc::new(Store::open(&url, &StoreOptions::default()).unwrap());
        // The test broker, unless the test chose another (a private one).
        let server_config = if server_config.amqp_url == ServerConfig::default().amqp_url {
            ServerConfig {
                amqp_url: amqp_url(),
                ..server_config
            }
        } else {
            server_config
        };
        // Production hashing would make every test that logs in crawl: the
        // minimum, unless the test asked for a count of its own.
        let iterations = match service_config.pbkdf2_iterations {
            PasswordHasher::DEFAULT_ITERATIONS => PasswordHasher::MIN_ITERATIONS,
            chosen => chosen,
        };
        let service_config = ServiceConfig {
            pbkdf2_iterations: iterations,
            ..service_config
        };
        let mut server = Self {
            namespace: server_config.namespace.clone(),
            store,
            users: Arc::new(Mutex::new(Vec::new())),
            store_url: url,
            server_config,
            service_config,
            shutdown: None,
            task: None,
            faults: None,
            extras: Vec::new(),
            errors: ErrorLines::default(),
            _database: database,
        };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        // Fail loudly, with the reason, when the broker is missing.
        connect().await.close(200, "probe".into()).await.ok();
        let (rules, config) = (self.service_config.clone(), self.server_config.clone());
        let server = match &self.faults {
            Some(faults) => {
                let store = FaultyStore::new(self.store.clone(), faults.clone());
                Server::build(Arc::new(store), rules, config)
            }
            None => Server::build(self.store.clone(), rules, config),
        }
        .unwrap();
        let mut ready = server.ready();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            async move {
                server
                    .run(async {
                        let _ = rx.await;
                    })
                    .await
            }
            .with_subscriber(self.errors.dispatch()),
        );
        tokio::time::timeout(WAIT, ready.wait_for(|r| *r))
            .await
            .expect("the server did not become ready")
            .unwrap();
        self.shutdown = Some(tx);
        self.task = Some(task);
        if self.faults.is_none() {
            for _ in 1..extra_servers() {
                let extra = self.launch_one().await;
                self.extras.push(extra);
            }
        }
    }

    /// One more server on the same store (opened again) and namespace,
    /// ready.
    async fn launch_one(
        &self,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let store = Arc::new(Store::open(&self.store_url, &StoreOptions::default()).unwrap());
        let (rules, config) = (self.service_config.clone(), self.server_config.clone());
        let server = Server::build(store, rules, config).unwrap();
        let mut ready = server.ready();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(
            async move {
                server
                    .run(async {
                        let _ = rx.await;
                    })
                    .await
            }
            .with_subscriber(self.errors.dispatch()),
        );
        tokio::time::timeout(WAIT, ready.wait_for(|r| *r))
            .await
            .expect("an extra server did not become ready")
            .unwrap();
        (tx, task)
    }

    /// Stops the server gracefully and waits until it has.
    pub async fn stop(&mut self) {
        for (tx, task) in std::mem::take(&mut self.extras) {
            let _ = tx.send(());
            tokio::time::timeout(WAIT, task)
                .await
                .expect("an extra server did not stop")
                .unwrap();
        }
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

    /// Stops the server and starts a new one on the same store (opened
    /// again, as a new process would) and namespace, as after a restart.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.store = Arc::new(Store::open(&self.store_url, &StoreOptions::default()).unwrap());
        self.launch().await;
    }

    /// A second server on the same store (opened afresh) and namespace, as
    /// another process started with the same command would be: both
    /// consume the one request queue. This one leaves the broker objects
    /// and the database to the first.
    pub async fn second(&self) -> TestServer {
        let mut server = Self {
            namespace: self.namespace.clone(),
            store: Arc::new(Store::open(&self.store_url, &StoreOptions::default()).unwrap()),
            users: Arc::new(Mutex::new(Vec::new())),
            store_url: self.store_url.clone(),
            server_config: self.server_config.clone(),
            service_config: self.service_config.clone(),
            shutdown: None,
            task: None,
            faults: None,
            extras: Vec::new(),
            errors: ErrorLines::default(),
            _database: TestDatabase::Shared,
        };
        server.launch().await;
        server
    }

    /// Error lines of the server that contain `part` are what the test
    /// provokes: they do not fail it.
    pub fn expect_error_lines(&self, part: &str) {
        self.errors.expect(part);
    }

    /// A new client of this server, as the original client connects.
    pub async fn client(&self) -> RawClient {
        RawClient::connect(self.namespace.clone(), self.users.clone()).await
    }
}

impl TestServer {
    /// Why the test fails for what its server did: it ended before the
    /// test did (a panic, or a fatal error it logged), or it logged an
    /// error line the test did not expect.
    fn server_failure(&self) -> Option<String> {
        if self.task.as_ref().is_some_and(|task| task.is_finished()) {
            return Some("the test's server stopped during the test (see its log above)".into());
        }
        let unexpected = self.errors.unexpected();
        (!unexpected.is_empty()).then(|| {
            format!(
                "the test's server logged errors:\n{}",
                unexpected.join("\n")
            )
        })
    }

    /// Removes this test's queues and exchanges from the shared broker.
    fn remove_broker_objects(&self) {
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

impl Drop for TestServer {
    fn drop(&mut self) {
        let failure = self.server_failure();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // A second server leaves the clean-up to the first.
        if !matches!(self._database, TestDatabase::Shared) {
            self.remove_broker_objects();
        }
        if let Some(failure) = failure
            && !std::thread::panicking()
        {
            panic!("{failure}");
        }
    }
}

/// How many servers each test server is (`NGOBROL_TEST_SERVERS`, 1 by
/// default): the extra ones run on the same store and namespace, as
/// further processes started with the same command would.
fn extra_servers() -> usize {
    std::env::var("NGOBROL_TEST_SERVERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

/// Deletes a namespace's request queue, the queues of `users` and the
/// exchanges of `groups` from the broker.
pub async fn remove_broker_objects(ns: &Namespace, users: &[String], groups: &[GroupId]) {
    let conn = connect().await;
    let ch = conn.create_channel().await.unwrap();
    let mut queues = vec![
        ns.request_queue(),
        ns.dead_letter_queue(),
        ns.layout_marker(),
        ns.routing_marker(),
    ];
    queues.extend((0..ServerConfig::default().shards).map(|k| ns.shard_queue(k)));
    queues.extend(users.iter().map(|u| ns.user_queue(u)));
    for q in queues {
        let _ = ch
            .queue_delete(q.into(), QueueDeleteOptions::default())
            .await;
    }
    let exchanges = users
        .iter()
        .flat_map(|u| [ns.user_exchange(u), ns.offline_exchange(u)])
        .chain([ns.change_exchange(), ns.fleet_exchange()]);
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
