//! The Suricata rule language for Verdict: parse (with positions) -> validate -> compile into
//! an immutable `RuleSet`, and match compiled rules against a [`PacketInput`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod input;

pub use input::{FlowInput, IpInput, L4Input, PacketInput};
