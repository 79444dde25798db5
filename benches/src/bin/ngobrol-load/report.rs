//! The report of a run: every phase's figures, the start-ups, and the
//! performance targets judged against them, as a table for people and as
//! JSON for tools.

use std::fmt::Write;
use std::time::Duration;

use ngobrol_benches::{Summary, ms};
use serde::Serialize;
use serde_json::{Value, json};

use crate::procfs::Memory;
use crate::recorder::Measured;
use crate::setup::Plan;
use crate::{Phase, RunArgs};

#[derive(Debug, Serialize)]
pub struct PhaseReport {
    #[serde(skip)]
    phase: Option<Phase>,
    pub name: String,
    /// `ngobrol` or `relay`.
    pub target: &'static str,
    /// How many users sent.
    pub senders: usize,
    #[serde(flatten)]
    pub measured: Measured,
    /// The server's (or relay's) memory after the phase.
    pub memory: Option<Memory>,
    /// How long the tool waited for an idle machine before measuring.
    pub waited_for_quiet_s: f64,
}

impl PhaseReport {
    pub fn new(
        phase: Phase,
        name: String,
        target: &'static str,
        measured: Measured,
        memory: Option<Memory>,
    ) -> Self {
        Self {
            phase: Some(phase),
            name,
            target,
            senders: 0,
            measured,
            memory,
            waited_for_quiet_s: 0.0,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    /// `None` when the run did not measure what the target needs.
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub namespace: String,
    pub machine: Value,
    pub settings: Value,
    pub population: Value,
    pub startup: Vec<Value>,
    pub phases: Vec<PhaseReport>,
    pub server_stopped: Option<Value>,
    pub targets: Vec<Target>,
    pub cleanup: Value,
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split_once(':')?.1.trim().to_owned())
}

impl Report {
    pub fn new(namespace: &str, args: &RunArgs, plan: &Plan, populated: Duration) -> Self {
        let machine = json!({
            "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(0),
            "cpu": cpu_model(),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned()).ok(),
        });
        let settings = json!({
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "mixed_half_s": args.mixed_half,
            "pairs": args.pairs,
            "window": args.window,
            "rate": args.rate,
            "message_bytes": args.message_bytes,
            "groups": args.groups,
            "group_size": args.group_size,
            "login_users": args.login_users,
            "login_window": args.login_window,
            "pbkdf2_iterations": args.pbkdf2_iterations,
            "hashing_concurrency": args.hashing_concurrency,
            "prefetch": args.prefetch,
            "lanes": args.lanes,
            "servers": args.servers,
            "request_ids": args.request_ids,
            "repeat": args.repeat,
            "quiet_pct": args.quiet_pct,
        });
        let population = json!({
            "users": plan.store_users,
            "groups": plan.total_groups(),
            "memberships": plan.memberships(),
            "background_group_size": plan.background_group_size,
            "written_s": populated.as_secs_f64(),
        });
        Self {
            namespace: namespace.to_owned(),
            machine,
            settings,
            population,
            startup: Vec::new(),
            phases: Vec::new(),
            server_stopped: None,
            targets: Vec::new(),
            cleanup: Value::Null,
        }
    }

    pub fn push(&mut self, phase: PhaseReport) {
        self.phases.push(phase);
    }

    /// Every round's figures of a phase against a target, in order.
    fn all(&self, phase: Phase, target: &str) -> Vec<&Measured> {
        self.phases
            .iter()
            .filter(|p| p.phase == Some(phase) && p.target == target)
            .map(|p| &p.measured)
            .collect()
    }

    /// The same, of the measurements with `senders` senders.
    fn all_with(&self, phase: Phase, senders: usize, target: &str) -> Vec<&Measured> {
        self.phases
            .iter()
            .filter(|p| p.phase == Some(phase) && p.senders == senders && p.target == target)
            .map(|p| &p.measured)
            .collect()
    }

    /// The sender counts measured in a phase, in the order first seen.
    fn sender_counts(&self, phase: Phase) -> Vec<usize> {
        let mut counts = Vec::new();
        for p in self.phases.iter().filter(|p| p.phase == Some(phase)) {
            if !counts.contains(&p.senders) {
                counts.push(p.senders);
            }
        }
        counts
    }

    /// Each round's ngobrol-to-relay ratio of `f` in a phase, the two
    /// measured beside each other, and the medians of both sides.
    fn ratios(
        &self,
        phase: Phase,
        senders: usize,
        f: impl Fn(&Measured) -> Option<f64>,
    ) -> (Vec<f64>, Option<f64>, Option<f64>) {
        let ours = self.all_with(phase, senders, "ngobrol");
        let relay = self.all_with(phase, senders, "relay");
        let pairs: Vec<(f64, f64)> = ours
            .iter()
            .zip(&relay)
            .filter_map(|(a, b)| Some((f(a)?, f(b)?)))
            .filter(|(_, b)| *b > 0.0)
            .collect();
        let ratios = pairs.iter().map(|(a, b)| a / b).collect();
        let a = Self::median(pairs.iter().map(|p| p.0).collect());
        let b = Self::median(pairs.iter().map(|p| p.1).collect());
        (ratios, a, b)
    }

    /// The median of `values`: the middle one, or the mean of the two
    /// middle ones when there is an even number. One disturbed round on a
    /// shared machine then does not decide a target alone.
    fn median(mut values: Vec<f64>) -> Option<f64> {
        values.retain(|v| v.is_finite());
        values.sort_by(f64::total_cmp);
        let n = values.len();
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(values[n / 2]),
            _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
        }
    }

    /// "a, b, c" of each round's value, when there was more than one.
    fn rounds(values: &[f64], show: impl Fn(f64) -> String) -> String {
        if values.len() < 2 {
            return String::new();
        }
        let shown: Vec<String> = values.iter().map(|v| show(*v)).collect();
        format!(" (median of rounds: {})", shown.join(", "))
    }

    /// The server's peak resident memory over the run, in KiB.
    fn server_peak_kib(&self) -> Option<u64> {
        let readings = self
            .startup
            .iter()
            .map(|s| &s["ready"]["memory"])
            .chain(self.server_stopped.iter().map(|s| &s["memory"]))
            .filter_map(|m| m["peak_kib"].as_u64());
        let phases = self
            .phases
            .iter()
            .filter(|p| p.target == "ngobrol")
            .filter_map(|p| p.memory.map(|m| m.peak_kib));
        readings.chain(phases).max()
    }

    /// Judges the targets against the figures.
    pub fn evaluate(&mut self) {
        let mut targets = Vec::new();
        for (phase, name) in [
            (Phase::DirectSaturation, "direct-message throughput"),
            (Phase::Group, "group fan-out deliveries/s"),
        ] {
            for senders in self.sender_counts(phase) {
                let (ratios, a, b) = self.ratios(phase, senders, |m| Some(m.deliveries_per_s));
                let ratio = Self::median(ratios.clone());
                targets.push(Target {
                    name: format!("{name}, {senders} senders"),
                    goal: "≥ 90% of the relay's".into(),
                    measured: match (a, b, ratio) {
                        (Some(a), Some(b), Some(r)) => format!(
                            "{a:.0}/s vs relay {b:.0}/s: {:.0}%{}",
                            r * 100.0,
                            Self::rounds(&ratios, |r| format!("{:.0}%", r * 100.0))
                        ),
                        _ => "not measured".into(),
                    },
                    met: ratio.map(|r| r >= 0.9),
                });
            }
        }
        // CPU per delivered direct message at saturation, the server's
        // and the relay's, with the most senders measured.
        if let Some(&senders) = self.sender_counts(Phase::DirectSaturation).iter().max() {
            let per_message = |m: &Measured| {
                let cpu = m.cpu.target_pct? / 100.0 * m.seconds;
                (m.deliveries_in_window > 0).then(|| cpu / m.deliveries_in_window as f64 * 1e6)
            };
            let (ratios, a, b) = self.ratios(Phase::DirectSaturation, senders, per_message);
            let ratio = Self::median(ratios.clone());
            targets.push(Target {
                name: format!("server CPU per delivered direct message, {senders} senders"),
                goal: "≤ 1.3x the relay's".into(),
                measured: match (a, b, ratio) {
                    (Some(a), Some(b), Some(r)) => format!(
                        "{a:.0} µs vs relay {b:.0} µs: {r:.2}x{}",
                        Self::rounds(&ratios, |r| format!("{r:.2}x"))
                    ),
                    _ => "not measured".into(),
                },
                met: ratio.map(|r| r <= 1.3),
            });
        }
        let p99s = |phase: Phase, bucket: usize, target: &str| -> Vec<f64> {
            self.all(phase, target)
                .iter()
                .filter_map(|m| m.latency.get(bucket).copied().flatten())
                .map(|s| ms(s.p99))
                .collect()
        };
        let fixed = p99s(Phase::DirectRate, 0, "ngobrol");
        let relay_fixed = p99s(Phase::DirectRate, 0, "relay");
        let ratios: Vec<f64> = fixed.iter().zip(&relay_fixed).map(|(a, b)| a / b).collect();
        let (fixed_median, ratio) = (Self::median(fixed.clone()), Self::median(ratios.clone()));
        targets.push(Target {
            name: "direct-message p99 at a fixed 1,000/s".into(),
            goal: "≤ 1.5x the relay's and < 5 ms".into(),
            measured: match (fixed_median, Self::median(relay_fixed), ratio) {
                (Some(p), Some(r), Some(x)) => format!(
                    "{p:.2} ms vs relay {r:.2} ms: {x:.2}x{}",
                    Self::rounds(&fixed, |v| format!("{v:.2}"))
                ),
                (Some(p), ..) => format!("{p:.2} ms (relay not measured)"),
                _ => "not measured".into(),
            },
            met: fixed_median.zip(ratio).map(|(p, x)| p < 5.0 && x <= 1.5),
        });
        let (quiet, storm) = (
            p99s(Phase::Mixed, 0, "ngobrol"),
            p99s(Phase::Mixed, 1, "ngobrol"),
        );
        let ratios: Vec<f64> = quiet.iter().zip(&storm).map(|(q, s)| s / q).collect();
        let ratio = Self::median(ratios.clone());
        targets.push(Target {
            name: "direct-message p99 during a login storm".into(),
            goal: "≤ 1.5x without".into(),
            measured: match (Self::median(quiet), Self::median(storm), ratio) {
                (Some(q), Some(s), Some(r)) => format!(
                    "{s:.2} ms vs {q:.2} ms without: {r:.1}x{}",
                    Self::rounds(&ratios, |r| format!("{r:.1}x"))
                ),
                _ => "not measured".into(),
            },
            met: ratio.map(|r| r <= 1.5),
        });
        let peak = self.server_peak_kib();
        targets.push(Target {
            name: format!(
                "server peak RSS, {} users and {} groups in the store",
                self.population["users"], self.population["groups"]
            ),
            goal: "< 100 MB".into(),
            measured: peak.map_or("not measured".into(), |k| {
                format!("{:.1} MB", k as f64 / 1024.0)
            }),
            met: peak.map(|k| (k as f64) * 1024.0 < 100e6),
        });
        for start in &self.startup {
            let took = start["ready"]["run_to_ready_ms"].as_f64();
            targets.push(Target {
                name: format!(
                    "start-up ({}), run to ready",
                    start["start"].as_str().unwrap_or("?")
                ),
                goal: "serving within 2 s".into(),
                measured: took.map_or("not measured".into(), |t| format!("{:.2} s", t / 1e3)),
                met: took.map(|t| t < 2_000.0),
            });
        }
        self.targets = targets;
    }

    /// The figures as text columns.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\nnamespace {} on {} cores ({}); store: {} users, {} groups, {} memberships\n",
            self.namespace,
            self.machine["cores"],
            self.machine["cpu"].as_str().unwrap_or("?"),
            self.population["users"],
            self.population["groups"],
            self.population["memberships"],
        );
        let _ = writeln!(
            out,
            "{:<50} {:<7} {:>9} {:>10} {:>7} {:>7} {:>7} {:>8} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}",
            "phase",
            "target",
            "req/s",
            "deliv/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "max ms",
            "err",
            "tgt%",
            "mq%",
            "load%",
            "box%",
            "RSS MB"
        );
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        for p in &self.phases {
            let m = &p.measured;
            let logins = p.phase == Some(Phase::Login);
            let rows: Vec<(String, Option<Summary>)> = if logins {
                vec![(p.name.clone(), m.login_latency)]
            } else if m.latency.len() > 1 {
                vec![
                    (format!("{} [quiet]", p.name), m.latency[0]),
                    (format!("{} [storm]", p.name), m.latency[1]),
                ]
            } else {
                vec![(p.name.clone(), m.latency.first().copied().flatten())]
            };
            for (i, (name, latency)) in rows.into_iter().enumerate() {
                let l = |f: fn(&Summary) -> u64| {
                    latency.map_or("-".into(), |s| format!("{:.2}", ms(f(&s))))
                };
                let (requests, deliveries) = if logins {
                    (format!("{:.1}", m.logins_per_s), "-".to_owned())
                } else {
                    (
                        format!("{:.0}", m.requests_per_s),
                        format!("{:.0}", m.deliveries_per_s),
                    )
                };
                let first = i == 0;
                let _ = writeln!(
                    out,
                    "{:<50} {:<7} {:>9} {:>10} {:>7} {:>7} {:>7} {:>8} {:>5} {:>5} {:>5} {:>5} {:>5} {:>6}",
                    name,
                    p.target,
                    if first { requests } else { "".into() },
                    if first { deliveries } else { "".into() },
                    l(|s| s.p50),
                    l(|s| s.p90),
                    l(|s| s.p99),
                    l(|s| s.max),
                    if first {
                        (m.replies_error + m.missing_deliveries).to_string()
                    } else {
                        "".into()
                    },
                    if first {
                        pct(m.cpu.target_pct)
                    } else {
                        "".into()
                    },
                    if first {
                        pct(m.cpu.broker_pct)
                    } else {
                        "".into()
                    },
                    if first {
                        pct(m.cpu.load_pct)
                    } else {
                        "".into()
                    },
                    if first {
                        pct(m.cpu.machine_busy_pct)
                    } else {
                        "".into()
                    },
                    if first {
                        p.memory
                            .map_or("-".into(), |m| format!("{:.1}", m.rss_kib as f64 / 1024.0))
                    } else {
                        "".into()
                    },
                );
            }
            if let Some(error) = &m.first_error {
                let _ = writeln!(out, "    first error: {error}");
            }
        }
        let _ = writeln!(
            out,
            "\n(tgt%, mq%, load%: CPU of the server or relay, of RabbitMQ, of this tool, in % of one core; \
             box%: all cores busy, anyone's)\n"
        );
        for start in &self.startup {
            let r = &start["ready"];
            let _ = writeln!(
                out,
                "start-up ({}): store opened in {:.0} ms, run to ready {:.0} ms; RSS {:.1} MB",
                start["start"].as_str().unwrap_or("?"),
                r["open_store_ms"].as_f64().unwrap_or(f64::NAN),
                r["run_to_ready_ms"].as_f64().unwrap_or(f64::NAN),
                r["memory"]["rss_kib"].as_f64().unwrap_or(f64::NAN) / 1024.0,
            );
        }
        let _ = writeln!(out, "\ntargets:");
        for t in &self.targets {
            let verdict = match t.met {
                Some(true) => "met",
                Some(false) => "MISSED",
                None => "-",
            };
            let _ = writeln!(
                out,
                "  {:<6} {:<58} {:<12} {}",
                verdict, t.name, t.goal, t.measured
            );
        }
        out
    }
}
