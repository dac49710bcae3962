//! `verdict rules`: work with rule files.
//!
//! `verdict rules check FILE... [--json] [-c suricata.yaml] [--set VAR=VALUE] [--verbose]`
//! loads the files the way `verdict pcap` and `verdict run` do and reports, per rule and in
//! total, what loaded, what was skipped as unsupported (with the keyword) and what is invalid
//! (with the place).
//!
//! Exit status: 0 when every file was read and at least one rule loaded; 1 when no rule is
//! usable (nothing loaded); 2 when a file cannot be read (or another real error).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use verdict_rules::{RuleProblem, RuleSet, Vars};

/// Arguments of `verdict rules`.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RulesCommand {
    /// Load rule files and report loaded / unsupported / invalid rules.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Rule files (`.rules`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Set a rule variable, e.g. `--set HOME_NET=[10.0.0.0/8]` or `--set HTTP_PORTS=8080`
    /// (names ending in _PORTS are port groups); repeatable. Also accepts
    /// `vars.address-groups.NAME=...` and `vars.port-groups.NAME=...`.
    #[arg(long = "set", value_name = "VAR=VALUE")]
    set: Vec<String>,
    /// Read rule variables (`vars.address-groups`, `vars.port-groups`) from this
    /// suricata.yaml; `--set` overrides them.
    #[arg(short = 'c', long = "config", value_name = "SURICATA_YAML")]
    config: Option<PathBuf>,
    /// Also list every loaded rule.
    #[arg(long, short)]
    verbose: bool,
    /// Also print the prefilter groups (per transport class, destination port and app-layer
    /// protocol): fast patterns, automaton kind and memory, rules checked on every packet.
    #[arg(long)]
    stats: bool,
    /// How many of the most common unsupported keywords to list.
    #[arg(long, default_value_t = 20)]
    top: usize,
}

/// Runs `verdict rules`.
pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RulesCommand::Check(a) => check(a),
    }
}

fn check(a: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut vars = Vars::suricata_defaults();
    if let Some(path) = &a.config {
        let cfg = crate::suricata_yaml::SuricataConfig::load(path)?;
        for (k, v) in cfg.address_groups() {
            vars.set_address(&k, &v);
        }
        for (k, v) in cfg.port_groups() {
            vars.set_port(&k, &v);
        }
    }
    for s in &a.set {
        let (k, v) = s
            .split_once('=')
            .with_context(|| format!("--set `{s}`: expected VAR=VALUE"))?;
        vars.set(k.trim(), v);
    }
    let mut builder = RuleSet::builder().vars(vars);
    for f in &a.files {
        builder.add_file(f)?;
    }
    let (set, report) = builder.build();
    let missing = report.missing_keywords();
    if a.json {
        let mut doc = serde_json::json!({
            "files": a.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "totals": {
                "loaded": report.loaded.len(),
                "unsupported": report.unsupported.len(),
                "invalid": report.invalid.len(),
                "syntax_errors": report.syntax_errors.len(),
                "requirements_unmet": report.requirements_unmet.len(),
            },
            "missing_keywords": missing.iter().map(|(k, n)| serde_json::json!({"keyword": k, "rules": n})).collect::<Vec<_>>(),
            "loaded": report.loaded,
            "unsupported": report.unsupported,
            "invalid": report.invalid,
            "syntax_errors": report.syntax_errors,
            "requirements_unmet": report.requirements_unmet,
        });
        if a.stats {
            doc["prefilter"] = set
                .prefilter_stats()
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "class": g.class,
                        "dst_port": g.dst_port,
                        "app": g.app,
                        "buffer": g.buffer,
                        "patterns": g.patterns,
                        "automaton": g.automaton,
                        "automaton_bytes": g.automaton_bytes,
                        "always": g.always,
                    })
                })
                .collect();
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        if a.verbose {
            for l in &report.loaded {
                println!("loaded       {}  {}:{}", l.position, l.gid, l.sid);
            }
        }
        for e in &report.syntax_errors {
            let sid = e.sid.map(|s| format!(" sid {s}")).unwrap_or_default();
            println!(
                "syntax-error {}{sid}: expected {}, found {}",
                e.position, e.expected, e.found
            );
        }
        for s in &report.invalid {
            let sid = s.sid.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            for p in &s.problems {
                if let RuleProblem::Invalid {
                    keyword,
                    position,
                    reason,
                } = p
                {
                    println!("invalid      {position} sid {sid}: `{keyword}`: {reason}");
                }
            }
        }
        for s in &report.unsupported {
            let sid = s.sid.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            let kws: Vec<String> = s
                .problems
                .iter()
                .filter_map(|p| match p {
                    RuleProblem::Unsupported { keyword, .. } => Some(format!("`{keyword}`")),
                    _ => None,
                })
                .collect();
            println!("unsupported  {} sid {sid}: {}", s.position, kws.join(", "));
        }
        for s in &report.requirements_unmet {
            let sid = s.sid.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
            for p in &s.problems {
                if let RuleProblem::Unsupported { reason, .. } = p {
                    println!("requires     {} sid {sid}: not met: {reason}", s.position);
                }
            }
        }
        let total = report.loaded.len()
            + report.unsupported.len()
            + report.invalid.len()
            + report.syntax_errors.len()
            + report.requirements_unmet.len();
        println!();
        println!("rules:        {total}");
        println!("loaded:       {}", report.loaded.len());
        println!("unsupported:  {}", report.unsupported.len());
        println!("invalid:      {}", report.invalid.len());
        println!("syntax-error: {}", report.syntax_errors.len());
        println!("requires-unmet: {}", report.requirements_unmet.len());
        if !missing.is_empty() {
            println!("top unsupported keywords (rules using them):");
            for (k, n) in missing.iter().take(a.top) {
                println!("  {n:>7}  {k}");
            }
        }
        if a.stats {
            print_stats(&set);
        }
    }
    if set.is_empty() {
        eprintln!("verdict: no usable rule in the given files");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The prefilter groups as a table, largest automata first.
fn print_stats(set: &RuleSet) {
    let mut groups = set.prefilter_stats();
    groups.sort_by_key(|g| std::cmp::Reverse(g.automaton_bytes));
    let total: usize = groups.iter().map(|g| g.automaton_bytes).sum();
    println!();
    println!(
        "prefilter: {} groups, automata {:.1} MiB in all",
        groups.len(),
        total as f64 / (1 << 20) as f64
    );
    println!("  class  dst-port  app     buffer             patterns  automaton       KiB  always");
    for g in groups.iter().filter(|g| g.patterns > 0 || g.always > 0) {
        println!(
            "  {:<5}  {:>8}  {:<6}  {:<17}  {:>8}  {:<9}  {:>8}  {:>6}",
            g.class,
            g.dst_port.map_or("any".to_string(), |p| p.to_string()),
            g.app.unwrap_or("-"),
            g.buffer,
            g.patterns,
            g.automaton,
            g.automaton_bytes / 1024,
            g.always
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(files: Vec<PathBuf>, set: Vec<String>) -> CheckArgs {
        CheckArgs {
            files,
            json: false,
            set,
            config: None,
            verbose: true,
            stats: true,
            top: 5,
        }
    }

    fn write(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verdict-rules-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn exit_status_follows_usable_rules() {
        let good = write(
            "good.rules",
            "alert tcp any any -> $HOME_NET 80 (content:\"x\"; sid:1;)\n",
        );
        let bad = write("bad.rules", "alert smtp any any -> any any (content:\"x\"; sid:2;)\nalert tcp any any => any any (sid:3;)\n");
        assert_eq!(
            check(args(vec![good.clone(), bad.clone()], vec![])).unwrap(),
            ExitCode::SUCCESS
        );
        assert_eq!(check(args(vec![bad], vec![])).unwrap(), ExitCode::from(1));
        // An undefined variable makes the only rule invalid: nothing usable.
        let var = write("var.rules", "alert tcp any any -> $NOPE 80 (sid:4;)\n");
        assert_eq!(
            check(args(vec![var.clone()], vec![])).unwrap(),
            ExitCode::from(1)
        );
        assert_eq!(
            check(args(vec![var], vec!["NOPE=10.0.0.0/8".into()])).unwrap(),
            ExitCode::SUCCESS
        );
        // Unreadable files are an error (exit 2 from main), bad --set too.
        assert!(check(args(vec![PathBuf::from("/nonexistent/x.rules")], vec![])).is_err());
        assert!(check(args(vec![good.clone()], vec!["novalue".into()])).is_err());
        if let Some(dir) = good.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
