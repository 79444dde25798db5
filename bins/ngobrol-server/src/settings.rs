//! The checked settings the server (and each admin command) runs with,
//! made from the flags.

use std::time::Duration;

use ngobrol_amqp::{Namespace, ServerConfig};
use ngobrol_core::{FriendshipPolicy, RateLimit, Retention, ServiceConfig};
use ngobrol_store::StoreOptions;

use crate::args::Args;
use crate::flags;

/// What the server runs with, checked.
pub(crate) struct Settings {
    pub database_url: String,
    pub store: StoreOptions,
    pub rules: ServiceConfig,
    pub server: ServerConfig,
    /// Where the HTTP listener listens, if it does.
    pub http_addr: Option<std::net::SocketAddr>,
    /// In isolated mode, the login account's password (its name is in
    /// `server.isolation`).
    pub login_password: String,
}

/// The settings from the flags, or every problem with them.
pub(crate) fn settings(args: Args) -> Result<Settings, Vec<String>> {
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
    let management = match &args.broker_management_url {
        Some(url) => Some(ngobrol_amqp::Management::parse(url).map_err(|e| {
            vec![format!(
                "--broker-management-url (NGOBROL_BROKER_MANAGEMENT_URL): {e}"
            )]
        })?),
        None => None,
    };
    let shard_queues = args
        .shard_queues
        .parse::<ngobrol_amqp::ShardQueues>()
        .map_err(|e| vec![format!("--shard-queues (NGOBROL_SHARD_QUEUES): {e}")])?;
    let server_config = ServerConfig {
        amqp_url: args.amqp_url,
        namespace,
        prefetch: args.prefetch,
        shard_queues,
        node_name: args.node_name.clone(),
        lanes: args.lanes,
        max_pending_logins: args.max_pending_logins,
        dead_letter_capacity: args.dead_letter_capacity,
        language: args.language,
        max_body_bytes: args.max_body_bytes,
        cache: (args.cache_ttl_ms > 0).then(|| ngobrol_core::CacheSettings {
            ttl: std::time::Duration::from_millis(args.cache_ttl_ms),
            ..ngobrol_core::CacheSettings::default()
        }),
        isolation: args.isolated.then(|| ngobrol_amqp::Isolation {
            login_user: args.login_user.clone(),
            management: management.clone(),
        }),
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
        login_password: args.login_password,
        http_addr: crate::flags::http_addr(&args.http_addr).ok().flatten(),
        database_url: args.database_url,
        store,
        rules: service_config,
        server: server_config,
    })
}
