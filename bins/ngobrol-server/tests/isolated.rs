//! Isolated mode on a broker of the test's own, whose HTTP auth backend
//! asks the server: two people chat through the SDK (and the CLI), while
//! the broker itself refuses a logged-in person everything that is not
//! theirs.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use lapin::options::{
    BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, ExchangeDeleteOptions,
    QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use ngobrol_amqp::Namespace;
use ngobrol_amqp::client::{Client, Event};
use ngobrol_testkit::IsolatedServer;
use serde_json::{Value, json};

/// A raw connection as broker user `user`.
struct Raw {
    connection: Connection,
    user: String,
    names: Namespace,
}

impl Raw {
    async fn connect(url: &str, user: &str, names: &Namespace) -> Result<Self, lapin::Error> {
        Self::connect_named(url, user, names, None).await
    }

    /// Named at the broker, as the SDK names a session's connection.
    async fn connect_named(
        url: &str,
        user: &str,
        names: &Namespace,
        name: Option<String>,
    ) -> Result<Self, lapin::Error> {
        let mut properties = ConnectionProperties::default();
        if let Some(name) = name {
            properties = properties.with_connection_name(name.into());
        }
        let connection = Connection::connect(url, properties).await?;
        Ok(Self {
            connection,
            user: user.into(),
            names: names.clone(),
        })
    }

    async fn channel(&self) -> Channel {
        let channel = self.connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        channel
    }

    /// A request as this broker user: to the request exchange with
    /// `routing_key` and `user_id`, its reply read by direct reply-to.
    async fn request(
        &self,
        body: Value,
        routing_key: &str,
        user_id: &str,
    ) -> Result<Value, lapin::Error> {
        let channel = self.channel().await;
        let mut replies = channel
            .basic_consume(
                "amq.rabbitmq.reply-to".into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await?;
        channel
            .basic_publish(
                self.names.request_exchange().as_str().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                &serde_json::to_vec(&body).unwrap(),
                BasicProperties::default()
                    .with_reply_to("amq.rabbitmq.reply-to".into())
                    .with_user_id(user_id.into()),
            )
            .await?
            .await?;
        let reply = tokio::time::timeout(Duration::from_secs(10), replies.next())
            .await
            .expect("a reply")
            .expect("a delivery")?;
        Ok(serde_json::from_slice(&reply.data).unwrap())
    }

    /// Whether the broker refuses what `attempt` does on a fresh channel:
    /// the call fails, or the channel is closed by the time a round trip
    /// on it returns.
    async fn refused<F, Fut>(&self, attempt: F) -> bool
    where
        F: FnOnce(Channel) -> Fut,
        Fut: Future<Output = Result<(), lapin::Error>>,
    {
        let channel = self.channel().await;
        if attempt(channel.clone()).await.is_err() {
            return true;
        }
        let probe = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        probe.is_err() || !channel.status().connected()
    }
}

/// Something a person's connection might try.
enum Try {
    Consume(String),
    /// Binding a queue of its own to an exchange with a key.
    Bind(String, &'static str),
    /// Publishing to an exchange with a routing key and a `user_id`.
    Publish(String, String, &'static str),
    Declare(&'static str),
    DeleteQueue(String),
    DeleteExchange(String),
}

impl Try {
    async fn on(&self, ch: Channel) -> Result<(), lapin::Error> {
        match self {
            Try::Consume(queue) => ch
                .basic_consume(
                    queue.as_str().into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map(drop),
            Try::Bind(exchange, key) => {
                let private = QueueDeclareOptions {
                    exclusive: true,
                    ..Default::default()
                };
                let queue = ch
                    .queue_declare("".into(), private, FieldTable::default())
                    .await?;
                ch.queue_bind(
                    queue.name().as_str().into(),
                    exchange.as_str().into(),
                    (*key).into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
            }
            Try::Publish(exchange, key, user_id) => publish(&ch, exchange, key, user_id).await,
            Try::Declare(queue) => ch
                .queue_declare(
                    (*queue).into(),
                    QueueDeclareOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map(drop),
            Try::DeleteQueue(queue) => ch
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map(drop),
            Try::DeleteExchange(exchange) => {
                ch.exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
            }
        }
    }
}

async fn publish(
    channel: &Channel,
    exchange: &str,
    key: &str,
    user_id: &str,
) -> Result<(), lapin::Error> {
    let body = serde_json::to_vec(&json!({"method": "get_friend"})).unwrap();
    channel
        .basic_publish(
            exchange.into(),
            key.into(),
            BasicPublishOptions::default(),
            &body,
            BasicProperties::default().with_user_id(user_id.into()),
        )
        .await?
        .await
        .map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_and_the_broker_refuses_a_person_what_is_not_theirs() {
    let isolated =
        IsolatedServer::start(std::path::Path::new(env!("CARGO_BIN_EXE_ngobrol-server")));
    let names = isolated.namespace.clone();

    // Through the SDK: register and log in through the login account,
    // then each session connects as its person.
    let client = Client::connect(isolated.client_options()).await.unwrap();
    for user in ["ana", "budi"] {
        client.register(user, "rahasia!").await.unwrap();
    }
    let (ana, _ana_events) = client.login("ana", "rahasia!").await.unwrap();
    let (budi, mut budi_events) = client.login("budi", "rahasia!").await.unwrap();
    assert!(ana.add_friend("budi").await.unwrap());
    ana.send_direct("budi", "halo").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(10), budi_events.recv())
        .await
        .unwrap()
    {
        Some(Event::Direct(m)) => assert_eq!((m.from.as_str(), m.text.as_str()), ("ana", "halo")),
        other => panic!("{other:?}"),
    }
    let group = ana
        .create_group("kelas")
        .await
        .unwrap()
        .expect("a group id");
    ana.add_member(group, "budi").await.unwrap();
    ana.send_group(group, "halo semua").await.unwrap();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), budi_events.recv())
            .await
            .unwrap()
        {
            Some(Event::Group(m)) if m.text == "halo semua" => break,
            Some(_) => continue,
            None => panic!("budi's events ended"),
        }
    }
    assert_eq!(budi.friends().await.unwrap(), vec!["ana".to_owned()]);

    // A session of ana's own, raw: its token is its broker password.
    let login = Raw::connect(&isolated.url_as("~login", "~login"), "~login", &names)
        .await
        .unwrap();
    let reply = login
        .request(json!({"method": "login", "username": "ana", "password": "rahasia!", "session_queue": true}), "~login", "~login")
        .await
        .unwrap();
    assert_eq!(reply["status"], "ok", "{reply}");
    let token = reply["token"].as_str().unwrap().to_owned();
    let session = reply["session_id"].as_str().unwrap().to_owned();
    // The login account asks for nothing else.
    let refused = login
        .request(
            json!({"method": "get_friend", "username": "ana", "token": token}),
            "~login",
            "~login",
        )
        .await
        .unwrap();
    assert_eq!(refused["code"], "not_permitted", "{refused}");

    let raw = Raw::connect_named(
        &isolated.url_as("ana", &token),
        "ana",
        &names,
        Some(names.session_queue(&session)),
    )
    .await
    .unwrap();
    // What is hers works.
    let friends = raw
        .request(
            json!({"method": "get_friend", "username": "ana", "token": token}),
            "ana",
            "ana",
        )
        .await
        .unwrap();
    assert_eq!(friends["usernames"], json!(["budi"]), "{friends}");
    let own = names.session_queue(&session);
    assert!(
        !raw.refused(|ch| async move {
            ch.basic_consume(
                own.as_str().into(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map(drop)
        })
        .await,
        "her own session's queue"
    );
    // What is not, the broker refuses.
    let checks = [
        (
            "consuming budi's mailbox",
            Try::Consume(names.user_queue("budi")),
        ),
        (
            "consuming budi's session queue",
            Try::Consume(names.session_queue(budi.id().unwrap())),
        ),
        (
            "consuming the request queue",
            Try::Consume(names.request_queue()),
        ),
        (
            "binding a queue to her own group's exchange",
            Try::Bind(names.group_exchange(group), ""),
        ),
        (
            "binding a queue to the signal exchange",
            Try::Bind(names.signal_exchange(), "budi"),
        ),
        (
            "publishing to the default exchange",
            Try::Publish(String::new(), names.user_queue("budi"), "ana"),
        ),
        (
            "publishing a request with budi's name as routing key",
            Try::Publish(names.request_exchange(), "budi".into(), "ana"),
        ),
        (
            "publishing a request with budi's name as user_id",
            Try::Publish(names.request_exchange(), "ana".into(), "budi"),
        ),
        ("declaring a queue of her own naming", Try::Declare("mine")),
        (
            "deleting budi's mailbox",
            Try::DeleteQueue(names.user_queue("budi")),
        ),
        (
            "deleting the request exchange",
            Try::DeleteExchange(names.request_exchange()),
        ),
    ];
    for (what, attempt) in &checks {
        assert!(
            raw.refused(|ch| attempt.on(ch)).await,
            "the broker let ana go {what}"
        );
    }

    // Once the session ends, its token opens no connection (within the
    // broker's cache lifetime, 1 s here).
    let ended = raw
        .request(
            json!({"method": "logout", "username": "ana", "token": token}),
            "ana",
            "ana",
        )
        .await
        .unwrap();
    assert_eq!(ended["status"], "ok", "{ended}");
    // Its live connection is closed by the server, through the management
    // API (which lists a connection seconds after it opened).
    let deadline = Instant::now() + Duration::from_secs(20);
    while raw.connection.status().connected() {
        assert!(
            Instant::now() < deadline,
            "the ended session's connection stays open:\n{}",
            isolated.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match Raw::connect(&isolated.url_as("ana", &token), "ana", &names).await {
            Err(_) => break,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "an ended session's token still connects"
            ),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Nor does a made-up one, or the login account with a wrong password.
    assert!(
        Raw::connect(
            &isolated.url_as("budi", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
            "budi",
            &names
        )
        .await
        .is_err()
    );
    assert!(
        Raw::connect(&isolated.url_as("~login", "wrong"), "~login", &names)
            .await
            .is_err()
    );
    let _ = (login.user.clone(), raw.user.clone());
}
