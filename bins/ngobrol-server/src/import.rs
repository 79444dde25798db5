//! `import-original`: an original ngobrol deployment's MySQL/MariaDB
//! database (tables `user`, `friend`, `group`, `membership`) copied into
//! the store. Passwords, kept in plain text there, are hashed on the way
//! in; groups keep their ids. Rows the rules refuse are skipped and
//! listed; what is here already is left as it is, so a second run
//! changes nothing. The store is held alone while it runs: no server may
//! serve it meanwhile.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::SystemTime;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use mysql::prelude::Queryable;
use ngobrol_core::{
    GroupId, GroupName, GroupRecord, Password, PasswordHasher, UserRecord, Username,
};
use ngobrol_store::{GroupImport, StoreError, StoreLock};

use crate::settings::Settings;
use crate::table::printable;

#[derive(clap::Args, Debug)]
pub(crate) struct ImportArgs {
    /// The original deployment's database: mysql://USER:PASS@HOST:PORT/DB.
    #[arg(long, value_name = "URL")]
    pub from: String,
}

/// The original's rows, as read.
#[derive(Debug, Default)]
struct Original {
    /// (username, plaintext password).
    users: Vec<(String, Option<String>)>,
    /// (username, friend_username), one row per direction.
    friends: Vec<(String, String)>,
    /// (id, name, admin_username).
    groups: Vec<(i64, String, String)>,
    /// (group_id, username).
    memberships: Vec<(i64, String)>,
}

/// What the import did, and what it skipped with the reason.
#[derive(Debug, Default)]
struct Report {
    users_written: usize,
    users_present: usize,
    friendships_written: usize,
    groups_written: usize,
    groups_present: usize,
    memberships: usize,
    skipped: Vec<String>,
}

pub(crate) async fn run(settings: Settings, args: ImportArgs) -> anyhow::Result<()> {
    let from = args.from.clone();
    let shown = ngobrol_amqp::redact_url(&from);
    let store = crate::open_store(&settings).await?;
    let _alone = match StoreLock::exclusive(&settings.database_url) {
        Ok(lock) => lock,
        Err(StoreError::InUse) => anyhow::bail!(
            "a server is serving the store at {}; stop it (and any other import) first",
            ngobrol_amqp::redact_url(&settings.database_url)
        ),
        Err(e) => return Err(e).context("cannot lock the store"),
    };
    let original = tokio::task::spawn_blocking(move || read_original(&from))
        .await?
        .with_context(|| format!("cannot read the original database at {shown}"))?;
    let hasher = PasswordHasher::new(
        settings.rules.pbkdf2_iterations,
        settings.rules.hashing_concurrency,
    )?;
    let now = SystemTime::now();
    let mut report = Report::default();
    let known = import_users(&store, &hasher, original.users, now, &mut report).await?;
    import_friendships(&store, &known, original.friends, now, &mut report).await?;
    import_groups(
        &store,
        &known,
        original.groups,
        original.memberships,
        now,
        &mut report,
    )
    .await?;
    print_report(&report);
    Ok(())
}

fn read_original(url: &str) -> anyhow::Result<Original> {
    let opts = mysql::Opts::from_url(url).context("not a mysql:// URL")?;
    let mut conn = mysql::Conn::new(opts)?;
    Ok(Original {
        users: conn.query("SELECT username, password FROM `user` ORDER BY username")?,
        friends: conn.query("SELECT username, friend_username FROM `friend` ORDER BY id")?,
        groups: conn.query("SELECT id, name, admin_username FROM `group` ORDER BY id")?,
        memberships: conn.query("SELECT group_id, username FROM `membership` ORDER BY id")?,
    })
}

/// Hashes and writes the users not here yet; returns every username the
/// store now has of the original's.
async fn import_users(
    store: &ngobrol_store::Store,
    hasher: &PasswordHasher,
    rows: Vec<(String, Option<String>)>,
    now: SystemTime,
    report: &mut Report,
) -> anyhow::Result<HashSet<String>> {
    let mut valid = Vec::new();
    let mut seen = HashSet::new();
    for (name, password) in rows {
        let shown = printable(&name);
        match (Username::parse(name.clone()), password) {
            (Err(e), _) => report.skipped.push(format!("user {shown:?}: {e}")),
            (Ok(_), None) => report.skipped.push(format!("user {shown:?}: no password")),
            (Ok(user), Some(password)) if seen.insert(name) => valid.push((user, password)),
            (Ok(_), Some(_)) => report.skipped.push(format!("user {shown:?}: listed twice")),
        }
    }
    let names: Vec<String> = valid.iter().map(|(u, _)| u.as_str().to_owned()).collect();
    let present = store.existing_users(names.clone()).await?;
    report.users_present = present.len();
    let to_hash: Vec<_> = valid
        .into_iter()
        .filter(|(user, _)| !present.contains(user.as_str()))
        .collect();
    let progress = ProgressBar::new(to_hash.len() as u64).with_style(
        ProgressStyle::with_template("hashing passwords {bar:40} {pos}/{len} ({eta} left)")
            .expect("a valid template"),
    );
    let mut hashing = tokio::task::JoinSet::new();
    for (user, password) in to_hash {
        let hasher = hasher.clone();
        hashing.spawn(async move {
            // The minimum length applies at registration; an original
            // password shorter than it is kept.
            let hash = hasher.hash(&Password::new(password)).await;
            (user, hash)
        });
    }
    let mut records = Vec::new();
    while let Some(done) = hashing.join_next().await {
        let (user, hash) = done?;
        records.push(UserRecord {
            username: user,
            password_hash: hash?,
            created_at: now,
        });
        progress.inc(1);
        if records.len() == 500 {
            report.users_written += store.import_users(std::mem::take(&mut records)).await?;
        }
    }
    report.users_written += store.import_users(records).await?;
    progress.finish_and_clear();
    Ok(names.into_iter().collect())
}

/// Makes friends of each pair both of whom were imported, once a pair.
async fn import_friendships(
    store: &ngobrol_store::Store,
    known: &HashSet<String>,
    rows: Vec<(String, String)>,
    now: SystemTime,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut pairs = BTreeSet::new();
    for (a, b) in rows {
        let (shown_a, shown_b) = (printable(&a), printable(&b));
        if a == b {
            report.skipped.push(format!(
                "friendship {shown_a:?}–{shown_b:?}: a user with themselves"
            ));
        } else if !known.contains(&a) || !known.contains(&b) {
            let missing = if known.contains(&a) { shown_b } else { shown_a };
            report.skipped.push(format!(
                "friendship {:?}–{:?}: no user {missing:?}",
                printable(&a),
                printable(&b)
            ));
        } else {
            pairs.insert(if a < b { (a, b) } else { (b, a) });
        }
    }
    let pairs = pairs
        .into_iter()
        .map(|(a, b)| Ok((Username::parse(a)?, Username::parse(b)?)))
        .collect::<Result<Vec<_>, ngobrol_core::ChatError>>()?;
    report.friendships_written = store.import_friendships(pairs, now).await?;
    Ok(())
}

/// Writes each group with its id, admin and imported members.
async fn import_groups(
    store: &ngobrol_store::Store,
    known: &HashSet<String>,
    groups: Vec<(i64, String, String)>,
    memberships: Vec<(i64, String)>,
    now: SystemTime,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut members: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    for (group, user) in memberships {
        members.entry(group).or_default().insert(user);
    }
    for (id, name, admin) in groups {
        let listed = members.remove(&id).unwrap_or_default();
        let group_name = match GroupName::parse(name.clone()) {
            Ok(name) => name,
            Err(e) => {
                report.skipped.push(format!("group {id}: {e}"));
                continue;
            }
        };
        if id <= 0 || !known.contains(&admin) {
            report.skipped.push(format!(
                "group {id}: no user {:?} to be its admin",
                printable(&admin)
            ));
            continue;
        }
        let mut users = Vec::new();
        for user in listed {
            if known.contains(&user) {
                users.push(Username::parse(user)?);
            } else {
                report.skipped.push(format!(
                    "membership of {:?} in group {id}: no such user",
                    printable(&user)
                ));
            }
        }
        let record = GroupRecord {
            id: GroupId::new(id),
            name: group_name,
            admin: Username::parse(admin)?,
        };
        let count = users.len();
        match store.import_group(record, users, now).await? {
            GroupImport::Written => report.groups_written += 1,
            GroupImport::AlreadyThere => report.groups_present += 1,
            GroupImport::IdTaken => {
                report.skipped.push(format!(
                    "group {id}: another group has id {id} in this store"
                ));
                continue;
            }
        }
        report.memberships += count;
    }
    for (id, users) in members {
        for user in users {
            report.skipped.push(format!(
                "membership of {:?} in group {id}: no such group",
                printable(&user)
            ));
        }
    }
    Ok(())
}

fn print_report(report: &Report) {
    println!(
        "users: {} imported, {} already here\nfriendships: {} imported\ngroups: {} imported, {} already here ({} memberships)",
        report.users_written,
        report.users_present,
        report.friendships_written,
        report.groups_written,
        report.groups_present,
        report.memberships,
    );
    if !report.skipped.is_empty() {
        println!("skipped {} rows:", report.skipped.len());
        for line in &report.skipped {
            println!("  {line}");
        }
    }
}
