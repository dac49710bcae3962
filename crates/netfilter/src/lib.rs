//! The kernel side of Verdict: installing and removing its firewall rules, the known nf_queue
//! kernel-bug database and the SYN-ACK guard, `verdict doctor`'s audits and `verdict triage`'s
//! crash-log matching.
//!
//! # Why this crate exists
//! An NFQUEUE daemon can crash the kernel it protects: on kernels without upstream commit
//! 747670fd9a2d, a locally generated SYN-ACK queued from OUTPUT carries a TCP *request* socket,
//! and the verdict that releases it frees it as a full socket (see `docs/kernel-safety.md`).
//! Verdict therefore never installs queue rules without deciding, from the kernel release and
//! this crate's database, whether to accept such SYN-ACKs first; and it gives operators tools
//! to audit hosts and to recognise the crash after the fact.
//!
//! # Modules
//! - [`kernel`]: parsing `uname -r` strings (upstream, stable, Debian, Ubuntu, RHEL `elN`).
//! - [`bugs`]: the known-bug database and the affected/fixed/unknown decision.
//! - [`firewall`]: the installer ([`firewall::QueuePlan`], [`firewall::Firewall`],
//!   [`firewall::InstalledRules`]) with the guard, for iptables-nft, iptables-legacy and nft.
//! - [`ruleset`]: reading `iptables-save` and `nft list ruleset` output into one model.
//! - [`audit`]: `verdict doctor`'s findings over a kernel, rulesets and queue statistics.
//! - [`procfs`]: parsing `/proc/net/netfilter/nfnetlink_queue`.
//! - [`triage`]: extracting call traces from oops logs, vmcore-dmesg and `crash` output and
//!   matching them against the database's crash signatures.
//! - [`exec`]: running the firewall tools, optionally inside a network namespace.
//!
//! Parsers in this crate take hostile text (logs, rulesets, /proc files) and never panic: they
//! skip what they do not understand and say so where it matters.
#![deny(missing_docs)]

pub mod audit;
pub mod bugs;
pub mod exec;
pub mod firewall;
pub mod kernel;
pub mod procfs;
pub mod ruleset;
pub mod triage;

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A firewall tool is not installed.
    #[error("`{program}` is not installed or not on PATH; install the `{package}` package")]
    MissingBinary {
        /// The program.
        program: String,
        /// The Debian package that provides it.
        package: &'static str,
    },
    /// A firewall tool failed.
    #[error("`{command}` failed: {stderr}")]
    CommandFailed {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The kernel lacks the nft `queue` expression.
    #[error("this kernel cannot queue from nft rules (no nft `queue` expression, CONFIG_NFT_QUEUE): {detail}; use an iptables backend (iptables-nft or iptables-legacy)")]
    NftQueueUnsupported {
        /// nft's error message.
        detail: String,
    },
    /// The guard is configured off on a kernel where that can crash it.
    #[error("refusing to queue locally generated SYN-ACKs without the guard: kernel {kernel} is {status} for nf_queue bug 747670fd9a2d (a queued SYN-ACK can crash it); use guard mode auto or on (config: `[kernel_guard] mode = \"auto\"`), or acknowledge the risk explicitly (config: `acknowledge = ...` under `[kernel_guard]`, see `verdict config example`)")]
    GuardOffNotAcknowledged {
        /// The kernel release.
        kernel: String,
        /// Its status (`affected`, `unknown`).
        status: &'static str,
    },
    /// A ruleset file is in neither supported format.
    #[error("{path} is neither `iptables-save` nor `nft list ruleset` output (no `*table` / `-A CHAIN` or `table FAMILY NAME {{` lines); save it with `iptables-save > FILE` or `nft list ruleset > FILE`")]
    UnknownRulesetFormat {
        /// The file.
        path: String,
    },
    /// The queue plan is inconsistent.
    #[error("invalid queue plan: {0}")]
    InvalidPlan(String),
    /// An I/O error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}
