//! What the service tests on the in-memory ports share: a service with its
//! outbound side in view, and people registered and logged in.

#![allow(dead_code)] // Each test binary uses its own part.

use std::sync::Arc;

use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{
    Auth, ChatService, MessageId, Password, PasswordHasher, Peer, Ports, RateLimit, ServiceConfig,
    StoredMessage, Username,
};

pub fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

pub struct World {
    pub outbound: Arc<MemoryOutbound>,
    pub chat: ChatService,
}

impl World {
    /// The default rules, with cheap hashing and no request limit.
    pub fn new() -> Self {
        Self::with(ServiceConfig::default())
    }

    /// `rules`, with cheap hashing and no request limit.
    pub fn with(rules: ServiceConfig) -> Self {
        let store = Arc::new(MemoryStore::new());
        let outbound = Arc::new(MemoryOutbound::new());
        let config = ServiceConfig {
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            request_rate: RateLimit::UNLIMITED,
            ..rules
        };
        let chat = ChatService::new(Ports::new(store, outbound.clone()), config).unwrap();
        Self { outbound, chat }
    }

    /// Registers and logs in each of `names`.
    pub async fn people<const N: usize>(&self, names: [&str; N]) -> [Auth; N] {
        let mut out = Vec::new();
        for name in names {
            let password = Password::new("rahasia!");
            self.chat.register(&user(name), &password).await.unwrap();
            let login = self.chat.login(&user(name), &password, None).await.unwrap();
            out.push(Auth::new(user(name), login.token));
        }
        out.try_into().unwrap_or_else(|_| unreachable!())
    }

    /// A direct message from one to the other; its id.
    pub async fn say(&self, from: &Auth, to: &Auth, text: &str) -> MessageId {
        let text = self.chat.message_text(text).unwrap();
        self.chat
            .send_direct(from, &to.user, text)
            .await
            .unwrap()
            .id
    }

    /// The latest 100 messages of `reader`'s conversation with `peer`.
    pub async fn history(&self, reader: &Auth, peer: Peer) -> Vec<StoredMessage> {
        self.chat
            .history(reader, &peer, None, None, 100)
            .await
            .unwrap()
            .messages
    }
}
