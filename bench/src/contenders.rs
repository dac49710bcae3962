//! The contenders: what runs on the queue, how it is started, and why one is missing.
//!
//! Every contender is prepared before any traffic flows (the C peer compiled, Verdict's
//! configuration written and checked, rule sets cut), so a missing piece is reported as
//! "missing: <reason>" in the results instead of silently dropping the contender.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The queue every contender binds (Verdict: `queues = "0"`, one thread, like the others).
pub const QUEUE: u16 = 0;
/// The network Verdict's rules protect (the receiver's side of the routed topology).
pub const HOME_NET: &str = "[198.18.2.0/24]";

/// Which rules `verdict run` loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleChoice {
    /// One inert ICMP rule (the loader refuses an empty ruleset): accept-all through the
    /// whole daemon (decode, flow table, detect).
    Inert,
    /// The first ET Open rules that make 1,000 loaded rules.
    Et1000,
    /// Every ET Open rule the loader accepts.
    EtAll,
}

/// What a contender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No queue at all: the kernel's own forwarding, the ceiling.
    NoQueue,
    /// `shared/bench/peers/nfq_accept.c` with this batch size.
    CPeer(u32),
    /// The crates.io `nfq` crate's accept loop.
    NfqCrate,
    /// `crates/nfq/examples/accept_all.rs` with this batch size.
    VerdictIo(u32),
    /// `verdict run` with these rules.
    VerdictRun(RuleChoice),
}

/// One contender of the run.
#[derive(Debug, Clone)]
pub struct Contender {
    /// Short stable id (JSON keys, `--contenders`).
    pub id: &'static str,
    /// What it is.
    pub kind: Kind,
}

/// All contenders, in report order.
pub const ALL: &[Contender] = &[
    Contender {
        id: "no-queue",
        kind: Kind::NoQueue,
    },
    Contender {
        id: "c-b1",
        kind: Kind::CPeer(1),
    },
    Contender {
        id: "c-b32",
        kind: Kind::CPeer(32),
    },
    Contender {
        id: "nfq-crate",
        kind: Kind::NfqCrate,
    },
    Contender {
        id: "verdict-io-b1",
        kind: Kind::VerdictIo(1),
    },
    Contender {
        id: "verdict-io-b32",
        kind: Kind::VerdictIo(32),
    },
    Contender {
        id: "verdict-norules",
        kind: Kind::VerdictRun(RuleChoice::Inert),
    },
    Contender {
        id: "verdict-et1000",
        kind: Kind::VerdictRun(RuleChoice::Et1000),
    },
    Contender {
        id: "verdict-etall",
        kind: Kind::VerdictRun(RuleChoice::EtAll),
    },
];

/// Where things are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// This program (for the `nfq-crate-accept` subcommand).
    pub self_exe: PathBuf,
    /// The shared directory (`$VERDICT_SHARED`, default `../shared` of the repo).
    pub shared: PathBuf,
    /// The `verdict` binary.
    pub verdict: PathBuf,
    /// The `accept_all` example binary.
    pub accept_all: PathBuf,
    /// Scratch directory (removed at exit).
    pub scratch: PathBuf,
    /// Where to write `perf` profiles of the contenders (None: no profiling).
    pub perf_dir: Option<PathBuf>,
}

/// A contender ready to start.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Human label for tables and the chart.
    pub label: String,
    /// Command line (program first); empty for the no-queue ceiling.
    pub argv: Vec<String>,
    /// Verdict installs its own firewall rules; the others get the harness's NFQUEUE rule.
    pub own_rules: bool,
    /// Notes for the report (rule counts, settings).
    pub note: Option<String>,
    /// Verdict only: the configuration per topology (gateway, host).
    pub verdict_configs: Option<(PathBuf, PathBuf)>,
}

impl Prepared {
    /// The command line for `topology_host` (only Verdict's differs between topologies).
    pub fn argv_for(&self, host: bool) -> Vec<String> {
        match &self.verdict_configs {
            Some((gw, h)) => {
                let cfg = if host { h } else { gw };
                vec![
                    self.argv[0].clone(),
                    "run".into(),
                    "-c".into(),
                    cfg.display().to_string(),
                ]
            }
            None => self.argv.clone(),
        }
    }
}

/// Prepares `c`, or says why it cannot run.
pub fn prepare(c: &Contender, p: &Paths) -> Result<Prepared> {
    match c.kind {
        Kind::NoQueue => Ok(Prepared {
            label: "no queue (kernel forwarding, ceiling)".into(),
            argv: vec![],
            own_rules: false,
            note: None,
            verdict_configs: None,
        }),
        Kind::CPeer(batch) => {
            let bin = build_c_peer(p)?;
            Ok(Prepared {
                label: format!("C libnetfilter_queue, batch {batch}"),
                argv: vec![
                    bin.display().to_string(),
                    QUEUE.to_string(),
                    batch.to_string(),
                ],
                own_rules: false,
                note: None,
                verdict_configs: None,
            })
        }
        Kind::NfqCrate => Ok(Prepared {
            label: "Rust `nfq` crate 0.2 (crates.io)".into(),
            argv: vec![
                p.self_exe.display().to_string(),
                "nfq-crate-accept".into(),
                "--queue".into(),
                QUEUE.to_string(),
            ],
            own_rules: false,
            note: None,
            verdict_configs: None,
        }),
        Kind::VerdictIo(batch) => {
            if !p.accept_all.is_file() {
                bail!(
                    "{} not found (build it: cargo build --release -p verdict-nfq --example accept_all)",
                    p.accept_all.display()
                );
            }
            Ok(Prepared {
                label: format!("Verdict I/O accept-all, batch {batch}"),
                argv: vec![
                    p.accept_all.display().to_string(),
                    QUEUE.to_string(),
                    batch.to_string(),
                ],
                own_rules: false,
                note: None,
                verdict_configs: None,
            })
        }
        Kind::VerdictRun(rules) => prepare_verdict(c.id, rules, p),
    }
}

fn build_c_peer(p: &Paths) -> Result<PathBuf> {
    let bin = p.scratch.join("nfq_accept");
    if bin.is_file() {
        return Ok(bin);
    }
    let src = p.shared.join("bench/peers/nfq_accept.c");
    if !src.is_file() {
        bail!(
            "{} not found (set VERDICT_SHARED to the shared directory)",
            src.display()
        );
    }
    let out = Command::new("gcc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .args(["-lnetfilter_queue", "-lnfnetlink"])
        .output()
        .context("running gcc (install gcc and libnetfilter-queue-dev: scripts/deps.sh)")?;
    if !out.status.success() {
        bail!(
            "gcc failed on {}: {} (install libnetfilter-queue-dev)",
            src.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(bin)
}

/// The rule lines of every ET Open file, in file-name order (disabled `#` rules excluded).
fn et_rule_lines(dir: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {} (set VERDICT_SHARED)", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.rules files in {}", dir.display());
    }
    let mut lines = Vec::new();
    for f in &files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned),
        );
    }
    Ok((files, lines))
}

fn verdict_config(rule_files: &[PathBuf], topology: &str, log_dir: &Path) -> String {
    let files: Vec<String> = rule_files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    format!(
        r#"# Written by verdict-bench: one queue (one thread) like the other contenders,
# fail-closed (the kernel drops, never accepts, what does not fit: as the C peer),
# flow bypass off (every packet is judged), no metrics listener, no periodic stats.
queues = "{QUEUE}"
topology = "{topology}"
fail_open = false
queue_maxlen = 8192
[capture]
protocols = ["tcp", "udp", "icmp"]
ipv4 = true
ipv6 = false
[rules]
files = [{files}]
[rules.vars]
HOME_NET = "{HOME_NET}"
EXTERNAL_NET = "!$HOME_NET"
[outputs]
log_dir = {log_dir:?}
eve = true
stats_interval_secs = 0
[flow_bypass]
enabled = false
"#,
        files = files.join(", "),
        log_dir = log_dir.display().to_string(),
    )
}

/// Writes the configurations and checks them with `verdict run --check`; returns the number
/// of rules loaded.
fn write_and_check(
    id: &str,
    rule_files: &[PathBuf],
    p: &Paths,
) -> Result<(PathBuf, PathBuf, usize, usize)> {
    let dir = p.scratch.join(id);
    std::fs::create_dir_all(&dir)?;
    let gw = dir.join("gateway.toml");
    let host = dir.join("host.toml");
    std::fs::write(&gw, verdict_config(rule_files, "gateway", &dir))?;
    std::fs::write(&host, verdict_config(rule_files, "host", &dir))?;
    let out = Command::new(&p.verdict)
        .args(["run", "--check", "-c"])
        .arg(&gw)
        .env("RUST_LOG", "error")
        .output()
        .with_context(|| format!("running {} run --check", p.verdict.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`verdict run --check` refused the configuration: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let (loaded, skipped) = parse_check(&stdout)
        .with_context(|| format!("unexpected `verdict run --check` output: {stdout}"))?;
    Ok((gw, host, loaded, skipped))
}

/// Reads "N rule(s) loaded, M skipped" from `verdict run --check`.
pub fn parse_check(stdout: &str) -> Option<(usize, usize)> {
    let before = stdout.split(" rule(s) loaded").next()?;
    let loaded = before.rsplit([' ', ',']).next()?.parse().ok()?;
    let after = stdout.split(" rule(s) loaded, ").nth(1)?;
    let skipped = after.split_whitespace().next()?.parse().ok()?;
    Some((loaded, skipped))
}

fn prepare_verdict(id: &str, rules: RuleChoice, p: &Paths) -> Result<Prepared> {
    if !p.verdict.is_file() {
        bail!(
            "{} not found (build it: cargo build --release -p verdict)",
            p.verdict.display()
        );
    }
    let et_dir = p.shared.join("data/et-open");
    let dir = p.scratch.join(id);
    std::fs::create_dir_all(&dir)?;
    let (files, label_rules) = match rules {
        RuleChoice::Inert => {
            let f = dir.join("inert.rules");
            std::fs::write(
                &f,
                "alert icmp 198.19.255.254 any -> 198.19.255.253 any \
                 (msg:\"verdict-bench: inert, never matches\"; sid:9000001; rev:1;)\n",
            )?;
            (vec![f], "no rules (1 inert ICMP rule)".to_owned())
        }
        RuleChoice::Et1000 => {
            let (_, lines) = et_rule_lines(&et_dir)?;
            let f = dir.join("et1000.rules");
            // The shortest prefix of the rule lines (in file order) that loads 1,000 rules:
            // the loader skips rules with unsupported keywords (most of ET Open today), so
            // bisect on the prefix length with `verdict run --check` as the oracle.
            let load = |take: usize| -> Result<usize> {
                std::fs::write(&f, lines[..take].join("\n") + "\n")?;
                let l = write_and_check(id, std::slice::from_ref(&f), p)?.2;
                Ok(l)
            };
            let (mut lo, mut hi) = (0usize, lines.len());
            if load(hi)? >= 1000 {
                while lo + 1 < hi {
                    let mid = lo + (hi - lo) / 2;
                    if load(mid)? >= 1000 {
                        hi = mid;
                    } else {
                        lo = mid;
                    }
                }
            }
            let loaded = load(hi)?;
            (vec![f], format!("{loaded} ET Open rules"))
        }
        RuleChoice::EtAll => {
            let (files, _) = et_rule_lines(&et_dir)?;
            (files, "all loadable ET Open rules".to_owned())
        }
    };
    let (gw, host, loaded, skipped) = write_and_check(id, &files, p)?;
    Ok(Prepared {
        label: format!("verdict run, {label_rules}"),
        argv: vec![p.verdict.display().to_string()],
        own_rules: true,
        note: Some(format!(
            "{loaded} rules loaded, {skipped} skipped (unsupported keywords); fail-closed, \
             flow bypass off, one queue"
        )),
        verdict_configs: Some((gw, host)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_line() {
        let s = "configuration ok: queues 0, topology Gateway, fail-closed, 1234 rule(s) loaded, 56 skipped\n";
        assert_eq!(parse_check(s), Some((1234, 56)));
        assert_eq!(parse_check("nothing"), None);
    }

    #[test]
    fn config_mentions_settings() {
        let c = verdict_config(
            &[PathBuf::from("/x/a.rules")],
            "gateway",
            Path::new("/tmp/l"),
        );
        assert!(c.contains("topology = \"gateway\""));
        assert!(c.contains("files = [\"/x/a.rules\"]"));
        assert!(c.contains("fail_open = false"));
        assert!(c.contains("enabled = false"));
    }
}
