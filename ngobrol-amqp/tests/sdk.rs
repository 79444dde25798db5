//! The client SDK against the real server over the real broker, and
//! against a stand-in for the original server that ignores `request_id`
//! and `reply_to`.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::BasicProperties;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions,
    QueueDeleteOptions,
};
use lapin::types::FieldTable;
use ngobrol_amqp::client::{Client, ClientError, ClientOptions, ErrorCode, Event};
use ngobrol_amqp::wire::GroupEntry;
use serde_json::{Value, json};

use ngobrol_testkit::TestServer;

fn options(server: &TestServer) -> ClientOptions {
    ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: server.namespace.clone(),
        timeout: Duration::from_secs(10),
        retries: 0,
        isolated: false,
    }
}

async fn signed_up(
    server: &TestServer,
    name: &str,
) -> (ngobrol_amqp::client::Session, ngobrol_amqp::client::Events) {
    server.users.lock().unwrap().push(name.to_owned());
    let client = Client::connect(options(server)).await.unwrap();
    client.register(name, "rahasia!").await.unwrap();
    client.login(name, "rahasia!").await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_with_typed_results_and_errors() {
    let server = TestServer::start().await;
    let (ana, mut ana_events) = signed_up(&server, "ana").await;
    let (budi, mut budi_events) = signed_up(&server, "budi").await;

    let client = Client::connect(options(&server)).await.unwrap();
    let err = client.register("ana", "another-one").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::UsernameTaken));
    let err = client.login("ana", "salah").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidCredentials));

    ana.add_friend("budi").await.unwrap();
    assert_eq!(
        ana.add_friend("budi").await.unwrap_err().code(),
        Some(&ErrorCode::AlreadyFriends)
    );
    assert_eq!(budi.friends().await.unwrap(), vec!["ana".to_owned()]);

    let id = ana.send_direct("budi", "halo").await.unwrap();
    assert!(id.is_some());
    match budi_events.recv_timeout(ngobrol_testkit::WAIT).await {
        Some(Event::Direct(m)) => {
            assert_eq!((m.from.as_str(), m.text.as_str()), ("ana", "halo"));
            assert_eq!(m.message_id, id);
        }
        other => panic!("expected a direct message, got {other:?}"),
    }

    let gid = ana
        .create_group("Keluarga")
        .await
        .unwrap()
        .expect("a group id");
    assert_eq!(
        ana.groups().await.unwrap(),
        vec![GroupEntry {
            group_name: "Keluarga".into(),
            group_id: gid
        }]
    );
    assert_eq!(
        budi.add_member(gid, "ana").await.unwrap_err().code(),
        Some(&ErrorCode::NotGroupAdmin)
    );
    ana.add_member(gid, "budi").await.unwrap();
    for events in [&mut ana_events, &mut budi_events] {
        match events.recv_timeout(ngobrol_testkit::WAIT).await {
            Some(Event::Notice(n)) => assert!(n.text.contains("budi") && n.group_id == gid),
            other => panic!("expected a notice, got {other:?}"),
        }
    }
    budi.send_group(gid, "halo semua").await.unwrap();
    for events in [&mut ana_events, &mut budi_events] {
        match events.recv_timeout(ngobrol_testkit::WAIT).await {
            Some(Event::Group(m)) => {
                assert_eq!((m.from.as_str(), m.text.as_str()), ("budi", "halo semua"));
                assert_eq!(m.group_name, "Keluarga");
            }
            other => panic!("expected a group message, got {other:?}"),
        }
    }
    budi.quit_group(gid).await.unwrap();
    assert_eq!(
        budi.quit_group(gid).await.unwrap_err().code(),
        Some(&ErrorCode::NotMember)
    );
    assert!(matches!(
        ana_events.recv_timeout(ngobrol_testkit::WAIT).await,
        Some(Event::Notice(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_requests_in_flight_each_get_their_own_reply() {
    let server = TestServer::start().await;
    let (ana, _) = signed_up(&server, "ana").await;
    let (_budi, mut budi_events) = signed_up(&server, "budi").await;
    ana.add_friend("budi").await.unwrap();

    let sends = (0..40).map(|i| {
        let ana = ana.clone();
        async move { ana.send_direct("budi", &format!("m{i}")).await }
    });
    let groups = (0..10).map(|i| {
        let ana = ana.clone();
        async move { ana.create_group(&format!("g{i}")).await }
    });
    let (sent, created) = tokio::join!(
        futures_util::future::join_all(sends),
        futures_util::future::join_all(groups)
    );
    let ids: std::collections::HashSet<_> = sent.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert_eq!(ids.len(), 40, "each send got its own message id");
    let groups: std::collections::HashSet<_> =
        created.into_iter().map(|r| r.unwrap().unwrap()).collect();
    assert_eq!(groups.len(), 10);
    for _ in 0..40 {
        assert!(matches!(
            budi_events.recv_timeout(ngobrol_testkit::WAIT).await,
            Some(Event::Direct(_))
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_nobody_answers_times_out() {
    let namespace = ngobrol_testkit::fresh_namespace();
    let client = Client::connect(ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: namespace.clone(),
        timeout: Duration::from_millis(300),
        retries: 1,
        isolated: false,
    })
    .await
    .unwrap();
    let err = client.register("ana", "rahasia!").await.unwrap_err();
    assert!(
        matches!(err, ClientError::Timeout { attempts: 2, .. }),
        "{err}"
    );
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    ch.queue_delete(
        namespace.request_queue().into(),
        QueueDeleteOptions::default(),
    )
    .await
    .unwrap();
}

/// A stand-in for the original server: it answers login on `queue_name`
/// and everything else in the user's queue, with neither `request_id` nor
/// `correlation_id`, in order.
async fn original_like_server(namespace: ngobrol_amqp::Namespace) {
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    let requests = namespace.request_queue();
    ch.queue_declare(
        requests.as_str().into(),
        QueueDeclareOptions::durable(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        format!("{namespace}_ana").into(),
        QueueDeclareOptions::durable(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let mut consumer = ch
        .basic_consume(
            requests.as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    while let Some(Ok(delivery)) = consumer.next().await {
        let request: Value = serde_json::from_slice(&delivery.data).unwrap();
        let (queue, reply) = match request["method"].as_str().unwrap() {
            "login" => (
                request["queue_name"].as_str().unwrap().to_owned(),
                json!({"method": "login_reply", "status": "ok", "description": "login berhasil", "token": "tok"}),
            ),
            "get_friend" => (
                format!("{namespace}_ana"),
                json!({"method": "get_friend_reply", "status": "ok", "description": "", "usernames": ["budi"]}),
            ),
            _ => (
                format!("{namespace}_ana"),
                json!({"method": format!("{}_reply", request["method"].as_str().unwrap()),
                       "status": "error", "description": "gagal"}),
            ),
        };
        ch.basic_publish(
            "".into(),
            queue.into(),
            BasicPublishOptions::default(),
            &serde_json::to_vec(&reply).unwrap(),
            BasicProperties::default(),
        )
        .await
        .unwrap();
        delivery
            .acker
            .ack(BasicAckOptions::default())
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_without_ids_are_matched_in_order() {
    let namespace = ngobrol_testkit::fresh_namespace();
    let fake = tokio::spawn(original_like_server(namespace.clone()));
    let client = Client::connect(ClientOptions {
        amqp_url: ngobrol_testkit::amqp_url(),
        namespace: namespace.clone(),
        timeout: Duration::from_secs(10),
        retries: 0,
        isolated: false,
    })
    .await
    .unwrap();
    let (ana, _events) = client.login("ana", "x").await.unwrap();
    let (friends, refused) = tokio::join!(ana.friends(), ana.add_friend("cici"));
    assert_eq!(friends.unwrap(), vec!["budi".to_owned()]);
    let refused = refused.unwrap_err();
    assert!(
        matches!(&refused, ClientError::Refused { description, .. } if description == "gagal"),
        "{refused}"
    );

    fake.abort();
    let conn = ngobrol_testkit::connect().await;
    let ch = conn.create_channel().await.unwrap();
    for q in [namespace.request_queue(), format!("{namespace}_ana")] {
        let _ = ch
            .queue_delete(q.into(), QueueDeleteOptions::default())
            .await;
    }
}
