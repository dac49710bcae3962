//! `verdict-bench`: Verdict's throughput, CPU-per-packet and latency harness, run side by side
//! with its peers in network namespaces (issue 6).
//!
//! `verdict-bench run` is the harness (see `harness.rs` for the topology and what is measured
//! where); the other subcommands are the programs it starts inside the namespaces: the
//! `sendmmsg` flooder, the sink/echo server, the ping-pong client, the TCP sender and the
//! crates.io `nfq` accept loop. `scripts/bench.sh` builds everything in release mode and runs
//! it, writing `target/bench/results.{json,md,png}`.
//!
//! Why in-run ratios: on a small shared machine absolute numbers wander from run to run, so
//! every figure is also given as a ratio to the C peer (batch 1) and to the no-queue ceiling
//! measured in the same invocation, on the same traffic.
#![deny(missing_docs)]

mod chart;
mod contenders;
mod flows;
mod harness;
mod nfq_crate;
mod procfs;
mod report;
mod traffic;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::contenders::{Contender, Paths};
use crate::harness::{ContenderStatus, Settings, Test, Topology};

#[derive(Debug, Parser)]
#[command(name = "verdict-bench", about = "Verdict's netns benchmark harness")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the harness (needs root): every contender on the same traffic, then write
    /// results.json, results.md and results.png.
    Run(Box<RunArgs>),
    /// Flood a UDP address with sendmmsg (used by the harness inside a namespace).
    Send {
        /// Destination address.
        #[arg(long)]
        dst: SocketAddr,
        /// IP packet size in bytes.
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// Packets per second; 0 = as fast as possible.
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// Duration in seconds.
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
    /// Receive floods, echo pings, count TCP bytes (runs until killed).
    Sink {
        /// Flood port.
        #[arg(long)]
        udp_port: u16,
        /// Echo port.
        #[arg(long)]
        echo_port: u16,
        /// TCP port.
        #[arg(long)]
        tcp_port: u16,
    },
    /// UDP request/response ping-pong; prints round-trip percentiles.
    Ping {
        /// Echo server address.
        #[arg(long)]
        dst: SocketAddr,
        /// Duration in seconds.
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
        /// Pause between a reply and the next request, µs.
        #[arg(long, default_value_t = 200)]
        gap_us: u64,
    },
    /// One TCP bulk transfer; prints the receiver's byte count.
    TcpSend {
        /// Receiver address.
        #[arg(long)]
        dst: SocketAddr,
        /// Duration in seconds.
        #[arg(long, default_value_t = 1.0)]
        secs: f64,
    },
    /// The engine's memory with many concurrent flows (no root needed): prints JSON with
    /// resident memory per flow, peak RSS and time per packet.
    Flows {
        /// Concurrent flows.
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Traffic per flow.
        #[arg(long, value_enum, default_value_t = flows::FlowKind::TcpData)]
        kind: flows::FlowKind,
        /// Rule file to load (default: one rule that never matches).
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
    },
    /// The crates.io `nfq` crate's accept-all loop (a contender).
    NfqCrateAccept {
        /// Queue number.
        #[arg(long, default_value_t = 0)]
        queue: u16,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A one-minute smoke run: 1 s per test, fewer tests.
    #[arg(long)]
    quick: bool,
    /// Seconds per test (default 5, quick 1).
    #[arg(long)]
    secs: Option<f64>,
    /// Offered rate of the fixed-rate test, packets/s.
    #[arg(long, default_value_t = 50_000)]
    fixed_rate: u64,
    /// Contender ids to run (comma-separated; default all):
    /// no-queue, c-b1, c-b32, nfq-crate, verdict-io-b1, verdict-io-b32, verdict-norules,
    /// verdict-et1000, verdict-etall.
    #[arg(long, value_delimiter = ',')]
    contenders: Vec<String>,
    /// Tests on the gateway topology (comma-separated): udpN-sat, udpN-fixed, tcp, latency.
    #[arg(long, value_delimiter = ',')]
    gateway_tests: Vec<String>,
    /// Tests on the host topology; `none` for no host run.
    #[arg(long, value_delimiter = ',')]
    host_tests: Vec<String>,
    /// Tests on the gateway with the contender sharing the sender's CPU (its cost then shows
    /// in packets/s); `none` to skip.
    #[arg(long, value_delimiter = ',')]
    one_cpu_tests: Vec<String>,
    /// Output directory.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
    /// Shared data directory (C peer, ET Open rules).
    #[arg(long, env = "VERDICT_SHARED")]
    shared: Option<PathBuf>,
    /// The `verdict` binary (default: next to this program).
    #[arg(long)]
    verdict: Option<PathBuf>,
    /// The `accept_all` example binary (default: examples/ next to this program).
    #[arg(long)]
    accept_all: Option<PathBuf>,
    /// Also profile each contender with `perf record` during its tests, writing
    /// `<id>-<topology>.perf.{data,txt}` here (a separate run: profiling costs CPU).
    #[arg(long)]
    perf_dir: Option<PathBuf>,
    /// Run the contender with real-time priority (`chrt -f 1`): on a machine shared with
    /// other work, it is then not preempted by it (the kernel keeps 5% for the rest).
    #[arg(long)]
    realtime: bool,
    /// CPU of the sender, sink and ping client.
    #[arg(long, default_value_t = 0)]
    sender_cpu: usize,
    /// CPU of the contender.
    #[arg(long, default_value_t = 1)]
    contender_cpu: usize,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::Run(a) => run(*a),
        Cmd::Send {
            dst,
            size,
            rate,
            secs,
        } => traffic::send(dst, size, rate, Duration::from_secs_f64(secs)).and_then(print_json),
        Cmd::Sink {
            udp_port,
            echo_port,
            tcp_port,
        } => traffic::sink(udp_port, echo_port, tcp_port),
        Cmd::Ping { dst, secs, gap_us } => traffic::ping(
            dst,
            Duration::from_secs_f64(secs),
            Duration::from_micros(gap_us),
        )
        .and_then(print_json),
        Cmd::TcpSend { dst, secs } => {
            traffic::tcp_send(dst, Duration::from_secs_f64(secs)).and_then(print_json)
        }
        Cmd::NfqCrateAccept { queue } => nfq_crate::accept_loop(queue),
        Cmd::Flows { count, kind, rules } => {
            const NEVER: &str =
                "alert tcp any any -> any 80 (msg:\"flows\"; content:\"never-seen\"; sid:1;)";
            let text = match rules {
                Some(p) => std::fs::read_to_string(&p)
                    .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display())),
                None => Ok(NEVER.to_string()),
            };
            text.and_then(|t| flows::run(count, kind, &t))
                .and_then(print_json)
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("verdict-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn print_json<T: serde::Serialize>(v: T) -> Result<()> {
    println!("{}", serde_json::to_string(&v)?);
    Ok(())
}

/// A scratch directory removed when dropped (also while a panic unwinds).
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_tests(list: &[String], default: &[&str]) -> Result<Vec<Test>> {
    let items: Vec<String> = if list.is_empty() {
        default.iter().map(|s| (*s).to_owned()).collect()
    } else {
        list.to_vec()
    };
    items
        .iter()
        .filter(|s| s.as_str() != "none")
        .map(|s| {
            Test::parse(s).with_context(|| {
                format!("unknown test {s:?}: use udpN-sat, udpN-fixed, tcp, latency or none")
            })
        })
        .collect()
}

fn run(a: RunArgs) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the harness needs root (network namespaces, NFQUEUE, iptables): run it with sudo");
    }
    harness::install_stop_signals()?;
    let self_exe = std::env::current_exe().context("finding this program")?;
    let exe_dir = self_exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let shared = a
        .shared
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let scratch =
        Scratch(std::env::temp_dir().join(format!("verdict-bench-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)?;
    let paths = Paths {
        self_exe: self_exe.clone(),
        shared,
        verdict: a.verdict.clone().unwrap_or_else(|| exe_dir.join("verdict")),
        accept_all: a
            .accept_all
            .clone()
            .unwrap_or_else(|| exe_dir.join("examples/accept_all")),
        scratch: scratch.0.clone(),
        perf_dir: a.perf_dir.clone(),
    };
    let secs = a.secs.unwrap_or(if a.quick { 1.0 } else { 5.0 });
    let (gw_default, host_default): (&[&str], &[&str]) = if a.quick {
        (
            &["udp64-sat", "udp64-fixed", "tcp", "latency"],
            &["udp64-sat"],
        )
    } else {
        (
            &[
                "udp64-sat",
                "udp512-sat",
                "udp1400-sat",
                "udp64-fixed",
                "tcp",
                "latency",
            ],
            &["udp64-sat", "tcp", "latency"],
        )
    };
    let gw_tests = parse_tests(&a.gateway_tests, gw_default)?;
    let host_tests = parse_tests(&a.host_tests, host_default)?;
    let one_cpu_default: &[&str] = if a.quick {
        &["udp64-sat"]
    } else {
        &["udp64-sat", "udp1400-sat"]
    };
    let one_cpu_tests = parse_tests(&a.one_cpu_tests, one_cpu_default)?;
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut a = a;
    for cpu in [&mut a.sender_cpu, &mut a.contender_cpu] {
        if *cpu >= nproc {
            eprintln!("warning: CPU {cpu} does not exist ({nproc} online): using CPU 0");
            *cpu = 0;
        }
    }
    if a.sender_cpu == a.contender_cpu {
        eprintln!(
            "warning: sender and contender share CPU {}: figures are not comparable with a two-CPU run",
            a.sender_cpu
        );
    }
    let settings = Settings {
        secs,
        fixed_rate: a.fixed_rate,
        sender_cpu: a.sender_cpu,
        contender_cpu: a.contender_cpu,
        realtime: a.realtime,
        gateway_tests: gw_tests.iter().map(|t| t.id()).collect(),
        host_tests: host_tests.iter().map(|t| t.id()).collect(),
        one_cpu_tests: one_cpu_tests.iter().map(|t| t.id()).collect(),
    };
    let chosen: Vec<&Contender> = contenders::ALL
        .iter()
        .filter(|c| a.contenders.is_empty() || a.contenders.iter().any(|x| x == c.id))
        .collect();
    for x in &a.contenders {
        if !contenders::ALL.iter().any(|c| c.id == x) {
            bail!("unknown contender {x:?}");
        }
    }

    let mut statuses = Vec::new();
    let mut rows = Vec::new();
    for c in chosen {
        harness::check_stop_now()?;
        eprintln!("{}:", c.id);
        let prep = match contenders::prepare(c, &paths) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("  missing: {e:#}");
                statuses.push(ContenderStatus {
                    id: c.id.into(),
                    label: c.id.into(),
                    status: "missing".into(),
                    reason: Some(format!("{e:#}")),
                    note: None,
                });
                continue;
            }
        };
        let mut failure = None;
        for (topo, tests) in [
            (Topology::Gateway, &gw_tests),
            (Topology::Host, &host_tests),
            (Topology::GatewayOneCpu, &one_cpu_tests),
        ] {
            if tests.is_empty() {
                continue;
            }
            let out = harness::run_contender(c, &prep, topo, tests, &settings, &paths)?;
            rows.extend(out.rows);
            if let Some(f) = out.failure {
                eprintln!("  failed on {}: {f}", topo.name());
                failure = Some(format!("{}: {f}", topo.name()));
            }
        }
        statuses.push(ContenderStatus {
            id: c.id.into(),
            label: prep.label.clone(),
            status: if failure.is_some() { "failed" } else { "ok" }.into(),
            reason: failure,
            note: prep.note.clone(),
        });
    }

    let rated = report::rate(rows);
    let targets = report::targets(&rated);
    let results = report::Results {
        date: report::utc_now(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        machine: report::Machine::detect(),
        quick: a.quick,
        settings,
        contenders: statuses,
        rows: rated,
        targets,
    };
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let json = a.out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(&results)?)?;
    let md = a.out.join("results.md");
    std::fs::write(&md, report::markdown(&results))?;
    let png = a.out.join("results.png");
    let text = chart::load_font();
    if !text {
        eprintln!("warning: no TrueType font found (install fonts-dejavu-core or set VERDICT_BENCH_FONT): the chart has bars but no text");
    }
    chart::draw(&results, &png, text)?;
    println!("{}", report::markdown(&results));
    eprintln!(
        "wrote {}, {}, {}",
        json.display(),
        md.display(),
        png.display()
    );
    Ok(())
}
