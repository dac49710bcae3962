//! Zero-copy packet decoding for Verdict: link layer -> IPv4/IPv6 -> TCP/UDP/ICMP/ICMPv6.
//!
//! # Design
//! A decoded [`Packet`] is a set of small views that borrow the packet buffer; decoding never
//! allocates and never copies payload bytes. Both drivers use it: NFQUEUE hands us L3 packets
//! ([`decode_ip`]), pcap files carry a link layer ([`decode`] with a [`LinkType`]).
//!
//! We build on [`etherparse`] for the fixed headers it validates well (the IPv4 header with its
//! IHL checks, the IPv6 fixed header, the TCP header with its data offset checks, the UDP
//! header). Other parts are done by hand, on purpose:
//! - link layers: etherparse has no Linux cooked v2 (SLL2) nor BSD null/loopback framing, and
//!   the Ethernet/VLAN walk is a few lines;
//! - IPv6 extension headers: we need the fragment header facts (offset, M bit, id) and must keep
//!   going on extension headers etherparse rejects, while stopping cleanly on ESP/no-next;
//! - IPv4 options: Suricata's `ipopts` keyword wants a bit per option kind seen, which is a
//!   simple type/length walk;
//! - ICMP/ICMPv6: an 8-byte header where we only need type, code and the echo id/sequence.
//!
//! # No-panic promise
//! Every function in this crate takes arbitrary bytes and returns either a view or a
//! [`DecodeError`]; no input makes it panic (the fuzz target `decode_packet` checks this).
//! All indexing goes through bounds-checked `get` or after an explicit length check.
//!
//! # Fragments
//! IPv4 and IPv6 fragments are flagged ([`Ip::is_fragment`]). Non-first fragments carry no
//! transport header, so their [`L4`] is [`L4::Fragment`]. Reassembly is not done here.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub mod checksum;
mod flowkey;
pub use flowkey::{FlowKey, FlowKeyDir};

/// Why a packet could not be decoded. Each message names the layer and what was wrong, so a
/// user reading a counter or log knows whether the capture is truncated or the traffic odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer bytes than a header needs.
    #[error(
        "truncated {layer} header: need {need} bytes, have {have} (capture snaplen too small?)"
    )]
    Truncated {
        /// The layer that was cut.
        layer: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes present.
        have: usize,
    },
    /// The IP version nibble is neither 4 nor 6.
    #[error("not an IP packet: version nibble {0} (expected 4 or 6)")]
    BadIpVersion(u8),
    /// A header length field is smaller than the fixed header.
    #[error("invalid {layer} header length {len} (smaller than the fixed header)")]
    BadHeaderLen {
        /// The layer.
        layer: &'static str,
        /// The header length found.
        len: usize,
    },
    /// The IP total/payload length claims more bytes than the packet has.
    #[error(
        "{layer} length field says {claimed} bytes but the packet has {have} (truncated capture?)"
    )]
    LengthMismatch {
        /// The layer.
        layer: &'static str,
        /// Length in the header.
        claimed: usize,
        /// Bytes present.
        have: usize,
    },
    /// The link layer carries something other than IPv4/IPv6 (ARP, LLDP, ...).
    #[error("link layer carries ethertype {0:#06x}, not IP (ignored)")]
    NotIp(u16),
    /// A header field holds a value this decoder does not handle (an unknown version, a
    /// reserved type, a next protocol it cannot follow).
    #[error("{layer} {field} {value} is not supported (packet not decoded further)")]
    Unsupported {
        /// The layer.
        layer: &'static str,
        /// The field.
        field: &'static str,
        /// Its value.
        value: u16,
    },
    /// The pcap link type is not one this decoder knows.
    #[error("unsupported link type {0}; supported: Ethernet(1), Raw(101/12/14), IPv4(228), IPv6(229), SLL(113), SLL2(276), Null(0), Loop(108), PPP(9)")]
    UnsupportedLinkType(u32),
}

/// Link-layer framings found in capture files (pcap `LINKTYPE_*` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// Ethernet II, with any number of 802.1Q/802.1ad tags (LINKTYPE_ETHERNET, 1).
    Ethernet,
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113).
    LinuxSll,
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276).
    LinuxSll2,
    /// Raw IP, version from the first nibble (LINKTYPE_RAW 101, DLT_RAW 12 or 14).
    Raw,
    /// Raw IPv4 (LINKTYPE_IPV4, 228).
    Ipv4,
    /// Raw IPv6 (LINKTYPE_IPV6, 229).
    Ipv6,
    /// BSD loopback, host-endian 4-byte family (LINKTYPE_NULL, 0).
    Null,
    /// OpenBSD loopback, big-endian 4-byte family (LINKTYPE_LOOP, 108).
    Loop,
    /// PPP (LINKTYPE_PPP, 9): an optional HDLC address/control pair `ff 03`, then a
    /// protocol field of one byte (compressed, odd) or two bytes.
    Ppp,
}

impl LinkType {
    /// Maps a pcap/pcapng link-type number.
    pub fn from_pcap(linktype: u32) -> Result<LinkType, DecodeError> {
        Ok(match linktype {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 | 12 | 14 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            9 => LinkType::Ppp,
            other => return Err(DecodeError::UnsupportedLinkType(other)),
        })
    }
}

/// Link-layer facts kept from decoding (VLAN tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// VLAN ids, outermost first (up to three layers, as Suricata); only the first
    /// `vlan_count` are valid.
    pub vlan: [u16; 3],
    /// How many VLAN tags were seen (at most 3 are kept; more are skipped).
    pub vlan_count: u8,
}

/// IP version of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Network-layer view of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip<'a> {
    /// IPv4 or IPv6.
    pub version: IpVersion,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (IPv6: after extension headers).
    pub proto: u8,
    /// TTL or hop limit.
    pub ttl: u8,
    /// TOS byte or traffic class.
    pub tos: u8,
    /// IPv4 identification, or the IPv6 fragment header id (0 without one).
    pub id: u32,
    /// IPv4 option kinds seen, as bits in Suricata's `ipopts` order (see [`ipopt`]).
    pub ipopts: u32,
    /// Fragment bits: 1 = More Fragments, 2 = Don't Fragment, 4 = Reserved.
    pub fragbits: u8,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// The packet is a fragment (MF set or offset non-zero).
    pub is_fragment: bool,
    /// The IP header bytes: IPv4 including options, IPv6 fixed header plus extension headers.
    pub header: &'a [u8],
    /// Total IP packet length (header + payload), after trimming link-layer padding.
    pub total_len: usize,
    /// Decoder events (bits of [`event`]), transport ones included.
    pub events: u32,
    /// For fragments: the fragment's data length (bytes after the IPv4 header or the IPv6
    /// fragment header); 0 otherwise.
    pub frag_data_len: usize,
}

/// IPv4 option bits, the same values as `verdict_rules::input::ipopt`.
pub mod ipopt {
    /// Record route.
    pub const RR: u32 = 1 << 0;
    /// End of list.
    pub const EOL: u32 = 1 << 1;
    /// No operation.
    pub const NOP: u32 = 1 << 2;
    /// Timestamp.
    pub const TS: u32 = 1 << 3;
    /// Security.
    pub const SEC: u32 = 1 << 4;
    /// Extended security.
    pub const ESEC: u32 = 1 << 5;
    /// Loose source route.
    pub const LSRR: u32 = 1 << 6;
    /// Strict source route.
    pub const SSRR: u32 = 1 << 7;
    /// Stream identifier.
    pub const SATID: u32 = 1 << 8;
}

/// Decoder events: anomalies seen while decoding, as bits of [`Ip::events`], named as
/// Suricata's `decode-event` keyword names them.
pub mod event {
    /// IPv6 fragment header with offset 0 and no more fragments.
    pub const IPV6_EXTHDR_USELESS_FH: u32 = 1 << 0;
    /// More than one IPv6 fragment header.
    pub const IPV6_EXTHDR_DUPL_FH: u32 = 1 << 1;
    /// IPv6 fragment (not the last) whose length is not a multiple of 8.
    pub const IPV6_FRAG_INVALID_LENGTH: u32 = 1 << 2;
    /// IPv6 fragment reaching past 65535 bytes.
    pub const IPV6_FRAG_PKT_TOO_LARGE: u32 = 1 << 3;
    /// UDP length field below 8 or past the packet.
    pub const UDP_LEN_INVALID: u32 = 1 << 4;
    /// IPv6 next header 4 (IPv4) but the inner packet is not IPv4.
    pub const IPV6_IPV4_IN_IPV6_WRONG_VERSION: u32 = 1 << 5;
    /// IPv6 next header 41 (IPv6) but the inner packet is not IPv6.
    pub const IPV6_IPV6_IN_IPV6_WRONG_VERSION: u32 = 1 << 6;
    /// An IPv6 fragment overlapping bytes of an earlier fragment (set by the reassembly
    /// stage, not by the decoder: it needs earlier packets).
    pub const IPV6_FRAG_OVERLAP: u32 = 1 << 7;
    /// An IPv6 extension header cut short by the packet's end.
    pub const IPV6_TRUNC_EXTHDR: u32 = 1 << 8;
    /// A hop-by-hop option of unknown type.
    pub const IPV6_HOPOPTS_UNKNOWN_OPT: u32 = 1 << 9;
    /// A destination option of unknown type.
    pub const IPV6_DSTOPTS_UNKNOWN_OPT: u32 = 1 << 10;

    const NAMES: [(u32, &str); 11] = [
        (IPV6_EXTHDR_USELESS_FH, "ipv6.exthdr_useless_fh"),
        (IPV6_EXTHDR_DUPL_FH, "ipv6.exthdr_dupl_fh"),
        (IPV6_FRAG_INVALID_LENGTH, "ipv6.frag_invalid_length"),
        (IPV6_FRAG_PKT_TOO_LARGE, "ipv6.frag_pkt_too_large"),
        (UDP_LEN_INVALID, "udp.len_invalid"),
        (
            IPV6_IPV4_IN_IPV6_WRONG_VERSION,
            "ipv6.ipv4_in_ipv6_wrong_version",
        ),
        (
            IPV6_IPV6_IN_IPV6_WRONG_VERSION,
            "ipv6.ipv6_in_ipv6_wrong_version",
        ),
        (IPV6_FRAG_OVERLAP, "ipv6.frag_overlap"),
        (IPV6_TRUNC_EXTHDR, "ipv6.trunc_exthdr"),
        (IPV6_HOPOPTS_UNKNOWN_OPT, "ipv6.hopopts_unknown_opt"),
        (IPV6_DSTOPTS_UNKNOWN_OPT, "ipv6.dstopts_unknown_opt"),
    ];

    /// The most events one packet can carry.
    pub const MAX: usize = NAMES.len();

    /// The names of the events set in `bits`.
    pub fn names(bits: u32) -> impl Iterator<Item = &'static str> {
        NAMES
            .iter()
            .filter(move |(b, _)| bits & b != 0)
            .map(|(_, n)| *n)
    }
}

/// TCP flag bits as in the header's flag byte.
pub mod tcpflag {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
    /// URG.
    pub const URG: u8 = 0x20;
    /// ECE.
    pub const ECE: u8 = 0x40;
    /// CWR.
    pub const CWR: u8 = 0x80;
}

/// Transport-layer view of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4<'a> {
    /// TCP.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flag byte (see [`tcpflag`]).
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Window, unscaled.
        window: u16,
        /// Options bytes.
        options: &'a [u8],
    },
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP (v4) or ICMPv6.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Echo-like identifier.
        id: Option<u16>,
        /// Echo-like sequence.
        seq: Option<u16>,
        /// ICMPv6.
        v6: bool,
    },
    /// SCTP (common header only; chunks are the payload).
    Sctp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// A non-first fragment: no transport header.
    Fragment,
    /// The transport header is present but truncated or invalid.
    Malformed,
    /// Another protocol (GRE, ESP, SCTP, ...), not decoded.
    Other,
}

impl L4<'_> {
    /// Ports for TCP/UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            L4::Tcp {
                src_port, dst_port, ..
            }
            | L4::Udp { src_port, dst_port }
            | L4::Sctp { src_port, dst_port } => Some((src_port, dst_port)),
            _ => None,
        }
    }
}

/// A decoded packet: views into one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Link-layer facts.
    pub link: Link,
    /// Network layer.
    pub ip: Ip<'a>,
    /// Transport layer.
    pub l4: L4<'a>,
    /// Transport payload (empty for fragments without transport, malformed or other L4:
    /// then it is the IP payload).
    pub payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// The flow key of this packet (bidirectional, see [`FlowKey`]).
    pub fn flow_key(&self) -> (FlowKey, FlowKeyDir) {
        let (sp, dp) = self.l4.ports().unwrap_or((0, 0));
        let vlan = if self.link.vlan_count > 0 {
            self.link.vlan[0]
        } else {
            0
        };
        FlowKey::new(self.ip.src, sp, self.ip.dst, dp, self.ip.proto, vlan)
    }
}

fn need(layer: &'static str, b: &[u8], n: usize) -> Result<(), DecodeError> {
    if b.len() < n {
        Err(DecodeError::Truncated {
            layer,
            need: n,
            have: b.len(),
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

/// Decodes a packet that starts at the IP header (NFQUEUE payloads, raw captures).
pub fn decode_ip(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    decode_ip_with(bytes, Link::default())
}

/// Decodes a packet framed by `link` (a capture file's link type).
pub fn decode(link: LinkType, bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    match link {
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => decode_ip(bytes),
        LinkType::Ethernet => {
            need("ethernet", bytes, 14)?;
            ethertype_walk(be16(bytes, 12), &bytes[14..], Link::default())
        }
        LinkType::LinuxSll => {
            need("linux-sll", bytes, 16)?;
            ethertype_walk(be16(bytes, 14), &bytes[16..], Link::default())
        }
        LinkType::LinuxSll2 => {
            need("linux-sll2", bytes, 20)?;
            ethertype_walk(be16(bytes, 0), &bytes[20..], Link::default())
        }
        LinkType::Null | LinkType::Loop => {
            need("loopback", bytes, 4)?;
            // The family is host-endian for NULL; accept both byte orders. AF_INET is 2
            // everywhere; AF_INET6 is 10 (Linux), 24, 28 or 30 (BSDs, macOS).
            let le = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let be = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let fam = if le < 256 { le } else { be };
            match fam {
                2 | 10 | 24 | 28 | 30 => decode_ip(&bytes[4..]),
                other => Err(DecodeError::NotIp(other as u16)),
            }
        }
        LinkType::Ppp => decode_ppp(bytes),
    }
}

/// Decodes a PPP frame as Suricata does: a leading `0xff` is the HDLC address byte
/// (followed by control), so the protocol starts at offset 2; a protocol byte with its
/// low bit set is a compressed one-byte protocol (RFC 1661 section 6.5), else the
/// protocol takes two bytes. Only IPv4 (0x21) and IPv6 (0x57) are decoded further.
fn decode_ppp(bytes: &[u8]) -> Result<Packet<'_>, DecodeError> {
    need("ppp", bytes, 1)?;
    let at = if bytes[0] == 0xff { 2 } else { 0 };
    need("ppp", bytes, at + 1)?;
    let first = bytes[at];
    let (proto, len) = if first != 0xff && first & 1 == 1 {
        (u16::from(first), 1)
    } else {
        need("ppp", bytes, at + 2)?;
        (be16(bytes, at), 2)
    };
    match proto {
        0x21 | 0x57 => decode_ip(&bytes[at + len..]),
        // Reported as the PPP protocol number (LCP, IPCP, ...), which is not IP.
        other => Err(DecodeError::NotIp(other)),
    }
}

fn ethertype_walk<'a>(
    mut ethertype: u16,
    mut rest: &'a [u8],
    mut link: Link,
) -> Result<Packet<'a>, DecodeError> {
    // Bounded loop: each tag or header consumes at least 4 bytes, so this ends with the
    // buffer.
    loop {
        match ethertype {
            0x0800 | 0x86dd => return decode_ip_with(rest, link),
            0x894f => {
                // Network Service Header (RFC 8300), checked as Suricata's decoder does.
                let unsupported = |field, value| DecodeError::Unsupported {
                    layer: "nsh",
                    field,
                    value,
                };
                need("nsh", rest, 8)?;
                let word = be16(rest, 0);
                if word >> 14 != 0 {
                    return Err(unsupported("version", word >> 14));
                }
                let len = usize::from(word & 0x3f) * 4;
                let (md_type, next) = (rest[2] & 0x0f, rest[3]);
                match md_type {
                    // MD type 1 has four fixed context words: six words in all.
                    1 if len != 24 => return Err(DecodeError::BadHeaderLen { layer: "nsh", len }),
                    // MD type 2 has zero or more variable-length context headers.
                    2 if len < 8 => return Err(DecodeError::BadHeaderLen { layer: "nsh", len }),
                    1 | 2 => {}
                    other => return Err(unsupported("MD type", u16::from(other))),
                }
                need("nsh", rest, len)?;
                let body = &rest[len..];
                match next {
                    1 | 2 => return decode_ip_with(body, link),
                    3 => {
                        need("ethernet", body, 14)?;
                        ethertype = be16(body, 12);
                        rest = &body[14..];
                    }
                    other => return Err(unsupported("next protocol", u16::from(other))),
                }
            }
            0x8100 | 0x88a8 | 0x9100 => {
                need("vlan", rest, 4)?;
                let tci = be16(rest, 0) & 0x0fff;
                if (link.vlan_count as usize) < link.vlan.len() {
                    link.vlan[link.vlan_count as usize] = tci;
                    link.vlan_count += 1;
                }
                ethertype = be16(rest, 2);
                rest = &rest[4..];
            }
            other => return Err(DecodeError::NotIp(other)),
        }
    }
}

fn decode_ip_with(bytes: &[u8], link: Link) -> Result<Packet<'_>, DecodeError> {
    need("ip", bytes, 1)?;
    match bytes[0] >> 4 {
        4 => decode_v4(bytes, link),
        6 => decode_v6(bytes, link),
        v => Err(DecodeError::BadIpVersion(v)),
    }
}

fn decode_v4(bytes: &[u8], link: Link) -> Result<Packet<'_>, DecodeError> {
    use etherparse::err::ipv4::{HeaderError, HeaderSliceError};
    let h = etherparse::Ipv4HeaderSlice::from_slice(bytes).map_err(|e| match e {
        HeaderSliceError::Len(l) => DecodeError::Truncated {
            layer: "ipv4",
            need: l.required_len,
            have: l.len,
        },
        HeaderSliceError::Content(HeaderError::UnexpectedVersion { version_number }) => {
            DecodeError::BadIpVersion(version_number)
        }
        HeaderSliceError::Content(HeaderError::HeaderLengthSmallerThanHeader { ihl }) => {
            DecodeError::BadHeaderLen {
                layer: "ipv4",
                len: ihl as usize * 4,
            }
        }
    })?;
    let hlen = h.slice().len();
    let total = h.total_len() as usize;
    if total < hlen {
        return Err(DecodeError::BadHeaderLen {
            layer: "ipv4 total",
            len: total,
        });
    }
    if total > bytes.len() {
        return Err(DecodeError::LengthMismatch {
            layer: "ipv4",
            claimed: total,
            have: bytes.len(),
        });
    }
    let raw = h.slice();
    // The top 3 bits of byte 6 are reserved, DF, MF: shifted down they are exactly our
    // fragbits layout (bit 2 = reserved, bit 1 = DF, bit 0 = MF).
    let fragbits = raw[6] >> 5;
    let frag_offset = h.fragments_offset().value();
    let is_fragment = h.more_fragments() || frag_offset != 0;
    let proto = h.protocol().0;
    let ip = Ip {
        version: IpVersion::V4,
        src: IpAddr::V4(Ipv4Addr::from(h.source())),
        dst: IpAddr::V4(Ipv4Addr::from(h.destination())),
        proto,
        ttl: h.ttl(),
        tos: raw[1],
        id: h.identification() as u32,
        ipopts: parse_ipv4_options(h.options()),
        fragbits,
        frag_offset,
        is_fragment,
        header: raw,
        total_len: total,
        events: 0,
        frag_data_len: if is_fragment { total - hlen } else { 0 },
    };
    let ip_payload = &bytes[hlen..total];
    finish(link, ip, ip_payload, frag_offset != 0)
}

/// Walks IPv4 options and returns the [`ipopt`] bits seen. Malformed lengths end the walk.
pub fn parse_ipv4_options(mut opts: &[u8]) -> u32 {
    let mut bits = 0;
    while let Some(&kind) = opts.first() {
        bits |= match kind {
            0 => ipopt::EOL,
            1 => ipopt::NOP,
            7 => ipopt::RR,
            68 => ipopt::TS,
            130 => ipopt::SEC,
            133 => ipopt::ESEC,
            131 => ipopt::LSRR,
            137 => ipopt::SSRR,
            136 => ipopt::SATID,
            _ => 0,
        };
        match kind {
            0 => break,
            1 => opts = &opts[1..],
            _ => {
                let len = match opts.get(1) {
                    Some(&l) if l >= 2 && (l as usize) <= opts.len() => l as usize,
                    _ => break,
                };
                opts = &opts[len..];
            }
        }
    }
    bits
}

fn decode_v6(bytes: &[u8], link: Link) -> Result<Packet<'_>, DecodeError> {
    let h = etherparse::Ipv6HeaderSlice::from_slice(bytes).map_err(|e| match e {
        etherparse::err::ipv6::HeaderSliceError::Len(l) => DecodeError::Truncated {
            layer: "ipv6",
            need: l.required_len,
            have: l.len,
        },
        etherparse::err::ipv6::HeaderSliceError::Content(c) => match c {
            etherparse::err::ipv6::HeaderError::UnexpectedVersion { version_number } => {
                DecodeError::BadIpVersion(version_number)
            }
        },
    })?;
    let plen = h.payload_length() as usize;
    let total = 40 + plen;
    if total > bytes.len() {
        return Err(DecodeError::LengthMismatch {
            layer: "ipv6",
            claimed: total,
            have: bytes.len(),
        });
    }
    let pkt = &bytes[..total];
    let mut next = h.next_header().0;
    let mut off = 40usize;
    let mut id = 0u32;
    let mut frag_offset = 0u16;
    let mut more = false;
    let mut is_fragment = false;
    let mut events = 0u32;
    let mut frag_data_len = 0usize;
    let mut fh_seen = false;
    // Each extension header consumes at least 8 bytes, so the walk is bounded by the packet.
    loop {
        // After an extension header, fewer than 2 bytes left cannot hold the next header
        // (Suricata's check, which also catches an empty upper layer).
        if off > 40 && next != 59 && pkt.len().saturating_sub(off) < 2 {
            events |= event::IPV6_TRUNC_EXTHDR;
            break;
        }
        match next {
            // hop-by-hop, routing, destination options, mobility, HIP, shim6
            0 | 43 | 60 | 135 | 139 | 140 => {
                let ext = pkt.get(off..).unwrap_or(&[]);
                // A truncated extension header ends the walk with an event (Suricata still
                // inspects such packets, e.g. for `decode-event` rules).
                let len = match ext.get(1) {
                    Some(&l) if ext.len() >= 8 => (l as usize + 1) * 8,
                    _ => {
                        events |= event::IPV6_TRUNC_EXTHDR;
                        break;
                    }
                };
                if ext.len() < len {
                    events |= event::IPV6_TRUNC_EXTHDR;
                    break;
                }
                if (next == 0 || next == 60) && ipv6_options_unknown(&ext[2..len]) {
                    events |= if next == 0 {
                        event::IPV6_HOPOPTS_UNKNOWN_OPT
                    } else {
                        event::IPV6_DSTOPTS_UNKNOWN_OPT
                    };
                }
                next = ext[0];
                off += len;
            }
            44 => {
                let ext = pkt.get(off..).unwrap_or(&[]);
                if ext.len() < 8 {
                    events |= event::IPV6_TRUNC_EXTHDR;
                    break;
                }
                let fo = be16(ext, 2);
                if fh_seen {
                    events |= event::IPV6_EXTHDR_DUPL_FH;
                }
                fh_seen = true;
                frag_offset = fo >> 3;
                more = fo & 1 == 1;
                id = u32::from_be_bytes([ext[4], ext[5], ext[6], ext[7]]);
                // A "useless" fragment header (offset 0, no more fragments) does not make
                // the packet a fragment: it is parsed on, as Suricata does.
                is_fragment |= frag_offset != 0 || more;
                next = ext[0];
                off += 8;
                let frag_len = total.saturating_sub(off);
                frag_data_len = frag_len;
                if frag_offset == 0 && !more {
                    events |= event::IPV6_EXTHDR_USELESS_FH;
                }
                if more && frag_len % 8 != 0 {
                    events |= event::IPV6_FRAG_INVALID_LENGTH;
                }
                if frag_offset as usize * 8 + frag_len > 65_535 {
                    events |= event::IPV6_FRAG_PKT_TOO_LARGE;
                }
            }
            51 => {
                // Authentication header: length in 4-byte units minus 2.
                let ext = pkt.get(off..).unwrap_or(&[]);
                need("ipv6 ah", ext, 8)?;
                let len = (ext[1] as usize + 2) * 4;
                need("ipv6 ah", ext, len)?;
                next = ext[0];
                off += len;
            }
            _ => break,
        }
        if is_fragment && frag_offset != 0 {
            break;
        }
    }
    let mut ip = Ip {
        version: IpVersion::V6,
        src: IpAddr::V6(Ipv6Addr::from(h.source())),
        dst: IpAddr::V6(Ipv6Addr::from(h.destination())),
        proto: next,
        ttl: h.hop_limit(),
        tos: h.traffic_class(),
        id,
        ipopts: 0,
        fragbits: more as u8,
        frag_offset,
        is_fragment,
        header: &pkt[..off],
        total_len: total,
        events,
        frag_data_len,
    };
    if frag_offset == 0 {
        let inner_version = pkt.get(off).map(|b| b >> 4);
        match (next, inner_version) {
            (4, Some(v)) if v != 4 => ip.events |= event::IPV6_IPV4_IN_IPV6_WRONG_VERSION,
            (41, Some(v)) if v != 6 => ip.events |= event::IPV6_IPV6_IN_IPV6_WRONG_VERSION,
            _ => {}
        }
    }
    finish(link, ip, &pkt[off..], frag_offset != 0)
}

/// True if an IPv6 hop-by-hop/destination options area holds an option type Suricata does
/// not know (Pad1, PadN, router alert, jumbo payload, home address). Malformed lengths end
/// the walk.
fn ipv6_options_unknown(mut opts: &[u8]) -> bool {
    while let Some(&t) = opts.first() {
        if t == 0 {
            opts = &opts[1..];
            continue;
        }
        if !matches!(t, 1 | 5 | 0xc2 | 0xc9) {
            return true;
        }
        let len = match opts.get(1) {
            Some(&l) => 2 + l as usize,
            None => return false,
        };
        opts = opts.get(len..).unwrap_or(&[]);
    }
    false
}

fn finish<'a>(
    link: Link,
    ip: Ip<'a>,
    ip_payload: &'a [u8],
    non_first_fragment: bool,
) -> Result<Packet<'a>, DecodeError> {
    if non_first_fragment {
        return Ok(Packet {
            link,
            ip,
            l4: L4::Fragment,
            payload: ip_payload,
        });
    }
    let (l4, payload) = decode_l4(ip.proto, ip_payload);
    let mut ip = ip;
    if ip.proto == 17 && l4 == L4::Malformed && ip_payload.len() >= 8 {
        ip.events |= event::UDP_LEN_INVALID;
    }
    Ok(Packet {
        link,
        ip,
        l4,
        payload,
    })
}

fn decode_l4(proto: u8, b: &[u8]) -> (L4<'_>, &[u8]) {
    match proto {
        6 => match etherparse::TcpHeaderSlice::from_slice(b) {
            Ok(t) => {
                let hl = t.slice().len();
                let flags = b.get(13).copied().unwrap_or(0);
                let options = t.slice().get(20..).unwrap_or(&[]);
                (
                    L4::Tcp {
                        src_port: t.source_port(),
                        dst_port: t.destination_port(),
                        flags,
                        seq: t.sequence_number(),
                        ack: t.acknowledgment_number(),
                        window: t.window_size(),
                        options,
                    },
                    b.get(hl..).unwrap_or(&[]),
                )
            }
            Err(_) => (L4::Malformed, b),
        },
        17 => match etherparse::UdpHeaderSlice::from_slice(b) {
            Ok(u) => {
                let len = u.length() as usize;
                // A UDP length below 8 or past the IP payload is invalid; shorter trims.
                if len < 8 || len > b.len() {
                    return (L4::Malformed, b);
                }
                (
                    L4::Udp {
                        src_port: u.source_port(),
                        dst_port: u.destination_port(),
                    },
                    &b[8..len],
                )
            }
            Err(_) => (L4::Malformed, b),
        },
        1 | 58 => {
            if b.len() < 8 {
                return (L4::Malformed, b);
            }
            let v6 = proto == 58;
            let (t, c) = (b[0], b[1]);
            let echo_like = if v6 {
                matches!(t, 128 | 129)
            } else {
                matches!(t, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
            };
            let (id, seq) = if echo_like {
                (Some(be16(b, 4)), Some(be16(b, 6)))
            } else {
                (None, None)
            };
            (
                L4::Icmp {
                    icmp_type: t,
                    code: c,
                    id,
                    seq,
                    v6,
                },
                &b[8..],
            )
        }
        132 => {
            // SCTP common header: ports, verification tag, checksum (12 bytes).
            if b.len() < 12 {
                return (L4::Malformed, b);
            }
            (
                L4::Sctp {
                    src_port: be16(b, 0),
                    dst_port: be16(b, 2),
                },
                &b[12..],
            )
        }
        _ => (L4::Other, b),
    }
}

/// How an inner packet was carried, named as Suricata's `pkt_src` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelKind {
    /// IP-in-IP / IPv6-in-IP inside an IPv4 packet (protocol 4 or 41).
    Ipv4,
    /// IP-in-IP / IPv6-in-IPv6 inside an IPv6 packet.
    Ipv6,
    /// GRE (protocol 47), including ERSPAN and transparent Ethernet bridging.
    Gre,
    /// VXLAN (UDP port 4789).
    Vxlan,
    /// Geneve (UDP port 6081).
    Geneve,
}

impl TunnelKind {
    /// Suricata's `pkt_src` for packets found inside this tunnel.
    pub fn pkt_src(self) -> &'static str {
        match self {
            TunnelKind::Ipv4 => "ipv4 tunnel",
            TunnelKind::Ipv6 => "ipv6 tunnel",
            TunnelKind::Gre => "gre tunnel",
            TunnelKind::Vxlan => "vxlan encapsulation",
            TunnelKind::Geneve => "geneve encapsulation",
        }
    }
}

/// An encapsulated packet found in a packet's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tunnel<'a> {
    /// The encapsulation.
    pub kind: TunnelKind,
    /// How the inner bytes are framed.
    pub link: LinkType,
    /// The inner packet's bytes (borrowed from the outer packet).
    pub inner: &'a [u8],
    /// A VLAN id carried by the encapsulation itself (ERSPAN type II), outermost for the
    /// inner packet.
    pub vlan: Option<u16>,
}

/// UDP port of VXLAN.
pub const VXLAN_PORT: u16 = 4789;
/// UDP port of Geneve.
pub const GENEVE_PORT: u16 = 6081;

fn ethertype_link(et: u16) -> Option<LinkType> {
    match et {
        0x0800 | 0x86dd => Some(LinkType::Raw),
        0x6558 => Some(LinkType::Ethernet),
        _ => None,
    }
}

impl Link {
    /// Adds a VLAN id as the outermost tag (keeps at most three).
    pub fn push_outer_vlan(&mut self, id: u16) {
        self.vlan = [id, self.vlan[0], self.vlan[1]];
        self.vlan_count = (self.vlan_count + 1).min(3);
    }
}

impl<'a> Packet<'a> {
    /// The packet this one encapsulates, if it is a tunnel Verdict decodes (IP-in-IP,
    /// GRE/ERSPAN, VXLAN, Geneve). Fragments carry no tunnel. Decode the result with
    /// [`decode`]`(t.link, t.inner)`; callers bound the nesting depth.
    pub fn tunnel(&self) -> Option<Tunnel<'a>> {
        if self.ip.is_fragment {
            return None;
        }
        let b = self.payload;
        match (self.l4, self.ip.proto) {
            (L4::Other, 4 | 41) => {
                let kind = match self.ip.version {
                    IpVersion::V4 => TunnelKind::Ipv4,
                    IpVersion::V6 => TunnelKind::Ipv6,
                };
                Some(Tunnel {
                    kind,
                    link: LinkType::Raw,
                    inner: b,
                    vlan: None,
                })
            }
            (L4::Other, 47) => {
                if b.len() < 4 {
                    return None;
                }
                let flags = b[0];
                if b[1] & 0x07 != 0 {
                    return None; // only GRE version 0 (not PPTP's enhanced GRE)
                }
                let proto = be16(b, 2);
                let mut hl = 4;
                for bit in [0x80u8, 0x20, 0x10] {
                    if flags & bit != 0 {
                        hl += 4; // checksum(+reserved), key, sequence
                    }
                }
                let rest = b.get(hl..)?;
                if proto == 0x88be {
                    // ERSPAN: type II (sequence bit set) has an 8-byte header; type I none.
                    // Type II carries the mirrored frame's VLAN in its first 12 bits.
                    let (inner, vlan) = if flags & 0x10 != 0 {
                        (rest.get(8..)?, Some(be16(rest, 0) & 0x0fff))
                    } else {
                        (rest, None)
                    };
                    return Some(Tunnel {
                        kind: TunnelKind::Gre,
                        link: LinkType::Ethernet,
                        inner,
                        vlan,
                    });
                }
                Some(Tunnel {
                    kind: TunnelKind::Gre,
                    link: ethertype_link(proto)?,
                    inner: rest,
                    vlan: None,
                })
            }
            (
                L4::Udp {
                    dst_port: VXLAN_PORT,
                    ..
                },
                _,
            ) => {
                // Flags byte must have the I (valid VNI) bit.
                if b.len() < 8 || b[0] & 0x08 == 0 {
                    return None;
                }
                Some(Tunnel {
                    kind: TunnelKind::Vxlan,
                    link: LinkType::Ethernet,
                    inner: &b[8..],
                    vlan: None,
                })
            }
            (
                L4::Udp {
                    dst_port: GENEVE_PORT,
                    ..
                },
                _,
            ) => {
                if b.len() < 8 || b[0] >> 6 != 0 {
                    return None;
                }
                let hl = 8 + (b[0] & 0x3f) as usize * 4;
                let link = ethertype_link(be16(b, 2))?;
                Some(Tunnel {
                    kind: TunnelKind::Geneve,
                    link,
                    inner: b.get(hl..)?,
                    vlan: None,
                })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
