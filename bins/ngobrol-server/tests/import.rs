//! `import-original` against the real MariaDB of this machine: a database
//! in the original deployment's layout, made by the test, copied into a
//! store; old passwords log in, friendships and groups (with their ids)
//! are there, refused rows are reported, and a second run changes
//! nothing. The import refuses to run while a server serves the store.

use std::process::{Command, Output};
use std::sync::Arc;

use mysql::prelude::Queryable;
use ngobrol_core::memory::MemoryOutbound;
use ngobrol_core::{
    Auth, ChatError, ChatService, FriendRepository, GroupId, GroupName, GroupRepository, Password,
    Ports, ServiceConfig, UserRepository, Username,
};
use ngobrol_store::{Store, StoreLock, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_ngobrol-server");

/// MariaDB as root over loopback (scripts/ensure-services.sh starts it).
const MARIADB: &str = "mysql://root@127.0.0.1:3306";

/// A database in the original's layout, dropped at the end.
struct Original {
    name: String,
}

impl Original {
    fn create() -> Self {
        let name = format!("ngobrol_original_{}", uuid::Uuid::new_v4().simple());
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(MARIADB).unwrap())
            .unwrap_or_else(|e| panic!("MariaDB at {MARIADB} does not answer ({e}); run scripts/ensure-services.sh mariadb"));
        conn.query_drop(format!("CREATE DATABASE `{name}`"))
            .unwrap();
        conn.query_drop(format!("USE `{name}`")).unwrap();
        for table in [
            "CREATE TABLE `user` (username VARCHAR(100) PRIMARY KEY, password VARCHAR(100), token VARCHAR(100))",
            "CREATE TABLE `friend` (id INT AUTO_INCREMENT PRIMARY KEY, username VARCHAR(100), friend_username VARCHAR(100))",
            "CREATE TABLE `group` (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(1000), admin_username VARCHAR(100))",
            "CREATE TABLE `membership` (id INT AUTO_INCREMENT PRIMARY KEY, group_id INT, username VARCHAR(100))",
        ] {
            conn.query_drop(table).unwrap();
        }
        conn.query_drop(
            "INSERT INTO `user` VALUES ('ana', 'rahasia', 'oldtoken'), ('budi', 'kucing123', NULL), \
             ('cici', 'x', NULL), ('dodi budi', 'spasi', NULL), ('e''f', 'kutip', NULL)",
        )
        .unwrap();
        conn.query_drop(
            "INSERT INTO `friend` (username, friend_username) VALUES ('ana', 'budi'), ('budi', 'ana'), \
             ('ana', 'budi'), ('cici', 'ana'), ('ana', 'hantu'), ('ana', 'ana')",
        )
        .unwrap();
        conn.query_drop(
            "INSERT INTO `group` (id, name, admin_username) VALUES (7, 'kelas', 'ana'), \
             (12, 'kantor', 'budi'), (13, 'sepi', 'hantu')",
        )
        .unwrap();
        conn.query_drop(
            "INSERT INTO `membership` (group_id, username) VALUES (7, 'ana'), (7, 'budi'), (7, 'cici'), \
             (12, 'budi'), (12, 'hantu'), (99, 'ana')",
        )
        .unwrap();
        Self { name }
    }

    fn url(&self) -> String {
        format!("{MARIADB}/{}", self.name)
    }
}

impl Drop for Original {
    fn drop(&mut self) {
        if let Ok(mut conn) = mysql::Conn::new(mysql::Opts::from_url(MARIADB).unwrap()) {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

fn import(from: &str, database: &str) -> Output {
    Command::new(BIN)
        .args(["import-original", "--from", from])
        .env("NGOBROL_DATABASE_URL", database)
        .env("NGOBROL_PBKDF2_ITERATIONS", "1000")
        .env_remove("NGOBROL_CONFIG")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_original_deployment_moves_over_with_its_passwords_friends_and_group_ids() {
    let original = Original::create();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ngobrol.sqlite3");
    let database = database.to_str().unwrap();

    let first = import(&original.url(), database);
    let printed = String::from_utf8(first.stdout).unwrap();
    assert!(
        first.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        printed.contains("users: 3 imported, 0 already here"),
        "{printed}"
    );
    assert!(printed.contains("friendships: 2 imported"), "{printed}");
    assert!(
        printed.contains("groups: 2 imported, 0 already here (4 memberships)"),
        "{printed}"
    );
    for skipped in [
        "user \"dodi budi\": invalid username",
        "user \"e'f\": invalid username",
        "friendship \"ana\"–\"hantu\": no user \"hantu\"",
        "friendship \"ana\"–\"ana\": a user with themselves",
        "group 13: no user \"hantu\" to be its admin",
        "membership of \"hantu\" in group 12: no such user",
        "membership of \"ana\" in group 99: no such group",
    ] {
        assert!(printed.contains(skipped), "{skipped:?} not in:\n{printed}");
    }

    let store = Arc::new(Store::open(database, &StoreOptions::default()).unwrap());
    let user = |name: &str| Username::parse(name).unwrap();
    assert!(
        store
            .are_friends(&user("ana"), &user("budi"))
            .await
            .unwrap()
    );
    assert!(
        store
            .are_friends(&user("cici"), &user("ana"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .are_friends(&user("budi"), &user("cici"))
            .await
            .unwrap()
    );
    let kelas = store.find_group(GroupId::new(7)).await.unwrap().unwrap();
    assert_eq!(
        (kelas.name.as_str(), kelas.admin.as_str()),
        ("kelas", "ana")
    );
    assert_eq!(store.members_of(GroupId::new(7)).await.unwrap().len(), 3);
    assert_eq!(
        store.members_of(GroupId::new(12)).await.unwrap(),
        vec![user("budi")]
    );
    assert!(
        store
            .find_user(&user("ana"))
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .starts_with("$pbkdf2-sha256$")
    );

    let rules = ServiceConfig {
        pbkdf2_iterations: 1000,
        ..ServiceConfig::default()
    };
    let chat = ChatService::new(
        Ports::new(store.clone(), Arc::new(MemoryOutbound::new())),
        rules,
    )
    .unwrap();
    // "x" is shorter than today's minimum: kept, since it applies at registration.
    chat.login(&user("cici"), &Password::new("x"), None)
        .await
        .unwrap();
    assert_eq!(
        chat.login(&user("budi"), &Password::new("wrong"), None)
            .await
            .err(),
        Some(ChatError::InvalidCredentials)
    );
    let login = chat
        .login(&user("ana"), &Password::new("rahasia"), None)
        .await
        .unwrap();
    // A group made now gets an id above every imported one.
    let auth = Auth::new(user("ana"), login.token);
    let made = chat
        .create_group(&auth, &GroupName::parse("baru").unwrap())
        .await
        .unwrap();
    assert!(made.id.get() > 12, "{made:?}");
    drop(chat);
    drop(store);

    let second = import(&original.url(), database);
    let printed = String::from_utf8(second.stdout).unwrap();
    assert!(
        second.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        printed.contains("users: 0 imported, 3 already here"),
        "{printed}"
    );
    assert!(printed.contains("friendships: 0 imported"), "{printed}");
    assert!(
        printed.contains("groups: 0 imported, 2 already here"),
        "{printed}"
    );
    let store = Store::open(database, &StoreOptions::default()).unwrap();
    let stats = store.stats(std::time::SystemTime::now()).await.unwrap();
    assert_eq!(
        (stats.users, stats.groups, stats.memberships),
        (3, 3, 5),
        "{stats:?}"
    );
}

#[test]
fn the_import_refuses_a_store_a_server_serves() {
    let original = Original::create();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("ngobrol.sqlite3");
    let database = database.to_str().unwrap();
    Store::open(database, &StoreOptions::default()).unwrap();
    // What a serving server holds.
    let serving = StoreLock::shared(database).unwrap();
    let refused = import(&original.url(), database);
    assert!(!refused.status.success());
    let errors = String::from_utf8(refused.stderr).unwrap();
    assert!(errors.contains("a server is serving the store"), "{errors}");
    drop(serving);
    let done = import(&original.url(), database);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    // And while an import holds it, a server does not start on it.
    let _importing = StoreLock::exclusive(database).unwrap();
    assert!(StoreLock::shared(database).is_err());
}
