//! Several servers, started with the same command on one broker and one
//! PostgreSQL database (or one SQLite file, on one machine), behave as one: every sender's order holds at
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

/// Servers on one fresh store (a PostgreSQL schema, or a SQLite file), in
/// a fresh namespace.
struct Fleet {
    url: String,
    namespace: Namespace,
    servers: Vec<Option<ServerProcess>>,
    logs: Vec<PathBuf>,
    database_url: String,
    /// The servers' logs; kept when the test fails.
    dir: Option<tempfile::TempDir>,
    /// Settings every server gets beside the tests' own.
    env: Vec<(&'static str, &'static str)>,
    _database: TestDatabase,
}

impl Fleet {
    /// `count` servers on the shared broker.
    async fn start(count: usize) -> Self {
        let url = ngobrol_testkit::amqp_url();
        Self::start_on(url.clone(), vec![url; count]).await
    }

    /// `count` servers on the shared broker and one SQLite file.
    async fn start_on_sqlite(count: usize) -> Self {
        let url = ngobrol_testkit::amqp_url();
        Self::start_with(Database::Sqlite, url.clone(), vec![url; count]).await
    }

    /// A server per entry of `servers` (its broker URLs), the first
    /// serving before the others start (so that the queues declared once
    /// are declared through its broker); clients connect to `clients`.
    async fn start_on(clients: String, servers: Vec<String>) -> Self {
        Self::start_with(Database::Postgres, clients, servers).await
    }

    async fn start_with(store: Database, clients: String, servers: Vec<String>) -> Self {
        Self::start_with_env(store, clients, servers, Vec::new()).await
    }

    async fn start_with_env(
        store: Database,
        clients: String,
        servers: Vec<String>,
        env: Vec<(&'static str, &'static str)>,
    ) -> Self {
        let (database, database_url) = TestDatabase::create(store);
        let dir = tempfile::tempdir().unwrap();
        let mut fleet = Self {
            url: clients,
            namespace: fresh_namespace(),
            servers: Vec::new(),
            logs: Vec::new(),
            database_url,
            dir: Some(dir),
            env,
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
        let dir = self.dir.as_ref().expect("the logs' directory").path();
        let log = dir.join(format!("server-{n}.log"));
        let node = format!("s{n}");
        let mut env = vec![("NGOBROL_NODE_NAME", node.as_str())];
        env.extend(self.env.iter().copied());
        let server =
            ServerProcess::start(amqp_url, &self.database_url, &self.namespace, &log, &env);
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

    /// A server that does not take in but serves the shard of one of
    /// `users` (its log says it took the shard's turn); any other that
    /// does not take in, if none does.
    fn serving_one_of(&self, users: &[String]) -> usize {
        let intake = self.intake();
        let others = (0..self.servers.len()).filter(|i| *i != intake && self.servers[*i].is_some());
        let others: Vec<usize> = others.collect();
        let shards: Vec<u16> = users.iter().map(|u| shard_of(u)).collect();
        for &i in &others {
            let log = std::fs::read_to_string(&self.logs[i]).unwrap();
            if log.lines().any(|line| {
                line.contains("took a shard's turn")
                    && shards.iter().any(|k| line.ends_with(&format!("shard={k}")))
            }) {
                return i;
            }
        }
        println!("no server but the intake's serves {users:?}");
        others[0]
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

/// The shard of a user's requests: FNV-1a of the name, modulo the 32
/// shards (as the servers route them).
fn shard_of(user: &str) -> u16 {
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % 32) as u16
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(dir) = self.dir.take()
        {
            eprintln!("the servers' logs are kept in {}", dir.keep().display());
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
async fn two_servers_keep_every_senders_order_under_direct_and_group_load() {
    every_senders_order_holds_under_load(Fleet::start(2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_keep_every_senders_order_under_direct_and_group_load() {
    every_senders_order_holds_under_load(Fleet::start(3).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_sqlite_file_keep_every_senders_order() {
    // The same command twice on one machine, with the default store.
    every_senders_order_holds_under_load(Fleet::start_on_sqlite(2).await).await;
}

/// The servers of `fleet`, started one after the other (the shards move
/// among them as they hear of each other, while the test's users sign
/// up), take direct and then group load; every recipient gets each
/// sender's messages once and in order.
async fn every_senders_order_holds_under_load(fleet: Fleet) {
    const SENDERS: usize = 6;
    const EACH: usize = 100;
    let servers = fleet.servers.len();
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
    assert!(
        yielding >= servers - 1,
        "{yielding} servers left shards to others"
    );
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
async fn sigkill_of_a_server_serving_shards_mid_group_load_loses_nothing_and_keeps_order() {
    const SENDERS: usize = 6;
    const EACH: usize = 100;
    let mut fleet = Fleet::start(3).await;
    let mut crowd = Crowd::gather(&fleet, SENDERS).await;
    let names = crowd.names();
    let sending = crowd.send(EACH, true);

    let mut arrived = receive(&mut crowd.rina.1, SENDERS * EACH / 4, true).await;
    let victim = fleet.serving_one_of(&names);
    fleet.servers[victim].take().unwrap().kill();
    for sending in sending {
        sending.await.unwrap();
    }
    let rest = SENDERS * EACH - arrived.len();
    arrived.extend(receive(&mut crowd.rina.1, rest, true).await);
    assert_eq!(check_order(&arrived, &names, EACH, "rina"), 0);
    // The original client's mailbox has no message ids to drop copies
    // by: a delivery published but not yet confirmed when its server died
    // comes again (with the same id), after the first copy.
    let mut raw = raw_group_messages(&mut crowd.tono, SENDERS * EACH).await;
    while let Some(more) = crowd.tono.recv_within(Duration::from_secs(2)).await {
        if parse(more["message"].as_str().unwrap_or_default()).is_some() {
            raw.push(more["message"].as_str().unwrap().to_owned());
        }
    }
    let copies = check_order(&raw, &names, EACH, "tono's mailbox");
    println!("tono's mailbox: {copies} copies of {}", SENDERS * EACH);
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

    // The second server connects to another node, within its bound on
    // finishing what was in flight on the lost one.
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let second = std::fs::read_to_string(&fleet.logs[1]).unwrap();
        if second.matches("connected to the broker").count() >= 2 || Instant::now() > deadline {
            break second;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        second.matches("connected to the broker").count() >= 2,
        "the second server did not connect to another node:\n{second}"
    );
    assert!(
        second.contains("kind=\"quorum\""),
        "shards not quorum queues"
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
    // Provoked: the second server's connection to the stopped node (the
    // node closes it, or it is reset as the node goes), and the mailbox it
    // had declared there (a classic queue lives on one node), which cannot
    // be declared again while that node is down.
    fleet.check_logs(&[
        "CONNECTION_FORCED",
        "the broker connection was lost",
        "Connection reset by peer",
        "is down or inaccessible",
        "stopped by supervisor",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_whose_turn_another_server_holds_waits_for_it() {
    use ngobrol_core::ShardTurns;
    let fleet = Fleet::start(1).await;
    // Another holder of every shard's turn, as a server would be whose
    // broker connection broke while it still runs requests it had.
    let store = tokio::task::spawn_blocking({
        let url = fleet.database_url.clone();
        move || ngobrol_store::Store::open(&url, &ngobrol_store::StoreOptions::default())
    })
    .await
    .unwrap()
    .unwrap();
    let other = store.turn_holder(fleet.namespace.as_str()).await.unwrap();
    for shard in 0..32 {
        assert!(other.try_take(shard).await.unwrap(), "shard {shard}");
    }
    let mut ana = RawClient::connect_to(&fleet.url, fleet.namespace.clone(), Arc::default()).await;
    let waited =
        tokio::time::timeout(Duration::from_secs(3), ana.register("ana", "rahasia!")).await;
    assert!(waited.is_err(), "served without its turn: {waited:?}");
    let log = std::fs::read_to_string(&fleet.logs[0]).unwrap();
    assert!(log.contains("waiting for a shard's turn"), "{log}");

    // The other lets go: the request waiting runs, once.
    let released = Instant::now();
    drop(other);
    let reply = tokio::time::timeout(Duration::from_secs(10), ana.next_reply())
        .await
        .expect("no reply once the turn was given back");
    assert_eq!(reply["status"], "ok", "{reply}");
    println!(
        "served {:?} after the turn was given back",
        released.elapsed()
    );
    let reply = ana.login("ana", "rahasia!").await;
    assert_eq!(reply["status"], "ok", "{reply}");
    fleet.finish(&["ana".to_owned()], &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_rate_limit_holds_across_servers() {
    const BURST: usize = 20;
    let url = ngobrol_testkit::amqp_url();
    // A bucket of 20 that refills one request every 1,000 s.
    let fleet = Fleet::start_with_env(
        Database::Postgres,
        url.clone(),
        vec![url; 3],
        vec![
            ("NGOBROL_RATE_PER_SECOND", "0.001"),
            ("NGOBROL_RATE_BURST", "20"),
        ],
    )
    .await;
    // The shards shared out among the three first (each has left the
    // others theirs): a shard moving mid-test would start its users'
    // buckets afresh on the next server (one more burst).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !fleet.logs.iter().all(|log| {
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .contains("leaving other servers their shards servers=3")
    }) {
        assert!(Instant::now() < deadline, "the shards were not shared out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut ana = RawClient::connect_to(&fleet.url, fleet.namespace.clone(), Arc::default()).await;
    ana.sign_up("ana").await;
    let token = ana.token().to_owned();
    let (mut ok, mut limited) = (0, 0);
    for _ in 0..3 * BURST {
        let request =
            serde_json::json!({"method": "get_friend", "username": "ana", "token": token});
        let reply = ana.call(request).await;
        match reply["code"].as_str() {
            None if reply["status"] == "ok" => ok += 1,
            Some("rate_limited") => limited += 1,
            _ => panic!("{reply}"),
        }
    }
    println!("{ok} answered, {limited} refused of {}", 3 * BURST);
    // Three servers serve (taking turns at the requests would give three
    // buckets), one bucket counts: the burst and no more.
    assert_eq!(ok, BURST);
    assert_eq!(limited, 2 * BURST);
    fleet.finish(&["ana".to_owned()], &[]).await;
}
