//! Several servers, started with the same command on one broker and one
//! PostgreSQL database, behave as one: every sender's order holds at
//! every recipient under direct and group load, and when one server is
//! killed with SIGKILL mid-load (the one taking in requests), the others
//! take over with nothing that was acknowledged lost.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ngobrol_amqp::Namespace;
use ngobrol_amqp::client::{Client, ClientOptions, Event, Events, Session};
use ngobrol_testkit::{
    Database, PrivateCluster, RawClient, TestDatabase, fresh_namespace, remove_broker_objects,
};
use support::{ServerProcess, assert_no_unexpected_errors, wait_until_served_by};

/// `count` servers on one fresh PostgreSQL schema, in a fresh namespace.
struct Fleet {
    url: String,
    namespace: Namespace,
    servers: Vec<Option<ServerProcess>>,
    logs: Vec<PathBuf>,
    database_url: String,
    _dir: tempfile::TempDir,
    _database: TestDatabase,
}

impl Fleet {
    /// `count` servers on the shared broker.
    async fn start(count: usize) -> Self {
        let url = ngobrol_testkit::amqp_url();
        Self::start_on(url.clone(), vec![url; count]).await
    }

    /// A server per entry of `servers` (its broker URLs), the first
    /// serving before the others start (so that the queues declared once
    /// are declared through its broker); clients connect to `clients`.
    async fn start_on(clients: String, servers: Vec<String>) -> Self {
        let (database, database_url) = TestDatabase::create(Database::Postgres);
        let dir = tempfile::tempdir().unwrap();
        let mut fleet = Self {
            url: clients,
            namespace: fresh_namespace(),
            servers: Vec::new(),
            logs: Vec::new(),
            database_url,
            _dir: dir,
            _database: database,
        };
        for (i, url) in servers.iter().enumerate() {
            fleet.add(url);
            if i == 0 || i + 1 == servers.len() {
                let logs: Vec<&std::path::Path> = fleet.logs.iter().map(|l| l.as_path()).collect();
                wait_until_served_by(&fleet.url, &fleet.namespace, &logs).await;
            }
        }
        fleet
    }

    /// One more server, started with the same command but its broker URLs.
    fn add(&mut self, amqp_url: &str) {
        let n = self.servers.len() + 1;
        let log = self._dir.path().join(format!("server-{n}.log"));
        let node = format!("s{n}");
        let server = ServerProcess::start(
            amqp_url,
            &self.database_url,
            &self.namespace,
            &log,
            &[("NGOBROL_NODE_NAME", node.as_str())],
        );
        self.servers.push(Some(server));
        self.logs.push(log);
    }

    /// The server that took in requests first (its log says so).
    fn intake(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            for (i, log) in self.logs.iter().enumerate() {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if self.servers[i].is_some() && text.contains("taking in requests") {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no server says it takes in");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn options(&self) -> ClientOptions {
        ClientOptions {
            amqp_url: self.url.clone(),
            namespace: self.namespace.clone(),
            timeout: Duration::from_secs(2),
            retries: 30,
            isolated: false,
        }
    }

    async fn finish(self, users: &[String], groups: &[ngobrol_core::GroupId]) {
        self.check_logs(&[]);
        remove_broker_objects(&self.namespace, users, groups).await;
    }

    /// No error line in any server's log but those the test provokes
    /// (`expected`), and the broker's refusal of a standby that tried to
    /// take in at the same moment as another, which the AMQP library logs.
    fn check_logs(&self, expected: &[&str]) {
        let mut allowed = vec!["in exclusive use"];
        allowed.extend_from_slice(expected);
        for log in &self.logs {
            assert_no_unexpected_errors(log, &allowed);
        }
    }
}

/// The sender and number of a test message (its text is
/// `<sender>:<n>`); `None` for anything else (a group's notices).
fn parse(text: &str) -> Option<(String, usize)> {
    let (sender, n) = text.split_once(':')?;
    Some((sender.to_owned(), n.parse().ok()?))
}

/// Checks that `arrived` holds every sender's messages 0..`count` and
/// that the first copy of each came in the order sent; the number of
/// extra copies.
fn check_order(arrived: &[String], senders: &[String], count: usize, at: &str) -> usize {
    let mut next: HashMap<String, usize> = senders.iter().map(|s| (s.clone(), 0)).collect();
    let mut copies = 0;
    for (sender, n) in arrived.iter().filter_map(|text| parse(text)) {
        let expected = next.get_mut(&sender).unwrap();
        if n < *expected {
            copies += 1;
        } else {
            assert_eq!(
                n, *expected,
                "{at}: {sender}'s message {n} overtook {expected}"
            );
            *expected += 1;
        }
    }
    for (sender, got) in next {
        assert_eq!(got, count, "{at}: {sender}'s messages");
    }
    copies
}

/// The texts of the next `count` messages (direct or group, by `group`)
/// an SDK device receives.
async fn receive(events: &mut Events, count: usize, group: bool) -> Vec<String> {
    let mut texts = Vec::with_capacity(count);
    while texts.len() < count {
        let event = events
            .recv_timeout(Duration::from_secs(30))
            .await
            .unwrap_or_else(|| panic!("{} of {count} messages arrived", texts.len()));
        match event {
            Event::Direct(m) if !group && parse(&m.text).is_some() => texts.push(m.text),
            Event::Group(m) if group && parse(&m.text).is_some() => texts.push(m.text),
            _ => {}
        }
    }
    texts
}

/// Senders `s0..`, each a friend of `rina` and in one group with her and
/// `tono`; `tono` reads his mailbox as the original client does.
struct Crowd {
    senders: Vec<(String, Session)>,
    rina: (Session, Events),
    tono: RawClient,
    group: i64,
}

impl Crowd {
    async fn gather(fleet: &Fleet, senders: usize) -> Self {
        let client = Client::connect(fleet.options()).await.unwrap();
        let mut tono =
            RawClient::connect_to(&fleet.url, fleet.namespace.clone(), Arc::default()).await;
        tono.sign_up("tono").await;
        client.register("rina", "rahasia!").await.unwrap();
        let rina = client.login("rina", "rahasia!").await.unwrap();
        let group = rina.0.create_group("ramai").await.unwrap().unwrap();
        rina.0.add_member(group, "tono").await.unwrap();
        let mut sessions = Vec::new();
        for i in 0..senders {
            let name = format!("s{i}");
            client.register(&name, "rahasia!").await.unwrap();
            let (session, _events) = client.login(&name, "rahasia!").await.unwrap();
            session.add_friend("rina").await.unwrap();
            rina.0.add_member(group, &name).await.unwrap();
            sessions.push((name, session));
        }
        Self {
            senders: sessions,
            rina,
            tono,
            group,
        }
    }

    fn names(&self) -> Vec<String> {
        self.senders.iter().map(|(n, _)| n.clone()).collect()
    }

    fn users(&self) -> Vec<String> {
        let mut users = self.names();
        users.extend(["rina".to_owned(), "tono".to_owned()]);
        users
    }

    /// Every sender sends `count` messages, one after the other, to rina
    /// and (`group`) to the group; each must end with an ok.
    fn send(&self, count: usize, group: bool) -> Vec<tokio::task::JoinHandle<()>> {
        self.senders
            .iter()
            .map(|(name, session)| {
                let (name, session, id) = (name.clone(), session.clone(), self.group);
                tokio::spawn(async move {
                    for n in 0..count {
                        let text = format!("{name}:{n}");
                        let sent = if group {
                            session.send_group(id, &text).await
                        } else {
                            session.send_direct("rina", &text).await
                        };
                        sent.unwrap_or_else(|e| panic!("{text} was not accepted: {e}"));
                    }
                })
            })
            .collect()
    }
}

/// Group messages in tono's mailbox, every copy, in arrival order.
async fn raw_group_messages(tono: &mut RawClient, count: usize) -> Vec<String> {
    let mut texts = Vec::with_capacity(count);
    while texts.len() < count {
        let message = tono.recv().await;
        let text = message["message"].as_str().unwrap_or_default();
        if message["method"] == "send_group" && parse(text).is_some() {
            texts.push(text.to_owned());
        }
    }
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_keep_every_senders_order_under_direct_and_group_load() {
    const SENDERS: usize = 6;
    const EACH: usize = 100;
    let fleet = Fleet::start(3).await;
    let mut crowd = Crowd::gather(&fleet, SENDERS).await;
    let names = crowd.names();

    for sending in crowd.send(EACH, false) {
        sending.await.unwrap();
    }
    let direct = receive(&mut crowd.rina.1, SENDERS * EACH, false).await;
    assert_eq!(check_order(&direct, &names, EACH, "rina, direct"), 0);

    for sending in crowd.send(EACH, true) {
        sending.await.unwrap();
    }
    let group = receive(&mut crowd.rina.1, SENDERS * EACH, true).await;
    assert_eq!(check_order(&group, &names, EACH, "rina, group"), 0);
    let raw = raw_group_messages(&mut crowd.tono, SENDERS * EACH).await;
    assert_eq!(check_order(&raw, &names, EACH, "tono's mailbox"), 0);

    // The three shared the shards: the first ones left some to those
    // that came after.
    let yielding = fleet
        .logs
        .iter()
        .filter(|log| {
            let text = std::fs::read_to_string(log).unwrap();
            text.contains("leaving other servers their shards")
        })
        .count();
    assert!(yielding >= 2, "{yielding} servers left shards to others");
    let users = crowd.users();
    let group = ngobrol_core::GroupId::new(crowd.group);
    fleet.finish(&users, &[group]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_intake_server_mid_load_loses_nothing_and_keeps_order() {
    const SENDERS: usize = 4;
    const EACH: usize = 300;
    let mut fleet = Fleet::start(2).await;
    let mut crowd = Crowd::gather(&fleet, SENDERS).await;
    let names = crowd.names();
    let sending = crowd.send(EACH, false);

    let mut arrived = receive(&mut crowd.rina.1, SENDERS * EACH / 4, false).await;
    let victim = fleet.intake();
    fleet.servers[victim].take().unwrap().kill();
    let killed = Instant::now();
    let first_after = receive(&mut crowd.rina.1, 1, false).await;
    let gap = killed.elapsed();
    arrived.extend(first_after);
    println!("first delivery {gap:?} after the SIGKILL");

    for sending in sending {
        sending.await.unwrap();
    }
    // The SDK drops copies by message id; what is left must be every
    // message once, each sender's in order.
    let rest = SENDERS * EACH - arrived.len();
    arrived.extend(receive(&mut crowd.rina.1, rest, false).await);
    assert_eq!(check_order(&arrived, &names, EACH, "rina"), 0);
    // Nothing more: the next message is one sent now.
    let (_, s0) = &crowd.senders[0];
    s0.send_direct("rina", "s0:sentinel").await.unwrap();
    match crowd.rina.1.recv_timeout(Duration::from_secs(10)).await {
        Some(Event::Direct(m)) => assert_eq!(m.text, "s0:sentinel"),
        other => panic!("{other:?}"),
    }
    let survivor = fleet
        .logs
        .iter()
        .enumerate()
        .find(|(i, _)| *i != victim)
        .map(|(_, log)| std::fs::read_to_string(log).unwrap())
        .unwrap();
    assert!(
        survivor.contains("taking in requests"),
        "the other server did not take over the intake"
    );
    let users = crowd.users();
    let group = ngobrol_core::GroupId::new(crowd.group);
    fleet.finish(&users, &[group]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_rabbitmq_node_of_three_stopped_mid_load_loses_nothing_acknowledged() {
    const SENDERS: usize = 4;
    const EACH: usize = 200;
    let cluster = PrivateCluster::start(3);
    // The first server (and so `<ns>`, the mailboxes it declares, and the
    // clients) on node 0; the second connects to node 2 first, the node
    // that is stopped.
    let mut fleet = Fleet::start_on(
        cluster.nodes[0].url(),
        vec![cluster.urls_from(0), cluster.urls_from(2)],
    )
    .await;
    let mut crowd = Crowd::gather(&fleet, SENDERS).await;
    let names = crowd.names();
    let sending = crowd.send(EACH, false);

    let mut arrived = receive(&mut crowd.rina.1, SENDERS * EACH / 4, false).await;
    cluster.nodes[2].stop_app();
    for sending in sending {
        sending.await.unwrap();
    }
    let rest = SENDERS * EACH - arrived.len();
    arrived.extend(receive(&mut crowd.rina.1, rest, false).await);
    assert_eq!(check_order(&arrived, &names, EACH, "rina"), 0);

    let second = std::fs::read_to_string(&fleet.logs[1]).unwrap();
    assert!(
        second.contains("kind=\"quorum\""),
        "shards not quorum queues"
    );
    assert!(
        second.matches("connected to the broker").count() >= 2,
        "the second server did not connect to another node:\n{second}"
    );
    // Both still serve: a message sent now arrives.
    let (_, s0) = &crowd.senders[0];
    s0.send_direct("rina", "s0:sentinel").await.unwrap();
    match crowd.rina.1.recv_timeout(Duration::from_secs(10)).await {
        Some(Event::Direct(m)) => assert_eq!(m.text, "s0:sentinel"),
        other => panic!("{other:?}"),
    }
    drop(crowd);
    for server in fleet.servers.iter_mut() {
        drop(server.take());
    }
    // Provoked: the second server's connection to the stopped node, and
    // the mailbox it had declared there (a classic queue lives on one
    // node), which cannot be declared again while that node is down.
    fleet.check_logs(&["Connection reset by peer", "is down or inaccessible"]);
}
