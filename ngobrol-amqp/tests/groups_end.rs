//! Groups end, over the real broker: when the last member leaves, the
//! group's exchange is deleted from the broker and the group from the
//! store, and a restart does not bring the exchange back.

use lapin::options::ExchangeDeclareOptions;
use lapin::types::FieldTable;
use lapin::{Connection, ExchangeKind};
use ngobrol_testkit::{TestServer, assert_error, assert_ok, connect};
use serde_json::json;

/// Whether the exchange exists: a passive declaration on a fresh channel
/// (a refused one closes its channel). Panics on any refusal but
/// NOT_FOUND.
async fn exchange_exists(conn: &Connection, exchange: &str) -> bool {
    let ch = conn.create_channel().await.unwrap();
    let declared = ch
        .exchange_declare(
            exchange.into(),
            ExchangeKind::Fanout,
            ExchangeDeclareOptions {
                passive: true,
                durable: true,
                ..ExchangeDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await;
    match declared {
        Ok(()) => {
            ch.close(200, "probed".into()).await.ok();
            true
        }
        Err(e) => match e.kind() {
            lapin::ErrorKind::ProtocolError(c) if c.get_id() == 404 => false,
            _ => panic!("passive declaration of {exchange} failed otherwise: {e}"),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_only_member_quitting_deletes_the_groups_exchange() {
    let mut server = TestServer::start().await;
    let mut ana = server.client().await;
    ana.sign_up("ana").await;
    let conn = connect().await;

    let created = ana.create_group("Sendiri").await;
    assert_ok(&created, "create_group");
    let gid = created["group_id"].as_i64().unwrap();
    let exchange = server.namespace.group_exchange(gid);
    assert!(exchange_exists(&conn, &exchange).await, "made at creation");

    assert_ok(&ana.quit_group(gid).await, "quit_from_group");
    assert!(
        !exchange_exists(&conn, &exchange).await,
        "{exchange} is deleted when its last member leaves"
    );
    let listed = ana
        .call(json!({"method": "get_group", "username": "ana", "token": ana.token()}))
        .await;
    assert_ok(&listed, "get_group");
    assert_eq!(listed["groups"], json!([]));
    assert_error(
        &ana.add_member(gid, "ana").await,
        "add_member_to_group",
        "unknown_group",
    );
    assert_error(
        &ana.quit_group(gid).await,
        "quit_from_group",
        "unknown_group",
    );

    // A restart restores the routing of the groups the store has: not
    // this one.
    server.restart().await;
    assert!(!exchange_exists(&conn, &exchange).await, "not restored");
    conn.close(200, "done".into()).await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exchange_stays_while_anyone_is_left() {
    let server = TestServer::start().await;
    let mut ana = server.client().await;
    let mut budi = server.client().await;
    ana.sign_up("ana").await;
    budi.sign_up("budi").await;
    let conn = connect().await;

    let created = ana.create_group("Berdua").await;
    let gid = created["group_id"].as_i64().unwrap();
    let exchange = server.namespace.group_exchange(gid);
    assert_ok(&ana.add_member(gid, "budi").await, "add_member_to_group");
    assert_eq!(ana.recv().await["notice"], true);
    assert_eq!(budi.recv().await["notice"], true);

    // The admin leaves; budi stays, and is told.
    assert_ok(&ana.quit_group(gid).await, "quit_from_group");
    assert!(exchange_exists(&conn, &exchange).await);
    let notice = budi.recv().await;
    assert_eq!(notice["notice"], true, "{notice}");
    assert_ok(&budi.send_group(gid, "masih di sini").await, "send_group");
    assert_eq!(budi.recv().await["message"], "masih di sini");

    // budi was the last.
    assert_ok(&budi.quit_group(gid).await, "quit_from_group");
    assert!(!exchange_exists(&conn, &exchange).await);
    conn.close(200, "done".into()).await.ok();
}
