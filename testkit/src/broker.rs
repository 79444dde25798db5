//! A RabbitMQ node of a test's own.

use std::time::Duration;

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
        Self::start_with(&[], "")
    }

    /// [`start`](Self::start) with `plugins` enabled and `config` (lines
    /// of `rabbitmq.conf`) added to the node's configuration.
    pub fn start_with(plugins: &[&str], config: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let node = format!("ngobrol-test-{}@localhost", &id[..12]);
        let (port, dist_port) = (free_port(), free_port());
        let dir = std::env::temp_dir().join(format!("ngobrol-rmq-{}", &id[..12]));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("enabled_plugins"),
            format!("[{}].\n", plugins.join(",")),
        )
        .unwrap();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!(
                "listeners.tcp.default = 127.0.0.1:{port}\nmax_message_size = 1048576\n{config}\n"
            ),
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

    /// The node's AMQP port.
    pub fn port(&self) -> u16 {
        self.port
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
        self.ctl_args(&[command]);
    }

    fn ctl_args(&self, args: &[&str]) {
        let status = std::process::Command::new("rabbitmqctl")
            .args(["-n", &self.node])
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(std::process::Stdio::null())
            .status()
            .expect("rabbitmqctl runs");
        assert!(status.success(), "rabbitmqctl {args:?} failed");
    }

    /// Adds a broker user with every right on the default vhost, and
    /// returns the URL that connects as them.
    pub fn add_user(&self, user: &str, password: &str) -> String {
        self.ctl_args(&["add_user", user, password]);
        self.ctl_args(&["set_permissions", "-p", "/", user, ".*", ".*", ".*"]);
        format!("amqp://{user}:{password}@127.0.0.1:{}/%2f", self.port)
    }

    /// Closes every connection of that broker user, as a network failure
    /// would; the broker stays up.
    pub fn close_connections_of(&self, user: &str) {
        self.ctl_args(&["close_all_user_connections", user, "closed by the test"]);
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

    /// Forgets everything the node holds: queues, their messages,
    /// exchanges, bindings (after [`stop_app`](Self::stop_app), before
    /// [`start_app`](Self::start_app)).
    pub fn reset(&self) {
        self.ctl("reset");
    }

    /// Starts the broker again, with the data it had.
    pub fn start_app(&self) {
        self.ctl("start_app");
        self.wait_until_listening();
    }
}

/// A RabbitMQ cluster of this test's own: private nodes (see
/// [`PrivateBroker`]) joined to the first. Dropping it stops them all.
pub struct PrivateCluster {
    pub nodes: Vec<PrivateBroker>,
}

impl PrivateCluster {
    /// Starts `count` nodes and joins them into one cluster.
    pub fn start(count: usize) -> Self {
        let nodes: Vec<PrivateBroker> = (0..count).map(|_| PrivateBroker::start()).collect();
        for node in &nodes[1..] {
            node.ctl("stop_app");
            node.ctl_args(&["join_cluster", &nodes[0].node]);
            node.start_app();
        }
        Self { nodes }
    }

    /// Every node's URL, `first` first, then the others in their order,
    /// separated by commas: what a server that prefers that node is given.
    pub fn urls_from(&self, first: usize) -> String {
        let count = self.nodes.len();
        (0..count)
            .map(|i| self.nodes[(first + i) % count].url())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        let _ = self.rabbitmqctl("stop");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
