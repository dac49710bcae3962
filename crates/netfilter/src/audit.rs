//! `verdict doctor`: audit a host (or a saved ruleset) for nf_queue kernel bugs and queueing
//! mistakes.
//!
//! # What is checked
//! - The kernel release against the known-bug database ([`crate::bugs`]).
//! - Every queue rule (iptables NFQUEUE/QUEUE in any table, nft `queue`) that can see a
//!   locally generated TCP SYN-ACK: it is reached from OUTPUT or POSTROUTING -- directly, or
//!   through jumps/gotos from such a chain -- and no SYN-ACK accept ("guard") precedes it on that
//!   path in the **same table and chain path** (an ACCEPT in another table or nft base chain
//!   does not stop it). On an affected, unknown or assumed-affected kernel this is
//!   [`Severity::Dangerous`], with the exact rule to add.
//! - Queues with no listener and no bypass (blackholes), from
//!   `/proc/net/netfilter/nfnetlink_queue` (live audits only).
//! - Queue overruns: `queue_dropped` / `user_dropped` counters.
//!
//! # Exit code
//! [`Report::exit_code`]: 0 nothing worse than info, 1 warnings, 2 dangerous.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::bugs::{self, Assessment, Status};
use crate::exec::Exec;
use crate::kernel::KernelRelease;
use crate::procfs::{self, QueueStats};
use crate::ruleset::{self, Action, Chain, Dialect, Rule, Ruleset, Table, TableFamily};
use crate::Error;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Needs attention: traffic loss, an affected kernel, unconfirmed safety.
    Warning,
    /// Can crash the kernel.
    Dangerous,
}

impl Severity {
    fn label(&self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Dangerous => "DANGEROUS",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// A stable code for monitoring (`unguarded-synack-queue`, `blackhole-queue`, ...).
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The rule concerned (`origin table/chain: text`), if any.
    pub rule: Option<String>,
    /// The exact fix, if there is one.
    pub fix: Option<String>,
}

/// The audit's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The kernel release audited, if known.
    pub kernel: Option<String>,
    /// Whether the kernel was treated as affected regardless of its version.
    pub assume_affected: bool,
    /// Per-bug assessments of the kernel.
    pub assessments: Vec<Assessment>,
    /// Rulesets read (`iptables-nft-save`, file names...).
    pub sources: Vec<String>,
    /// Number of queue rules found.
    pub queue_rules: usize,
    /// Bound queues (live audits).
    pub queues: Option<Vec<QueueStats>>,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Notes about what could not be checked.
    pub notes: Vec<String>,
}

impl Report {
    /// The worst severity found (`None` when there are no findings).
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// 0: ok (info at most); 1: warnings; 2: dangerous.
    pub fn exit_code(&self) -> u8 {
        match self.worst() {
            Some(Severity::Dangerous) => 2,
            Some(Severity::Warning) => 1,
            _ => 0,
        }
    }

    /// Human-readable rendering.
    pub fn render_human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "kernel: {}{}",
            self.kernel.as_deref().unwrap_or("unknown"),
            if self.assume_affected {
                " (treated as affected: --assume-affected)"
            } else {
                ""
            }
        );
        for a in &self.assessments {
            let bug = bugs::find(a.bug);
            let _ = writeln!(
                s,
                "  {:<12} {:<12} {}{}",
                a.bug,
                a.status.as_str(),
                bug.map(|b| b.title).unwrap_or(""),
                if a.unconfirmed_data {
                    " [rests on unconfirmed data]"
                } else {
                    ""
                }
            );
            let _ = writeln!(s, "               {}", a.reason);
        }
        let _ = writeln!(
            s,
            "rulesets: {}",
            if self.sources.is_empty() {
                "none".to_string()
            } else {
                self.sources.join(", ")
            }
        );
        let _ = writeln!(s, "queue rules: {}", self.queue_rules);
        if let Some(q) = &self.queues {
            let _ = writeln!(
                s,
                "bound queues: {}",
                if q.is_empty() {
                    "none".to_string()
                } else {
                    q.iter()
                        .map(|x| x.queue.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        if self.findings.is_empty() {
            let _ = writeln!(s, "\nno problems found");
        }
        for f in &self.findings {
            let _ = writeln!(s, "\n{} [{}] {}", f.severity.label(), f.code, f.message);
            if let Some(r) = &f.rule {
                let _ = writeln!(s, "  rule: {r}");
            }
            if let Some(x) = &f.fix {
                let _ = writeln!(s, "  fix:  {x}");
            }
        }
        let _ = writeln!(
            s,
            "\nresult: {} (exit code {})",
            match self.exit_code() {
                2 => "DANGEROUS",
                1 => "warnings",
                _ => "ok",
            },
            self.exit_code()
        );
        s
    }
}

/// What the audit looks at.
#[derive(Debug, Clone, Default)]
pub struct AuditInput {
    /// The kernel release (`None`: unknown).
    pub kernel: Option<KernelRelease>,
    /// Treat the kernel as affected by 747670fd9a2d whatever its version.
    pub assume_affected: bool,
    /// Rulesets.
    pub rulesets: Vec<Ruleset>,
    /// Bound queues (`None` when not available, e.g. a saved ruleset).
    pub queues: Option<Vec<QueueStats>>,
    /// Notes from collection (tools missing ...).
    pub notes: Vec<String>,
}

/// Reads the live rulesets and queue statistics through `exec`.
///
/// Missing tools are noted, not errors. nft tables managed by iptables-nft are skipped in the
/// nft listing (they are read through `iptables-nft-save`).
pub fn collect_live(exec: &Exec) -> AuditInput {
    let mut input = AuditInput::default();
    let mut ipt_nft_tables: BTreeSet<(TableFamily, String)> = BTreeSet::new();
    for (tool, family) in [
        ("iptables-nft-save", TableFamily::Ip),
        ("ip6tables-nft-save", TableFamily::Ip6),
        ("iptables-legacy-save", TableFamily::Ip),
        ("ip6tables-legacy-save", TableFamily::Ip6),
    ] {
        if !exec.has(tool) {
            input
                .notes
                .push(format!("{tool} not installed; not checked"));
            continue;
        }
        match exec.run(tool, &[], None) {
            Ok(text) => {
                let rs = ruleset::parse_iptables_save(&text, tool, family);
                if tool.contains("-nft-") {
                    for t in &rs.tables {
                        ipt_nft_tables.insert((t.family, t.name.clone()));
                    }
                }
                input.rulesets.push(rs);
            }
            Err(e) => input.notes.push(format!("{tool} failed: {e}")),
        }
    }
    if exec.has("nft") {
        match exec.run("nft", &["list", "ruleset"], None) {
            Ok(text) => {
                let mut rs = ruleset::parse_nft(&text, "nft list ruleset");
                rs.tables
                    .retain(|t| !ipt_nft_tables.contains(&(t.family, t.name.clone())));
                input.rulesets.push(rs);
            }
            Err(e) => input.notes.push(format!("nft list ruleset failed: {e}")),
        }
    } else {
        input
            .notes
            .push("nft not installed; nft rules not checked".into());
    }
    match exec.read_file(procfs::PATH) {
        Ok(text) => input.queues = Some(procfs::parse(&text)),
        Err(e) => input.notes.push(format!(
            "cannot read {} ({e}); listener and overrun checks skipped (is nfnetlink_queue loaded?)",
            procfs::PATH
        )),
    }
    input
}

/// Runs the audit.
pub fn audit(input: &AuditInput) -> Report {
    let mut findings = Vec::new();
    let mut notes = input.notes.clone();
    let assessments = match &input.kernel {
        Some(k) => bugs::assess_all(k),
        None => Vec::new(),
    };
    let seed = assessments.iter().find(|a| a.bug == bugs::KNOWN_BUGS[0].id);
    let seed_status = seed.map(|a| a.status).unwrap_or(Status::Unknown);
    let at_risk =
        input.assume_affected || matches!(seed_status, Status::Affected | Status::Unknown);
    if input.kernel.is_none() {
        notes.push("kernel release unknown: treated as possibly affected".into());
    }

    let mut queue_rules = 0usize;
    let mut queue_numbers: Vec<(u16, u16, bool, String)> = Vec::new();
    for rs in &input.rulesets {
        for t in &rs.tables {
            for c in &t.chains {
                for (i, r) in c.rules.iter().enumerate() {
                    let Action::Queue {
                        first,
                        last,
                        bypass,
                    } = r.action
                    else {
                        continue;
                    };
                    queue_rules += 1;
                    let loc = location(rs, t, c, r);
                    queue_numbers.push((first, last, bypass, loc.clone()));
                    if !r.can_match_synack {
                        continue;
                    }
                    let mut visited = vec![c.name.clone()];
                    let exposed = exposures(t, c, i, r, &mut visited, 0);
                    if exposed.is_empty() {
                        continue;
                    }
                    let paths: Vec<String> = exposed
                        .iter()
                        .map(|(hook, path)| {
                            if path.len() == 1 {
                                format!("{hook}")
                            } else {
                                format!("{hook} via {}", path.join(" -> "))
                            }
                        })
                        .collect();
                    let ipv6_only = t.family == TableFamily::Ip6;
                    let (severity, what) = if !at_risk {
                        (
                            Severity::Info,
                            format!(
                                "this kernel is {} for 747670fd9a2d, so it is safe here, but it would crash an affected kernel",
                                seed_status.as_str()
                            ),
                        )
                    } else if ipv6_only {
                        (
                            Severity::Warning,
                            "IPv6 SYN-ACKs are sent with the listener (a full socket) by reading of the kernel code, so this is probably safe; add the guard anyway".to_string(),
                        )
                    } else {
                        (
                            Severity::Dangerous,
                            format!(
                                "on this kernel ({}) a queued SYN-ACK whose handshake completes before the verdict can crash the kernel (nf_queue bug 747670fd9a2d)",
                                if input.assume_affected {
                                    "assumed affected".to_string()
                                } else {
                                    seed_status.as_str().to_string()
                                }
                            ),
                        )
                    };
                    findings.push(Finding {
                        severity,
                        code: "unguarded-synack-queue",
                        message: format!(
                            "queue rule reached from {} can queue locally generated SYN-ACKs (no SYN-ACK accept before it in the same table and chain): {what}",
                            paths.join(", ")
                        ),
                        rule: Some(loc),
                        fix: Some(guard_fix(rs, t, c)),
                    });
                }
            }
        }
    }

    // Kernel findings.
    for a in &assessments {
        let Some(bug) = bugs::find(a.bug) else {
            continue;
        };
        let severity = match a.status {
            Status::Affected if queue_rules > 0 => Severity::Warning,
            Status::Affected => Severity::Info,
            _ => continue,
        };
        findings.push(Finding {
            severity,
            code: "kernel-affected",
            message: format!(
                "kernel affected by {} ({}{}): {}",
                bug.id,
                bug.title,
                bug.cve.map(|c| format!(", {c}")).unwrap_or_default(),
                a.reason
            ),
            rule: None,
            fix: Some(bug.mitigation.to_string()),
        });
    }
    if input.assume_affected && seed_status != Status::Affected {
        findings.push(Finding {
            severity: if queue_rules > 0 {
                Severity::Warning
            } else {
                Severity::Info
            },
            code: "kernel-assumed-affected",
            message: format!(
                "kernel treated as affected by {} (--assume-affected); its version says {}",
                bugs::KNOWN_BUGS[0].id,
                seed_status.as_str()
            ),
            rule: None,
            fix: None,
        });
    } else if seed_status == Status::Unknown {
        findings.push(Finding {
            severity: Severity::Info,
            code: "kernel-unknown",
            message: format!(
                "cannot tell whether this kernel has the fix for {}: {}; treated as affected",
                bugs::KNOWN_BUGS[0].id,
                seed.map(|a| a.reason.as_str())
                    .unwrap_or("kernel release unknown")
            ),
            rule: None,
            fix: None,
        });
    }

    // Listener and overrun checks.
    match &input.queues {
        Some(bound) => {
            let bound_set: BTreeSet<u16> = bound.iter().map(|q| q.queue).collect();
            // One finding per queue without a listener, naming the rules that feed it.
            let mut blackholes: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
            for (first, last, bypass, loc) in &queue_numbers {
                if *bypass {
                    continue;
                }
                for q in *first..=*last {
                    if !bound_set.contains(&q) {
                        blackholes.entry(q).or_default().push(loc);
                    }
                }
            }
            for (q, rules) in blackholes {
                findings.push(Finding {
                    severity: Severity::Warning,
                    code: "blackhole-queue",
                    message: format!(
                        "queue {q} has no listener and {} rule(s) send packets to it without --queue-bypass: those packets are dropped",
                        rules.len()
                    ),
                    rule: Some(rules.join("\n        ")),
                    fix: Some("start the program that reads this queue, or add --queue-bypass (nft: `bypass`) so packets pass while nobody listens".into()),
                });
            }
            for q in bound {
                if q.queue_dropped > 0 || q.user_dropped > 0 {
                    findings.push(Finding {
                        severity: Severity::Warning,
                        code: "queue-overrun",
                        message: format!(
                            "queue {} dropped packets: queue_dropped={} (queue full) user_dropped={} (netlink buffer full)",
                            q.queue, q.queue_dropped, q.user_dropped
                        ),
                        rule: None,
                        fix: Some("raise the queue length and the netlink receive buffer, verdict faster (batch verdicts), spread over more queues (--queue-balance), or fail open (--queue-bypass with queue fail-open)".into()),
                    });
                }
            }
        }
        None => {
            notes.push("listener (blackhole) and overrun checks need a live host; skipped".into())
        }
    }

    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Report {
        kernel: input.kernel.as_ref().map(|k| k.raw.clone()),
        assume_affected: input.assume_affected,
        assessments,
        sources: input.rulesets.iter().map(|r| r.origin.clone()).collect(),
        queue_rules,
        queues: input.queues.clone(),
        findings,
        notes,
    }
}

fn location(rs: &Ruleset, t: &Table, c: &Chain, r: &Rule) -> String {
    match rs.dialect {
        Dialect::Iptables => format!(
            "{} -t {} (line {}): -A {} {}",
            rs.origin, t.name, r.line, c.name, r.text
        ),
        Dialect::Nft => format!(
            "{} table {} {} chain {} (line {}): {}",
            rs.origin,
            family_name(t.family),
            t.name,
            c.name,
            r.line,
            r.text
        ),
    }
}

fn family_name(f: TableFamily) -> &'static str {
    match f {
        TableFamily::Ip => "ip",
        TableFamily::Ip6 => "ip6",
        TableFamily::Inet => "inet",
        TableFamily::Other => "bridge",
    }
}

fn guard_fix(rs: &Ruleset, t: &Table, c: &Chain) -> String {
    match rs.dialect {
        Dialect::Iptables => {
            let base = if t.family == TableFamily::Ip6 {
                "ip6tables"
            } else {
                "iptables"
            };
            let tool = if rs.origin.contains("legacy") {
                format!("{base}-legacy")
            } else if rs.origin.contains("-nft-") {
                format!("{base}-nft")
            } else {
                base.to_string()
            };
            format!(
                "{tool} -t {} -I {} 1 -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT",
                t.name, c.name
            )
        }
        Dialect::Nft => format!(
            "nft insert rule {} {} {} 'tcp flags & (syn | ack) == syn | ack accept'",
            family_name(t.family),
            t.name,
            c.name
        ),
    }
}

/// Whether guard rule `g` covers queue rule `q`: `g` accepts SYN-ACKs and every extra
/// condition of `g` is also a condition of `q` (so every SYN-ACK `q` matches, `g` accepts).
fn covers(g: &Rule, q: &Rule) -> bool {
    g.is_synack_accept && g.guard_conditions.iter().all(|c| q.tokens.contains(c))
}

/// Hooks (with chain paths) from which locally generated SYN-ACKs reach rule `idx` of `chain`
/// without passing a covering guard.
fn exposures(
    t: &Table,
    chain: &Chain,
    idx: usize,
    q: &Rule,
    visited: &mut Vec<String>,
    depth: usize,
) -> Vec<(ruleset::HookPoint, Vec<String>)> {
    if chain.rules[..idx.min(chain.rules.len())]
        .iter()
        .any(|g| covers(g, q))
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(h) = chain.hook {
        if h.sees_local_synack() {
            out.push((h, vec![chain.name.clone()]));
        }
        return out;
    }
    if depth > 16 {
        return out;
    }
    for caller in &t.chains {
        if visited.contains(&caller.name) {
            continue;
        }
        for (j, r) in caller.rules.iter().enumerate() {
            let target = match &r.action {
                Action::Jump { chain: c } | Action::Goto { chain: c } => c,
                _ => continue,
            };
            if target != &chain.name {
                continue;
            }
            visited.push(caller.name.clone());
            for (h, mut path) in exposures(t, caller, j, q, visited, depth + 1) {
                path.push(chain.name.clone());
                out.push((h, path));
            }
            visited.pop();
        }
    }
    out
}

/// Reads a ruleset file (`iptables-save` or `nft list ruleset` format, auto-detected).
pub fn read_ruleset_file(path: &std::path::Path, text: &str) -> Result<Ruleset, Error> {
    ruleset::parse_auto(text, &path.display().to_string()).ok_or_else(|| {
        Error::UnknownRulesetFormat {
            path: path.display().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ruleset::parse_auto;

    fn run(kernel: &str, ruleset: &str, queues: Option<&str>, assume: bool) -> Report {
        audit(&AuditInput {
            kernel: Some(KernelRelease::parse(kernel).unwrap()),
            assume_affected: assume,
            rulesets: vec![parse_auto(ruleset, "test").unwrap()],
            queues: queues.map(procfs::parse),
            notes: vec![],
        })
    }

    const UNGUARDED: &str = "*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --sport 23456 -j NFQUEUE --queue-num 0\nCOMMIT\n";
    const GUARDED: &str = "*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A OUTPUT -p tcp -m tcp --sport 23456 -j NFQUEUE --queue-num 0\nCOMMIT\n";

    #[test]
    fn unguarded_output_queue_is_dangerous_on_affected_kernel() {
        let r = run("5.10.103", UNGUARDED, None, false);
        assert_eq!(r.exit_code(), 2, "{}", r.render_human());
        let f = &r.findings[0];
        assert_eq!(f.code, "unguarded-synack-queue");
        assert_eq!(
            f.fix.as_deref(),
            Some("iptables -t filter -I OUTPUT 1 -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT")
        );
        // Same ruleset on a fixed kernel: info only.
        let r = run("5.17.0", UNGUARDED, None, false);
        assert_eq!(r.exit_code(), 0, "{}", r.render_human());
        // Fixed kernel told to assume affected.
        let r = run("6.1.192", UNGUARDED, None, true);
        assert_eq!(r.exit_code(), 2);
        // Unknown kernel.
        let r = run("5.15.0-91-generic", UNGUARDED, None, false);
        assert_eq!(r.exit_code(), 2);
    }

    #[test]
    fn guard_in_same_chain_fixes_it_but_not_in_another_table() {
        let r = run("5.10.103", GUARDED, None, false);
        assert!(r
            .findings
            .iter()
            .all(|f| f.code != "unguarded-synack-queue"));
        // Affected kernel with queue rules: warning (kernel-affected), not dangerous.
        assert_eq!(r.exit_code(), 1, "{}", r.render_human());
        let other_table = "*mangle\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\nCOMMIT\n*filter\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j NFQUEUE --queue-num 0\nCOMMIT\n";
        assert_eq!(run("5.10.103", other_table, None, false).exit_code(), 2);
        // Guard after the queue rule does not help.
        let after = "*filter\n-A OUTPUT -j NFQUEUE --queue-num 0\n-A OUTPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\nCOMMIT\n";
        assert_eq!(run("5.10.103", after, None, false).exit_code(), 2);
        // A narrower guard does not cover a wider queue rule, but covers an equal one.
        let narrow = "*filter\n-A OUTPUT -p tcp --sport 80 --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A OUTPUT -p tcp --sport 443 -j NFQUEUE\nCOMMIT\n";
        assert_eq!(run("5.10.103", narrow, None, false).exit_code(), 2);
        let same = "*filter\n-A OUTPUT -p tcp --sport 80 --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A OUTPUT -p tcp --sport 80 -j NFQUEUE\nCOMMIT\n";
        assert_eq!(run("5.10.103", same, None, false).exit_code(), 1);
    }

    #[test]
    fn ingress_and_non_tcp_queues_are_safe() {
        let s = "*filter\n-A INPUT -j NFQUEUE\n-A FORWARD -j NFQUEUE\n-A OUTPUT -p udp -j NFQUEUE\n-A OUTPUT -p tcp --syn -j NFQUEUE\nCOMMIT\n*mangle\n-A PREROUTING -j NFQUEUE\nCOMMIT\n";
        let r = run("5.10.103", s, None, false);
        assert!(
            r.findings
                .iter()
                .all(|f| f.code != "unguarded-synack-queue"),
            "{}",
            r.render_human()
        );
        let post = "*mangle\n-A POSTROUTING -j NFQUEUE --queue-num 1\nCOMMIT\n";
        assert_eq!(run("5.10.103", post, None, false).exit_code(), 2);
    }

    #[test]
    fn jumps_from_output_count() {
        let s = "*filter\n:OUTPUT ACCEPT [0:0]\n:IPS - [0:0]\n:DEEP - [0:0]\n-A OUTPUT -j IPS\n-A IPS -j DEEP\n-A DEEP -j NFQUEUE --queue-num 0\nCOMMIT\n";
        let r = run("5.10.103", s, None, false);
        assert_eq!(r.exit_code(), 2);
        assert!(
            r.findings[0]
                .message
                .contains("OUTPUT via OUTPUT -> IPS -> DEEP"),
            "{}",
            r.findings[0].message
        );
        assert!(r.findings[0].fix.as_deref().unwrap().contains("-I DEEP 1"));
        // Guard in the calling chain before the jump covers it; Verdict's own layout.
        let s = "*filter\n-A OUTPUT -j VERDICT-OUTPUT\n-A VERDICT-OUTPUT -p tcp -m tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A VERDICT-OUTPUT -j NFQUEUE --queue-num 0 --queue-bypass\nCOMMIT\n";
        assert_eq!(run("5.10.103", s, None, false).exit_code(), 1);
        let s = "*filter\n-A OUTPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT\n-A OUTPUT -j IPS\n-A IPS -j NFQUEUE\nCOMMIT\n";
        assert_eq!(run("5.10.103", s, None, false).exit_code(), 1);
        // A user chain only reached from INPUT is fine; loops terminate.
        let s = "*filter\n-A INPUT -j A\n-A A -j B\n-A B -j A\n-A B -j NFQUEUE\nCOMMIT\n";
        assert!(run("5.10.103", s, None, false)
            .findings
            .iter()
            .all(|f| f.code != "unguarded-synack-queue"));
    }

    #[test]
    fn nft_rulesets() {
        let bad = "table inet ips {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\ttcp sport 23456 queue num 0\n\t}\n}\n";
        let r = run("4.18.0-305.3.1.el8.x86_64", bad, None, false);
        assert_eq!(r.exit_code(), 2);
        assert_eq!(
            r.findings[0].fix.as_deref(),
            Some("nft insert rule inet ips out 'tcp flags & (syn | ack) == syn | ack accept'")
        );
        let good = "table inet ips {\n\tchain out {\n\t\ttype filter hook output priority 0; policy accept;\n\t\ttcp flags syn,ack / syn,ack accept\n\t\ttcp sport 23456 queue num 0\n\t}\n}\n";
        assert_eq!(
            run("4.18.0-305.3.1.el8.x86_64", good, None, false).exit_code(),
            1
        );
        // A guard in another base chain of the same hook does not help.
        let split = "table inet a {\n\tchain g {\n\t\ttype filter hook output priority -10; policy accept;\n\t\ttcp flags syn,ack / syn,ack accept\n\t}\n\tchain q {\n\t\ttype filter hook output priority 0; policy accept;\n\t\tqueue num 0\n\t}\n}\n";
        assert_eq!(run("5.10.103", split, None, false).exit_code(), 2);
    }

    #[test]
    fn blackholes_and_overruns() {
        let s = "*filter\n-A INPUT -j NFQUEUE --queue-num 4\n-A INPUT -p udp -j NFQUEUE --queue-balance 0:1\n-A INPUT -p icmp -j NFQUEUE --queue-num 9 --queue-bypass\nCOMMIT\n";
        let procq = "    0  100     0 2  65531     0     0        0  1\n    1  101     0 2  65531     3     0        7  1\n";
        let r = run("6.1.0-13-amd64", s, Some(procq), false);
        let codes: Vec<&str> = r.findings.iter().map(|f| f.code).collect();
        assert_eq!(
            codes.iter().filter(|c| **c == "blackhole-queue").count(),
            1,
            "{}",
            r.render_human()
        );
        assert!(r
            .findings
            .iter()
            .any(|f| f.code == "blackhole-queue" && f.message.contains("queue 4 has no listener")));
        assert!(codes.contains(&"queue-overrun"));
        assert_eq!(r.exit_code(), 1);
        // All good.
        let r = run(
            "6.1.0-13-amd64",
            "*filter\n-A INPUT -j NFQUEUE --queue-num 0\nCOMMIT\n",
            Some("0 1 0 2 65531 0 0 0 1\n"),
            false,
        );
        assert_eq!(r.exit_code(), 0, "{}", r.render_human());
    }
}
