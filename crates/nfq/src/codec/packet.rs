//! Packet messages (`NFQNL_MSG_PACKET`): a view borrowing the receive buffer.

use std::time::Duration;

use super::attr::*;
use super::netlink::{be_u16, be_u32, be_u64, Attrs, NetlinkMsg, NFGENMSG_LEN};
use super::{nfq_msg_type, ParseError, NFQNL_MSG_PACKET};

/// The netfilter hook a packet was queued from (`NF_INET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hook(pub u8);

impl Hook {
    /// `NF_INET_PRE_ROUTING`
    pub const PREROUTING: Hook = Hook(0);
    /// `NF_INET_LOCAL_IN`
    pub const INPUT: Hook = Hook(1);
    /// `NF_INET_FORWARD`
    pub const FORWARD: Hook = Hook(2);
    /// `NF_INET_LOCAL_OUT`
    pub const OUTPUT: Hook = Hook(3);
    /// `NF_INET_POST_ROUTING`
    pub const POSTROUTING: Hook = Hook(4);

    /// The iptables chain name of the hook, if it is one of the five.
    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "PREROUTING",
            1 => "INPUT",
            2 => "FORWARD",
            3 => "OUTPUT",
            4 => "POSTROUTING",
            _ => return None,
        })
    }
}

/// The packet's receive timestamp (`struct nfqnl_msg_packet_timestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub sec: u64,
    /// Microseconds.
    pub usec: u64,
}

impl Timestamp {
    /// As a duration since the Unix epoch (`None` if the microseconds are out of range).
    pub fn as_duration(self) -> Option<Duration> {
        if self.usec >= 1_000_000 {
            return None;
        }
        Some(Duration::from_secs(self.sec) + Duration::from_micros(self.usec))
    }
}

/// Socket-buffer information (`NFQA_SKB_INFO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkbInfo(pub u32);

impl SkbInfo {
    /// `NFQA_SKB_CSUMNOTREADY`: checksums look wrong but are fine (offloaded, computed later).
    pub fn csum_not_ready(self) -> bool {
        self.0 & 1 != 0
    }

    /// `NFQA_SKB_GSO`: the packet is a GSO super-packet (larger than the device MTU).
    pub fn is_gso(self) -> bool {
        self.0 & 2 != 0
    }

    /// `NFQA_SKB_CSUM_NOTVERIFIED`: the checksum was not verified by hardware.
    pub fn csum_not_verified(self) -> bool {
        self.0 & 4 != 0
    }
}

/// VLAN information (`NFQA_VLAN`, bridge family only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vlan {
    /// `NFQA_VLAN_PROTO`: the tag protocol (0x8100, 0x88a8).
    pub proto: Option<u16>,
    /// `NFQA_VLAN_TCI`: the tag control information.
    pub tci: Option<u16>,
}

/// A queued packet, as a view over the receive buffer: nothing is copied.
///
/// # No-panic promise
/// [`PacketMsg::parse`] checks every attribute it knows against its type's size (unknown
/// attributes are skipped, for kernels newer than this crate) and requires the packet header.
/// Once a `PacketMsg` exists, no accessor can panic; on any input, `parse` returns an error
/// instead of panicking (fuzzed: `fuzz/fuzz_targets/nfq_packet.rs`).
///
/// If an attribute appears twice, the last one wins (the kernel never sends duplicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMsg<'buf> {
    family: u8,
    queue: u16,
    id: u32,
    hw_protocol: u16,
    hook: u8,
    mark: Option<u32>,
    priority: Option<u32>,
    timestamp: Option<Timestamp>,
    indev: Option<u32>,
    outdev: Option<u32>,
    physindev: Option<u32>,
    physoutdev: Option<u32>,
    hwaddr: Option<&'buf [u8]>,
    payload: Option<&'buf [u8]>,
    ct: Option<&'buf [u8]>,
    ct_info: Option<u32>,
    exp: Option<&'buf [u8]>,
    cap_len: Option<u32>,
    skb_info: Option<SkbInfo>,
    uid: Option<u32>,
    gid: Option<u32>,
    secctx: Option<&'buf [u8]>,
    vlan: Option<Vlan>,
    l2hdr: Option<&'buf [u8]>,
}

fn need(kind: u16, v: &[u8], n: usize) -> Result<(), ParseError> {
    if v.len() < n {
        Err(ParseError::ShortAttribute {
            kind,
            len: v.len(),
            need: n,
        })
    } else {
        Ok(())
    }
}

fn be32_attr(kind: u16, v: &[u8]) -> Result<u32, ParseError> {
    be_u32(v, 0).ok_or(ParseError::ShortAttribute {
        kind,
        len: v.len(),
        need: 4,
    })
}

impl<'buf> PacketMsg<'buf> {
    /// Parses a netlink message of type `NFQNL_MSG_PACKET`.
    pub fn parse(msg: &NetlinkMsg<'buf>) -> Result<PacketMsg<'buf>, ParseError> {
        if msg.msg_type() != nfq_msg_type(NFQNL_MSG_PACKET) {
            return Err(ParseError::NotAPacket(msg.msg_type()));
        }
        let p = msg.payload();
        let (Some(&family), Some(queue), Some(attrs)) =
            (p.first(), be_u16(p, 2), p.get(NFGENMSG_LEN..))
        else {
            return Err(ParseError::Truncated {
                what: "nfgenmsg",
                need: NFGENMSG_LEN,
                have: p.len(),
            });
        };
        let mut m = PacketMsg {
            family,
            queue,
            id: 0,
            hw_protocol: 0,
            hook: 0,
            mark: None,
            priority: None,
            timestamp: None,
            indev: None,
            outdev: None,
            physindev: None,
            physoutdev: None,
            hwaddr: None,
            payload: None,
            ct: None,
            ct_info: None,
            exp: None,
            cap_len: None,
            skb_info: None,
            uid: None,
            gid: None,
            secctx: None,
            vlan: None,
            l2hdr: None,
        };
        let mut have_hdr = false;
        for attr in Attrs::new(attrs) {
            let attr = attr?;
            let k = attr.kind();
            let v = attr.value();
            match k {
                NFQA_PACKET_HDR => {
                    // struct nfqnl_msg_packet_hdr, packed: be32 id, be16 hw_protocol, u8 hook
                    need(k, v, 7)?;
                    m.id = be_u32(v, 0).unwrap_or(0);
                    m.hw_protocol = be_u16(v, 4).unwrap_or(0);
                    m.hook = v.get(6).copied().unwrap_or(0);
                    have_hdr = true;
                }
                NFQA_MARK => m.mark = Some(be32_attr(k, v)?),
                NFQA_PRIORITY => m.priority = Some(be32_attr(k, v)?),
                NFQA_TIMESTAMP => {
                    need(k, v, 16)?;
                    m.timestamp = Some(Timestamp {
                        sec: be_u64(v, 0).unwrap_or(0),
                        usec: be_u64(v, 8).unwrap_or(0),
                    });
                }
                NFQA_IFINDEX_INDEV => m.indev = Some(be32_attr(k, v)?),
                NFQA_IFINDEX_OUTDEV => m.outdev = Some(be32_attr(k, v)?),
                NFQA_IFINDEX_PHYSINDEV => m.physindev = Some(be32_attr(k, v)?),
                NFQA_IFINDEX_PHYSOUTDEV => m.physoutdev = Some(be32_attr(k, v)?),
                NFQA_HWADDR => {
                    // struct nfqnl_msg_packet_hw: be16 addrlen, u16 pad, u8 addr[8]
                    need(k, v, 12)?;
                    let n = usize::from(be_u16(v, 0).unwrap_or(0));
                    let addr = if n <= 8 { v.get(4..4 + n) } else { None };
                    m.hwaddr = Some(addr.ok_or(ParseError::BadLength {
                        what: "NFQA_HWADDR address",
                        len: n,
                    })?);
                }
                NFQA_PAYLOAD => m.payload = Some(v),
                NFQA_CT => m.ct = Some(v),
                NFQA_CT_INFO => m.ct_info = Some(be32_attr(k, v)?),
                NFQA_EXP => m.exp = Some(v),
                NFQA_CAP_LEN => m.cap_len = Some(be32_attr(k, v)?),
                NFQA_SKB_INFO => m.skb_info = Some(SkbInfo(be32_attr(k, v)?)),
                NFQA_UID => m.uid = Some(be32_attr(k, v)?),
                NFQA_GID => m.gid = Some(be32_attr(k, v)?),
                NFQA_SECCTX => m.secctx = Some(v),
                NFQA_VLAN => {
                    let mut vlan = Vlan {
                        proto: None,
                        tci: None,
                    };
                    for inner in attr.nested() {
                        let inner = inner?;
                        let iv = inner.value();
                        let val = be_u16(iv, 0);
                        match inner.kind() {
                            NFQA_VLAN_PROTO => {
                                vlan.proto = Some(val.ok_or(ParseError::ShortAttribute {
                                    kind: NFQA_VLAN_PROTO,
                                    len: iv.len(),
                                    need: 2,
                                })?)
                            }
                            NFQA_VLAN_TCI => {
                                vlan.tci = Some(val.ok_or(ParseError::ShortAttribute {
                                    kind: NFQA_VLAN_TCI,
                                    len: iv.len(),
                                    need: 2,
                                })?)
                            }
                            _ => {}
                        }
                    }
                    m.vlan = Some(vlan);
                }
                NFQA_L2HDR => m.l2hdr = Some(v),
                _ => {} // unknown (newer kernel) or not for packets: skip
            }
        }
        if !have_hdr {
            return Err(ParseError::MissingPacketHeader);
        }
        Ok(m)
    }

    /// Parses a whole netlink message (header included) holding a packet, e.g. the start of
    /// a datagram. Handy for tests and fuzzing.
    pub fn parse_bytes(buf: &'buf [u8]) -> Result<PacketMsg<'buf>, ParseError> {
        let (msg, _) = NetlinkMsg::parse(buf)?;
        PacketMsg::parse(&msg)
    }

    /// The address family of the hook (`nfgen_family`: `AF_INET`, `AF_INET6`, `AF_BRIDGE`...).
    pub fn family(&self) -> u8 {
        self.family
    }

    /// The queue the packet came from (`nfgenmsg.res_id`). Verdicts must name the same queue.
    pub fn queue(&self) -> u16 {
        self.queue
    }

    /// The packet id, to give back in the verdict.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The link-layer protocol (EtherType, e.g. 0x0800 for IPv4, 0x86dd for IPv6).
    pub fn hw_protocol(&self) -> u16 {
        self.hw_protocol
    }

    /// The netfilter hook the packet was queued from.
    pub fn hook(&self) -> Hook {
        Hook(self.hook)
    }

    /// The packet mark (`skb->mark`), absent when 0.
    pub fn mark(&self) -> Option<u32> {
        self.mark
    }

    /// The packet priority (`skb->priority`, kernels >= 5.18), absent when 0.
    pub fn priority(&self) -> Option<u32> {
        self.priority
    }

    /// When the packet was received, if the kernel stamped it.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }

    /// Input interface index.
    pub fn indev(&self) -> Option<u32> {
        self.indev
    }

    /// Output interface index.
    pub fn outdev(&self) -> Option<u32> {
        self.outdev
    }

    /// Physical input interface index (bridged packets).
    pub fn physindev(&self) -> Option<u32> {
        self.physindev
    }

    /// Physical output interface index (bridged packets).
    pub fn physoutdev(&self) -> Option<u32> {
        self.physoutdev
    }

    /// The source hardware address (at most 8 bytes), when the input device has one.
    pub fn hwaddr(&self) -> Option<&'buf [u8]> {
        self.hwaddr
    }

    /// The packet bytes from the network header on (absent in `CopyMode::Meta`). May be
    /// shorter than the packet: see [`PacketMsg::cap_len`].
    pub fn payload(&self) -> Option<&'buf [u8]> {
        self.payload
    }

    /// The packet's real length when the payload was truncated to the copy range.
    pub fn cap_len(&self) -> Option<u32> {
        self.cap_len
    }

    /// The packet's real length: [`cap_len`](Self::cap_len) if truncated, else the payload's.
    pub fn original_len(&self) -> usize {
        match (self.cap_len, self.payload) {
            (Some(n), _) => n as usize,
            (None, Some(p)) => p.len(),
            (None, None) => 0,
        }
    }

    /// Whether the payload is only the first part of the packet.
    pub fn is_truncated(&self) -> bool {
        self.original_len() > self.payload.map_or(0, <[u8]>::len)
    }

    /// Socket-buffer information (GSO, checksum state).
    pub fn skb_info(&self) -> Option<SkbInfo> {
        self.skb_info
    }

    /// The owning socket's uid (needs [`QueueFlags::UID_GID`](super::QueueFlags::UID_GID)).
    pub fn uid(&self) -> Option<u32> {
        self.uid
    }

    /// The owning socket's gid (needs [`QueueFlags::UID_GID`](super::QueueFlags::UID_GID)).
    pub fn gid(&self) -> Option<u32> {
        self.gid
    }

    /// The security context (needs [`QueueFlags::SECCTX`](super::QueueFlags::SECCTX)), as
    /// sent (may end with a NUL byte).
    pub fn secctx(&self) -> Option<&'buf [u8]> {
        self.secctx
    }

    /// The conntrack entry as nested ctnetlink attributes (needs
    /// [`QueueFlags::CONNTRACK`](super::QueueFlags::CONNTRACK)); iterate with
    /// [`Attrs`](super::Attrs).
    pub fn ct(&self) -> Option<&'buf [u8]> {
        self.ct
    }

    /// The conntrack state (`enum ip_conntrack_info`: 0 established, 1 related, 2 new,
    /// 3 established reply, 4 related reply, 7 untracked).
    pub fn ct_info(&self) -> Option<u32> {
        self.ct_info
    }

    /// The conntrack expectation as nested ctnetlink attributes, if any.
    pub fn exp(&self) -> Option<&'buf [u8]> {
        self.exp
    }

    /// VLAN tag information (bridge family).
    pub fn vlan(&self) -> Option<Vlan> {
        self.vlan
    }

    /// The link-layer header (bridge family).
    pub fn l2hdr(&self) -> Option<&'buf [u8]> {
        self.l2hdr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
        out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    fn message(family: u8, queue: u16, attrs: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + 4 + attrs.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&0x0300u16.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.push(family);
        m.push(0);
        m.extend_from_slice(&queue.to_be_bytes());
        m.extend_from_slice(attrs);
        m
    }

    /// A message with every attribute the kernel can send, in the kernel's order.
    pub(crate) fn full_message() -> Vec<u8> {
        let mut a = Vec::new();
        attr(&mut a, NFQA_PACKET_HDR, &[0, 0, 0x01, 0x02, 0x86, 0xdd, 2]); // id 258, IPv6, FORWARD
        attr(&mut a, NFQA_IFINDEX_INDEV, &[0, 0, 0, 3]);
        attr(&mut a, NFQA_IFINDEX_PHYSINDEV, &[0, 0, 0, 4]);
        attr(&mut a, NFQA_IFINDEX_OUTDEV, &[0, 0, 0, 5]);
        attr(&mut a, NFQA_IFINDEX_PHYSOUTDEV, &[0, 0, 0, 6]);
        attr(&mut a, NFQA_MARK, &[0xde, 0xad, 0xbe, 0xef]);
        attr(&mut a, NFQA_PRIORITY, &[0, 0, 0, 7]);
        attr(
            &mut a,
            NFQA_HWADDR,
            &[0, 6, 0, 0, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0],
        );
        let mut vlan = Vec::new();
        attr(&mut vlan, NFQA_VLAN_PROTO, &[0x81, 0x00]);
        attr(&mut vlan, NFQA_VLAN_TCI, &[0x00, 0x2a]);
        attr(&mut a, NFQA_VLAN | 0x8000, &vlan);
        attr(&mut a, NFQA_L2HDR, &[0xff; 14]);
        attr(
            &mut a,
            NFQA_TIMESTAMP,
            &[
                0, 0, 0, 0, 0x65, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0x07, 0xa1, 0x20,
            ],
        );
        attr(&mut a, NFQA_UID, &[0, 0, 0x03, 0xe8]);
        attr(&mut a, NFQA_GID, &[0, 0, 0x03, 0xe9]);
        attr(&mut a, NFQA_SECCTX, b"system_u:object_r:x:s0\0");
        let mut ct = Vec::new();
        attr(&mut ct, 8, &[0, 0, 0, 1]); // CTA_MARK 1
        attr(&mut a, NFQA_CT | 0x8000, &ct);
        attr(&mut a, NFQA_CT_INFO, &[0, 0, 0, 2]);
        attr(&mut a, NFQA_EXP | 0x8000, &[]);
        attr(&mut a, NFQA_CAP_LEN, &[0, 0, 0x05, 0xdc]);
        attr(&mut a, NFQA_SKB_INFO, &[0, 0, 0, 0b011]);
        attr(&mut a, 999, &[1, 2, 3]); // unknown: skipped
        attr(&mut a, NFQA_PAYLOAD, &[0x60, 0, 0, 0, 0, 0]);
        message(libc::AF_INET6 as u8, 0x1234, &a)
    }

    #[test]
    fn parses_every_attribute() {
        let buf = full_message();
        let p = PacketMsg::parse_bytes(&buf).unwrap();
        assert_eq!(p.family(), libc::AF_INET6 as u8);
        assert_eq!(p.queue(), 0x1234);
        assert_eq!(p.id(), 258);
        assert_eq!(p.hw_protocol(), 0x86dd);
        assert_eq!(p.hook(), Hook::FORWARD);
        assert_eq!(p.hook().name(), Some("FORWARD"));
        assert_eq!(p.indev(), Some(3));
        assert_eq!(p.physindev(), Some(4));
        assert_eq!(p.outdev(), Some(5));
        assert_eq!(p.physoutdev(), Some(6));
        assert_eq!(p.mark(), Some(0xdeadbeef));
        assert_eq!(p.priority(), Some(7));
        assert_eq!(p.hwaddr(), Some(&[0x02, 0x11, 0x22, 0x33, 0x44, 0x55][..]));
        assert_eq!(
            p.vlan(),
            Some(Vlan {
                proto: Some(0x8100),
                tci: Some(42)
            })
        );
        assert_eq!(p.l2hdr(), Some(&[0xff; 14][..]));
        let ts = p.timestamp().unwrap();
        assert_eq!((ts.sec, ts.usec), (0x6500_0000, 500_000));
        assert_eq!(
            ts.as_duration(),
            Some(Duration::from_secs(0x6500_0000) + Duration::from_millis(500))
        );
        assert_eq!(p.uid(), Some(1000));
        assert_eq!(p.gid(), Some(1001));
        assert_eq!(p.secctx(), Some(&b"system_u:object_r:x:s0\0"[..]));
        let ct: Vec<_> = super::super::Attrs::new(p.ct().unwrap())
            .map(|a| a.unwrap().kind())
            .collect();
        assert_eq!(ct, [8]);
        assert_eq!(p.ct_info(), Some(2));
        assert_eq!(p.exp(), Some(&[][..]));
        assert_eq!(p.cap_len(), Some(1500));
        assert_eq!(p.original_len(), 1500);
        assert!(p.is_truncated());
        let skb = p.skb_info().unwrap();
        assert!(skb.csum_not_ready() && skb.is_gso() && !skb.csum_not_verified());
        assert_eq!(p.payload(), Some(&[0x60, 0, 0, 0, 0, 0][..]));
    }

    /// What a typical IPv4 INPUT packet looks like, byte for byte (little-endian host).
    #[cfg(target_endian = "little")]
    #[test]
    fn parses_a_minimal_ipv4_packet_spelled_out() {
        let buf = [
            56, 0, 0, 0, 0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, // nlmsghdr: len 56, type 0x0300
            2, 0, 0, 0, // nfgenmsg: AF_INET, v0, queue 0
            11, 0, 1, 0, 0, 0, 0, 9, 0x08, 0x00, 1, 0, // PACKET_HDR: id 9, 0x0800, INPUT
            8, 0, 5, 0, 0, 0, 0, 2, // IFINDEX_INDEV 2
            8, 0, 14, 0, 0, 0, 0, 0, // SKB_INFO 0
            8, 0, 10, 0, 0x45, 0, 0, 20, // PAYLOAD (4 bytes)
        ];
        let p = PacketMsg::parse_bytes(&buf).unwrap();
        assert_eq!((p.family(), p.queue(), p.id()), (2, 0, 9));
        assert_eq!(p.hook(), Hook::INPUT);
        assert_eq!(p.indev(), Some(2));
        assert_eq!(p.outdev(), None);
        assert_eq!(p.mark(), None);
        assert_eq!(p.skb_info(), Some(SkbInfo(0)));
        assert_eq!(p.payload(), Some(&[0x45, 0, 0, 20][..]));
        assert!(!p.is_truncated());
        assert_eq!(p.original_len(), 4);
    }

    #[test]
    fn meta_only_packet_has_no_payload() {
        let mut a = Vec::new();
        attr(&mut a, NFQA_PACKET_HDR, &[0, 0, 0, 1, 0x08, 0, 3]);
        let buf = message(2, 0, &a);
        let p = PacketMsg::parse_bytes(&buf).unwrap();
        assert_eq!(p.payload(), None);
        assert_eq!(p.original_len(), 0);
        assert!(!p.is_truncated());
        assert_eq!(p.hook(), Hook::OUTPUT);
    }

    #[test]
    fn rejects_missing_header_short_attributes_and_wrong_type() {
        let mut a = Vec::new();
        attr(&mut a, NFQA_MARK, &[0, 0, 0, 1]);
        assert_eq!(
            PacketMsg::parse_bytes(&message(2, 0, &a)),
            Err(ParseError::MissingPacketHeader)
        );
        for (kind, len) in [
            (NFQA_PACKET_HDR, 6),
            (NFQA_MARK, 3),
            (NFQA_TIMESTAMP, 15),
            (NFQA_HWADDR, 11),
            (NFQA_UID, 2),
            (NFQA_CAP_LEN, 0),
        ] {
            let mut a = Vec::new();
            attr(&mut a, NFQA_PACKET_HDR, &[0, 0, 0, 1, 0x08, 0, 3]);
            attr(&mut a, kind, &vec![0; len]);
            assert!(
                matches!(
                    PacketMsg::parse_bytes(&message(2, 0, &a)),
                    Err(ParseError::ShortAttribute { kind: k, .. }) if k == kind
                ),
                "kind {kind} len {len}"
            );
        }
        let mut a = Vec::new();
        attr(&mut a, NFQA_PACKET_HDR, &[0, 0, 0, 1, 0x08, 0, 3]);
        attr(&mut a, NFQA_HWADDR, &[0, 9, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert!(matches!(
            PacketMsg::parse_bytes(&message(2, 0, &a)),
            Err(ParseError::BadLength { len: 9, .. })
        ));
        let mut verdict = message(2, 0, &[]);
        verdict[4] = 1; // type 0x0301: a verdict, not a packet
        assert_eq!(
            PacketMsg::parse_bytes(&verdict),
            Err(ParseError::NotAPacket(0x0301))
        );
        // nfgenmsg cut short
        let mut m = Vec::new();
        m.extend_from_slice(&18u32.to_ne_bytes());
        m.extend_from_slice(&0x0300u16.to_ne_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend_from_slice(&[2, 0]);
        assert!(matches!(
            PacketMsg::parse_bytes(&m),
            Err(ParseError::Truncated {
                what: "nfgenmsg",
                ..
            })
        ));
    }

    /// The fuzz seed corpus (`fuzz/corpus/nfq_packet`) parses as intended, so CI replays it.
    #[test]
    fn fuzz_seed_corpus_parses() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/nfq_packet");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return; // crate built outside the repository
        };
        let mut packets = 0;
        for e in entries {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for m in super::super::Messages::new(&bytes) {
                let m = m.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                if let super::super::Message::Packet(p) = m {
                    assert!(p.payload().is_some() || p.uid().is_some());
                    packets += 1;
                }
            }
        }
        assert!(packets >= 4, "{packets} packets in {}", dir.display());
    }

    /// Every truncation and every single-byte corruption of a full message parses or fails
    /// cleanly; none panics. (The fuzz target explores further.)
    #[test]
    fn truncations_and_corruptions_never_panic() {
        let buf = full_message();
        for n in 0..buf.len() {
            let _ = PacketMsg::parse_bytes(&buf[..n]);
            // A datagram cut inside the message is truncated, never a short success that
            // claims the full length.
            let mut cut = buf[..n].to_vec();
            if n >= 4 {
                cut[..4].copy_from_slice(&(n as u32).to_ne_bytes());
            }
            let _ = PacketMsg::parse_bytes(&cut);
        }
        for i in 0..buf.len() {
            for v in [0u8, 1, 3, 0x7f, 0x80, 0xff] {
                let mut m = buf.clone();
                m[i] = v;
                if let Ok(p) = PacketMsg::parse_bytes(&m) {
                    let _ = (p.payload(), p.original_len(), p.is_truncated(), p.hwaddr());
                }
            }
        }
    }
}
