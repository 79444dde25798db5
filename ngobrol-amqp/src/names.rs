//! The names of the broker objects of one ngobrol deployment: the only
//! place they are made.

use std::fmt::Display;

/// The prefix of every broker object of one deployment, `ngobrol` by
/// default, as the original client expects. Deployments (and test runs)
/// with different namespaces share a broker without seeing each other.
///
/// - request queue: `<ns>`
/// - a user's mailbox queue: `<ns>_<username>` (the original client's)
/// - a user's fanout exchange: `<ns>.user.<username>`, which every
///   delivery to the user goes through, bound to the queue of each of
///   their sessions (devices) that is online; what it cannot route (no
///   device online) goes to its alternate exchange
///   `<ns>.offline.<username>`, bound to the mailbox
/// - a session's (a device's) queue: `<ns>.session.<session id>`,
///   exclusive to the device's connection
/// - a group's fanout exchange: `<ns>_<group id>`, bound to its members'
///   exchanges
/// - the dead-letter queue: `<ns>.dead`
/// - the shard queues `<ns>.shard.<k>`, where the server that takes in
///   `<ns>` puts each request, by its acting user, for the server that
///   serves that shard
/// - the fanout exchanges `<ns>.changes`, where servers tell each other
///   what their caches must forget, and `<ns>.fleet`, where they say they
///   are alive
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Namespace(String);

/// A namespace that cannot be used for broker names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid namespace {0:?}: use 1 to 100 characters of A-Z a-z 0-9 _ . -, not starting with \"amq.\""
)]
pub struct InvalidNamespace(pub String);

impl Namespace {
    /// The namespace of the original protocol.
    pub const DEFAULT: &'static str = "ngobrol";

    /// The namespace `name`, if it is 1 to 100 characters of
    /// `A-Z a-z 0-9 _ . -` and does not start with `amq.` (the broker's own
    /// names).
    pub fn parse(name: impl Into<String>) -> Result<Self, InvalidNamespace> {
        let name = name.into();
        // 100 + '_' + a 64-character username stays well inside AMQP's
        // 255-byte limit on names; "amq." names are reserved by the broker.
        let valid = !name.is_empty()
            && name.len() <= 100
            && !name.starts_with("amq.")
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(name))
        } else {
            Err(InvalidNamespace(name))
        }
    }

    /// The prefix itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The queue every client publishes its requests to.
    pub fn request_queue(&self) -> String {
        self.0.clone()
    }

    /// The queue where requests that cannot be served are kept for a
    /// person to look at: undecodable ones, and ones whose handling failed.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}.dead", self.0)
    }

    /// The queue where a user's replies and deliveries wait. `user` is a
    /// username (`ngobrol_core::Username` or its text).
    pub fn user_queue(&self, user: impl Display) -> String {
        format!("{}_{}", self.0, user)
    }

    /// The fanout exchange every delivery to `user` goes through. Its `.`
    /// keeps it apart from group exchanges (`<ns>_<id>`), whatever the
    /// username.
    pub fn user_exchange(&self, user: impl Display) -> String {
        format!("{}.user.{}", self.0, user)
    }

    /// The alternate exchange of a user's exchange: what reaches the user
    /// while no device of theirs is online goes through it to the mailbox.
    pub fn offline_exchange(&self, user: impl Display) -> String {
        format!("{}.offline.{}", self.0, user)
    }

    /// The topic exchange requests go to in isolated mode, each with its
    /// sender's broker user as routing key; bound to the request queue.
    pub fn request_exchange(&self) -> String {
        format!("{}.requests", self.0)
    }

    /// The direct exchange of signals (a message edited or deleted…): a
    /// device's queue is bound to it with its user's name, so only the
    /// SDK's sessions hear them, never the original client's mailbox.
    pub fn signal_exchange(&self) -> String {
        format!("{}.signals", self.0)
    }

    /// The queue of one session (device) of a user. `session` is a
    /// session id (32 hex digits).
    pub fn session_queue(&self, session: impl Display) -> String {
        format!("{}.session.{}", self.0, session)
    }

    /// The durable queue whose one message says the broker's routing has
    /// this version's layout (users' exchanges between groups and
    /// mailboxes).
    pub fn layout_marker(&self) -> String {
        format!("{}.layout.2", self.0)
    }

    /// The durable queue whose one message is the fingerprint of the
    /// routing the broker holds, so that a restart can skip restoring it.
    pub fn routing_marker(&self) -> String {
        format!("{}.routing", self.0)
    }

    /// The queue of shard `shard`: the requests of the users whose names
    /// hash to it, in their order, for the one server that consumes it
    /// at a time.
    pub fn shard_queue(&self, shard: u16) -> String {
        format!("{}.shard.{}", self.0, shard)
    }

    /// The fanout exchange of cache invalidations between servers.
    pub fn change_exchange(&self) -> String {
        format!("{}.changes", self.0)
    }

    /// The fanout exchange where the servers say they are alive.
    pub fn fleet_exchange(&self) -> String {
        format!("{}.fleet", self.0)
    }

    /// The fanout exchange of a group. `group` is a group id
    /// (`ngobrol_core::GroupId` or its number).
    pub fn group_exchange(&self, group: impl Display) -> String {
        format!("{}_{}", self.0, group)
    }
}

impl Default for Namespace {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

impl std::fmt::Display for Namespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_original_layout() {
        let ns = Namespace::default();
        assert_eq!(ns.request_queue(), "ngobrol");
        assert_eq!(ns.user_queue("ana"), "ngobrol_ana");
        assert_eq!(ns.group_exchange(42), "ngobrol_42");
        assert_eq!(ns.dead_letter_queue(), "ngobrol.dead");
        assert_eq!(ns.user_exchange("123"), "ngobrol.user.123");
        assert_ne!(ns.user_exchange("123"), ns.group_exchange(123));
        assert_eq!(ns.session_queue("ab12"), "ngobrol.session.ab12");
        assert_eq!(ns.shard_queue(7), "ngobrol.shard.7");
        assert_eq!(ns.change_exchange(), "ngobrol.changes");
    }

    #[test]
    fn namespaces_are_validated() {
        assert!(Namespace::parse("test-run.1_a").is_ok());
        for bad in ["", "amq.gen", "with space", "x/y", &"n".repeat(101)] {
            assert!(Namespace::parse(bad).is_err(), "{bad:?}");
        }
    }
}
