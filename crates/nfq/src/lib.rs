//! Verdict's NFQUEUE I/O layer: talking to the kernel's `nfnetlink_queue`.
//!
//! Two halves, kept apart so the protocol can be tested without a kernel:
//! - [`codec`]: sans-IO. Builds every configuration and verdict message, parses every packet
//!   attribute, acks and errors. A received packet is a [`PacketMsg`], a *view* borrowing the
//!   receive buffer; [`VerdictBatcher`] turns a burst of decisions into the fewest messages.
//! - the socket (added in the next commit): the syscalls.
#![deny(missing_docs)]

mod batcher;
pub mod codec;

pub use batcher::{FlushStats, VerdictBatcher};
pub use codec::{
    BatchVerdictMsg, ConfigMsg, CopyMode, FlagChange, Message, PacketMsg, QueueFlags, Verdict,
    VerdictMsg,
};
