//! The Suricata rule language for Verdict: parse (with positions) -> validate -> compile into
//! an immutable [`RuleSet`], and match compiled rules against a [`PacketInput`].
//!
//! ```
//! use std::sync::Arc;
//! use verdict_rules::*;
//!
//! // Load: parse text or files, compile with variables (Suricata's defaults here).
//! let mut builder = RuleSet::builder().vars(Vars::suricata_defaults());
//! builder.add_str(
//!     r#"alert tcp any any -> $HOME_NET 80 (msg:"admin"; flow:to_server; content:"/admin"; nocase; sid:1;)"#,
//!     "inline.rules",
//! );
//! let (set, report) = builder.build();
//! assert_eq!(report.loaded.len(), 1);
//! let set = Arc::new(set); // shared by all worker threads, swapped whole on reload
//!
//! // Per worker thread: one DetectState. Per flow: one FlowVars (kept with the flow).
//! let mut state = DetectState::new();
//! let mut flow_vars = FlowVars::new();
//! let pkt = PacketInput {
//!     ip: IpInput {
//!         src: "203.0.113.9".parse().unwrap(), dst: "10.0.0.5".parse().unwrap(), proto: 6,
//!         ttl: 64, tos: 0, id: 1, ipopts: 0, fragbits: 0, frag_offset: 0, header: &[],
//!     },
//!     l4: L4Input::Tcp { src_port: 40000, dst_port: 80, flags: 0x18, seq: 1, ack: 1, window: 512 },
//!     payload: b"GET /ADMIN HTTP/1.1\r\n\r\n",
//!     flow: FlowInput { tracked: true, to_server: true, established: true, from_stream: false },
//! };
//! let mut matches = Vec::new();
//! let now_ns = 1_700_000_000_000_000_000; // the packet's timestamp
//! set.detect(now_ns, &pkt, Some(&mut flow_vars), &mut state, &mut matches);
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].rule.sid, 1);
//! assert!(matches[0].alert);
//! ```
//!
//! What the caller does with the matches (Suricata's semantics):
//! - each [`Match`] with `alert == true` is an alert to log (EVE `alert`, with
//!   `rule.action`, `gid`, `sid`, `rev`, `msg`, `category`, `priority` as severity);
//! - the packet's verdict comes from the actions of *all* matches, alerting or not: any
//!   `drop`/`reject*` drops it (IPS mode);
//! - a `pass` match is always the last one for the packet: accept it and, as Suricata does,
//!   stop inspecting its flow ([`RuleMeta::ip_only`] tells which rules Suricata applies to the
//!   whole flow for drop as well).
//!
//! Design:
//! - [`parse`]: purely syntactic; errors carry file, line, column and what was expected.
//! - `rule`: each keyword is parsed once into a typed matcher; unsupported keywords are
//!   reported per rule (sid, keyword, reason) and the rule is skipped, never a crash.
//! - [`RuleSet`]: rules grouped by transport and destination port, with an Aho-Corasick
//!   prefilter over each rule's fast pattern and an address index for rules without one, so
//!   the cost per packet follows the traffic, not the number of rules. Immutable,
//!   `Send + Sync`, shared behind an `Arc`.
//! - Mutable state is the caller's: [`FlowVars`] per flow (flowbits, flowints, `by_flow`
//!   thresholds), [`DetectState`] per thread (thresholds, `xbits`/`hostbits` per host and IP
//!   pair in a bounded [`HostBits`] store, scratch), the clock passed in to
//!   [`RuleSet::detect`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod addr_index;
mod app;
pub mod classification;
pub mod dataset;
pub mod error;
pub mod hostbits;
pub mod input;
mod matchers;
pub mod parse;
mod prefilter;
pub mod requires;
mod rule;
mod ruleset;
mod transactional;
mod transform;
pub mod vars;
mod xbits;

pub use classification::{Classification, Classifications};
pub use dataset::{Dataset, DatasetDecl, DatasetDirs, DatasetType};
pub use error::{ParseError, Position, RuleProblem, RulesError};
pub use hostbits::{HostBits, HostBitsConfig, HostBitsStats};
pub use input::{FlowInput, IpInput, L4Input, PacketExtra, PacketInput};
pub use parse::{parse_rule, parse_str, Action, Direction, ParsedRule, ParsedRules, RuleOption};
pub use prefilter::PrefilterStats;
pub use requires::SURICATA_COMPAT_VERSION;
pub use rule::{RuleMeta, Target};
pub use ruleset::{
    DetectState, FlowVars, LoadedRule, Match, Report, RuleSet, RuleSetBuilder, SkippedRule,
    PORT_GROUP_MAX,
};
pub use vars::{IpSet, PortSet, Vars};

/// Reads and parses a rule file. Positions name the file by `path` as given.
pub fn parse_file(path: &std::path::Path) -> Result<ParsedRules, RulesError> {
    let bytes = std::fs::read(path).map_err(|error| RulesError::Read {
        path: path.display().to_string(),
        error,
    })?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(parse_str(&text, &path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn ruleset_is_send_sync() {
        assert_send_sync::<RuleSet>();
        assert_send_sync::<Match>();
        assert_send_sync::<FlowVars>();
        assert_send_sync::<DetectState>();
    }
}
