//! CPU time and memory of processes, read from `/proc`: how the two cores
//! were shared between the server (or relay), the broker and the load
//! generator during a measurement, and how much memory the server holds.

use serde::Serialize;

/// Clock ticks per second of `/proc/<pid>/stat` and `/proc/stat`. It is
/// 100 on every Linux build this runs on; reading it properly would need
/// `sysconf`, which is not worth unsafe code here.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time of a whole process (every thread), in ticks.
pub fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; count fields after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Busy and total ticks of the whole machine (all cores).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    // idle and iowait are the 4th and 5th values.
    let idle = values.get(3)? + values.get(4).copied().unwrap_or(0);
    Some((total - idle, total))
}

/// Resident and peak resident memory of a process, in KiB.
pub fn memory_kib(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct Memory {
    pub rss_kib: u64,
    pub peak_kib: u64,
}

/// The RabbitMQ node on this machine: the Erlang VM process.
pub fn broker_pid() -> Option<u32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "beam.smp")
        })
}

/// One reading of every process of interest.
#[derive(Clone, Copy, Debug)]
pub struct CpuReading {
    at: std::time::Instant,
    target: Option<u64>,
    broker: Option<u64>,
    load: Option<u64>,
    machine: Option<(u64, u64)>,
}

impl CpuReading {
    /// Reads now; `target` is the server's or the relay's pid.
    pub fn take(target: Option<u32>, broker: Option<u32>) -> Self {
        Self {
            at: std::time::Instant::now(),
            target: target.and_then(process_ticks),
            broker: broker.and_then(process_ticks),
            load: process_ticks(std::process::id()),
            machine: machine_ticks(),
        }
    }
}

/// CPU use between two readings, in percent of one core (so up to 200 on
/// two cores), and the machine's busy share in percent of all cores.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CpuUse {
    pub target_pct: Option<f64>,
    pub broker_pct: Option<f64>,
    pub load_pct: Option<f64>,
    /// Every process on the machine, other users' included: a busy share
    /// well above the three others means someone else was using the cores.
    pub machine_busy_pct: Option<f64>,
}

impl CpuUse {
    pub fn between(start: &CpuReading, end: &CpuReading) -> Self {
        let seconds = end.at.duration_since(start.at).as_secs_f64().max(1e-9);
        let pct = |a: Option<u64>, b: Option<u64>| {
            Some(b?.saturating_sub(a?) as f64 / TICKS_PER_SECOND / seconds * 100.0)
        };
        let machine = match (start.machine, end.machine) {
            (Some((busy0, total0)), Some((busy1, total1))) if total1 > total0 => {
                Some((busy1 - busy0) as f64 / (total1 - total0) as f64 * 100.0)
            }
            _ => None,
        };
        Self {
            target_pct: pct(start.target, end.target),
            broker_pct: pct(start.broker, end.broker),
            load_pct: pct(start.load, end.load),
            machine_busy_pct: machine,
        }
    }
}

/// Waits until the machine is nearly idle (all cores' busy share below
/// `threshold_pct` over half a second), for at most `limit`: on a shared
/// machine, someone else's build would otherwise be measured too. Returns
/// the busy share last seen and how long it waited.
pub async fn wait_quiet(
    threshold_pct: f64,
    limit: std::time::Duration,
) -> (f64, std::time::Duration) {
    let started = std::time::Instant::now();
    loop {
        let before = machine_ticks();
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let busy = match (before, machine_ticks()) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                (b1 - b0) as f64 / (t1 - t0) as f64 * 100.0
            }
            _ => 0.0,
        };
        if busy < threshold_pct || started.elapsed() >= limit {
            return (busy, started.elapsed());
        }
    }
}
