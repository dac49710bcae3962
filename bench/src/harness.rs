//! The run: for each topology and contender, build a fresh network, start the receiver and
//! the contender, play every test, read the counters, tear everything down.
//!
//! ```text
//!  gateway:  client (sender, CPU s) --veth-- gateway (contender on FORWARD, CPU c) --veth-- server (sink)
//!  host:     client (sender, CPU s) --veth-- gateway (plain forwarding) --veth-- server (contender on INPUT/OUTPUT, CPU c; sink)
//! ```
//! Addresses come from `verdict_testbed::topology::Routed` (198.18.1.0/24 and 198.18.2.0/24).
//!
//! What is measured, and from where:
//! - *sent*: the sender's own count of datagrams `sendmmsg` accepted;
//! - *delivered*: the receiver namespace's UDP counters (`InDatagrams + RcvbufErrors`), so a
//!   slow sink never counts against the contender;
//! - *queued*: the kernel's `id_sequence` of the queue, so CPU per packet divides by the
//!   packets the contender actually judged;
//! - *CPU*: utime + stime of the contender's whole process (all threads) from `/proc`;
//! - *latency*: ping-pong round trips while a flood runs at half the rate this contender
//!   delivered at saturation (64-byte packets).
//!
//! Cleanup: namespaces (with their veths and firewall rules) and processes are owned by guards
//! dropped on every exit path, including a panic; SIGINT/SIGTERM set a flag that every wait
//! checks, so Ctrl-C unwinds through the same guards.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use verdict_testbed::topology::{Routed, SERVER_V4};
use verdict_testbed::Netns;

use crate::contenders::{self, Contender, Kind, Paths, Prepared};
use crate::procfs;
use crate::traffic::{PingReport, SendReport, TcpReport};

/// UDP port of the flood sink.
pub const FLOOD_PORT: u16 = 9000;
/// UDP echo port (ping-pong).
pub const ECHO_PORT: u16 = 9001;
/// TCP bulk port.
pub const TCP_PORT: u16 = 9002;

/// Where the contender sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Topology {
    /// On the gateway's FORWARD chain.
    #[serde(rename = "gateway")]
    Gateway,
    /// On the receiver's INPUT (and OUTPUT) chains.
    #[serde(rename = "host")]
    Host,
    /// As `Gateway`, but the contender shares the sender's CPU (no real-time priority): the
    /// contender's cost then shows in packets/s, where on two CPUs the sender is often the
    /// limit.
    #[serde(rename = "gateway-1cpu")]
    GatewayOneCpu,
}

impl Topology {
    /// Name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Topology::Gateway => "gateway",
            Topology::Host => "host",
            Topology::GatewayOneCpu => "gateway-1cpu",
        }
    }
}

/// One kind of traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Test {
    /// UDP flood of IP size `size`, as fast as possible.
    UdpSat(u16),
    /// UDP flood of IP size `size` at the fixed offered rate.
    UdpFixed(u16),
    /// One TCP bulk transfer.
    Tcp,
    /// Ping-pong under a flood at half the saturating rate.
    Latency,
}

impl Test {
    /// Stable id (`udp64-sat`, `udp64-fixed`, `tcp`, `latency`).
    pub fn id(self) -> String {
        match self {
            Test::UdpSat(s) => format!("udp{s}-sat"),
            Test::UdpFixed(s) => format!("udp{s}-fixed"),
            Test::Tcp => "tcp".into(),
            Test::Latency => "latency".into(),
        }
    }

    /// Parses an id.
    pub fn parse(s: &str) -> Option<Test> {
        match s {
            "tcp" => Some(Test::Tcp),
            "latency" => Some(Test::Latency),
            _ => {
                let rest = s.strip_prefix("udp")?;
                if let Some(n) = rest.strip_suffix("-sat") {
                    n.parse().ok().map(Test::UdpSat)
                } else {
                    rest.strip_suffix("-fixed")?
                        .parse()
                        .ok()
                        .map(Test::UdpFixed)
                }
            }
        }
    }
}

/// Settings of one invocation.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Seconds per test.
    pub secs: f64,
    /// Offered rate of the fixed-rate tests, packets/s.
    pub fixed_rate: u64,
    /// CPU of the sender, sink and ping.
    pub sender_cpu: usize,
    /// CPU of the contender.
    pub contender_cpu: usize,
    /// The contender runs with real-time priority (`chrt -f 1`), so other programs on a
    /// shared machine do not preempt it.
    pub realtime: bool,
    /// Tests on the gateway topology.
    pub gateway_tests: Vec<String>,
    /// Tests on the host topology.
    pub host_tests: Vec<String>,
    /// Tests on the gateway with one shared CPU.
    pub one_cpu_tests: Vec<String>,
}

impl Settings {
    /// The real-time priority for a program, when the run is real-time: the contender and
    /// the flood senders get 1, the sink and the ping client 2 (so the ping-pong is not held
    /// behind a flood sender on the same CPU).
    fn rt(&self, prio: u8) -> Option<u8> {
        self.realtime.then_some(prio)
    }
}

/// Measured figures of one test (absent figures do not apply or could not be read).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Metrics {
    /// Offered rate (packets/s): the fixed rate, or what the sender reached at saturation.
    pub offered_pps: Option<f64>,
    /// Packets (or TCP bytes) the sender sent.
    pub sent: Option<u64>,
    /// Packets delivered to the receiver.
    pub delivered: Option<u64>,
    /// Delivered packets/s.
    pub pps: Option<f64>,
    /// TCP goodput, Mbit/s.
    pub mbps: Option<f64>,
    /// Share of sent packets not delivered (0..1).
    pub loss: Option<f64>,
    /// Packets the kernel queued to the contender.
    pub queued: Option<u64>,
    /// Packets the contender judged (queued minus the kernel's drops).
    pub judged: Option<u64>,
    /// Packets the kernel dropped because the queue was full.
    pub queue_dropped: Option<u64>,
    /// Packets the kernel dropped because the contender's socket buffer was full.
    pub user_dropped: Option<u64>,
    /// CPU seconds of the contender's process during the test.
    pub cpu_secs: Option<f64>,
    /// Contender CPU nanoseconds per judged packet.
    pub cpu_ns_per_pkt: Option<f64>,
    /// The user-space part of it (the contender's own code; the rest is the kernel's work
    /// in its system calls: receive, verdict, reinjection and onward delivery).
    pub user_ns_per_pkt: Option<f64>,
    /// Ping-pong round trip, median, µs.
    pub p50_us: Option<f64>,
    /// 99th percentile, µs.
    pub p99_us: Option<f64>,
    /// 99.9th percentile, µs.
    pub p999_us: Option<f64>,
    /// Ping requests sent / lost.
    pub pings: Option<(u64, u64)>,
    /// Why the test has no figures.
    pub error: Option<String>,
}

/// One measured test of one contender.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Topology.
    pub topology: Topology,
    /// Test id.
    pub test: String,
    /// Contender id.
    pub contender: String,
    /// Figures.
    pub metrics: Metrics,
}

/// How one contender fared as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct ContenderStatus {
    /// Id.
    pub id: String,
    /// Label.
    pub label: String,
    /// "ok", "missing" or "failed".
    pub status: String,
    /// Why it is missing or failed.
    pub reason: Option<String>,
    /// Notes (rule counts, settings).
    pub note: Option<String>,
}

fn stop_flag() -> &'static Arc<AtomicBool> {
    static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Makes SIGINT/SIGTERM/SIGHUP stop the run at the next wait, so the guards clean up; a
/// second signal exits at once.
pub fn install_stop_signals() -> Result<()> {
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        // Order matters: the conditional shutdown sees the flag as it was before this signal.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(stop_flag()))?;
        signal_hook::flag::register(sig, Arc::clone(stop_flag()))?;
    }
    Ok(())
}

/// Whether the run was interrupted.
pub fn stopped() -> bool {
    stop_flag().load(Ordering::SeqCst)
}

fn check_stop() -> Result<()> {
    if stopped() {
        bail!("interrupted: stopping and cleaning up");
    }
    Ok(())
}

/// Sleeps, waking early (with an error) when the run is interrupted.
fn sleep(d: Duration) -> Result<()> {
    let end = Instant::now() + d;
    loop {
        check_stop()?;
        let now = Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// A child process killed (SIGKILL) and reaped when dropped; its output goes to a log file.
pub struct Proc {
    child: Child,
    log: PathBuf,
    name: String,
}

impl Proc {
    /// Starts `argv` in `ns`, pinned to `cpu`, with real-time priority `rt` (SCHED_FIFO)
    /// when set, stdout+stderr to `log`.
    fn start(
        ns: &Netns,
        cpu: Option<usize>,
        rt: Option<u8>,
        argv: &[String],
        log: &Path,
        name: &str,
    ) -> Result<Proc> {
        let file =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut full: Vec<String> = Vec::new();
        if let Some(c) = cpu {
            full.extend(["taskset".into(), "-c".into(), c.to_string()]);
        }
        if let Some(p) = rt {
            full.extend(["chrt".into(), "-f".into(), p.to_string()]);
        }
        full.extend_from_slice(argv);
        let mut cmd = ns.command(&full[0]);
        cmd.args(&full[1..]);
        cmd.stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .env("RUST_LOG", "warn");
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name} ({})", argv.join(" ")))?;
        Ok(Proc {
            child,
            log: log.to_owned(),
            name: name.to_owned(),
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(8)..].join("\n")
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    fn stop(mut self, grace: Duration) {
        if !self.exited() {
            signal(self.pid(), libc::SIGTERM);
            let end = Instant::now() + grace;
            while Instant::now() < end && !self.exited() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Drop kills what is left.
    }

    /// Waits for a process that ends by itself (with a deadline), returning its log.
    fn wait(mut self, deadline: Duration) -> Result<String> {
        let end = Instant::now() + deadline;
        while !self.exited() {
            if Instant::now() > end {
                bail!("{} did not finish within {deadline:?}", self.name);
            }
            check_stop()?;
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = self.child.try_wait().ok().flatten();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        if !status.is_some_and(|s| s.success()) {
            bail!("{} failed ({status:?}): {}", self.name, log.trim());
        }
        Ok(log)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with integers; the pid is our own unreaped child, so it cannot name
        // a recycled, unrelated process.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Parses the last JSON line a traffic program printed.
fn last_json<T: serde::de::DeserializeOwned>(log: &str) -> Result<T> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| anyhow!("no JSON result in: {}", log.trim()))?;
    serde_json::from_str(line).with_context(|| format!("parsing {line}"))
}

/// The network of one contender's run, plus the sink.
struct World {
    net: Routed,
    _sink: Proc,
    topology: Topology,
}

impl World {
    fn build(topology: Topology, s: &Settings, paths: &Paths, self_exe: &Path) -> Result<World> {
        let net = Routed::new().context("building the namespaces (are you root?)")?;
        // Neighbour entries up front, so the first packets of a test do not wait for ARP.
        for ns in [&net.client, &net.server] {
            ns.sh(
                "ping -c1 -W1 $(ip -4 route show default | cut -d' ' -f3) >/dev/null 2>&1 || true",
            )?;
        }
        let sink = Proc::start(
            &net.server,
            Some(s.sender_cpu),
            s.rt(2),
            &[
                self_exe.display().to_string(),
                "sink".into(),
                "--udp-port".into(),
                FLOOD_PORT.to_string(),
                "--echo-port".into(),
                ECHO_PORT.to_string(),
                "--tcp-port".into(),
                TCP_PORT.to_string(),
            ],
            &paths.scratch.join("sink.log"),
            "sink",
        )?;
        let mut w = World {
            net,
            _sink: sink,
            topology,
        };
        let end = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(w._sink.log.clone())
            .unwrap_or_default()
            .contains("ready")
        {
            if w._sink.exited() || Instant::now() > end {
                bail!("the sink did not start: {}", w._sink.log_tail());
            }
            sleep(Duration::from_millis(10))?;
        }
        Ok(w)
    }

    /// The namespace where the contender runs.
    fn queue_ns(&self) -> &Netns {
        match self.topology {
            Topology::Gateway | Topology::GatewayOneCpu => &self.net.gateway,
            Topology::Host => &self.net.server,
        }
    }

    fn queue_status(&self) -> Option<verdict_nfq::proc::QueueStatus> {
        let text = self
            .queue_ns()
            .read_file("/proc/net/netfilter/nfnetlink_queue")
            .ok()?;
        verdict_nfq::proc::parse_queue_status(&text)
            .into_iter()
            .find(|q| q.queue == contenders::QUEUE)
    }

    fn udp(&self) -> Result<procfs::UdpCounters> {
        procfs::parse_snmp_udp(&self.net.server.read_file("/proc/net/snmp")?)
    }

    fn install_queue_rules(&self) -> Result<()> {
        let q = contenders::QUEUE.to_string();
        match self.topology {
            Topology::Gateway | Topology::GatewayOneCpu => {
                self.net.gateway.iptables(&[
                    "-A",
                    "FORWARD",
                    "-j",
                    "NFQUEUE",
                    "--queue-num",
                    &q,
                ])?;
            }
            Topology::Host => {
                // Both directions, as `verdict run` in host topology queues INPUT and OUTPUT.
                self.net.server.iptables(&[
                    "-A",
                    "INPUT",
                    "-i",
                    "veth0",
                    "-j",
                    "NFQUEUE",
                    "--queue-num",
                    &q,
                ])?;
                self.net.server.iptables(&[
                    "-A",
                    "OUTPUT",
                    "-o",
                    "veth0",
                    "-j",
                    "NFQUEUE",
                    "--queue-num",
                    &q,
                ])?;
            }
        }
        Ok(())
    }
}

/// Results of one contender on one topology.
pub struct ContenderRun {
    /// Rows, one per test.
    pub rows: Vec<Row>,
    /// Set when the contender could not run at all.
    pub failure: Option<String>,
}

/// Runs every test of `topology` for one prepared contender.
pub fn run_contender(
    c: &Contender,
    prep: &Prepared,
    topology: Topology,
    tests: &[Test],
    s: &Settings,
    paths: &Paths,
) -> Result<ContenderRun> {
    let one_cpu;
    let s = if topology == Topology::GatewayOneCpu {
        // Everything on the sender's CPU, time-shared: SCHED_FIFO would let a saturating
        // sender starve the contender outright.
        one_cpu = Settings {
            contender_cpu: s.sender_cpu,
            realtime: false,
            ..s.clone()
        };
        &one_cpu
    } else {
        s
    };
    let world = World::build(topology, s, paths, &paths.self_exe)?;
    let mut proc = None;
    if c.kind != Kind::NoQueue {
        let argv = prep.argv_for(topology == Topology::Host);
        let log = paths
            .scratch
            .join(format!("{}-{}.log", c.id, topology.name()));
        let mut p = Proc::start(
            world.queue_ns(),
            Some(s.contender_cpu),
            s.rt(1),
            &argv,
            &log,
            c.id,
        )?;
        // Ready = the queue is bound (and, for Verdict, its firewall rules are in).
        let end = Instant::now() + Duration::from_secs(120);
        loop {
            check_stop()?;
            if p.exited() {
                return Ok(ContenderRun {
                    rows: vec![],
                    failure: Some(format!("exited at start: {}", p.log_tail())),
                });
            }
            let bound = world.queue_status().is_some();
            // Verdict's rules: iptables (NFQUEUE target) or native nft (queue statement).
            let rules_in = !prep.own_rules
                || world
                    .queue_ns()
                    .run(&["iptables-save"])
                    .is_ok_and(|t| t.contains("NFQUEUE"))
                || world
                    .queue_ns()
                    .run(&["nft", "list", "ruleset"])
                    .is_ok_and(|t| t.contains(" queue "));
            if bound && rules_in {
                break;
            }
            if Instant::now() > end {
                return Ok(ContenderRun {
                    rows: vec![],
                    failure: Some(format!("not ready after 120 s: {}", p.log_tail())),
                });
            }
            sleep(Duration::from_millis(50))?;
        }
        if !prep.own_rules {
            world.install_queue_rules()?;
        }
        sleep(Duration::from_millis(200))?;
        proc = Some(p);
    }
    let profile = match (&paths.perf_dir, &proc) {
        (Some(dir), Some(p)) => {
            match Profile::start(dir, &format!("{}-{}", c.id, topology.name()), p.pid()) {
                Ok(profile) => Some(profile),
                Err(e) => {
                    eprintln!("  no profile: {e:#}");
                    None
                }
            }
        }
        _ => None,
    };
    if profile.is_some() {
        // perf needs a moment to attach to every thread before the traffic starts.
        sleep(Duration::from_secs(1))?;
    }
    let mut rows: Vec<Row> = Vec::new();
    for &t in tests {
        check_stop()?;
        let sat64 = rows
            .iter()
            .find(|r| r.test == Test::UdpSat(64).id())
            .and_then(|r| r.metrics.pps);
        let metrics = match run_test(&world, proc.as_mut(), t, sat64, s, paths) {
            Ok(m) => m,
            Err(e) => {
                check_stop()?;
                Metrics {
                    error: Some(format!("{e:#}")),
                    ..Metrics::default()
                }
            }
        };
        eprintln!(
            "  {:<12} {:<16} {:<12} {}",
            topology.name(),
            c.id,
            t.id(),
            summary(&metrics)
        );
        rows.push(Row {
            topology,
            test: t.id(),
            contender: c.id.to_owned(),
            metrics,
        });
        // Let queues and sockets drain between tests.
        sleep(Duration::from_millis(300))?;
    }
    if let Some(profile) = profile {
        if let Err(e) = profile.finish() {
            eprintln!("  profile of {}: {e:#}", c.id);
        }
    }
    let mut failure = None;
    if let Some(mut p) = proc {
        if p.exited() {
            failure = Some(format!("died during the run: {}", p.log_tail()));
        }
        p.stop(Duration::from_secs(10));
    }
    drop(world);
    Ok(ContenderRun { rows, failure })
}

/// `perf record` attached to a contender for the whole of its tests (an optional, separate
/// run: the profiler costs CPU, so profiled figures are not the benchmark's figures).
struct Profile {
    child: Child,
    data: PathBuf,
    report: PathBuf,
}

impl Profile {
    fn start(dir: &Path, name: &str, pid: u32) -> Result<Profile> {
        std::fs::create_dir_all(dir)?;
        let data = dir.join(format!("{name}.perf.data"));
        let report = dir.join(format!("{name}.perf.txt"));
        let child = std::process::Command::new("perf")
            .args([
                "record",
                "-e",
                "cpu-clock",
                "-F",
                "1999",
                "-g",
                "-p",
                &pid.to_string(),
                "-o",
            ])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting perf record (install linux-perf)")?;
        Ok(Profile {
            child,
            data,
            report,
        })
    }

    /// Stops the recording and writes the flat profile (self time by symbol) next to it.
    fn finish(mut self) -> Result<()> {
        signal(self.child.id(), libc::SIGINT);
        let _ = self.child.wait();
        // Two views: time by binary (kernel / the contender / libc), then by symbol.
        let mut text = Vec::new();
        for sort in ["dso", "dso,sym"] {
            let out = std::process::Command::new("perf")
                .args(["report", "--stdio", "--no-children", "--sort", sort])
                .args(["-g", "none", "-i"])
                .arg(&self.data)
                .output()
                .context("running perf report")?;
            text.extend_from_slice(&out.stdout);
        }
        std::fs::write(&self.report, text)?;
        eprintln!("  profile: {}", self.report.display());
        Ok(())
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn summary(m: &Metrics) -> String {
    if let Some(e) = &m.error {
        return format!("error: {e}");
    }
    let mut parts = Vec::new();
    if let Some(p) = m.pps {
        parts.push(format!("{p:.0} pkt/s"));
    }
    if let Some(p) = m.mbps {
        parts.push(format!("{p:.0} Mbit/s"));
    }
    if let Some(l) = m.loss {
        parts.push(format!("loss {:.2}%", l * 100.0));
    }
    if let Some(c) = m.cpu_ns_per_pkt {
        parts.push(format!("{c:.0} ns/pkt"));
    }
    if let (Some(a), Some(b), Some(c)) = (m.p50_us, m.p99_us, m.p999_us) {
        parts.push(format!("rtt p50 {a:.0} p99 {b:.0} p99.9 {c:.0} µs"));
    }
    parts.join(", ")
}

fn traffic_argv(paths: &Paths, args: &[String]) -> Vec<String> {
    let mut v = vec![paths.self_exe.display().to_string()];
    v.extend_from_slice(args);
    v
}

fn run_test(
    world: &World,
    mut proc: Option<&mut Proc>,
    t: Test,
    sat64: Option<f64>,
    s: &Settings,
    paths: &Paths,
) -> Result<Metrics> {
    let dst_flood = SocketAddr::from((SERVER_V4, FLOOD_PORT));
    let secs = format!("{}", s.secs);
    let q0 = world.queue_status();
    let cpu0 = match proc.as_deref_mut() {
        Some(p) => Some(procfs::process_cpu_secs(p.pid())?),
        None => None,
    };
    let udp0 = world.udp()?;
    let mut m = Metrics::default();
    let deadline = Duration::from_secs_f64(s.secs + 30.0);
    let log = |name: &str| paths.scratch.join(format!("{name}.log"));
    match t {
        Test::UdpSat(size) | Test::UdpFixed(size) => {
            let rate = match t {
                Test::UdpFixed(_) => s.fixed_rate,
                _ => 0,
            };
            if rate > 0 {
                m.offered_pps = Some(rate as f64);
            }
            let argv = traffic_argv(
                paths,
                &[
                    "send".into(),
                    "--dst".into(),
                    dst_flood.to_string(),
                    "--size".into(),
                    size.to_string(),
                    "--rate".into(),
                    rate.to_string(),
                    "--secs".into(),
                    secs.clone(),
                ],
            );
            let sender = Proc::start(
                &world.net.client,
                Some(s.sender_cpu),
                s.rt(1),
                &argv,
                &log("send"),
                "sender",
            )?;
            let rep: SendReport = last_json(&sender.wait(deadline)?)?;
            sleep(Duration::from_millis(300))?;
            let udp1 = world.udp()?;
            let delivered = udp1.arrived().saturating_sub(udp0.arrived());
            m.sent = Some(rep.sent);
            m.delivered = Some(delivered);
            m.pps = Some(delivered as f64 / rep.secs.max(1e-9));
            // At saturation, what the sender managed to offer (its CPU also carries the
            // kernel's forwarding and enqueue work, so this depends on the contender too).
            m.offered_pps = Some(rep.sent as f64 / rep.secs.max(1e-9));
            m.loss = Some(if rep.sent == 0 {
                0.0
            } else {
                1.0 - (delivered.min(rep.sent) as f64 / rep.sent as f64)
            });
        }
        Test::Tcp => {
            let argv = traffic_argv(
                paths,
                &[
                    "tcp-send".into(),
                    "--dst".into(),
                    SocketAddr::from((SERVER_V4, TCP_PORT)).to_string(),
                    "--secs".into(),
                    secs.clone(),
                ],
            );
            let sender = Proc::start(
                &world.net.client,
                Some(s.sender_cpu),
                s.rt(1),
                &argv,
                &log("tcp"),
                "tcp sender",
            )?;
            let rep: TcpReport = last_json(&sender.wait(deadline)?)?;
            m.sent = Some(rep.bytes);
            m.mbps = Some(rep.bytes as f64 * 8.0 / 1e6 / rep.secs.max(1e-9));
        }
        Test::Latency => {
            // Half the saturating rate of this very contender; the fixed rate when the
            // saturation test did not run.
            let rate = sat64.map_or(s.fixed_rate, |p| (p / 2.0).max(1000.0) as u64);
            m.offered_pps = Some(rate as f64);
            let flood = Proc::start(
                &world.net.client,
                Some(s.sender_cpu),
                s.rt(1),
                &traffic_argv(
                    paths,
                    &[
                        "send".into(),
                        "--dst".into(),
                        dst_flood.to_string(),
                        "--size".into(),
                        "64".into(),
                        "--rate".into(),
                        rate.to_string(),
                        "--secs".into(),
                        secs.clone(),
                    ],
                ),
                &log("flood"),
                "background flood",
            )?;
            let ping = Proc::start(
                &world.net.client,
                Some(s.sender_cpu),
                s.rt(2),
                &traffic_argv(
                    paths,
                    &[
                        "ping".into(),
                        "--dst".into(),
                        SocketAddr::from((SERVER_V4, ECHO_PORT)).to_string(),
                        "--secs".into(),
                        format!("{}", (s.secs - 0.2).max(0.3)),
                    ],
                ),
                &log("ping"),
                "ping",
            )?;
            let prep: PingReport = last_json(&ping.wait(deadline)?)?;
            let frep: SendReport = last_json(&flood.wait(deadline)?)?;
            sleep(Duration::from_millis(300))?;
            let udp1 = world.udp()?;
            // The echo requests count in the UDP counters too.
            let delivered = udp1
                .arrived()
                .saturating_sub(udp0.arrived())
                .saturating_sub(prep.sent);
            m.sent = Some(frep.sent);
            m.delivered = Some(delivered);
            m.pps = Some(delivered as f64 / frep.secs.max(1e-9));
            m.loss = Some(if frep.sent == 0 {
                0.0
            } else {
                1.0 - (delivered.min(frep.sent) as f64 / frep.sent as f64)
            });
            m.p50_us = prep.p50_us;
            m.p99_us = prep.p99_us;
            m.p999_us = prep.p999_us;
            m.pings = Some((prep.sent, prep.lost));
        }
    }
    if let Some(p) = proc {
        if p.exited() {
            bail!("the contender died: {}", p.log_tail());
        }
        let cpu1 = procfs::process_cpu_secs(p.pid())?;
        let q1 = world.queue_status();
        if let (Some(a), Some(b)) = (q0, q1) {
            // id_sequence counts the packets put on the queue: those the queue had no room
            // for (queue_dropped) never get an id, those lost on the way to a full socket
            // buffer (user_dropped) do. The contender judged the others, and its CPU time is
            // per judged packet.
            let queued = u64::from(b.id_sequence.wrapping_sub(a.id_sequence));
            let qdrop = u64::from(b.queue_dropped.wrapping_sub(a.queue_dropped));
            let udrop = u64::from(b.user_dropped.wrapping_sub(a.user_dropped));
            m.queued = Some(queued);
            m.queue_dropped = Some(qdrop);
            m.user_dropped = Some(udrop);
            let judged = queued.saturating_sub(udrop);
            m.judged = Some(judged);
            let (c0, u0) = cpu0.unwrap_or(cpu1);
            let cpu = cpu1.0 - c0;
            let user = cpu1.1 - u0;
            m.cpu_secs = Some(cpu);
            if judged > 0 {
                m.cpu_ns_per_pkt = Some(cpu * 1e9 / judged as f64);
                m.user_ns_per_pkt = Some(user * 1e9 / judged as f64);
            }
        }
    }
    Ok(m)
}

/// Fails when the run was interrupted (for the caller's loop between contenders).
pub fn check_stop_now() -> Result<()> {
    check_stop()
}
