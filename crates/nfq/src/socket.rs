//! [`QueueSocket`]: the `NETLINK_NETFILTER` socket, and [`RecvBuffers`], where bursts land.
//!
//! All `unsafe` of the crate is here, one syscall per block, each with its `SAFETY` note.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::codec::{
    BatchVerdictMsg, ConfigMsg, CopyMode, EncodeError, FlagChange, Message, Messages, NlError,
    ParseError, QueueFlags, VerdictMsg, MAX_COPY_RANGE,
};
use crate::{FlushStats, VerdictBatcher};

/// Most datagrams one [`RecvBuffers`] holds (one `recvmmsg` call).
pub const MAX_SLOTS: usize = 256;

/// Room for one packet message with a full 64 KiB copy plus every metadata attribute.
pub const DEFAULT_SLOT_SIZE: usize = 65536 + 4096;

/// How long a configuration request waits for the kernel's answer.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the socket layer reports. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// nfnetlink or nfnetlink_queue is missing from the kernel.
    #[error("the kernel has no nfnetlink_queue ({detail}): load it with `modprobe nfnetlink_queue` (kernel option CONFIG_NETFILTER_NETLINK_QUEUE)")]
    ModuleMissing {
        /// What failed.
        detail: String,
    },
    /// The process lacks `CAP_NET_ADMIN` (in the network namespace of the socket).
    #[error("{op}: permission denied: NFQUEUE needs CAP_NET_ADMIN; run as root or grant the capability (e.g. systemd AmbientCapabilities=CAP_NET_ADMIN, or setcap cap_net_admin+ep)")]
    PermissionDenied {
        /// What was refused.
        op: &'static str,
    },
    /// Another socket already reads this queue.
    #[error("queue {queue} is already bound by another process{}: stop it or choose another queue", .portid.map(|p| format!(" (netlink port id {p})")).unwrap_or_default())]
    QueueBusy {
        /// The queue.
        queue: u16,
        /// The port id of the socket that holds it, when known.
        portid: Option<u32>,
    },
    /// This very socket already holds the queue.
    #[error("queue {queue} is already bound by this socket: bind each queue once")]
    AlreadyBound {
        /// The queue.
        queue: u16,
    },
    /// The kernel does not support a requested queue flag.
    #[error("queue {queue}: this kernel does not support the queue flags {flags:?} (CONNTRACK needs CONFIG_NETFILTER_NETLINK_GLUE_CT, SECCTX needs CONFIG_NETWORK_SECMARK; flags newer than the kernel are refused): turn them off in the configuration")]
    FlagUnsupported {
        /// The queue.
        queue: u16,
        /// The flags that were asked for.
        flags: QueueFlags,
    },
    /// The kernel refused a request for another reason.
    #[error("{op} on queue {queue} failed: {} (errno {errno}){}", io::Error::from_raw_os_error(*.errno), .ext.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Kernel {
        /// The request.
        op: &'static str,
        /// The queue it was about.
        queue: u16,
        /// The errno the kernel answered.
        errno: i32,
        /// The kernel's extended-ack message, if any.
        ext: Option<String>,
    },
    /// The kernel did not answer a configuration request in time.
    #[error("{op} on queue {queue}: no answer from the kernel within {timeout:?}; the system may be overloaded: try again, and check `dmesg` for netlink errors")]
    NoAnswer {
        /// The request.
        op: &'static str,
        /// The queue.
        queue: u16,
        /// How long we waited.
        timeout: Duration,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A message could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The kernel's answer could not be parsed.
    #[error("unreadable answer from the kernel: {0}")]
    Parse(#[from] ParseError),
}

/// Shorthand for results of the socket layer.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io_err(op: &'static str) -> Error {
    Error::Io {
        op,
        source: io::Error::last_os_error(),
    }
}

/// Counters kept by a [`QueueSocket`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Receive calls that returned at least one datagram.
    pub recv_calls: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Times the kernel reported ENOBUFS: the receive buffer overflowed and packets were lost
    /// to the queue's policy (see `user_dropped` in [`crate::proc`]).
    pub enobufs: u64,
    /// Datagrams larger than a receive slot (cut; their packets cannot be parsed): raise the
    /// slot size or lower the copy range.
    pub truncated: u64,
    /// Send calls.
    pub sends: u64,
    /// Times a receive gave the CPU away before waiting (see
    /// [`QueueSocket::set_yield_before_wait`]).
    pub yields: u64,
    /// ... and found packets afterwards, saving a sleep and a wake-up.
    pub yield_bursts: u64,
}

/// How a queue is set up by [`QueueSocket::bind_queue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// Copy mode and range. Default: whole packets (up to [`MAX_COPY_RANGE`]).
    pub copy: CopyMode,
    /// Queue length; `None` keeps the kernel's default (1024).
    pub max_len: Option<u32>,
    /// Flags to turn on (every other known flag is turned off).
    pub flags: QueueFlags,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            copy: CopyMode::Packet {
                range: MAX_COPY_RANGE,
            },
            max_len: None,
            flags: QueueFlags::EMPTY,
        }
    }
}

/// Reusable receive storage: `slots` buffers of `slot_size` bytes, filled by one `recvmmsg`.
///
/// nfnetlink_queue sends one packet per datagram, and netlink hands out one datagram per
/// `recv`; `recvmmsg` over several buffers is what gets many packets per syscall. Packets are
/// read in place ([`RecvBuffers::messages`]), never copied.
#[derive(Debug)]
pub struct RecvBuffers {
    data: Vec<u8>,
    slot_size: usize,
    slots: usize,
    lens: Vec<usize>,
    filled: usize,
}

impl RecvBuffers {
    /// `slots` buffers (clamped to 1..=[`MAX_SLOTS`]) of `slot_size` bytes (at least 4096).
    ///
    /// The slot size must hold the largest message: copy range + about 1 KiB of metadata
    /// ([`DEFAULT_SLOT_SIZE`] holds anything). Longer datagrams are counted as truncated.
    pub fn new(slots: usize, slot_size: usize) -> Self {
        let slots = slots.clamp(1, MAX_SLOTS);
        let slot_size = slot_size.max(4096);
        RecvBuffers {
            data: vec![0; slots * slot_size],
            slot_size,
            slots,
            lens: vec![0; slots],
            filled: 0,
        }
    }

    /// `slots` buffers sized for packets copied with `copy_range` bytes (plus room for every
    /// metadata attribute), so no datagram can be cut.
    pub fn for_copy_range(slots: usize, copy_range: u32) -> Self {
        let range = copy_range.min(MAX_COPY_RANGE) as usize;
        RecvBuffers::new(slots, range + 4096)
    }

    /// How many datagrams one receive can return.
    pub fn capacity(&self) -> usize {
        self.slots
    }

    /// Datagrams held from the last receive.
    pub fn len(&self) -> usize {
        self.filled
    }

    /// Whether the last receive returned nothing.
    pub fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// The datagrams of the last receive.
    pub fn datagrams(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.filled).filter_map(move |i| self.datagram(i))
    }

    /// Datagram `index` of the last receive (O(1)); nfnetlink_queue sends one packet per
    /// datagram, so this is packet `index` of the burst.
    pub fn datagram(&self, index: usize) -> Option<&[u8]> {
        if index >= self.filled {
            return None;
        }
        let start = index * self.slot_size;
        let len = self.lens.get(index)?.min(&self.slot_size);
        self.data.get(start..start + len)
    }

    /// Every message of the last receive, classified, in arrival order. A malformed datagram
    /// yields one error and the iteration goes on with the next datagram.
    pub fn messages(&self) -> impl Iterator<Item = Result<Message<'_>, ParseError>> + '_ {
        self.datagrams().flat_map(Messages::new)
    }

    fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let start = i * self.slot_size;
        &mut self.data[start..start + self.slot_size]
    }
}

/// A netlink socket talking to nfnetlink_queue: binds queues, receives bursts, sends verdicts.
///
/// Netlink sockets belong to the network namespace they are opened in: open it on a thread
/// that is in the namespace whose packets you want.
///
/// Dropping the socket closes it, which unbinds its queues: packets still waiting for a
/// verdict are then dropped by the kernel, so give them verdicts first (or unbind only after
/// the firewall rules that feed the queue are gone).
#[derive(Debug)]
pub struct QueueSocket {
    fd: OwnedFd,
    portid: u32,
    seq: u32,
    stats: SocketStats,
    /// Datagrams (packets, verdict errors) read while waiting for a configuration answer,
    /// handed out by the next receive before the socket is read again.
    backlog: VecDeque<Vec<u8>>,
    scratch: Vec<u8>,
    /// Give the CPU away once before sleeping when the last burst was short.
    yield_before_wait: bool,
    /// The last receive returned fewer datagrams than the buffers hold.
    last_short: bool,
}

impl AsRawFd for QueueSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for QueueSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

fn setsockopt_int(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: `value` lives across the call and the length passed is its size; the kernel
    // only reads that many bytes.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn getsockopt_int(fd: RawFd, level: i32, name: i32) -> io::Result<i32> {
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size of `value`;
    // the kernel writes at most that many bytes.
    let rc =
        unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

impl QueueSocket {
    /// Opens a `NETLINK_NETFILTER` socket in the calling thread's network namespace.
    pub fn open() -> Result<QueueSocket> {
        // SAFETY: plain integer arguments; the returned descriptor is checked and owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EPROTONOSUPPORT) | Some(libc::ENOENT) | Some(libc::EAFNOSUPPORT) => {
                    Error::ModuleMissing {
                        detail: format!("socket(AF_NETLINK, NETLINK_NETFILTER): {e}"),
                    }
                }
                Some(libc::EPERM) | Some(libc::EACCES) => Error::PermissionDenied {
                    op: "opening the netlink socket",
                },
                _ => Error::Io {
                    op: "socket(AF_NETLINK, NETLINK_NETFILTER)",
                    source: e,
                },
            });
        }
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // SAFETY: all-zero is a valid sockaddr_nl (family set below, pid 0 = let the kernel
        // choose, no groups).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        let addr_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr` is a valid sockaddr_nl of `addr_len` bytes, alive across the call.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                addr_len,
            )
        };
        if rc < 0 {
            return Err(io_err("bind(netlink)"));
        }
        let mut len = addr_len;
        // SAFETY: `addr` is writable for `len` bytes; the kernel writes at most that.
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        if rc < 0 {
            return Err(io_err("getsockname(netlink)"));
        }
        // Best effort: error strings from the kernel, and errors that do not echo our
        // (possibly large) request back.
        let _ = setsockopt_int(fd.as_raw_fd(), libc::SOL_NETLINK, libc::NETLINK_EXT_ACK, 1);
        let _ = setsockopt_int(fd.as_raw_fd(), libc::SOL_NETLINK, libc::NETLINK_CAP_ACK, 1);
        Ok(QueueSocket {
            fd,
            portid: addr.nl_pid,
            seq: 0,
            stats: SocketStats::default(),
            backlog: VecDeque::new(),
            scratch: Vec::new(),
            yield_before_wait: true,
            last_short: false,
        })
    }

    /// The netlink port id the kernel gave this socket (shown in
    /// `/proc/net/netfilter/nfnetlink_queue`).
    pub fn portid(&self) -> u32 {
        self.portid
    }

    /// The counters.
    pub fn stats(&self) -> SocketStats {
        self.stats
    }

    /// Sets the receive buffer to `bytes`: `SO_RCVBUFFORCE` (ignores `rmem_max`, needs
    /// `CAP_NET_ADMIN`), falling back to `SO_RCVBUF` (capped by `net.core.rmem_max`).
    /// Returns the size the kernel reports afterwards (it doubles the request for its
    /// bookkeeping).
    pub fn set_recv_buffer(&mut self, bytes: usize) -> Result<usize> {
        let want = i32::try_from(bytes).unwrap_or(i32::MAX);
        let fd = self.fd.as_raw_fd();
        if setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, want).is_err() {
            setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, want).map_err(|source| {
                Error::Io {
                    op: "setsockopt(SO_RCVBUF)",
                    source,
                }
            })?;
        }
        self.recv_buffer()
    }

    /// The receive buffer size the kernel reports (`SO_RCVBUF`).
    pub fn recv_buffer(&self) -> Result<usize> {
        getsockopt_int(self.fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF)
            .map(|v| v.max(0) as usize)
            .map_err(|source| Error::Io {
                op: "getsockopt(SO_RCVBUF)",
                source,
            })
    }

    /// `NETLINK_NO_ENOBUFS`: when on, the kernel stops reporting buffer overruns (packets are
    /// still lost -- only the kernel's `user_dropped` counter shows it). Off by default, so
    /// [`SocketStats::enobufs`] counts them.
    pub fn set_no_enobufs(&mut self, on: bool) -> Result<()> {
        setsockopt_int(
            self.fd.as_raw_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_NO_ENOBUFS,
            i32::from(on),
        )
        .map_err(|source| Error::Io {
            op: "setsockopt(NETLINK_NO_ENOBUFS)",
            source,
        })
    }

    /// Puts the descriptor in non-blocking mode (for a poll loop on [`AsRawFd::as_raw_fd`]).
    /// [`QueueSocket::recv`] then returns 0 instead of waiting.
    pub fn set_nonblocking(&mut self, on: bool) -> Result<()> {
        let fd = self.fd.as_raw_fd();
        // SAFETY: fcntl(F_GETFL) on a descriptor we own; no pointers.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 {
            return Err(io_err("fcntl(F_GETFL)"));
        }
        let flags = if on {
            flags | libc::O_NONBLOCK
        } else {
            flags & !libc::O_NONBLOCK
        };
        // SAFETY: fcntl(F_SETFL) with integer flags on a descriptor we own.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, flags) } < 0 {
            return Err(io_err("fcntl(F_SETFL)"));
        }
        Ok(())
    }

    /// Binds `queue` to this socket and applies `config` (copy mode, length, flags), waiting
    /// for the kernel to confirm each step. Call it once per queue; one socket may hold
    /// several queues (each packet says which one it came from).
    pub fn bind_queue(&mut self, queue: u16, config: &QueueConfig) -> Result<()> {
        self.configure(&ConfigMsg::bind(queue), "binding the queue")?;
        let mut msg = ConfigMsg::new(queue)
            .with_copy(config.copy)
            .with_flags(FlagChange {
                flags: config.flags,
                mask: QueueFlags::ALL,
            });
        msg.max_len = config.max_len;
        self.configure(&msg, "configuring the queue")
    }

    /// Unbinds `queue` (packets still waiting in it are dropped by the kernel).
    pub fn unbind_queue(&mut self, queue: u16) -> Result<()> {
        self.configure(&ConfigMsg::unbind(queue), "unbinding the queue")
    }

    /// Sends any configuration request and waits for the kernel's acknowledgement, mapping
    /// errors to what they mean for a queue. `op` names the request in errors.
    pub fn configure(&mut self, msg: &ConfigMsg, op: &'static str) -> Result<()> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut out = Vec::with_capacity(64);
        msg.emit(seq, true, &mut out);
        self.send(&out)?;
        match self.wait_answer(seq, op, msg.queue)? {
            None => Ok(()),
            Some((errno, ext)) => Err(self.config_error(msg, op, errno, ext)),
        }
    }

    fn config_error(
        &self,
        msg: &ConfigMsg,
        op: &'static str,
        errno: i32,
        ext: Option<String>,
    ) -> Error {
        let queue = msg.queue;
        let binding = matches!(msg.command, Some(crate::codec::ConfigCommand::Bind));
        let status = crate::proc::read_queue_status();
        match errno {
            libc::EBUSY => Error::AlreadyBound { queue },
            libc::EOPNOTSUPP if msg.flags.is_some_and(|f| !f.flags.is_empty()) => {
                Error::FlagUnsupported {
                    queue,
                    flags: msg.flags.map_or(QueueFlags::EMPTY, |f| f.flags),
                }
            }
            libc::EPERM => {
                // The kernel answers EPERM both without CAP_NET_ADMIN and when another
                // socket owns the queue: tell them apart with its own table.
                let owner = status
                    .as_ref()
                    .ok()
                    .and_then(|qs| qs.iter().find(|q| q.queue == queue).map(|q| q.portid));
                match owner {
                    Some(p) if p != self.portid => Error::QueueBusy {
                        queue,
                        portid: Some(p),
                    },
                    _ => Error::PermissionDenied { op },
                }
            }
            libc::EINVAL | libc::ENOENT | libc::EPROTONOSUPPORT | libc::EOPNOTSUPP
                if binding && matches!(&status, Err(e) if e.kind() == io::ErrorKind::NotFound) =>
            {
                Error::ModuleMissing {
                    detail: format!(
                        "{op}: {} and {} is missing",
                        io::Error::from_raw_os_error(errno),
                        crate::proc::QUEUE_STATUS_PATH
                    ),
                }
            }
            _ => Error::Kernel {
                op,
                queue,
                errno,
                ext,
            },
        }
    }

    /// Waits for the answer to `seq`: `None` for an ack, `Some(errno, ext-ack)` for an
    /// error. Other datagrams read meanwhile go to the backlog.
    fn wait_answer(
        &mut self,
        seq: u32,
        op: &'static str,
        queue: u16,
    ) -> Result<Option<(i32, Option<String>)>> {
        let deadline = Instant::now() + ACK_TIMEOUT;
        let mut buf = vec![0u8; DEFAULT_SLOT_SIZE];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::NoAnswer {
                    op,
                    queue,
                    timeout: ACK_TIMEOUT,
                });
            }
            if !self.poll_readable(left)? {
                continue;
            }
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        self.stats.enobufs += 1;
                        continue;
                    }
                    _ => return Err(io_err("recv(netlink)")),
                }
            }
            let datagram = &buf[..n as usize];
            let mut answer = None;
            for msg in Messages::new(datagram) {
                if let Ok(Message::Error(e)) = msg {
                    if e.request().map(|r| r.seq) == Some(seq) {
                        answer = Some(answer_of(&e));
                    }
                }
            }
            match answer {
                Some(a) => return Ok(a),
                None => self.backlog.push_back(datagram.to_vec()),
            }
        }
    }

    fn poll_readable(&self, timeout: Duration) -> Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd, alive across the call.
        let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
        if rc < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                return Ok(false);
            }
            return Err(io_err("poll(netlink)"));
        }
        Ok(rc > 0)
    }

    /// Receives a burst into `bufs`: waits for the first datagram (unless the socket is
    /// non-blocking), then takes every datagram already queued, up to `bufs.capacity()`,
    /// in one `recvmmsg`. Returns how many datagrams arrived; read them with
    /// [`RecvBuffers::messages`].
    ///
    /// Returns `Ok(0)` when nothing is available in non-blocking mode, and when a signal
    /// interrupted the wait (so a signal handler's flag can be checked). ENOBUFS is counted
    /// in [`SocketStats::enobufs`] and the receive goes on: the reader never dies of it.
    pub fn recv(&mut self, bufs: &mut RecvBuffers) -> Result<usize> {
        let mut n = self.coalesce(bufs)?;
        if n == 0 {
            n = self.recv_flags(bufs, libc::MSG_WAITFORONE)?;
        }
        self.note_burst(n, bufs);
        Ok(n)
    }

    /// Like [`QueueSocket::recv`], but never waits: `Ok(0)` when nothing is queued.
    pub fn try_recv(&mut self, bufs: &mut RecvBuffers) -> Result<usize> {
        self.recv_flags(bufs, libc::MSG_DONTWAIT)
    }

    /// Like [`QueueSocket::recv`], but waits at most `timeout` for the first datagram
    /// (`Ok(0)` when it expires).
    pub fn recv_timeout(&mut self, bufs: &mut RecvBuffers, timeout: Duration) -> Result<usize> {
        let mut n = self.coalesce(bufs)?;
        if n == 0 {
            if self.backlog.is_empty() && !self.poll_readable(timeout)? {
                bufs.filled = 0;
                self.note_burst(0, bufs);
                return Ok(0);
            }
            n = self.recv_flags(bufs, libc::MSG_DONTWAIT)?;
        }
        self.note_burst(n, bufs);
        Ok(n)
    }

    /// Turns yielding before a wait on or off (on by default).
    ///
    /// When a receive returned fewer packets than the buffers hold, the next receive first
    /// gives the CPU away once (`sched_yield`) and takes what was queued meanwhile, and only
    /// then sleeps. Each sleep costs a wake-up when the next packet comes, and wake-ups are
    /// most of the kernel's cost per queued packet; yielding lets the producers (the sender,
    /// the kernel's softirq work) fill the queue so bursts grow. Measured with
    /// `PIN=1 bench/io-compare.sh` (sender and reader on one CPU, 64-byte UDP): 6.8 instead
    /// of 1.7 packets per receive and 1.6x the packets/s. It never delays a packet that is
    /// already queued. The cost: with buffers of one slot it never applies; on an idle CPU it
    /// is one extra `sched_yield` and one non-blocking receive per burst; on a CPU shared with
    /// busy tasks, packets that arrive during the yield wait for the scheduler to come back
    /// (turn it off when tail latency on a CPU-starved host matters more than throughput).
    pub fn set_yield_before_wait(&mut self, on: bool) {
        self.yield_before_wait = on;
    }

    /// Yields once and takes what is queued, when the last burst was short (see
    /// [`QueueSocket::set_yield_before_wait`]). `Ok(0)` when it did not apply or found nothing.
    fn coalesce(&mut self, bufs: &mut RecvBuffers) -> Result<usize> {
        if !(self.yield_before_wait && self.last_short && self.backlog.is_empty() && bufs.slots > 1)
        {
            return Ok(0);
        }
        self.stats.yields += 1;
        // SAFETY: sched_yield takes no arguments and touches no memory of ours.
        unsafe { libc::sched_yield() };
        let n = self.recv_flags(bufs, libc::MSG_DONTWAIT)?;
        if n > 0 {
            self.stats.yield_bursts += 1;
        }
        Ok(n)
    }

    fn note_burst(&mut self, n: usize, bufs: &RecvBuffers) {
        // After an empty receive (timeout, signal) the queue is idle: sleep next time.
        self.last_short = n > 0 && n < bufs.slots;
    }

    fn recv_flags(&mut self, bufs: &mut RecvBuffers, flags: i32) -> Result<usize> {
        bufs.filled = 0;
        if !self.backlog.is_empty() {
            return Ok(self.drain_backlog(bufs));
        }
        // An ENOBUFS report is one error per overrun, after which the queued datagrams are
        // readable; bound the retries anyway so a pathological kernel cannot spin us.
        for _ in 0..64 {
            match self.recvmmsg(bufs, flags) {
                Ok(n) => {
                    if n > 0 {
                        self.stats.recv_calls += 1;
                        self.stats.datagrams += n as u64;
                    }
                    return Ok(n);
                }
                Err(e) => match e.raw_os_error() {
                    Some(libc::ENOBUFS) => self.stats.enobufs += 1,
                    Some(libc::EAGAIN) | Some(libc::EINTR) => return Ok(0),
                    _ => {
                        return Err(Error::Io {
                            op: "recvmmsg(netlink)",
                            source: e,
                        })
                    }
                },
            }
        }
        Ok(0)
    }

    fn drain_backlog(&mut self, bufs: &mut RecvBuffers) -> usize {
        let mut n = 0;
        while n < bufs.slots {
            let Some(d) = self.backlog.pop_front() else {
                break;
            };
            let len = d.len().min(bufs.slot_size);
            if len < d.len() {
                self.stats.truncated += 1;
            }
            bufs.slot_mut(n)[..len].copy_from_slice(&d[..len]);
            bufs.lens[n] = len;
            n += 1;
        }
        bufs.filled = n;
        self.stats.datagrams += n as u64;
        n
    }

    fn recvmmsg(&mut self, bufs: &mut RecvBuffers, flags: i32) -> io::Result<usize> {
        let slots = bufs.slots;
        let slot_size = bufs.slot_size;
        let mut iovs: [MaybeUninit<libc::iovec>; MAX_SLOTS] =
            [const { MaybeUninit::uninit() }; MAX_SLOTS];
        let mut hdrs: [MaybeUninit<libc::mmsghdr>; MAX_SLOTS] =
            [const { MaybeUninit::uninit() }; MAX_SLOTS];
        let base = bufs.data.as_mut_ptr();
        for i in 0..slots {
            let iov = iovs[i].write(libc::iovec {
                // Slot i of `data` (in bounds: data.len() == slots * slot_size).
                iov_base: base.wrapping_add(i * slot_size).cast(),
                iov_len: slot_size,
            });
            let iov: *mut libc::iovec = iov;
            // SAFETY: all-zero is a valid mmsghdr (null name/control, zero lengths); the
            // fields we need are set right after.
            let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
            h.msg_hdr.msg_iov = iov;
            h.msg_hdr.msg_iovlen = 1;
            hdrs[i].write(h);
        }
        // SAFETY: the first `slots` entries of `hdrs` are initialised and each points to its
        // initialised iovec, which points into `bufs.data` (exclusively borrowed, sized
        // slots * slot_size). All stay alive and unmoved for the call; the kernel writes at
        // most iov_len bytes per slot and fills msg_len/msg_flags. No timeout pointer.
        let rc = unsafe {
            libc::recvmmsg(
                self.fd.as_raw_fd(),
                hdrs.as_mut_ptr().cast::<libc::mmsghdr>(),
                slots as libc::c_uint,
                flags,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = rc as usize;
        for (i, h) in hdrs.iter().take(n).enumerate() {
            // SAFETY: entries below `slots` were initialised above, and n <= slots.
            let h = unsafe { h.assume_init_ref() };
            if h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                self.stats.truncated += 1;
            }
            bufs.lens[i] = (h.msg_len as usize).min(slot_size);
        }
        bufs.filled = n;
        Ok(n)
    }

    /// Sends raw netlink messages (one or many, back to back) in one syscall. The kernel
    /// processes them in order.
    pub fn send(&mut self, bytes: &[u8]) -> Result<()> {
        loop {
            // SAFETY: `bytes` is valid for reads of its length for the whole call.
            let rc =
                unsafe { libc::send(self.fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), 0) };
            if rc >= 0 {
                self.stats.sends += 1;
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(Error::Io {
                op: "send(netlink)",
                source: e,
            });
        }
    }

    /// Sends one verdict.
    pub fn send_verdict(&mut self, verdict: &VerdictMsg<'_>) -> Result<()> {
        self.scratch.clear();
        let mut out = std::mem::take(&mut self.scratch);
        let r = verdict
            .emit(0, false, &mut out)
            .map_err(Error::from)
            .and_then(|()| self.send(&out));
        self.scratch = out;
        r
    }

    /// Sends one batch verdict.
    pub fn send_batch_verdict(&mut self, verdict: &BatchVerdictMsg) -> Result<()> {
        self.scratch.clear();
        let mut out = std::mem::take(&mut self.scratch);
        verdict.emit(0, false, &mut out);
        let r = self.send(&out);
        self.scratch = out;
        r
    }

    /// Flushes a [`VerdictBatcher`] in one send (individual verdicts first, then the batch).
    pub fn flush_batcher(
        &mut self,
        batcher: &mut VerdictBatcher,
        oldest_undecided: Option<u32>,
    ) -> Result<FlushStats> {
        self.scratch.clear();
        let mut out = std::mem::take(&mut self.scratch);
        let stats = batcher.flush(oldest_undecided, &mut out);
        let r = if out.is_empty() {
            Ok(())
        } else {
            self.send(&out)
        };
        self.scratch = out;
        r.map(|()| stats)
    }
}

fn answer_of(e: &NlError<'_>) -> Option<(i32, Option<String>)> {
    if e.is_ack() {
        None
    } else {
        Some((e.code(), e.ext_msg().map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error tells the operator what to do.
    #[test]
    fn error_messages_say_what_to_do() {
        let cases: Vec<(Error, &[&str])> = vec![
            (
                Error::ModuleMissing { detail: "x".into() },
                &["modprobe nfnetlink_queue"],
            ),
            (
                Error::PermissionDenied { op: "binding" },
                &["CAP_NET_ADMIN", "run as root"],
            ),
            (
                Error::QueueBusy {
                    queue: 3,
                    portid: Some(77),
                },
                &[
                    "queue 3 is already bound by another process",
                    "port id 77",
                    "stop it or choose another queue",
                ],
            ),
            (
                Error::AlreadyBound { queue: 4 },
                &["queue 4 is already bound by this socket"],
            ),
            (
                Error::FlagUnsupported {
                    queue: 5,
                    flags: QueueFlags::CONNTRACK,
                },
                &["CONFIG_NETFILTER_NETLINK_GLUE_CT", "turn them off"],
            ),
            (
                Error::Kernel {
                    op: "configuring",
                    queue: 6,
                    errno: libc::EINVAL,
                    ext: Some("bad attr".into()),
                },
                &["configuring on queue 6 failed", "errno 22", "bad attr"],
            ),
        ];
        for (err, needles) in cases {
            let text = err.to_string();
            for n in needles {
                assert!(text.contains(n), "{text:?} lacks {n:?}");
            }
        }
    }

    #[test]
    fn recv_buffers_are_clamped_and_sized() {
        let b = RecvBuffers::new(0, 10);
        assert_eq!((b.capacity(), b.slot_size), (1, 4096));
        let b = RecvBuffers::new(10_000, 8192);
        assert_eq!(b.capacity(), MAX_SLOTS);
        let b = RecvBuffers::for_copy_range(4, u32::MAX);
        assert_eq!(b.slot_size, MAX_COPY_RANGE as usize + 4096);
        assert!(b.is_empty());
        assert_eq!(b.messages().count(), 0);
        assert_eq!(b.datagram(0), None);
    }
}
