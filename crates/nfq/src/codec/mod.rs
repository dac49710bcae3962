//! The sans-IO nfnetlink_queue codec: bytes in, typed views out; typed requests in, bytes out.
//!
//! Nothing here does I/O, allocates per received packet, or panics on hostile input.
//!
//! - [`Message::parse`] / [`Messages`] classify what the kernel sends: packets
//!   ([`PacketMsg`], a view borrowing the receive buffer), acknowledgements and errors
//!   ([`NlError`]), `NLMSG_DONE`, and anything else.
//! - [`ConfigMsg`] builds queue configuration requests (bind, unbind, copy mode and range,
//!   queue length, flags with a mask).
//! - [`VerdictMsg`] and [`BatchVerdictMsg`] build verdicts; several may be appended to one
//!   buffer and sent with one syscall -- the kernel processes them in order.
//!
//! The layouts follow the kernel's `include/uapi/linux/netfilter/nfnetlink_queue.h` and
//! `nfnetlink.h`: a netlink header (host byte order), a `struct nfgenmsg` (family, version,
//! big-endian resource id = queue number), then attributes whose values are big-endian.

mod config;
pub mod netlink;
mod packet;
mod verdict;

pub use config::{ConfigCommand, ConfigMsg, CopyMode, FlagChange, QueueFlags};
pub use netlink::{Attr, Attrs, NetlinkMessages, NetlinkMsg, NetlinkMsgHeader, NlError};
pub use packet::{Hook, PacketMsg, SkbInfo, Timestamp, Vlan};
pub use verdict::{BatchVerdictMsg, ConnMark, Verdict, VerdictMsg, MAX_VERDICT_PAYLOAD};

/// `NFNL_SUBSYS_QUEUE`: the nfnetlink subsystem id of nfnetlink_queue.
pub const NFNL_SUBSYS_QUEUE: u16 = 3;
/// `NFQNL_MSG_PACKET`: a packet from the kernel.
pub const NFQNL_MSG_PACKET: u16 = 0;
/// `NFQNL_MSG_VERDICT`: a verdict for one packet.
pub const NFQNL_MSG_VERDICT: u16 = 1;
/// `NFQNL_MSG_CONFIG`: queue configuration.
pub const NFQNL_MSG_CONFIG: u16 = 2;
/// `NFQNL_MSG_VERDICT_BATCH`: a verdict for every queued packet up to an id.
pub const NFQNL_MSG_VERDICT_BATCH: u16 = 3;

/// The full netlink message type of an nfnetlink_queue message.
pub const fn nfq_msg_type(msg: u16) -> u16 {
    (NFNL_SUBSYS_QUEUE << 8) | msg
}

/// Packet attribute types (`enum nfqnl_attr_type`).
#[allow(missing_docs)]
pub mod attr {
    pub const NFQA_PACKET_HDR: u16 = 1;
    pub const NFQA_VERDICT_HDR: u16 = 2;
    pub const NFQA_MARK: u16 = 3;
    pub const NFQA_TIMESTAMP: u16 = 4;
    pub const NFQA_IFINDEX_INDEV: u16 = 5;
    pub const NFQA_IFINDEX_OUTDEV: u16 = 6;
    pub const NFQA_IFINDEX_PHYSINDEV: u16 = 7;
    pub const NFQA_IFINDEX_PHYSOUTDEV: u16 = 8;
    pub const NFQA_HWADDR: u16 = 9;
    pub const NFQA_PAYLOAD: u16 = 10;
    pub const NFQA_CT: u16 = 11;
    pub const NFQA_CT_INFO: u16 = 12;
    pub const NFQA_CAP_LEN: u16 = 13;
    pub const NFQA_SKB_INFO: u16 = 14;
    pub const NFQA_EXP: u16 = 15;
    pub const NFQA_UID: u16 = 16;
    pub const NFQA_GID: u16 = 17;
    pub const NFQA_SECCTX: u16 = 18;
    pub const NFQA_VLAN: u16 = 19;
    pub const NFQA_L2HDR: u16 = 20;
    pub const NFQA_PRIORITY: u16 = 21;

    /// `enum nfqnl_vlan_attr`
    pub const NFQA_VLAN_PROTO: u16 = 1;
    pub const NFQA_VLAN_TCI: u16 = 2;

    /// `enum nfqnl_attr_config`
    pub const NFQA_CFG_CMD: u16 = 1;
    pub const NFQA_CFG_PARAMS: u16 = 2;
    pub const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
    pub const NFQA_CFG_MASK: u16 = 4;
    pub const NFQA_CFG_FLAGS: u16 = 5;
}

/// The largest copy range the kernel honours (`NFQNL_MAX_COPY_RANGE`, 0xffff - NLA_HDRLEN).
pub const MAX_COPY_RANGE: u32 = 0xffff - netlink::NLA_HDRLEN as u32;

/// Why bytes could not be read as an nfnetlink_queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The buffer ends before a structure does.
    #[error("truncated {what}: need {need} bytes, have {have} (receive buffer too small, or a corrupt message)")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A declared length is impossible.
    #[error("{what} declares an impossible length {len}")]
    BadLength {
        /// What carries the length.
        what: &'static str,
        /// The length found.
        len: usize,
    },
    /// An attribute's length is shorter than its header or runs past the message.
    #[error("attribute {kind} has an invalid length {len}")]
    BadAttribute {
        /// The attribute type.
        kind: u16,
        /// The length found.
        len: usize,
    },
    /// An attribute's value is too short for its type.
    #[error("attribute {kind} is {len} bytes, its type needs {need}")]
    ShortAttribute {
        /// The attribute type.
        kind: u16,
        /// Its length.
        len: usize,
        /// The length its type needs.
        need: usize,
    },
    /// A packet message without `NFQA_PACKET_HDR` (and so without a packet id).
    #[error("packet message without NFQA_PACKET_HDR")]
    MissingPacketHeader,
    /// The message is not a packet message.
    #[error("netlink message type {0:#06x} is not an nfnetlink_queue packet")]
    NotAPacket(u16),
}

/// Why a request could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A rewritten payload does not fit a netlink attribute.
    #[error("payload of {len} bytes is too long for a verdict (at most {max})")]
    PayloadTooLong {
        /// The payload's length.
        len: usize,
        /// The most a verdict can carry.
        max: usize,
    },
}

/// One message from the kernel, classified.
#[derive(Debug, Clone, Copy)]
pub enum Message<'buf> {
    /// A queued packet.
    Packet(PacketMsg<'buf>),
    /// An acknowledgement (`NLMSG_ERROR` with code 0) or an error.
    Error(NlError<'buf>),
    /// `NLMSG_DONE`.
    Done,
    /// `NLMSG_NOOP`, `NLMSG_OVERRUN` or a message type this crate does not know.
    Other(NetlinkMsg<'buf>),
}

impl<'buf> Message<'buf> {
    /// Classifies and parses one netlink message.
    pub fn parse(msg: NetlinkMsg<'buf>) -> Result<Message<'buf>, ParseError> {
        match msg.msg_type() {
            netlink::NLMSG_ERROR => NlError::parse(&msg).map(Message::Error),
            netlink::NLMSG_DONE => Ok(Message::Done),
            t if t == nfq_msg_type(NFQNL_MSG_PACKET) => PacketMsg::parse(&msg).map(Message::Packet),
            _ => Ok(Message::Other(msg)),
        }
    }
}

/// Iterator over the classified messages of one received datagram.
#[derive(Debug, Clone)]
pub struct Messages<'buf> {
    inner: NetlinkMessages<'buf>,
}

impl<'buf> Messages<'buf> {
    /// Iterates over the messages in `datagram`.
    pub fn new(datagram: &'buf [u8]) -> Self {
        Messages {
            inner: NetlinkMessages::new(datagram),
        }
    }
}

impl<'buf> Iterator for Messages<'buf> {
    type Item = Result<Message<'buf>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|r| r.and_then(Message::parse))
    }
}
