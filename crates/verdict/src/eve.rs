//! EVE JSON output, in Suricata's format, so pipelines built for Suricata (EveBox, Elastic,
//! Splunk, Vector) read Verdict's events unchanged.
//!
//! [`EveWriter`] writes one JSON object per line to any [`Write`]; the event builders
//! ([`alert_event`], [`drop_event`], [`stats_event`]) turn an engine [`Decision`] into
//! Suricata's field names and shapes (`timestamp`, `flow_id`, `pcap_cnt`, `event_type`,
//! `src_ip`, `src_port`, `dest_ip`, `dest_port`, `proto`, `pkt_src`, `direction`,
//! `alert{...}`, `drop{...}`, `flow{...}`). Both `verdict pcap` and the live daemon use it.
//!
//! Timestamps are written as Suricata does, `2024-01-01T12:00:00.123456+0000`, in UTC. The
//! engine's `now` is taken as time since the Unix epoch (pcap timestamps offline, the
//! wall clock live).

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::Duration;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use verdict_engine::{
    Alert, Decision, DropReason, EndedFlow, InnerPacket, L4Summary, PacketSummary,
};
use verdict_flow::TcpState;

/// A timestamp rendered the way Suricata renders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EveTimestamp(pub Duration);

impl EveTimestamp {
    /// Formats as `YYYY-MM-DDTHH:MM:SS.ffffff+0000` (UTC).
    pub fn format(&self) -> String {
        let secs = self.0.as_secs();
        let micros = self.0.subsec_micros();
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
            rem / 3600,
            (rem / 60) % 60,
            rem % 60
        )
    }
}

impl Serialize for EveTimestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.format())
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// An address as Suricata writes it: IPv4 dotted, IPv6 as eight 4-digit groups
/// (`2001:0db8:0000:0000:0000:0000:0000:0001`, never `::`-compressed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EveAddr(pub IpAddr);

impl Serialize for EveAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            IpAddr::V4(a) => s.collect_str(&a),
            IpAddr::V6(a) => {
                let g = a.segments();
                s.collect_str(&format_args!(
                    "{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}:{:04x}",
                    g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
                ))
            }
        }
    }
}

/// Suricata's protocol name for an IP protocol number (`TCP`, `UDP`, `ICMP`, `IPv6-ICMP`,
/// ... or the number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtoName(pub u8);

impl Serialize for ProtoName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            1 => s.serialize_str("ICMP"),
            2 => s.serialize_str("IGMP"),
            4 => s.serialize_str("IP-in-IP"),
            41 => s.serialize_str("IPv6"),
            6 => s.serialize_str("TCP"),
            17 => s.serialize_str("UDP"),
            47 => s.serialize_str("GRE"),
            50 => s.serialize_str("ESP"),
            51 => s.serialize_str("AH"),
            58 => s.serialize_str("IPv6-ICMP"),
            132 => s.serialize_str("SCTP"),
            n => s.serialize_str(&n.to_string()),
        }
    }
}

/// Where a packet came from, per event (Suricata's `pkt_src`).
pub const PKT_SRC_WIRE: &str = "wire/pcap";

/// Per-packet context the drivers add to the engine's decision.
#[derive(Debug, Clone, Copy)]
pub struct EventContext<'a> {
    /// When the packet was seen (since the Unix epoch).
    pub ts: Duration,
    /// The packet's number in the capture (offline) or since start (live), from 1.
    pub pcap_cnt: Option<u64>,
    /// Input interface name (live mode), if known.
    pub in_iface: Option<&'a str>,
    /// IPS mode (drop rules drop): decides `blocked` vs `allowed`.
    pub ips: bool,
}

/// The header fields every packet event shares, in Suricata's order.
#[derive(Debug, Serialize)]
pub struct EveHeader<'a> {
    /// Event time.
    pub timestamp: EveTimestamp,
    /// Flow id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// Packet number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    /// `alert`, `drop`, `stats`, ...
    pub event_type: &'static str,
    /// Input interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_iface: Option<&'a str>,
    /// VLAN ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<&'a [u16]>,
    /// Source address of the packet.
    pub src_ip: EveAddr,
    /// Source port (TCP/UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination address of the packet.
    pub dest_ip: EveAddr,
    /// Destination port (TCP/UDP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// IP version (4 or 6).
    pub ip_v: u8,
    /// Protocol name.
    pub proto: ProtoName,
    /// ICMP type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// Packet source.
    pub pkt_src: &'static str,
    /// The packet that carried this one, for packets found in tunnels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<EveTunnel>,
}

/// The `tunnel` object of events about packets found inside tunnels.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct EveTunnel {
    /// Outer source address.
    pub src_ip: EveAddr,
    /// Outer destination address.
    pub dest_ip: EveAddr,
    /// Outer source port (UDP tunnels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Outer destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// Outer protocol.
    pub proto: ProtoName,
    /// Nesting depth of the outer packet (0 = the wire packet).
    pub depth: u8,
}

impl<'a> EveHeader<'a> {
    /// The header of an event about a packet found inside a tunnel.
    pub fn inner(event_type: &'static str, ctx: &EventContext<'a>, inner: &'a InnerPacket) -> Self {
        let t = &inner.tunnel;
        let ported = matches!(t.proto, 6 | 17 | 132);
        // A reassembled datagram is not a tunnel: no `tunnel` object, as in Suricata.
        let defrag = inner.pkt_src == verdict_engine::PKT_SRC_DEFRAG;
        EveHeader {
            pkt_src: inner.pkt_src,
            tunnel: (!defrag).then_some(EveTunnel {
                src_ip: EveAddr(t.src),
                dest_ip: EveAddr(t.dst),
                src_port: ported.then_some(t.src_port),
                dest_port: ported.then_some(t.dst_port),
                proto: ProtoName(t.proto),
                depth: inner.depth.saturating_sub(1),
            }),
            ..EveHeader::packet(event_type, ctx, &inner.packet)
        }
    }
}

impl<'a> EveHeader<'a> {
    /// The header of a packet event.
    pub fn packet(event_type: &'static str, ctx: &EventContext<'a>, p: &'a PacketSummary) -> Self {
        let ported = matches!(p.proto, 6 | 17 | 132);
        let (icmp_type, icmp_code) = match p.l4 {
            L4Summary::Icmp {
                icmp_type, code, ..
            } => (Some(icmp_type), Some(code)),
            _ => (None, None),
        };
        EveHeader {
            timestamp: EveTimestamp(ctx.ts),
            flow_id: Some(p.flow_id),
            pcap_cnt: ctx.pcap_cnt,
            event_type,
            in_iface: ctx.in_iface,
            vlan: (p.vlan_count > 0).then(|| &p.vlan[..(p.vlan_count as usize).min(p.vlan.len())]),
            src_ip: EveAddr(p.src),
            src_port: ported.then_some(p.src_port),
            dest_ip: EveAddr(p.dst),
            dest_port: ported.then_some(p.dst_port),
            ip_v: if p.src.is_ipv4() { 4 } else { 6 },
            proto: ProtoName(p.proto),
            icmp_type,
            icmp_code,
            pkt_src: PKT_SRC_WIRE,
            tunnel: None,
        }
    }
}

/// The `alert` object.
#[derive(Debug)]
pub struct EveAlert<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// IPS mode.
    pub ips: bool,
}

impl Serialize for EveAlert<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = &self.alert.info;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("action", self.alert.eve_action(self.ips))?;
        m.serialize_entry("gid", &i.gid)?;
        m.serialize_entry("signature_id", &i.sid)?;
        m.serialize_entry("rev", &i.rev)?;
        m.serialize_entry("signature", &i.msg)?;
        m.serialize_entry("category", &i.category)?;
        m.serialize_entry("severity", &i.severity)?;
        if !i.metadata.is_empty() {
            m.serialize_entry("metadata", &Metadata(&i.metadata))?;
        }
        m.end()
    }
}

/// Rule metadata as Suricata writes it: `{"key": ["value", ...]}`, keys in first-seen order.
struct Metadata<'a>(&'a [(String, String)]);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (n, (k, _)) in self.0.iter().enumerate() {
            if self.0[..n].iter().any(|(k2, _)| k2 == k) {
                continue;
            }
            let vals: Vec<&str> = self
                .0
                .iter()
                .filter(|(k2, _)| k2 == k)
                .map(|(_, v)| v.as_str())
                .collect();
            m.serialize_entry(k, &vals)?;
        }
        m.end()
    }
}

/// Flow facts attached to alerts.
#[derive(Debug, Serialize)]
pub struct EveFlow {
    /// Packets client -> server.
    pub pkts_toserver: u64,
    /// Packets server -> client.
    pub pkts_toclient: u64,
    /// Bytes client -> server.
    pub bytes_toserver: u64,
    /// Bytes server -> client.
    pub bytes_toclient: u64,
    /// When the flow started.
    pub start: EveTimestamp,
    /// Client address.
    pub src_ip: EveAddr,
    /// Server address.
    pub dest_ip: EveAddr,
    /// Client port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Server port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
}

impl EveFlow {
    /// The flow object of a packet.
    pub fn of(p: &PacketSummary) -> EveFlow {
        let ported = matches!(p.proto, 6 | 17 | 132);
        let f = &p.flow;
        EveFlow {
            pkts_toserver: f.pkts_toserver,
            pkts_toclient: f.pkts_toclient,
            bytes_toserver: f.bytes_toserver,
            bytes_toclient: f.bytes_toclient,
            start: EveTimestamp(f.start),
            src_ip: EveAddr(f.client.0),
            dest_ip: EveAddr(f.server.0),
            src_port: ported.then_some(f.client.1),
            dest_port: ported.then_some(f.server.1),
        }
    }
}

/// An `alert` event.
#[derive(Debug, Serialize)]
pub struct AlertEvent<'a> {
    /// Common header.
    #[serde(flatten)]
    pub header: EveHeader<'a>,
    /// `to_server` or `to_client`.
    pub direction: &'static str,
    /// The flow's app-layer protocol, when detected (Suricata writes it on alerts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    /// The app-layer transaction the alert is about (app-layer rules).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<u64>,
    /// The alert.
    pub alert: EveAlert<'a>,
    /// App-layer metadata of the transaction the alert fired on (`http`, `dns`, `tls`,
    /// `ssh`), added by [`AlertEvent::add_app_meta`].
    #[serde(flatten)]
    pub app: serde_json::Map<String, serde_json::Value>,
    /// Flow facts.
    pub flow: EveFlow,
    /// The packet's final verdict (IPS mode), set by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<EveVerdict>,
    /// Transport payload, base64 (`alert.payload: yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Transport payload with non-printable bytes as `.` (`alert.payload-printable: yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_printable: Option<String>,
    /// 0: the payload is the packet's own; 1: it is the reassembled stream the alert
    /// matched ([`AlertEvent::add_stream_payload`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<u8>,
    /// The packet, base64 (`alert.packet: yes`): the whole frame for wire packets, from
    /// the IP header for packets found in tunnels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet: Option<String>,
    /// How `packet` is framed, set by the caller with `packet`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_info: Option<PacketInfo>,
}

/// `packet_info`: the pcap link type of the `packet` bytes, and its name as Suricata
/// writes it (`linktype_name`, from its datalink table; `n/a` for types it does not name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketInfo {
    /// LINKTYPE_* number (1 Ethernet, 228 raw IPv4, 229 raw IPv6, ...).
    pub linktype: u32,
}

impl PacketInfo {
    /// Suricata's name for the link type (libpcap's DLT names).
    pub fn linktype_name(&self) -> &'static str {
        match self.linktype {
            0 => "NULL",
            1 => "EN10MB",
            9 => "PPP",
            // LINKTYPE_RAW (101) is DLT_RAW once libpcap reads the file.
            12 | 14 | 101 => "RAW",
            104 => "C_HDLC",
            113 => "LINUX_SLL",
            228 => "IPv4",
            229 => "IPv6",
            276 => "LINUX_SLL2",
            778 => "GRE_RAW",
            _ => "n/a",
        }
    }
}

impl Serialize for PacketInfo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("linktype", &self.linktype)?;
        m.serialize_entry("linktype_name", self.linktype_name())?;
        m.end()
    }
}

impl PacketInfo {
    /// The link type of a raw IP packet of this version (228 or 229).
    pub fn raw_ip(p: &PacketSummary) -> PacketInfo {
        PacketInfo {
            linktype: if p.src.is_ipv4() { 228 } else { 229 },
        }
    }
}

/// Which packet bytes alert events carry (Suricata's `eve-log.types.alert` options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayloadOptions {
    /// `payload: yes`.
    pub payload: bool,
    /// `payload-printable: yes`.
    pub payload_printable: bool,
    /// `packet: yes`.
    pub packet: bool,
}

impl AlertEvent<'_> {
    /// Adds the app-layer metadata of `alert` (when it has a snapshot and `o` enables it);
    /// with `xff` overwrite, the client's address becomes the forwarded one.
    pub fn add_app_meta(&mut self, alert: &Alert, o: &crate::eve_app::AppMetaOptions) {
        let Some(snap) = alert.app.as_deref() else {
            return;
        };
        let meta = crate::eve_app::app_meta(snap, o);
        if let Some(ip) = meta.overwrite_client {
            if self.direction == "to_server" {
                self.header.src_ip = EveAddr(ip);
            } else {
                self.header.dest_ip = EveAddr(ip);
            }
        }
        self.app = meta.fields;
    }

    /// Adds the payload/packet fields the options ask for. `wire` is the buffer given to the
    /// engine; `inner` says the event is about a packet found inside it.
    pub fn add_payload(&mut self, wire: &[u8], p: &PacketSummary, inner: bool, o: &PayloadOptions) {
        let (off, len) = p.payload;
        let payload = wire.get(off..off.saturating_add(len)).unwrap_or(&[]);
        if o.payload || o.payload_printable {
            self.stream = Some(0);
        }
        if o.payload {
            self.payload = Some(base64(payload));
        }
        if o.payload_printable {
            self.payload_printable = Some(printable(payload));
        }
        if o.packet {
            let bytes = if inner {
                wire.get(p.ip_offset..).unwrap_or(&[])
            } else {
                wire
            };
            self.packet = Some(base64(bytes));
        }
    }

    /// For an alert that matched the reassembled stream: logs the stream window it matched
    /// as the payload, with `stream: 1`, as Suricata does for stream matches.
    pub fn add_stream_payload(&mut self, window: &[u8], o: &PayloadOptions) {
        if o.payload || o.payload_printable {
            self.stream = Some(1);
        }
        if o.payload {
            self.payload = Some(base64(window));
        }
        if o.payload_printable {
            self.payload_printable = Some(printable(window));
        }
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (c.get(1).copied().unwrap_or(0) as u32) << 8
            | c.get(2).copied().unwrap_or(0) as u32;
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Bytes as Suricata's printable payload: printable ASCII, CR and LF kept, others as `.`.
pub fn printable(data: &[u8]) -> String {
    data.iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// Suricata's `verdict` object: what finally happened to the packet in IPS mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EveVerdict {
    /// `drop`, `pass` or `alert`.
    pub action: &'static str,
}

impl EveVerdict {
    /// The verdict of a packet: dropped, passed by a pass rule, or accepted.
    pub fn of(dropped: bool, passed: bool) -> EveVerdict {
        let action = if dropped {
            "drop"
        } else if passed {
            "pass"
        } else {
            "alert"
        };
        EveVerdict { action }
    }
}

fn direction(p: &PacketSummary) -> &'static str {
    if p.to_server {
        "to_server"
    } else {
        "to_client"
    }
}

/// Builds the alert event for one alert of a decision.
pub fn alert_event<'a>(
    ctx: &EventContext<'a>,
    p: &'a PacketSummary,
    alert: &'a Alert,
) -> AlertEvent<'a> {
    AlertEvent {
        header: EveHeader::packet("alert", ctx, p),
        direction: direction(p),
        app_proto: p.app_proto,
        tx_id: alert.tx_id,
        alert: EveAlert {
            alert,
            ips: ctx.ips,
        },
        flow: EveFlow::of(p),
        app: serde_json::Map::new(),
        verdict: None,
        payload: None,
        payload_printable: None,
        stream: None,
        packet: None,
        packet_info: None,
    }
}

/// The `drop` object: what Suricata records about a dropped packet.
#[derive(Debug)]
pub struct EveDrop<'a> {
    /// The packet.
    pub packet: &'a PacketSummary,
    /// Why.
    pub reason: DropReason,
}

impl Serialize for EveDrop<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.packet;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("len", &p.ip_len)?;
        m.serialize_entry("tos", &p.tos)?;
        m.serialize_entry("ttl", &p.ttl)?;
        m.serialize_entry("ipid", &p.ip_id)?;
        match p.l4 {
            L4Summary::Tcp {
                flags,
                seq,
                ack,
                window,
            } => {
                m.serialize_entry("tcpseq", &seq)?;
                m.serialize_entry("tcpack", &ack)?;
                m.serialize_entry("tcpwin", &window)?;
                m.serialize_entry("syn", &(flags & 0x02 != 0))?;
                m.serialize_entry("ack", &(flags & 0x10 != 0))?;
                m.serialize_entry("psh", &(flags & 0x08 != 0))?;
                m.serialize_entry("rst", &(flags & 0x04 != 0))?;
                m.serialize_entry("urg", &(flags & 0x20 != 0))?;
                m.serialize_entry("fin", &(flags & 0x01 != 0))?;
                m.serialize_entry("tcpres", &0u8)?;
                m.serialize_entry("tcpurgp", &0u16)?;
            }
            L4Summary::Udp { len } => m.serialize_entry("udplen", &len)?,
            L4Summary::Icmp { id, seq, .. } => {
                if let Some(id) = id {
                    m.serialize_entry("icmp_id", &id)?;
                }
                if let Some(seq) = seq {
                    m.serialize_entry("icmp_seq", &seq)?;
                }
            }
            L4Summary::Other => {}
        }
        m.serialize_entry("reason", self.reason.as_str())?;
        m.end()
    }
}

/// A `drop` event.
#[derive(Debug, Serialize)]
pub struct DropEvent<'a> {
    /// Common header.
    #[serde(flatten)]
    pub header: EveHeader<'a>,
    /// `to_server` or `to_client`.
    pub direction: &'static str,
    /// Drop facts.
    pub drop: EveDrop<'a>,
    /// The alert that caused the drop (with `drop: alerts: yes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<EveAlert<'a>>,
    /// The packet's final verdict (IPS mode), set by the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<EveVerdict>,
}

/// Builds the drop event of a dropped decision, or `None` if it was not dropped or not
/// decoded. `with_alert` adds the rule that caused the drop, as Suricata's `drop.alerts: yes`.
pub fn drop_event<'a>(
    ctx: &EventContext<'a>,
    d: &'a Decision<'_>,
    p: &'a PacketSummary,
    with_alert: bool,
) -> Option<DropEvent<'a>> {
    let header = EveHeader::packet("drop", ctx, p);
    drop_event_parts(
        ctx,
        header,
        p,
        d.drop_reason?,
        d.cause,
        d.alerts,
        with_alert,
    )
}

/// Builds the drop event of a dropped packet found inside a tunnel.
pub fn inner_drop_event<'a>(
    ctx: &EventContext<'a>,
    d: &Decision<'a>,
    inner: &'a InnerPacket,
    with_alert: bool,
) -> Option<DropEvent<'a>> {
    let header = EveHeader::inner("drop", ctx, inner);
    let reason = inner.drop_reason?;
    drop_event_parts(
        ctx,
        header,
        &inner.packet,
        reason,
        inner.cause.as_ref(),
        d.alerts_of(inner),
        with_alert,
    )
}

fn drop_event_parts<'a>(
    ctx: &EventContext<'a>,
    header: EveHeader<'a>,
    p: &'a PacketSummary,
    reason: DropReason,
    cause: Option<&'a Alert>,
    alerts: &'a [Alert],
    with_alert: bool,
) -> Option<DropEvent<'a>> {
    // Suricata reports the rule that caused the drop, even a `noalert` one; packets dropped
    // because their flow was dropped earlier carry no alert.
    let alert = if with_alert {
        cause
            .filter(|c| c.eve_action(ctx.ips) == "blocked")
            .or_else(|| alerts.iter().find(|a| a.eve_action(ctx.ips) == "blocked"))
            .map(|a| EveAlert {
                alert: a,
                ips: ctx.ips,
            })
    } else {
        None
    };
    Some(DropEvent {
        header,
        direction: direction(p),
        drop: EveDrop { packet: p, reason },
        alert,
        verdict: None,
    })
}

/// Builds the alert event for an alert of a packet found inside a tunnel.
pub fn inner_alert_event<'a>(
    ctx: &EventContext<'a>,
    inner: &'a InnerPacket,
    alert: &'a Alert,
) -> AlertEvent<'a> {
    AlertEvent {
        header: EveHeader::inner("alert", ctx, inner),
        direction: direction(&inner.packet),
        app_proto: inner.packet.app_proto,
        tx_id: alert.tx_id,
        alert: EveAlert {
            alert,
            ips: ctx.ips,
        },
        flow: EveFlow::of(&inner.packet),
        app: serde_json::Map::new(),
        verdict: None,
        payload: None,
        payload_printable: None,
        stream: None,
        packet: None,
        packet_info: None,
    }
}

/// The `flow` object of a flow event.
#[derive(Debug, Serialize)]
pub struct EveFlowRecord {
    /// Packets client -> server.
    pub pkts_toserver: u64,
    /// Packets server -> client.
    pub pkts_toclient: u64,
    /// Bytes client -> server.
    pub bytes_toserver: u64,
    /// Bytes server -> client.
    pub bytes_toclient: u64,
    /// First packet.
    pub start: EveTimestamp,
    /// Last packet.
    pub end: EveTimestamp,
    /// Seconds between first and last packet.
    pub age: u64,
    /// `new`, `established` or `closed`.
    pub state: &'static str,
    /// `timeout`, `forced` or `shutdown`.
    pub reason: &'static str,
    /// Any alert on the flow.
    pub alerted: bool,
    /// `drop` or `pass` when rules decided the flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
}

/// A `flow` event: one record per ended flow.
#[derive(Debug, Serialize)]
pub struct FlowEvent {
    /// The flow's last packet time.
    pub timestamp: EveTimestamp,
    /// Flow id.
    pub flow_id: u64,
    /// Always `flow`.
    pub event_type: &'static str,
    /// Client address.
    pub src_ip: EveAddr,
    /// Client port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Server address.
    pub dest_ip: EveAddr,
    /// Server port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// IP version.
    pub ip_v: u8,
    /// Protocol.
    pub proto: ProtoName,
    /// The record.
    pub flow: EveFlowRecord,
}

/// Builds the flow event of an ended flow.
pub fn flow_event(f: &EndedFlow) -> FlowEvent {
    let s = &f.summary;
    let ported = matches!(f.proto, 6 | 17 | 132);
    let state = match (f.proto, f.tcp) {
        (6, TcpState::Closed) => "closed",
        _ if f.established => "established",
        _ => "new",
    };
    FlowEvent {
        timestamp: EveTimestamp(f.end),
        flow_id: f.flow_id,
        event_type: "flow",
        src_ip: EveAddr(s.client.0),
        src_port: ported.then_some(s.client.1),
        dest_ip: EveAddr(s.server.0),
        dest_port: ported.then_some(s.server.1),
        ip_v: if s.client.0.is_ipv4() { 4 } else { 6 },
        proto: ProtoName(f.proto),
        flow: EveFlowRecord {
            pkts_toserver: s.pkts_toserver,
            pkts_toclient: s.pkts_toclient,
            bytes_toserver: s.bytes_toserver,
            bytes_toclient: s.bytes_toclient,
            start: EveTimestamp(s.start),
            end: EveTimestamp(f.end),
            age: f.end.saturating_sub(s.start).as_secs(),
            state,
            reason: f.reason.as_str(),
            alerted: f.alerted,
            action: if f.dropped {
                Some("drop")
            } else if f.passed {
                Some("pass")
            } else {
                None
            },
        },
    }
}

/// Counters written in a `stats` event.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StatsCounters {
    /// Seconds since start.
    pub uptime: u64,
    /// Decoder counters.
    pub decoder: DecoderStats,
    /// Flow counters.
    pub flow: FlowStatsOut,
    /// Detection counters.
    pub detect: DetectStats,
    /// Verdict counters.
    pub ips: IpsStats,
    /// TCP stream reassembly counters.
    pub tcp: TcpStats,
}

/// `stats.tcp`: stream reassembly counters, named as Suricata names them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TcpStats {
    /// Holes given up on (acknowledged past, or open when the flow ended).
    pub reassembly_gap: u64,
    /// Out-of-order segments not kept because of the memcap.
    pub segment_memcap_drop: u64,
    /// Overlapping segments with different data (`reassembly_overlap_different_data`).
    pub overlap_diff_data: u64,
    /// Segments with a bad checksum kept out of the stream engine (checksum validation on).
    pub invalid_checksum: u64,
}

/// `stats.decoder`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DecoderStats {
    /// Packets.
    pub pkts: u64,
    /// Bytes.
    pub bytes: u64,
    /// Undecodable packets.
    pub invalid: u64,
}

/// `stats.flow`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct FlowStatsOut {
    /// Flows now.
    pub active: u64,
    /// Flows created.
    pub total: u64,
    /// Flows timed out.
    pub expired: u64,
    /// Flows evicted because the table was full.
    pub evicted: u64,
}

/// `stats.detect`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DetectStats {
    /// Alerts raised.
    pub alert: u64,
    /// Alerts that did not fit in their packet's alert queue (`packet-alert-max`).
    pub alert_queue_overflow: u64,
    /// Matches that raised no alert (`noalert`, thresholds).
    pub alerts_suppressed: u64,
}

/// `stats.ips`.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IpsStats {
    /// Packets accepted.
    pub accepted: u64,
    /// Packets dropped.
    pub blocked: u64,
    /// Dropped packets by reason.
    pub drop_reason: DropReasonOut,
}

/// `stats.ips.drop_reason`: dropped packets by reason, named as Suricata names them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DropReasonOut {
    /// A drop/reject rule matched the packet.
    pub rules: u64,
    /// The packet's flow was dropped by an earlier packet.
    pub flow_drop: u64,
    /// The packet could not be decoded.
    pub decode_error: u64,
    /// IP reassembly's memory limit and `defrag.memcap-policy`.
    pub defrag_memcap: u64,
}

/// A `stats` event.
#[derive(Debug, Serialize)]
pub struct StatsEvent {
    /// Event time.
    pub timestamp: EveTimestamp,
    /// Always `stats`.
    pub event_type: &'static str,
    /// Counters.
    pub stats: StatsCounters,
}

/// Builds a stats event.
pub fn stats_event(ts: Duration, stats: StatsCounters) -> StatsEvent {
    StatsEvent {
        timestamp: EveTimestamp(ts),
        event_type: "stats",
        stats,
    }
}

/// Writes EVE events, one JSON object per line.
pub struct EveWriter<W: Write> {
    out: W,
    events: u64,
}

impl<W: Write> EveWriter<W> {
    /// A writer over `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        EveWriter { out, events: 0 }
    }

    /// Writes one event and a newline.
    pub fn write_event<E: Serialize>(&mut self, event: &E) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.events += 1;
        Ok(())
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use verdict_engine::{AlertInfo, FlowSummary, RuleAction, Verdict};

    #[test]
    fn packet_info_names_the_link_type() {
        let j = |linktype| serde_json::to_string(&PacketInfo { linktype }).unwrap();
        assert_eq!(j(229), r#"{"linktype":229,"linktype_name":"IPv6"}"#);
        assert_eq!(j(1), r#"{"linktype":1,"linktype_name":"EN10MB"}"#);
        assert_eq!(j(9), r#"{"linktype":9,"linktype_name":"PPP"}"#);
        assert_eq!(j(147), r#"{"linktype":147,"linktype_name":"n/a"}"#);
    }

    #[test]
    fn flow_event_shape() {
        let p = summary();
        let f = EndedFlow {
            flow_id: 5,
            proto: 6,
            summary: p.flow,
            end: p.flow.start + Duration::from_secs(3),
            tcp: TcpState::Closed,
            established: true,
            alerted: true,
            dropped: true,
            passed: false,
            reason: verdict_engine::FlowEnd::Timeout,
        };
        let v = serde_json::to_value(flow_event(&f)).unwrap();
        assert_eq!(v["event_type"], "flow");
        assert_eq!(v["src_ip"], "198.18.0.1");
        assert_eq!(v["dest_port"], 80);
        assert_eq!(v["proto"], "TCP");
        assert_eq!(v["flow"]["state"], "closed");
        assert_eq!(v["flow"]["age"], 3);
        assert_eq!(v["flow"]["reason"], "timeout");
        assert_eq!(v["flow"]["alerted"], true);
        assert_eq!(v["flow"]["action"], "drop");
        assert_eq!(v["flow"]["pkts_toserver"], 3);
    }

    #[test]
    fn payload_encodings() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(printable(b"GET /\r\n\x00\xff"), "GET /\r\n..");
        let mut p = summary();
        let wire = b"HEADERSpayload".to_vec();
        p.payload = (7, 7);
        p.ip_offset = 3;
        let alert = Alert {
            action: RuleAction::Alert,
            info: Arc::new(AlertInfo::default()),
            stream: false,
            tx_id: None,
            app: None,
        };
        let ctx = EventContext {
            ts: Duration::ZERO,
            pcap_cnt: None,
            in_iface: None,
            ips: false,
        };
        let mut ev = alert_event(&ctx, &p, &alert);
        let o = PayloadOptions {
            payload: true,
            payload_printable: true,
            packet: true,
        };
        ev.add_payload(&wire, &p, false, &o);
        let v = serde_json::to_value(&ev).unwrap();
        assert_eq!(v["payload"], base64(b"payload"));
        assert_eq!(v["payload_printable"], "payload");
        assert_eq!(v["stream"], 0);
        assert_eq!(v["packet"], base64(&wire));
        ev.add_payload(&wire, &p, true, &o);
        assert_eq!(ev.packet.as_deref(), Some(base64(b"DERSpayload").as_str()));
        // Out-of-range offsets give an empty payload, not a panic.
        let mut far = p;
        far.payload = (100, 5);
        ev.add_payload(&wire, &far, false, &o);
        assert_eq!(ev.payload.as_deref(), Some(""));
    }

    #[test]
    fn timestamp_format() {
        assert_eq!(
            EveTimestamp(Duration::from_micros(0)).format(),
            "1970-01-01T00:00:00.000000+0000"
        );
        let t = Duration::from_secs(1_704_110_400) + Duration::from_micros(123_456);
        assert_eq!(EveTimestamp(t).format(), "2024-01-01T12:00:00.123456+0000");
        assert_eq!(
            EveTimestamp(Duration::from_secs(951_782_400)).format(),
            "2000-02-29T00:00:00.000000+0000"
        );
    }

    fn summary() -> PacketSummary {
        PacketSummary {
            src: "198.18.0.1".parse().unwrap(),
            dst: "198.18.0.2".parse().unwrap(),
            src_port: 1234,
            dst_port: 80,
            proto: 6,
            ip_len: 60,
            ttl: 64,
            tos: 0,
            ip_id: 5,
            l4: L4Summary::Tcp {
                flags: 0x18,
                seq: 1,
                ack: 2,
                window: 512,
            },
            flow_id: 99,
            to_server: true,
            vlan: [0; 3],
            vlan_count: 0,
            payload: (0, 0),
            ip_offset: 0,
            app_proto: None,
            flow: FlowSummary {
                pkts_toserver: 3,
                pkts_toclient: 2,
                bytes_toserver: 180,
                bytes_toclient: 120,
                start: Duration::from_secs(1_704_110_400),
                client: ("198.18.0.1".parse().unwrap(), 1234),
                server: ("198.18.0.2".parse().unwrap(), 80),
            },
        }
    }

    /// The sample to-server packet, for other test modules.
    pub(super) fn summary_for_app_meta() -> PacketSummary {
        summary()
    }

    #[test]
    fn alert_and_drop_shapes() {
        let p = summary();
        let info = Arc::new(AlertInfo {
            gid: 1,
            sid: 7,
            rev: 2,
            msg: "m".into(),
            category: "c".into(),
            severity: 2,
            metadata: vec![
                ("k".into(), "a".into()),
                ("k".into(), "b".into()),
                ("z".into(), "1".into()),
            ],
        });
        let alert = Alert {
            action: RuleAction::Drop,
            info,
            stream: false,
            tx_id: None,
            app: None,
        };
        let ctx = EventContext {
            ts: Duration::from_secs(1_704_110_400),
            pcap_cnt: Some(4),
            in_iface: None,
            ips: true,
        };
        let mut w = EveWriter::new(Vec::new());
        w.write_event(&alert_event(&ctx, &p, &alert)).unwrap();
        let alerts = [alert.clone()];
        let d = Decision {
            verdict: Verdict::Drop,
            mark: None,
            alerts: &alerts,
            packet: Some(p),
            drop_reason: Some(DropReason::Rules),
            first_drop_in_direction: true,
            decode_error: None,
            flow_passed: false,
            flow_bypassed: false,
            cause: None,
            inner: &[],
            inner_alerts: &[],
            reassembled: &[],
            stream_payload: &[],
        };
        w.write_event(&drop_event(&ctx, &d, &p, true).unwrap())
            .unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let a = &lines[0];
        assert_eq!(a["event_type"], "alert");
        assert_eq!(a["timestamp"], "2024-01-01T12:00:00.000000+0000");
        assert_eq!(a["flow_id"], 99);
        assert_eq!(a["pcap_cnt"], 4);
        assert_eq!(a["src_ip"], "198.18.0.1");
        assert_eq!(a["dest_port"], 80);
        assert_eq!(a["proto"], "TCP");
        assert_eq!(a["direction"], "to_server");
        assert_eq!(a["pkt_src"], "wire/pcap");
        assert_eq!(a["alert"]["action"], "blocked");
        assert_eq!(a["alert"]["signature_id"], 7);
        assert_eq!(a["alert"]["metadata"]["k"], serde_json::json!(["a", "b"]));
        assert_eq!(a["flow"]["pkts_toserver"], 3);
        let dr = &lines[1];
        assert_eq!(dr["event_type"], "drop");
        assert_eq!(dr["drop"]["reason"], "rules");
        assert_eq!(dr["drop"]["psh"], true);
        assert_eq!(dr["drop"]["syn"], false);
        assert_eq!(dr["alert"]["signature_id"], 7);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn proto_names_and_icmp_has_no_ports() {
        let mut p = summary();
        p.proto = 58;
        p.l4 = L4Summary::Icmp {
            icmp_type: 128,
            code: 0,
            id: Some(1),
            seq: Some(2),
        };
        let ctx = EventContext {
            ts: Duration::ZERO,
            pcap_cnt: None,
            in_iface: Some("eth0"),
            ips: false,
        };
        let v = serde_json::to_value(EveHeader::packet("alert", &ctx, &p)).unwrap();
        assert_eq!(v["proto"], "IPv6-ICMP");
        assert_eq!(v["icmp_type"], 128);
        assert!(v.get("src_port").is_none());
        assert!(v.get("pcap_cnt").is_none());
        assert_eq!(v["in_iface"], "eth0");
        assert_eq!(serde_json::to_value(ProtoName(99)).unwrap(), "99");
        assert_eq!(serde_json::to_value(ProtoName(4)).unwrap(), "IP-in-IP");
        assert_eq!(v["ip_v"], 4);
        let a = EveAddr("2001:db8:85a3::8a2e:370:7334".parse().unwrap());
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
        );
        let a = EveAddr("198.18.0.1".parse().unwrap());
        assert_eq!(serde_json::to_value(a).unwrap(), "198.18.0.1");
        let st =
            serde_json::to_value(stats_event(Duration::ZERO, StatsCounters::default())).unwrap();
        assert_eq!(st["event_type"], "stats");
        assert_eq!(st["stats"]["decoder"]["pkts"], 0);
    }
}

#[cfg(test)]
mod app_meta_tests {
    use super::*;
    use crate::eve_app::{AppMetaOptions, XffConfig, XffMode};
    use std::sync::Arc;
    use verdict_applayer::{AppProto, Transport};
    use verdict_engine::{AlertInfo, AppSnapshot, RuleAction};

    fn alert_with(snap: Option<AppSnapshot>) -> Alert {
        Alert {
            action: RuleAction::Alert,
            info: Arc::new(AlertInfo::default()),
            stream: false,
            tx_id: Some(0),
            app: snap.map(Arc::new),
        }
    }

    fn json_of(ev: &AlertEvent<'_>) -> serde_json::Value {
        serde_json::to_value(ev).unwrap()
    }

    #[test]
    fn alert_json_carries_the_http_object_beside_app_proto_and_direction() {
        let p = tests_summary();
        let req = b"POST /up HTTP/1.0\r\nHost: a.example\r\nUser-Agent: t\r\n\r\n";
        let alert = alert_with(Some(AppSnapshot::new(
            AppProto::Http,
            Transport::Tcp,
            true,
            req,
        )));
        let ctx = EventContext {
            ts: Duration::ZERO,
            pcap_cnt: None,
            in_iface: None,
            ips: false,
        };
        let mut ev = alert_event(&ctx, &p, &alert);
        ev.add_app_meta(&alert, &AppMetaOptions::default());
        let a = json_of(&ev);
        assert_eq!(a["direction"], "to_server");
        assert_eq!(a["http"]["hostname"], "a.example");
        assert_eq!(a["http"]["url"], "/up");
        assert_eq!(a["http"]["http_method"], "POST");
        assert_eq!(a["http"]["protocol"], "HTTP/1.0");
        assert_eq!(a["http"]["http_user_agent"], "t");
        // Off: no object.
        let mut ev = alert_event(&ctx, &p, &alert);
        ev.add_app_meta(
            &alert,
            &AppMetaOptions {
                enabled: false,
                xff: None,
            },
        );
        assert!(json_of(&ev).get("http").is_none());
        // No snapshot: nothing added.
        let bare = alert_with(None);
        let mut ev = alert_event(&ctx, &p, &bare);
        ev.add_app_meta(&bare, &AppMetaOptions::default());
        let a = json_of(&ev);
        for k in ["http", "dns", "tls", "ssh"] {
            assert!(a.get(k).is_none(), "{k}");
        }
    }

    #[test]
    fn xff_overwrite_replaces_the_client_address() {
        let p = tests_summary();
        let req = b"GET / HTTP/1.1\r\nX-Real: 192.0.2.7, 10.3.3.3\r\n\r\n";
        let alert = alert_with(Some(AppSnapshot::new(
            AppProto::Http,
            Transport::Tcp,
            true,
            req,
        )));
        let ctx = EventContext {
            ts: Duration::ZERO,
            pcap_cnt: None,
            in_iface: None,
            ips: false,
        };
        let o = AppMetaOptions {
            enabled: true,
            xff: Some(XffConfig {
                mode: XffMode::Overwrite,
                header: "X-Real".into(),
                ..XffConfig::default()
            }),
        };
        let mut ev = alert_event(&ctx, &p, &alert);
        ev.add_app_meta(&alert, &o);
        let a = json_of(&ev);
        assert_eq!(a["src_ip"], "10.3.3.3");
        assert_eq!(a["dest_ip"], "198.18.0.2");
        assert!(a["http"].get("xff").is_none());
    }

    fn tests_summary() -> PacketSummary {
        tests::summary_for_app_meta()
    }
}
