//! The server's settings as flags: each has an environment variable and a
//! key in the config file (`crate::config_file`); `crate::flags` checks
//! them all before anything is opened.

use std::path::PathBuf;

use ngobrol_amqp::{DEFAULT_AMQP_URL, Language, Namespace, ServerConfig};
use ngobrol_core::ServiceConfig;
use ngobrol_store::StoreOptions;

/// The broker account clients log in through in isolated mode: not a
/// username anyone can register (`~` is no character of one).
pub(crate) const DEFAULT_LOGIN_USER: &str = "~login";
pub(crate) const DEFAULT_LOGIN_PASSWORD: &str = "~login";

/// Where the HTTP listener listens unless told otherwise.
pub(crate) const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:9680";

/// Every setting of the server, each from a flag, its environment
/// variable, the config file or its default (in that order of precedence).
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// A TOML file of settings, under the environment and the flags; its
    /// keys are the flags' names with `_` for `-` (`amqp_url = "..."`).
    #[arg(long, env = "NGOBROL_CONFIG")]
    pub config: Option<PathBuf>,

    /// The operator's HTTP listener (/healthz, /readyz, /metrics, and in
    /// isolated mode the broker's /auth/…): an address on this machine, or
    /// `off`.
    #[arg(long, env = "NGOBROL_HTTP_ADDR", default_value = DEFAULT_HTTP_ADDR)]
    pub http_addr: String,

    /// Isolated mode: the broker itself lets each client read and write
    /// only its own (clients log in through --login-user, then connect as
    /// themselves with their token). Off: one shared broker account for
    /// every client, as the original has it (trusted networks only).
    #[arg(
        long,
        env = "NGOBROL_ISOLATED",
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub isolated: bool,

    /// In isolated mode, the broker account every client logs in
    /// through; it can send only registrations and logins. It must not be
    /// a possible username.
    #[arg(long, env = "NGOBROL_LOGIN_USER", default_value = DEFAULT_LOGIN_USER)]
    pub login_user: String,

    /// In isolated mode, the broker's management API
    /// (`http://user:password@host:15672`, an account that may close
    /// connections), to close an ended session's connections. Without it
    /// they stay open, able to do nothing.
    #[arg(long, env = "NGOBROL_BROKER_MANAGEMENT_URL", hide_env_values = true)]
    pub broker_management_url: Option<String>,

    /// The login account's password. Not a secret (every client has it):
    /// it opens nothing but the way to log in.
    #[arg(long, env = "NGOBROL_LOGIN_PASSWORD", default_value = DEFAULT_LOGIN_PASSWORD)]
    pub login_password: String,

    /// The RabbitMQ broker, as an AMQP URI; for a cluster, its nodes'
    /// URIs separated by commas, tried in turn.
    #[arg(
        long,
        env = "NGOBROL_AMQP_URL",
        default_value = DEFAULT_AMQP_URL,
        hide_env_values = true
    )]
    pub amqp_url: String,

    /// The store: a SQLite file path, or a postgres:// URL to share one
    /// store between several servers.
    #[arg(
        long,
        env = "NGOBROL_DATABASE_URL",
        default_value = "ngobrol.sqlite3",
        hide_env_values = true
    )]
    pub database_url: String,

    /// The prefix of every broker object: the request queue is <namespace>,
    /// a user's queue <namespace>_<username>.
    #[arg(long, env = "NGOBROL_NAMESPACE", default_value = Namespace::DEFAULT)]
    pub namespace: String,

    /// PBKDF2-HMAC-SHA256 rounds for new password hashes (1000 to 10000000).
    #[arg(long, env = "NGOBROL_PBKDF2_ITERATIONS", default_value_t = rules().pbkdf2_iterations)]
    pub pbkdf2_iterations: u32,

    /// How many password hashes may run at once, 1 to 256 (default: one per
    /// core, at most 256).
    #[arg(long, env = "NGOBROL_HASHING_CONCURRENCY")]
    pub hashing_concurrency: Option<usize>,

    /// The most requests of one shard taken from the broker and not yet
    /// finished (1 to 65535); a server holds at most this many per shard it
    /// serves.
    #[arg(long, env = "NGOBROL_PREFETCH", default_value_t = server().prefetch)]
    pub prefetch: u16,

    /// The kind of the shard queues <namespace>.shard.<k>: quorum (kept
    /// through the loss of a cluster node), classic (lighter on one
    /// broker), or auto: quorum when --amqp-url lists several nodes, else
    /// classic. Every server of a namespace must say the same.
    #[arg(long, env = "NGOBROL_SHARD_QUEUES", default_value_t = server().shard_queues.as_str().to_owned())]
    pub shard_queues: String,

    /// A name for this server in its log lines, to tell several servers
    /// apart.
    #[arg(long, env = "NGOBROL_NODE_NAME")]
    pub node_name: Option<String>,

    /// How many requests (of different users) run at once (1 to 4096).
    #[arg(long, env = "NGOBROL_LANES", default_value_t = server().lanes)]
    pub lanes: usize,

    /// The most registrations and logins in hand at once (1 to 65535); more
    /// are answered `busy` at once, unhashed.
    #[arg(long, env = "NGOBROL_MAX_PENDING_LOGINS", default_value_t = server().max_pending_logins)]
    pub max_pending_logins: usize,

    /// How long the server trusts what it read from the store of a
    /// session, a friendship or a membership, in milliseconds (0 to 60000;
    /// 0: no cache). Its own changes it sees at once; another process's
    /// (an operator's command, another server) within this time.
    #[arg(long, env = "NGOBROL_CACHE_TTL_MS", default_value_t = 1000)]
    pub cache_ttl_ms: u64,

    /// The most requests kept in the dead-letter queue <namespace>.dead
    /// (at least 1); past it the oldest go.
    #[arg(long, env = "NGOBROL_DEAD_LETTER_CAPACITY", default_value_t = server().dead_letter_capacity)]
    pub dead_letter_capacity: u32,

    /// The language of the sentences the server sends people: id (the
    /// original server's Indonesian, word for word) or en.
    #[arg(long, env = "NGOBROL_LANGUAGE", default_value_t = server().language)]
    pub language: Language,

    /// The largest message text, in bytes: at least 1, and at most
    /// --max-body-bytes less 1024.
    #[arg(long, env = "NGOBROL_MAX_MESSAGE_BYTES", default_value_t = rules().max_message_bytes)]
    pub max_message_bytes: usize,

    /// The largest request body, in bytes (4096 to 134217728).
    #[arg(long, env = "NGOBROL_MAX_BODY_BYTES", default_value_t = server().max_body_bytes)]
    pub max_body_bytes: usize,

    /// The shortest password accepted at registration, in characters (1 to
    /// 1024).
    #[arg(long, env = "NGOBROL_MIN_PASSWORD_CHARS", default_value_t = rules().min_password_chars)]
    pub min_password_chars: usize,

    /// The most members a group may have (1 to 1000000).
    #[arg(long, env = "NGOBROL_MAX_GROUP_MEMBERS", default_value_t = rules().max_group_members)]
    pub max_group_members: usize,

    /// The most groups a user may be in (1 to 1000000).
    #[arg(long, env = "NGOBROL_MAX_GROUPS_PER_USER", default_value_t = rules().max_groups_per_user)]
    pub max_groups_per_user: usize,

    /// The most groups a user may have created that still exist.
    #[arg(long, env = "NGOBROL_MAX_GROUPS_CREATED_PER_USER", default_value_t = rules().max_groups_created_per_user)]
    pub max_groups_created_per_user: usize,

    /// Each user's sustained request rate, per second: 0 (unlimited), or
    /// 0.001 to 1000000.
    #[arg(long, env = "NGOBROL_RATE_PER_SECOND", default_value_t = rules().request_rate.per_second)]
    pub rate_per_second: f64,

    /// How many requests a user may make at once above that rate (at least
    /// 1).
    #[arg(long, env = "NGOBROL_RATE_BURST", default_value_t = rules().request_rate.burst)]
    pub rate_burst: u32,

    /// Failed logins (or registrations of a taken name) allowed per
    /// username before throttling (at least 1); one more is allowed every 12
    /// seconds.
    #[arg(long, env = "NGOBROL_AUTH_FAILURE_BURST", default_value_t = rules().auth_failures.burst)]
    pub auth_failure_burst: u32,

    /// How long a login token stays valid, in hours (1 to 87600: 10 years).
    #[arg(long, env = "NGOBROL_TOKEN_TTL_HOURS", default_value_t = rules().token_ttl.as_secs() / 3600)]
    pub token_ttl_hours: u64,

    /// How many days the history keeps messages (1 to 36500), or 0 to keep
    /// them for ever (the default).
    #[arg(long, env = "NGOBROL_HISTORY_MAX_AGE_DAYS", default_value_t = 0)]
    pub history_max_age_days: u64,

    /// How many of each conversation's newest messages the history keeps
    /// (at least 1), or 0 to keep them all (the default).
    #[arg(
        long,
        env = "NGOBROL_HISTORY_MAX_PER_CONVERSATION",
        default_value_t = 0
    )]
    pub history_max_per_conversation: u64,

    /// Whether befriending and adding to groups take effect at once
    /// (`open`, the original's rule) or ask the other first (`consent`).
    #[arg(long, env = "NGOBROL_FRIENDSHIP", default_value = "open", value_parser = ["open", "consent"])]
    pub friendship: String,

    /// The most database connections (1 to 1000).
    #[arg(long, env = "NGOBROL_DATABASE_CONNECTIONS", default_value_t = StoreOptions::default().max_connections)]
    pub database_connections: u32,
}

/// The defaults of the chat rules, which the flags default to.
fn rules() -> ServiceConfig {
    ServiceConfig::default()
}

/// The defaults of the broker side, which the flags default to.
fn server() -> ServerConfig {
    ServerConfig::default()
}
