//! `ngobrol-server`: the reference ngobrol server. It reads its settings,
//! opens the store, and serves the chat over RabbitMQ until SIGINT or
//! SIGTERM; its subcommands are the operator's tools on the same store
//! and broker. All the rules live in the libraries.

mod admin;
mod args;
mod broker_auth;
mod config_file;
mod flags;
mod http;
mod import;
mod settings;
mod table;

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use ngobrol_amqp::{Server, redact_url};
use ngobrol_store::{Store, StoreError, StoreLock};
use tracing_subscriber::EnvFilter;

use crate::settings::Settings;

/// The ngobrol chat server: JSON requests over RabbitMQ, compatible with
/// the original ngobrol clients. Without a command, it serves.
#[derive(Parser, Debug)]
#[command(version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub settings: args::Args,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Serves the chat (what the server does without a command).
    Serve,
    /// Prints the effective settings, where each comes from, with the
    /// passwords in URLs redacted.
    Config,
    /// Users: list, find, disable, enable, reset a password.
    #[command(subcommand)]
    Users(admin::UsersCommand),
    /// A user's sessions: list and end them.
    #[command(subcommand)]
    Sessions(admin::SessionsCommand),
    /// Groups: list, show, delete.
    #[command(subcommand)]
    Groups(admin::GroupsCommand),
    /// How many users, groups, messages and sessions the store holds.
    Stats(admin::Output),
    /// Copies an original ngobrol deployment's MySQL/MariaDB database
    /// (users, friendships, groups with their ids, memberships) into the
    /// store; run it again and nothing is copied twice.
    ImportOriginal(import::ImportArgs),
}

fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // Every setting may follow the command too (`users list --json
    // --database-url …`).
    let command = Cli::command().mut_args(|arg| arg.global(true));
    let (command, file) = match config_file::layer(command, &argv) {
        Ok(layered) => layered,
        Err(problems) => return invalid(problems),
    };
    let matches = command.clone().get_matches_from(&argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let explicit_http = matches
        .value_source("http_addr")
        .is_some_and(|s| s != clap::parser::ValueSource::DefaultValue)
        || file
            .as_ref()
            .is_some_and(|f| f.keys.iter().any(|k| k == "http_addr"));
    if let Some(Command::Config) = cli.command {
        print!(
            "{}",
            config_file::effective(&command, &matches, file.as_ref())
        );
        return ExitCode::SUCCESS;
    }
    // Every setting is checked before anything is opened or connected.
    let settings = match settings::settings(cli.settings) {
        Ok(settings) => settings,
        Err(mut problems) => {
            if let Some(file) = &file {
                problems.push(format!(
                    "(settings from {}: {})",
                    file.path.display(),
                    file.keys.join(", ")
                ));
            }
            return invalid(problems);
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let outcome = runtime.block_on(async move {
        match cli.command {
            None | Some(Command::Serve) => {
                init_logs("info", Logs::Stdout);
                serve(settings, explicit_http).await
            }
            Some(Command::ImportOriginal(import)) => {
                init_logs("warn", Logs::Stderr);
                import::run(settings, import).await
            }
            Some(command) => {
                init_logs("warn", Logs::Stderr);
                admin::run(settings, command).await
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The cause chain on one line, without a backtrace.
            eprintln!("ngobrol-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn invalid(problems: Vec<String>) -> ExitCode {
    eprintln!("ngobrol-server: invalid settings:");
    for problem in problems {
        eprintln!("  {problem}");
    }
    ExitCode::from(2)
}

/// Where the log goes: the server's to standard output, as it always has;
/// a command's to standard error, beside what it prints.
#[derive(Clone, Copy)]
enum Logs {
    Stdout,
    Stderr,
}

/// Logs at `default` unless `RUST_LOG` says otherwise, in colour only on a
/// terminal and without `NO_COLOR`.
fn init_logs(default: &str, to: Logs) {
    use std::io::IsTerminal;
    let terminal = match to {
        Logs::Stdout => std::io::stdout().is_terminal(),
        Logs::Stderr => std::io::stderr().is_terminal(),
    };
    let ansi = terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    match to {
        Logs::Stdout => logs.init(),
        Logs::Stderr => logs.with_writer(std::io::stderr).init(),
    }
}

/// Opens the store at `settings`' URL (migrating it), on the blocking pool.
pub(crate) async fn open_store(settings: &Settings) -> anyhow::Result<Arc<Store>> {
    let url = settings.database_url.clone();
    let options = settings.store.clone();
    let database = redact_url(&url);
    let store = tokio::task::spawn_blocking(move || Store::open(&url, &options))
        .await?
        .with_context(|| format!("cannot open the store at {database}"))?;
    Ok(Arc::new(store))
}

/// Opens the store and serves until SIGINT or SIGTERM.
async fn serve(settings: Settings, explicit_http: bool) -> anyhow::Result<()> {
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let store = open_store(&settings).await?;
    let database = redact_url(&settings.database_url);
    let _serving = match StoreLock::shared(&settings.database_url) {
        Ok(lock) => lock,
        Err(StoreError::InUse) => anyhow::bail!(
            "the store at {database} is held by an import; start the server when it is done"
        ),
        Err(e) => return Err(e).context("cannot lock the store"),
    };
    tracing::info!(%database, backend = ?store.backend(), "store open");

    let listener = match settings.http_addr {
        Some(addr) => http::bind(addr, !explicit_http).await?,
        None => None,
    };
    let metrics = match &listener {
        Some(_) => Some(http::install_metrics()?),
        None => None,
    };
    let broker_rules = match &settings.server.isolation {
        Some(isolation) => {
            anyhow::ensure!(
                listener.is_some(),
                "isolated mode needs the HTTP listener, and {} is taken: set --http-addr",
                settings
                    .http_addr
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            );
            tracing::info!(login_user = %isolation.login_user, "isolated mode: the broker asks /auth/… who may do what");
            Some(broker_auth::BrokerRules {
                names: settings.server.namespace.clone(),
                vhost: ngobrol_amqp::amqp_vhost(settings.server.amqp_urls()[0]),
                login_user: isolation.login_user.clone(),
                login_password: settings.login_password.clone(),
                store: store.clone(),
            })
        }
        None => None,
    };
    let server = Server::build(store.clone(), settings.rules, settings.server)?;
    let (stop_http, http_stopped) = tokio::sync::oneshot::channel::<()>();
    let http = match (listener, metrics) {
        (Some(listener), Some(metrics)) => {
            let probes = http::Probes {
                serving: server.ready(),
                store,
                metrics,
            };
            Some(tokio::spawn(http::serve(
                listener,
                probes,
                broker_rules,
                async {
                    let _ = http_stopped.await;
                },
            )))
        }
        _ => None,
    };
    server.run(shutdown_signal(terminate)).await;
    let _ = stop_http.send(());
    if let Some(http) = http {
        let _ = http.await;
    }
    Ok(())
}

/// Completes at the first SIGINT or SIGTERM.
async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutdown requested");
}
