//! Verdict's NFQUEUE I/O layer: talking to the kernel's `nfnetlink_queue`.
//!
//! # Design
//! Two halves, kept apart so the protocol is tested without a kernel:
//! - [`codec`] is sans-IO. It builds every configuration and verdict message and parses every
//!   packet attribute, acknowledgement and error, from and into plain byte buffers. A received
//!   packet is a [`PacketMsg`]: a *view* borrowing the receive buffer, checked once when
//!   parsed, after which no accessor can panic. Nothing is copied or allocated per packet --
//!   the payload the decoder and rules look at is the very memory the kernel wrote.
//!   [`VerdictBatcher`] (also sans-IO) turns a burst of decisions into the fewest messages.
//! - [`QueueSocket`] owns the syscalls (all of the crate's `unsafe`).
//!
//! **Why `recvmmsg`.** nfnetlink_queue sends each packet as its own netlink datagram and a
//! netlink `recv` returns one datagram, so a plain `recv` loop costs one syscall per packet
//! (that is what libnetfilter_queue does). [`RecvBuffers`] holds N slots and one
//! `recvmmsg(MSG_WAITFORONE)` fills as many as are queued: one syscall per burst. Verdicts go
//! the other way batched too: several verdict messages back to back in one `send`, which the
//! kernel processes in order -- individual drops and marks first, then one batch accept.
//!
//! **ENOBUFS policy.** When the socket's receive buffer overflows, the kernel drops (or, with
//! [`QueueFlags::FAIL_OPEN`], accepts) the packets it could not deliver and reports ENOBUFS
//! once. The socket counts it ([`SocketStats::enobufs`]) and keeps receiving: the reader never
//! dies of it, and the packets already queued still get their verdicts. Size the buffer with
//! [`QueueSocket::set_recv_buffer`] (`SO_RCVBUFFORCE`, falling back to `SO_RCVBUF`). The
//! kernel's own count of such losses is `user_dropped` in [`proc::read_queue_status`].
//!
//! **Errors say what to do**: a queue held by another process, a missing `CAP_NET_ADMIN`, a
//! kernel without nfnetlink_queue each have their own [`Error`] variant and message.
//!
//! # How it is tested
//! - byte-level unit tests for every message built and parsed (hand-written arrays following
//!   the kernel's `nfnetlink_queue.h` layout), and a model of the kernel's batch-verdict
//!   semantics that [`VerdictBatcher`] must satisfy on random bursts;
//! - `tests/kernel.rs`: the real kernel, in network namespaces (`verdict-testbed`), IPv4 and
//!   IPv6: accept, drop, marks seen by later rules, rewritten payloads, repeat, batch
//!   verdicts, GSO, uid/gid, fail-open, `--queue-bypass`, ENOBUFS floods, several queues,
//!   and each error;
//! - `fuzz/fuzz_targets/nfq_packet.rs`: `cargo +nightly fuzz run nfq_packet` (seed corpus in
//!   `fuzz/corpus/nfq_packet`, also replayed by the unit tests); `nfq_proc` does the same for
//!   the [`proc`] parser of `/proc/net/netfilter/nfnetlink_queue`.
//!
//! # Example
//! ```no_run
//! use verdict_nfq::{QueueConfig, QueueSocket, RecvBuffers, Verdict, VerdictBatcher};
//! use verdict_nfq::codec::Message;
//! # fn main() -> Result<(), verdict_nfq::Error> {
//! let mut sock = QueueSocket::open()?;
//! sock.set_recv_buffer(8 << 20)?;
//! sock.bind_queue(0, &QueueConfig::default())?;
//! let mut bufs = RecvBuffers::new(32, verdict_nfq::DEFAULT_SLOT_SIZE);
//! let mut batcher = VerdictBatcher::new(0);
//! loop {
//!     sock.recv(&mut bufs)?;
//!     for msg in bufs.messages() {
//!         if let Ok(Message::Packet(p)) = msg {
//!             batcher.push(p.id(), Verdict::Accept, None);
//!         }
//!     }
//!     sock.flush_batcher(&mut batcher, None)?;
//! }
//! # }
//! ```
#![deny(missing_docs)]

mod batcher;
pub mod codec;
pub mod proc;
mod socket;

pub use batcher::{Decision, FlushStats, VerdictBatcher};
pub use codec::{
    BatchVerdictMsg, ConfigMsg, ConnMark, CopyMode, FlagChange, Message, PacketMsg, QueueFlags,
    Verdict, VerdictMsg,
};
pub use socket::{
    Error, QueueConfig, QueueSocket, RecvBuffers, Result, SocketStats, DEFAULT_SLOT_SIZE, MAX_SLOTS,
};
