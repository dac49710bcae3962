//! Verdicts (`NFQNL_MSG_VERDICT`) and batch verdicts (`NFQNL_MSG_VERDICT_BATCH`).

use super::attr::*;
use super::netlink::{
    be_u16, be_u32, begin_nfmsg, finish_msg, put_attr, Attrs, NetlinkMsg, NFGENMSG_LEN, NLA_HDRLEN,
    NLM_F_ACK, NLM_F_REQUEST,
};
use super::{nfq_msg_type, EncodeError, ParseError, NFQNL_MSG_VERDICT, NFQNL_MSG_VERDICT_BATCH};

const NF_DROP: u32 = 0;
const NF_ACCEPT: u32 = 1;
const NF_QUEUE: u32 = 3;
const NF_REPEAT: u32 = 4;
const NF_STOP: u32 = 5;
const NF_VERDICT_MASK: u32 = 0xff;
const NF_VERDICT_FLAG_QUEUE_BYPASS: u32 = 0x8000;

/// What the kernel does with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_DROP`: discard it.
    Drop,
    /// `NF_ACCEPT`: let it continue to the next rule/hook.
    Accept,
    /// `NF_QUEUE`: hand it to another queue.
    Queue {
        /// The queue to send it to.
        queue: u16,
        /// Accept instead of dropping when nobody listens on that queue.
        bypass: bool,
    },
    /// `NF_REPEAT`: run the hook again from the start (the packet is seen again by the same
    /// rules -- give it a mark that makes the queue rule skip it, or it loops).
    Repeat,
    /// `NF_STOP`: accept without running the rest of the hook (deprecated by the kernel;
    /// treated like `Accept` after reinjection).
    Stop,
}

impl Verdict {
    /// The kernel's 32-bit encoding.
    pub const fn to_raw(self) -> u32 {
        match self {
            Verdict::Drop => NF_DROP,
            Verdict::Accept => NF_ACCEPT,
            Verdict::Queue { queue, bypass } => {
                NF_QUEUE
                    | ((queue as u32) << 16)
                    | if bypass {
                        NF_VERDICT_FLAG_QUEUE_BYPASS
                    } else {
                        0
                    }
            }
            Verdict::Repeat => NF_REPEAT,
            Verdict::Stop => NF_STOP,
        }
    }

    /// Decodes the kernel's encoding (`None` for `NF_STOLEN` and unknown values, which the
    /// kernel refuses in verdicts).
    pub const fn from_raw(raw: u32) -> Option<Verdict> {
        Some(match raw & NF_VERDICT_MASK {
            NF_DROP => Verdict::Drop,
            NF_ACCEPT => Verdict::Accept,
            NF_QUEUE => Verdict::Queue {
                queue: (raw >> 16) as u16,
                bypass: raw & NF_VERDICT_FLAG_QUEUE_BYPASS != 0,
            },
            NF_REPEAT => Verdict::Repeat,
            NF_STOP => Verdict::Stop,
            _ => return None,
        })
    }
}

/// The verdict for one packet, optionally changing its mark, priority or bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerdictMsg<'a> {
    /// The queue the packet came from.
    pub queue: u16,
    /// The packet id.
    pub id: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// A new packet mark (`skb->mark`).
    pub mark: Option<u32>,
    /// A new packet priority (`skb->priority`, kernels >= 5.18).
    pub priority: Option<u32>,
    /// New packet bytes (from the network header on). The kernel fixes nothing: checksums
    /// and lengths are the caller's job.
    pub payload: Option<&'a [u8]>,
    /// Change the connection's mark (`NFQA_CT` with `CTA_MARK`/`CTA_MARK_MASK`). Needs a
    /// conntrack entry and ctnetlink in the kernel; silently ignored otherwise.
    pub conn_mark: Option<ConnMark>,
}

/// A change of the connection mark: the bits in `mask` take their value from `value`; the
/// other bits are kept. The kernel computes `(old & !mask) ^ value`, so bits of `value`
/// outside `mask` flip -- [`ConnMark::set_bits`] avoids that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnMark {
    /// The new bits.
    pub value: u32,
    /// Which bits change.
    pub mask: u32,
}

impl ConnMark {
    /// Sets `bits` (to 1), keeping every other bit.
    pub const fn set_bits(bits: u32) -> Self {
        ConnMark {
            value: bits,
            mask: bits,
        }
    }

    /// Sets the bits in `mask` to those of `value` (bits of `value` outside `mask` ignored).
    pub const fn masked(value: u32, mask: u32) -> Self {
        ConnMark {
            value: value & mask,
            mask,
        }
    }
}

/// `CTA_MARK` in `enum ctattr_type` (nfnetlink_conntrack.h).
const CTA_MARK: u16 = 8;
/// `CTA_MARK_MASK` in `enum ctattr_type`.
const CTA_MARK_MASK: u16 = 21;

/// The most bytes a rewritten payload can have (it must fit a netlink attribute).
pub const MAX_VERDICT_PAYLOAD: usize = u16::MAX as usize - NLA_HDRLEN;

impl<'a> VerdictMsg<'a> {
    /// A plain verdict.
    pub const fn new(queue: u16, id: u32, verdict: Verdict) -> Self {
        VerdictMsg {
            queue,
            id,
            verdict,
            mark: None,
            priority: None,
            payload: None,
            conn_mark: None,
        }
    }

    /// Also changes the connection mark.
    pub const fn with_conn_mark(mut self, conn_mark: ConnMark) -> Self {
        self.conn_mark = Some(conn_mark);
        self
    }

    /// Also sets the packet mark.
    pub const fn with_mark(mut self, mark: u32) -> Self {
        self.mark = Some(mark);
        self
    }

    /// Also sets the packet priority.
    pub const fn with_priority(mut self, priority: u32) -> Self {
        self.priority = Some(priority);
        self
    }

    /// Also replaces the packet bytes.
    pub const fn with_payload(mut self, payload: &'a [u8]) -> Self {
        self.payload = Some(payload);
        self
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        16 + 4
            + 12
            + if self.mark.is_some() { 8 } else { 0 }
            + if self.priority.is_some() { 8 } else { 0 }
            + if self.conn_mark.is_some() { 20 } else { 0 }
            + self
                .payload
                .map_or(0, |p| super::netlink::align(NLA_HDRLEN + p.len()))
    }

    /// Appends the verdict to `out`. With `ack`, the kernel confirms it (errors, such as an
    /// unknown packet id, are reported either way). Nothing is appended on error.
    pub fn emit(&self, seq: u32, ack: bool, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        if let Some(p) = self.payload {
            if p.len() > MAX_VERDICT_PAYLOAD {
                return Err(EncodeError::PayloadTooLong {
                    len: p.len(),
                    max: MAX_VERDICT_PAYLOAD,
                });
            }
        }
        let flags = NLM_F_REQUEST | if ack { NLM_F_ACK } else { 0 };
        let start = begin_nfmsg(
            out,
            nfq_msg_type(NFQNL_MSG_VERDICT),
            flags,
            seq,
            libc::AF_UNSPEC as u8,
            self.queue,
        );
        put_attr(out, NFQA_VERDICT_HDR, &verdict_hdr(self.verdict, self.id));
        if let Some(mark) = self.mark {
            put_attr(out, NFQA_MARK, &mark.to_be_bytes());
        }
        if let Some(priority) = self.priority {
            put_attr(out, NFQA_PRIORITY, &priority.to_be_bytes());
        }
        if let Some(payload) = self.payload {
            put_attr(out, NFQA_PAYLOAD, payload);
        }
        if let Some(cm) = self.conn_mark {
            let mut nested = [0u8; 16];
            nested[0..2].copy_from_slice(&8u16.to_ne_bytes());
            nested[2..4].copy_from_slice(&CTA_MARK.to_ne_bytes());
            nested[4..8].copy_from_slice(&cm.value.to_be_bytes());
            nested[8..10].copy_from_slice(&8u16.to_ne_bytes());
            nested[10..12].copy_from_slice(&CTA_MARK_MASK.to_ne_bytes());
            nested[12..16].copy_from_slice(&cm.mask.to_be_bytes());
            put_attr(out, NFQA_CT | super::netlink::NLA_F_NESTED, &nested);
        }
        finish_msg(out, start);
        Ok(())
    }
}

/// One verdict for every packet still queued on `queue` whose id is at most `max_id` (in the
/// kernel's wrapping id order).
///
/// Careful: it covers *all* of them, including packets you have not decided yet. Send
/// individual verdicts for the packets that must not get this one *before* it, in the same or
/// an earlier send; [`VerdictBatcher`](crate::VerdictBatcher) does this for you.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchVerdictMsg {
    /// The queue.
    pub queue: u16,
    /// The highest packet id covered.
    pub max_id: u32,
    /// The verdict for all of them.
    pub verdict: Verdict,
    /// A new mark for all of them.
    pub mark: Option<u32>,
}

impl BatchVerdictMsg {
    /// A batch verdict without mark.
    pub const fn new(queue: u16, max_id: u32, verdict: Verdict) -> Self {
        BatchVerdictMsg {
            queue,
            max_id,
            verdict,
            mark: None,
        }
    }

    /// Also sets the mark of every covered packet.
    pub const fn with_mark(mut self, mark: u32) -> Self {
        self.mark = Some(mark);
        self
    }

    /// Appends the batch verdict to `out`.
    pub fn emit(&self, seq: u32, ack: bool, out: &mut Vec<u8>) {
        let flags = NLM_F_REQUEST | if ack { NLM_F_ACK } else { 0 };
        let start = begin_nfmsg(
            out,
            nfq_msg_type(NFQNL_MSG_VERDICT_BATCH),
            flags,
            seq,
            libc::AF_UNSPEC as u8,
            self.queue,
        );
        put_attr(
            out,
            NFQA_VERDICT_HDR,
            &verdict_hdr(self.verdict, self.max_id),
        );
        if let Some(mark) = self.mark {
            put_attr(out, NFQA_MARK, &mark.to_be_bytes());
        }
        finish_msg(out, start);
    }
}

/// The parts of a verdict or batch verdict message, as the kernel reads them.
struct ParsedVerdict<'buf> {
    queue: u16,
    verdict: Verdict,
    id: u32,
    mark: Option<u32>,
    priority: Option<u32>,
    payload: Option<&'buf [u8]>,
    conn_mark: Option<ConnMark>,
}

fn parse_verdict<'buf>(
    msg: &NetlinkMsg<'buf>,
    kind: u16,
) -> Result<ParsedVerdict<'buf>, ParseError> {
    if msg.msg_type() != nfq_msg_type(kind) {
        return Err(ParseError::NotAPacket(msg.msg_type()));
    }
    let p = msg.payload();
    let (Some(queue), Some(attrs)) = (be_u16(p, 2), p.get(NFGENMSG_LEN..)) else {
        return Err(ParseError::Truncated {
            what: "nfgenmsg",
            need: NFGENMSG_LEN,
            have: p.len(),
        });
    };
    let short = |kind: u16, v: &[u8], need: usize| ParseError::ShortAttribute {
        kind,
        len: v.len(),
        need,
    };
    let mut hdr = None;
    let (mut mark, mut priority, mut payload, mut conn_mark) = (None, None, None, None);
    for attr in Attrs::new(attrs) {
        let attr = attr?;
        let v = attr.value();
        match attr.kind() {
            NFQA_VERDICT_HDR => {
                let (Some(raw), Some(id)) = (be_u32(v, 0), be_u32(v, 4)) else {
                    return Err(short(NFQA_VERDICT_HDR, v, 8));
                };
                hdr = Some((raw, id));
            }
            NFQA_MARK => mark = Some(be_u32(v, 0).ok_or(short(NFQA_MARK, v, 4))?),
            NFQA_PRIORITY => priority = Some(be_u32(v, 0).ok_or(short(NFQA_PRIORITY, v, 4))?),
            NFQA_PAYLOAD => payload = Some(v),
            NFQA_CT => {
                let mut cm = ConnMark { value: 0, mask: 0 };
                for inner in attr.nested() {
                    let inner = inner?;
                    let iv = inner.value();
                    match inner.kind() {
                        CTA_MARK => cm.value = be_u32(iv, 0).ok_or(short(CTA_MARK, iv, 4))?,
                        CTA_MARK_MASK => {
                            cm.mask = be_u32(iv, 0).ok_or(short(CTA_MARK_MASK, iv, 4))?
                        }
                        _ => {}
                    }
                }
                conn_mark = Some(cm);
            }
            _ => {}
        }
    }
    let (raw, id) = hdr.ok_or(ParseError::MissingPacketHeader)?;
    let verdict = Verdict::from_raw(raw).ok_or(ParseError::BadLength {
        what: "verdict value",
        len: raw as usize,
    })?;
    Ok(ParsedVerdict {
        queue,
        verdict,
        id,
        mark,
        priority,
        payload,
        conn_mark,
    })
}

impl<'buf> VerdictMsg<'buf> {
    /// Parses a verdict message (what the kernel receives). Useful for tests and for tools
    /// that stand in for the kernel. A missing `NFQA_VERDICT_HDR` is
    /// [`ParseError::MissingPacketHeader`].
    pub fn parse(msg: &NetlinkMsg<'buf>) -> Result<VerdictMsg<'buf>, ParseError> {
        let v = parse_verdict(msg, NFQNL_MSG_VERDICT)?;
        Ok(VerdictMsg {
            queue: v.queue,
            id: v.id,
            verdict: v.verdict,
            mark: v.mark,
            priority: v.priority,
            payload: v.payload,
            conn_mark: v.conn_mark,
        })
    }
}

impl BatchVerdictMsg {
    /// Parses a batch verdict message (what the kernel receives).
    pub fn parse(msg: &NetlinkMsg<'_>) -> Result<BatchVerdictMsg, ParseError> {
        let v = parse_verdict(msg, NFQNL_MSG_VERDICT_BATCH)?;
        Ok(BatchVerdictMsg {
            queue: v.queue,
            max_id: v.id,
            verdict: v.verdict,
            mark: v.mark,
        })
    }
}

/// `struct nfqnl_msg_verdict_hdr`: be32 verdict, be32 id.
fn verdict_hdr(verdict: Verdict, id: u32) -> [u8; 8] {
    let v = verdict.to_raw().to_be_bytes();
    let i = id.to_be_bytes();
    [v[0], v[1], v[2], v[3], i[0], i[1], i[2], i[3]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u32, msg: u8, flags: u16, seq: u32, q: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&((3u16 << 8) | u16::from(msg)).to_ne_bytes());
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(&[0, 0]);
        h.extend_from_slice(&q.to_be_bytes());
        h
    }

    #[test]
    fn raw_verdict_values_match_the_kernel() {
        assert_eq!(Verdict::Drop.to_raw(), 0);
        assert_eq!(Verdict::Accept.to_raw(), 1);
        assert_eq!(Verdict::Repeat.to_raw(), 4);
        assert_eq!(Verdict::Stop.to_raw(), 5);
        let q = Verdict::Queue {
            queue: 0x0102,
            bypass: true,
        };
        assert_eq!(q.to_raw(), 0x0102_8003);
        for v in [
            Verdict::Drop,
            Verdict::Accept,
            Verdict::Repeat,
            Verdict::Stop,
            q,
            Verdict::Queue {
                queue: 9,
                bypass: false,
            },
        ] {
            assert_eq!(Verdict::from_raw(v.to_raw()), Some(v));
        }
        assert_eq!(Verdict::from_raw(2), None); // NF_STOLEN
        assert_eq!(Verdict::from_raw(6), None);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn plain_accept_spelled_out() {
        let mut out = Vec::new();
        VerdictMsg::new(5, 0x0a0b0c0d, Verdict::Accept)
            .emit(0, false, &mut out)
            .unwrap();
        assert_eq!(
            out,
            [
                32, 0, 0, 0, 0x01, 0x03, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
                0, 0, 0, 5, // nfgenmsg: AF_UNSPEC, v0, queue 5
                12, 0, 2, 0, 0, 0, 0, 1, 0x0a, 0x0b, 0x0c, 0x0d, // VERDICT_HDR ACCEPT id
            ]
        );
    }

    #[test]
    fn verdict_with_mark_priority_and_payload() {
        let payload = [0x45, 0, 0, 21, 0xaa];
        let msg = VerdictMsg::new(1, 7, Verdict::Drop)
            .with_mark(0x100)
            .with_priority(6)
            .with_payload(&payload);
        let mut out = Vec::new();
        msg.emit(77, true, &mut out).unwrap();
        let mut want = header(60, 1, 0x0005, 77, 1);
        want.extend_from_slice(&12u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 7]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&3u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 1, 0]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&21u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 6]);
        want.extend_from_slice(&9u16.to_ne_bytes());
        want.extend_from_slice(&10u16.to_ne_bytes());
        want.extend_from_slice(&[0x45, 0, 0, 21, 0xaa, 0, 0, 0]);
        assert_eq!(out, want);
        assert_eq!(msg.encoded_len(), out.len());
    }

    #[test]
    fn verdict_with_conn_mark_is_nested_ct_attribute() {
        let msg = VerdictMsg::new(4, 2, Verdict::Accept).with_conn_mark(ConnMark::set_bits(0x10));
        let mut out = Vec::new();
        msg.emit(0, false, &mut out).unwrap();
        let mut want = header(52, 1, 0x0001, 0, 4);
        want.extend_from_slice(&12u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        want.extend_from_slice(&20u16.to_ne_bytes());
        want.extend_from_slice(&(0x8000u16 | 11).to_ne_bytes()); // NLA_F_NESTED | NFQA_CT
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&8u16.to_ne_bytes()); // CTA_MARK
        want.extend_from_slice(&[0, 0, 0, 0x10]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&21u16.to_ne_bytes()); // CTA_MARK_MASK
        want.extend_from_slice(&[0, 0, 0, 0x10]);
        assert_eq!(out, want);
        assert_eq!(msg.encoded_len(), out.len());
        let (nl, _) = super::super::NetlinkMsg::parse(&out).unwrap();
        assert_eq!(VerdictMsg::parse(&nl).unwrap(), msg);
        assert_eq!(
            ConnMark::masked(0xff, 0x0f),
            ConnMark {
                value: 0x0f,
                mask: 0x0f
            }
        );
    }

    #[test]
    fn oversized_payload_is_refused_and_nothing_appended() {
        let big = vec![0u8; MAX_VERDICT_PAYLOAD + 1];
        let mut out = vec![1, 2, 3];
        let err = VerdictMsg::new(0, 1, Verdict::Accept)
            .with_payload(&big)
            .emit(0, false, &mut out)
            .unwrap_err();
        assert!(matches!(err, EncodeError::PayloadTooLong { .. }));
        assert_eq!(out, [1, 2, 3]);
        // The largest allowed payload encodes with a length that fits u16.
        let max = vec![0u8; MAX_VERDICT_PAYLOAD];
        let mut out = Vec::new();
        VerdictMsg::new(0, 1, Verdict::Accept)
            .with_payload(&max)
            .emit(0, false, &mut out)
            .unwrap();
        assert_eq!(&out[32..34], &u16::MAX.to_ne_bytes());
    }

    #[test]
    fn batch_verdicts() {
        let mut out = Vec::new();
        BatchVerdictMsg::new(0x0201, 1000, Verdict::Accept).emit(3, false, &mut out);
        let mut want = header(32, 3, 0x0001, 3, 0x0201);
        want.extend_from_slice(&12u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0x03, 0xe8]);
        assert_eq!(out, want);

        let mut out = Vec::new();
        BatchVerdictMsg::new(2, u32::MAX, Verdict::Drop)
            .with_mark(0xffff_0001)
            .emit(4, true, &mut out);
        let mut want = header(40, 3, 0x0005, 4, 2);
        want.extend_from_slice(&12u16.to_ne_bytes());
        want.extend_from_slice(&2u16.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        want.extend_from_slice(&8u16.to_ne_bytes());
        want.extend_from_slice(&3u16.to_ne_bytes());
        want.extend_from_slice(&[0xff, 0xff, 0, 1]);
        assert_eq!(out, want);
    }

    #[test]
    fn several_messages_share_one_buffer_and_parse_back() {
        let mut out = Vec::new();
        VerdictMsg::new(0, 1, Verdict::Drop)
            .emit(0, false, &mut out)
            .unwrap();
        VerdictMsg::new(0, 2, Verdict::Accept)
            .with_payload(b"abc")
            .emit(0, false, &mut out)
            .unwrap();
        BatchVerdictMsg::new(0, 9, Verdict::Accept).emit(0, false, &mut out);
        let msgs: Vec<_> = super::super::NetlinkMessages::new(&out)
            .map(|m| m.unwrap())
            .collect();
        let types: Vec<u16> = msgs.iter().map(|m| m.msg_type()).collect();
        assert_eq!(types, [0x0301, 0x0301, 0x0303]);
        assert_eq!(
            VerdictMsg::parse(&msgs[0]).unwrap(),
            VerdictMsg::new(0, 1, Verdict::Drop)
        );
        assert_eq!(
            VerdictMsg::parse(&msgs[1]).unwrap(),
            VerdictMsg::new(0, 2, Verdict::Accept).with_payload(b"abc")
        );
        assert_eq!(
            BatchVerdictMsg::parse(&msgs[2]).unwrap(),
            BatchVerdictMsg::new(0, 9, Verdict::Accept)
        );
        assert!(BatchVerdictMsg::parse(&msgs[0]).is_err());
    }
}
