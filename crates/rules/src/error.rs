//! Errors of the rules layer.
//!
//! Syntax errors ([`ParseError`]) carry where the rule text went wrong and what the parser
//! expected there. Problems found when compiling a parsed rule ([`RuleProblem`]) are per rule
//! and never abort loading the rest of a rule set. [`RulesError`] is for whole-file failures
//! (an unreadable file).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Where something is in a rule file: file name (or origin label), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Position {
    /// The file the rule came from, or the origin label given to [`crate::parse_str`].
    pub file: Arc<str>,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (in characters of the line as written, tabs count as one).
    pub col: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// A syntax error in a rule: where, what the parser expected, and what it found instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{position}: expected {expected}, found {found}")]
pub struct ParseError {
    /// Where the parser stopped.
    pub position: Position,
    /// What would have been valid there, e.g. "`->` or `<>`".
    pub expected: String,
    /// What was there instead (a short excerpt, or "end of rule").
    pub found: String,
    /// The `sid` of the rule, when the parser got far enough to read it.
    pub sid: Option<u32>,
}

/// Why a parsed rule could not be loaded. Reported per rule; loading goes on with the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RuleProblem {
    /// The rule uses a keyword (or a keyword setting) that Verdict does not implement yet.
    #[error("unsupported keyword `{keyword}`: {reason}")]
    Unsupported {
        /// The keyword, e.g. `http.uri` or `pcre/U`.
        keyword: String,
        /// Why it is not supported and what to do.
        reason: String,
    },
    /// The rule is wrong: a bad keyword value, an undefined variable, a missing `sid`...
    #[error("invalid `{keyword}` at {position}: {reason}")]
    Invalid {
        /// The keyword (or header part, e.g. `source address`) at fault.
        keyword: String,
        /// Where the keyword starts.
        position: Position,
        /// What is wrong and what is expected instead.
        reason: String,
    },
}

/// Whole-file failures of the rules layer.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file could not be read.
    // The I/O error is part of the message (not a `source`), so that both `to_string()` and
    // anyhow's `{:#}` chains print it exactly once.
    #[error("cannot read rule file {path}: {error} (check the path and its permissions)")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
}
