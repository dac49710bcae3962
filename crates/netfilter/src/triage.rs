//! `verdict triage`: find kernel call traces in a log and match them against the known bugs'
//! crash signatures.
//!
//! # Inputs understood
//! - dmesg / console / journal output of an oops, panic, `BUG:` or `WARNING:` report, with or
//!   without `[ 1234.567890]` timestamps or `kernel:` syslog prefixes; frames look like
//!   `nf_reinject+0x5e/0x1a0 [nf_queue]`, ` ? foo+0x1/0x2` (unreliable) or the old
//!   `[<ffffffff81234567>] foo+0x1/0x2`;
//! - `vmcore-dmesg.txt` (the same, from a crash dump);
//! - `crash`'s `bt`: `#12 [ffffb71241e37950] nf_queue_entry_release_refs at ffffffffbce1c1e4`
//!   and `[exception RIP: __pv_queued_spin_lock_slowpath+410]`;
//! - any of these embedded in prose (an e-mail, a blog post, a ticket): lines that are not
//!   frames are ignored, so disassembly (`<func+402>:`) and source code do not count as frames.
//!
//! # Design
//! The text is split into *reports*: a new report starts at a headline (`BUG:`, `Oops`,
//! `general protection fault`, `Kernel panic`, `WARNING:`, `Unable to handle`) or at a
//! `crash` `PID:` line; frames before any headline form a headless report (a truncated log).
//! Each report has a faulting function (RIP or the KASAN `in FUNC`) and frames, innermost
//! first. A [`CrashSignature`] matches when its frames appear in that order (other frames may sit
//! between them, since inlining differs between builds), its headline condition holds and one
//! of its `any_of` functions is the faulting function or a frame. A trace that is cut off
//! (no syscall entry or end marker) and matches the first frames of a signature gives a
//! *probable* match, reported as such.

use std::fmt::Write as _;

use crate::bugs::{self, CrashSignature, KnownBug, KNOWN_BUGS};

/// One call-trace frame.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Frame {
    /// The function name.
    pub function: String,
    /// `? ` frames: the unwinder is not sure.
    pub unreliable: bool,
    /// 1-based line of the input.
    pub line: usize,
}

/// One report found in the input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CrashReport {
    /// The headline (`BUG: KASAN: slab-out-of-bounds in sk_free+0x2a/0x70`), if present.
    pub headline: Option<String>,
    /// The faulting function (RIP, `exception RIP`, or KASAN's `in FUNC`).
    pub faulting_function: Option<String>,
    /// The frames, innermost first.
    pub frames: Vec<Frame>,
    /// Whether the trace looks complete (reaches a syscall/interrupt entry or an end marker).
    pub complete: bool,
}

/// How sure a match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The trace is cut off and matches the signature as far as it goes.
    Probable,
    /// Every condition of the signature holds.
    Certain,
}

/// A report matched to a known bug.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Match {
    /// The bug's id (`747670fd9a2d`).
    pub bug: &'static str,
    /// The signature's name.
    pub signature: &'static str,
    /// How sure.
    pub confidence: Confidence,
    /// Why: the frames and conditions that matched.
    pub evidence: Vec<String>,
    /// What the signature means.
    pub explanation: &'static str,
    /// Index of the report in [`Triage::reports`].
    pub report: usize,
}

/// The triage result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Triage {
    /// Reports found in the input.
    pub reports: Vec<CrashReport>,
    /// Matches, best first.
    pub matches: Vec<Match>,
}

impl Triage {
    /// The best match, if any.
    pub fn best(&self) -> Option<&Match> {
        self.matches.first()
    }

    /// Human-readable rendering: which bug, why, which kernels fix it, how to mitigate.
    pub fn render_human(&self) -> String {
        let mut s = String::new();
        let frames: usize = self.reports.iter().map(|r| r.frames.len()).sum();
        let _ = writeln!(
            s,
            "found {} report(s), {} frame(s)",
            self.reports.len(),
            frames
        );
        if self.reports.is_empty() || frames == 0 {
            let _ = writeln!(
                s,
                "no call trace found: expected oops/panic output (`Call Trace:` with `func+0x../0x..` lines) or crash's `bt` (`#N [addr] func at addr`)"
            );
        }
        let Some(best) = self.best() else {
            let _ = writeln!(s, "no known signature matched");
            return s;
        };
        let mut seen = Vec::new();
        for m in &self.matches {
            if seen.contains(&m.bug) {
                continue;
            }
            seen.push(m.bug);
            let Some(bug) = bugs::find(m.bug) else {
                continue;
            };
            let r = &self.reports[m.report];
            let _ = writeln!(
                s,
                "\n{} match: {} \"{}\"{}",
                match m.confidence {
                    Confidence::Certain => "KNOWN BUG",
                    Confidence::Probable => "PROBABLE",
                },
                bug.id,
                bug.title,
                bug.cve.map(|c| format!(" ({c})")).unwrap_or_default()
            );
            if let Some(h) = &r.headline {
                let _ = writeln!(s, "  report:    {h}");
            }
            if let Some(f) = &r.faulting_function {
                let _ = writeln!(s, "  faulting:  {f}");
            }
            let _ = writeln!(s, "  signature: {}", m.signature);
            let _ = writeln!(s, "  why:");
            for e in &m.evidence {
                let _ = writeln!(s, "    - {e}");
            }
            let _ = writeln!(s, "  meaning:   {}", m.explanation);
            let _ = writeln!(s, "  bug:       {}", bug.summary);
            let _ = writeln!(s, "  fixed in:  {}", fixed_in(bug));
            let _ = writeln!(s, "  mitigate:  {}", bug.mitigation);
        }
        let _ = best;
        s
    }
}

/// "mainline 5.17-rc7; 5.16.13, 5.15.27, ...; el8 4.18.0-373 ..." for a bug.
pub fn fixed_in(bug: &KnownBug) -> String {
    let mut s = format!(
        "mainline {}{}",
        bug.mainline_fix,
        if bug.mainline_fix_confirmed {
            ""
        } else {
            " (unconfirmed)"
        }
    );
    if !bug.stable_fixes.is_empty() {
        let lines: Vec<String> = bug
            .stable_fixes
            .iter()
            .map(|f| {
                format!(
                    "{}{}",
                    f.first_fixed,
                    if f.confirmed { "" } else { " (unconfirmed)" }
                )
            })
            .collect();
        let _ = write!(s, "; stable {}", lines.join(", "));
    } else {
        s.push_str("; stable lines not recorded");
    }
    for d in bug.distro_fixes {
        let bugs::DistroFix::RedHat {
            el,
            first_fixed_build,
            note,
            ..
        } = d;
        match first_fixed_build {
            Some(b) => {
                let b: Vec<String> = b.iter().map(|x| x.to_string()).collect();
                let _ = write!(s, "; el{el} build {} ({note})", b.join("."));
            }
            None => {
                let _ = write!(s, "; el{el}: {note}");
            }
        }
    }
    s
}

const HEADLINES: &[&str] = &[
    "BUG:",
    "Oops:",
    "Oops ",
    "general protection fault",
    "Kernel panic",
    "WARNING:",
    "Unable to handle kernel",
    "kernel BUG at",
    "UBSAN:",
];

/// Strips timestamps, syslog prefixes and log levels from a log line.
fn strip_prefixes(line: &str) -> &str {
    let mut l = line.trim_start();
    // `<4>` printk level.
    if l.starts_with('<') {
        if let Some(end) = l.find('>') {
            if end <= 3 && l[1..end].chars().all(|c| c.is_ascii_digit()) {
                l = l[end + 1..].trim_start();
            }
        }
    }
    // syslog / journal: `Nov 25 04:00:00 host kernel: ...`.
    if let Some(p) = l.find("kernel: ") {
        if p < 64 {
            l = l[p + 8..].trim_start();
        }
    }
    // `[ 1234.567890]` and optional `[  T123]` / `[    C1]` caller ids.
    for _ in 0..2 {
        if l.starts_with('[') {
            if let Some(end) = l.find(']') {
                let inner = l[1..end].trim();
                let is_ts =
                    !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == '.');
                let is_caller = inner.len() > 1
                    && (inner.starts_with('T') || inner.starts_with('C'))
                    && inner[1..].chars().all(|c| c.is_ascii_digit());
                if is_ts || is_caller {
                    l = l[end + 1..].trim_start();
                    continue;
                }
            }
        }
        break;
    }
    l
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `func+0x1a/0x2b` -> `func`.
fn symbol_with_offset(tok: &str) -> Option<&str> {
    let (name, off) = tok.split_once('+')?;
    let (a, b) = off.split_once('/')?;
    let hex = |x: &str| {
        x.strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
    };
    (is_ident(name) && hex(a) && hex(b)).then_some(name)
}

/// A frame from one log line, if it is one.
fn parse_frame_line(l: &str) -> Option<(String, bool)> {
    // crash: `#12 [ffffb71241e37950] nf_queue_entry_release_refs at ffffffffbce1c1e4 [mod]`.
    if let Some(rest) = l.strip_prefix('#') {
        let mut it = rest.split_whitespace();
        let n = it.next()?;
        if !n.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let addr = it.next()?;
        if !(addr.starts_with('[') && addr.ends_with(']')) {
            return None;
        }
        let name = it.next()?;
        if it.next()? != "at" {
            return None;
        }
        return is_ident(name).then(|| (name.to_string(), false));
    }
    let mut toks = l.split_whitespace().peekable();
    let mut unreliable = false;
    // Old style `[<ffffffff81234567>]`.
    if toks
        .peek()
        .is_some_and(|t| t.starts_with("[<") && t.ends_with(">]"))
    {
        toks.next();
    }
    if toks.peek() == Some(&"?") {
        unreliable = true;
        toks.next();
    }
    let tok = toks.next()?;
    let name = symbol_with_offset(tok)?;
    // Anything after must be a module tag `[mod]` or nothing (rejects prose that merely
    // mentions `func+0x1/0x2`).
    for rest in toks {
        if !(rest.starts_with('[') && rest.ends_with(']')) {
            return None;
        }
    }
    Some((name.to_string(), unreliable))
}

/// Finds the reports in a log.
pub fn extract(text: &str) -> Vec<CrashReport> {
    let mut reports: Vec<CrashReport> = Vec::new();
    let mut cur: Option<CrashReport> = None;
    let new_report = |headline: Option<String>| CrashReport {
        headline,
        faulting_function: None,
        frames: Vec::new(),
        complete: false,
    };
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + 1;
        let l = strip_prefixes(raw).trim_end();
        // Headlines start a report.
        if HEADLINES.iter().any(|h| l.starts_with(h)) || l.contains("] BUG: ") {
            // `BUG: unable to handle ...` followed by `Oops: ...` is one report: a headline
            // before any frame only adds to the current report.
            let mut r = match cur.take() {
                Some(r) if r.frames.is_empty() => r,
                Some(r) => {
                    reports.push(r);
                    new_report(None)
                }
                None => new_report(None),
            };
            if r.headline.is_none() {
                r.headline = Some(l.chars().take(200).collect());
            }
            if let Some(p) = l.find(" in ") {
                if l.contains("KASAN") || l.contains("KFENCE") || l.contains("UBSAN") {
                    let what = l[p + 4..].split_whitespace().next().unwrap_or("");
                    let f = symbol_with_offset(what)
                        .or_else(|| what.split('+').next().filter(|n| is_ident(n)));
                    r.faulting_function = f.map(str::to_string);
                    r.headline = Some(l.chars().take(200).collect());
                }
            }
            cur = Some(r);
            continue;
        }
        // crash: `PID: 2310003  TASK: ...` starts a `bt`.
        if l.starts_with("PID:") && l.contains("TASK:") {
            if let Some(r) = cur.take() {
                if r.headline.is_some() || !r.frames.is_empty() {
                    reports.push(r);
                }
            }
            cur = Some(new_report(None));
            continue;
        }
        // RIP lines.
        let rip = l
            .strip_prefix("RIP: ")
            .and_then(|r| r.split_whitespace().next())
            .map(|r| r.split_once(':').map(|(_, f)| f).unwrap_or(r))
            .and_then(symbol_with_offset)
            .or_else(|| {
                l.find("[exception RIP: ").and_then(|p| {
                    let r = &l[p + 16..];
                    let r = r.trim_end_matches(']');
                    r.split('+').next().filter(|n| is_ident(n))
                })
            })
            .or_else(|| {
                l.strip_prefix("pc : ")
                    .and_then(|r| r.split_whitespace().next())
                    .and_then(symbol_with_offset)
            });
        if let Some(f) = rip {
            let r = cur.get_or_insert_with(|| new_report(None));
            if r.faulting_function.is_none() {
                r.faulting_function = Some(f.to_string());
            }
            continue;
        }
        if l.starts_with("---[ end trace") || l.starts_with("---[ end Kernel panic") {
            if let Some(r) = cur.as_mut() {
                r.complete = true;
            }
            continue;
        }
        if let Some((name, unreliable)) = parse_frame_line(l) {
            let r = cur.get_or_insert_with(|| new_report(None));
            if name.starts_with("entry_SYSCALL")
                || name == "do_syscall_64"
                || name == "ret_from_fork"
                || name.starts_with("asm_")
                || name == "secondary_startup_64"
            {
                r.complete = true;
            }
            r.frames.push(Frame {
                function: name,
                unreliable,
                line: lineno,
            });
        }
    }
    if let Some(r) = cur.take() {
        if r.headline.is_some() || !r.frames.is_empty() {
            reports.push(r);
        }
    }
    reports
}

fn has_frame(r: &CrashReport, f: &str) -> bool {
    r.frames.iter().any(|x| x.function == f) || r.faulting_function.as_deref() == Some(f)
}

/// Matches one report against one signature.
fn match_signature(r: &CrashReport, sig: &CrashSignature) -> Option<(Confidence, Vec<String>)> {
    let mut evidence = Vec::new();
    if let Some(h) = sig.headline_contains {
        match &r.headline {
            Some(head) if head.contains(h) => evidence.push(format!("report headline: {head}")),
            _ => return None,
        }
    }
    // The faulting function counts as the innermost frame.
    let mut seq: Vec<(&str, usize)> = Vec::new();
    if let Some(f) = &r.faulting_function {
        seq.push((f.as_str(), 0));
    }
    for fr in &r.frames {
        seq.push((fr.function.as_str(), fr.line));
    }
    let mut pos = 0;
    let mut matched = 0;
    for want in sig.frames_in_order {
        match seq[pos..].iter().position(|(f, _)| f == want) {
            Some(p) => {
                let (f, line) = seq[pos + p];
                evidence.push(if line == 0 {
                    format!("{f} is the faulting function")
                } else {
                    format!("frame {f} (line {line})")
                });
                pos += p + 1;
                matched += 1;
            }
            None => break,
        }
    }
    let any_ok = sig.any_of.is_empty() || sig.any_of.iter().any(|f| has_frame(r, f));
    if any_ok && !sig.any_of.is_empty() {
        if let Some(f) = sig.any_of.iter().find(|f| has_frame(r, f)) {
            if !evidence
                .iter()
                .any(|e| e.contains(&format!("{f} ")) || e.ends_with(f))
            {
                evidence.push(format!("{f} in the trace"));
            }
        }
    }
    if !any_ok {
        return None;
    }
    if matched == sig.frames_in_order.len() {
        let order = sig.frames_in_order.join(" <- ");
        evidence.push(format!("call order {order} as in the signature"));
        return Some((Confidence::Certain, evidence));
    }
    // A truncated trace that matches the signature's first frames (at least two) and
    // ends right there.
    if !r.complete && matched >= 2 && pos == seq.len() {
        evidence.push(format!(
            "the trace is cut off after {} of the signature's {} frames",
            matched,
            sig.frames_in_order.len()
        ));
        return Some((Confidence::Probable, evidence));
    }
    None
}

/// Extracts reports and matches them against every known bug.
pub fn triage(text: &str) -> Triage {
    let reports = extract(text);
    let mut matches = Vec::new();
    for (ri, r) in reports.iter().enumerate() {
        for bug in KNOWN_BUGS {
            for sig in bug.signatures {
                if let Some((confidence, evidence)) = match_signature(r, sig) {
                    matches.push(Match {
                        bug: bug.id,
                        signature: sig.name,
                        confidence,
                        evidence,
                        explanation: sig.explanation,
                        report: ri,
                    });
                    break;
                }
            }
        }
    }
    matches.sort_by_key(|m| std::cmp::Reverse(m.confidence));
    Triage { reports, matches }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_BT: &str = r#"crash> bt
PID: 2310003  TASK: ffff99f4ee683e80  CPU: 1   COMMAND: "Verdict2"
 #0 [ffffb71241e375e8] machine_kexec at ffffffffbc66156e
 #1 [ffffb71241e37640] __crash_kexec at ffffffffbc78f99d
 #2 [ffffb71241e37708] crash_kexec at ffffffffbc79088d
 #3 [ffffb71241e37720] oops_end at ffffffffbc62434d
 #4 [ffffb71241e37740] no_context at ffffffffbc67262f
 #5 [ffffb71241e37798] __bad_area_nosemaphore at ffffffffbc67298c
 #6 [ffffb71241e377e0] do_page_fault at ffffffffbc673267
 #7 [ffffb71241e37810] page_fault at ffffffffbd0010fe
    [exception RIP: __pv_queued_spin_lock_slowpath+410]
    RIP: ffffffffbc73cbda  RSP: ffffb71241e378c0  RFLAGS: 00010282
 #8 [ffffb71241e378f8] queued_write_lock_slowpath at ffffffffbc73df3c
 #9 [ffffb71241e37910] bpf_sk_reuseport_detach at ffffffffbc842ff9
#10 [ffffb71241e37928] reuseport_detach_sock at ffffffffbcdc2c25
#11 [ffffb71241e37940] sk_destruct at ffffffffbcd7ac33
#12 [ffffb71241e37950] nf_queue_entry_release_refs at ffffffffbce1c1e4
#13 [ffffb71241e37960] nf_reinject at ffffffffbce1c52e
#14 [ffffb71241e37998] nfqnl_recv_verdict at ffffffffc095a81f [nfnetlink_queue]
#15 [ffffb71241e37a10] nfnetlink_rcv_msg at ffffffffc09552be [nfnetlink]
#16 [ffffb71241e37b88] netlink_rcv_skb at ffffffffbce07a3c
#24 [ffffb71241e37f38] do_syscall_64 at ffffffffbc60420b
#25 [ffffb71241e37f50] entry_SYSCALL_64_after_hwframe at ffffffffbd0000ad
"#;

    const DMESG: &str = r#"[ 5123.456789] BUG: unable to handle kernel paging request at 0000000000002ac8
[ 5123.456801] PGD 0 P4D 0
[ 5123.456810] Oops: 0002 [#1] SMP NOPTI
[ 5123.456820] CPU: 1 PID: 2310003 Comm: Verdict2 Kdump: loaded Not tainted 4.18.0-305.3.1.el8.x86_64 #1
[ 5123.456830] RIP: 0010:__pv_queued_spin_lock_slowpath+0x19a/0x2a0
[ 5123.456840] Code: 00 00 f0 0f b1 3b 0f 85 ...
[ 5123.456900] Call Trace:
[ 5123.456910]  queued_write_lock_slowpath+0x7c/0x80
[ 5123.456920]  bpf_sk_reuseport_detach+0x29/0x40
[ 5123.456930]  reuseport_detach_sock+0x25/0xb0
[ 5123.456940]  sk_destruct+0x43/0x50
[ 5123.456950]  nf_queue_entry_release_refs+0x64/0xa0
[ 5123.456960]  nf_reinject+0x5e/0x1a0
[ 5123.456970]  nfqnl_recv_verdict+0x30f/0x4a0 [nfnetlink_queue]
[ 5123.456980]  nfnetlink_rcv_msg+0x13e/0x2a0 [nfnetlink]
[ 5123.456990]  ? nfnetlink_net_exit_batch+0x60/0x60 [nfnetlink]
[ 5123.457000]  netlink_rcv_skb+0x4c/0x120
[ 5123.457090]  do_syscall_64+0x5b/0x1a0
[ 5123.457100]  entry_SYSCALL_64_after_hwframe+0x65/0xca
"#;

    const KASAN: &str = r#"[   42.101010] ==================================================================
[   42.101020] BUG: KASAN: slab-out-of-bounds in sk_free+0x2a/0x70
[   42.101030] Write of size 4 at addr ffff888005a2c144 by task synack_repro/97
[   42.101040] 
[   42.101050] CPU: 0 PID: 97 Comm: synack_repro Not tainted 6.1.192 #1
[   42.101060] Call Trace:
[   42.101070]  <TASK>
[   42.101080]  dump_stack_lvl+0x49/0x63
[   42.101090]  print_report+0x171/0x4a8
[   42.101100]  kasan_report+0xb1/0x130
[   42.101110]  ? sk_free+0x2a/0x70
[   42.101120]  kasan_check_range+0x2d/0x160
[   42.101130]  sk_free+0x2a/0x70
[   42.101140]  nf_reinject+0x1a4/0x3a0
[   42.101150]  nfqnl_recv_verdict+0x4b5/0x9e0
[   42.101160]  nfnetlink_rcv_msg+0x3c1/0x6e0
[   42.101170]  netlink_rcv_skb+0xd9/0x220
[   42.101180]  do_syscall_64+0x3b/0x90
[   42.101190]  entry_SYSCALL_64_after_hwframe+0x63/0xcd
[   42.101200]  </TASK>
"#;

    fn best(text: &str) -> Option<(String, Confidence)> {
        triage(text)
            .best()
            .map(|m| (m.bug.to_string(), m.confidence))
    }

    #[test]
    fn seed_crash_bt() {
        let t = triage(SEED_BT);
        assert_eq!(t.reports.len(), 1);
        assert_eq!(
            t.reports[0].faulting_function.as_deref(),
            Some("__pv_queued_spin_lock_slowpath")
        );
        let m = t.best().unwrap();
        assert_eq!(m.bug, "747670fd9a2d");
        assert_eq!(m.confidence, Confidence::Certain);
        assert!(m
            .evidence
            .iter()
            .any(|e| e.contains("nf_queue_entry_release_refs")));
        let h = t.render_human();
        assert!(h.contains("5.10.104") && h.contains("373"), "{h}");
    }

    #[test]
    fn seed_file_with_prose() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/seed/000_c6a14afccd65d4ab.txt"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("seed file not present at {path}; covered by seed_crash_bt");
            return;
        };
        let t = triage(&text);
        let m = t.best().expect("seed must match");
        assert_eq!(m.bug, "747670fd9a2d");
        assert_eq!(m.confidence, Confidence::Certain);
        // Disassembly lines `<__pv_queued_spin_lock_slowpath+402>:` are not frames.
        let frames: usize = t.reports.iter().map(|r| r.frames.len()).sum();
        assert_eq!(frames, 26, "{:?}", t.reports);
    }

    #[test]
    fn dmesg_with_timestamps_and_syslog() {
        assert_eq!(
            best(DMESG),
            Some(("747670fd9a2d".into(), Confidence::Certain))
        );
        let journal: String = DMESG
            .lines()
            .map(|l| format!("Nov 25 04:00:00 centos8 kernel: {l}\n"))
            .collect();
        assert_eq!(
            best(&journal),
            Some(("747670fd9a2d".into(), Confidence::Certain))
        );
        let no_ts: String = DMESG.lines().map(|l| format!("{}\n", &l[15..])).collect();
        assert_eq!(
            best(&no_ts),
            Some(("747670fd9a2d".into(), Confidence::Certain))
        );
    }

    #[test]
    fn kasan_report() {
        let t = triage(KASAN);
        assert_eq!(t.reports[0].faulting_function.as_deref(), Some("sk_free"));
        let m = t.best().unwrap();
        assert_eq!((m.bug, m.confidence), ("747670fd9a2d", Confidence::Certain));
        assert!(m.signature.contains("KASAN"), "{}", m.signature);
        // With nf_queue_entry_release_refs not inlined.
        let k2 = KASAN.replace(
            "[   42.101140]  nf_reinject",
            "[   42.101135]  nf_queue_entry_release_refs+0x40/0x90\n[   42.101140]  nf_reinject",
        );
        assert_eq!(best(&k2).unwrap().0, "747670fd9a2d");
    }

    #[test]
    fn truncated_logs() {
        // Top cut off: no headline, no RIP.
        let tail: String = DMESG.lines().skip(9).map(|l| format!("{l}\n")).collect();
        assert_eq!(
            best(&tail),
            Some(("747670fd9a2d".into(), Confidence::Certain))
        );
        // Bottom cut off right after nf_queue_entry_release_refs.
        let head: String = DMESG.lines().take(12).map(|l| format!("{l}\n")).collect();
        assert_eq!(
            best(&head),
            Some(("747670fd9a2d".into(), Confidence::Probable))
        );
        // Cut off before any nf_queue frame: no claim.
        let head: String = DMESG.lines().take(11).map(|l| format!("{l}\n")).collect();
        assert_eq!(best(&head), None);
        // crash bt cut in the middle of a line.
        let cut = &SEED_BT[..SEED_BT.find("#14").unwrap() + 8];
        assert_eq!(best(cut).unwrap().0, "747670fd9a2d");
    }

    #[test]
    fn unrelated_oopses_do_not_match() {
        let null_deref = r#"[  12.0] BUG: kernel NULL pointer dereference, address: 0000000000000010
[  12.1] RIP: 0010:tcp_v4_rcv+0x5a1/0xd40
[  12.2] Call Trace:
[  12.3]  ip_protocol_deliver_rcu+0x32/0x180
[  12.4]  ip_local_deliver_finish+0x44/0x50
[  12.5]  nf_reinject+0x5e/0x1a0
[  12.6]  nfqnl_recv_verdict+0x30f/0x4a0 [nfnetlink_queue]
[  12.7]  do_syscall_64+0x5b/0x1a0
"#;
        assert_eq!(best(null_deref), None);
        let sk_free_elsewhere = r#"BUG: KASAN: use-after-free in sk_free+0x2a/0x70
Call Trace:
 sk_free+0x2a/0x70
 tcp_close+0x90/0xa0
 inet_release+0x40/0x80
 __sock_release+0x3d/0xa0
 do_syscall_64+0x5b/0x1a0
"#;
        assert_eq!(best(sk_free_elsewhere), None);
        let gpf = "general protection fault, probably for non-canonical address\nRIP: 0010:kmem_cache_alloc+0x7f/0x230\nCall Trace:\n __alloc_skb+0x46/0x1d0\n tcp_connect+0x30/0x50\n entry_SYSCALL_64_after_hwframe+0x44/0xa9\n";
        assert_eq!(best(gpf), None);
        assert_eq!(best(""), None);
        assert_eq!(best("nothing to see"), None);
        // Prose mentioning the functions is not a trace.
        assert_eq!(
            best("the crash went through nf_reinject+0x5e/0x1a0 and sk_destruct+0x43/0x50 and reuseport_detach_sock+0x25/0xb0 as usual"),
            None
        );
    }

    #[test]
    fn two_reports_are_kept_apart() {
        // An unrelated oops, then a trace that only together with it would match.
        let s = "BUG: foo\nCall Trace:\n sk_destruct+0x1/0x2\n reuseport_detach_sock+0x1/0x2\n---[ end trace 0 ]---\nWARNING: bar\nCall Trace:\n nf_queue_entry_release_refs+0x1/0x2\n nf_reinject+0x1/0x2\n do_syscall_64+0x1/0x2\n";
        assert_eq!(best(s), None);
    }
}
