//! Consent over the real broker: on a server started with
//! `FriendshipPolicy::Consent`, befriending asks and a stranger is invited
//! to a group; the SDK sees the requests as events and answers them; the
//! original client accepts by adding the asker back.

use ngobrol_amqp::ServerConfig;
use ngobrol_amqp::client::Event;
use ngobrol_core::{FriendshipPolicy, ServiceConfig};
use ngobrol_testkit::{TestServer, assert_ok, code, next_event};

async fn consenting() -> TestServer {
    let rules = ServiceConfig {
        friendship: FriendshipPolicy::Consent,
        ..ServiceConfig::default()
    };
    TestServer::start_with(ServerConfig::default(), rules).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friend_request_is_seen_and_accepted() {
    let server = consenting().await;
    let (_a, ana, mut ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    assert!(!ana.add_friend("budi").await.unwrap(), "asked, not friends");
    assert_eq!(
        next_event(&mut budi_events).await,
        Event::FriendRequest { from: "ana".into() }
    );
    let waiting = budi.friend_requests().await.unwrap();
    assert_eq!(waiting.incoming.len(), 1);
    assert_eq!(waiting.incoming[0].username, "ana");
    assert_eq!(
        ana.friend_requests().await.unwrap().outgoing[0].username,
        "budi"
    );
    let err = ana.send_direct("budi", "halo").await.unwrap_err();
    assert_eq!(code(err), "not_friends");

    budi.accept_friend("ana").await.unwrap();
    assert_eq!(
        next_event(&mut ana_events).await,
        Event::FriendAccepted { by: "budi".into() }
    );
    assert_eq!(ana.friends().await.unwrap(), ["budi"]);
    ana.send_direct("budi", "halo").await.unwrap();
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "halo"));
    let err = budi.accept_friend("ana").await.unwrap_err();
    assert_eq!(code(err), "no_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_client_accepts_by_adding_back() {
    let server = consenting().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let mut budi = server.client().await;
    budi.sign_up("budi").await;
    assert!(!ana.add_friend("budi").await.unwrap());
    // The original client reads its mailbox: it was sent nothing it would
    // not understand. It adds ana back, and they are friends.
    let reply = budi.add_friend("ana").await;
    assert_ok(&reply, "add_friend");
    assert!(reply.get("pending").is_none(), "{reply}");
    assert_eq!(ana.friends().await.unwrap(), ["budi"]);
    ana.send_direct("budi", "halo").await.unwrap();
    let got = budi.recv().await;
    assert_eq!(
        (got["method"].as_str(), got["message"].as_str()),
        (Some("send_client"), Some("halo"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_invited_to_a_group_and_joins() {
    let server = consenting().await;
    let (_a, ana, mut ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    let group = ana.create_group("Keluarga").await.unwrap().unwrap();
    assert!(!ana.add_member(group, "budi").await.unwrap(), "invited");
    assert_eq!(
        next_event(&mut budi_events).await,
        Event::Invitation {
            group_id: group,
            group_name: "Keluarga".into(),
            by: "ana".into()
        }
    );
    let err = budi.send_group(group, "halo").await.unwrap_err();
    assert_eq!(code(err), "not_member");
    let waiting = budi.friend_requests().await.unwrap();
    assert_eq!(waiting.invitations.len(), 1);
    assert_eq!(waiting.invitations[0].by, "ana");
    budi.accept_invitation(group).await.unwrap();
    // The group is told, as when an admin adds someone.
    match next_event(&mut ana_events).await {
        Event::Notice(n) => assert_eq!(
            (n.event.as_deref(), n.member.as_deref()),
            (Some("joined"), Some("budi"))
        ),
        other => panic!("{other:?}"),
    }
    budi.send_group(group, "halo").await.unwrap();
    let err = budi.decline_invitation(group).await.unwrap_err();
    assert_eq!(code(err), "no_invitation");
}
