//! A group's admin over the real broker, through the SDK: members listed
//! with the admin marked, a member removed, the group handed over,
//! renamed and closed; each a notice the members' devices receive, each
//! refused with its code to anyone else. And a friendship ended.

use futures_util::StreamExt;
use ngobrol_amqp::client::{Event, Events};
use ngobrol_testkit::{TestServer, WAIT, code};

/// The next notice: its event, member and group name.
async fn notice(events: &mut Events) -> (String, String, String) {
    loop {
        match tokio::time::timeout(WAIT, events.next()).await {
            Ok(Some(Event::Notice(n))) => {
                return (
                    n.event.unwrap_or_default(),
                    n.member.unwrap_or_default(),
                    n.group_name,
                );
            }
            Ok(Some(_)) => {}
            other => panic!("no notice: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_manages_a_group_and_its_members_are_told() {
    let server = TestServer::start().await;
    let (_a, ana, mut ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    let (_c, cici, mut cici_events) = server.person("cici").await;
    let group = ana.create_group("Keluarga").await.unwrap().unwrap();
    for member in ["budi", "cici"] {
        ana.add_member(group, member).await.unwrap();
    }
    for _ in 0..2 {
        notice(&mut ana_events).await;
        notice(&mut budi_events).await;
    }
    notice(&mut cici_events).await;

    let listed = budi.group_members(group).await.unwrap();
    assert_eq!(listed.admin.as_deref(), Some("ana"));
    let members: Vec<_> = listed
        .members
        .iter()
        .map(|m| (m.username.as_str(), m.admin))
        .collect();
    assert_eq!(members, [("ana", true), ("budi", false), ("cici", false)]);

    // Only the admin manages; the admin leaves by quitting.
    assert_eq!(
        code(budi.kick_member(group, "cici").await.unwrap_err()),
        "not_group_admin"
    );
    assert_eq!(
        code(ana.kick_member(group, "ana").await.unwrap_err()),
        "bad_request"
    );
    assert_eq!(
        code(ana.kick_member(group, "dodi").await.unwrap_err()),
        "not_member"
    );
    ana.kick_member(group, "cici").await.unwrap();
    for events in [&mut ana_events, &mut budi_events, &mut cici_events] {
        let (event, member, _) = notice(events).await;
        assert_eq!((event.as_str(), member.as_str()), ("removed", "cici"));
    }
    assert_eq!(
        code(cici.group_members(group).await.unwrap_err()),
        "not_member"
    );

    assert_eq!(
        code(ana.transfer_admin(group, "cici").await.unwrap_err()),
        "not_member"
    );
    ana.transfer_admin(group, "budi").await.unwrap();
    let (event, member, _) = notice(&mut ana_events).await;
    assert_eq!((event.as_str(), member.as_str()), ("admin_changed", "budi"));
    notice(&mut budi_events).await;
    assert_eq!(
        code(ana.rename_group(group, "x").await.unwrap_err()),
        "not_group_admin"
    );
    assert_eq!(
        code(budi.rename_group(group, " ").await.unwrap_err()),
        "invalid_group_name"
    );
    budi.rename_group(group, "Keluarga Besar").await.unwrap();
    let (event, _, name) = notice(&mut ana_events).await;
    assert_eq!(
        (event.as_str(), name.as_str()),
        ("renamed", "Keluarga Besar")
    );
    notice(&mut budi_events).await;
    let groups = ana.groups().await.unwrap();
    assert_eq!(groups[0].group_name, "Keluarga Besar");

    assert_eq!(
        code(ana.delete_group(group).await.unwrap_err()),
        "not_group_admin"
    );
    budi.delete_group(group).await.unwrap();
    let (event, member, _) = notice(&mut ana_events).await;
    assert_eq!((event.as_str(), member.as_str()), ("closed", "budi"));
    assert!(ana.groups().await.unwrap().is_empty());
    assert_eq!(
        code(ana.send_group(group, "halo").await.unwrap_err()),
        "unknown_group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_friendship_ends_both_ways() {
    let server = TestServer::start().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let (_b, budi, _budi_events) = server.person("budi").await;
    ana.add_friend("budi").await.unwrap();
    budi.remove_friend("ana").await.unwrap();
    assert!(ana.friends().await.unwrap().is_empty());
    assert_eq!(
        code(ana.send_direct("budi", "halo").await.unwrap_err()),
        "not_friends"
    );
    assert_eq!(
        code(ana.remove_friend("budi").await.unwrap_err()),
        "not_friends"
    );
    assert_eq!(
        code(ana.remove_friend("nobody").await.unwrap_err()),
        "unknown_user"
    );
    ana.add_friend("budi").await.unwrap();
    assert_eq!(budi.friends().await.unwrap(), ["ana"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_person_cannot_reach_the_blocker_and_is_not_told() {
    let server = TestServer::start().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let (_b, budi, _budi_events) = server.person("budi").await;
    ana.add_friend("budi").await.unwrap();
    ana.block("budi").await.unwrap();
    assert_eq!(ana.blocked().await.unwrap(), ["budi"]);
    assert_eq!(
        code(budi.send_direct("ana", "halo").await.unwrap_err()),
        "not_friends"
    );
    assert_eq!(
        code(budi.add_friend("ana").await.unwrap_err()),
        "unknown_user"
    );
    let group = budi.create_group("g").await.unwrap().unwrap();
    assert_eq!(
        code(budi.add_member(group, "ana").await.unwrap_err()),
        "unknown_user"
    );
    ana.unblock("budi").await.unwrap();
    assert!(ana.blocked().await.unwrap().is_empty());
    budi.add_friend("ana").await.unwrap();
    budi.send_direct("ana", "halo").await.unwrap();
}
