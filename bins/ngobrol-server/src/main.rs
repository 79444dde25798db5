//! `ngobrol-server`: the reference ngobrol server. It reads its settings,
//! opens the store, and serves the chat over RabbitMQ until SIGINT or
//! SIGTERM. All the rules live in the libraries.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ngobrol_amqp::{DEFAULT_AMQP_URL, Namespace, Server, ServerConfig, redact_url};
use ngobrol_core::{RateLimit, ServiceConfig};
use ngobrol_store::{Store, StoreOptions};
use tracing_subscriber::EnvFilter;

/// The ngobrol chat server: JSON requests over RabbitMQ, compatible with
/// the original ngobrol clients.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    /// The RabbitMQ broker, as an AMQP URI.
    #[arg(
        long,
        env = "NGOBROL_AMQP_URL",
        default_value = DEFAULT_AMQP_URL,
        hide_env_values = true
    )]
    amqp_url: String,

    /// The store: a SQLite file path, or a postgres:// URL to share one
    /// store between several servers.
    #[arg(
        long,
        env = "NGOBROL_DATABASE_URL",
        default_value = "ngobrol.sqlite3",
        hide_env_values = true
    )]
    database_url: String,

    /// The prefix of every broker object: the request queue is <namespace>,
    /// a user's queue <namespace>_<username>.
    #[arg(long, env = "NGOBROL_NAMESPACE", default_value = Namespace::DEFAULT)]
    namespace: String,

    /// PBKDF2-HMAC-SHA256 rounds for new password hashes (at least 1000).
    #[arg(long, env = "NGOBROL_PBKDF2_ITERATIONS", default_value_t = rules().pbkdf2_iterations)]
    pbkdf2_iterations: u32,

    /// How many password hashes may run at once (default: one per core).
    #[arg(long, env = "NGOBROL_HASHING_CONCURRENCY")]
    hashing_concurrency: Option<usize>,

    /// The most requests taken from the broker and not yet finished.
    #[arg(long, env = "NGOBROL_PREFETCH", default_value_t = server().prefetch)]
    prefetch: u16,

    /// How many requests (of different users) run at once.
    #[arg(long, env = "NGOBROL_LANES", default_value_t = server().lanes)]
    lanes: usize,

    /// The largest message text, in bytes.
    #[arg(long, env = "NGOBROL_MAX_MESSAGE_BYTES", default_value_t = rules().max_message_bytes)]
    max_message_bytes: usize,

    /// The largest request body, in bytes.
    #[arg(long, env = "NGOBROL_MAX_BODY_BYTES", default_value_t = server().max_body_bytes)]
    max_body_bytes: usize,

    /// The shortest password accepted at registration, in characters.
    #[arg(long, env = "NGOBROL_MIN_PASSWORD_CHARS", default_value_t = rules().min_password_chars)]
    min_password_chars: usize,

    /// The most members a group may have.
    #[arg(long, env = "NGOBROL_MAX_GROUP_MEMBERS", default_value_t = rules().max_group_members)]
    max_group_members: usize,

    /// The most groups a user may be in.
    #[arg(long, env = "NGOBROL_MAX_GROUPS_PER_USER", default_value_t = rules().max_groups_per_user)]
    max_groups_per_user: usize,

    /// Each user's sustained request rate, per second (0: unlimited).
    #[arg(long, env = "NGOBROL_RATE_PER_SECOND", default_value_t = rules().request_rate.per_second)]
    rate_per_second: f64,

    /// How many requests a user may make at once above that rate.
    #[arg(long, env = "NGOBROL_RATE_BURST", default_value_t = rules().request_rate.burst)]
    rate_burst: u32,

    /// Failed logins (or registrations of a taken name) allowed per
    /// username before throttling; one more is allowed every 12 seconds.
    #[arg(long, env = "NGOBROL_AUTH_FAILURE_BURST", default_value_t = rules().auth_failures.burst)]
    auth_failure_burst: u32,

    /// How long a login token stays valid, in hours.
    #[arg(long, env = "NGOBROL_TOKEN_TTL_HOURS", default_value_t = rules().token_ttl.as_secs() / 3600)]
    token_ttl_hours: u64,

    /// The most database connections.
    #[arg(long, env = "NGOBROL_DATABASE_CONNECTIONS", default_value_t = StoreOptions::default().max_connections)]
    database_connections: u32,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();

    let namespace = Namespace::parse(args.namespace)?;
    let database = redact_url(&args.database_url);
    let store_options = StoreOptions {
        max_connections: args.database_connections,
        ..StoreOptions::default()
    };
    let database_url = args.database_url;
    let store = tokio::task::spawn_blocking(move || Store::open(&database_url, &store_options))
        .await?
        .with_context(|| format!("cannot open the store at {database}"))?;
    tracing::info!(%database, backend = ?store.backend(), "store open");

    let mut service_config = ServiceConfig {
        pbkdf2_iterations: args.pbkdf2_iterations,
        token_ttl: Duration::from_secs(args.token_ttl_hours * 3600),
        max_message_bytes: args.max_message_bytes,
        min_password_chars: args.min_password_chars,
        max_group_members: args.max_group_members,
        max_groups_per_user: args.max_groups_per_user,
        request_rate: if args.rate_per_second > 0.0 {
            RateLimit {
                burst: args.rate_burst.max(1),
                per_second: args.rate_per_second,
            }
        } else {
            RateLimit::UNLIMITED
        },
        auth_failures: RateLimit {
            burst: args.auth_failure_burst.max(1),
            ..ServiceConfig::default().auth_failures
        },
        ..ServiceConfig::default()
    };
    if let Some(concurrency) = args.hashing_concurrency {
        service_config.hashing_concurrency = concurrency;
    }
    let server_config = ServerConfig {
        amqp_url: args.amqp_url,
        namespace,
        prefetch: args.prefetch,
        lanes: args.lanes,
        max_body_bytes: args.max_body_bytes,
        ..ServerConfig::default()
    };
    let server = Server::build(Arc::new(store), service_config, server_config)?;
    server.run(shutdown_signal()).await;
    Ok(())
}

/// The defaults of the chat rules, which the flags default to.
fn rules() -> ServiceConfig {
    ServiceConfig::default()
}

/// The defaults of the broker side, which the flags default to.
fn server() -> ServerConfig {
    ServerConfig::default()
}

/// Completes at the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).expect("cannot listen for SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested");
}
