//! Network namespaces, veth pairs and firewall rules for Verdict's tests and benchmarks.
//!
//! This crate is **dev only**: it shells out to `ip`, `iptables` and friends, needs root, and
//! must never ship in the `verdict` binary.
//!
//! # Design
//! - Every test builds its own little world: [`Netns`] creates a network namespace with a
//!   unique name (`vt-<pid>-<n>`), so tests run in parallel without seeing each other, and
//!   deletes it on [`Drop`] -- also while a panic unwinds. Deleting a namespace removes its
//!   veth interfaces (and their peers in other namespaces), its addresses, routes and firewall
//!   rules, so nothing a test did survives it.
//! - veth pairs are created *directly* inside the namespaces ([`veth_pair`]); nothing is ever
//!   added to the host's own namespace, so interface names can be short and fixed.
//! - Traffic uses documentation/benchmark ranges only: IPv4 from `198.18.0.0/15`, IPv6 from
//!   `2001:db8::/32`. IPv6 addresses are added with `nodad` (and DAD is disabled in every new
//!   namespace), so they are usable at once, with no flaky wait.
//! - Rust code that must open a socket *inside* a namespace (netlink sockets are per
//!   namespace!) runs in a thread that entered it with `setns(2)`: [`Netns::run_in`] (scoped,
//!   borrows) and [`Netns::spawn_thread`] (`'static`). The calling thread never changes
//!   namespace.
//! - [`topology`] builds the usual shapes: [`topology::TwoHosts`] (a -- b) and
//!   [`topology::Routed`] (client -- gateway -- server, forwarding on).
//!
//! # Skipping and CI
//! Start every test that needs this crate with
//! ```no_run
//! if !verdict_testbed::require_root() {
//!     return;
//! }
//! ```
//! Without root (or without `ip`) it prints why and returns `false`, so a developer's plain
//! `cargo test` passes; but when the environment variable `CI` is set it panics, so CI can never
//! silently skip the kernel tests.
//!
//! # Example
//! ```no_run
//! use verdict_testbed::topology::{self, TwoHosts};
//! # fn main() -> Result<(), verdict_testbed::Error> {
//! let net = TwoHosts::new()?;
//! net.b.iptables(&["-A", "INPUT", "-p", "udp", "-j", "ACCEPT"])?;
//! // A socket that lives in `b` (opened on a thread that entered `b`):
//! let socket = net.b.run_in(|| std::net::UdpSocket::bind((topology::TWO_HOSTS_B_V4, 0)))?;
//! // Commands run inside a namespace too:
//! let routes = net.a.ip(&["route", "show"])?;
//! # let _ = (socket, routes);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod netns;
pub mod topology;

pub use netns::{veth_pair, ChildGuard, Netns};

use std::process::ExitStatus;

/// Everything that can go wrong while building or using a test network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A helper program could not be started at all.
    #[error(
        "could not start `{command}`: {source}; is it installed and on PATH? (run scripts/deps.sh)"
    )]
    Spawn {
        /// The command line that was attempted.
        command: String,
        /// Why `exec` failed.
        #[source]
        source: std::io::Error,
    },
    /// A helper program ran and exited with a failure status.
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        /// The command line that failed.
        command: String,
        /// Its exit status.
        status: ExitStatus,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// `setns(2)` into a namespace failed.
    #[error(
        "could not enter network namespace {name}: {source} (this needs root / CAP_SYS_ADMIN)"
    )]
    Enter {
        /// The namespace's name.
        name: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Some other I/O failure (for example waiting for a child process).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether this process can build test networks: it must be root and `ip` must run.
///
/// Returns `true` when it can. Otherwise it prints the reason on stderr and returns `false`,
/// so the caller can skip -- unless the environment variable `CI` is set, in which case it
/// **panics**: in CI a skipped kernel test would be a lie.
pub fn require_root() -> bool {
    match missing_requirement() {
        None => true,
        Some(reason) => {
            if std::env::var_os("CI").is_some() {
                panic!("this test needs a network namespace but {reason} (CI is set, so this is a failure, not a skip)");
            }
            eprintln!("skipping: this test needs a network namespace but {reason}");
            false
        }
    }
}

fn missing_requirement() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail; it only reads the process's
    // credentials.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some(format!(
            "we are not root (euid {euid}); run the tests as root, e.g. `sudo -E cargo test`"
        ));
    }
    match std::process::Command::new("ip").arg("-V").output() {
        Ok(out) if out.status.success() => None,
        Ok(out) => Some(format!("`ip -V` failed ({})", out.status)),
        Err(e) => Some(format!(
            "`ip` (iproute2) cannot be run: {e}; install iproute2 (scripts/deps.sh)"
        )),
    }
}
