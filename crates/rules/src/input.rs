//! What the detection engine sees of a packet: the contract between the engine (which
//! decodes packets and tracks flows) and the rule matcher.
//!
//! The rules crate does not decode packets itself. The engine fills a [`PacketInput`] from its
//! zero-copy decoder and its flow table, and rules match against it. This keeps the rule
//! language independent of any one decoder and lets tests build inputs by hand.

use std::net::IpAddr;

/// One packet as rules see it. All slices borrow the packet buffer; nothing is copied.
#[derive(Debug, Clone)]
pub struct PacketInput<'a> {
    /// Network-layer facts.
    pub ip: IpInput<'a>,
    /// Transport-layer facts.
    pub l4: L4Input,
    /// The transport payload (after the TCP/UDP/ICMP header), what `content` matches by default.
    pub payload: &'a [u8],
    /// Flow facts, when the engine tracks this packet's flow.
    pub flow: FlowInput,
}

/// Network-layer facts of a packet.
#[derive(Debug, Clone)]
pub struct IpInput<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol number of the transport (for IPv6, after extension headers).
    pub proto: u8,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 TOS byte or IPv6 traffic class.
    pub tos: u8,
    /// IPv4 identification (IPv6: fragment header identification, else 0).
    pub id: u32,
    /// IPv4 options present, as a bit set of [`ipopt`] flags (0 for IPv6 or no options).
    pub ipopts: u32,
    /// Fragment bits: bit 0 = More Fragments, bit 1 = Don't Fragment, bit 2 = Reserved.
    pub fragbits: u8,
    /// Fragment offset in 8-byte units.
    pub frag_offset: u16,
    /// The raw IP header bytes (IPv4 with options; IPv6 fixed header plus extension headers).
    pub header: &'a [u8],
}

/// IPv4 option bits for [`IpInput::ipopts`], named as Suricata's `ipopts` keyword names them.
pub mod ipopt {
    /// Record route (`rr`).
    pub const RR: u32 = 1 << 0;
    /// End of list (`eol`).
    pub const EOL: u32 = 1 << 1;
    /// No operation (`nop`).
    pub const NOP: u32 = 1 << 2;
    /// Timestamp (`ts`).
    pub const TS: u32 = 1 << 3;
    /// Security (`sec`).
    pub const SEC: u32 = 1 << 4;
    /// Extended security (`esec`).
    pub const ESEC: u32 = 1 << 5;
    /// Loose source routing (`lsrr`).
    pub const LSRR: u32 = 1 << 6;
    /// Strict source routing (`ssrr`).
    pub const SSRR: u32 = 1 << 7;
    /// Stream identifier (`satid`).
    pub const SATID: u32 = 1 << 8;
}

/// Transport-layer facts of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4Input {
    /// TCP header fields.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Flag byte: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80.
        flags: u8,
        /// Sequence number.
        seq: u32,
        /// Acknowledgement number.
        ack: u32,
        /// Window (unscaled, as on the wire).
        window: u16,
    },
    /// UDP header fields.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMP or ICMPv6 header fields.
    Icmp {
        /// Type.
        icmp_type: u8,
        /// Code.
        code: u8,
        /// Identifier, for echo-like messages.
        id: Option<u16>,
        /// Sequence number, for echo-like messages.
        seq: Option<u16>,
        /// True for ICMPv6.
        v6: bool,
    },
    /// Any other protocol, or a transport header that could not be decoded.
    Other,
}

impl L4Input {
    /// Source and destination ports, for TCP and UDP.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match *self {
            L4Input::Tcp {
                src_port, dst_port, ..
            }
            | L4Input::Udp { src_port, dst_port } => Some((src_port, dst_port)),
            _ => None,
        }
    }
}

/// Flow facts the engine's flow tracker knows about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowInput {
    /// The engine tracks a flow for this packet (false: `flow:stateless` only).
    pub tracked: bool,
    /// The packet goes from the client (the side that opened the flow) to the server.
    pub to_server: bool,
    /// The flow is established (TCP: after the 3-way handshake or midstream pickup;
    /// UDP and others: once packets were seen in both directions).
    pub established: bool,
    /// The packet came from stream reassembly rather than a single packet (`only_stream`).
    pub from_stream: bool,
}

/// Facts about a packet beyond [`PacketInput`], for keywords that need them. Optional: pass
/// `PacketExtra::default()` (or call [`crate::RuleSet::detect`]) when the engine has none,
/// and rules using these keywords simply do not match.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketExtra<'a> {
    /// The raw transport header (TCP with options, UDP, ICMP/ICMPv6 header), for the
    /// `tcp.hdr`, `udp.hdr`, `icmpv4.hdr` and `icmpv6.hdr` buffers. For SCTP (IP protocol
    /// 132), the whole SCTP packet: the 12-byte common header and every chunk (`sctp.hdr`,
    /// `sctp.vtag`, `sctp.chunk_*`).
    pub l4_header: &'a [u8],
    /// Decoder events raised on this packet, named as Suricata's `decode-event` keyword names
    /// them (e.g. `ipv6.frag_overlap`, `tcp.opt_invalid_len`, without the `decoder.` prefix).
    pub decode_events: &'a [&'a str],
    /// Stream engine events raised on this packet, named as Suricata's `stream-event` keyword
    /// names them (e.g. `rst_invalid_ack`, without the `stream.` prefix).
    pub stream_events: &'a [&'a str],
    /// VLAN ids of the packet, outermost first, for `vlan.id`.
    pub vlan_ids: &'a [u16],
    /// The flow's app layer over the reassembled stream, when the engine tracks it (TCP).
    /// `None`: app-layer rules parse the packet's own payload (UDP, or no stream tracking).
    pub app: Option<AppInput<'a>>,
    /// The reassembled stream around this packet's new data, for raw stream inspection of
    /// TCP payload rules (`None` when the packet added no stream data).
    pub stream: Option<StreamInput<'a>>,
}

/// The app layer of a TCP flow as rules see it on one packet: the flow's protocol and the
/// messages of the packet's direction that got data from it (built from the reassembled
/// stream, so a message cut over segments is whole).
#[derive(Debug, Clone, Copy, Default)]
pub struct AppInput<'a> {
    /// The flow's detected protocol.
    pub proto: Option<verdict_applayer::AppProto>,
    /// The messages touched by this packet, in stream order: their protocol, bytes from the
    /// message start, transaction id. App-layer rules match once per (rule, transaction).
    pub messages: &'a [verdict_applayer::flow::AppMessage<'a>],
    /// How HTTP bodies are decoded (Suricata's `response-body-decompress-layer-limit`).
    pub decode: verdict_applayer::http::DecodeOptions,
}

/// Reassembled stream data around one packet, for raw stream inspection.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamInput<'a> {
    /// Stream bytes ending with the data this packet added (and made contiguous), starting
    /// up to a few KiB before it so patterns straddling segments are found.
    pub window: &'a [u8],
    /// Where this packet's new data starts in `window`.
    pub new_from: usize,
    /// The new data is exactly this packet's payload (in order, nothing released from the
    /// out-of-order queue): then only the boundary needs a new prefilter scan.
    pub payload_only: bool,
    /// A range of `window` (start, end indices) already inspected before, out of order
    /// (IPS): a match inside it is not reported again. `(0, 0)` when none.
    pub inspected: (usize, usize),
}

/// The chunks of an SCTP packet (`packet` from its common header on), as (type, chunk
/// bytes including the 4-byte chunk header). Stops at the first chunk whose length field
/// is below 4; a chunk cut by the end of the packet is given as far as it goes. Never
/// panics, whatever the bytes.
pub fn sctp_chunks(packet: &[u8]) -> impl Iterator<Item = (u8, &[u8])> + '_ {
    let mut off = 12usize;
    std::iter::from_fn(move || {
        let head = packet.get(off..off.checked_add(4)?)?;
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if len < 4 {
            return None;
        }
        let chunk = packet.get(off..).map(|rest| &rest[..len.min(rest.len())])?;
        // Chunks are padded to a multiple of 4 bytes.
        off = off.checked_add((len + 3) & !3)?;
        Some((head[0], chunk))
    })
}

/// The user data of each DATA chunk (type 0: after its 16-byte header) of an SCTP packet.
pub fn sctp_data(packet: &[u8]) -> impl Iterator<Item = &[u8]> + '_ {
    sctp_chunks(packet).filter_map(|(t, c)| if t == 0 { c.get(16..) } else { None })
}

#[cfg(test)]
mod sctp_tests {
    use super::*;

    fn packet(chunks: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![0x0b, 0x59, 0x0b, 0x59, 0xd4, 0x2b, 0x8e, 0x92, 0, 0, 0, 0];
        for c in chunks {
            p.extend_from_slice(c);
            while p.len() % 4 != 0 {
                p.push(0);
            }
        }
        p
    }

    #[test]
    fn chunks_and_data_are_walked_with_padding() {
        let init = [1u8, 0, 0, 8, 1, 2, 3, 4];
        let mut data = vec![0u8, 3, 0, 21];
        data.extend_from_slice(&[0; 12]);
        data.extend_from_slice(b"hello");
        let p = packet(&[&init, &data, &[3, 0, 0, 4]]);
        let types: Vec<u8> = sctp_chunks(&p).map(|(t, _)| t).collect();
        assert_eq!(types, [1, 0, 3]);
        assert_eq!(sctp_data(&p).collect::<Vec<_>>(), [b"hello".as_slice()]);
    }

    #[test]
    fn hostile_lengths_end_the_walk() {
        // Length 0 (would loop), 2 (below the header), huge (past the end), truncated header.
        for bad in [
            &[1u8, 0, 0, 0][..],
            &[1, 0, 0, 2],
            &[0, 0, 0xff, 0xff, 9],
            &[1, 0],
        ] {
            let p = packet(&[bad]);
            assert!(sctp_chunks(&p).count() <= 1);
            let _ = sctp_data(&p).count();
        }
        assert_eq!(sctp_chunks(&[]).count(), 0);
        assert_eq!(sctp_chunks(&[0; 12]).count(), 0);
    }
}
