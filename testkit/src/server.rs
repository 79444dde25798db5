//! A real server on the real broker, in a namespace of its own.

use std::sync::{Arc, Mutex};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use ngobrol_amqp::{Namespace, Server, ServerConfig};
use ngobrol_core::{
    GroupId, GroupRepository, PasswordHasher, ServiceConfig, SessionRepository, Username,
};
use ngobrol_store::{Store, StoreOptions};

use crate::{RawClient, WAIT, amqp_url, connect, fresh_namespace};

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
