//! The contract of the repository ports, as tests any implementation can
//! run on itself (behind the cargo feature `contract`).
//!
//! [`ports`](crate::ports) states what each repository method promises;
//! the functions here check those promises on one store that implements
//! every repository ([`Repositories`]). They are written once, for every
//! backend: [`MemoryStore`](crate::memory::MemoryStore) runs them in this
//! crate's tests, and `ngobrol-store` runs them on SQLite and on
//! PostgreSQL. Each takes a fresh, empty store and panics (as a test does)
//! when the store breaks the contract.
//!
//! [`contract_suite!`](crate::contract_suite) turns the whole list into
//! `#[tokio::test]`s, one per function and named after it, so that no
//! implementation can skip one:
//!
//! ```ignore
//! // tests/contract.rs of a crate with tokio ("macros", "rt-multi-thread")
//! // among its dev-dependencies:
//! mod memory {
//!     ngobrol_core::contract_suite!(std::sync::Arc::new(ngobrol_core::memory::MemoryStore::new()));
//! }
//! ```
//!
//! The expression is evaluated afresh for each test and must give a
//! [`Fixture`]: an `Arc` of the store itself, or a value of the caller's
//! own that also keeps the store's database alive (a temporary file, a
//! schema to drop) until the test ends.

mod friends_groups;
mod history;
mod request_log;
mod turns;
mod users_sessions;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ports::UserRecord;
use crate::types::{GroupName, Username};

pub use crate::ports::Repositories;
pub use friends_groups::{
    all_memberships_lists_every_group, blocks_are_one_way_and_lifted,
    deleting_a_group_removes_it_and_its_memberships, friendship_is_mutual_and_unique,
    groups_administered_are_counted_while_they_exist, groups_start_with_their_admin_as_member,
    hostile_text_round_trips_exactly, memberships_are_unique_and_removable,
    requests_and_invitations_wait_until_answered,
};
pub use history::{
    an_ended_groups_history_goes_with_it, appended_messages_are_numbered_per_conversation,
    history_pages_come_oldest_first, hostile_message_text_round_trips,
    markers_move_forward_and_count_what_is_unread, messages_are_found_edited_and_deleted_in_place,
    retention_removes_the_oldest, sync_gives_what_the_user_may_read,
};
pub use request_log::{
    pruning_to_keep_none_forgets_every_reply, the_request_log_keeps_the_first_reply_and_prunes,
};
pub use turns::{a_shards_turn_has_one_holder_at_a_time, turns_are_given_back_once};
pub use users_sessions::{
    a_deleted_session_is_found_no_more, deleting_all_of_a_users_sessions_returns_their_ids,
    deleting_by_id_touches_only_that_users_session, mailbox_readers_are_noted_and_cleared,
    one_of_many_concurrent_registrations_wins,
    presence_is_reported_per_session_and_sharing_is_a_flag,
    sessions_are_listed_in_the_order_issued, sessions_of_one_user_coexist,
    touching_a_session_sets_its_last_seen, users_are_disabled_and_get_new_password_hashes,
    users_are_stored_and_found,
};

/// What [`contract_suite!`](crate::contract_suite) makes each test's store
/// from: the store, and whatever must live as long as the test does.
pub trait Fixture {
    /// The type of store the contract is checked on.
    type Store: Repositories;

    /// The store under test; fresh and empty.
    fn store(&self) -> Arc<Self::Store>;
}

impl<S: Repositories> Fixture for Arc<S> {
    type Store = S;

    fn store(&self) -> Arc<S> {
        self.clone()
    }
}

/// Declares one `#[tokio::test]` per contract function (multi-threaded
/// runtime, two workers), each running the function on a store made by the
/// given expression, which is evaluated once per test and must give a
/// [`contract::Fixture`](crate::contract::Fixture). The fixture is dropped
/// after the test's function returns.
///
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread`
/// features. Call it inside a module of its own per store, since the tests
/// are named after the contract functions.
#[macro_export]
macro_rules! contract_suite {
    ($fixture:expr $(,)?) => {
        $crate::contract_suite!(@tests $fixture;
            users_are_stored_and_found,
            users_are_disabled_and_get_new_password_hashes,
            one_of_many_concurrent_registrations_wins,
            sessions_of_one_user_coexist,
            sessions_are_listed_in_the_order_issued,
            a_deleted_session_is_found_no_more,
            deleting_by_id_touches_only_that_users_session,
            deleting_all_of_a_users_sessions_returns_their_ids,
            touching_a_session_sets_its_last_seen,
            presence_is_reported_per_session_and_sharing_is_a_flag,
            mailbox_readers_are_noted_and_cleared,
            friendship_is_mutual_and_unique,
            blocks_are_one_way_and_lifted,
            groups_start_with_their_admin_as_member,
            memberships_are_unique_and_removable,
            all_memberships_lists_every_group,
            deleting_a_group_removes_it_and_its_memberships,
            groups_administered_are_counted_while_they_exist,
            hostile_text_round_trips_exactly,
            requests_and_invitations_wait_until_answered,
            appended_messages_are_numbered_per_conversation,
            history_pages_come_oldest_first,
            sync_gives_what_the_user_may_read,
            an_ended_groups_history_goes_with_it,
            retention_removes_the_oldest,
            hostile_message_text_round_trips,
            messages_are_found_edited_and_deleted_in_place,
            markers_move_forward_and_count_what_is_unread,
            the_request_log_keeps_the_first_reply_and_prunes,
            pruning_to_keep_none_forgets_every_reply,
            a_shards_turn_has_one_holder_at_a_time,
            turns_are_given_back_once,
        );
    };
    (@tests $fixture:expr; $($test:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let fixture = $fixture;
                $crate::contract::$test($crate::contract::Fixture::store(&fixture)).await;
                drop(fixture);
            }
        )*
    };
}

fn user(name: &str) -> Username {
    Username::parse(name).unwrap()
}

fn group_name(name: &str) -> GroupName {
    GroupName::parse(name).unwrap()
}

/// A time the store can keep exactly: whole milliseconds.
fn millis_ago(ms: u64) -> SystemTime {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    UNIX_EPOCH + Duration::from_millis(now.as_millis() as u64 - ms)
}

fn new_user(name: &str) -> UserRecord {
    UserRecord {
        username: user(name),
        password_hash: format!("$pbkdf2-sha256$i=1000,l=32$salt${name}"),
        created_at: millis_ago(5),
    }
}
