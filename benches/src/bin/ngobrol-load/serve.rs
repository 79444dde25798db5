//! The server role: the real ngobrol server, composed exactly as
//! `examples/embedded_server.rs` composes it, on the SQLite store the load
//! tool prepared. It reports how long start-up took and how much memory it
//! holds, serves until the load tool lets go of it, and reports again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ngobrol_amqp::{Namespace, Server, ServerConfig};
use ngobrol_core::{PasswordHasher, RateLimit, ServiceConfig};
use ngobrol_store::{Store, StoreOptions};
use serde_json::json;

use crate::child::{announce, stop_requested};
use crate::procfs::memory_kib;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long)]
    pub amqp_url: String,
    #[arg(long)]
    pub namespace: String,
    #[arg(long)]
    pub database: String,
    /// Password hashes running at once (default: one per core, as the
    /// reference server).
    #[arg(long)]
    pub hashing_concurrency: Option<usize>,
    #[arg(long, default_value_t = ServerConfig::default().prefetch)]
    pub prefetch: u16,
    #[arg(long, default_value_t = ServerConfig::default().lanes)]
    pub lanes: usize,
    /// Stop after this long even if the load tool has not said so.
    #[arg(long, default_value_t = 3600)]
    pub max_seconds: u64,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let database = args.database.clone();
    let store =
        tokio::task::spawn_blocking(move || Store::open(&database, &StoreOptions::default()))
            .await??;
    let opened = started.elapsed();

    let config = ServerConfig {
        amqp_url: args.amqp_url.clone(),
        namespace: Namespace::parse(args.namespace.clone())?,
        prefetch: args.prefetch,
        lanes: args.lanes,
        ..ServerConfig::default()
    };
    let defaults = ServiceConfig::default();
    let rules = ServiceConfig {
        // Only new hashes use this (none are made during a run); stored
        // hashes keep the count they were made with.
        pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
        hashing_concurrency: args
            .hashing_concurrency
            .unwrap_or(defaults.hashing_concurrency),
        // A few hundred simulated users each send far more than a person
        // would; the per-user limit would cap the benchmark, not the server.
        request_rate: RateLimit::UNLIMITED,
        ..defaults
    };
    let hashing_concurrency = rules.hashing_concurrency;
    let server = Server::build(Arc::new(store), rules, config)?;

    let mut ready = server.ready();
    let run_started = Instant::now();
    let lifetime = Duration::from_secs(args.max_seconds);
    let announce_ready = async {
        if ready.wait_for(|r| *r).await.is_ok() {
            let pid = std::process::id();
            announce(&json!({
                "event": "ready",
                "open_store_ms": opened.as_secs_f64() * 1e3,
                "run_to_ready_ms": run_started.elapsed().as_secs_f64() * 1e3,
                "total_ms": started.elapsed().as_secs_f64() * 1e3,
                "memory": memory_kib(pid),
                "hashing_concurrency": hashing_concurrency,
            }));
        }
    };
    let run = server.run(stop_requested(lifetime));
    tokio::pin!(run);
    tokio::select! {
        // Stopped before it was ever ready (the broker never answered).
        () = &mut run => {}
        () = announce_ready => (&mut run).await,
    }
    announce(&json!({
        "event": "stopped",
        "memory": memory_kib(std::process::id()),
    }));
    Ok(())
}
