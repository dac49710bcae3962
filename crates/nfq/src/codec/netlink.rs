//! Netlink framing: message headers, message iteration over a datagram, attributes, and the
//! kernel's acknowledgements and errors.
//!
//! Byte order: the netlink message header and attribute headers are in the **host's** byte
//! order (the kernel and the reader share a machine); everything nfnetlink_queue puts *inside*
//! attributes is big-endian. Getters here convert, so callers never swap bytes.

use super::ParseError;

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;
/// Size of `struct nfgenmsg`.
pub const NFGENMSG_LEN: usize = 4;

/// `NLMSG_NOOP`: nothing, skip.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error, or an acknowledgement when the error code is 0.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a multi-part answer.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data lost (never sent by current kernels, handled anyway).
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`: a request to the kernel.
pub const NLM_F_REQUEST: u16 = 0x01;
/// `NLM_F_ACK`: ask for an acknowledgement (an `NLMSG_ERROR` with code 0) on success.
pub const NLM_F_ACK: u16 = 0x04;
/// `NLM_F_CAPPED` on an error: the original request was not echoed in full.
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` on an error: extended-ack attributes follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// `NLA_F_NESTED`: the attribute holds attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`: the attribute is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// Mask giving an attribute's type without its flags.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `NLMSGERR_ATTR_MSG`: the extended-ack error string.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// Rounds `len` up to netlink's 4-byte alignment.
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

pub(crate) fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_ne_bytes([s[0], s[1]]))
}

pub(crate) fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_ne_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn be_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

pub(crate) fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

/// One netlink message: its header fields and a view of its payload.
///
/// No-panic promise: a `NetlinkMsg` only exists once its declared length was checked against
/// the buffer; no method panics whatever the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkMsg<'buf> {
    msg_type: u16,
    flags: u16,
    seq: u32,
    pid: u32,
    payload: &'buf [u8],
}

impl<'buf> NetlinkMsg<'buf> {
    /// Parses the message at the start of `buf` and returns it with the number of bytes it
    /// occupies (aligned, but never more than `buf.len()`).
    pub fn parse(buf: &'buf [u8]) -> Result<(NetlinkMsg<'buf>, usize), ParseError> {
        let (Some(len), Some(msg_type), Some(flags), Some(seq), Some(pid)) = (
            ne_u32(buf, 0),
            ne_u16(buf, 4),
            ne_u16(buf, 6),
            ne_u32(buf, 8),
            ne_u32(buf, 12),
        ) else {
            return Err(ParseError::Truncated {
                what: "netlink message header",
                need: NLMSG_HDRLEN,
                have: buf.len(),
            });
        };
        let len = len as usize;
        if len < NLMSG_HDRLEN {
            return Err(ParseError::BadLength {
                what: "netlink message",
                len,
            });
        }
        let Some(payload) = buf.get(NLMSG_HDRLEN..len) else {
            return Err(ParseError::Truncated {
                what: "netlink message",
                need: len,
                have: buf.len(),
            });
        };
        let used = align(len).min(buf.len());
        Ok((
            NetlinkMsg {
                msg_type,
                flags,
                seq,
                pid,
                payload,
            },
            used,
        ))
    }

    /// `nlmsg_type`. For nfnetlink: `subsystem << 8 | message`.
    pub fn msg_type(&self) -> u16 {
        self.msg_type
    }

    /// `nlmsg_flags`.
    pub fn flags(&self) -> u16 {
        self.flags
    }

    /// `nlmsg_seq`.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// `nlmsg_pid` (the sender's port id; 0 for the kernel).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Everything after the 16-byte header, up to the declared length.
    pub fn payload(&self) -> &'buf [u8] {
        self.payload
    }
}

/// Iterator over the netlink messages packed in one received datagram.
///
/// Yields each message, or one error for a malformed tail and then stops (a length that lies
/// makes the rest of the datagram unreadable).
#[derive(Debug, Clone)]
pub struct NetlinkMessages<'buf> {
    rest: &'buf [u8],
}

impl<'buf> NetlinkMessages<'buf> {
    /// Iterates over the messages in `datagram`.
    pub fn new(datagram: &'buf [u8]) -> Self {
        NetlinkMessages { rest: datagram }
    }
}

impl<'buf> Iterator for NetlinkMessages<'buf> {
    type Item = Result<NetlinkMsg<'buf>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match NetlinkMsg::parse(self.rest) {
            Ok((msg, used)) => {
                self.rest = self.rest.get(used..).unwrap_or(&[]);
                Some(Ok(msg))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

/// One attribute: its type (flags removed), its flags, and a view of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'buf> {
    kind: u16,
    nested: bool,
    value: &'buf [u8],
}

impl<'buf> Attr<'buf> {
    /// The attribute type with `NLA_F_NESTED` / `NLA_F_NET_BYTEORDER` masked off.
    pub fn kind(&self) -> u16 {
        self.kind
    }

    /// Whether `NLA_F_NESTED` was set.
    pub fn is_nested(&self) -> bool {
        self.nested
    }

    /// The value bytes (without padding).
    pub fn value(&self) -> &'buf [u8] {
        self.value
    }

    /// The attributes nested in this one.
    pub fn nested(&self) -> Attrs<'buf> {
        Attrs::new(self.value)
    }
}

/// Iterator over a run of netlink attributes. Yields an error for a malformed attribute and
/// then stops.
#[derive(Debug, Clone)]
pub struct Attrs<'buf> {
    rest: &'buf [u8],
}

impl<'buf> Attrs<'buf> {
    /// Iterates over the attributes in `buf`.
    pub fn new(buf: &'buf [u8]) -> Self {
        Attrs { rest: buf }
    }
}

impl<'buf> Iterator for Attrs<'buf> {
    type Item = Result<Attr<'buf>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (Some(len), Some(raw_type)) = (ne_u16(self.rest, 0), ne_u16(self.rest, 2)) else {
            let have = self.rest.len();
            self.rest = &[];
            return Some(Err(ParseError::Truncated {
                what: "attribute header",
                need: NLA_HDRLEN,
                have,
            }));
        };
        let len = usize::from(len);
        let Some(value) = (if len >= NLA_HDRLEN {
            self.rest.get(NLA_HDRLEN..len)
        } else {
            None
        }) else {
            self.rest = &[];
            return Some(Err(ParseError::BadAttribute {
                kind: raw_type & NLA_TYPE_MASK,
                len,
            }));
        };
        self.rest = self.rest.get(align(len)..).unwrap_or(&[]);
        Some(Ok(Attr {
            kind: raw_type & NLA_TYPE_MASK,
            nested: raw_type & NLA_F_NESTED != 0,
            value,
        }))
    }
}

/// A netlink error or acknowledgement (`NLMSG_ERROR`).
///
/// `code` is 0 for an acknowledgement, otherwise a positive errno (the kernel sends it
/// negated; this type stores it positive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NlError<'buf> {
    code: i32,
    request: Option<NetlinkMsgHeader>,
    ext_msg: Option<&'buf str>,
}

/// The header of the request an error answers, as echoed by the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetlinkMsgHeader {
    /// `nlmsg_len` of the request.
    pub len: u32,
    /// `nlmsg_type` of the request.
    pub msg_type: u16,
    /// `nlmsg_flags` of the request.
    pub flags: u16,
    /// `nlmsg_seq` of the request: match it with what you sent.
    pub seq: u32,
    /// `nlmsg_pid` of the request.
    pub pid: u32,
}

impl<'buf> NlError<'buf> {
    /// Parses the payload of an `NLMSG_ERROR` message (`flags` from its header tell whether
    /// extended-ack attributes follow).
    pub fn parse(msg: &NetlinkMsg<'buf>) -> Result<NlError<'buf>, ParseError> {
        let p = msg.payload();
        let Some(raw) = ne_u32(p, 0) else {
            return Err(ParseError::Truncated {
                what: "netlink error code",
                need: 4,
                have: p.len(),
            });
        };
        // The kernel sends -errno; clamp hostile values instead of overflowing.
        let code = (raw as i32).checked_neg().unwrap_or(i32::MAX);
        let request = match (
            ne_u32(p, 4),
            ne_u16(p, 8),
            ne_u16(p, 10),
            ne_u32(p, 12),
            ne_u32(p, 16),
        ) {
            (Some(len), Some(msg_type), Some(flags), Some(seq), Some(pid)) => {
                Some(NetlinkMsgHeader {
                    len,
                    msg_type,
                    flags,
                    seq,
                    pid,
                })
            }
            _ => None,
        };
        let mut ext_msg = None;
        if let Some(req) = request {
            if msg.flags() & NLM_F_ACK_TLVS != 0 {
                // The request is echoed whole unless the answer is capped (or an ack).
                let echoed = if msg.flags() & NLM_F_CAPPED != 0 || code == 0 {
                    NLMSG_HDRLEN
                } else {
                    align(req.len as usize)
                };
                if let Some(tlvs) = p.get(4 + echoed..) {
                    for attr in Attrs::new(tlvs).flatten() {
                        if attr.kind() == NLMSGERR_ATTR_MSG {
                            let v = attr.value();
                            let v = v.strip_suffix(&[0]).unwrap_or(v);
                            ext_msg = std::str::from_utf8(v).ok();
                        }
                    }
                }
            }
        }
        Ok(NlError {
            code,
            request,
            ext_msg,
        })
    }

    /// 0 for an acknowledgement, otherwise the (positive) errno.
    pub fn code(&self) -> i32 {
        self.code
    }

    /// Whether this is a plain acknowledgement (success).
    pub fn is_ack(&self) -> bool {
        self.code == 0
    }

    /// The header of the request this answers, if the kernel echoed it.
    pub fn request(&self) -> Option<NetlinkMsgHeader> {
        self.request
    }

    /// The extended-ack message, if the kernel gave one (`NETLINK_EXT_ACK`).
    pub fn ext_msg(&self) -> Option<&'buf str> {
        self.ext_msg
    }
}

/// Writes a netlink message header plus nfgenmsg at the end of `out` and returns the offset
/// of the header, for [`finish_msg`] to patch the length once attributes are appended.
pub(crate) fn begin_nfmsg(
    out: &mut Vec<u8>,
    msg_type: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
) -> usize {
    let start = out.len();
    out.extend_from_slice(&0u32.to_ne_bytes()); // length, patched by finish_msg
    out.extend_from_slice(&msg_type.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes()); // pid 0: to the kernel
    out.push(family);
    out.push(0); // NFNETLINK_V0
    out.extend_from_slice(&res_id.to_be_bytes());
    start
}

/// Appends one attribute (header, value, padding).
///
/// # Panics
/// Never for values that fit a netlink attribute; values longer than 65531 bytes are a caller
/// bug reported by [`EncodeError`](super::EncodeError) before this is reached.
pub(crate) fn put_attr(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = NLA_HDRLEN + value.len();
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (align(len) - len), 0);
}

/// Patches the length of the message that starts at `start` (it ends at `out.len()`).
pub(crate) fn finish_msg(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two messages back to back, the first with a length that is not a multiple of 4.
    #[test]
    fn iterates_messages_and_skips_alignment_padding() {
        let mut buf = Vec::new();
        // message 1: len 17 (1 payload byte), type 0x0300, flags 0, seq 7, pid 0; 3 pad bytes
        buf.extend_from_slice(&17u32.to_ne_bytes());
        buf.extend_from_slice(&0x0300u16.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&7u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[0xAA, 0, 0, 0]);
        // message 2: NLMSG_DONE, len 20
        buf.extend_from_slice(&20u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&8u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let msgs: Vec<_> = NetlinkMessages::new(&buf).collect();
        assert_eq!(msgs.len(), 2);
        let m1 = msgs[0].unwrap();
        assert_eq!(m1.msg_type(), 0x0300);
        assert_eq!(m1.seq(), 7);
        assert_eq!(m1.payload(), &[0xAA]);
        let m2 = msgs[1].unwrap();
        assert_eq!(m2.msg_type(), NLMSG_DONE);
        assert_eq!(m2.seq(), 8);
    }

    #[test]
    fn truncated_header_and_lying_length_are_errors() {
        assert!(matches!(
            NetlinkMsg::parse(&[1, 2, 3]),
            Err(ParseError::Truncated { have: 3, .. })
        ));
        let mut buf = vec![0u8; 16];
        buf[..4].copy_from_slice(&64u32.to_ne_bytes());
        assert!(matches!(
            NetlinkMsg::parse(&buf),
            Err(ParseError::Truncated {
                need: 64,
                have: 16,
                ..
            })
        ));
        buf[..4].copy_from_slice(&15u32.to_ne_bytes());
        assert!(matches!(
            NetlinkMsg::parse(&buf),
            Err(ParseError::BadLength { len: 15, .. })
        ));
        // The iterator yields the error once, then stops.
        let mut it = NetlinkMessages::new(&buf);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }

    #[test]
    fn attributes_mask_flags_and_reject_bad_lengths() {
        // attr 1: len 5 type NESTED|11, value [9], 3 pad; attr 2: len 3 (invalid)
        let mut buf = Vec::new();
        buf.extend_from_slice(&5u16.to_ne_bytes());
        buf.extend_from_slice(&(NLA_F_NESTED | 11).to_ne_bytes());
        buf.extend_from_slice(&[9, 0, 0, 0]);
        buf.extend_from_slice(&3u16.to_ne_bytes());
        buf.extend_from_slice(&1u16.to_ne_bytes());
        let mut it = Attrs::new(&buf);
        let a = it.next().unwrap().unwrap();
        assert_eq!((a.kind(), a.is_nested(), a.value()), (11, true, &[9u8][..]));
        assert!(matches!(
            it.next(),
            Some(Err(ParseError::BadAttribute { kind: 1, len: 3 }))
        ));
        assert!(it.next().is_none());
    }

    /// An `NLMSG_ERROR` answering a config request with -EBUSY and an extended-ack message.
    #[test]
    fn parses_error_with_echoed_request_and_ext_ack() {
        let mut buf = Vec::new();
        // outer header: len patched below, type 2, flags NLM_F_CAPPED|NLM_F_ACK_TLVS
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_CAPPED | NLM_F_ACK_TLVS).to_ne_bytes());
        buf.extend_from_slice(&5u32.to_ne_bytes());
        buf.extend_from_slice(&1234u32.to_ne_bytes());
        // error code -16 (EBUSY)
        buf.extend_from_slice(&(-16i32).to_ne_bytes());
        // echoed request header: len 40, type 0x0302, flags REQUEST|ACK, seq 5, pid 0
        buf.extend_from_slice(&40u32.to_ne_bytes());
        buf.extend_from_slice(&0x0302u16.to_ne_bytes());
        buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&5u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        // NLMSGERR_ATTR_MSG "busy\0"
        buf.extend_from_slice(&9u16.to_ne_bytes());
        buf.extend_from_slice(&1u16.to_ne_bytes());
        buf.extend_from_slice(b"busy\0\0\0\0");
        let len = buf.len() as u32;
        buf[..4].copy_from_slice(&len.to_ne_bytes());
        let (msg, used) = NetlinkMsg::parse(&buf).unwrap();
        assert_eq!(used, buf.len());
        let err = NlError::parse(&msg).unwrap();
        assert_eq!(err.code(), 16);
        assert!(!err.is_ack());
        let req = err.request().unwrap();
        assert_eq!((req.msg_type, req.seq, req.len), (0x0302, 5, 40));
        assert_eq!(err.ext_msg(), Some("busy"));
    }

    #[test]
    fn parses_plain_ack_and_short_error() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&36u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf.extend_from_slice(&NLM_F_CAPPED.to_ne_bytes());
        buf.extend_from_slice(&9u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&0i32.to_ne_bytes());
        buf.extend_from_slice(&16u32.to_ne_bytes());
        buf.extend_from_slice(&0x0302u16.to_ne_bytes());
        buf.extend_from_slice(&5u16.to_ne_bytes());
        buf.extend_from_slice(&9u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        let (msg, _) = NetlinkMsg::parse(&buf).unwrap();
        let ack = NlError::parse(&msg).unwrap();
        assert!(ack.is_ack());
        assert_eq!(ack.request().unwrap().seq, 9);
        // An error payload of 2 bytes is truncated, not a panic.
        let mut short = Vec::new();
        short.extend_from_slice(&18u32.to_ne_bytes());
        short.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        short.extend_from_slice(&[0; 10]);
        short.extend_from_slice(&[0xff, 0xff]);
        let (msg, _) = NetlinkMsg::parse(&short).unwrap();
        assert!(matches!(
            NlError::parse(&msg),
            Err(ParseError::Truncated { .. })
        ));
        // i32::MIN as an error code does not overflow.
        let mut min = Vec::new();
        min.extend_from_slice(&20u32.to_ne_bytes());
        min.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        min.extend_from_slice(&[0; 10]);
        min.extend_from_slice(&i32::MIN.to_ne_bytes());
        let (msg, _) = NetlinkMsg::parse(&min).unwrap();
        let e = NlError::parse(&msg).unwrap();
        assert_eq!(e.code(), i32::MAX);
        assert_eq!(e.request(), None);
    }
}
