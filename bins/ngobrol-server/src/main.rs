//! `ngobrol-server`: the reference ngobrol server. It reads its settings,
//! opens the store, and serves the chat over RabbitMQ until SIGINT or
//! SIGTERM. All the rules live in the libraries.

mod flags;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use ngobrol_amqp::{DEFAULT_AMQP_URL, Language, Namespace, Server, ServerConfig, redact_url};
use ngobrol_core::{FriendshipPolicy, RateLimit, Retention, ServiceConfig};
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

    /// PBKDF2-HMAC-SHA256 rounds for new password hashes (1000 to 10000000).
    #[arg(long, env = "NGOBROL_PBKDF2_ITERATIONS", default_value_t = rules().pbkdf2_iterations)]
    pbkdf2_iterations: u32,

    /// How many password hashes may run at once, 1 to 256 (default: one per
    /// core, at most 256).
    #[arg(long, env = "NGOBROL_HASHING_CONCURRENCY")]
    hashing_concurrency: Option<usize>,

    /// The most requests taken from the broker and not yet finished (1 to
    /// 65535).
    #[arg(long, env = "NGOBROL_PREFETCH", default_value_t = server().prefetch)]
    prefetch: u16,

    /// How many requests (of different users) run at once (1 to 4096).
    #[arg(long, env = "NGOBROL_LANES", default_value_t = server().lanes)]
    lanes: usize,

    /// The most registrations and logins in hand at once (1 to 65535); more
    /// are answered `busy` at once, unhashed.
    #[arg(long, env = "NGOBROL_MAX_PENDING_LOGINS", default_value_t = server().max_pending_logins)]
    max_pending_logins: usize,

    /// The most requests kept in the dead-letter queue <namespace>.dead
    /// (at least 1); past it the oldest go.
    #[arg(long, env = "NGOBROL_DEAD_LETTER_CAPACITY", default_value_t = server().dead_letter_capacity)]
    dead_letter_capacity: u32,

    /// The language of the sentences the server sends people: id (the
    /// original server's Indonesian, word for word) or en.
    #[arg(long, env = "NGOBROL_LANGUAGE", default_value_t = server().language)]
    language: Language,

    /// The largest message text, in bytes: at least 1, and at most
    /// --max-body-bytes less 1024.
    #[arg(long, env = "NGOBROL_MAX_MESSAGE_BYTES", default_value_t = rules().max_message_bytes)]
    max_message_bytes: usize,

    /// The largest request body, in bytes (4096 to 134217728).
    #[arg(long, env = "NGOBROL_MAX_BODY_BYTES", default_value_t = server().max_body_bytes)]
    max_body_bytes: usize,

    /// The shortest password accepted at registration, in characters (1 to
    /// 1024).
    #[arg(long, env = "NGOBROL_MIN_PASSWORD_CHARS", default_value_t = rules().min_password_chars)]
    min_password_chars: usize,

    /// The most members a group may have (1 to 1000000).
    #[arg(long, env = "NGOBROL_MAX_GROUP_MEMBERS", default_value_t = rules().max_group_members)]
    max_group_members: usize,

    /// The most groups a user may be in (1 to 1000000).
    #[arg(long, env = "NGOBROL_MAX_GROUPS_PER_USER", default_value_t = rules().max_groups_per_user)]
    max_groups_per_user: usize,

    /// The most groups a user may have created that still exist.
    #[arg(long, env = "NGOBROL_MAX_GROUPS_CREATED_PER_USER", default_value_t = rules().max_groups_created_per_user)]
    max_groups_created_per_user: usize,

    /// Each user's sustained request rate, per second: 0 (unlimited), or
    /// 0.001 to 1000000.
    #[arg(long, env = "NGOBROL_RATE_PER_SECOND", default_value_t = rules().request_rate.per_second)]
    rate_per_second: f64,

    /// How many requests a user may make at once above that rate (at least
    /// 1).
    #[arg(long, env = "NGOBROL_RATE_BURST", default_value_t = rules().request_rate.burst)]
    rate_burst: u32,

    /// Failed logins (or registrations of a taken name) allowed per
    /// username before throttling (at least 1); one more is allowed every 12
    /// seconds.
    #[arg(long, env = "NGOBROL_AUTH_FAILURE_BURST", default_value_t = rules().auth_failures.burst)]
    auth_failure_burst: u32,

    /// How long a login token stays valid, in hours (1 to 87600: 10 years).
    #[arg(long, env = "NGOBROL_TOKEN_TTL_HOURS", default_value_t = rules().token_ttl.as_secs() / 3600)]
    token_ttl_hours: u64,

    /// How many days the history keeps messages (1 to 36500), or 0 to keep
    /// them for ever (the default).
    #[arg(long, env = "NGOBROL_HISTORY_MAX_AGE_DAYS", default_value_t = 0)]
    history_max_age_days: u64,

    /// How many of each conversation's newest messages the history keeps
    /// (at least 1), or 0 to keep them all (the default).
    #[arg(
        long,
        env = "NGOBROL_HISTORY_MAX_PER_CONVERSATION",
        default_value_t = 0
    )]
    history_max_per_conversation: u64,

    /// Whether befriending and adding to groups take effect at once
    /// (`open`, the original's rule) or ask the other first (`consent`).
    #[arg(long, env = "NGOBROL_FRIENDSHIP", default_value = "open", value_parser = ["open", "consent"])]
    friendship: String,

    /// The most database connections (1 to 1000).
    #[arg(long, env = "NGOBROL_DATABASE_CONNECTIONS", default_value_t = StoreOptions::default().max_connections)]
    database_connections: u32,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // Every setting is checked before anything is opened or connected.
    let settings = match settings(args) {
        Ok(settings) => settings,
        Err(problems) => {
            eprintln!("ngobrol-server: invalid settings:");
            for problem in problems {
                eprintln!("  {problem}");
            }
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match serve(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line, without a backtrace.
            eprintln!("ngobrol-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// What the server runs with, checked.
struct Settings {
    database_url: String,
    store: StoreOptions,
    rules: ServiceConfig,
    server: ServerConfig,
}

/// The settings from the flags, or every problem with them.
fn settings(args: Args) -> Result<Settings, Vec<String>> {
    let problems = flags::problems(&args);
    if !problems.is_empty() {
        return Err(problems);
    }
    let namespace = Namespace::parse(args.namespace).map_err(|e| vec![e.to_string()])?;
    let store = StoreOptions {
        max_connections: args.database_connections,
        ..StoreOptions::default()
    };
    let mut service_config = ServiceConfig {
        pbkdf2_iterations: args.pbkdf2_iterations,
        token_ttl: Duration::from_secs(args.token_ttl_hours.saturating_mul(3600)),
        max_message_bytes: args.max_message_bytes,
        min_password_chars: args.min_password_chars,
        max_group_members: args.max_group_members,
        max_groups_per_user: args.max_groups_per_user,
        max_groups_created_per_user: args.max_groups_created_per_user,
        request_rate: if args.rate_per_second > 0.0 {
            RateLimit {
                burst: args.rate_burst,
                per_second: args.rate_per_second,
            }
        } else {
            RateLimit::UNLIMITED
        },
        auth_failures: RateLimit {
            burst: args.auth_failure_burst,
            ..ServiceConfig::default().auth_failures
        },
        history_retention: Retention {
            max_age: (args.history_max_age_days > 0)
                .then(|| Duration::from_secs(args.history_max_age_days.saturating_mul(86_400))),
            max_per_conversation: (args.history_max_per_conversation > 0)
                .then_some(args.history_max_per_conversation),
        },
        friendship: match args.friendship.as_str() {
            "consent" => FriendshipPolicy::Consent,
            _ => FriendshipPolicy::Open,
        },
        ..ServiceConfig::default()
    };
    service_config.hashing_concurrency = match args.hashing_concurrency {
        Some(concurrency) => concurrency,
        // One per core, within the range on machines with very many.
        None => service_config
            .hashing_concurrency
            .min(*ServiceConfig::HASHING_CONCURRENCY.end()),
    };
    let server_config = ServerConfig {
        amqp_url: args.amqp_url,
        namespace,
        prefetch: args.prefetch,
        lanes: args.lanes,
        max_pending_logins: args.max_pending_logins,
        dead_letter_capacity: args.dead_letter_capacity,
        language: args.language,
        max_body_bytes: args.max_body_bytes,
        ..ServerConfig::default()
    };
    // The libraries' own checks, in case a setting not from a flag is off.
    let mut problems = Vec::new();
    if let Err(problem) = service_config.validate() {
        problems.push(format!("chat rules: {problem}"));
    }
    if let Err(problem) = server_config.validate() {
        problems.push(format!("server: {problem}"));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Settings {
        database_url: args.database_url,
        store,
        rules: service_config,
        server: server_config,
    })
}

/// Opens the store and serves until SIGINT or SIGTERM.
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let Settings {
        database_url,
        store: store_options,
        rules,
        server: server_config,
    } = settings;
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let database = redact_url(&database_url);
    let store = tokio::task::spawn_blocking(move || Store::open(&database_url, &store_options))
        .await?
        .with_context(|| format!("cannot open the store at {database}"))?;
    tracing::info!(%database, backend = ?store.backend(), "store open");

    let server = Server::build(Arc::new(store), rules, server_config)?;
    server.run(shutdown_signal(terminate)).await;
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
async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested");
}
