//! Helpers shared by the `verdict run` end-to-end tests: scratch directories, starting the
//! daemon in a namespace and waiting until it is ready, finding Verdict's firewall rules.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use verdict_testbed::{ChildGuard, Netns};

/// The `verdict` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_verdict");

/// How long the daemon may take to bind its queues and install its rules.
const START: Duration = Duration::from_secs(20);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch directory (unique per process and call) removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates `<tmp>/verdict-<prefix>-<pid>-<n>`.
    pub fn new(prefix: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "verdict-{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Writes `text` to `name` in the directory and returns its path.
    pub fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether some program has a queue bound in `ns` (the kernel lists it in /proc).
pub fn queue_bound(ns: &Netns) -> bool {
    ns.read_file("/proc/net/netfilter/nfnetlink_queue")
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false)
}

/// Starts `verdict run -c cfg` in `ns` and waits until a queue is bound and `ready` holds;
/// panics (with the daemon's stderr) if it exits first or is not ready within 20 s.
pub fn start_verdict(ns: &Netns, cfg: &Path, ready: impl Fn(&Netns) -> bool) -> ChildGuard {
    let mut child = ns
        .spawn(&[BIN, "run", "-c", cfg.to_str().unwrap()])
        .expect("spawn verdict");
    let deadline = Instant::now() + START;
    loop {
        assert!(
            !child.has_exited(),
            "verdict exited during start: {:?}",
            child
                .finish(libc::SIGKILL)
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        );
        if queue_bound(ns) && ready(ns) {
            return child;
        }
        assert!(Instant::now() < deadline, "verdict did not start in 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every rule listing in `ns`, whatever the backend (iptables-nft, iptables-legacy, native
/// nft where the kernel has the nft queue expression).
pub fn firewall_listing(ns: &Netns) -> String {
    let out = |argv: &[&str]| ns.run(argv).unwrap_or_default();
    [
        "iptables-nft",
        "ip6tables-nft",
        "iptables-legacy",
        "ip6tables-legacy",
    ]
    .iter()
    .map(|tool| out(&[tool, "-S"]))
    .collect::<String>()
        + &out(&["nft", "list", "tables"])
}

/// Whether any Verdict rule (chain `VERDICT...` or table `verdict`) is installed in `ns`.
pub fn verdict_rules_present(ns: &Netns) -> bool {
    let rules = firewall_listing(ns);
    rules.contains("VERDICT") || rules.contains("verdict")
}

/// Sends `payload` on a new TCP connection from `ns` to `dst` and returns the first answer,
/// or `None` when none came within `wait` (blocked). Connecting may take up to `wait` or 3 s,
/// whichever is longer.
pub fn request(ns: &Netns, dst: SocketAddr, payload: &str, wait: Duration) -> Option<String> {
    let payload = payload.to_owned();
    ns.run_in(move || {
        let connect = wait.max(Duration::from_secs(3));
        let mut s = TcpStream::connect_timeout(&dst, connect).ok()?;
        s.set_read_timeout(Some(wait)).unwrap();
        s.write_all(payload.as_bytes()).ok()?;
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Ok(n) if n > 0 => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            _ => None,
        }
    })
    .unwrap()
}
