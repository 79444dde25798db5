//! The contract of the turns at shards.

use std::sync::Arc;

use super::Repositories;

/// A turn has one holder at a time; holders of one scope exclude each
/// other whether or not they come from one store value; a turn given back,
/// or held by a holder that is dropped, can be taken; scopes are apart.
pub async fn a_shards_turn_has_one_holder_at_a_time<S: Repositories>(s: Arc<S>) {
    let ana = s.turn_holder("ns-a").await.unwrap();
    let budi = s.turn_holder("ns-a").await.unwrap();
    assert!(ana.try_take(3).await.unwrap());
    assert!(
        ana.try_take(3).await.unwrap(),
        "taking a turn held is no-op"
    );
    assert!(!budi.try_take(3).await.unwrap(), "two holders of one turn");
    assert!(budi.try_take(4).await.unwrap());
    ana.check().await.unwrap();

    ana.give_back(3).await.unwrap();
    assert!(budi.try_take(3).await.unwrap());
    assert!(!ana.try_take(3).await.unwrap());
    // Giving back what another holds leaves it with them.
    ana.give_back(4).await.unwrap();
    assert!(!ana.try_take(4).await.unwrap());

    // Another scope's turns are other turns.
    let other = s.turn_holder("ns-b").await.unwrap();
    assert!(other.try_take(3).await.unwrap());

    // A holder's turns end with it.
    drop(budi);
    assert!(ana.try_take(3).await.unwrap());
    assert!(ana.try_take(4).await.unwrap());
}

/// Giving a turn back several times, or one never taken, is harmless, and
/// a turn taken again after it is given back is held once (one giving
/// back frees it).
pub async fn turns_are_given_back_once<S: Repositories>(s: Arc<S>) {
    let ana = s.turn_holder("ns").await.unwrap();
    let budi = s.turn_holder("ns").await.unwrap();
    ana.give_back(7).await.unwrap();
    for _ in 0..3 {
        assert!(ana.try_take(7).await.unwrap());
    }
    ana.give_back(7).await.unwrap();
    ana.give_back(7).await.unwrap();
    assert!(budi.try_take(7).await.unwrap());
    budi.give_back(7).await.unwrap();
    assert!(ana.try_take(7).await.unwrap());
}
