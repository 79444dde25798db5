//! People on the SDK, for the tests that go through it: a client on the
//! test server's namespace, a person registered and logged in, their next
//! event, and the code of a refusal.

use futures_util::StreamExt;
use ngobrol_amqp::client::{Client, ClientError, ClientOptions, Event, Events, Session};

use crate::{TestServer, WAIT};

impl TestServer {
    /// SDK options for this server: the test broker, its namespace.
    pub fn client_options(&self) -> ClientOptions {
        ClientOptions {
            amqp_url: crate::amqp_url(),
            namespace: self.namespace.clone(),
            ..ClientOptions::default()
        }
    }

    /// `name` registered (password `rahasia!`) and logged in through the
    /// SDK: the client, the session, its events.
    pub async fn person(&self, name: &str) -> (Client, Session, Events) {
        let client = Client::connect(self.client_options()).await.unwrap();
        client.register(name, "rahasia!").await.unwrap();
        let (session, events) = client.login(name, "rahasia!").await.unwrap();
        (client, session, events)
    }
}

/// The next event, within the test kit's wait.
pub async fn next_event(events: &mut Events) -> Event {
    tokio::time::timeout(WAIT, events.next())
        .await
        .expect("an event in time")
        .expect("the session is open")
}

/// The code of a refusal (`""` for a failure that has none).
pub fn code(error: ClientError) -> String {
    error
        .code()
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default()
}
