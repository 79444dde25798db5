//! [`MemoryStore`]'s turns at shards: one map, shared by its holders.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::PortError;
use crate::ports::{ShardTurns, TurnHolder};

/// Who holds each turn: (scope, shard) to the holder's number.
#[derive(Debug, Default)]
pub(super) struct Turns {
    held: Mutex<HashMap<(String, u16), u64>>,
    next_holder: AtomicU64,
}

impl Turns {
    fn held(&self) -> MutexGuard<'_, HashMap<(String, u16), u64>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A holder of turns in one [`MemoryStore`].
struct MemoryHolder {
    turns: Arc<Turns>,
    scope: String,
    me: u64,
}

#[async_trait]
impl ShardTurns for MemoryStore {
    async fn turn_holder(&self, scope: &str) -> Result<Box<dyn TurnHolder>, PortError> {
        let me = self.turns.next_holder.fetch_add(1, Ordering::Relaxed);
        Ok(Box::new(MemoryHolder {
            turns: self.turns.clone(),
            scope: scope.to_owned(),
            me,
        }))
    }
}

#[async_trait]
impl TurnHolder for MemoryHolder {
    async fn try_take(&self, shard: u16) -> Result<bool, PortError> {
        let mut held = self.turns.held();
        let holder = held.entry((self.scope.clone(), shard)).or_insert(self.me);
        Ok(*holder == self.me)
    }

    async fn give_back(&self, shard: u16) -> Result<(), PortError> {
        let mut held = self.turns.held();
        let key = (self.scope.clone(), shard);
        if held.get(&key) == Some(&self.me) {
            held.remove(&key);
        }
        Ok(())
    }

    async fn check(&self) -> Result<(), PortError> {
        Ok(())
    }
}

impl Drop for MemoryHolder {
    fn drop(&mut self) {
        self.turns
            .held()
            .retain(|(scope, _), holder| *scope != self.scope || *holder != self.me);
    }
}
