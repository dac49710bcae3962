//! The `verdict run` configuration: a TOML file, checked in full before anything is touched.
//!
//! Design:
//! - Every table uses `deny_unknown_fields`, so a misspelt key is an error that names the key
//!   and its line, never a silently ignored setting.
//! - Types that can be wrong on their own (a queue range, a port range, a connmark bit) validate
//!   inside their own `Deserialize`, so the TOML parser attaches the line and column of the
//!   offending value to the message. Checks that span several keys run in [`Config::validate`].
//! - [`Config::default`] is the built-in configuration `verdict run` uses without `-c`: queue 0,
//!   fail-open, host topology (INPUT and OUTPUT), the embedded default ruleset, EVE JSON into
//!   `/var/log/verdict`.
//! - The example printed by `verdict config example` is `dist/verdict.toml`, embedded with
//!   `include_str!`; a test parses it, so the documentation cannot drift from the parser.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The commented example configuration (`dist/verdict.toml`), printed by `verdict config example`.
pub const EXAMPLE: &str = include_str!("../../../dist/verdict.toml");

/// The ruleset compiled into the binary, used when no rule file is configured.
pub const DEFAULT_RULES: &str = include_str!("default.rules");

/// Default directory for EVE JSON output.
pub const DEFAULT_LOG_DIR: &str = "/var/log/verdict";

/// An error in a configuration file: where it is, what is wrong, and how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source} (check the path given to `-c`)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or a value is invalid; `line`/`column` are 1-based.
    #[error("{path}:{line}:{column}: {message}\n  fix: {fix}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser said.
        message: String,
        /// What to do about it.
        fix: String,
    },
    /// The file parsed but its settings do not fit together.
    #[error("{path}: {message}\n  fix: {fix}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
        /// What to do about it.
        fix: String,
    },
}

/// The settings other than `[rules]` that differ between `old` and `new`, by their names in
/// the file. A reload (SIGHUP) applies only `[rules]`; these need a restart, and the daemon
/// says so instead of ignoring them silently.
pub fn changed_settings(old: &Config, new: &Config) -> Vec<&'static str> {
    let mut v = Vec::new();
    let mut check = |name: &'static str, differs: bool| {
        if differs {
            v.push(name);
        }
    };
    check("queues", old.queues != new.queues);
    check("topology", old.topology != new.topology);
    check("fail_open", old.fail_open != new.fail_open);
    check("queue_maxlen", old.queue_maxlen != new.queue_maxlen);
    check("copy_range", old.copy_range != new.copy_range);
    check("batch_size", old.batch_size != new.batch_size);
    check(
        "max_verdict_latency_us",
        old.max_verdict_latency_us != new.max_verdict_latency_us,
    );
    check(
        "yield_before_wait",
        old.yield_before_wait != new.yield_before_wait,
    );
    check("undecodable", old.undecodable != new.undecodable);
    check(
        "packet_alert_max",
        old.packet_alert_max != new.packet_alert_max,
    );
    check("[capture]", old.capture != new.capture);
    check("[outputs]", old.outputs != new.outputs);
    check("[flow_bypass]", old.flow_bypass != new.flow_bypass);
    check("[kernel_guard]", old.kernel_guard != new.kernel_guard);
    check(
        "firewall_backend",
        old.firewall_backend != new.firewall_backend,
    );
    v
}

/// The whole configuration of `verdict run`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// NFQUEUE numbers: one number (`0`) or an inclusive range (`"0-3"`); one thread per queue.
    pub queues: QueueRange,
    /// Where Verdict sits, which decides the chains it queues from.
    pub topology: Topology,
    /// When Verdict cannot decide (dead, overloaded, stopping): let traffic through (`true`) or
    /// drop it (`false`).
    pub fail_open: bool,
    /// Maximum packets the kernel holds per queue before it applies the fail-open/closed policy.
    pub queue_maxlen: u32,
    /// Bytes of each packet copied to Verdict (headers and payload up to this length).
    pub copy_range: u32,
    /// Maximum packets received per burst (and covered by one batch verdict).
    pub batch_size: usize,
    /// The longest a packet may wait in Verdict for its verdict, in microseconds.
    pub max_verdict_latency_us: u64,
    /// After a burst smaller than `batch_size`, give the CPU away once before sleeping, so
    /// more packets come per wake-up (fewer wake-ups: less CPU per packet, more packets/s).
    /// Turn off when tail latency on a CPU-starved host matters more than throughput.
    pub yield_before_wait: bool,
    /// Verdict for a packet Verdict cannot decode.
    pub undecodable: DefaultVerdict,
    /// Most alerts kept per packet (Suricata's `packet-alert-max`, 1 to 255): the rules
    /// first in evaluation order keep theirs, every matching rule still acts.
    pub packet_alert_max: u16,
    /// What traffic is sent to the queues.
    pub capture: Capture,
    /// Rule files and variables.
    pub rules: Rules,
    /// Outputs: EVE JSON, stats, metrics.
    pub outputs: Outputs,
    /// Stop queueing flows that are decided, with a connmark.
    pub flow_bypass: FlowBypass,
    /// Protection against kernels with known nf_queue bugs.
    pub kernel_guard: KernelGuard,
    /// Tool that installs the queue rules: `auto`, `iptables-nft`, `iptables-legacy`, `nft`.
    pub firewall_backend: verdict_netfilter::firewall::Backend,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            queues: QueueRange { first: 0, last: 0 },
            topology: Topology::Host,
            fail_open: true,
            queue_maxlen: 4096,
            copy_range: 65535,
            batch_size: 64,
            max_verdict_latency_us: 2000,
            yield_before_wait: true,
            undecodable: DefaultVerdict::Accept,
            packet_alert_max: verdict_engine::PACKET_ALERT_MAX_DEFAULT,
            capture: Capture::default(),
            rules: Rules::default(),
            outputs: Outputs::default(),
            flow_bypass: FlowBypass::default(),
            kernel_guard: KernelGuard::default(),
            firewall_backend: verdict_netfilter::firewall::Backend::Auto,
        }
    }
}

/// An inclusive range of NFQUEUE numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueRange {
    /// First queue number.
    pub first: u16,
    /// Last queue number (equal to `first` for one queue).
    pub last: u16,
}

impl QueueRange {
    /// The most queues (threads) one `verdict run` will start.
    pub const MAX_QUEUES: u32 = 64;

    /// Parses `"3"` or `"0-3"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let num = |t: &str| -> Result<u16, String> {
            t.trim().parse::<u16>().map_err(|_| {
                format!("`{t}` is not a queue number (a whole number from 0 to 65535)")
            })
        };
        let r = match s.split_once('-') {
            Some((a, b)) => QueueRange {
                first: num(a)?,
                last: num(b)?,
            },
            None => {
                let n = num(s)?;
                QueueRange { first: n, last: n }
            }
        };
        r.check()?;
        Ok(r)
    }

    fn check(&self) -> Result<(), String> {
        if self.first > self.last {
            return Err(format!(
                "queue range {}-{} is backwards; write it as {}-{}",
                self.first, self.last, self.last, self.first
            ));
        }
        if self.len() > Self::MAX_QUEUES {
            return Err(format!(
                "queue range {self} has {} queues; at most {} are supported (one thread each)",
                self.len(),
                Self::MAX_QUEUES
            ));
        }
        Ok(())
    }

    /// Number of queues in the range.
    pub fn len(&self) -> u32 {
        u32::from(self.last) - u32::from(self.first) + 1
    }

    /// The queue numbers.
    pub fn iter(&self) -> RangeInclusive<u16> {
        self.first..=self.last
    }
}

impl fmt::Display for QueueRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl<'de> Deserialize<'de> for QueueRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QueueRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a queue number like 0 or a range like \"0-3\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<QueueRange, E> {
                let n = u16::try_from(v)
                    .map_err(|_| E::custom(format!("queue {v} is out of range; use 0 to 65535")))?;
                Ok(QueueRange { first: n, last: n })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<QueueRange, E> {
                QueueRange::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Where Verdict sits in the network, which decides the chains packets are queued from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Topology {
    /// Protect this host: queue from INPUT and OUTPUT.
    Host,
    /// Protect traffic routed through this host: queue from FORWARD.
    Gateway,
    /// The user writes the queue rules; Verdict only binds its queues.
    Custom,
}

/// A verdict given without inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultVerdict {
    /// Let the packet through.
    Accept,
    /// Drop the packet.
    Drop,
}

/// What traffic is sent to the queues (ignored for the `custom` topology).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Capture {
    /// Transport protocols to queue; empty means all.
    pub protocols: Vec<Protocol>,
    /// Ports (source or destination) to queue, numbers or `"a-b"` ranges; empty means all.
    /// Only allowed when every protocol listed has ports (tcp, udp, sctp).
    pub ports: Vec<PortRange>,
    /// Interfaces to queue from (`-i` for INPUT/FORWARD, `-o` for OUTPUT); empty means all.
    pub interfaces: Vec<String>,
    /// Hooks to queue from, among the topology's (host: `"input"`, `"output"`; gateway:
    /// `"forward"`); empty means all of them.
    pub hooks: Vec<verdict_netfilter::firewall::Hook>,
    /// Queue IPv4 traffic.
    pub ipv4: bool,
    /// Queue IPv6 traffic.
    pub ipv6: bool,
}

impl Default for Capture {
    fn default() -> Self {
        Capture {
            protocols: Vec::new(),
            ports: Vec::new(),
            interfaces: Vec::new(),
            hooks: Vec::new(),
            ipv4: true,
            ipv6: true,
        }
    }
}

/// A transport protocol that can be selected for queueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (IPv4) and ICMPv6 (IPv6).
    Icmp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    /// The protocol name iptables understands (`icmp` for IPv4).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Sctp => "sctp",
        }
    }

    /// Whether the protocol has ports.
    pub fn has_ports(self) -> bool {
        !matches!(self, Protocol::Icmp)
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// First port.
    pub first: u16,
    /// Last port.
    pub last: u16,
}

impl PortRange {
    /// Parses `"80"` or `"8000-8080"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let num = |t: &str| -> Result<u16, String> {
            match t.trim().parse::<u16>() {
                Ok(0) | Err(_) => Err(format!("`{t}` is not a port (a number from 1 to 65535)")),
                Ok(n) => Ok(n),
            }
        };
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => {
                let n = num(s)?;
                (n, n)
            }
        };
        if first > last {
            return Err(format!(
                "port range {first}-{last} is backwards; write {last}-{first}"
            ));
        }
        Ok(PortRange { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            // iptables' multiport syntax.
            write!(f, "{}:{}", self.first, self.last)
        }
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortRange;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port like 80 or a range like \"8000-8080\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRange, E> {
                match u16::try_from(v) {
                    Ok(n) if n > 0 => Ok(PortRange { first: n, last: n }),
                    _ => Err(E::custom(format!(
                        "port {v} is out of range; use 1 to 65535"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRange, E> {
                PortRange::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Rule files and rule variables.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Rules {
    /// Suricata rule files, loaded in order. Empty: the embedded default ruleset.
    pub files: Vec<PathBuf>,
    /// Also load the embedded default ruleset when `files` is not empty.
    pub include_default: bool,
    /// Address and port variables (`HOME_NET = "[198.18.0.0/15]"`); Suricata's defaults fill
    /// in the ones not given.
    pub vars: std::collections::BTreeMap<String, String>,
}

/// Where results go.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Outputs {
    /// Directory of `eve.json`.
    pub log_dir: PathBuf,
    /// Write EVE JSON events (alerts, drops, stats).
    pub eve: bool,
    /// Seconds between stats events (0: no stats events).
    pub stats_interval_secs: u64,
    /// Address of the Prometheus metrics listener (`"127.0.0.1:9477"`); absent: no listener.
    pub metrics_address: Option<SocketAddr>,
    /// Alerts carry the payload they matched, base64 (Suricata's `payload: yes`); for a
    /// match on the reassembled stream, the stream window (`stream: 1`).
    pub payload: bool,
    /// Alerts carry the payload as printable text, other bytes as `.` (`payload-printable`).
    pub payload_printable: bool,
    /// Alerts carry the whole IP packet, base64 (`packet: yes`).
    pub packet: bool,
    /// Alerts carry the app-layer transaction they fired on (`http`, `dns`, `tls`, `ssh`
    /// objects; Suricata's `metadata: yes`, on by default).
    pub alert_metadata: bool,
    /// `X-Forwarded-For` handling of alerts on HTTP (`[outputs.xff]`: `mode` `extra-data` or
    /// `overwrite`, `deployment` `reverse` or `forward`, `header`); absent: off.
    pub xff: Option<crate::eve_app::XffConfig>,
}

impl Default for Outputs {
    fn default() -> Self {
        Outputs {
            log_dir: PathBuf::from(DEFAULT_LOG_DIR),
            eve: true,
            stats_interval_secs: 30,
            metrics_address: None,
            payload: false,
            payload_printable: false,
            packet: false,
            alert_metadata: true,
            xff: None,
        }
    }
}

impl Outputs {
    /// The stats interval, if stats are enabled.
    pub fn stats_interval(&self) -> Option<Duration> {
        (self.stats_interval_secs > 0).then(|| Duration::from_secs(self.stats_interval_secs))
    }
}

/// Flow bypass: once a flow is decided, a connmark bit stops the kernel queueing it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FlowBypass {
    /// Enable flow bypass.
    pub enabled: bool,
    /// The connmark bit Verdict owns (a single bit, e.g. `0x40000000`).
    pub mark_bit: MarkBit,
    /// Bypass a flow after this many bytes (both directions) when no rule could still match
    /// it; 0 bypasses only on `pass` rules.
    pub bytes: u64,
}

impl Default for FlowBypass {
    fn default() -> Self {
        FlowBypass {
            enabled: true,
            mark_bit: MarkBit(0x4000_0000),
            bytes: 1 << 20,
        }
    }
}

/// A single bit of the 32-bit packet/connection mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkBit(pub u32);

impl<'de> Deserialize<'de> for MarkBit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        match u32::try_from(v) {
            Ok(b) if b.count_ones() == 1 => Ok(MarkBit(b)),
            _ => Err(de::Error::custom(format!(
                "mark_bit {v:#x} is not a single bit; use one power of two such as 0x40000000 \
                 that no other tool on this host uses in its connmark"
            ))),
        }
    }
}

/// The kernel guard's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum GuardMode {
    /// Apply the guard when the running kernel is known to be affected.
    #[default]
    Auto,
    /// Always apply the guard.
    On,
    /// Never apply it (needs `acknowledge`).
    Off,
}

/// Protection against kernels with known nf_queue bugs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct KernelGuard {
    /// `auto`, `on` or `off`.
    pub mode: GuardMode,
    /// Required with `mode = "off"`: the sentence [`KernelGuard::ACK`], to show the risk is known.
    pub acknowledge: Option<String>,
}

impl KernelGuard {
    /// The text `acknowledge` must hold to turn the guard off.
    pub const ACK: &'static str = "I accept that a known kernel bug may crash this host";
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks configuration text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| syntax_error(text, path, &e))?;
        cfg.validate(path)?;
        if let Some(dir) = path.parent() {
            cfg.resolve_relative_to(dir);
        }
        Ok(cfg)
    }

    /// Checks settings that depend on each other.
    pub fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String, fix: &str| ConfigError::Invalid {
            path: path.to_owned(),
            message,
            fix: fix.to_owned(),
        };
        if !(1..=255).contains(&self.packet_alert_max) {
            return Err(invalid(
                format!(
                    "packet_alert_max = {} is out of range",
                    self.packet_alert_max
                ),
                "use a packet_alert_max from 1 to 255 (Suricata's default is 15)",
            ));
        }
        if self.batch_size == 0 || self.batch_size > 1024 {
            return Err(invalid(
                format!("batch_size = {} is out of range", self.batch_size),
                "use a batch_size from 1 to 1024 (64 is a good start)",
            ));
        }
        if self.max_verdict_latency_us == 0 || self.max_verdict_latency_us > 1_000_000 {
            return Err(invalid(
                format!(
                    "max_verdict_latency_us = {} is out of range",
                    self.max_verdict_latency_us
                ),
                "use 1 to 1000000 microseconds (2000 is a good start)",
            ));
        }
        if self.queue_maxlen == 0 {
            return Err(invalid(
                "queue_maxlen = 0 would drop or bypass every packet".into(),
                "use a queue_maxlen of at least 64 (4096 is a good start)",
            ));
        }
        if self.copy_range < 64 {
            return Err(invalid(
                format!(
                    "copy_range = {} is too small to hold the IP and transport headers",
                    self.copy_range
                ),
                "use a copy_range of at least 64 bytes, 65535 to see whole packets",
            ));
        }
        if !self.capture.ipv4 && !self.capture.ipv6 {
            return Err(invalid(
                "[capture] has ipv4 = false and ipv6 = false, so nothing would be inspected".into(),
                "set ipv4 or ipv6 (or both) to true",
            ));
        }
        if !self.capture.ports.is_empty() {
            let expanded: u32 = self
                .capture
                .ports
                .iter()
                .map(|p| u32::from(p.last - p.first) + 1)
                .sum();
            if expanded > 64 {
                return Err(invalid(
                    format!("[capture] ports cover {expanded} ports"),
                    "list at most 64 ports in total (queue everything and let rules pick ports instead)",
                ));
            }
            if self.capture.protocols.is_empty() {
                return Err(invalid(
                    "[capture] lists ports but no protocols".into(),
                    "add protocols = [\"tcp\"] (or \"udp\", \"sctp\") next to ports",
                ));
            }
            if let Some(p) = self.capture.protocols.iter().find(|p| !p.has_ports()) {
                return Err(invalid(
                    format!(
                        "[capture] lists ports, but protocol `{}` has no ports",
                        p.name()
                    ),
                    "remove the ports, or remove that protocol from the list",
                ));
            }
            if self.capture.ports.len() > 15 {
                return Err(invalid(
                    format!(
                        "[capture] lists {} ports or ranges",
                        self.capture.ports.len()
                    ),
                    "list at most 15 ports or ranges (an iptables multiport limit)",
                ));
            }
        }
        for i in &self.capture.interfaces {
            if i.is_empty() || i.len() > 15 || i.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(invalid(
                    format!("[capture] interface `{i}` is not a valid interface name"),
                    "use names as `ip link` shows them (1 to 15 characters, no spaces or '/')",
                ));
            }
        }
        if self.kernel_guard.mode == GuardMode::Off
            && self.kernel_guard.acknowledge.as_deref() != Some(KernelGuard::ACK)
        {
            return Err(invalid(
                "[kernel_guard] mode = \"off\" needs an acknowledgement".into(),
                &format!(
                    "add acknowledge = \"{}\" under [kernel_guard], or use mode = \"auto\"",
                    KernelGuard::ACK
                ),
            ));
        }
        if self.rules.files.is_empty() && self.rules.include_default {
            return Err(invalid(
                "[rules] include_default = true but no files are listed".into(),
                "remove include_default (the default ruleset is used when files is empty)",
            ));
        }
        for (name, _) in self.rules.vars.iter() {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(invalid(
                    format!("[rules.vars] `{name}` is not a variable name"),
                    "use names like HOME_NET or HTTP_PORTS (letters, digits, '_', no '$')",
                ));
            }
        }
        Ok(())
    }

    /// Makes relative rule files and log directory relative to `dir` (the config's directory).
    pub fn resolve_relative_to(&mut self, dir: &Path) {
        if dir.as_os_str().is_empty() {
            return;
        }
        for f in &mut self.rules.files {
            if f.is_relative() {
                *f = dir.join(&*f);
            }
        }
        if self.outputs.log_dir.is_relative() {
            self.outputs.log_dir = dir.join(&self.outputs.log_dir);
        }
    }

    /// The configured ports, ranges expanded (at most 64, checked by [`Config::validate`]).
    pub fn capture_ports(&self) -> Vec<u16> {
        let mut v: Vec<u16> = self
            .capture
            .ports
            .iter()
            .flat_map(|p| p.first..=p.last)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The duration of [`Config::max_verdict_latency_us`].
    pub fn max_verdict_latency(&self) -> Duration {
        Duration::from_micros(self.max_verdict_latency_us)
    }
}

/// Turns a toml error into one naming file, line, column and a fix.
fn syntax_error(text: &str, path: &Path, e: &toml::de::Error) -> ConfigError {
    let (line, column) = match e.span() {
        Some(span) => line_col(text, span.start),
        None => (1, 1),
    };
    let message = e.message().trim().to_owned();
    let fix = if message.contains("unknown field") {
        "remove or rename the key; `verdict config example` lists every key with its meaning"
    } else if message.contains("unknown variant") {
        "use one of the values the message lists"
    } else if message.contains("invalid type") {
        "give the value the type `verdict config example` shows for this key"
    } else if message.contains("duplicate key") {
        "keep only one of the duplicated keys"
    } else if message.contains("socket address") {
        "write an address with a port, such as \"127.0.0.1:9477\" or \"[::1]:9477\""
    } else {
        "correct the value as the message says; `verdict config example` shows valid settings"
    };
    ConfigError::Syntax {
        path: path.to_owned(),
        line,
        column,
        message,
        fix: fix.to_owned(),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Config, ConfigError> {
        Config::parse(s, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_is_the_default() {
        assert_eq!(parse("").unwrap(), Config::default());
        let d = Config::default();
        assert_eq!(d.queues, QueueRange { first: 0, last: 0 });
        assert!(d.fail_open);
        assert_eq!(d.topology, Topology::Host);
        assert_eq!(d.outputs.log_dir, PathBuf::from("/var/log/verdict"));
        assert!(d.yield_before_wait);
        assert!(
            !parse("yield_before_wait = false")
                .unwrap()
                .yield_before_wait
        );
    }

    #[test]
    fn example_config_parses_and_differs_from_nothing_unexpected() {
        let c = parse(EXAMPLE).expect("dist/verdict.toml must parse");
        assert_eq!(c.queues, QueueRange { first: 0, last: 3 });
        assert_eq!(c.topology, Topology::Host);
        assert!(c.fail_open);
        assert!(c.outputs.metrics_address.is_some());
        assert_eq!(
            c.rules.vars.get("HOME_NET").map(String::as_str),
            Some("[10.0.0.0/8,192.168.0.0/16,172.16.0.0/12]")
        );
    }

    #[test]
    fn alert_metadata_and_xff() {
        let c = parse("").unwrap();
        assert!(c.outputs.alert_metadata);
        assert_eq!(c.outputs.xff, None);
        let c = parse(
            "[outputs]\nalert_metadata = false\n[outputs.xff]\nmode = \"overwrite\"\n\
             deployment = \"forward\"\n",
        )
        .unwrap();
        assert!(!c.outputs.alert_metadata);
        let x = c.outputs.xff.unwrap();
        assert_eq!(x.mode, crate::eve_app::XffMode::Overwrite);
        assert_eq!(x.deployment, crate::eve_app::XffDeployment::Forward);
        assert_eq!(x.header, "X-Forwarded-For");
        assert!(parse("[outputs.xff]\nmode = \"sideways\"\n").is_err());
    }

    #[test]
    fn queue_forms() {
        assert_eq!(parse("queues = 5").unwrap().queues.len(), 1);
        let c = parse("queues = \"2-5\"").unwrap();
        assert_eq!(c.queues.iter().collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(c.queues.to_string(), "2-5");
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn capture_hooks_parse_in_lower_case() {
        let c = parse("[capture]\nhooks = [\"output\"]\n").unwrap();
        assert_eq!(
            c.capture.hooks,
            vec![verdict_netfilter::firewall::Hook::Output]
        );
        assert!(err("[capture]\nhooks = [\"prerouting\"]\n").contains("prerouting"));
    }

    #[test]
    fn changed_settings_name_what_needs_a_restart() {
        let old = parse("").unwrap();
        assert!(changed_settings(&old, &old).is_empty());
        let rules_only = parse("[rules]\nfiles = [\"a.rules\"]\n").unwrap();
        assert!(changed_settings(&old, &rules_only).is_empty());
        let new = parse("fail_open = false\nbatch_size = 8\n[outputs]\neve = false\n").unwrap();
        assert_eq!(
            changed_settings(&old, &new),
            vec!["fail_open", "batch_size", "[outputs]"]
        );
    }

    #[test]
    fn errors_name_line_and_fix() {
        let e = err("fail_open = true\nqueues = \"5-2\"\n");
        assert!(e.starts_with("test.toml:2:"), "{e}");
        assert!(e.contains("backwards"), "{e}");
        assert!(e.contains("fix:"), "{e}");

        let e = err("\n\n[outputs]\nlogdir = \"/tmp\"\n");
        assert!(e.starts_with("test.toml:4:1:"), "{e}");
        assert!(e.contains("unknown field `logdir`"), "{e}");

        let e = err("queues = 70000");
        assert!(e.contains("out of range"), "{e}");
        let e = err("queues = \"0-100\"");
        assert!(e.contains("at most 64"), "{e}");
        let e = err("topology = \"router\"");
        assert!(e.contains("unknown variant"), "{e}");
        let e = err("[flow_bypass]\nmark_bit = 3");
        assert!(
            e.contains("test.toml:2:") && e.contains("single bit"),
            "{e}"
        );
        let e = err("[capture]\nports = [0]");
        assert!(e.contains("out of range"), "{e}");
        let e = err("[outputs]\nmetrics_address = \"localhost\"");
        assert!(e.contains("test.toml:2:"), "{e}");
    }

    #[test]
    fn cross_field_checks() {
        assert!(err("[capture]\nports = [80]").contains("no protocols"));
        assert!(err("[capture]\nprotocols = [\"icmp\"]\nports = [80]").contains("no ports"));
        assert!(err("[capture]\nipv4 = false\nipv6 = false").contains("nothing"));
        assert!(err("[kernel_guard]\nmode = \"off\"").contains("acknowledge"));
        let ok = format!(
            "[kernel_guard]\nmode = \"off\"\nacknowledge = \"{}\"",
            KernelGuard::ACK
        );
        assert_eq!(parse(&ok).unwrap().kernel_guard.mode, GuardMode::Off);
        assert!(err("batch_size = 0").contains("batch_size"));
        assert!(err("packet_alert_max = 0").contains("packet_alert_max"));
        assert!(err("packet_alert_max = 256").contains("packet_alert_max"));
        assert!(err("copy_range = 10").contains("copy_range"));
        assert!(err("[rules.vars]\n\"$HOME\" = \"any\"").contains("variable name"));
        assert!(err("[capture]\ninterfaces = [\"a b\"]").contains("interface"));
    }

    #[test]
    fn port_ranges() {
        let c = parse("[capture]\nprotocols = [\"tcp\"]\nports = [80, \"8000-8010\"]").unwrap();
        let p: Vec<String> = c.capture.ports.iter().map(ToString::to_string).collect();
        assert_eq!(p, vec!["80", "8000:8010"]);
        assert_eq!(c.capture_ports().len(), 12);
        assert!(err("[capture]\nprotocols = [\"tcp\"]\nports = [\"1-100\"]").contains("at most 64"));
        assert!(err("[capture]\nprotocols = [\"tcp\"]\nports = [\"9-1\"]").contains("backwards"));
    }

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncé=x", 6), (2, 3));
        assert_eq!(line_col("", 10), (1, 1));
    }

    #[test]
    fn mutated_configs_never_panic() {
        // Hostile input: truncations and byte flips of the example config must give a config
        // or an error with a position, never a panic. Deterministic xorshift, no dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let base = EXAMPLE.as_bytes();
        for _ in 0..3000 {
            let mut b = base.to_vec();
            match next() % 3 {
                0 => b.truncate((next() as usize) % base.len()),
                1 => {
                    for _ in 0..1 + next() % 4 {
                        let i = (next() as usize) % b.len();
                        b[i] = b"=[]\"0-x#\n{}.,:9"[(next() % 15) as usize];
                    }
                }
                _ => {
                    let i = (next() as usize) % b.len();
                    let j = (next() as usize) % b.len();
                    let chunk = b[i.min(j)..i.max(j)].to_vec();
                    let at = (next() as usize) % b.len();
                    b.splice(at..at, chunk);
                }
            }
            let text = String::from_utf8_lossy(&b);
            if let Err(ConfigError::Syntax { line, column, .. }) = parse(&text) {
                assert!(line >= 1 && column >= 1);
                assert!(
                    line <= text.lines().count() + 1,
                    "line {line} out of the text"
                );
            }
        }
    }

    #[test]
    fn missing_file_says_so() {
        let e = Config::load(Path::new("/nonexistent/verdict.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/verdict.toml"));
    }
}
