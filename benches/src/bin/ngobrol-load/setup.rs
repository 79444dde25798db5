//! The population of a run: who exists in the store, who sends what, which
//! broker objects the run creates (and so must delete at the end).
//!
//! Users are `u000000`, `u000001`, … in blocks: direct-message pairs,
//! group members, users who log in, then everyone else. The groups of the
//! fan-out benchmark come first (ids 1..=G); the rest of the store's groups
//! are background, whose members are drawn from the last block, so that
//! start-up re-declares a realistic amount of routing.

use std::ops::Range;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use ngobrol_amqp::Namespace;
use ngobrol_benches::{FAKE_PASSWORD_HASH, Fixture, FixtureGroup, user_name};
use ngobrol_store::{Store, StoreOptions};

use crate::load::{DirectSender, GroupSender};

/// The password of the users who log in.
pub const LOGIN_PASSWORD: &str = "rahasia-bench";

#[derive(Clone, Debug)]
pub struct Plan {
    pub store_users: usize,
    pub direct: Range<usize>,
    pub group_members: Range<usize>,
    pub login: Range<usize>,
    pub pool: Range<usize>,
    pub groups: usize,
    pub group_size: usize,
    pub background_groups: usize,
    pub background_group_size: usize,
}

impl Plan {
    pub fn new(
        store_users: usize,
        pairs: usize,
        groups: usize,
        group_size: usize,
        login_users: usize,
        store_groups: usize,
        background_group_size: usize,
    ) -> anyhow::Result<Self> {
        let direct = 0..2 * pairs;
        let group_members = direct.end..direct.end + groups * group_size;
        let login = group_members.end..group_members.end + login_users;
        let pool = login.end..store_users.max(login.end);
        let background_groups = store_groups.saturating_sub(groups);
        anyhow::ensure!(
            background_groups == 0 || pool.len() >= background_group_size.max(1),
            "--store-users {store_users} leaves {} users for background groups of {background_group_size}",
            pool.len()
        );
        Ok(Self {
            store_users: store_users.max(login.end),
            direct,
            group_members,
            login,
            pool,
            groups,
            group_size,
            background_groups,
            background_group_size,
        })
    }

    fn bench_group(&self, g: usize) -> FixtureGroup {
        let first = self.group_members.start + g * self.group_size;
        FixtureGroup {
            id: g as i64 + 1,
            name: format!("bench group {}", g + 1),
            members: (first..first + self.group_size).map(user_name).collect(),
        }
    }

    fn background_group(&self, j: usize) -> FixtureGroup {
        let size = self.background_group_size;
        let id = (self.groups + j) as i64 + 1;
        FixtureGroup {
            id,
            name: format!("group {id}"),
            members: (0..size)
                .map(|m| user_name(self.pool.start + (j * size + m) % self.pool.len()))
                .collect(),
        }
    }

    /// Users who are members of some background group: they get a queue
    /// at every server start.
    fn background_members(&self) -> Range<usize> {
        let used = (self.background_groups * self.background_group_size).min(self.pool.len());
        self.pool.start..self.pool.start + used
    }

    pub fn memberships(&self) -> usize {
        self.groups * self.group_size + self.background_groups * self.background_group_size
    }

    pub fn total_groups(&self) -> usize {
        self.groups + self.background_groups
    }

    /// Users whose queues the load tool consumes.
    pub fn consumed_users(&self) -> Vec<String> {
        self.direct
            .clone()
            .chain(self.group_members.clone())
            .map(user_name)
            .collect()
    }

    pub fn login_users(&self) -> Vec<String> {
        self.login.clone().map(user_name).collect()
    }

    /// Every queue and exchange the run may create on the broker.
    pub fn broker_objects(&self, namespace: &str) -> (Vec<String>, Vec<String>) {
        let names = Namespace::parse(namespace).expect("a namespace the load tool made");
        let mut queues = vec![
            names.request_queue(),
            names.dead_letter_queue(),
            names.layout_marker(),
            names.routing_marker(),
            relay_queue(namespace),
        ];
        queues.extend(
            (0..ngobrol_amqp::ServerConfig::default().shards).map(|k| names.shard_queue(k)),
        );
        let users = self
            .direct
            .start
            .min(self.group_members.start)
            .min(self.login.start)..self.login.end;
        queues.extend(
            users
                .chain(self.background_members())
                .map(|i| names.user_queue(user_name(i))),
        );
        let exchanges = (1..=self.total_groups())
            .map(|id| names.group_exchange(id))
            .chain([names.change_exchange(), names.fleet_exchange()])
            .collect();
        (queues, exchanges)
    }
}

/// The relay's request queue, beside the server's.
pub fn relay_queue(namespace: &str) -> String {
    format!("{namespace}.relay")
}

/// Tokens of the users who send.
#[derive(Debug)]
pub struct Senders {
    pub direct: Vec<DirectSender>,
    pub group: Vec<GroupSender>,
}

/// Writes the plan into a new store at `path`. Returns the senders (with
/// their tokens) and how long it took.
pub async fn populate(
    plan: &Plan,
    path: &str,
    login_hash: String,
) -> anyhow::Result<(Senders, Duration)> {
    let started = Instant::now();
    let plan = plan.clone();
    let path = path.to_owned();
    let senders = tokio::task::spawn_blocking(move || -> anyhow::Result<Senders> {
        // Opening creates the file and applies the migrations.
        drop(Store::open(&path, &StoreOptions::default())?);
        let mut fixture = Fixture::open(&path)?;
        let mut senders = None;
        fixture.transaction(|f| {
            f.users(0..plan.login.start, FAKE_PASSWORD_HASH)?;
            f.users(plan.login.clone(), &login_hash)?;
            f.users(plan.login.end..plan.store_users, FAKE_PASSWORD_HASH)?;

            let pairs: Vec<(String, String)> = plan
                .direct
                .clone()
                .step_by(2)
                .map(|i| (user_name(i), user_name(i + 1)))
                .collect();
            f.friendships(&pairs)?;

            let mut groups: Vec<FixtureGroup> =
                (0..plan.groups).map(|g| plan.bench_group(g)).collect();
            groups.extend((0..plan.background_groups).map(|j| plan.background_group(j)));
            f.groups(&groups)?;

            let direct_users: Vec<String> = plan.direct.clone().map(user_name).collect();
            let tokens = f.sessions(&direct_users)?;
            let direct = direct_users
                .iter()
                .zip(&tokens)
                .enumerate()
                .map(|(i, (from, token))| DirectSender {
                    from: from.clone(),
                    // Pairs are (2k, 2k+1): each writes to the other.
                    to: direct_users[i ^ 1].clone(),
                    token: token.expose().to_owned(),
                })
                .collect();

            let members: Vec<String> = plan.group_members.clone().map(user_name).collect();
            let tokens = f.sessions(&members)?;
            let group = members
                .iter()
                .zip(&tokens)
                .enumerate()
                .map(|(i, (from, token))| GroupSender {
                    from: from.clone(),
                    group: (i / plan.group_size.max(1)) as i64 + 1,
                    token: token.expose().to_owned(),
                    members: plan.group_size,
                })
                .collect();
            senders = Some(Senders { direct, group });
            Ok(())
        })?;
        senders.ok_or_else(|| anyhow::anyhow!("the fixture wrote nothing"))
    })
    .await??;
    Ok((senders, started.elapsed()))
}

/// Deletes `queues` and `exchanges` from the broker, many requests in
/// flight at once. Objects that do not exist are fine. Returns how many
/// deletions failed.
pub async fn remove_broker_objects(
    url: &str,
    queues: Vec<String>,
    exchanges: Vec<String>,
) -> anyhow::Result<usize> {
    let connection = Connection::connect(url, ConnectionProperties::default()).await?;
    // A few channels, each with many deletions queued: the broker answers
    // them in order, so the time is not one round trip per object.
    let channels =
        futures_util::future::try_join_all((0..4).map(|_| connection.create_channel())).await?;
    let work = queues
        .into_iter()
        .map(|q| (true, q))
        .chain(exchanges.into_iter().map(|e| (false, e)));
    let failures = futures_util::stream::iter(work.enumerate())
        .map(|(i, (queue, name))| {
            let channel = channels[i % channels.len()].clone();
            async move {
                let deleted = if queue {
                    channel
                        .queue_delete(name.as_str().into(), QueueDeleteOptions::default())
                        .await
                        .map(drop)
                } else {
                    channel
                        .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
                        .await
                };
                deleted.is_err()
            }
        })
        .buffer_unordered(256)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let _ = connection.close(200, "cleaned up".into()).await;
    Ok(failures)
}
