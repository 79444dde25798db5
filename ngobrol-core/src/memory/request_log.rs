//! [`MemoryStore`]'s log of the replies to requests.

use std::time::SystemTime;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::PortError;
use crate::ports::{RequestKey, RequestLog};

#[async_trait]
impl RequestLog for MemoryStore {
    async fn find_reply(&self, key: &RequestKey) -> Result<Option<Vec<u8>>, PortError> {
        Ok(self
            .state()
            .replies
            .get(key)
            .map(|(reply, _)| reply.clone()))
    }

    async fn record_reply(
        &self,
        key: &RequestKey,
        reply: &[u8],
        at: SystemTime,
    ) -> Result<(), PortError> {
        self.state()
            .replies
            .entry(key.clone())
            .or_insert_with(|| (reply.to_vec(), at));
        Ok(())
    }

    async fn prune(&self, before: SystemTime, keep: u64) -> Result<u64, PortError> {
        let mut state = self.state();
        let start = state.replies.len();
        state.replies.retain(|_, (_, at)| *at >= before);
        let keep = usize::try_from(keep).unwrap_or(usize::MAX);
        if keep == 0 {
            state.replies.clear();
        } else if state.replies.len() > keep {
            let mut times: Vec<SystemTime> = state.replies.values().map(|(_, at)| *at).collect();
            times.sort_unstable();
            let cutoff = times[times.len() - keep];
            state.replies.retain(|_, (_, at)| *at >= cutoff);
        }
        Ok((start - state.replies.len()) as u64)
    }
}
