//! Loading the daemon's ruleset from its configuration: rule files (or the embedded default
//! ruleset) and variables, compiled into one immutable [`RuleSet`].
//!
//! Policy (the same at start and on SIGHUP): a rule with a syntax error or an invalid value
//! makes the whole load fail, naming every bad rule by file, line and column, so the daemon
//! never starts with (or swaps in) half of what the operator wrote. Rules that only use
//! keywords Verdict does not support yet are skipped with a warning, as Suricata skips rules
//! for disabled features; they are counted in the summary.

use std::fmt::Write as _;

use verdict_rules::{RuleSet, Vars};

use crate::config::{Config, DEFAULT_RULES};

/// Origin label of the embedded ruleset in messages.
pub const DEFAULT_RULES_ORIGIN: &str = "<embedded default.rules>";

/// A compiled ruleset and what loading it found.
#[derive(Debug)]
pub struct Loaded {
    /// The rules.
    pub rules: RuleSet,
    /// Rules compiled.
    pub loaded: usize,
    /// Rules skipped for unsupported keywords (each with a reason), as log lines.
    pub skipped: Vec<String>,
}

/// Builds the variables: Suricata's defaults, overridden by `[rules.vars]`.
pub fn vars(cfg: &Config) -> Vars {
    let mut v = Vars::suricata_defaults();
    for (name, value) in &cfg.rules.vars {
        v.set(name, value);
    }
    v
}

/// Loads and compiles the configured rules. The error text lists every problem, one per line.
pub fn load(cfg: &Config) -> Result<Loaded, String> {
    // Relative dataset `save`/`state` files live next to the logs.
    let mut b = RuleSet::builder()
        .vars(vars(cfg))
        .dataset_dirs(verdict_rules::DatasetDirs {
            data_dir: Some(cfg.outputs.log_dir.clone()),
        });
    if cfg.rules.files.is_empty() || cfg.rules.include_default {
        b.add_str(DEFAULT_RULES, DEFAULT_RULES_ORIGIN);
    }
    for f in &cfg.rules.files {
        b.add_file(f).map_err(|e| e.to_string())?;
    }
    let (rules, report) = b.build();
    if !report.syntax_errors.is_empty() || !report.invalid.is_empty() {
        let mut msg = String::new();
        for e in &report.syntax_errors {
            let _ = writeln!(msg, "  {e}");
        }
        for r in &report.invalid {
            for p in &r.problems {
                let _ = writeln!(msg, "  {} (sid {}): {p}", r.position, sid(r.sid));
            }
        }
        return Err(format!(
            "{} rule(s) have errors; fix them (or comment them out with `#`):\n{}",
            report.syntax_errors.len() + report.invalid.len(),
            msg.trim_end()
        ));
    }
    if report.loaded.is_empty() {
        return Err("no rule could be loaded; check the rule files in [rules] files".to_owned());
    }
    let skipped = report
        .unsupported
        .iter()
        .map(|r| {
            let why: Vec<String> = r.problems.iter().map(ToString::to_string).collect();
            format!(
                "{} (sid {}): skipped, {}",
                r.position,
                sid(r.sid),
                why.join("; ")
            )
        })
        .collect();
    Ok(Loaded {
        loaded: report.loaded.len(),
        rules,
        skipped,
    })
}

fn sid(s: Option<u32>) -> String {
    s.map_or_else(|| "?".to_owned(), |s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn embedded_default_ruleset_loads_completely() {
        let l = load(&Config::default()).unwrap();
        let expected = DEFAULT_RULES
            .lines()
            .filter(|l| l.starts_with("alert") || l.starts_with("drop"))
            .count();
        assert_eq!(l.loaded, expected, "skipped: {:?}", l.skipped);
        assert!(l.skipped.is_empty(), "{:?}", l.skipped);
    }

    #[test]
    fn a_bad_rule_fails_the_whole_load_with_its_position() {
        let dir = std::env::temp_dir().join(format!("verdict-ruleload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.rules");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(
            f,
            "alert tcp any any -> any 80 (msg:\"ok\"; content:\"a\"; sid:1;)"
        )
        .unwrap();
        writeln!(
            f,
            "alert tcp any any -> any 80 (msg:\"bad\"; content:\"a\"; sid:2"
        )
        .unwrap();
        drop(f);
        let mut cfg = Config::default();
        cfg.rules.files = vec![path.clone()];
        let e = load(&cfg).unwrap_err();
        assert!(e.contains("bad.rules:2:"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_file_is_an_error() {
        let mut cfg = Config::default();
        cfg.rules.files = vec!["/nonexistent/x.rules".into()];
        assert!(load(&cfg).unwrap_err().contains("/nonexistent/x.rules"));
    }
}
