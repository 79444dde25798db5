//! The rules of the ngobrol chat system, with no I/O of their own.
//!
//! People register, log in, befriend each other, chat one to one, and
//! chat in groups, and scroll back through what was said. This crate says what each of those operations means and
//! when it is refused, through [`ChatService`]. Everything the rules need
//! from outside (where users, sessions, friendships and groups are kept,
//! and how messages reach people) is a port: an async trait in [`ports`].
//! `ngobrol-store` implements the repositories with a SQL database,
//! `ngobrol-amqp` implements the outbound side with RabbitMQ, and
//! [`memory`] implements them all in memory, so the service runs in one
//! process with neither:
//!
//! ```
//! use std::sync::Arc;
//! use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
//! use ngobrol_core::{Auth, ChatService, Password, Ports, ServiceConfig, Username};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ngobrol_core::ChatError> {
//! let outbound = Arc::new(MemoryOutbound::new());
//! let ports = Ports::new(Arc::new(MemoryStore::new()), outbound.clone());
//! let config = ServiceConfig { pbkdf2_iterations: 1_000, ..ServiceConfig::default() };
//! let chat = ChatService::new(ports, config)?;
//!
//! let (ana, budi) = (Username::parse("ana")?, Username::parse("budi")?);
//! for user in [&ana, &budi] {
//!     chat.register(user, &Password::new("rahasia!")).await?;
//! }
//! let login = chat.login(&ana, &Password::new("rahasia!"), None).await?;
//! let ana_auth = Auth::new(ana.clone(), login.token);
//! chat.add_friend(&ana_auth, &budi).await?;
//! chat.send_direct(&ana_auth, &budi, chat.message_text("halo!")?).await?;
//!
//! assert_eq!(outbound.drain(&budi).len(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! Errors are [`ChatError`]s, each with a stable machine-readable
//! [`code`](ChatError::code) that transports pass on to clients.
//!
//! With the cargo feature `contract`, [`contract`] holds the repository
//! ports' contract as test functions, which every implementation of the
//! ports runs on itself ([`memory`] here, the SQL store in
//! `ngobrol-store`). With `mock`, [`ports`] has mockall mocks of each port.

#![warn(missing_docs)]

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod cache;
pub mod clock;
#[cfg(feature = "contract")]
pub mod contract;
pub mod error;
pub mod limits;
pub mod memory;
pub mod password;
pub mod ports;
pub mod service;
pub mod types;

pub use cache::{CacheSettings, Caches, Forgotten, Teller};
pub use clock::Clock;
pub use error::{ChatError, PortError};
pub use limits::{RateLimit, RateLimiter};
pub use password::PasswordHasher;
pub use ports::{
    Amendment, Conversation, ConversationSummary, Delivery, DeliveryBody, FriendRepository,
    FriendRequest, GroupRecord, GroupRef, GroupRepository, HistoryQuery, HistoryRepository,
    Invitation, Marker, NoticeEvent, Outbound, Placement, PresenceState, Repositories, RequestKey,
    RequestLog, Retention, SessionRecord, SessionRepository, ShardTurns, Signal, StoredMessage,
    TurnHolder, UserRecord, UserRepository,
};
pub use service::{
    Added, Auth, Befriended, ChatService, FriendshipPolicy, HistoryPage, Login, PRESENCE_TTL, Peer,
    Pending, Ports, Reader, ServiceConfig, StoredRouting, SyncPage,
};
pub use types::{
    DeviceName, GroupId, GroupName, MessageId, MessageText, Password, SessionId, Token, TokenHash,
    Username,
};
