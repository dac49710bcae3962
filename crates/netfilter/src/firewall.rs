//! Verdict's firewall installer: the queue rules that send traffic to Verdict, installed and
//! removed exactly, with the kernel guard.
//!
//! # Using it
//! ```no_run
//! use verdict_netfilter::firewall::{Backend, Firewall, QueuePlan, Topology, Queues};
//! use verdict_netfilter::firewall::GuardContext;
//! # fn main() -> Result<(), verdict_netfilter::Error> {
//! let plan = QueuePlan { queues: Queues::range(0, 3)?, fail_open: true, ..QueuePlan::default() };
//! let guard = GuardContext::detect(false); // running kernel vs the known-bug database
//! let fw = Firewall::new(Backend::Auto);
//! let installed = fw.install(&plan, &guard)?; // a leftover set from a crashed run is replaced
//! for note in &installed.report().notes { eprintln!("{note}"); }
//! // ... run the daemon ...
//! installed.remove()?; // or just drop it: Drop removes the rules too (and logs failures)
//! # Ok(()) }
//! ```
//!
//! # Design
//! - **Own chains.** iptables rules live in chains named `VERDICT-INPUT`, `VERDICT-OUTPUT`,
//!   `VERDICT-FORWARD` of one table (`filter` by default), each entered by one jump inserted at
//!   the top of the built-in chain; nft rules live in their own table `inet verdict`. Anything
//!   named so belongs to Verdict, so install and remove are exact and never touch other rules.
//!   (No `-m comment` tag: the kernels Verdict must protect may lack `xt_comment`, e.g. the QEMU
//!   lab's; the chain names are the tag.)
//! - **Atomic and idempotent.** An install reads the current rules, and in **one**
//!   `iptables-restore --noflush` transaction (one `nft -f` batch) deletes every jump to a
//!   Verdict chain, flushes/deletes leftover Verdict chains and writes the new set: a leftover
//!   set from a crashed run is replaced without a window where traffic is unqueued or queued
//!   twice. Leftovers in the *other* backends are removed too.
//! - **Order inside a Verdict chain**: guard (SYN-ACK accept) first, then the connmark flow
//!   bypass, then the queue rules. `ACCEPT` in a chain entered from `OUTPUT` ends the `OUTPUT`
//!   traversal of that table, so the guard is in the same table and hook, before the queue.
//! - **The guard** ([`GuardMode`], [`GuardContext`]): whenever queue rules go into OUTPUT (host
//!   topology) and the kernel is affected by 747670fd9a2d or unknown (or the caller says to
//!   assume it is affected), locally generated SYN-ACKs are accepted before the queue rule, for
//!   IPv4 and IPv6 alike. `Off` on such a kernel is refused unless acknowledged, and then logged.
//! - **Backends**: iptables-nft, iptables-legacy, native nft. nft needs the kernel's `queue`
//!   expression (`CONFIG_NFT_QUEUE`), which some kernels lack: [`Firewall::probe_nft_queue`]
//!   loads a queue rule in a throwaway table inside one batch that also deletes it, and
//!   [`Backend::Auto`] falls back to iptables with a note saying why.
//! - **Flow bypass**: with [`QueuePlan::flow_bypass`], packets whose connmark has the bit(s) set
//!   are accepted before the queue rules, so once the daemon marks a decided flow's conntrack
//!   entry (e.g. with the verdict's conntrack mark attribute), the kernel stops queueing it.

use std::fmt::Write as _;

use crate::bugs::{self, Status};
use crate::exec::Exec;
use crate::kernel::KernelRelease;
use crate::Error;

/// Prefix of every iptables chain Verdict owns.
pub const CHAIN_PREFIX: &str = "VERDICT-";
/// The nft table Verdict owns (family `inet`).
pub const NFT_TABLE: &str = "verdict";

/// The queue number(s) to send packets to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Queues {
    first: u16,
    last: u16,
}

impl Queues {
    /// One queue (`--queue-num N`).
    pub fn single(n: u16) -> Queues {
        Queues { first: n, last: n }
    }

    /// A range of queues (`--queue-balance first:last`); `first == last` is a single queue.
    pub fn range(first: u16, last: u16) -> Result<Queues, Error> {
        if first > last {
            return Err(Error::InvalidPlan(format!(
                "queue range {first}..{last} is reversed; write it as {last}..{first}"
            )));
        }
        Ok(Queues { first, last })
    }

    /// The first queue number.
    pub fn first(&self) -> u16 {
        self.first
    }

    /// The last queue number (equal to `first` for one queue).
    pub fn last(&self) -> u16 {
        self.last
    }

    /// Every queue number in the range.
    pub fn iter(&self) -> impl Iterator<Item = u16> {
        self.first..=self.last
    }
}

impl Default for Queues {
    fn default() -> Self {
        Queues::single(0)
    }
}

/// Where Verdict sits in the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topology {
    /// Protect this host: queue from INPUT and OUTPUT.
    #[default]
    Host,
    /// Protect traffic routed through this host: queue from FORWARD.
    Gateway,
    /// Install nothing: the user writes the queue rules, Verdict only binds the queues.
    Custom,
}

/// A transport protocol to queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
    /// ICMP (IPv4) / ICMPv6 (IPv6).
    Icmp,
}

impl Protocol {
    fn has_ports(&self) -> bool {
        !matches!(self, Protocol::Icmp)
    }

    fn ipt_name(&self, family: Family) -> &'static str {
        match (self, family) {
            (Protocol::Tcp, _) => "tcp",
            (Protocol::Udp, _) => "udp",
            (Protocol::Sctp, _) => "sctp",
            (Protocol::Icmp, Family::V4) => "icmp",
            (Protocol::Icmp, Family::V6) => "ipv6-icmp",
        }
    }
}

/// What to queue. Empty lists mean "everything".
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Selector {
    /// Protocols to queue (empty: all traffic). With `ports` set and no protocols, TCP and UDP.
    pub protocols: Vec<Protocol>,
    /// Ports to queue, in either direction (source or destination port).
    pub ports: Vec<u16>,
    /// Interfaces to queue on (`-i` in INPUT, `-o` in OUTPUT, either in FORWARD).
    pub interfaces: Vec<String>,
    /// Hooks to queue from, among the topology's own (host: `input`, `output`; gateway:
    /// `forward`). Empty: all of the topology's. A host that only needs its inbound traffic
    /// inspected queues `input` alone -- and then needs no SYN-ACK guard.
    pub hooks: Vec<Hook>,
}

/// Whether to accept locally generated SYN-ACKs before queue rules in OUTPUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardMode {
    /// On when the kernel is affected by 747670fd9a2d or cannot be decided.
    #[default]
    Auto,
    /// Always on (e.g. a kernel whose version string lies, like the QEMU lab's).
    On,
    /// Off. On an affected or unknown kernel this needs `acknowledged: true` and logs a warning.
    Off {
        /// The operator acknowledged that queueing SYN-ACKs can crash this kernel.
        acknowledged: bool,
    },
}

/// The connmark-based flow bypass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlowBypass {
    /// The connmark value meaning "decided, stop queueing" (within `mask`).
    pub mark: u32,
    /// The connmark bits Verdict owns.
    pub mask: u32,
}

/// IP families to install rules for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Families {
    /// IPv4 (`iptables`).
    pub ipv4: bool,
    /// IPv6 (`ip6tables`).
    pub ipv6: bool,
}

impl Default for Families {
    fn default() -> Self {
        Families {
            ipv4: true,
            ipv6: true,
        }
    }
}

/// The iptables table Verdict's chains live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IptTable {
    /// `filter` (default).
    #[default]
    Filter,
    /// `mangle` (runs before `filter`, so the user's filter rules still apply afterwards).
    Mangle,
}

impl IptTable {
    /// The table's name.
    pub fn name(&self) -> &'static str {
        match self {
            IptTable::Filter => "filter",
            IptTable::Mangle => "mangle",
        }
    }
}

/// Everything the installer needs to know.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct QueuePlan {
    /// Queue number or range.
    pub queues: Queues,
    /// Host, gateway or custom.
    pub topology: Topology,
    /// What to queue.
    pub selector: Selector,
    /// Fail open (`--queue-bypass`: accept when no program is bound to the queue).
    pub fail_open: bool,
    /// Spread a queue range by CPU (`--queue-cpu-fanout`) instead of by flow hash.
    pub cpu_fanout: bool,
    /// The SYN-ACK guard.
    pub guard: GuardMode,
    /// Accept flows whose connmark has these bits before queueing.
    pub flow_bypass: Option<FlowBypass>,
    /// IPv4 and/or IPv6.
    pub families: Families,
    /// The iptables table (ignored by nft).
    pub table: IptTable,
}

/// What the installer knows about the kernel, for the guard.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GuardContext {
    /// The kernel release (if it could be read).
    pub kernel: Option<String>,
    /// Its status for 747670fd9a2d.
    pub status: Status,
    /// Why.
    pub reason: String,
    /// Treat the kernel as affected whatever its version says.
    pub assume_affected: bool,
}

impl GuardContext {
    /// Assesses the running kernel.
    pub fn detect(assume_affected: bool) -> GuardContext {
        match KernelRelease::running() {
            Ok(k) => GuardContext::for_kernel(&k, assume_affected),
            Err(e) => GuardContext {
                kernel: None,
                status: Status::Unknown,
                reason: format!("cannot read the kernel release: {e}"),
                assume_affected,
            },
        }
    }

    /// Assesses a given kernel release.
    pub fn for_kernel(kernel: &KernelRelease, assume_affected: bool) -> GuardContext {
        let a = bugs::assess(&bugs::KNOWN_BUGS[0], kernel);
        GuardContext {
            kernel: Some(kernel.raw.clone()),
            status: a.status,
            reason: a.reason,
            assume_affected,
        }
    }

    /// Whether queueing locally generated SYN-ACKs could crash this kernel.
    pub fn at_risk(&self) -> bool {
        self.assume_affected || matches!(self.status, Status::Affected | Status::Unknown)
    }
}

/// Which tool installs the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Native nft if the kernel has the nft `queue` expression, else the system's iptables.
    #[default]
    Auto,
    /// `iptables-nft` / `ip6tables-nft`.
    IptablesNft,
    /// `iptables-legacy` / `ip6tables-legacy`.
    IptablesLegacy,
    /// `nft`, table `inet verdict`.
    Nft,
}

impl Backend {
    /// The backend's name as the CLI spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Auto => "auto",
            Backend::IptablesNft => "iptables-nft",
            Backend::IptablesLegacy => "iptables-legacy",
            Backend::Nft => "nft",
        }
    }

    /// The concrete backends.
    pub const CONCRETE: [Backend; 3] =
        [Backend::IptablesNft, Backend::IptablesLegacy, Backend::Nft];
}

/// An IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// A netfilter hook Verdict queues from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    /// INPUT.
    Input,
    /// OUTPUT.
    Output,
    /// FORWARD.
    Forward,
}

impl Hook {
    /// The built-in iptables chain (`OUTPUT`).
    pub fn builtin(&self) -> &'static str {
        match self {
            Hook::Input => "INPUT",
            Hook::Output => "OUTPUT",
            Hook::Forward => "FORWARD",
        }
    }
    fn nft(&self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Output => "output",
            Hook::Forward => "forward",
        }
    }
    /// Verdict's chain for this hook (`VERDICT-OUTPUT`).
    pub fn chain(&self) -> String {
        format!("{CHAIN_PREFIX}{}", self.builtin())
    }
}

/// One rule of a Verdict chain, backend-neutral.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum RuleSpec {
    /// Accept locally generated SYN-ACKs (the guard).
    GuardSynAck,
    /// Accept packets whose connmark matches.
    FlowBypass(FlowBypass),
    /// Queue packets matching this.
    Queue {
        /// Protocol, if restricted.
        protocol: Option<Protocol>,
        /// `(port, is_destination)`, if restricted.
        port: Option<(u16, bool)>,
        /// `(interface, is_input)`, if restricted.
        interface: Option<(String, bool)>,
    },
}

/// The rules for one hook.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainPlan {
    /// The hook.
    pub hook: Hook,
    /// The rules, in order.
    pub rules: Vec<RuleSpec>,
}

/// The backend-neutral rule set a plan turns into, plus what the guard decided.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RenderedPlan {
    /// One entry per hook.
    pub chains: Vec<ChainPlan>,
    /// Whether the SYN-ACK guard is in.
    pub guard_installed: bool,
    /// Notes for the operator (why the guard is on/off, ...).
    pub notes: Vec<String>,
    /// Families.
    pub families: Families,
    /// Queues.
    pub queues: Queues,
    /// `--queue-bypass`.
    pub fail_open: bool,
    /// `--queue-cpu-fanout`.
    pub cpu_fanout: bool,
    /// The iptables table.
    pub table: IptTable,
}

impl QueuePlan {
    /// Checks the plan and turns it into chains, deciding the guard.
    ///
    /// Fails when the guard is off on an at-risk kernel without acknowledgement, or when the
    /// selector is inconsistent (ports with ICMP only, bad interface names, no family).
    pub fn render(&self, ctx: &GuardContext) -> Result<RenderedPlan, Error> {
        if !self.families.ipv4 && !self.families.ipv6 {
            return Err(Error::InvalidPlan(
                "no IP family selected; enable ipv4 and/or ipv6".into(),
            ));
        }
        for i in &self.selector.interfaces {
            if !valid_ifname(i) {
                return Err(Error::InvalidPlan(format!(
                    "`{i}` is not a valid interface name (1-15 characters, no spaces, `/` or quotes; `+` only at the end)"
                )));
            }
        }
        if let Some(b) = self.flow_bypass {
            if b.mask == 0 || b.mark & !b.mask != 0 {
                return Err(Error::InvalidPlan(format!(
                    "flow bypass mark {:#x}/{:#x}: the mask must be non-zero and cover the mark",
                    b.mark, b.mask
                )));
            }
        }
        let mut protocols = self.selector.protocols.clone();
        protocols.dedup();
        if !self.selector.ports.is_empty() {
            if protocols.is_empty() {
                protocols = vec![Protocol::Tcp, Protocol::Udp];
            }
            if !protocols.iter().any(|p| p.has_ports()) {
                return Err(Error::InvalidPlan(
                    "ports are given but no protocol with ports (tcp, udp, sctp) is selected"
                        .into(),
                ));
            }
        }
        let own: &[Hook] = match self.topology {
            Topology::Host => &[Hook::Input, Hook::Output],
            Topology::Gateway => &[Hook::Forward],
            Topology::Custom => &[],
        };
        if let Some(h) = self.selector.hooks.iter().find(|h| !own.contains(h)) {
            return Err(Error::InvalidPlan(format!(
                "hook `{}` is not one of the {} topology's ({}); choose among those, or use the \
                 custom topology and write the queue rules yourself",
                h.builtin().to_ascii_lowercase(),
                match self.topology {
                    Topology::Host => "host",
                    Topology::Gateway => "gateway",
                    Topology::Custom => "custom",
                },
                if own.is_empty() {
                    "none".to_string()
                } else {
                    own.iter()
                        .map(|h| h.builtin().to_ascii_lowercase())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        }
        let hooks: Vec<Hook> = own
            .iter()
            .copied()
            .filter(|h| self.selector.hooks.is_empty() || self.selector.hooks.contains(h))
            .collect();
        let mut notes = Vec::new();
        let output_queued = hooks.contains(&Hook::Output);
        let guard = match self.guard {
            GuardMode::On => true,
            GuardMode::Auto => ctx.at_risk(),
            GuardMode::Off { acknowledged } => {
                if output_queued && ctx.at_risk() {
                    if !acknowledged {
                        return Err(Error::GuardOffNotAcknowledged {
                            kernel: ctx.kernel.clone().unwrap_or_else(|| "unknown".into()),
                            status: ctx.status.as_str(),
                        });
                    }
                    tracing::warn!(
                        kernel = ctx.kernel.as_deref().unwrap_or("unknown"),
                        "SYN-ACK guard is OFF (acknowledged) although this kernel may crash when a locally generated SYN-ACK is queued (nf_queue bug 747670fd9a2d)"
                    );
                    notes.push(format!(
                        "WARNING: guard off by acknowledged configuration on a kernel that is {} for 747670fd9a2d: {}",
                        if ctx.assume_affected { "assumed affected" } else { ctx.status.as_str() },
                        ctx.reason
                    ));
                }
                false
            }
        };
        let guard_installed = guard && output_queued;
        if output_queued {
            notes.push(if guard_installed {
                format!(
                    "SYN-ACK guard on: locally generated SYN-ACKs are accepted before the queue rules in OUTPUT ({})",
                    match self.guard {
                        GuardMode::On => "forced on by configuration".to_string(),
                        _ if ctx.assume_affected => "kernel assumed affected".to_string(),
                        _ => format!("kernel {} for 747670fd9a2d: {}", ctx.status.as_str(), ctx.reason),
                    }
                )
            } else if matches!(self.guard, GuardMode::Auto) {
                format!(
                    "SYN-ACK guard not needed: kernel {} for 747670fd9a2d ({})",
                    ctx.status.as_str(),
                    ctx.reason
                )
            } else {
                "SYN-ACK guard off by configuration".to_string()
            });
        }
        let mut chains = Vec::new();
        for &hook in &hooks {
            let mut rules = Vec::new();
            if hook == Hook::Output && guard_installed {
                rules.push(RuleSpec::GuardSynAck);
            }
            if let Some(b) = self.flow_bypass {
                rules.push(RuleSpec::FlowBypass(b));
            }
            let ifaces: Vec<Option<(String, bool)>> = if self.selector.interfaces.is_empty() {
                vec![None]
            } else {
                let mut v = Vec::new();
                for i in &self.selector.interfaces {
                    match hook {
                        Hook::Input => v.push(Some((i.clone(), true))),
                        Hook::Output => v.push(Some((i.clone(), false))),
                        Hook::Forward => {
                            v.push(Some((i.clone(), true)));
                            v.push(Some((i.clone(), false)));
                        }
                    }
                }
                v
            };
            for iface in &ifaces {
                let protos: Vec<Option<Protocol>> = if protocols.is_empty() {
                    vec![None]
                } else {
                    protocols.iter().copied().map(Some).collect()
                };
                for p in protos {
                    let ports: Vec<Option<(u16, bool)>> = match p {
                        Some(pr) if pr.has_ports() && !self.selector.ports.is_empty() => self
                            .selector
                            .ports
                            .iter()
                            .flat_map(|&port| [Some((port, true)), Some((port, false))])
                            .collect(),
                        Some(pr) if !pr.has_ports() || self.selector.ports.is_empty() => {
                            vec![None]
                        }
                        _ => vec![None],
                    };
                    for port in ports {
                        rules.push(RuleSpec::Queue {
                            protocol: p,
                            port,
                            interface: iface.clone(),
                        });
                    }
                }
            }
            chains.push(ChainPlan { hook, rules });
        }
        if self.topology == Topology::Custom {
            notes.push("custom topology: no firewall rules installed; write your own NFQUEUE rules (and the SYN-ACK guard for OUTPUT/POSTROUTING, see `verdict doctor`)".into());
        }
        Ok(RenderedPlan {
            chains,
            guard_installed,
            notes,
            families: self.families,
            queues: self.queues,
            fail_open: self.fail_open,
            cpu_fanout: self.cpu_fanout,
            table: self.table,
        })
    }
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars().enumerate().all(|(i, c)| {
            (c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
                || (c == '+' && i == s.len() - 1)
        })
}

impl RenderedPlan {
    fn ipt_queue_target(&self) -> String {
        let mut s = if self.queues.first == self.queues.last {
            format!("-j NFQUEUE --queue-num {}", self.queues.first)
        } else {
            format!(
                "-j NFQUEUE --queue-balance {}:{}",
                self.queues.first, self.queues.last
            )
        };
        if self.fail_open {
            s.push_str(" --queue-bypass");
        }
        if self.cpu_fanout && self.queues.first != self.queues.last {
            s.push_str(" --queue-cpu-fanout");
        }
        s
    }

    /// The iptables rules (`-A VERDICT-... ...` lines, without jumps) for one family.
    pub fn iptables_rules(&self, family: Family) -> Vec<(Hook, String)> {
        let mut out = Vec::new();
        for c in &self.chains {
            let chain = c.hook.chain();
            for r in &c.rules {
                let line = match r {
                    RuleSpec::GuardSynAck => {
                        format!("-A {chain} -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT")
                    }
                    RuleSpec::FlowBypass(b) => format!(
                        "-A {chain} -m connmark --mark {:#x}/{:#x} -j ACCEPT",
                        b.mark, b.mask
                    ),
                    RuleSpec::Queue {
                        protocol,
                        port,
                        interface,
                    } => {
                        let mut s = format!("-A {chain}");
                        if let Some((i, input)) = interface {
                            let _ = write!(s, " {} {i}", if *input { "-i" } else { "-o" });
                        }
                        if let Some(p) = protocol {
                            let name = p.ipt_name(family);
                            let _ = write!(s, " -p {name}");
                            if let Some((port, dst)) = port {
                                let _ = write!(
                                    s,
                                    " -m {name} {} {port}",
                                    if *dst { "--dport" } else { "--sport" }
                                );
                            }
                        }
                        let _ = write!(s, " {}", self.ipt_queue_target());
                        s
                    }
                };
                out.push((c.hook, line));
            }
        }
        out
    }

    /// The nft table definition (`table inet verdict { ... }`).
    pub fn nft_table(&self) -> String {
        let fam_match = match (self.families.ipv4, self.families.ipv6) {
            (true, false) => "meta nfproto ipv4 ",
            (false, true) => "meta nfproto ipv6 ",
            _ => "",
        };
        let queue = {
            let mut flags = Vec::new();
            if self.fail_open {
                flags.push("bypass");
            }
            if self.cpu_fanout && self.queues.first != self.queues.last {
                flags.push("fanout");
            }
            let num = if self.queues.first == self.queues.last {
                self.queues.first.to_string()
            } else {
                format!("{}-{}", self.queues.first, self.queues.last)
            };
            if flags.is_empty() {
                format!("queue num {num}")
            } else {
                format!("queue num {num} {}", flags.join(","))
            }
        };
        let mut s = format!("table inet {NFT_TABLE} {{\n");
        for c in &self.chains {
            let _ = writeln!(s, "\tchain {} {{", c.hook.nft());
            let _ = writeln!(
                s,
                "\t\ttype filter hook {} priority filter; policy accept;",
                c.hook.nft()
            );
            for r in &c.rules {
                let line = match r {
                    RuleSpec::GuardSynAck => {
                        format!("{fam_match}tcp flags & (syn | ack) == syn | ack accept")
                    }
                    RuleSpec::FlowBypass(b) => {
                        format!("ct mark & {:#x} == {:#x} accept", b.mask, b.mark)
                    }
                    RuleSpec::Queue {
                        protocol,
                        port,
                        interface,
                    } => {
                        let mut l = fam_match.to_string();
                        if let Some((i, input)) = interface {
                            let name = i.replace('+', "*");
                            let _ = write!(
                                l,
                                "{} \"{name}\" ",
                                if *input { "iifname" } else { "oifname" }
                            );
                        }
                        match (protocol, port) {
                            (Some(p), Some((port, dst))) => {
                                let _ = write!(
                                    l,
                                    "{} {} {port} ",
                                    p.ipt_name(Family::V4),
                                    if *dst { "dport" } else { "sport" }
                                );
                            }
                            (Some(Protocol::Icmp), None) => {
                                l.push_str("meta l4proto { icmp, ipv6-icmp } ");
                            }
                            (Some(p), None) => {
                                let _ = write!(l, "meta l4proto {} ", p.ipt_name(Family::V4));
                            }
                            (None, _) => {}
                        }
                        l.push_str(&queue);
                        l
                    }
                };
                let _ = writeln!(s, "\t\t{line}");
            }
            s.push_str("\t}\n");
        }
        s.push_str("}\n");
        s
    }
}

/// The tools of one iptables backend and family.
fn ipt_tools(backend: Backend, family: Family) -> (&'static str, &'static str) {
    match (backend, family) {
        (Backend::IptablesLegacy, Family::V4) => {
            ("iptables-legacy-save", "iptables-legacy-restore")
        }
        (Backend::IptablesLegacy, Family::V6) => {
            ("ip6tables-legacy-save", "ip6tables-legacy-restore")
        }
        (_, Family::V4) => ("iptables-nft-save", "iptables-nft-restore"),
        (_, Family::V6) => ("ip6tables-nft-save", "ip6tables-nft-restore"),
    }
}

/// What Verdict finds of its own in one iptables table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Existing {
    /// `(builtin chain, rest of the rule spec)` of each jump to a Verdict chain.
    jumps: Vec<(String, String)>,
    /// Verdict chains present.
    chains: Vec<String>,
    /// Every rule line in Verdict chains and jumps to them, for `show`.
    lines: Vec<String>,
}

/// Finds Verdict's chains and jumps in `iptables-save -t TABLE` output.
fn scan_save(save: &str, table: &str) -> Existing {
    let mut ex = Existing::default();
    let mut in_table = false;
    for line in save.lines() {
        let line = line.trim();
        if let Some(t) = line.strip_prefix('*') {
            in_table = t == table;
            continue;
        }
        if !in_table {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            let name = decl.split_whitespace().next().unwrap_or("");
            if name.starts_with(CHAIN_PREFIX) {
                ex.chains.push(name.to_string());
                ex.lines.push(line.to_string());
            }
        } else if let Some(rule) = line.strip_prefix("-A ") {
            let (chain, spec) = rule.split_once(' ').unwrap_or((rule, ""));
            let jumps_to_ours = spec
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| (w[0] == "-j" || w[0] == "-g") && w[1].starts_with(CHAIN_PREFIX));
            if chain.starts_with(CHAIN_PREFIX) {
                ex.lines.push(line.to_string());
            } else if jumps_to_ours {
                ex.jumps.push((chain.to_string(), spec.to_string()));
                ex.lines.push(line.to_string());
            }
        }
    }
    ex
}

/// Builds the `iptables-restore --noflush` payload that removes `existing` and (if `new` is
/// given) installs the new chains, in one transaction.
fn restore_payload(
    table: &str,
    existing: &Existing,
    new: Option<(&RenderedPlan, Family)>,
) -> String {
    let mut s = format!("*{table}\n");
    let new_chains: Vec<String> = new
        .map(|(p, _)| p.chains.iter().map(|c| c.hook.chain()).collect())
        .unwrap_or_default();
    // Declaring a chain creates it, or flushes it when it exists (with --noflush).
    for c in &new_chains {
        let _ = writeln!(s, ":{c} - [0:0]");
    }
    for (chain, spec) in &existing.jumps {
        let _ = writeln!(s, "-D {chain} {spec}");
    }
    for c in &existing.chains {
        if !new_chains.contains(c) {
            let _ = writeln!(s, "-F {c}");
        }
    }
    for c in &existing.chains {
        if !new_chains.contains(c) {
            let _ = writeln!(s, "-X {c}");
        }
    }
    if let Some((plan, family)) = new {
        for c in &plan.chains {
            let _ = writeln!(s, "-I {} 1 -j {}", c.hook.builtin(), c.hook.chain());
        }
        for (_, line) in plan.iptables_rules(family) {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s.push_str("COMMIT\n");
    s
}

/// The result of an install.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstallReport {
    /// The backend actually used.
    pub backend: Backend,
    /// What was installed.
    pub plan: RenderedPlan,
    /// Notes for the operator: backend choice, guard decision, leftovers replaced.
    pub notes: Vec<String>,
    /// Whether a leftover Verdict rule set was found and replaced.
    pub replaced_leftovers: bool,
}

/// The installer, bound to a backend and an execution context.
#[derive(Debug, Clone)]
pub struct Firewall {
    backend: Backend,
    exec: Exec,
}

impl Firewall {
    /// A firewall on the host's own network namespace.
    pub fn new(backend: Backend) -> Firewall {
        Firewall {
            backend,
            exec: Exec::host(),
        }
    }

    /// A firewall acting through `exec` (e.g. inside a test namespace).
    pub fn with_exec(backend: Backend, exec: Exec) -> Firewall {
        Firewall { backend, exec }
    }

    /// The configured backend (may be [`Backend::Auto`]).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the kernel has the nft `queue` expression: loads a queue rule into a throwaway
    /// table within one nft batch that also deletes the table. `Err` carries nft's message.
    pub fn probe_nft_queue(&self) -> Result<(), Error> {
        if !self.exec.has("nft") {
            return Err(Error::MissingBinary {
                program: "nft".into(),
                package: "nftables",
            });
        }
        let name = format!("verdict_probe_{}", std::process::id());
        let batch = format!(
            "table inet {name} {{\n\tchain probe {{\n\t\tqueue num 0 bypass\n\t}}\n}}\ndelete table inet {name}\n"
        );
        let out = self.exec.output("nft", &["-f", "-"], Some(&batch))?;
        if out.success {
            Ok(())
        } else {
            Err(Error::NftQueueUnsupported {
                detail: out
                    .stderr
                    .lines()
                    .find(|l| l.contains("Error"))
                    .unwrap_or(&out.stderr)
                    .trim()
                    .to_string(),
            })
        }
    }

    /// Resolves [`Backend::Auto`]: nft when its queue expression works, else iptables-nft when
    /// present, else iptables-legacy. The notes say what was chosen and why.
    pub fn resolve_backend(&self) -> Result<(Backend, Vec<String>), Error> {
        let mut notes = Vec::new();
        match self.backend {
            Backend::Auto => {}
            Backend::Nft => {
                self.probe_nft_queue()?;
                return Ok((Backend::Nft, notes));
            }
            b => return Ok((b, notes)),
        }
        match self.probe_nft_queue() {
            Ok(()) => {
                notes.push("backend: nft (the kernel has the nft queue expression)".into());
                return Ok((Backend::Nft, notes));
            }
            Err(e) => notes.push(format!(
                "nft queueing unavailable, falling back to iptables: {e}"
            )),
        }
        if self.exec.has("iptables-nft-restore") {
            notes.push("backend: iptables-nft".into());
            Ok((Backend::IptablesNft, notes))
        } else if self.exec.has("iptables-legacy-restore") {
            notes.push("backend: iptables-legacy (iptables-nft not installed)".into());
            Ok((Backend::IptablesLegacy, notes))
        } else {
            Err(Error::MissingBinary {
                program: "iptables-nft-restore".into(),
                package: "iptables",
            })
        }
    }

    /// Installs the plan: replaces any Verdict rules already present (a leftover from a crashed
    /// run) atomically, removes leftovers in the other backends, and returns a guard that
    /// removes the rules when dropped.
    pub fn install(&self, plan: &QueuePlan, ctx: &GuardContext) -> Result<InstalledRules, Error> {
        let rendered = plan.render(ctx)?;
        let (backend, mut notes) = self.resolve_backend()?;
        notes.extend(rendered.notes.iter().cloned());
        let fw = Firewall {
            backend,
            exec: self.exec.clone(),
        };
        // Leftovers in the other backends (a previous run with another backend).
        let mut replaced = false;
        for other in Backend::CONCRETE {
            if other == backend {
                continue;
            }
            let f = Firewall {
                backend: other,
                exec: self.exec.clone(),
            };
            match f.remove_concrete(plan.table) {
                Ok(true) => {
                    replaced = true;
                    notes.push(format!(
                        "removed leftover Verdict rules from {}",
                        other.name()
                    ));
                }
                Ok(false) => {}
                Err(Error::MissingBinary { .. }) => {}
                // nft without a Verdict table, or a backend the kernel lacks: nothing to clean.
                Err(e) => tracing::debug!("cleaning {}: {e}", other.name()),
            }
        }
        if plan.topology == Topology::Custom {
            // The user owns the queue rules; a leftover Verdict set would double-queue.
            if fw.remove_concrete(plan.table)? {
                replaced = true;
                notes.push(
                    "removed a leftover Verdict rule set (custom topology installs none)".into(),
                );
            }
        } else {
            replaced |= fw.apply(&rendered, plan.table)?;
            if replaced {
                notes.push("a leftover Verdict rule set was found and replaced".into());
            }
        }
        Ok(InstalledRules {
            firewall: fw,
            table: plan.table,
            armed: plan.topology != Topology::Custom,
            report: InstallReport {
                backend,
                plan: rendered,
                notes,
                replaced_leftovers: replaced,
            },
        })
    }

    /// Applies a rendered plan with a concrete backend; returns whether leftovers were replaced.
    fn apply(&self, plan: &RenderedPlan, table: IptTable) -> Result<bool, Error> {
        match self.backend {
            Backend::Nft => {
                let existed = self.nft_table_exists()?;
                let mut batch = format!("table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n");
                batch.push_str(&plan.nft_table());
                self.exec.run("nft", &["-f", "-"], Some(&batch))?;
                Ok(existed)
            }
            Backend::Auto => Err(Error::InvalidPlan("backend not resolved".into())),
            b => {
                let mut replaced = false;
                for family in [Family::V4, Family::V6] {
                    let (save, restore) = ipt_tools(b, family);
                    let existing = self.scan(save, table.name())?;
                    let wanted = match family {
                        Family::V4 => plan.families.ipv4,
                        Family::V6 => plan.families.ipv6,
                    };
                    replaced |= !existing.chains.is_empty() || !existing.jumps.is_empty();
                    if !wanted && existing.chains.is_empty() && existing.jumps.is_empty() {
                        continue;
                    }
                    let payload =
                        restore_payload(table.name(), &existing, wanted.then_some((plan, family)));
                    self.exec
                        .run(restore, &["-w", "--noflush"], Some(&payload))
                        .map_err(|e| annotate_restore(e, &payload))?;
                }
                Ok(replaced)
            }
        }
    }

    fn scan(&self, save: &str, table: &str) -> Result<Existing, Error> {
        let out = self.exec.output(save, &["-t", table], None)?;
        if !out.success {
            // A table that does not exist yet (legacy without the module loaded) has nothing.
            if out.stderr.contains("does not exist") || out.stderr.contains("Table does not exist")
            {
                return Ok(Existing::default());
            }
            return Err(Error::CommandFailed {
                command: format!("{save} -t {table}"),
                stderr: out.stderr,
            });
        }
        Ok(scan_save(&out.stdout, table))
    }

    fn nft_table_exists(&self) -> Result<bool, Error> {
        let out = self
            .exec
            .output("nft", &["list", "table", "inet", NFT_TABLE], None)?;
        Ok(out.success)
    }

    /// Removes every Verdict rule of this backend (all backends for [`Backend::Auto`]) and
    /// table. Returns whether anything was removed.
    pub fn remove(&self, table: IptTable) -> Result<bool, Error> {
        match self.backend {
            Backend::Auto => {
                let mut any = false;
                let mut first_err = None;
                for b in Backend::CONCRETE {
                    let f = Firewall {
                        backend: b,
                        exec: self.exec.clone(),
                    };
                    match f.remove_concrete(table) {
                        Ok(r) => any |= r,
                        Err(Error::MissingBinary { .. }) => {}
                        Err(e) => {
                            first_err.get_or_insert(e);
                        }
                    }
                }
                match first_err {
                    Some(e) => Err(e),
                    None => Ok(any),
                }
            }
            _ => self.remove_concrete(table),
        }
    }

    fn remove_concrete(&self, table: IptTable) -> Result<bool, Error> {
        match self.backend {
            Backend::Nft => {
                if !self.exec.has("nft") {
                    return Err(Error::MissingBinary {
                        program: "nft".into(),
                        package: "nftables",
                    });
                }
                if !self.nft_table_exists()? {
                    return Ok(false);
                }
                self.exec
                    .run("nft", &["delete", "table", "inet", NFT_TABLE], None)?;
                Ok(true)
            }
            Backend::Auto => self.remove(table),
            b => {
                let mut any = false;
                for family in [Family::V4, Family::V6] {
                    let (save, restore) = ipt_tools(b, family);
                    if !self.exec.has(save) {
                        return Err(Error::MissingBinary {
                            program: save.into(),
                            package: "iptables",
                        });
                    }
                    let existing = self.scan(save, table.name())?;
                    if existing.chains.is_empty() && existing.jumps.is_empty() {
                        continue;
                    }
                    any = true;
                    let payload = restore_payload(table.name(), &existing, None);
                    self.exec
                        .run(restore, &["-w", "--noflush"], Some(&payload))
                        .map_err(|e| annotate_restore(e, &payload))?;
                }
                Ok(any)
            }
        }
    }

    /// The Verdict rules currently installed, per backend, as the tools print them.
    pub fn show(&self, table: IptTable) -> Result<String, Error> {
        let backends: Vec<Backend> = match self.backend {
            Backend::Auto => Backend::CONCRETE.to_vec(),
            b => vec![b],
        };
        let mut s = String::new();
        for b in backends {
            match b {
                Backend::Nft => {
                    if !self.exec.has("nft") {
                        continue;
                    }
                    let out =
                        self.exec
                            .output("nft", &["list", "table", "inet", NFT_TABLE], None)?;
                    if out.success {
                        let _ = writeln!(s, "# nft (table inet {NFT_TABLE})");
                        s.push_str(&out.stdout);
                    }
                }
                _ => {
                    for family in [Family::V4, Family::V6] {
                        let (save, _) = ipt_tools(b, family);
                        if !self.exec.has(save) {
                            continue;
                        }
                        let ex = self.scan(save, table.name())?;
                        if ex.lines.is_empty() {
                            continue;
                        }
                        let _ = writeln!(s, "# {save} -t {}", table.name());
                        for l in &ex.lines {
                            let _ = writeln!(s, "{l}");
                        }
                    }
                }
            }
        }
        Ok(s)
    }
}

fn annotate_restore(e: Error, payload: &str) -> Error {
    match e {
        Error::CommandFailed { command, stderr } => Error::CommandFailed {
            command,
            stderr: format!("{stderr}\n--- input was ---\n{payload}"),
        },
        other => other,
    }
}

/// Verdict's rules while they are installed. Dropping it removes them (errors are logged);
/// call [`InstalledRules::remove`] to see the error instead, or [`InstalledRules::disarm`] to
/// leave them in place (e.g. `verdict firewall install`).
#[derive(Debug)]
pub struct InstalledRules {
    firewall: Firewall,
    table: IptTable,
    armed: bool,
    report: InstallReport,
}

impl InstalledRules {
    /// What was installed and why.
    pub fn report(&self) -> &InstallReport {
        &self.report
    }

    /// The firewall (concrete backend) the rules were installed with.
    pub fn firewall(&self) -> &Firewall {
        &self.firewall
    }

    /// Removes the rules now.
    pub fn remove(mut self) -> Result<(), Error> {
        self.armed = false;
        self.firewall.remove_concrete(self.table).map(|_| ())
    }

    /// Leaves the rules installed and returns the report.
    pub fn disarm(mut self) -> InstallReport {
        self.armed = false;
        self.report.clone()
    }
}

impl Drop for InstalledRules {
    fn drop(&mut self) {
        if self.armed {
            if let Err(e) = self.firewall.remove_concrete(self.table) {
                tracing::error!(
                    "could not remove Verdict's firewall rules: {e}; run `verdict firewall remove`"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelRelease;

    fn ctx(release: &str) -> GuardContext {
        GuardContext::for_kernel(&KernelRelease::parse(release).unwrap(), false)
    }

    #[test]
    fn host_plan_on_affected_kernel_has_guard_first_in_output() {
        let plan = QueuePlan {
            fail_open: true,
            ..Default::default()
        };
        let r = plan.render(&ctx("5.10.103")).unwrap();
        assert!(r.guard_installed);
        let rules = r.iptables_rules(Family::V4);
        let out: Vec<_> = rules.iter().filter(|(h, _)| *h == Hook::Output).collect();
        assert_eq!(
            out[0].1,
            "-A VERDICT-OUTPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT"
        );
        assert_eq!(
            out[1].1,
            "-A VERDICT-OUTPUT -j NFQUEUE --queue-num 0 --queue-bypass"
        );
        // INPUT has no guard.
        assert!(rules
            .iter()
            .filter(|(h, _)| *h == Hook::Input)
            .all(|(_, l)| !l.contains("SYN,ACK")));
        let v6 = r.iptables_rules(Family::V6);
        assert!(v6[1].1.contains("SYN,ACK"));
    }

    #[test]
    fn guard_auto_off_on_fixed_kernel_and_forced_on() {
        let plan = QueuePlan::default();
        assert!(!plan.render(&ctx("5.17.0")).unwrap().guard_installed);
        let plan = QueuePlan {
            guard: GuardMode::On,
            ..Default::default()
        };
        assert!(plan.render(&ctx("5.17.0")).unwrap().guard_installed);
        // Unknown kernels get the guard.
        assert!(
            QueuePlan::default()
                .render(&ctx("5.15.0-91-generic"))
                .unwrap()
                .guard_installed
        );
        // assume_affected.
        let c = GuardContext::for_kernel(&KernelRelease::parse("6.1.192").unwrap(), true);
        assert!(QueuePlan::default().render(&c).unwrap().guard_installed);
    }

    #[test]
    fn guard_off_needs_acknowledgement_on_affected_kernel() {
        let plan = QueuePlan {
            guard: GuardMode::Off {
                acknowledged: false,
            },
            ..Default::default()
        };
        let e = plan.render(&ctx("4.18.0-305.3.1.el8.x86_64")).unwrap_err();
        assert!(matches!(e, Error::GuardOffNotAcknowledged { .. }), "{e}");
        let plan = QueuePlan {
            guard: GuardMode::Off { acknowledged: true },
            ..Default::default()
        };
        let r = plan.render(&ctx("4.18.0-305.3.1.el8.x86_64")).unwrap();
        assert!(!r.guard_installed);
        assert!(r.notes.iter().any(|n| n.starts_with("WARNING")));
        // Off without ack is fine on a fixed kernel, and in gateway mode.
        let plan = QueuePlan {
            guard: GuardMode::Off {
                acknowledged: false,
            },
            ..Default::default()
        };
        assert!(plan.render(&ctx("6.1.0-13-amd64")).is_ok());
        let plan = QueuePlan {
            topology: Topology::Gateway,
            ..plan
        };
        assert!(plan.render(&ctx("5.10.103")).is_ok());
    }

    #[test]
    fn selectors_and_ranges() {
        let plan = QueuePlan {
            queues: Queues::range(2, 5).unwrap(),
            topology: Topology::Gateway,
            selector: Selector {
                protocols: vec![Protocol::Tcp, Protocol::Icmp],
                ports: vec![80],
                interfaces: vec!["eth0".into()],
                ..Default::default()
            },
            cpu_fanout: true,
            flow_bypass: Some(FlowBypass {
                mark: 0x100,
                mask: 0x100,
            }),
            ..Default::default()
        };
        let r = plan.render(&ctx("6.1.0-13-amd64")).unwrap();
        let v4: Vec<String> = r
            .iptables_rules(Family::V4)
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert_eq!(
            v4[0],
            "-A VERDICT-FORWARD -m connmark --mark 0x100/0x100 -j ACCEPT"
        );
        assert!(v4.contains(
            &"-A VERDICT-FORWARD -i eth0 -p tcp -m tcp --dport 80 -j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout".to_string()
        ));
        assert!(v4.contains(
            &"-A VERDICT-FORWARD -o eth0 -p icmp -j NFQUEUE --queue-balance 2:5 --queue-cpu-fanout"
                .to_string()
        ));
        let v6: Vec<String> = r
            .iptables_rules(Family::V6)
            .into_iter()
            .map(|x| x.1)
            .collect();
        assert!(v6.iter().any(|l| l.contains("-p ipv6-icmp")));
        // 2 ifaces-directions * (tcp: 2 port directions + icmp: 1) + bypass
        assert_eq!(v4.len(), 1 + 2 * 3);
        let nft = r.nft_table();
        assert!(nft.contains("ct mark & 0x100 == 0x100 accept"), "{nft}");
        assert!(
            nft.contains("iifname \"eth0\" tcp dport 80 queue num 2-5 fanout"),
            "{nft}"
        );
        assert!(Queues::range(3, 1).is_err());
    }

    #[test]
    fn hooks_select_within_the_topology() {
        let chains = |plan: &QueuePlan, kernel: &str| -> Vec<(Hook, bool)> {
            plan.render(&ctx(kernel))
                .unwrap()
                .chains
                .iter()
                .map(|c| (c.hook, c.rules.contains(&RuleSpec::GuardSynAck)))
                .collect()
        };
        let host = |hooks: Vec<Hook>| QueuePlan {
            selector: Selector {
                hooks,
                ..Default::default()
            },
            ..Default::default()
        };
        // At-risk kernel: OUTPUT gets the guard whenever it is queued.
        assert_eq!(
            chains(&host(vec![]), "5.10.103"),
            vec![(Hook::Input, false), (Hook::Output, true)]
        );
        assert_eq!(
            chains(&host(vec![Hook::Output]), "5.10.103"),
            vec![(Hook::Output, true)]
        );
        // Inbound only: nothing locally generated is queued, no guard, no guard note.
        let r = host(vec![Hook::Input]).render(&ctx("5.10.103")).unwrap();
        assert_eq!(r.chains.len(), 1);
        assert_eq!(r.chains[0].hook, Hook::Input);
        assert!(
            !r.notes.iter().any(|n| n.contains("SYN-ACK")),
            "{:?}",
            r.notes
        );
        // A hook the topology does not have is refused, naming the ones it has.
        let gw = QueuePlan {
            topology: Topology::Gateway,
            ..host(vec![Hook::Input])
        };
        let e = gw.render(&ctx("6.1.0-13-amd64")).unwrap_err().to_string();
        assert!(e.contains("`input`") && e.contains("(forward)"), "{e}");
        let fwd = QueuePlan {
            topology: Topology::Gateway,
            ..host(vec![Hook::Forward])
        };
        assert_eq!(chains(&fwd, "6.1.0-13-amd64"), vec![(Hook::Forward, false)]);
        // Config files spell hooks in lower case.
        let sel: Selector = serde_json::from_str(r#"{"hooks": ["output"]}"#).unwrap();
        assert_eq!(sel.hooks, vec![Hook::Output]);
    }

    #[test]
    fn invalid_plans_are_refused() {
        let bad_iface = QueuePlan {
            selector: Selector {
                interfaces: vec!["eth0; rm".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(bad_iface.render(&ctx("6.1.0-13-amd64")).is_err());
        let icmp_ports = QueuePlan {
            selector: Selector {
                protocols: vec![Protocol::Icmp],
                ports: vec![1],
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(icmp_ports.render(&ctx("6.1.0-13-amd64")).is_err());
        let custom = QueuePlan {
            topology: Topology::Custom,
            ..Default::default()
        };
        assert!(custom.render(&ctx("5.10.103")).unwrap().chains.is_empty());
    }

    #[test]
    fn scan_and_payload_replace_leftovers() {
        let save = "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:VERDICT-OUTPUT - [0:0]\n:VERDICT-FORWARD - [0:0]\n-A OUTPUT -j VERDICT-OUTPUT\n-A OUTPUT -p udp -j ACCEPT\n-A FORWARD -i eth0 -j VERDICT-FORWARD\n-A VERDICT-OUTPUT -j NFQUEUE --queue-num 0\nCOMMIT\n";
        let ex = scan_save(save, "filter");
        assert_eq!(ex.chains, vec!["VERDICT-OUTPUT", "VERDICT-FORWARD"]);
        assert_eq!(
            ex.jumps,
            vec![
                ("OUTPUT".to_string(), "-j VERDICT-OUTPUT".to_string()),
                (
                    "FORWARD".to_string(),
                    "-i eth0 -j VERDICT-FORWARD".to_string()
                )
            ]
        );
        let plan = QueuePlan::default().render(&ctx("5.10.103")).unwrap();
        let p = restore_payload("filter", &ex, Some((&plan, Family::V4)));
        let lines: Vec<&str> = p.lines().collect();
        assert_eq!(lines[0], "*filter");
        assert!(lines.contains(&"-D OUTPUT -j VERDICT-OUTPUT"));
        assert!(lines.contains(&"-D FORWARD -i eth0 -j VERDICT-FORWARD"));
        assert!(lines.contains(&"-X VERDICT-FORWARD"));
        assert!(!lines.contains(&"-X VERDICT-OUTPUT"));
        assert!(lines.contains(&":VERDICT-OUTPUT - [0:0]"));
        assert!(lines.contains(&"-I OUTPUT 1 -j VERDICT-OUTPUT"));
        let pos_del = lines
            .iter()
            .position(|l| *l == "-D OUTPUT -j VERDICT-OUTPUT")
            .unwrap();
        let pos_ins = lines
            .iter()
            .position(|l| *l == "-I OUTPUT 1 -j VERDICT-OUTPUT")
            .unwrap();
        assert!(pos_del < pos_ins);
        assert_eq!(*lines.last().unwrap(), "COMMIT");
        // Removal only.
        let p = restore_payload("filter", &ex, None);
        assert!(p.contains("-X VERDICT-OUTPUT"));
        assert!(!p.contains("-I "));
        // Other tables are ignored.
        assert_eq!(scan_save(save, "mangle"), Existing::default());
    }
}
