//! The contract of the request log.

use std::sync::Arc;

use super::{Repositories, millis_ago};
use crate::ports::RequestKey;

/// The first reply recorded for a request stays; requests are per user;
/// pruning forgets by age, then all but the newest.
pub async fn the_request_log_keeps_the_first_reply_and_prunes<S: Repositories>(s: Arc<S>) {
    let key = |id: &str| RequestKey {
        user: "ana".into(),
        request_id: id.into(),
    };
    assert_eq!(s.find_reply(&key("r1")).await.unwrap(), None);
    s.record_reply(&key("r1"), b"first", millis_ago(3000))
        .await
        .unwrap();
    s.record_reply(&key("r1"), b"second", millis_ago(0))
        .await
        .unwrap();
    assert_eq!(
        s.find_reply(&key("r1")).await.unwrap(),
        Some(b"first".to_vec())
    );
    // Another user's id of the same name is another request.
    let budi = RequestKey {
        user: "budi".into(),
        request_id: "r1".into(),
    };
    assert_eq!(s.find_reply(&budi).await.unwrap(), None);

    for (i, age) in [(2, 2000), (3, 1000), (4, 10)] {
        s.record_reply(&key(&format!("r{i}")), b"x", millis_ago(age))
            .await
            .unwrap();
    }
    // Older than 2.5 s: r1 goes.
    assert_eq!(s.prune(millis_ago(2500), 100).await.unwrap(), 1);
    assert_eq!(s.find_reply(&key("r1")).await.unwrap(), None);
    // At most two: the newest two stay.
    assert_eq!(s.prune(millis_ago(100_000), 2).await.unwrap(), 1);
    assert_eq!(s.find_reply(&key("r2")).await.unwrap(), None);
    assert!(s.find_reply(&key("r3")).await.unwrap().is_some());
    assert!(s.find_reply(&key("r4")).await.unwrap().is_some());
}

/// Pruning with `keep` zero keeps none: "all but the newest zero" is all.
pub async fn pruning_to_keep_none_forgets_every_reply<S: Repositories>(s: Arc<S>) {
    let key = |id: &str| RequestKey {
        user: "ana".into(),
        request_id: id.into(),
    };
    for (id, age) in [("r1", 30), ("r2", 20), ("r3", 10)] {
        s.record_reply(&key(id), b"x", millis_ago(age))
            .await
            .unwrap();
    }
    assert_eq!(s.prune(millis_ago(100_000), 0).await.unwrap(), 3);
    for id in ["r1", "r2", "r3"] {
        assert_eq!(s.find_reply(&key(id)).await.unwrap(), None, "{id}");
    }
    assert_eq!(s.prune(millis_ago(100_000), 0).await.unwrap(), 0);
}
