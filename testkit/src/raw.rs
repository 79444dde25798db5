//! A client that speaks exactly as the original console client does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, Consumer};
use ngobrol_amqp::Namespace;
use serde_json::{Value, json};

use crate::WAIT;

/// A client that does what the original console client does: a
/// server-named exclusive queue for the register and login replies,
/// requests published to `<ns>` (declared before every publish, durable,
/// no arguments), and the user's own queue consumed after login.
pub struct RawClient {
    pub namespace: Namespace,
    pub connection: Connection,
    pub channel: Channel,
    pub reply_queue: String,
    replies: Consumer,
    mailbox: Option<Consumer>,
    pending: VecDeque<Value>,
    pub username: Option<String>,
    pub token: Option<String>,
    users: Arc<Mutex<Vec<String>>>,
}

impl RawClient {
    pub async fn connect(namespace: Namespace, users: Arc<Mutex<Vec<String>>>) -> Self {
        Self::connect_to(&crate::amqp_url(), namespace, users).await
    }

    /// [`connect`](Self::connect) to the broker at `amqp_url`.
    pub async fn connect_to(
        amqp_url: &str,
        namespace: Namespace,
        users: Arc<Mutex<Vec<String>>>,
    ) -> Self {
        let connection = lapin::Connection::connect(amqp_url, Default::default())
            .await
            .unwrap_or_else(|e| panic!("no broker at {amqp_url}: {e}"));
        let channel = connection.create_channel().await.unwrap();
        let queue = channel
            .queue_declare(
                "".into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        let reply_queue = queue.name().as_str().to_owned();
        let replies = channel
            .basic_consume(
                reply_queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..BasicConsumeOptions::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            namespace,
            connection,
            channel,
            reply_queue,
            replies,
            mailbox: None,
            pending: VecDeque::new(),
            username: None,
            token: None,
            users,
        }
    }

    /// Disconnects, as a client that quits.
    pub async fn close(self) {
        let _ = self.connection.close(200, "bye".into()).await;
    }

    /// Publishes raw bytes to the request queue.
    pub async fn publish_bytes(&self, body: &[u8], properties: BasicProperties) {
        let queue = self.namespace.request_queue();
        self.channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::durable(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        self.channel
            .basic_publish(
                "".into(),
                queue.as_str().into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .unwrap();
    }

    pub async fn publish(&self, request: &Value) {
        self.publish_bytes(
            &serde_json::to_vec(request).unwrap(),
            BasicProperties::default(),
        )
        .await;
    }

    /// The next message on the client's own reply queue.
    pub async fn next_reply(&mut self) -> Value {
        next_json(&mut self.replies).await
    }

    pub async fn register(&mut self, username: &str, password: &str) -> Value {
        self.users.lock().unwrap().push(username.to_owned());
        self.publish(&json!({
            "method": "register",
            "username": username,
            "password": password,
            "queue_name": self.reply_queue,
        }))
        .await;
        self.next_reply().await
    }

    /// Logs in; on success, consumes the user's queue from then on.
    pub async fn login(&mut self, username: &str, password: &str) -> Value {
        self.publish(&json!({
            "method": "login",
            "username": username,
            "password": password,
            "queue_name": self.reply_queue,
        }))
        .await;
        let reply = self.next_reply().await;
        if reply["status"] == "ok" {
            self.username = Some(username.to_owned());
            self.token = Some(reply["token"].as_str().unwrap().to_owned());
            let queue = self.namespace.user_queue(username);
            let consumer = self
                .channel
                .basic_consume(
                    queue.into(),
                    "".into(),
                    BasicConsumeOptions {
                        no_ack: true,
                        ..BasicConsumeOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            self.mailbox = Some(consumer);
        }
        reply
    }

    /// Registers and logs in, asserting both succeed.
    pub async fn sign_up(&mut self, username: &str) {
        let reply = self.register(username, "rahasia!").await;
        assert_eq!(reply["status"], "ok", "{reply}");
        let reply = self.login(username, "rahasia!").await;
        assert_eq!(reply["status"], "ok", "{reply}");
    }

    pub fn user(&self) -> &str {
        self.username.as_deref().expect("logged in")
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("logged in")
    }

    /// The next message in the user's queue, strictly in arrival order.
    pub async fn recv(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        next_json(self.mailbox.as_mut().expect("logged in")).await
    }

    /// Whether a message arrives in the user's queue within `wait`.
    pub async fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(v) = self.pending.pop_front() {
            return Some(v);
        }
        let mailbox = self.mailbox.as_mut().expect("logged in");
        match tokio::time::timeout(wait, mailbox.next()).await {
            Ok(Some(Ok(d))) => Some(serde_json::from_slice(&d.data).unwrap()),
            _ => None,
        }
    }

    /// Asserts that nothing but replies came to the user's queue: the user
    /// asks for their friends, a request of their own answered in that
    /// queue, and nothing may come before its reply (whatever the server
    /// delivered for requests answered earlier is in the queue before it).
    /// A sentinel, where waiting for a quiet moment would pass when the
    /// unwanted message was merely late.
    #[track_caller]
    pub fn assert_nothing_arrived(&mut self) -> impl Future<Output = ()> + '_ {
        let caller = std::panic::Location::caller();
        async move {
            let request = json!({"method": "get_friend", "username": self.user(),
                                 "token": self.token()});
            let reply = self.call(request).await;
            assert_eq!(reply["status"], "ok", "{reply}");
            assert!(
                self.pending.is_empty(),
                "at {caller}: arrived before the sentinel's reply: {:?}",
                self.pending
            );
        }
    }

    /// Sends `request` and returns its reply from the user's queue; other
    /// messages that arrive first are kept for [`recv`](Self::recv).
    pub async fn call(&mut self, request: Value) -> Value {
        let expected = format!("{}_reply", request["method"].as_str().unwrap());
        self.publish(&request).await;
        let mailbox = self.mailbox.as_mut().expect("logged in");
        loop {
            let message = next_json(mailbox).await;
            if message["method"] == expected.as_str() {
                return message;
            }
            self.pending.push_back(message);
        }
    }

    pub async fn add_friend(&mut self, friend: &str) -> Value {
        let request = json!({
            "method": "add_friend",
            "username_from": self.user(),
            "username_to": friend,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn send_client(&mut self, to: &str, message: &str) -> Value {
        let request = json!({
            "method": "send_client",
            "username_from": self.user(),
            "username_to": to,
            "message": message,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn create_group(&mut self, name: &str) -> Value {
        let request = json!({
            "method": "create_group",
            "username": self.user(),
            "group_name": name,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn add_member(&mut self, group_id: i64, member: &str) -> Value {
        let request = json!({
            "method": "add_member_to_group",
            "username_adder": self.user(),
            "username_to_add": member,
            "group_id": group_id,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn quit_group(&mut self, group_id: i64) -> Value {
        let request = json!({
            "method": "quit_from_group",
            "username": self.user(),
            "group_id": group_id,
            "token": self.token(),
        });
        self.call(request).await
    }

    pub async fn send_group(&mut self, group_id: i64, message: &str) -> Value {
        let request = json!({
            "method": "send_group",
            "username_from": self.user(),
            "group_id_to": group_id,
            "message": message,
            "token": self.token(),
        });
        self.call(request).await
    }
}

async fn next_json(consumer: &mut Consumer) -> Value {
    let delivery = tokio::time::timeout(WAIT, consumer.next())
        .await
        .expect("no message within the wait")
        .expect("consumer ended")
        .expect("delivery failed");
    serde_json::from_slice(&delivery.data).expect("the server sent invalid JSON")
}
