//! Setting connection-mark bits through ctnetlink, for flow bypass on kernels whose queue
//! verdicts cannot carry conntrack attributes.
//!
//! Flow bypass needs the decided flow's conntrack entry to get Verdict's mark bit, so the
//! `-m connmark --mark BIT/BIT -j ACCEPT` rule ahead of the queue rule stops queueing it. The
//! cheapest way is the verdict itself (`NFQA_CT`), which needs the kernel option
//! `CONFIG_NETFILTER_NETLINK_GLUE_CT`. Kernels without it still have ctnetlink
//! (`CONFIG_NF_CT_NETLINK`): an `IPCTNL_MSG_CT_NEW` request without `NLM_F_CREATE` updates
//! the existing entry found by its original tuple, and `CTA_MARK` + `CTA_MARK_MASK` set just
//! our bit (the kernel computes `(mark & !mask) ^ value`).
//!
//! [`encode_set_mark`] is the sans-IO encoder (tested byte by byte); [`CtMarker`] is the
//! socket: fire-and-forget sends, with the kernel's error replies drained without blocking
//! and counted. The replies are read with verdict-nfq's netlink codec (`reply_errors`),
//! whose no-panic promise on any bytes is fuzzed (`nfq_packet`), not with a parser of our own.

use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use verdict_nfq::codec::netlink::NLMSG_ERROR;
use verdict_nfq::codec::{NetlinkMessages, NlError};

const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_NEW: u16 = 0;
const NLM_F_REQUEST: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_MARK: u16 = 8;
const CTA_MARK_MASK: u16 = 21;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;

/// The original-direction tuple of a connection (as conntrack keys it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Initiator address.
    pub src: IpAddr,
    /// Initiator port.
    pub src_port: u16,
    /// Responder address.
    pub dst: IpAddr,
    /// Responder port.
    pub dst_port: u16,
    /// IP protocol (6 TCP, 17 UDP, 132 SCTP; others have no ports and are not supported).
    pub proto: u8,
}

fn put_attr(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    let len = 4 + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (4 - len % 4) % 4, 0);
}

fn nested(out: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    f(out);
    let len = (out.len() - start) as u16;
    out[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    out[start + 2..start + 4].copy_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
}

/// Encodes the request that sets `bits` in the mark of the connection `t`. Returns `None` for
/// tuples conntrack cannot be asked about this way (mixed families, protocols without ports).
pub fn encode_set_mark(t: &Tuple, bits: u32, seq: u32, out: &mut Vec<u8>) -> Option<()> {
    let family = match (t.src, t.dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => libc::AF_INET as u8,
        (IpAddr::V6(_), IpAddr::V6(_)) => libc::AF_INET6 as u8,
        _ => return None,
    };
    if !matches!(t.proto, 6 | 17 | 132) {
        return None;
    }
    let start = out.len();
    out.extend_from_slice(&[0; 16]); // nlmsghdr, filled below
    out.extend_from_slice(&[family, 0, 0, 0]); // nfgenmsg: family, version 0, res_id 0
    nested(out, CTA_TUPLE_ORIG, |o| {
        nested(o, CTA_TUPLE_IP, |o| match (t.src, t.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                put_attr(o, CTA_IP_V4_SRC, &s.octets());
                put_attr(o, CTA_IP_V4_DST, &d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                put_attr(o, CTA_IP_V6_SRC, &s.octets());
                put_attr(o, CTA_IP_V6_DST, &d.octets());
            }
            _ => {}
        });
        nested(o, CTA_TUPLE_PROTO, |o| {
            put_attr(o, CTA_PROTO_NUM, &[t.proto]);
            put_attr(o, CTA_PROTO_SRC_PORT, &t.src_port.to_be_bytes());
            put_attr(o, CTA_PROTO_DST_PORT, &t.dst_port.to_be_bytes());
        });
    });
    put_attr(out, CTA_MARK, &bits.to_be_bytes());
    put_attr(out, CTA_MARK_MASK, &bits.to_be_bytes());
    let len = (out.len() - start) as u32;
    let ty = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
    let hdr = &mut out[start..start + 16];
    hdr[0..4].copy_from_slice(&len.to_ne_bytes());
    hdr[4..6].copy_from_slice(&ty.to_ne_bytes());
    hdr[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    hdr[8..12].copy_from_slice(&seq.to_ne_bytes());
    hdr[12..16].copy_from_slice(&0u32.to_ne_bytes());
    Some(())
}

/// A ctnetlink socket that sets Verdict's mark bit on connections.
#[derive(Debug)]
pub struct CtMarker {
    fd: OwnedFd,
    bits: u32,
    seq: u32,
    buf: Vec<u8>,
    errors: u64,
}

impl CtMarker {
    /// Opens a ctnetlink socket in the calling thread's network namespace.
    pub fn open(bits: u32) -> std::io::Result<CtMarker> {
        // SAFETY: socket() takes plain integers and returns a new descriptor or -1.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                NETLINK_NETFILTER,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` is a descriptor we just created and own exclusively.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value (kernel-chosen port).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: `addr` is a valid sockaddr_nl and the length passed is its size.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &addr as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(CtMarker {
            fd,
            bits,
            seq: 0,
            buf: Vec::with_capacity(256),
            errors: 0,
        })
    }

    /// Asks the kernel to set the mark bit on connection `t`. Returns false when the tuple
    /// cannot be expressed (see [`encode_set_mark`]) or the send failed.
    pub fn mark(&mut self, t: &Tuple) -> bool {
        self.drain_errors();
        self.seq = self.seq.wrapping_add(1);
        self.buf.clear();
        if encode_set_mark(t, self.bits, self.seq, &mut self.buf).is_none() {
            return false;
        }
        // SAFETY: the buffer pointer and length describe initialised bytes we own; the
        // destination is the kernel (a zeroed sockaddr_nl would also do; send() needs none).
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                self.buf.as_ptr().cast(),
                self.buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        n == self.buf.len() as isize
    }

    /// Reads pending replies without blocking; counts the errors among them.
    fn drain_errors(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: `buf` is a writable buffer of the given length, owned by this frame.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n <= 0 {
                return;
            }
            let Some(datagram) = usize::try_from(n).ok().and_then(|n| buf.get(..n)) else {
                return;
            };
            for errno in reply_errors(datagram) {
                self.errors += 1;
                tracing::debug!(
                    "ctnetlink refused a bypass mark ({}; {} so far): the connection may be gone",
                    std::io::Error::from_raw_os_error(errno),
                    self.errors
                );
            }
        }
    }
}

/// The errors (positive errno values) among the ctnetlink replies in one received datagram;
/// acknowledgements and other messages are skipped, and a malformed message ends the datagram.
/// No bytes make it panic.
fn reply_errors(datagram: &[u8]) -> impl Iterator<Item = i32> + '_ {
    NetlinkMessages::new(datagram)
        .map_while(Result::ok)
        .filter(|m| m.msg_type() == NLMSG_ERROR)
        .filter_map(|m| NlError::parse(&m).ok())
        .map(|e| e.code())
        .filter(|&code| code != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn encodes_ipv4_tcp_mark_request() {
        let t = Tuple {
            src: Ipv4Addr::new(198, 18, 1, 2).into(),
            src_port: 40000,
            dst: Ipv4Addr::new(198, 18, 2, 2).into(),
            dst_port: 80,
            proto: 6,
        };
        let mut out = Vec::new();
        encode_set_mark(&t, 0x4000_0000, 7, &mut out).unwrap();
        let mut expected: Vec<u8> = Vec::new();
        let len: u32 = 16 + 4 + 4 + (4 + 8 + 8) + (4 + 8 + 8 + 8) + 8 + 8;
        expected.extend_from_slice(&len.to_ne_bytes());
        expected.extend_from_slice(&0x0100u16.to_ne_bytes());
        expected.extend_from_slice(&1u16.to_ne_bytes());
        expected.extend_from_slice(&7u32.to_ne_bytes());
        expected.extend_from_slice(&0u32.to_ne_bytes());
        expected.extend_from_slice(&[2, 0, 0, 0]);
        let a = |ty: u16, len: u16| [len.to_ne_bytes(), ty.to_ne_bytes()].concat();
        expected.extend(a(0x8001, 4 + 20 + 28)); // CTA_TUPLE_ORIG
        expected.extend(a(0x8001, 20)); // CTA_TUPLE_IP
        expected.extend(a(1, 8));
        expected.extend([198, 18, 1, 2]);
        expected.extend(a(2, 8));
        expected.extend([198, 18, 2, 2]);
        expected.extend(a(0x8002, 28)); // CTA_TUPLE_PROTO
        expected.extend(a(1, 5));
        expected.extend([6, 0, 0, 0]);
        expected.extend(a(2, 6));
        expected.extend([0x9c, 0x40, 0, 0]);
        expected.extend(a(3, 6));
        expected.extend([0, 80, 0, 0]);
        expected.extend(a(8, 8));
        expected.extend([0x40, 0, 0, 0]);
        expected.extend(a(21, 8));
        expected.extend([0x40, 0, 0, 0]);
        assert_eq!(out, expected);
    }

    #[test]
    fn ipv6_and_unsupported_tuples() {
        let mut t = Tuple {
            src: Ipv6Addr::LOCALHOST.into(),
            src_port: 1,
            dst: Ipv6Addr::LOCALHOST.into(),
            dst_port: 2,
            proto: 17,
        };
        let mut out = Vec::new();
        encode_set_mark(&t, 1, 1, &mut out).unwrap();
        assert_eq!(out[16], libc::AF_INET6 as u8);
        assert_eq!(
            u32::from_ne_bytes(out[0..4].try_into().unwrap()) as usize,
            out.len()
        );
        t.proto = 1;
        assert!(encode_set_mark(&t, 1, 1, &mut Vec::new()).is_none());
        t.proto = 6;
        t.dst = Ipv4Addr::LOCALHOST.into();
        assert!(encode_set_mark(&t, 1, 1, &mut Vec::new()).is_none());
    }

    /// An `NLMSG_ERROR` message of `len` declared bytes carrying `errno` (the kernel's
    /// negative value), padded with zeros to `len`.
    fn error_msg(len: u32, errno: i32) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&[0; 10]); // flags, seq, pid
        m.extend_from_slice(&errno.to_ne_bytes());
        m.resize(len as usize, 0);
        m
    }

    #[test]
    fn reply_errors_counts_errors_and_survives_hostile_replies() {
        // An error (ENOENT) with the echoed request header, an ack, then a last message whose
        // length is not a multiple of 4 and ends the datagram exactly, carrying an errno that
        // cannot be negated. The hand-written parser this replaced sliced past the end on the
        // unaligned tail and overflowed negating i32::MIN.
        let mut d = error_msg(36, -libc::ENOENT);
        d.extend(error_msg(36, 0));
        d.extend(error_msg(21, i32::MIN));
        assert_eq!(
            reply_errors(&d).collect::<Vec<_>>(),
            [libc::ENOENT, i32::MAX]
        );
        // A length that lies ends the datagram; what came before still counts.
        let mut d = error_msg(20, -libc::EPERM);
        d.extend_from_slice(&1000u32.to_ne_bytes());
        d.extend_from_slice(&[0; 16]);
        assert_eq!(reply_errors(&d).collect::<Vec<_>>(), [libc::EPERM]);
        for n in 0..d.len() {
            let _ = reply_errors(&d[..n]).count();
        }
        assert_eq!(reply_errors(&[]).count(), 0);
    }
}
