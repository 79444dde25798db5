//! Applying the history's retention now and then.

use std::time::Duration;

use ngobrol_core::ChatService;
use tracing::{debug, warn};

/// How often the history is pruned, when a retention is configured.
const EVERY: Duration = Duration::from_secs(60);

/// Removes what the configured retention does not keep, once a minute;
/// returns at once when it keeps everything (the default).
pub(super) async fn prune_history(service: ChatService) {
    if service.config().history_retention.keeps_everything() {
        return;
    }
    let mut every = tokio::time::interval(EVERY);
    loop {
        every.tick().await;
        match service.prune_history(service.config().clock.now()).await {
            Ok(0) => {}
            Ok(removed) => debug!(removed, "pruned the history"),
            Err(e) => warn!("cannot prune the history: {e}"),
        }
    }
}
