//! Queue configuration requests (`NFQNL_MSG_CONFIG`).

use super::attr::*;
use super::netlink::{begin_nfmsg, finish_msg, put_attr, NLM_F_ACK, NLM_F_REQUEST};
use super::{nfq_msg_type, NFQNL_MSG_CONFIG};

/// The command of a configuration request (`struct nfqnl_msg_config_cmd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigCommand {
    /// `NFQNL_CFG_CMD_BIND`: make this socket the queue's reader.
    Bind,
    /// `NFQNL_CFG_CMD_UNBIND`: release the queue (its pending packets are dropped).
    Unbind,
    /// `NFQNL_CFG_CMD_PF_BIND`: obsolete, accepted and ignored by kernels since 3.8.
    PfBind(u16),
    /// `NFQNL_CFG_CMD_PF_UNBIND`: obsolete, accepted and ignored by kernels since 3.8.
    PfUnbind(u16),
}

impl ConfigCommand {
    fn encode(self) -> [u8; 4] {
        let (cmd, pf) = match self {
            ConfigCommand::Bind => (1u8, 0u16),
            ConfigCommand::Unbind => (2, 0),
            ConfigCommand::PfBind(pf) => (3, pf),
            ConfigCommand::PfUnbind(pf) => (4, pf),
        };
        let pf = pf.to_be_bytes();
        [cmd, 0, pf[0], pf[1]]
    }
}

/// How much of each packet the kernel copies to us (`struct nfqnl_msg_config_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    /// `NFQNL_COPY_NONE`: nothing (the queue does not deliver packets).
    None,
    /// `NFQNL_COPY_META`: metadata only, no payload.
    Meta,
    /// `NFQNL_COPY_PACKET`: metadata and up to `range` bytes of the packet (the kernel caps it
    /// at [`MAX_COPY_RANGE`](super::MAX_COPY_RANGE); a longer packet carries `NFQA_CAP_LEN`).
    Packet {
        /// Bytes of payload to copy.
        range: u32,
    },
}

impl CopyMode {
    fn encode(self) -> [u8; 5] {
        let (mode, range) = match self {
            CopyMode::None => (0u8, 0u32),
            CopyMode::Meta => (1, 0),
            CopyMode::Packet { range } => (2, range),
        };
        let r = range.to_be_bytes();
        [r[0], r[1], r[2], r[3], mode]
    }
}

/// Queue flags (`NFQA_CFG_F_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct QueueFlags(u32);

impl QueueFlags {
    /// No flag.
    pub const EMPTY: QueueFlags = QueueFlags(0);
    /// `NFQA_CFG_F_FAIL_OPEN`: accept packets instead of dropping them when the queue is full.
    pub const FAIL_OPEN: QueueFlags = QueueFlags(1 << 0);
    /// `NFQA_CFG_F_CONNTRACK`: attach conntrack information (`NFQA_CT`, `NFQA_CT_INFO`).
    pub const CONNTRACK: QueueFlags = QueueFlags(1 << 1);
    /// `NFQA_CFG_F_GSO`: deliver GSO packets whole instead of segmenting them first.
    pub const GSO: QueueFlags = QueueFlags(1 << 2);
    /// `NFQA_CFG_F_UID_GID`: attach the owning socket's uid and gid.
    pub const UID_GID: QueueFlags = QueueFlags(1 << 3);
    /// `NFQA_CFG_F_SECCTX`: attach the security context.
    pub const SECCTX: QueueFlags = QueueFlags(1 << 4);
    /// All flags this crate knows.
    pub const ALL: QueueFlags = QueueFlags(0x1f);

    /// From raw bits (unknown bits are kept; the kernel rejects them with `EOPNOTSUPP`).
    pub const fn from_bits(bits: u32) -> Self {
        QueueFlags(bits)
    }

    /// The raw bits.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: QueueFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for QueueFlags {
    type Output = QueueFlags;
    fn bitor(self, rhs: QueueFlags) -> QueueFlags {
        QueueFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for QueueFlags {
    fn bitor_assign(&mut self, rhs: QueueFlags) {
        self.0 |= rhs.0;
    }
}

/// A change of queue flags: the flags in `mask` are set to their value in `flags`; the others
/// are left alone (the kernel requires the mask whenever flags are given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagChange {
    /// The new values.
    pub flags: QueueFlags,
    /// Which flags to change.
    pub mask: QueueFlags,
}

impl FlagChange {
    /// Turns `flags` on, leaving every other flag as it is.
    pub const fn set(flags: QueueFlags) -> Self {
        FlagChange { flags, mask: flags }
    }

    /// Turns `flags` off, leaving every other flag as it is.
    pub const fn clear(flags: QueueFlags) -> Self {
        FlagChange {
            flags: QueueFlags::EMPTY,
            mask: flags,
        }
    }
}

/// A queue configuration request. Every part is optional; the kernel applies them in the order
/// command, copy mode, queue length, flags, and checks the flags before doing anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigMsg {
    /// The queue number.
    pub queue: u16,
    /// Bind, unbind, or nothing.
    pub command: Option<ConfigCommand>,
    /// Copy mode and range.
    pub copy: Option<CopyMode>,
    /// Most packets waiting for a verdict before the kernel drops (or, with
    /// [`QueueFlags::FAIL_OPEN`], accepts) new ones. Kernel default: 1024.
    pub max_len: Option<u32>,
    /// Flags to change.
    pub flags: Option<FlagChange>,
}

impl ConfigMsg {
    /// An empty request for `queue` (add parts with the `with_*` methods).
    pub const fn new(queue: u16) -> Self {
        ConfigMsg {
            queue,
            command: None,
            copy: None,
            max_len: None,
            flags: None,
        }
    }

    /// Binds `queue` to the sending socket.
    pub const fn bind(queue: u16) -> Self {
        let mut m = ConfigMsg::new(queue);
        m.command = Some(ConfigCommand::Bind);
        m
    }

    /// Unbinds `queue`.
    pub const fn unbind(queue: u16) -> Self {
        let mut m = ConfigMsg::new(queue);
        m.command = Some(ConfigCommand::Unbind);
        m
    }

    /// Sets the copy mode.
    pub const fn with_copy(mut self, copy: CopyMode) -> Self {
        self.copy = Some(copy);
        self
    }

    /// Sets the queue's maximum length.
    pub const fn with_max_len(mut self, max_len: u32) -> Self {
        self.max_len = Some(max_len);
        self
    }

    /// Changes flags.
    pub const fn with_flags(mut self, change: FlagChange) -> Self {
        self.flags = Some(change);
        self
    }

    /// Appends the request to `out`. With `ack`, the kernel answers success too (an
    /// `NLMSG_ERROR` with code 0 and this `seq`); errors are answered either way.
    pub fn emit(&self, seq: u32, ack: bool, out: &mut Vec<u8>) {
        let flags = NLM_F_REQUEST | if ack { NLM_F_ACK } else { 0 };
        let start = begin_nfmsg(
            out,
            nfq_msg_type(NFQNL_MSG_CONFIG),
            flags,
            seq,
            libc::AF_UNSPEC as u8,
            self.queue,
        );
        if let Some(cmd) = self.command {
            put_attr(out, NFQA_CFG_CMD, &cmd.encode());
        }
        if let Some(copy) = self.copy {
            put_attr(out, NFQA_CFG_PARAMS, &copy.encode());
        }
        if let Some(max_len) = self.max_len {
            put_attr(out, NFQA_CFG_QUEUE_MAXLEN, &max_len.to_be_bytes());
        }
        if let Some(change) = self.flags {
            put_attr(out, NFQA_CFG_MASK, &change.mask.bits().to_be_bytes());
            put_attr(out, NFQA_CFG_FLAGS, &change.flags.bits().to_be_bytes());
        }
        finish_msg(out, start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Netlink + nfgenmsg header of a config request for queue `q`, host-endian length.
    fn header(len: u32, flags: u16, seq: u32, q: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&len.to_ne_bytes());
        h.extend_from_slice(&0x0302u16.to_ne_bytes()); // NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_CONFIG
        h.extend_from_slice(&flags.to_ne_bytes());
        h.extend_from_slice(&seq.to_ne_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]); // pid
        h.extend_from_slice(&[0, 0]); // AF_UNSPEC, NFNETLINK_V0
        h.extend_from_slice(&q.to_be_bytes());
        h
    }

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(value);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    #[test]
    fn bind_with_ack() {
        let mut out = Vec::new();
        ConfigMsg::bind(7).emit(42, true, &mut out);
        let mut want = header(28, 0x0005, 42, 7);
        // NFQA_CFG_CMD: len 8, type 1, { command 1 (BIND), pad, pf 0 }
        want.extend_from_slice(&attr(1, &[1, 0, 0, 0]));
        assert_eq!(out, want);
        // spelled out byte by byte on little-endian machines
        #[cfg(target_endian = "little")]
        assert_eq!(
            out,
            [
                28, 0, 0, 0, 0x02, 0x03, 0x05, 0x00, 42, 0, 0, 0, 0, 0, 0, 0, // nlmsghdr
                0, 0, 0, 7, // nfgenmsg: AF_UNSPEC, v0, queue 7 (big-endian)
                8, 0, 1, 0, 1, 0, 0, 0, // NFQA_CFG_CMD BIND
            ]
        );
    }

    #[test]
    fn unbind_and_obsolete_pf_commands() {
        let mut out = Vec::new();
        ConfigMsg::unbind(0x0102).emit(1, false, &mut out);
        let mut want = header(28, 0x0001, 1, 0x0102);
        want.extend_from_slice(&attr(1, &[2, 0, 0, 0]));
        assert_eq!(out, want);

        for (cmd, byte) in [
            (ConfigCommand::PfBind(libc::AF_INET as u16), 3u8),
            (ConfigCommand::PfUnbind(libc::AF_INET6 as u16), 4u8),
        ] {
            let mut out = Vec::new();
            let mut m = ConfigMsg::new(0);
            m.command = Some(cmd);
            m.emit(2, false, &mut out);
            let pf = match cmd {
                ConfigCommand::PfBind(p) | ConfigCommand::PfUnbind(p) => p,
                _ => unreachable!(),
            };
            let mut want = header(28, 0x0001, 2, 0);
            let pf = pf.to_be_bytes();
            want.extend_from_slice(&attr(1, &[byte, 0, pf[0], pf[1]]));
            assert_eq!(out, want);
        }
    }

    #[test]
    fn copy_modes() {
        for (mode, bytes) in [
            (CopyMode::None, [0, 0, 0, 0, 0]),
            (CopyMode::Meta, [0, 0, 0, 0, 1]),
            (CopyMode::Packet { range: 0xffff }, [0, 0, 0xff, 0xff, 2]),
            (CopyMode::Packet { range: 0x01020304 }, [1, 2, 3, 4, 2]),
        ] {
            let mut out = Vec::new();
            ConfigMsg::new(3).with_copy(mode).emit(9, true, &mut out);
            // NFQA_CFG_PARAMS: len 9 (4 + packed 5-byte struct), padded to 12
            let mut want = header(32, 0x0005, 9, 3);
            want.extend_from_slice(&attr(2, &bytes));
            assert_eq!(out, want, "{mode:?}");
            assert_eq!(&out[20..22], &9u16.to_ne_bytes());
        }
    }

    #[test]
    fn max_len_and_flags_with_mask() {
        let mut out = Vec::new();
        ConfigMsg::new(1)
            .with_max_len(8192)
            .with_flags(FlagChange {
                flags: QueueFlags::FAIL_OPEN | QueueFlags::GSO,
                mask: QueueFlags::FAIL_OPEN | QueueFlags::GSO | QueueFlags::CONNTRACK,
            })
            .emit(3, true, &mut out);
        let mut want = header(44, 0x0005, 3, 1);
        want.extend_from_slice(&attr(3, &[0, 0, 0x20, 0x00])); // QUEUE_MAXLEN 8192, big-endian
        want.extend_from_slice(&attr(4, &[0, 0, 0, 0b0111])); // MASK
        want.extend_from_slice(&attr(5, &[0, 0, 0, 0b0101])); // FLAGS
        assert_eq!(out, want);
    }

    #[test]
    fn every_flag_bit_matches_the_kernel_header() {
        assert_eq!(QueueFlags::FAIL_OPEN.bits(), 1);
        assert_eq!(QueueFlags::CONNTRACK.bits(), 2);
        assert_eq!(QueueFlags::GSO.bits(), 4);
        assert_eq!(QueueFlags::UID_GID.bits(), 8);
        assert_eq!(QueueFlags::SECCTX.bits(), 16);
        let all = QueueFlags::FAIL_OPEN
            | QueueFlags::CONNTRACK
            | QueueFlags::GSO
            | QueueFlags::UID_GID
            | QueueFlags::SECCTX;
        assert_eq!(all, QueueFlags::ALL);
        assert!(all.contains(QueueFlags::SECCTX));
        assert!(!QueueFlags::GSO.contains(all));
        assert_eq!(
            FlagChange::clear(QueueFlags::SECCTX).flags,
            QueueFlags::EMPTY
        );
        assert_eq!(
            FlagChange::clear(QueueFlags::SECCTX).mask,
            QueueFlags::SECCTX
        );
        let mut out = Vec::new();
        ConfigMsg::new(0)
            .with_flags(FlagChange::set(QueueFlags::UID_GID | QueueFlags::SECCTX))
            .emit(0, false, &mut out);
        let mut want = header(36, 0x0001, 0, 0);
        want.extend_from_slice(&attr(4, &[0, 0, 0, 0x18]));
        want.extend_from_slice(&attr(5, &[0, 0, 0, 0x18]));
        assert_eq!(out, want);
    }

    #[test]
    fn everything_in_one_request_is_in_kernel_order() {
        let mut out = vec![0xEE]; // appends, never clobbers what is there
        ConfigMsg::bind(2)
            .with_copy(CopyMode::Meta)
            .with_max_len(1)
            .with_flags(FlagChange::set(QueueFlags::CONNTRACK))
            .emit(5, true, &mut out);
        assert_eq!(out[0], 0xEE);
        let mut want = vec![0xEE];
        want.extend_from_slice(&header(64, 0x0005, 5, 2));
        want.extend_from_slice(&attr(1, &[1, 0, 0, 0]));
        want.extend_from_slice(&attr(2, &[0, 0, 0, 0, 1]));
        want.extend_from_slice(&attr(3, &[0, 0, 0, 1]));
        want.extend_from_slice(&attr(4, &[0, 0, 0, 2]));
        want.extend_from_slice(&attr(5, &[0, 0, 0, 2]));
        assert_eq!(out, want);
    }
}
