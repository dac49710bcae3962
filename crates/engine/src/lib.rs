//! The Verdict inspection pipeline: decode -> flow -> detect -> [`Decision`].
//!
//! # Design
//! The [`Engine`] is sans-IO: [`Engine::inspect`] takes the time (`now`), the packet bytes and
//! a little metadata, and returns a [`Decision`]; [`Engine::expire`] times flows out. It never
//! reads a clock, a socket or a file, so the live NFQUEUE driver and the offline pcap driver
//! feed the very same code, and a capture replayed offline gets the verdicts it would get
//! live (a tested property, see `tests/parity.rs`).
//!
//! Detection is pluggable through the [`Inspector`] trait. Verdict ships one implementation,
//! [`RulesInspector`], running a compiled Suricata [`verdict_rules`] rule set shared read-only
//! through an `Arc` and swapped whole on reload; teams with their own logic implement
//! [`Inspector`] instead (see its docs for an example).
//!
//! # IPS semantics (Suricata inline / `--simulate-ips`)
//! - A `drop` or `reject` match drops the packet. When the inspector says the action applies
//!   to the flow ([`Outcome::flow`]; Suricata does so for IP-only and app-layer rules), the
//!   flow is marked dropped and every later packet of it is dropped without detection
//!   ([`DropReason::FlowDrop`]).
//! - `pass` stops detection for the packet; with [`Outcome::flow`] the flow is marked passed
//!   and later packets are accepted without detection.
//! - Without IPS mode, drop/reject rules only alert (EVE action `allowed`), like Suricata IDS.
//!
//! # Tunnels
//! Packets carried in IP-in-IP, GRE (and ERSPAN), VXLAN and Geneve are decapsulated (up to
//! [`MAX_TUNNEL_DEPTH`] levels) and inspected as packets of their own, each with its own
//! flow ([`Decision::inner`]); the carrier packet is dropped when any of them is. The
//! carrier of IP-in-IP/GRE has no payload of its own for rules and, as in Suricata, no flow:
//! rules see it flowless (IP-only rules match every such packet, flow keywords fail) and no
//! flow record is written for it.
//!
//! # Fragments
//! IPv4 fragments are inspected one by one (flagged; non-first ones carry no ports) and fed
//! to a bounded [`Defragmenter`]; the datagram a fragment completes is inspected as a packet
//! of its own (`pkt_src` [`PKT_SRC_DEFRAG`]) and the completing fragment carries its verdict.
//!
//! # TCP streams
//! Each TCP flow gets a reassembler per direction (`verdict_stream`, [`EngineConfig::stream`])
//! feeding the flow's app-layer parser (`verdict_applayer::flow`). Every packet is judged
//! on what is reassembled so far, never waiting for an ACK (inline semantics, identical live
//! and offline): app-layer rules see whole messages (a request cut over segments), once per
//! transaction; TCP payload rules also see a window of the reassembled stream (a pattern
//! across segments; [`Alert::stream`]); overlapping segments keep the first bytes and raise
//! `reassembly_overlap_different_data` when the new ones differ. See `stream.rs`.
//!
//! # Allocation
//! The hot path reuses buffers owned by the engine: alerts are written into an internal
//! `Vec` that is cleared, not freed, between packets; [`Decision`] borrows it. Alert details
//! live behind an `Arc` built once when rules are compiled, so an alert costs a reference
//! count increment. The flow table allocates only when it grows (bounded by
//! [`FlowConfig::max_flows`]); ended-flow records are kept only when
//! [`EngineConfig::flow_events`] asks for them.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use verdict_decode::{DecodeError, LinkType, TunnelKind, L4};
use verdict_flow::{
    DefragConfig, Defragmenter, FlowConfig, FlowHandle, FlowKeyDir, FlowStats, FlowTable,
    FragOverlapTracker, Removal,
};
use verdict_rules::input::{FlowInput, IpInput, L4Input, PacketExtra, PacketInput};

mod rules_inspector;
mod stream;

pub use stream::{StreamStats, STREAM_BACK};
pub use verdict_applayer::flow::AppConfig;
pub use verdict_stream::StreamConfig;

// The decoder's IPv4 option bits go to the rules unchanged (`IpInput::ipopts`); the two crates
// define them separately so neither depends on the other. This keeps them equal at compile time.
const _: () = {
    use verdict_decode::ipopt as d;
    use verdict_rules::input::ipopt as r;
    assert!(d::RR == r::RR && d::EOL == r::EOL && d::NOP == r::NOP && d::TS == r::TS);
    assert!(d::SEC == r::SEC && d::ESEC == r::ESEC && d::LSRR == r::LSRR);
    assert!(d::SSRR == r::SSRR && d::SATID == r::SATID);
};
pub use rules_inspector::{alert_info, RulesInspector};

/// What a rule (or inspector) asks for when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Log only.
    Alert,
    /// Drop the packet and the rest of its flow (IPS mode), alert.
    Drop,
    /// Drop like `Drop` and ask for a reset/unreachable to be sent (IPS mode), alert.
    Reject,
    /// Stop inspecting this packet and the rest of its flow; accept.
    Pass,
}

/// Static facts about what raised an alert, shared by every alert it raises.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertInfo {
    /// Generator id (1 for rules).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Message (`msg`).
    pub msg: String,
    /// Classification description (`classtype`), empty when none.
    pub category: String,
    /// Severity (priority), 1 = highest; Suricata's default is 3.
    pub severity: u8,
    /// `metadata` key/value pairs, in rule order.
    pub metadata: Vec<(String, String)>,
}

/// One alert raised on a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The action of the rule that matched.
    pub action: RuleAction,
    /// What matched.
    pub info: Arc<AlertInfo>,
    /// It matched the reassembled TCP stream rather than the packet's own payload (EVE
    /// `stream: 1`; the payload to log is [`Decision::stream_payload`]).
    pub stream: bool,
    /// The app-layer transaction it matched (EVE `tx_id`), for app-layer rules.
    pub tx_id: Option<u64>,
    /// The app-layer message the alert's packet carried (or its transaction's, for
    /// app-layer rules), for the EVE writer's `http`/`dns`/`tls`/`ssh` alert metadata.
    /// Filled by the engine only for alerts actually raised, never per packet.
    pub app: Option<Arc<AppSnapshot>>,
}

/// A bounded copy of the app-layer message an alert fired on: outputs parse it again
/// (with [`verdict_applayer::parse_as`]) only when they write the alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSnapshot {
    /// The message's protocol.
    pub proto: verdict_applayer::AppProto,
    /// How it was carried (DNS differs over TCP and UDP).
    pub transport: verdict_applayer::Transport,
    /// It was sent by the client.
    pub to_server: bool,
    /// The message's first bytes, at most [`AppSnapshot::MAX_LEN`].
    pub bytes: Box<[u8]>,
    /// For a to-client HTTP response: the head of the request it answers (for `hostname`,
    /// `url`, `xff`...); for a TLS server message: the flow's ClientHello (`sni`, `ja3`,
    /// `client_alpns`); empty otherwise.
    pub request: Box<[u8]>,
}

impl AppSnapshot {
    /// The most bytes of a message kept for logging.
    pub const MAX_LEN: usize = 64 << 10;

    /// A snapshot of `bytes` (cut to [`AppSnapshot::MAX_LEN`]).
    pub fn new(
        proto: verdict_applayer::AppProto,
        transport: verdict_applayer::Transport,
        to_server: bool,
        bytes: &[u8],
    ) -> AppSnapshot {
        AppSnapshot {
            proto,
            transport,
            to_server,
            bytes: bytes[..bytes.len().min(Self::MAX_LEN)].into(),
            request: Box::default(),
        }
    }
}

impl Alert {
    /// The action as EVE writes it: `blocked` when the packet was dropped by this alert in IPS
    /// mode, `allowed` otherwise.
    pub fn eve_action(&self, ips: bool) -> &'static str {
        if ips && matches!(self.action, RuleAction::Drop | RuleAction::Reject) {
            "blocked"
        } else {
            "allowed"
        }
    }
}

/// Gives each alert a snapshot of the app-layer message it fired on: its transaction's
/// message for app-layer rules, else the packet's last message (TCP) or its UDP payload
/// (`udp`: the flow's detected protocol and the datagram's payload). Runs only for raised
/// alerts, so packets without alerts copy nothing.
fn attach_app(
    alerts: &mut [Alert],
    messages: &[verdict_applayer::flow::AppMessage<'_>],
    udp: Option<(verdict_applayer::AppProto, &[u8])>,
    request: Option<&(u64, Box<[u8]>)>,
    to_server: bool,
) {
    let mut last: Option<(u64, Arc<AppSnapshot>)> = None;
    for a in alerts.iter_mut() {
        let msg = match a.tx_id {
            Some(tx) => messages
                .iter()
                .rev()
                .find(|m| m.tx_id == tx)
                .or(messages.last()),
            None => messages.last(),
        };
        let snap = match (msg, udp) {
            (Some(m), _) => {
                if let Some((_, s)) = last.as_ref().filter(|(tx, _)| *tx == m.tx_id) {
                    Some(s.clone())
                } else {
                    let mut s = AppSnapshot::new(
                        m.proto,
                        verdict_applayer::Transport::Tcp,
                        to_server,
                        m.bytes,
                    );
                    // An HTTP response gets its own request's head; a TLS server message
                    // the flow's ClientHello.
                    if let Some((_, head)) = request.filter(|(tx, _)| {
                        !to_server
                            && match m.proto {
                                verdict_applayer::AppProto::Http => *tx == m.tx_id,
                                verdict_applayer::AppProto::Tls => true,
                                _ => false,
                            }
                    }) {
                        s.request = head.clone();
                    }
                    let s = Arc::new(s);
                    last = Some((m.tx_id, s.clone()));
                    Some(s)
                }
            }
            (None, Some((proto, payload))) if !payload.is_empty() => {
                if let Some((_, s)) = last.as_ref() {
                    Some(s.clone())
                } else {
                    let s = Arc::new(AppSnapshot::new(
                        proto,
                        verdict_applayer::Transport::Udp,
                        to_server,
                        payload,
                    ));
                    last = Some((0, s.clone()));
                    Some(s)
                }
            }
            _ => None,
        };
        a.app = snap;
    }
}

/// What an [`Inspector`] decides for a packet, besides its alerts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// `Some(Drop|Reject)` drops (in IPS mode), `Some(Pass)` stops inspection; `None` or
    /// `Some(Alert)` accepts.
    pub action: Option<RuleAction>,
    /// Apply a drop or pass to the whole flow (every later packet), not just this packet.
    /// Suricata does so for IP-only and app-layer rules; a content rule's drop or pass
    /// applies to its packet only.
    pub flow: bool,
    /// A firewall mark to set on the packet (live mode), if any.
    pub mark: Option<u32>,
    /// The rule behind `action` (e.g. a `noalert` drop rule), reported in drop events.
    pub cause: Option<Alert>,
    /// Stop inspecting the packet's flow after this packet (a rule with Suricata's `bypass`
    /// keyword matched): its later packets are accepted without detection.
    pub bypass: bool,
    /// Matches that raised no alert (`noalert`, an alert a `threshold` suppressed, a `pass`
    /// rule without the `alert` keyword): Suricata's `detect.alerts_suppressed`.
    pub suppressed: u32,
}

/// Detection logic plugged into the [`Engine`].
///
/// The engine decodes each packet, finds its flow, and calls [`Inspector::inspect`] with a
/// [`PacketInput`] (addresses, ports, flags, payload, flow direction/state) and the
/// inspector's own per-flow state. The inspector pushes [`Alert`]s into `alerts` (a buffer
/// the engine reuses; do not clear it) and returns an [`Outcome`]. It must not block or do
/// I/O: it runs on the packet path.
///
/// # Example: block a word in UDP payloads
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use verdict_engine::{Alert, AlertInfo, Engine, EngineConfig, Inspector, Outcome, RuleAction};
/// use verdict_rules::input::PacketInput;
///
/// struct NoSecrets { info: Arc<AlertInfo> }
///
/// impl Inspector for NoSecrets {
///     type FlowState = u32; // packets seen per flow
///     fn inspect(&mut self, _now: Duration, pkt: &PacketInput<'_>, flow: Option<&mut u32>,
///                alerts: &mut Vec<Alert>) -> Outcome {
///         if let Some(n) = flow { *n += 1; }
///         if pkt.payload.windows(6).any(|w| w == b"secret") {
///             alerts.push(Alert { action: RuleAction::Drop, info: self.info.clone(),
///                                 stream: false, tx_id: None, app: None });
///             return Outcome { action: Some(RuleAction::Drop), flow: true, ..Default::default() };
///         }
///         Outcome::default()
///     }
/// }
///
/// let info = Arc::new(AlertInfo { gid: 1, sid: 1, rev: 1, msg: "secret".into(),
///                                 severity: 3, ..Default::default() });
/// let mut engine = Engine::new(NoSecrets { info }, EngineConfig { ips: true, ..Default::default() });
/// # let _ = &mut engine;
/// ```
pub trait Inspector {
    /// Per-flow state kept by the inspector, created with `Default` when a flow starts.
    type FlowState: Default;

    /// Inspects one decoded packet. `flow` is `None` for packets the engine cannot track
    /// (never for decodable IP packets today).
    fn inspect(
        &mut self,
        now: Duration,
        packet: &PacketInput<'_>,
        flow: Option<&mut Self::FlowState>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome;

    /// Like [`Inspector::inspect`], with the facts some keywords need beyond
    /// [`PacketInput`] (raw transport header, VLAN ids, decoder events). The engine calls
    /// this one; the default forwards to [`Inspector::inspect`], so implementing `inspect`
    /// is enough.
    fn inspect_ext(
        &mut self,
        now: Duration,
        packet: &PacketInput<'_>,
        extra: &PacketExtra<'_>,
        flow: Option<&mut Self::FlowState>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        let _ = extra;
        self.inspect(now, packet, flow, alerts)
    }
}

/// The verdict for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through.
    Accept,
    /// Drop it.
    Drop,
    /// Drop it; the rule asked for a reject (RST / ICMP unreachable).
    Reject,
}

impl Verdict {
    /// The packet does not go through.
    pub fn is_drop(self) -> bool {
        !matches!(self, Verdict::Accept)
    }
}

/// Why a packet was dropped, as EVE's `drop.reason` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// A drop/reject rule matched this packet.
    Rules,
    /// An earlier packet of the flow matched a drop rule.
    FlowDrop,
    /// The packet could not be decoded and the engine drops invalid packets.
    DecodeError,
    /// IP reassembly could not take the fragment (its memory limit) and the
    /// [`EngineConfig::defrag_memcap_policy`] drops it.
    DefragMemcap,
}

impl DropReason {
    /// EVE's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Rules => "rules",
            DropReason::FlowDrop => "flow drop",
            DropReason::DecodeError => "decode error",
            DropReason::DefragMemcap => "defrag memcap",
        }
    }
}

/// Transport facts of a packet, for output (EVE `drop` events and the like).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Summary {
    /// TCP.
    Tcp {
        /// Flags byte.
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Window.
        window: u16,
    },
    /// UDP.
    Udp {
        /// UDP payload length plus header.
        len: u16,
    },
    /// ICMP/ICMPv6.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Echo id.
        id: Option<u16>,
        /// Echo sequence.
        seq: Option<u16>,
    },
    /// Other or undecodable transport.
    Other,
}

/// Copyable facts about an inspected packet, for outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSummary {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port (0 without ports).
    pub src_port: u16,
    /// Destination port (0 without ports).
    pub dst_port: u16,
    /// IP protocol number.
    pub proto: u8,
    /// The IP packet length.
    pub ip_len: usize,
    /// TTL / hop limit.
    pub ttl: u8,
    /// TOS / traffic class.
    pub tos: u8,
    /// IP id.
    pub ip_id: u32,
    /// Transport facts.
    pub l4: L4Summary,
    /// Flow id.
    pub flow_id: u64,
    /// Client to server.
    pub to_server: bool,
    /// Outer VLAN ids (`vlan_count` valid).
    pub vlan: [u16; 3],
    /// Number of VLAN ids.
    pub vlan_count: u8,
    /// The packet's flow, counters including this packet.
    pub flow: FlowSummary,
    /// Where this packet's transport payload sits in the buffer given to
    /// [`Engine::inspect`] (for payload logging): `buffer[payload.0..payload.0 + payload.1]`.
    pub payload: (usize, usize),
    /// Where this packet's IP header starts in that buffer (inner packets start inside it).
    pub ip_offset: usize,
    /// The flow's app-layer protocol, when detected (`http`, `tls`, `dns`).
    pub app_proto: Option<&'static str>,
}

/// Flow facts at the time of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSummary {
    /// Packets client -> server.
    pub pkts_toserver: u64,
    /// Packets server -> client.
    pub pkts_toclient: u64,
    /// Bytes client -> server.
    pub bytes_toserver: u64,
    /// Bytes server -> client.
    pub bytes_toclient: u64,
    /// When the flow's first packet was seen.
    pub start: Duration,
    /// Client address and port.
    pub client: (IpAddr, u16),
    /// Server address and port.
    pub server: (IpAddr, u16),
}

/// The engine's answer for one packet. Borrows the engine's alert buffer.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'e> {
    /// Accept or drop.
    pub verdict: Verdict,
    /// Mark to set, if the inspector asked for one.
    pub mark: Option<u32>,
    /// Alerts raised by this packet (pass rules raise none).
    pub alerts: &'e [Alert],
    /// The decoded packet's facts; `None` when it could not be decoded.
    pub packet: Option<PacketSummary>,
    /// Why it was dropped (`None` when accepted).
    pub drop_reason: Option<DropReason>,
    /// The first drop in this flow direction (for Suricata's `drop: flows: start` logging).
    pub first_drop_in_direction: bool,
    /// Why decoding failed, when it did.
    pub decode_error: Option<DecodeError>,
    /// A pass rule matched this flow (on this or an earlier packet): nothing more will be
    /// inspected in it, so a live driver may bypass the flow in the kernel.
    pub flow_passed: bool,
    /// A `bypass` rule matched this flow (on this or an earlier packet): nothing more will
    /// be inspected in it, so a live driver may bypass the flow in the kernel.
    pub flow_bypassed: bool,
    /// The rule that decided a drop/pass of this packet, even when it does not alert
    /// (`noalert`); Suricata's drop events report it.
    pub cause: Option<&'e Alert>,
    /// Packets found inside this one (tunnels), each inspected on its own.
    pub inner: &'e [InnerPacket],
    /// The inner packets' alerts (see [`Decision::alerts_of`]).
    pub inner_alerts: &'e [Alert],
    /// The datagram reassembled from fragments, when an inner packet has `pkt_src`
    /// [`PKT_SRC_DEFRAG`] (its `payload` offsets index this buffer, not the wire bytes).
    pub reassembled: &'e [u8],
    /// The reassembled stream window a stream alert ([`Alert::stream`]) of the wire packet
    /// matched, for EVE's `payload`; empty otherwise.
    pub stream_payload: &'e [u8],
}

/// Per-packet metadata from the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// How the bytes are framed: [`LinkType::Raw`] for NFQUEUE (L3), the capture's link type
    /// offline.
    pub link: LinkType,
}

impl Default for PacketMeta {
    fn default() -> Self {
        PacketMeta {
            link: LinkType::Raw,
        }
    }
}

/// Engine settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Inline/IPS mode: drop and reject rules drop.
    pub ips: bool,
    /// Drop packets that cannot be decoded (IPS mode only). Off by default: a decoder gap
    /// must not cut traffic.
    pub drop_invalid: bool,
    /// Flow table settings.
    pub flow: FlowConfig,
    /// Tunnel decapsulation settings.
    pub tunnels: TunnelConfig,
    /// Keep a record of every flow that ends, for [`Engine::take_ended_flows`].
    pub flow_events: bool,
    /// IPv4 reassembly: `None` turns it off (fragments are then only inspected one by one).
    pub defrag: Option<DefragConfig>,
    /// VLAN ids are part of the flow key (Suricata's `vlan.use-for-tracking`, on by
    /// default); off, both directions of a conversation tagged differently (or tagged one
    /// way only) are one flow.
    pub vlan_tracking: bool,
    /// TCP stream reassembly (per direction: depth, out-of-order memcap); `None` turns it
    /// off (segments are then inspected one by one, app-layer rules parse single payloads).
    pub stream: Option<StreamConfig>,
    /// App-layer limits over reassembled streams (body limits, ...).
    pub app: AppConfig,
    /// When a TCP flow ends (timeout, [`Engine::drain`]), inspect the stream data not
    /// inspected yet (out-of-order data released with gaps) on a pseudo packet, as
    /// Suricata's `stream (flow timeout)` packets; alerts go to
    /// [`Engine::take_stream_end_alerts`]. Off by default (a live driver has no packet left
    /// to drop then); `verdict pcap` turns it on.
    pub stream_end_inspection: bool,
    /// Checksum validation (Suricata's `-k` / `checksum-checks`), off by default.
    pub checksum: ChecksumMode,
    /// Most alerts kept per packet (Suricata's `packet-alert-max`, default
    /// [`PACKET_ALERT_MAX_DEFAULT`]; 0 means the default). When more rules match, the
    /// alerts of the rules first in evaluation order are kept (action order, then priority,
    /// then file order) and the rest are counted in [`EngineStats::alert_queue_overflow`];
    /// the actions of every matching rule still apply (a drop rule whose alert did not fit
    /// still drops).
    pub packet_alert_max: u16,
    /// What to do with a fragment IP reassembly cannot take (Suricata's
    /// `defrag.memcap-policy`): the fragment is never added to a datagram, and the policy
    /// decides whether it is inspected, accepted uninspected or dropped (IPS). Reassembly
    /// here makes room by forgetting its oldest datagram, so this happens only when
    /// [`Engine::simulate_defrag_memcap`] asks for it (Suricata's QA simulation).
    pub defrag_memcap_policy: ExceptionPolicy,
}

/// What the engine does with a packet it cannot handle fully (Suricata's exception
/// policies, e.g. `defrag.memcap-policy`). The `*Flow` and `Bypass` policies act on the packet
/// alone where there is no flow yet (IP reassembly comes before flow tracking). Drop
/// policies only drop in IPS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExceptionPolicy {
    /// Carry on as if nothing happened (the packet is inspected as usual).
    #[default]
    Ignore,
    /// Drop the packet, without inspecting it.
    DropPacket,
    /// Drop the packet and, where it has a flow, the rest of the flow.
    DropFlow,
    /// Accept the packet without inspecting it.
    PassPacket,
    /// Accept the packet and, where it has a flow, the rest of the flow, uninspected.
    PassFlow,
    /// Bypass the flow (here: like `PassFlow`).
    Bypass,
    /// Drop the packet and ask for a reject (here: like `DropPacket`).
    Reject,
}

impl ExceptionPolicy {
    /// Parses Suricata's names (`drop-packet`, `drop-flow`, `pass-packet`, `pass-flow`,
    /// `bypass`, `reject`, `ignore`); `auto` means `drop-flow` in IPS mode and `ignore`
    /// otherwise.
    pub fn parse(name: &str, ips: bool) -> Option<ExceptionPolicy> {
        Some(match name.trim() {
            "ignore" => ExceptionPolicy::Ignore,
            "drop-packet" => ExceptionPolicy::DropPacket,
            "drop-flow" => ExceptionPolicy::DropFlow,
            "pass-packet" => ExceptionPolicy::PassPacket,
            "pass-flow" => ExceptionPolicy::PassFlow,
            "bypass" => ExceptionPolicy::Bypass,
            "reject" => ExceptionPolicy::Reject,
            "auto" if ips => ExceptionPolicy::DropFlow,
            "auto" => ExceptionPolicy::Ignore,
            _ => return None,
        })
    }

    /// The policy's effect on one packet without a flow: `Some(true)` drop it (IPS mode
    /// only), `Some(false)` accept it uninspected, `None` inspect it as usual.
    fn on_packet(self, ips: bool) -> Option<bool> {
        match self {
            ExceptionPolicy::Ignore => None,
            ExceptionPolicy::DropPacket | ExceptionPolicy::DropFlow | ExceptionPolicy::Reject => {
                ips.then_some(true)
            }
            ExceptionPolicy::PassPacket | ExceptionPolicy::PassFlow | ExceptionPolicy::Bypass => {
                Some(false)
            }
        }
    }
}

/// Suricata's default `packet-alert-max`.
pub const PACKET_ALERT_MAX_DEFAULT: u16 = 15;

impl EngineConfig {
    /// The per-packet alert limit in force ([`EngineConfig::packet_alert_max`], 0 meaning
    /// the default).
    pub fn alert_limit(&self) -> usize {
        match self.packet_alert_max {
            0 => PACKET_ALERT_MAX_DEFAULT as usize,
            n => n as usize,
        }
    }
}

/// Checksum validation, as Suricata's `-k none|all|auto` (`checksum-checks: no|yes|auto`).
///
/// When validation is on, a TCP segment with an invalid checksum is not processed by the
/// stream engine (its flags do not move the session's TCP state; no reassembly, no app
/// layer, no stream events: Suricata's `stream.checksum-validation`) but is still inspected
/// by packet rules (its flow's packet counters count it), and counted in
/// [`EngineStats::invalid_checksum`]. Other protocols are not affected (the `*-csum`
/// keywords test checksums themselves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChecksumMode {
    /// No validation (`-k none`): what the kernel hands a live engine may carry offloaded,
    /// not yet computed checksums.
    #[default]
    Off,
    /// Validate every TCP segment (`-k all`).
    On,
    /// Validate, and stop validating when more than a tenth of the first
    /// [`CHECKSUM_SAMPLE`] packets had an invalid checksum (checksum offloading at capture
    /// time), as Suricata's `auto` does.
    Auto,
}

/// Packets `ChecksumMode::Auto` samples before it decides (Suricata's 1000).
pub const CHECKSUM_SAMPLE: u64 = 1000;

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ips: false,
            drop_invalid: false,
            flow: FlowConfig::default(),
            tunnels: TunnelConfig::default(),
            flow_events: false,
            defrag: Some(DefragConfig::default()),
            vlan_tracking: true,
            stream: Some(StreamConfig::default()),
            app: AppConfig::default(),
            stream_end_inspection: false,
            checksum: ChecksumMode::Off,
            packet_alert_max: PACKET_ALERT_MAX_DEFAULT,
            defrag_memcap_policy: ExceptionPolicy::Ignore,
        }
    }
}

/// Which tunnels are decapsulated and how their flows relate (Suricata's `decoder.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TunnelConfig {
    /// Decapsulate IP-in-IP / IPv6-in-IP (`decoder.ipv4.ipip.enabled`), on by default.
    pub ipip: bool,
    /// A flow-wide drop of an IP-in-IP inner flow also drops the outer flow
    /// (`decoder.ipv4.ipip.track-parent-flow`), off by default.
    pub ipip_track_parent_flow: bool,
    /// Decapsulate GRE (and ERSPAN), VXLAN and Geneve.
    pub others: bool,
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            ipip: true,
            ipip_track_parent_flow: false,
            others: true,
        }
    }
}

/// Engine counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Packets inspected.
    pub packets: u64,
    /// Bytes inspected (whole buffers).
    pub bytes: u64,
    /// Packets that failed to decode.
    pub invalid: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Packets dropped (wire packets; a packet whose tunnelled content is dropped counts once).
    pub dropped: u64,
    /// Packets accepted without detection because their flow was passed.
    pub passed: u64,
    /// Packets accepted without detection because a `bypass` rule matched their flow
    /// (Suricata's local bypass).
    pub bypassed: u64,
    /// Fragments IP reassembly could not take (its memory limit), whatever the policy did
    /// with them.
    pub defrag_memcap_hits: u64,
    /// Alerts that matched but did not fit in their packet's alert queue
    /// ([`EngineConfig::packet_alert_max`]; Suricata's `detect.alert_queue_overflow`).
    pub alert_queue_overflow: u64,
    /// Matches that raised no alert: `noalert` rules, thresholds, `pass` rules (Suricata's
    /// `detect.alerts_suppressed`).
    pub alerts_suppressed: u64,
    /// Dropped packets by reason (the wire packet's reason, else its first dropped inner
    /// packet's), as Suricata's `ips.drop_reason.*`.
    pub drop_reasons: DropReasonStats,
    /// TCP stream reassembly counters.
    pub stream: StreamStats,
    /// TCP segments with an invalid checksum, not given to the stream engine (checksum
    /// validation on, [`EngineConfig::checksum`]).
    pub invalid_checksum: u64,
}

/// Dropped packets counted by [`DropReason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropReasonStats {
    /// [`DropReason::Rules`].
    pub rules: u64,
    /// [`DropReason::FlowDrop`].
    pub flow_drop: u64,
    /// [`DropReason::DecodeError`].
    pub decode_error: u64,
    /// [`DropReason::DefragMemcap`].
    pub defrag_memcap: u64,
}

impl DropReasonStats {
    fn count(&mut self, reason: DropReason) {
        match reason {
            DropReason::Rules => self.rules += 1,
            DropReason::FlowDrop => self.flow_drop += 1,
            DropReason::DecodeError => self.decode_error += 1,
            DropReason::DefragMemcap => self.defrag_memcap += 1,
        }
    }
}

/// Keeps at most `limit` of the alerts appended after `before` (the first ones: the
/// inspector appends them in evaluation order) and counts the rest as overflow.
fn cap_alerts(alerts: &mut Vec<Alert>, before: usize, limit: usize, stats: &mut EngineStats) {
    let raised = alerts.len().saturating_sub(before);
    if raised > limit {
        alerts.truncate(before + limit);
        stats.alert_queue_overflow += (raised - limit) as u64;
    }
}

/// Why a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowEnd {
    /// Idle past its timeout.
    Timeout,
    /// Evicted because the flow table was full.
    Evicted,
    /// A new connection reused its tuple.
    Reused,
    /// The engine was drained (end of capture, shutdown).
    Shutdown,
}

impl FlowEnd {
    /// EVE's `flow.reason` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowEnd::Timeout => "timeout",
            FlowEnd::Evicted | FlowEnd::Reused => "forced",
            FlowEnd::Shutdown => "shutdown",
        }
    }
}

/// A flow that left the table, for flow records (EVE `flow` events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndedFlow {
    /// Flow id.
    pub flow_id: u64,
    /// IP protocol.
    pub proto: u8,
    /// Counters and endpoints.
    pub summary: FlowSummary,
    /// Last packet time.
    pub end: Duration,
    /// TCP state at the end (`None` for other protocols).
    pub tcp: verdict_flow::TcpState,
    /// Both directions were seen (TCP: handshake completed).
    pub established: bool,
    /// Any alert was raised on it.
    pub alerted: bool,
    /// It was dropped (IPS) / passed by rules.
    pub dropped: bool,
    /// A pass rule matched it.
    pub passed: bool,
    /// Why it ended.
    pub reason: FlowEnd,
}

impl EndedFlow {
    fn of<S>(f: &verdict_flow::Flow<FlowData<S>>, why: Removal, shutdown: bool) -> EndedFlow {
        let (lo, hi) = (
            (f.key.lo_addr, f.key.lo_port),
            (f.key.hi_addr, f.key.hi_port),
        );
        let (client, server) = match f.client {
            FlowKeyDir::LoToHi => (lo, hi),
            FlowKeyDir::HiToLo => (hi, lo),
        };
        let established = if f.key.proto == 6 {
            !matches!(
                f.tcp,
                verdict_flow::TcpState::None
                    | verdict_flow::TcpState::SynSent
                    | verdict_flow::TcpState::SynRecv
            )
        } else {
            f.both_ways()
        };
        EndedFlow {
            flow_id: f.id,
            proto: f.key.proto,
            summary: FlowSummary {
                pkts_toserver: f.to_server.pkts,
                pkts_toclient: f.to_client.pkts,
                bytes_toserver: f.to_server.bytes,
                bytes_toclient: f.to_client.bytes,
                start: f.first_seen,
                client,
                server,
            },
            end: f.last_seen,
            tcp: f.tcp,
            established,
            alerted: f.data.alerted,
            dropped: f.data.dropped,
            passed: f.data.passed,
            reason: if shutdown {
                FlowEnd::Shutdown
            } else {
                match why {
                    Removal::Expired => FlowEnd::Timeout,
                    Removal::Evicted => FlowEnd::Evicted,
                    Removal::Reused => FlowEnd::Reused,
                }
            },
        }
    }
}

/// Datagrams of a UDP flow its app-layer protocol is looked for in (EVE `app_proto`), so
/// that a flow of another protocol costs nothing after its start.
const UDP_DETECT_TRIES: u8 = 4;

/// `pkt_src` of the pseudo packet a flow's remaining stream data is inspected on when the
/// flow ends.
pub const PKT_SRC_STREAM_END: &str = "stream (flow timeout)";

/// An alert raised when a flow ended, on its remaining stream data
/// ([`EngineConfig::stream_end_inspection`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEndAlert {
    /// When (the flow's last packet time).
    pub ts: Duration,
    /// The pseudo packet: the flow's addresses and ports in the data's direction, no
    /// payload of its own.
    pub packet: PacketSummary,
    /// The alert.
    pub alert: Alert,
    /// The stream data it was matched on (for EVE's `payload`).
    pub payload: Vec<u8>,
}

/// Inspects what is left of a flow's streams when it ends.
fn stream_end<I: Inspector>(
    inspector: &mut I,
    f: &mut verdict_flow::Flow<FlowData<I::FlowState>>,
    stats: &mut EngineStats,
    out: &mut Vec<StreamEndAlert>,
    alert_limit: usize,
) {
    let FlowData {
        dropped,
        passed,
        bypassed,
        stream,
        inspector: state,
        ..
    } = &mut f.data;
    let Some(st) = stream.as_deref_mut() else {
        return;
    };
    if *dropped || *passed || *bypassed {
        return;
    }
    let (lo, hi) = (
        (f.key.lo_addr, f.key.lo_port),
        (f.key.hi_addr, f.key.hi_port),
    );
    let (client, server) = match f.client {
        FlowKeyDir::LoToHi => (lo, hi),
        FlowKeyDir::HiToLo => (hi, lo),
    };
    let established = !matches!(
        f.tcp,
        verdict_flow::TcpState::None
            | verdict_flow::TcpState::SynSent
            | verdict_flow::TcpState::SynRecv
    );
    for to_server in [true, false] {
        st.begin(to_server);
        let delivered = st
            .close(to_server, &mut stats.stream)
            .saturating_add(st.take_pending(to_server));
        st.app.end(to_server);
        let messages: Vec<verdict_applayer::flow::AppMessage<'_>> =
            st.app.messages(to_server).collect();
        if delivered == 0 && messages.is_empty() {
            continue;
        }
        let (window, new_from) = st.window(to_server, delivered);
        let (src, dst) = if to_server {
            (client, server)
        } else {
            (server, client)
        };
        let input = PacketInput {
            ip: IpInput {
                src: src.0,
                dst: dst.0,
                proto: 6,
                ttl: 0,
                tos: 0,
                id: 0,
                ipopts: 0,
                fragbits: 0,
                frag_offset: 0,
                header: &[],
            },
            l4: L4Input::Tcp {
                src_port: src.1,
                dst_port: dst.1,
                flags: 0,
                seq: 0,
                ack: 0,
                window: 0,
            },
            payload: &[],
            flow: FlowInput {
                tracked: true,
                to_server,
                established,
                from_stream: false,
            },
        };
        let extra = PacketExtra {
            app: Some(verdict_rules::input::AppInput {
                proto: st.app.proto(),
                messages: &messages,
                decode: st.app.config().decode,
            }),
            stream: (delivered > 0).then_some(verdict_rules::input::StreamInput {
                window,
                new_from,
                payload_only: false,
                inspected: (0, 0),
            }),
            ..PacketExtra::default()
        };
        let mut alerts = Vec::new();
        let outcome = inspector.inspect_ext(f.last_seen, &input, &extra, Some(state), &mut alerts);
        cap_alerts(&mut alerts, 0, alert_limit, stats);
        attach_app(
            &mut alerts,
            &messages,
            None,
            st.last_request.as_ref(),
            to_server,
        );
        stats.alerts_suppressed += u64::from(outcome.suppressed);
        stats.alerts += alerts.len() as u64;
        let packet = PacketSummary {
            src: src.0,
            dst: dst.0,
            src_port: src.1,
            dst_port: dst.1,
            proto: 6,
            ip_len: 0,
            ttl: 0,
            tos: 0,
            ip_id: 0,
            l4: L4Summary::Tcp {
                flags: 0,
                seq: 0,
                ack: 0,
                window: 0,
            },
            flow_id: f.id,
            to_server,
            vlan: [0; 3],
            vlan_count: 0,
            flow: FlowSummary {
                pkts_toserver: f.to_server.pkts,
                pkts_toclient: f.to_client.pkts,
                bytes_toserver: f.to_server.bytes,
                bytes_toclient: f.to_client.bytes,
                start: f.first_seen,
                client,
                server,
            },
            payload: (0, 0),
            ip_offset: 0,
            app_proto: st.app.proto().map(|p| p.name()),
        };
        let payload = if delivered > 0 {
            st.log_window(to_server, delivered)
        } else {
            window.to_vec()
        };
        for alert in alerts {
            out.push(StreamEndAlert {
                ts: f.last_seen,
                packet,
                alert,
                payload: payload.clone(),
            });
        }
    }
}

/// What the engine keeps per flow.
#[derive(Debug, Default)]
pub struct FlowData<S> {
    /// A drop rule matched an earlier packet (IPS).
    pub dropped: bool,
    /// A pass rule matched an earlier packet.
    pub passed: bool,
    /// A `bypass` rule matched an earlier packet: no more detection in this flow.
    pub bypassed: bool,
    /// A drop was already reported client -> server.
    drop_seen_ts: bool,
    /// A drop was already reported server -> client.
    drop_seen_tc: bool,
    /// Any alert was raised on this flow.
    pub alerted: bool,
    /// The flow of IP-level tunnel carriers (GRE, IP-in-IP) that were decapsulated: Suricata
    /// gives such packets no flow, so rules see them without one and no flow record is
    /// written for it.
    pub carrier: bool,
    /// The inspector's state.
    pub inspector: S,
    /// TCP stream reassembly and app-layer state (TCP flows, created on the first segment).
    stream: Option<Box<stream::TcpStream>>,
    /// The app-layer protocol of a UDP flow, detected on its first datagram that shows one.
    udp_proto: Option<verdict_applayer::AppProto>,
    /// Datagrams of the flow detection ran on (it gives up after [`UDP_DETECT_TRIES`]).
    udp_tries: u8,
}

/// The pipeline. One per thread (queue); the inspector's shared data (a rule set) is shared
/// through `Arc` by the inspector itself.
pub struct Engine<I: Inspector> {
    cfg: EngineConfig,
    inspector: I,
    flows: FlowTable<FlowData<I::FlowState>>,
    alerts: Vec<Alert>,
    cause: Option<Alert>,
    inner: Vec<InnerPacket>,
    inner_alerts: Vec<Alert>,
    ended: Vec<EndedFlow>,
    defrag: Option<Defragmenter>,
    overlaps6: Option<FragOverlapTracker>,
    reassembled: Vec<u8>,
    stream_payload: Vec<u8>,
    stream_end: Vec<StreamEndAlert>,
    stats: EngineStats,
    /// The next fragment is treated as hitting the reassembly memory limit.
    simulate_defrag_memcap: bool,
}

impl<I: Inspector> Engine<I> {
    /// A new engine around an inspector.
    pub fn new(inspector: I, cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            inspector,
            flows: FlowTable::new(cfg.flow),
            alerts: Vec::with_capacity(16),
            cause: None,
            inner: Vec::new(),
            inner_alerts: Vec::new(),
            ended: Vec::new(),
            defrag: cfg.defrag.map(Defragmenter::new),
            overlaps6: cfg.defrag.map(FragOverlapTracker::new),
            reassembled: Vec::new(),
            stream_payload: Vec::new(),
            stream_end: Vec::new(),
            stats: EngineStats::default(),
            simulate_defrag_memcap: false,
        }
    }

    /// Makes the next packet, if it is a fragment, behave as if IP reassembly had hit its
    /// memory limit ([`EngineConfig::defrag_memcap_policy`] applies); for tests of the
    /// policy, like Suricata's `--simulate-packet-defrag-memcap`. Only the next packet is
    /// concerned.
    pub fn simulate_defrag_memcap(&mut self) {
        self.simulate_defrag_memcap = true;
    }

    /// Settings.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// The inspector (e.g. to swap a rule set).
    pub fn inspector_mut(&mut self) -> &mut I {
        &mut self.inspector
    }

    /// The inspector.
    pub fn inspector(&self) -> &I {
        &self.inspector
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Flow table counters.
    pub fn flow_stats(&self) -> FlowStats {
        self.flows.stats()
    }

    /// Times out idle flows at `now`; returns how many were removed. With
    /// [`EngineConfig::flow_events`], each is reported by [`Engine::take_ended_flows`].
    pub fn expire(&mut self, now: Duration) -> usize {
        if let Some(d) = self.defrag.as_mut() {
            d.expire(now);
        }
        let (ended, on) = (&mut self.ended, self.cfg.flow_events);
        let end = self.cfg.stream_end_inspection;
        let limit = self.cfg.alert_limit();
        let (inspector, stats, out) = (&mut self.inspector, &mut self.stats, &mut self.stream_end);
        self.flows.expire(now, |mut f, why| {
            if end {
                stream_end(inspector, &mut f, stats, out, limit);
            }
            if on && !f.data.carrier {
                ended.push(EndedFlow::of(&f, why, false));
            }
        })
    }

    /// Hands over the alerts raised on flows' remaining stream data when they ended
    /// ([`EngineConfig::stream_end_inspection`]), oldest first. Call it after
    /// [`Engine::expire`] and [`Engine::drain`].
    pub fn take_stream_end_alerts(&mut self, mut f: impl FnMut(&StreamEndAlert)) {
        for a in self.stream_end.drain(..) {
            f(&a);
        }
    }

    /// Ends every flow (end of a capture, shutdown); reported like [`Engine::expire`].
    pub fn drain(&mut self) {
        let (ended, on) = (&mut self.ended, self.cfg.flow_events);
        let end = self.cfg.stream_end_inspection;
        let limit = self.cfg.alert_limit();
        let (inspector, stats, out) = (&mut self.inspector, &mut self.stats, &mut self.stream_end);
        self.flows.drain(|mut f, why| {
            if end {
                stream_end(inspector, &mut f, stats, out, limit);
            }
            if on && !f.data.carrier {
                ended.push(EndedFlow::of(&f, why, true));
            }
        });
    }

    /// Hands over the flows that ended since the last call (expired, evicted, replaced or
    /// drained), oldest first. Only filled with [`EngineConfig::flow_events`]; call it after
    /// each [`Engine::inspect`] / [`Engine::expire`] so the buffer stays small.
    pub fn take_ended_flows(&mut self, mut f: impl FnMut(&EndedFlow)) {
        for e in self.ended.drain(..) {
            f(&e);
        }
    }

    /// Inspects one packet, and the packets tunnelled inside it (IP-in-IP, GRE, VXLAN,
    /// Geneve; at most [`MAX_TUNNEL_DEPTH`] levels), each as its own packet with its own
    /// flow, as Suricata does. The packet is dropped if it or any inner packet is dropped.
    pub fn inspect(&mut self, now: Duration, bytes: &[u8], meta: PacketMeta) -> Decision<'_> {
        self.alerts.clear();
        self.stream_payload.clear();
        self.inner.clear();
        self.inner_alerts.clear();
        self.cause = None;
        self.stats.packets += 1;
        self.stats.bytes += bytes.len() as u64;
        if self.cfg.checksum == ChecksumMode::Auto && self.stats.packets == CHECKSUM_SAMPLE {
            let bad = self.stats.invalid_checksum;
            if bad > 0 && self.stats.packets / bad < 10 {
                self.cfg.checksum = ChecksumMode::Off;
            }
        }
        let mut pkt = match verdict_decode::decode(meta.link, bytes) {
            Ok(p) => p,
            Err(e) => {
                self.stats.invalid += 1;
                let drop = self.cfg.ips && self.cfg.drop_invalid;
                if drop {
                    self.stats.dropped += 1;
                    self.stats.drop_reasons.count(DropReason::DecodeError);
                }
                return Decision {
                    verdict: if drop { Verdict::Drop } else { Verdict::Accept },
                    mark: None,
                    alerts: &[],
                    packet: None,
                    drop_reason: drop.then_some(DropReason::DecodeError),
                    first_drop_in_direction: drop,
                    decode_error: Some(e),
                    flow_passed: false,
                    flow_bypassed: false,
                    cause: None,
                    inner: &[],
                    inner_alerts: &[],
                    reassembled: &[],
                    stream_payload: &[],
                };
            }
        };
        if let (Some(t), true) = (self.overlaps6.as_mut(), pkt.ip.is_fragment) {
            if pkt.ip.version == verdict_decode::IpVersion::V6 {
                let overlap = t.observe(
                    now,
                    (pkt.ip.src, pkt.ip.dst, pkt.ip.id),
                    pkt.ip.frag_offset as usize * 8,
                    pkt.ip.frag_data_len,
                    pkt.ip.fragbits & 1 == 1,
                );
                if overlap {
                    pkt.ip.events |= verdict_decode::event::IPV6_FRAG_OVERLAP;
                }
            }
        }
        let mut layers = Layers {
            cfg: &self.cfg,
            flows: &mut self.flows,
            inspector: &mut self.inspector,
            stats: &mut self.stats,
            ended: &mut self.ended,
            stream_payload: &mut self.stream_payload,
            pre_detect: None,
        };
        // IP reassembly's memory limit (simulated): the fragment stays out of reassembly and
        // the exception policy says what happens to it.
        let defrag_memcap = std::mem::take(&mut self.simulate_defrag_memcap)
            && pkt.ip.is_fragment
            && self.defrag.is_some();
        if defrag_memcap {
            layers.stats.defrag_memcap_hits += 1;
            layers.pre_detect = self.cfg.defrag_memcap_policy.on_packet(self.cfg.ips);
        }
        let root = layers.inspect_packet(now, bytes, bytes.len(), &pkt, &mut self.alerts);
        layers.pre_detect = None;
        let mut verdict = root.verdict;
        let mut mark = root.mark;
        let mut outer = pkt;
        let mut outer_summary = root.summary;
        let mut outer_handle = root.handle;
        let tc = layers.cfg.tunnels;
        for depth in 1..=MAX_TUNNEL_DEPTH {
            let Some(t) = outer.tunnel() else { break };
            let ipip = matches!(t.kind, TunnelKind::Ipv4 | TunnelKind::Ipv6);
            if !(if ipip { tc.ipip } else { tc.others }) {
                break;
            }
            let Ok(mut inner) = verdict_decode::decode(t.link, t.inner) else {
                break;
            };
            if let Some(v) = t.vlan {
                inner.link.push_outer_vlan(v);
            }
            let start = self.inner_alerts.len();
            let inner_len = t.inner.len();
            let r = layers.inspect_packet(now, bytes, inner_len, &inner, &mut self.inner_alerts);
            if r.verdict.is_drop() && !verdict.is_drop() {
                verdict = r.verdict;
            }
            if ipip && tc.ipip_track_parent_flow && r.flow_dropped {
                if let Some(f) = layers.flows.get_mut(outer_handle) {
                    f.data.dropped = true;
                }
            }
            mark = mark.or(r.mark);
            self.inner.push(InnerPacket {
                packet: r.summary,
                pkt_src: t.kind.pkt_src(),
                depth: depth as u8,
                tunnel: outer_summary,
                alerts: start..self.inner_alerts.len(),
                drop_reason: r.reason,
                first_drop_in_direction: r.first_drop,
                cause: r.cause,
            });
            outer = inner;
            outer_summary = r.summary;
            outer_handle = r.handle;
        }
        // IPv4 and IPv6 reassembly: the datagram a fragment completes is inspected as a packet of
        // its own (Suricata's `defrag` pseudo packet); the completing fragment carries its
        // verdict.
        if let (Some(defrag), true) = (self.defrag.as_mut(), pkt.ip.is_fragment && !defrag_memcap) {
            let off = offset_in(bytes, pkt.ip.header);
            let ip_bytes = bytes.get(off..off + pkt.ip.total_len).unwrap_or(&[]);
            if defrag.push(now, ip_bytes, &mut self.reassembled) {
                if let Ok(whole) = verdict_decode::decode_ip(&self.reassembled) {
                    let start = self.inner_alerts.len();
                    // Suricata rebuilds the datagram behind the capture's link header.
                    let len = off + self.reassembled.len();
                    let r = layers.inspect_packet(
                        now,
                        &self.reassembled,
                        len,
                        &whole,
                        &mut self.inner_alerts,
                    );
                    if r.verdict.is_drop() && !verdict.is_drop() {
                        verdict = r.verdict;
                    }
                    mark = mark.or(r.mark);
                    self.inner.push(InnerPacket {
                        packet: r.summary,
                        pkt_src: PKT_SRC_DEFRAG,
                        depth: 1,
                        tunnel: root.summary,
                        alerts: start..self.inner_alerts.len(),
                        drop_reason: r.reason,
                        first_drop_in_direction: r.first_drop,
                        cause: r.cause,
                    });
                }
            }
        }
        if verdict.is_drop() {
            // Counted per wire packet, whichever layer decided.
            self.stats.dropped += 1;
            let reason = root
                .reason
                .or_else(|| self.inner.iter().find_map(|i| i.drop_reason));
            if let Some(r) = reason {
                self.stats.drop_reasons.count(r);
            }
        }
        self.cause = root.cause;
        Decision {
            verdict,
            mark,
            alerts: &self.alerts,
            packet: Some(root.summary),
            drop_reason: root.reason,
            first_drop_in_direction: root.first_drop,
            decode_error: None,
            flow_passed: root.flow_passed,
            flow_bypassed: root.flow_bypassed,
            cause: self.cause.as_ref(),
            inner: &self.inner,
            inner_alerts: &self.inner_alerts,
            reassembled: &self.reassembled,
            stream_payload: &self.stream_payload,
        }
    }
}

/// `pkt_src` of a datagram reassembled from fragments.
pub const PKT_SRC_DEFRAG: &str = "defrag";

/// How deep tunnels are followed.
pub const MAX_TUNNEL_DEPTH: usize = 3;

/// A packet found inside another (tunnel), inspected on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnerPacket {
    /// The inner packet's facts (its own flow).
    pub packet: PacketSummary,
    /// Suricata's `pkt_src` for it, e.g. `ipv4 tunnel`, `gre tunnel`.
    pub pkt_src: &'static str,
    /// 1 for a packet directly inside the wire packet, 2 inside that, ...
    pub depth: u8,
    /// The packet that carried it.
    pub tunnel: PacketSummary,
    /// Its alerts, as a range of [`Decision::inner_alerts`].
    pub alerts: std::ops::Range<usize>,
    /// Why it was dropped, if it was.
    pub drop_reason: Option<DropReason>,
    /// First drop in its flow direction.
    pub first_drop_in_direction: bool,
    /// The rule that decided its drop/pass.
    pub cause: Option<Alert>,
}

impl<'e> Decision<'e> {
    /// The alerts of an inner packet.
    pub fn alerts_of(&self, inner: &InnerPacket) -> &'e [Alert] {
        self.inner_alerts.get(inner.alerts.clone()).unwrap_or(&[])
    }
}

/// The result of inspecting one (outer or inner) packet.
struct LayerResult {
    summary: PacketSummary,
    handle: FlowHandle,
    flow_dropped: bool,
    verdict: Verdict,
    reason: Option<DropReason>,
    first_drop: bool,
    flow_passed: bool,
    flow_bypassed: bool,
    mark: Option<u32>,
    cause: Option<Alert>,
}

/// True when `pkt` (a TCP segment inside `base`) carries an invalid checksum; false when its
/// header bytes cannot be found.
fn bad_tcp_checksum(base: &[u8], pkt: &verdict_decode::Packet<'_>) -> bool {
    let ip_end = offset_in(base, pkt.ip.header) + pkt.ip.header.len();
    match base.get(ip_end..offset_in(base, pkt.payload)) {
        Some(header) if !header.is_empty() => {
            !verdict_decode::checksum::transport_ok(pkt.ip.src, pkt.ip.dst, 6, header, pkt.payload)
        }
        _ => false,
    }
}

/// The engine's parts a layer inspection needs (split borrows of the engine).
struct Layers<'a, I: Inspector> {
    cfg: &'a EngineConfig,
    flows: &'a mut FlowTable<FlowData<I::FlowState>>,
    inspector: &'a mut I,
    stats: &'a mut EngineStats,
    ended: &'a mut Vec<EndedFlow>,
    stream_payload: &'a mut Vec<u8>,
    /// An exception policy's decision for the packet, taken before detection:
    /// `Some(true)` drop it, `Some(false)` accept it uninspected.
    pre_detect: Option<bool>,
}

impl<I: Inspector> Layers<'_, I> {
    /// Inspects one packet layer. `pkt_len` is the packet's length as Suricata counts it
    /// in flow byte counters: the whole captured frame (link header included) for the
    /// wire packet, the bytes from the inner header on for a tunnelled packet.
    fn inspect_packet(
        &mut self,
        now: Duration,
        base: &[u8],
        pkt_len: usize,
        pkt: &verdict_decode::Packet<'_>,
        alerts: &mut Vec<Alert>,
    ) -> LayerResult {
        let (mut key, dir) = pkt.flow_key();
        if !self.cfg.vlan_tracking {
            key.vlan = 0;
        }
        // Checksum validation: a TCP segment with a bad checksum is not processed by the
        // stream engine: its flags do not move the session's state, its data is not
        // reassembled (Suricata's `stream.checksum-validation`).
        let bad_checksum = self.cfg.checksum != ChecksumMode::Off
            && matches!(pkt.l4, L4::Tcp { .. })
            && bad_tcp_checksum(base, pkt);
        if bad_checksum {
            self.stats.invalid_checksum += 1;
        }
        let tcp_flags = match pkt.l4 {
            L4::Tcp { flags, .. } => Some(if bad_checksum { 0 } else { flags }),
            _ => None,
        };
        let (ended, on) = (&mut *self.ended, self.cfg.flow_events);
        let tracked = self
            .flows
            .track(now, key, dir, tcp_flags, pkt_len, |f, why| {
                if on && !f.data.carrier {
                    ended.push(EndedFlow::of(&f, why, false));
                }
            });
        let (sp, dp) = pkt.l4.ports().unwrap_or((0, 0));
        let flow = self
            .flows
            .get_mut(tracked.handle)
            .expect("the flow just tracked is in the table");
        let (lo, hi) = ((key.lo_addr, key.lo_port), (key.hi_addr, key.hi_port));
        let (client, server) = match flow.client {
            FlowKeyDir::LoToHi => (lo, hi),
            FlowKeyDir::HiToLo => (hi, lo),
        };
        let summary = PacketSummary {
            src: pkt.ip.src,
            dst: pkt.ip.dst,
            src_port: sp,
            dst_port: dp,
            proto: pkt.ip.proto,
            ip_len: pkt.ip.total_len,
            ttl: pkt.ip.ttl,
            tos: pkt.ip.tos,
            ip_id: pkt.ip.id,
            l4: match pkt.l4 {
                L4::Tcp {
                    flags,
                    seq,
                    ack,
                    window,
                    ..
                } => L4Summary::Tcp {
                    flags,
                    seq,
                    ack,
                    window,
                },
                L4::Udp { .. } => L4Summary::Udp {
                    len: (pkt.payload.len() + 8) as u16,
                },
                L4::Icmp {
                    icmp_type,
                    code,
                    id,
                    seq,
                    ..
                } => L4Summary::Icmp {
                    icmp_type,
                    code,
                    id,
                    seq,
                },
                _ => L4Summary::Other,
            },
            flow_id: tracked.flow_id,
            to_server: tracked.to_server,
            vlan: pkt.link.vlan,
            vlan_count: pkt.link.vlan_count,
            payload: (offset_in(base, pkt.payload), pkt.payload.len()),
            ip_offset: offset_in(base, pkt.ip.header),
            app_proto: flow
                .data
                .stream
                .as_ref()
                .and_then(|s| s.app.proto())
                .map(|p| p.name()),
            flow: FlowSummary {
                pkts_toserver: flow.to_server.pkts,
                pkts_toclient: flow.to_client.pkts,
                bytes_toserver: flow.to_server.bytes,
                bytes_toclient: flow.to_client.bytes,
                start: flow.first_seen,
                client,
                server,
            },
        };
        // Streams are reassembled once the session is tracked: from the SYN on, or from a
        // midstream pickup when that is on; not for a session whose start was not seen.
        let tcp_state = flow.tcp;
        let stream_on = tcp_state != verdict_flow::TcpState::None;
        // A GRE or IP-in-IP packet whose content is decapsulated is, to Suricata, a tunnel
        // carrier without a flow: rules see it flowless (IP-only rules on every packet,
        // flow keywords and flowbits fail), and no flow record is written for it.
        let carrier = pkt.tunnel().is_some_and(|t| match t.kind {
            TunnelKind::Ipv4 | TunnelKind::Ipv6 => self.cfg.tunnels.ipip,
            TunnelKind::Gre => self.cfg.tunnels.others,
            TunnelKind::Vxlan | TunnelKind::Geneve => false,
        });
        let fd = &mut flow.data;
        fd.carrier |= carrier;
        let mut res = LayerResult {
            summary,
            handle: tracked.handle,
            flow_dropped: fd.dropped,
            verdict: Verdict::Accept,
            reason: None,
            first_drop: false,
            flow_passed: fd.passed,
            flow_bypassed: fd.bypassed,
            mark: None,
            cause: None,
        };
        if fd.dropped {
            res.verdict = Verdict::Drop;
            res.reason = Some(DropReason::FlowDrop);
            res.first_drop = first_drop(fd, tracked.to_server);
            return res;
        }
        if fd.passed {
            self.stats.passed += 1;
            return res;
        }
        if fd.bypassed {
            self.stats.bypassed += 1;
            return res;
        }
        match self.pre_detect {
            Some(true) => {
                res.verdict = Verdict::Drop;
                res.reason = Some(DropReason::DefragMemcap);
                res.first_drop = first_drop(fd, tracked.to_server);
                return res;
            }
            Some(false) => return res,
            None => {}
        }
        // The raw transport header: between the IP header and the payload; for SCTP the
        // whole SCTP packet (common header and chunks), which its keywords read.
        let ip_end = offset_in(base, pkt.ip.header) + pkt.ip.header.len();
        let l4_header = match pkt.l4 {
            L4::Tcp { .. } | L4::Udp { .. } | L4::Icmp { .. } => base
                .get(ip_end..offset_in(base, pkt.payload))
                .unwrap_or(&[]),
            L4::Sctp { .. } => base
                .get(ip_end..offset_in(base, pkt.payload) + pkt.payload.len())
                .unwrap_or(&[]),
            _ => &[],
        };
        let input = PacketInput {
            ip: IpInput {
                src: pkt.ip.src,
                dst: pkt.ip.dst,
                proto: pkt.ip.proto,
                ttl: pkt.ip.ttl,
                tos: pkt.ip.tos,
                id: pkt.ip.id,
                ipopts: pkt.ip.ipopts,
                fragbits: pkt.ip.fragbits,
                frag_offset: pkt.ip.frag_offset,
                header: pkt.ip.header,
            },
            l4: match pkt.l4 {
                L4::Tcp {
                    src_port,
                    dst_port,
                    flags,
                    seq,
                    ack,
                    window,
                    ..
                } => L4Input::Tcp {
                    src_port,
                    dst_port,
                    flags,
                    seq,
                    ack,
                    window,
                },
                L4::Udp { src_port, dst_port } => L4Input::Udp { src_port, dst_port },
                L4::Icmp {
                    icmp_type,
                    code,
                    id,
                    seq,
                    v6,
                } => L4Input::Icmp {
                    icmp_type,
                    code,
                    id,
                    seq,
                    v6,
                },
                // The rules contract has no SCTP variant yet: SCTP rules see no ports.
                L4::Sctp { .. } | L4::Fragment | L4::Malformed | L4::Other => L4Input::Other,
            },
            // Like Suricata, IP-in-IP and GRE carriers have no payload of their own: the
            // inner packet is inspected separately.
            payload: if matches!(pkt.l4, L4::Other) && matches!(pkt.ip.proto, 4 | 41 | 47) {
                &[]
            } else if matches!(pkt.l4, L4::Sctp { .. }) {
                // As Suricata: an SCTP packet's payload is its first DATA chunk's user data
                // (none without one); `sctp.chunk_data` reaches every DATA chunk.
                verdict_rules::input::sctp_data(l4_header)
                    .next()
                    .unwrap_or(&[])
            } else {
                pkt.payload
            },
            flow: FlowInput {
                tracked: !carrier,
                to_server: tracked.to_server,
                // Data on the ACK that completes the handshake is stream data of an
                // established session (Suricata's stream engine moves the session to
                // established before detection sees that packet).
                established: (!carrier && tracked.established)
                    || (stream_on
                        && !pkt.payload.is_empty()
                        && matches!(tcp_state, verdict_flow::TcpState::Established)),
                from_stream: false,
            },
        };
        let before = alerts.len();
        let mut event_names = [""; verdict_decode::event::MAX];
        let mut n_events = 0;
        for (slot, name) in event_names
            .iter_mut()
            .zip(verdict_decode::event::names(pkt.ip.events))
        {
            *slot = name;
            n_events += 1;
        }
        // TCP: reassemble, frame app-layer messages, and give rules what this packet added.
        let mut stream_events: [&str; 5] = [""; 5];
        let mut n_stream_events = 0;
        let mut fed = None;
        if let (
            Some(scfg),
            L4::Tcp {
                seq, ack, flags, ..
            },
            true,
        ) = (self.cfg.stream, pkt.l4, stream_on && !bad_checksum)
        {
            let st = fd.stream.get_or_insert_with(|| {
                Box::new(stream::TcpStream::new(
                    scfg,
                    self.cfg.app,
                    client.1,
                    server.1,
                ))
            });
            // A server answer to the SYN with timestamps the SYN did not offer (or another
            // echo) is not the session's: Suricata's stream engine flags and ignores it (a
            // forged RST or FIN then closes nothing).
            let invalid_ts = st.invalid_timestamp(tracked.to_server, flags, l4_header);
            if invalid_ts {
                stream_events[n_stream_events] = "pkt_invalid_timestamp";
                n_stream_events += 1;
            } else {
                if st.rst_injection(tracked.to_server, flags) {
                    stream_events[n_stream_events] = "suspected_rst_inject";
                    n_stream_events += 1;
                }
                if let Some(ev) =
                    st.handshake(tracked.to_server, flags, seq, ack, pkt.payload.len())
                {
                    stream_events[n_stream_events] = ev;
                    n_stream_events += 1;
                }
            }
            let f = if invalid_ts {
                st.begin(tracked.to_server);
                stream::Fed::default()
            } else {
                st.feed(
                    tracked.to_server,
                    seq,
                    (flags & 0x10 != 0).then_some(ack),
                    flags,
                    pkt.payload,
                    self.cfg.ips,
                    &mut self.stats.stream,
                )
            };
            if f.update.overlap_different {
                stream_events[n_stream_events] = verdict_stream::Event::OverlapDifferentData.name();
                n_stream_events += 1;
            }
            if f.gap {
                stream_events[n_stream_events] = verdict_stream::Event::SeqGap.name();
                n_stream_events += 1;
            }
            fed = Some(f);
            // The protocol this packet's data revealed is the flow's from now on (EVE
            // `app_proto` of its alerts, as Suricata logs the flow's protocol after parsing).
            res.summary.app_proto = st.app.proto().map(|p| p.name());
        }
        if let (L4::Udp { src_port, dst_port }, None, true) = (
            pkt.l4,
            fd.udp_proto,
            fd.udp_tries < UDP_DETECT_TRIES && !pkt.payload.is_empty(),
        ) {
            fd.udp_tries += 1;
            fd.udp_proto = verdict_applayer::detect(
                pkt.payload,
                verdict_applayer::Transport::Udp,
                src_port,
                dst_port,
            );
        }
        if let Some(p) = fd.udp_proto {
            res.summary.app_proto = Some(p.name());
        }
        let st = fd.stream.as_deref();
        let messages: Vec<verdict_applayer::flow::AppMessage<'_>> = match st {
            Some(s) => s.app.messages(tracked.to_server).collect(),
            None => Vec::new(),
        };
        let stream_in = match (st, &fed) {
            (Some(s), Some(f)) if f.delivered > 0 => {
                let (window, new_from) = s.window(tracked.to_server, f.delivered);
                Some(verdict_rules::input::StreamInput {
                    window,
                    new_from,
                    payload_only: f.payload_only,
                    inspected: s.inspected_in_window(tracked.to_server, window.len()),
                })
            }
            (
                Some(s),
                Some(stream::Fed {
                    ooo_from: Some(from),
                    ..
                }),
            ) => Some(verdict_rules::input::StreamInput {
                window: &s.ooo_window,
                new_from: *from,
                payload_only: false,
                inspected: (0, 0),
            }),
            _ => None,
        };
        let extra = PacketExtra {
            l4_header,
            vlan_ids: &pkt.link.vlan[..(pkt.link.vlan_count as usize).min(3)],
            decode_events: &event_names[..n_events],
            stream_events: &stream_events[..n_stream_events],
            app: st.map(|s| verdict_rules::input::AppInput {
                proto: s.app.proto(),
                messages: &messages,
                decode: s.app.config().decode,
            }),
            stream: stream_in,
        };
        let out = self.inspector.inspect_ext(
            now,
            &input,
            &extra,
            (!carrier).then_some(&mut fd.inspector),
            alerts,
        );
        if let Some(s) = stream_in {
            if alerts
                .get(before..)
                .is_some_and(|a| a.iter().any(|a| a.stream))
                || out.cause.as_ref().is_some_and(|c| c.stream)
            {
                self.stream_payload.clear();
                match (fd.stream.as_deref(), &fed) {
                    // The window the packet's delivered data made, gaps shown.
                    (Some(st), Some(f)) if f.delivered > 0 => {
                        *self.stream_payload = st.log_window(tracked.to_server, f.delivered);
                    }
                    _ => self.stream_payload.extend_from_slice(s.window),
                }
            }
        }
        cap_alerts(alerts, before, self.cfg.alert_limit(), self.stats);
        if alerts.len() > before {
            let udp = match (pkt.l4, fd.udp_proto) {
                (L4::Udp { .. }, Some(p)) => Some((p, pkt.payload)),
                _ => None,
            };
            let request = st.and_then(|s| s.last_request.as_ref());
            attach_app(
                &mut alerts[before..],
                &messages,
                udp,
                request,
                tracked.to_server,
            );
        }
        drop(messages);
        if tracked.to_server {
            if let Some(s) = fd.stream.as_deref_mut() {
                s.note_request();
            }
        }
        self.stats.alerts_suppressed += u64::from(out.suppressed);
        let raised = alerts.len().saturating_sub(before);
        self.stats.alerts += raised as u64;
        if raised > 0 {
            fd.alerted = true;
        }
        let (verdict, reason) = match out.action {
            Some(RuleAction::Pass) => {
                fd.passed |= out.flow && !carrier;
                (Verdict::Accept, None)
            }
            Some(RuleAction::Drop) if self.cfg.ips => (Verdict::Drop, Some(DropReason::Rules)),
            Some(RuleAction::Reject) if self.cfg.ips => (Verdict::Reject, Some(DropReason::Rules)),
            _ => (Verdict::Accept, None),
        };
        if verdict.is_drop() {
            fd.dropped |= out.flow && !carrier;
            res.first_drop = first_drop(fd, tracked.to_server);
        }
        res.verdict = verdict;
        res.flow_dropped = fd.dropped;
        res.reason = reason;
        res.flow_passed = fd.passed;
        fd.bypassed |= out.bypass && !carrier;
        res.flow_bypassed = fd.bypassed;
        res.mark = out.mark;
        res.cause = out.cause;
        res
    }
}

/// The offset of `part` inside `base` (0 if it is not inside, e.g. an empty slice).
fn offset_in(base: &[u8], part: &[u8]) -> usize {
    let b = base.as_ptr() as usize;
    let p = part.as_ptr() as usize;
    if p >= b && p + part.len() <= b + base.len() {
        p - b
    } else {
        0
    }
}

fn first_drop<S>(fd: &mut FlowData<S>, to_server: bool) -> bool {
    let seen = if to_server {
        &mut fd.drop_seen_ts
    } else {
        &mut fd.drop_seen_tc
    };
    let first = !*seen;
    *seen = true;
    first
}

#[cfg(test)]
mod tests;
