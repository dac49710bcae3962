//! The Suricata rule language for Verdict: parse (with positions) -> validate -> compile into
//! an immutable [`RuleSet`], and match compiled rules against a [`PacketInput`].
//!
//! ```
//! use verdict_rules::{RuleSet, Vars};
//! let parsed = verdict_rules::parse_str(
//!     r#"alert tcp any any -> any 80 (msg:"hi"; content:"GET"; sid:1;)"#, "inline");
//! let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
//! assert_eq!(set.len(), 1);
//! assert!(report.unsupported.is_empty() && report.invalid.is_empty());
//! ```
//!
//! Design:
//! - [`parse`]: purely syntactic; errors carry file, line, column and what was expected.
//! - `rule`: each keyword is parsed once into a typed matcher; unsupported keywords are
//!   reported per rule (sid, keyword, reason) and the rule is skipped, never a crash.
//! - [`RuleSet`]: rules grouped by transport and destination port, with an Aho-Corasick
//!   prefilter over each rule's fast pattern, so the cost per packet follows the traffic, not
//!   the number of rules. Immutable, `Send + Sync`, shared behind an `Arc`.
//! - Mutable state is the caller's: [`FlowVars`] per flow, [`DetectState`] per thread, the
//!   clock passed in to [`RuleSet::detect`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod addr_index;
pub mod classification;
pub mod error;
pub mod input;
mod matchers;
pub mod parse;
mod rule;
mod ruleset;
pub mod vars;

pub use classification::{Classification, Classifications};
pub use error::{ParseError, Position, RuleProblem, RulesError};
pub use input::{FlowInput, IpInput, L4Input, PacketExtra, PacketInput};
pub use parse::{parse_rule, parse_str, Action, Direction, ParsedRule, ParsedRules, RuleOption};
pub use rule::{RuleMeta, Target};
pub use ruleset::{
    DetectState, FlowVars, LoadedRule, Match, Report, RuleSet, RuleSetBuilder, SkippedRule,
    PORT_GROUP_MAX,
};
pub use vars::{IpSet, PortSet, Vars};

/// Reads and parses a rule file. Positions name the file by `path` as given.
pub fn parse_file(path: &std::path::Path) -> Result<ParsedRules, RulesError> {
    let bytes = std::fs::read(path).map_err(|source| RulesError::Read {
        path: path.display().to_string(),
        source,
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
