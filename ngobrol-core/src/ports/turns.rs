//! Turns at the shards of a namespace's requests, kept where every server
//! of one store sees them.
//!
//! The broker hands each shard's requests to one server at a time, but it
//! moves a shard the moment the connection of the server that had it
//! breaks, and that server may still be running the requests it had in
//! hand. A server therefore runs a shard's requests only while it holds
//! the shard's *turn*, and gives the turn back only once it has nothing of
//! the shard in hand: two servers never run one shard (so one user, or
//! one named request) at once.

use async_trait::async_trait;

use crate::error::PortError;

/// Where turns are kept: hands out holders.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ShardTurns: Send + Sync {
    /// A new holder of turns in `scope` (a namespace). Every holder is
    /// apart from every other, in this process or another; its turns end
    /// when it is dropped, and when its process ends, however it ends.
    async fn turn_holder(&self, scope: &str) -> Result<Box<dyn TurnHolder>, PortError>;
}

/// One server's hold on turns.
#[async_trait]
pub trait TurnHolder: Send + Sync {
    /// Takes the turn at `shard` if no other holder has it. True if this
    /// holder has it now (taking one held already changes nothing).
    async fn try_take(&self, shard: u16) -> Result<bool, PortError>;

    /// Gives back the turn at `shard`; nothing if not held.
    async fn give_back(&self, shard: u16) -> Result<(), PortError>;

    /// Fails if the turns taken may have ended without being given back
    /// (the connection that held them is gone).
    async fn check(&self) -> Result<(), PortError>;
}
