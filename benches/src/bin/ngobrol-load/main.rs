//! `ngobrol-load`: the end-to-end load tool. It runs the real server and a
//! broker-only relay, each as a child process, against the real RabbitMQ
//! on this machine, drives them with simulated clients speaking the wire
//! protocol, and reports throughput, latency, CPU and memory, each
//! ngobrol figure beside the relay's from the same run.
//!
//! ```sh
//! cargo run --release -p ngobrol-benches --bin ngobrol-load -- --json target/load.json
//! ```
//!
//! A run, in order (every phase bounded in time and count):
//!
//! 1. a SQLite store is written straight to a temporary file: 100,000
//!    users and 10,000 groups by default, the benchmark's users among them;
//! 2. the server starts on it (cold: its group exchanges, queues and
//!    bindings are new to the broker), and start-up time and memory are
//!    read;
//! 3. the relay starts beside it, on its own request queue;
//! 4. phase by phase, each first against the server and at once against
//!    the relay: direct messages at saturation and at a fixed rate, group
//!    fan-out; then, server only, logins at the stored hashes' PBKDF2 cost,
//!    and the fixed rate again, quiet and then during a login storm. Before
//!    each measurement the tool waits for the machine to be idle;
//! 5. the server starts once more (warm: everything exists), for a second
//!    start-up time;
//! 6. every queue and exchange of the run's namespace is deleted.
//!
//! Only loopback brokers are accepted: this is a tool for this machine.

mod child;
mod load;
mod procfs;
mod recorder;
mod relay;
mod report;
mod serve;
mod setup;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use ngobrol_core::{Password, PasswordHasher};
use serde_json::{Value, json};

use crate::child::ChildProcess;
use crate::load::{DirectSender, GroupSender, Load, Pace, Senders, Storm};
use crate::recorder::Timeline;
use crate::report::{PhaseReport, Report};
use crate::setup::{LOGIN_PASSWORD, Plan, populate, remove_broker_objects};

#[derive(Parser, Debug)]
#[command(
    name = "ngobrol-load",
    about = "End-to-end load tests of ngobrol against a broker-only relay."
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// (internal) the server child process
    #[command(hide = true)]
    Serve(serve::ServeArgs),
    /// (internal) the relay child process
    #[command(hide = true)]
    Relay(relay::RelayArgs),
}

/// Which measurements to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    /// Direct messages with a window of requests in flight.
    DirectSaturation,
    /// Direct messages at --rate per second.
    DirectRate,
    /// Group messages, groups of --group-size, at saturation.
    Group,
    /// Logins at the stored hashes' PBKDF2 cost.
    Login,
    /// Direct messages at --rate, quiet and then during a login storm.
    Mixed,
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// The broker: a loopback address only.
    #[arg(long, default_value = "amqp://guest:guest@127.0.0.1:5672/%2f")]
    amqp_url: String,
    /// The phases to run, comma-separated (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    phases: Vec<Phase>,
    /// Skip the relay: ngobrol figures only.
    #[arg(long)]
    no_relay: bool,
    /// Skip the second (warm) server start.
    #[arg(long)]
    no_warm_start: bool,
    /// Warm-up of each phase, not measured (at most 10 s).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Measurement of each phase (at most 30 s).
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Each half of the mixed phase, quiet then storm (at most 15 s).
    #[arg(long, default_value_t = 10)]
    mixed_half: u64,
    /// Pairs of friends writing to each other.
    #[arg(long, default_value_t = 100)]
    pairs: usize,
    /// How many of them send in the direct-message saturation phase, one
    /// measurement per count (each writes to their friend).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 10, 100])]
    direct_senders: Vec<usize>,
    /// How many members send in the group fan-out phase, one measurement
    /// per count: sender k writes to group k mod --groups.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 5, 20])]
    group_senders: Vec<usize>,
    /// Requests in flight at saturation.
    #[arg(long, default_value_t = 512)]
    window: usize,
    /// The fixed rate, direct messages per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Bytes of each message text.
    #[arg(long, default_value_t = 100)]
    message_bytes: usize,
    /// Groups of the fan-out phase.
    #[arg(long, default_value_t = 20)]
    groups: usize,
    /// Members of each of those groups.
    #[arg(long, default_value_t = 10)]
    group_size: usize,
    /// Users who log in (the login phase cycles through them).
    #[arg(long, default_value_t = 200)]
    login_users: usize,
    /// Logins in flight during the login phase and the storm.
    #[arg(long, default_value_t = 32)]
    login_window: usize,
    /// PBKDF2 iterations of the stored password hashes of those users.
    #[arg(long, default_value_t = PasswordHasher::DEFAULT_ITERATIONS)]
    pbkdf2_iterations: u32,
    /// The server's hashing concurrency (default: one per core).
    #[arg(long)]
    hashing_concurrency: Option<usize>,
    /// The server's (and the relay's) prefetch.
    #[arg(long, default_value_t = 64)]
    prefetch: u16,
    /// The server's lanes.
    #[arg(long, default_value_t = 32)]
    lanes: usize,
    /// How many servers serve the namespace, started one after another
    /// with the same command (the CPU figures are the first one's).
    #[arg(long, default_value_t = 1)]
    servers: usize,
    /// The store the servers share (a `postgres://` URL for more than
    /// one server on separate stores' terms); default: a temporary SQLite
    /// file.
    #[arg(long)]
    database_url: Option<String>,
    /// Users in the store, the benchmark's included.
    #[arg(long, default_value_t = 100_000)]
    store_users: usize,
    /// Groups in the store, the fan-out phase's included.
    #[arg(long, default_value_t = 10_000)]
    store_groups: usize,
    /// Members of each background group.
    #[arg(long, default_value_t = 3)]
    store_group_size: usize,
    /// Give every request a `request_id`, as the SDK does (the server then
    /// also consults and writes its log of replies).
    #[arg(long)]
    request_ids: bool,
    /// Run every phase this many times (ngobrol and relay alternating).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Before each measurement, wait (up to a minute) until the machine's
    /// cores are less busy than this, in percent: others' builds skew it.
    #[arg(long, default_value_t = 20.0)]
    quiet_pct: f64,
    /// The namespace (default: bench + random hex).
    #[arg(long)]
    namespace: Option<String>,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Profile the server with `perf record` during the measured part of
    /// the direct-message saturation phase, writing here.
    #[arg(long)]
    perf: Option<PathBuf>,
    /// Options for `perf record` (event, frequency, call graphs).
    #[arg(
        long,
        default_value = "-e cpu-clock -F 499 --call-graph dwarf,16384",
        allow_hyphen_values = true
    )]
    perf_args: String,
}

/// The longest wait for a quiet machine before a measurement.
const QUIET_LIMIT: Duration = Duration::from_secs(60);

/// Most requests one phase may publish, whatever its pace: a bound on
/// count as well as on time.
pub const MAX_REQUESTS_PER_PHASE: u64 = 2_000_000;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.role {
        Some(Role::Serve(args)) => runtime.block_on(serve::serve(args)),
        Some(Role::Relay(args)) => runtime.block_on(relay::relay(args)),
        None => runtime.block_on(run(cli.run)),
    }
}

/// Refuses any broker but one on this machine.
fn ensure_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("the broker must be on this machine (a loopback address), not {host:?}");
    }
    Ok(())
}

async fn run(mut args: RunArgs) -> anyhow::Result<()> {
    ensure_loopback(&args.amqp_url)?;
    args.warmup = args.warmup.min(10);
    args.duration = args.duration.clamp(1, 30);
    args.mixed_half = args.mixed_half.clamp(1, 15);
    args.repeat = args.repeat.clamp(1, 5);
    if args.phases.is_empty() {
        args.phases = vec![
            Phase::DirectSaturation,
            Phase::DirectRate,
            Phase::Group,
            Phase::Login,
            Phase::Mixed,
        ];
    }
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(ngobrol_benches::random_namespace);
    ngobrol_amqp::Namespace::parse(namespace.clone())?;
    let plan = Plan::new(
        args.store_users,
        args.pairs,
        args.groups,
        args.group_size,
        args.login_users,
        args.store_groups,
        args.store_group_size,
    )?;

    let dir = tempfile::tempdir()?;
    let sqlite = dir.path().join("ngobrol.sqlite3");
    let database = match &args.database_url {
        Some(url) => url.as_str(),
        None => sqlite
            .to_str()
            .context("a temporary path that is not UTF-8")?,
    };
    // One real hash, shared by every user who logs in: each login then
    // costs what a login costs, without hashing hundreds of passwords here.
    let hasher = PasswordHasher::new(args.pbkdf2_iterations, 1)?;
    let login_hash = hasher.hash(&Password::new(LOGIN_PASSWORD)).await?;
    let (senders, populated) = populate(&plan, database, login_hash).await?;
    eprintln!(
        "namespace {namespace}: store of {} users, {} groups ({} memberships) written in {:.2} s",
        plan.store_users,
        plan.total_groups(),
        plan.memberships(),
        populated.as_secs_f64()
    );

    let mut report = Report::new(&namespace, &args, &plan, populated);
    let measured = tokio::select! {
        result = measure(&args, &plan, &senders, &namespace, database, &mut report) => result,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    // Whatever happened, leave the shared broker as it was.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (queues, exchanges) = plan.broker_objects(&namespace);
    let objects = queues.len() + exchanges.len();
    let cleanup_started = Instant::now();
    match remove_broker_objects(&args.amqp_url, queues, exchanges).await {
        Ok(failures) => {
            eprintln!(
                "removed the run's {objects} broker objects in {:.1} s ({failures} failed)",
                cleanup_started.elapsed().as_secs_f64()
            );
            report.cleanup = json!({
                "objects": objects,
                "failures": failures,
                "seconds": cleanup_started.elapsed().as_secs_f64(),
            });
        }
        Err(e) => eprintln!("could not remove the run's broker objects: {e}"),
    }
    measured?;

    report.evaluate();
    println!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Starts the server child and waits until it serves.
async fn start_server(
    args: &RunArgs,
    namespace: &str,
    database: &str,
) -> anyhow::Result<(ChildProcess, Value)> {
    let mut command = vec![
        "serve".to_owned(),
        format!("--amqp-url={}", args.amqp_url),
        format!("--namespace={namespace}"),
        format!("--database={database}"),
        format!("--prefetch={}", args.prefetch),
        format!("--lanes={}", args.lanes),
    ];
    if let Some(n) = args.hashing_concurrency {
        command.push(format!("--hashing-concurrency={n}"));
    }
    let mut server = ChildProcess::spawn("server", &command)?;
    let ready = server.wait_for("ready", Duration::from_secs(300)).await?;
    Ok((server, ready))
}

async fn start_relay(args: &RunArgs, namespace: &str) -> anyhow::Result<ChildProcess> {
    let command = vec![
        "relay".to_owned(),
        format!("--amqp-url={}", args.amqp_url),
        format!("--namespace={namespace}"),
        format!("--queue={}", setup::relay_queue(namespace)),
        format!("--prefetch={}", args.prefetch),
    ];
    let mut relay = ChildProcess::spawn("relay", &command)?;
    relay.wait_for("ready", Duration::from_secs(30)).await?;
    Ok(relay)
}

/// Runs `perf record` on `pid` from `at` for `seconds`; it stops by itself.
fn profile(
    args: &RunArgs,
    pid: u32,
    at: Instant,
    seconds: u64,
) -> Option<tokio::task::JoinHandle<()>> {
    let path = args.perf.clone()?;
    let options: Vec<String> = args
        .perf_args
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some(tokio::spawn(async move {
        tokio::time::sleep_until(at.into()).await;
        let recorded = tokio::task::spawn_blocking(move || {
            std::process::Command::new("perf")
                .arg("record")
                .args(&options)
                .arg("-p")
                .arg(pid.to_string())
                .arg("-o")
                .arg(&path)
                .arg("--")
                .arg("sleep")
                .arg(seconds.to_string())
                .stdout(std::process::Stdio::null())
                .status()
        })
        .await;
        match recorded {
            Ok(Ok(status)) if status.success() => {}
            other => eprintln!("perf record did not work: {other:?}"),
        }
    }))
}

/// Every measurement of the run: each phase against the server, then at
/// once against the relay (both stay up, each on its own request queue),
/// `--repeat` times.
async fn measure(
    args: &RunArgs,
    plan: &Plan,
    senders: &setup::Senders,
    namespace: &str,
    database: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    let load = Load::connect(
        &args.amqp_url,
        namespace,
        &plan.consumed_users(),
        args.message_bytes,
        args.request_ids,
    )
    .await?;
    let warmup = Duration::from_secs(args.warmup);
    let storm = Storm {
        users: plan.login_users(),
        password: LOGIN_PASSWORD.to_owned(),
        window: args.login_window,
    };
    // Group senders spread over the groups: sender k is a member of
    // group k mod --groups, so every count sends to groups of one size.
    let groups = args.groups.max(1);
    let group_senders: Vec<GroupSender> = (0..senders.group.len())
        .map(|k| senders.group[(k % groups) * args.group_size + k / groups].clone())
        .collect();
    let direct_senders = senders.direct.clone();

    eprintln!("starting the server (cold start)");
    let (server, ready) = start_server(args, namespace, database).await?;
    report
        .startup
        .push(json!({"start": "cold", "ready": ready}));
    let mut others = Vec::new();
    for n in 2..=args.servers {
        eprintln!("starting server {n}");
        others.push(start_server(args, namespace, database).await?.0);
    }
    if !others.is_empty() {
        // Until the shards are shared out (a hello a second, and the
        // yielding after).
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let relay = if args.no_relay {
        None
    } else {
        Some(start_relay(args, namespace).await?)
    };
    let relay_queue = setup::relay_queue(namespace);

    for round in 0..args.repeat.max(1) {
        for (phase, name, pace, senders, windows, phase_storm) in
            variants(args, &direct_senders, &group_senders, &storm)
        {
            let (name, senders, sender_count) = (name, senders, senders.len());
            // The server, then (for message phases) the relay.
            let phase = &phase;
            let relay_too = matches!(
                phase,
                Phase::DirectSaturation | Phase::DirectRate | Phase::Group
            );
            let targets: Vec<(&'static str, u32, &str)> =
                std::iter::once(("ngobrol", server.pid(), namespace))
                    .chain(
                        relay
                            .as_ref()
                            .filter(|_| relay_too)
                            .map(|r| ("relay", r.pid(), relay_queue.as_str())),
                    )
                    .collect();
            // Alternate who goes first, so that neither always inherits the
            // broker's leftover work (disk writes, garbage collection) from
            // the other.
            let mut targets = targets;
            if round % 2 == 1 {
                targets.reverse();
            }
            for (target, pid, queue) in targets {
                let (busy, waited) = procfs::wait_quiet(args.quiet_pct, QUIET_LIMIT).await;
                if busy >= args.quiet_pct {
                    eprintln!(
                        "the machine is still {busy:.0}% busy after {:.0} s; measuring anyway",
                        waited.as_secs_f64()
                    );
                }
                eprintln!("[round {}] {target}: {name}", round + 1);
                *load.target_pid.lock().unwrap_or_else(|p| p.into_inner()) = Some(pid);
                let timeline = Timeline::new(warmup, &windows);
                let profiling =
                    (round == 0 && target == "ngobrol" && *phase == Phase::DirectSaturation)
                        .then(|| profile(args, pid, timeline.measure, args.duration))
                        .flatten();
                let measured = if *phase == Phase::Login {
                    load.run_logins(&storm, timeline).await?
                } else {
                    load.run_phase(queue, senders, pace, timeline, phase_storm)
                        .await?
                };
                if let Some(profiling) = profiling {
                    let _ = profiling.await;
                }
                let mut phase_report = PhaseReport::new(
                    *phase,
                    name.clone(),
                    target,
                    measured,
                    procfs::memory_kib(pid),
                );
                phase_report.senders = sender_count;
                phase_report.waited_for_quiet_s = waited.as_secs_f64();
                report.push(phase_report);
            }
        }
    }
    for other in others {
        other.stop(Duration::from_secs(30)).await;
    }
    report.server_stopped = server.stop(Duration::from_secs(30)).await;
    if let Some(relay) = relay {
        relay.stop(Duration::from_secs(30)).await;
    }

    if !args.no_warm_start {
        let _ = procfs::wait_quiet(args.quiet_pct, QUIET_LIMIT).await;
        eprintln!("starting the server again (warm start)");
        let (server, ready) = start_server(args, namespace, database).await?;
        report
            .startup
            .push(json!({"start": "warm", "ready": ready}));
        server.stop(Duration::from_secs(30)).await;
    }
    Ok(())
}

/// One measurement of a round: its phase, name, pace, senders, buckets and
/// storm.
type Variant<'a> = (
    Phase,
    String,
    Pace,
    Senders<'a>,
    Vec<Duration>,
    Option<&'a Storm>,
);

/// The round's measurements, in the order of `--phases`: the saturation
/// phases once per sender count.
fn variants<'a>(
    args: &RunArgs,
    direct: &'a [DirectSender],
    group: &'a [GroupSender],
    storm: &'a Storm,
) -> Vec<Variant<'a>> {
    let duration = Duration::from_secs(args.duration);
    let half = Duration::from_secs(args.mixed_half);
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut out = Vec::new();
    for phase in &args.phases {
        match phase {
            Phase::DirectSaturation => {
                for &n in &args.direct_senders {
                    let n = n.clamp(1, direct.len());
                    out.push((
                        *phase,
                        format!("direct, {n} sender{}, window {}", plural(n), args.window),
                        Pace::Window(args.window),
                        Senders::Direct(&direct[..n]),
                        vec![duration],
                        None,
                    ));
                }
            }
            Phase::Group => {
                for &n in &args.group_senders {
                    let n = n.clamp(1, group.len());
                    out.push((
                        *phase,
                        format!(
                            "group of {}, {n} sender{}, window {}",
                            args.group_size,
                            plural(n),
                            args.window
                        ),
                        Pace::Window(args.window),
                        Senders::Group(&group[..n]),
                        vec![duration],
                        None,
                    ));
                }
            }
            Phase::DirectRate => out.push((
                *phase,
                format!("direct, {}/s", args.rate),
                Pace::Rate(args.rate),
                Senders::Direct(direct),
                vec![duration],
                None,
            )),
            Phase::Mixed => out.push((
                *phase,
                format!("direct, {}/s, quiet then login storm", args.rate),
                Pace::Rate(args.rate),
                Senders::Direct(direct),
                vec![half, half],
                Some(storm),
            )),
            Phase::Login => out.push((
                *phase,
                format!(
                    "logins, {} iterations, {} in flight",
                    args.pbkdf2_iterations, args.login_window
                ),
                Pace::Window(1),
                Senders::Direct(direct),
                vec![duration],
                None,
            )),
        }
    }
    out
}
