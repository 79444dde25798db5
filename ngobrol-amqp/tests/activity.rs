//! Typing and presence over the real broker, through the SDK: the other
//! person's devices are told, friends only learn presence, and a person
//! who keeps their activity to themselves is seen offline.

use ngobrol_amqp::client::{Event, Peer};
use ngobrol_testkit::{TestServer, next_event};

fn states(listed: &[ngobrol_amqp::wire::PresenceEntry]) -> Vec<(&str, &str)> {
    listed
        .iter()
        .map(|p| (p.username.as_str(), p.state.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_and_presence_reach_friends_only() {
    let server = TestServer::start().await;
    let (_a, ana, _ana_events) = server.person("ana").await;
    let (_b, budi, mut budi_events) = server.person("budi").await;
    let (_c, _cici, mut cici_events) = server.person("cici").await;
    ana.add_friend("budi").await.unwrap();

    ana.typing(&Peer::User("budi".into())).await.unwrap();
    assert_eq!(
        next_event(&mut budi_events).await,
        Event::Typing {
            from: "ana".into(),
            group_id: None
        }
    );
    ana.set_presence("online").await.unwrap();
    assert_eq!(
        next_event(&mut budi_events).await,
        Event::Presence {
            user: "ana".into(),
            state: "online".into()
        }
    );
    let listed = budi.presence(&["ana", "cici"]).await.unwrap();
    assert_eq!(states(&listed), [("ana", "online")], "cici is no friend");
    let err = ana.set_presence("dancing").await.unwrap_err();
    assert_eq!(err.code().map(|c| c.as_str()), Some("bad_request"));

    // Kept to herself: seen offline, and her typing goes nowhere.
    ana.share_activity(false).await.unwrap();
    assert_eq!(
        next_event(&mut budi_events).await,
        Event::Presence {
            user: "ana".into(),
            state: "offline".into()
        }
    );
    ana.typing(&Peer::User("budi".into())).await.unwrap();
    assert_eq!(
        states(&budi.presence(&["ana"]).await.unwrap()),
        [("ana", "offline")]
    );
    // Nothing else came: the next event is a sentinel.
    ana.send_direct("budi", "sentinel").await.unwrap();
    assert!(matches!(next_event(&mut budi_events).await, Event::Direct(m) if m.text == "sentinel"));
    // Cici, no friend, heard nothing at all.
    let (_d, dedi, _dedi_events) = server.person("dedi").await;
    dedi.add_friend("cici").await.unwrap();
    dedi.send_direct("cici", "sentinel").await.unwrap();
    assert!(matches!(next_event(&mut cici_events).await, Event::Direct(m) if m.text == "sentinel"));
}
