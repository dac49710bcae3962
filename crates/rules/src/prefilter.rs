//! The prefilter: per rule group, one Aho-Corasick automaton over the rules' fast patterns,
//! and the lists of rules checked without a pattern (always, or by address).
//!
//! A packet costs one scan of its payload (and of the normalised app-layer buffers) per
//! applicable group; only the rules whose fast pattern occurs become candidates for the full
//! check in `ruleset.rs`.
//!
//! Rules of an app-layer protocol (`alert http ...`, `alert tls ...`) sit in a sub-group of
//! their port group, one per protocol, used only when the packet's app layer is that
//! protocol: they cannot match anything else (`rule_matches` requires it). A sub-group's
//! automaton holds its own patterns *and* the port group's, so a packet is still scanned
//! once: with the port group's automaton, or with its protocol's combined one. In a large
//! rule set such as ET Open they are most of the patterns (13,906 of the TCP any-port
//! group's patterns with all of ET Open were HTTP ones). A bulk transfer that is not HTTP
//! then walks a small automaton instead of the HTTP rules' one, as Suricata keeps separate
//! pattern matchers per app-layer buffer.
//!
//! Automata: up to [`DFA_MAX_PATTERNS`] patterns a full DFA (fastest, memory grows with the
//! patterns); above, a contiguous NFA (one fifth of the DFA's memory per pattern). Both are
//! walked byte by byte through the `Automaton` trait in a loop the compiler monomorphises:
//! the `AhoCorasick` wrapper's overlapping iterator costs ~3x more per byte (measured on
//! 1,448-byte segments with the 13,906-pattern group: 11.2 us against 3.6 us).

use std::collections::HashMap;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::{Anchored, MatchKind};
use verdict_applayer::AppProto;

use crate::addr_index::AddrIndex;
use crate::app::AppView;
use crate::input::PacketInput;
use crate::matchers::Buffer;
use crate::rule::{Proto, Rule};
use crate::ruleset::DetectState;

/// Prefilter automata with at most this many patterns are built as full DFAs.
const DFA_MAX_PATTERNS: usize = 5_000;

/// A prefilter automaton: pattern i maps to rules `ids[i]`; `base + i` is the pattern's
/// index in the set-wide pattern numbering (for per-packet dedup).
#[derive(Debug)]
struct Prefilter {
    scanner: Scanner,
    ids: Vec<Vec<u32>>,
    base: u32,
    /// Length of the longest pattern.
    longest: usize,
}

/// The automaton behind a prefilter: a full DFA for groups up to [`DFA_MAX_PATTERNS`]
/// patterns, a contiguous NFA above (see the module docs).
#[derive(Debug)]
enum Scanner {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Nfa(Box<aho_corasick::nfa::contiguous::NFA>),
}

/// Walks `a` over `hay` and calls `f` with the pattern id of every match (overlapping,
/// possibly repeated). Generic so that each automaton kind gets its own inlined loop.
///
/// The loop is the prefilter's whole cost on bulk data, and one transition is a load whose
/// address depends on the previous one, so the walk is latency-bound. Two things keep it
/// short: matches are handled out of line ([`report`]), so the states stay in registers
/// instead of being spilled around the callback; and a long buffer is cut into 4 (or 2)
/// lanes walked in lockstep, independent load chains the CPU overlaps. Lane `k` starts at
/// `k * q` and runs on `longest - 1` bytes past the next lane's start, so every occurrence
/// is seen by the lane it starts in (one near a cut may be reported twice; callers dedup).
/// Dead states need no check: an unanchored `Standard` automaton never reaches one.
fn walk<A: Automaton>(a: &A, hay: &[u8], longest: usize, f: &mut dyn FnMut(usize)) {
    let Ok(start) = a.start_state(Anchored::No) else {
        return;
    };
    let overlap = longest.saturating_sub(1);
    let fits = |lanes: usize| {
        let q = hay.len() / lanes;
        q >= LANE_MIN && overlap < q
    };
    if fits(4) {
        walk_lanes::<A, 4>(a, start, hay, overlap, f);
    } else if fits(2) {
        walk_lanes::<A, 2>(a, start, hay, overlap, f);
    } else {
        walk_from(a, start, hay, f);
    }
}

/// A lane shorter than this is not worth its set-up: shorter buffers get fewer lanes.
const LANE_MIN: usize = 64;

/// The lockstep walk of `N` lanes (see [`walk`]); needs `hay.len() / N > overlap`.
// One index steps all lanes at once: an iterator per lane would not keep them in step.
#[allow(clippy::needless_range_loop)]
fn walk_lanes<A: Automaton, const N: usize>(
    a: &A,
    start: StateID,
    hay: &[u8],
    overlap: usize,
    f: &mut dyn FnMut(usize),
) {
    let q = hay.len() / N;
    let lanes: [&[u8]; N] = std::array::from_fn(|k| {
        let end = if k + 1 == N {
            hay.len()
        } else {
            ((k + 1) * q + overlap).min(hay.len())
        };
        &hay[k * q..end]
    });
    let mut states = [start; N];
    for i in 0..q {
        for k in 0..N {
            states[k] = a.next_state(Anchored::No, states[k], lanes[k][i]);
        }
        for &s in &states {
            if a.is_special(s) {
                report(a, s, f);
            }
        }
    }
    for k in 0..N {
        walk_from(a, states[k], &lanes[k][q..], f);
    }
}

/// Continues a walk in state `sid` over `hay`.
fn walk_from<A: Automaton>(a: &A, mut sid: StateID, hay: &[u8], f: &mut dyn FnMut(usize)) {
    for &b in hay {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_special(sid) {
            report(a, sid, f);
        }
    }
}

/// A special state was reached: report its matches. Out of line so that the walk loops
/// keep their states in registers.
#[cold]
#[inline(never)]
fn report<A: Automaton>(a: &A, sid: StateID, f: &mut dyn FnMut(usize)) {
    if a.is_match(sid) {
        for i in 0..a.match_len(sid) {
            f(a.match_pattern(sid, i).as_usize());
        }
    }
}

impl Scanner {
    /// Which automaton this is, as `verdict rules check --stats` names it.
    fn kind(&self) -> &'static str {
        match self {
            Scanner::Dfa(_) => "dfa",
            Scanner::Nfa(_) => "nfa",
        }
    }

    /// Heap bytes the automaton uses.
    fn memory_usage(&self) -> usize {
        match self {
            Scanner::Dfa(d) => d.memory_usage(),
            Scanner::Nfa(n) => n.memory_usage(),
        }
    }

    /// Calls `f` with the pattern id of every match (overlapping, possibly repeated);
    /// `longest` is the length of the automaton's longest pattern.
    fn scan(&self, hay: &[u8], longest: usize, f: &mut dyn FnMut(usize)) {
        match self {
            Scanner::Dfa(dfa) => walk(dfa.as_ref(), hay, longest, f),
            Scanner::Nfa(nfa) => walk(nfa.as_ref(), hay, longest, f),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Group {
    always: Vec<u32>,
    /// One automaton per buffer the group's fast patterns come from: `Payload` (scanned over
    /// the packet, message and stream bytes) and each app-layer buffer (scanned over that
    /// buffer only), as Suricata keeps one pattern matcher per buffer.
    ci: Vec<(Buffer, Prefilter)>,
    /// Rules without a fast pattern on a narrow source address set, by source address.
    by_src: AddrIndex,
    /// Same, by destination address (when the source set is wide).
    by_dst: AddrIndex,
    /// Rules of an app-layer protocol, used only when the packet's app layer is it. Their
    /// `ci` automaton also holds this group's patterns (one scan per packet); their lists
    /// hold only their own rules. Sub-groups have no sub-groups.
    by_app: Vec<(AppProto, Group)>,
}

#[derive(Default)]
pub(crate) struct GroupBuilder {
    always: Vec<u32>,
    by_src: Vec<u32>,
    by_dst: Vec<u32>,
    ci: HashMap<Buffer, Patterns>,
    by_app: HashMap<AppProto, GroupBuilder>,
}

/// Fast patterns (lowercased) and the rules that have each.
type Patterns = HashMap<Vec<u8>, Vec<u32>>;

impl GroupBuilder {
    pub(crate) fn add(&mut self, idx: u32, rule: &Rule) {
        if let Proto::App(a) = rule.proto {
            self.by_app.entry(a).or_default().add_here(idx, rule);
        } else {
            self.add_here(idx, rule);
        }
    }

    fn add_here(&mut self, idx: u32, rule: &Rule) {
        match &rule.prefilter {
            // One case-insensitive automaton per group: a superset of the case-sensitive
            // matches with one scan instead of two; the rule's own content check is exact.
            Some((pat, _, buf)) => self
                .ci
                .entry(*buf)
                .or_default()
                .entry(pat.to_ascii_lowercase())
                .or_default()
                .push(idx),
            None if !rule.bidir && rule.src.is_narrow() => self.by_src.push(idx),
            None if !rule.bidir && rule.dst.is_narrow() => self.by_dst.push(idx),
            None => self.always.push(idx),
        }
    }

    pub(crate) fn build(self, next_pattern: &mut u32, rules: &[Rule]) -> Group {
        fn ac(
            map: HashMap<Vec<u8>, Vec<u32>>,
            nocase: bool,
            next: &mut u32,
            always: &mut Vec<u32>,
        ) -> Option<Prefilter> {
            if map.is_empty() {
                return None;
            }
            let mut entries: Vec<(Vec<u8>, Vec<u32>)> = map.into_iter().collect();
            entries.sort();
            let (pats, ids): (Vec<Vec<u8>>, Vec<Vec<u32>>) = entries.into_iter().unzip();
            let longest = pats.iter().map(Vec::len).max().unwrap_or(0);
            let scanner = if pats.len() <= DFA_MAX_PATTERNS {
                aho_corasick::dfa::DFA::builder()
                    .ascii_case_insensitive(nocase)
                    .match_kind(MatchKind::Standard)
                    .build(&pats)
                    .map(|d| Scanner::Dfa(Box::new(d)))
            } else {
                aho_corasick::nfa::contiguous::NFA::builder()
                    .ascii_case_insensitive(nocase)
                    .match_kind(MatchKind::Standard)
                    .build(&pats)
                    .map(|n| Scanner::Nfa(Box::new(n)))
            };
            match scanner {
                Ok(scanner) => {
                    let base = *next;
                    *next += ids.len() as u32;
                    Some(Prefilter {
                        scanner,
                        ids,
                        base,
                        longest,
                    })
                }
                // Too big for the automaton: fall back to checking these rules always.
                Err(_) => {
                    always.extend(ids.into_iter().flatten());
                    None
                }
            }
        }
        let mut by_app: Vec<(AppProto, Group)> = Vec::with_capacity(self.by_app.len());
        for (a, mut sub) in self.by_app {
            for (buf, pats) in &self.ci {
                let into = sub.ci.entry(*buf).or_default();
                for (pat, ids) in pats {
                    into.entry(pat.clone()).or_default().extend(ids);
                }
            }
            by_app.push((a, sub.build(next_pattern, rules)));
        }
        by_app.sort_by_key(|(a, _)| a.name());
        let mut always = self.always;
        let mut bufs: Vec<(Buffer, Patterns)> = self.ci.into_iter().collect();
        bufs.sort_by_key(|(b, _)| *b);
        let ci = bufs
            .into_iter()
            .filter_map(|(b, map)| Some((b, ac(map, true, next_pattern, &mut always)?)))
            .collect();
        always.sort_unstable();
        always.dedup();
        let index = |ids: &[u32], src: bool| {
            let entries: Vec<(u32, &crate::vars::IpSet)> = ids
                .iter()
                .filter_map(|&i| {
                    rules
                        .get(i as usize)
                        .map(|r| (i, if src { &r.src } else { &r.dst }))
                })
                .collect();
            AddrIndex::new(&entries)
        };
        let by_src = index(&self.by_src, true);
        let by_dst = index(&self.by_dst, false);
        Group {
            always,
            ci,
            by_src,
            by_dst,
            by_app,
        }
    }
}

/// The size of one prefilter group: what a packet of this transport class (and
/// destination port, and app-layer protocol) is scanned with. From
/// [`RuleSet::prefilter_stats`](crate::RuleSet::prefilter_stats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefilterStats {
    /// Transport class: `tcp`, `udp`, `icmp` or `other`.
    pub class: &'static str,
    /// The destination port of a port group; `None` for the class's any-port group.
    pub dst_port: Option<u16>,
    /// The app-layer protocol of a protocol sub-group (its automaton also holds the
    /// parent group's patterns).
    pub app: Option<&'static str>,
    /// The buffer the automaton is scanned over (`pkt_data` for packet, message and
    /// stream bytes, else the buffer's name such as `HttpUri`; `-` for a group without
    /// patterns).
    pub buffer: String,
    /// Distinct fast patterns in the automaton.
    pub patterns: usize,
    /// `dfa`, `nfa`, or `none` (no pattern).
    pub automaton: &'static str,
    /// Heap bytes of the automaton.
    pub automaton_bytes: usize,
    /// Rules checked on every packet of the group (no fast pattern, no narrow address).
    pub always: usize,
}

impl Group {
    /// Appends the stats of this group and its protocol sub-groups to `out`.
    pub(crate) fn stats(
        &self,
        class: &'static str,
        dst_port: Option<u16>,
        out: &mut Vec<PrefilterStats>,
    ) {
        let one = |g: &Group, app: Option<&'static str>, out: &mut Vec<PrefilterStats>| {
            let base = PrefilterStats {
                class,
                dst_port,
                app,
                buffer: "-".to_string(),
                patterns: 0,
                automaton: "none",
                automaton_bytes: 0,
                always: g.always.len(),
            };
            if g.ci.is_empty() {
                out.push(base.clone());
            }
            for (b, p) in &g.ci {
                out.push(PrefilterStats {
                    buffer: match b {
                        Buffer::Payload => "pkt_data".to_string(),
                        b => format!("{b:?}"),
                    },
                    patterns: p.ids.len(),
                    automaton: p.scanner.kind(),
                    automaton_bytes: p.scanner.memory_usage(),
                    ..base.clone()
                });
            }
        };
        one(self, None, out);
        for (a, sub) in &self.by_app {
            one(sub, Some(a.name()), out);
        }
    }
}

pub(crate) fn collect(
    g: &Group,
    pkt: &PacketInput<'_>,
    app: &AppView<'_>,
    state: &mut DetectState,
) {
    let payload = pkt.payload;
    let DetectState {
        candidates: cands,
        seen,
        pattern_stamp,
        stamp,
        ..
    } = state;
    let mut add = |i: u32| {
        let (w, b) = ((i / 64) as usize, i % 64);
        if let Some(word) = seen.get_mut(w) {
            if *word & (1 << b) == 0 {
                *word |= 1 << b;
                cands.push(i);
            }
        }
    };
    let sub = app
        .proto()
        .and_then(|p| g.by_app.iter().find(|(a, _)| *a == p))
        .map(|(_, sub)| sub);
    for grp in std::iter::once(g).chain(sub) {
        for &i in &grp.always {
            add(i);
        }
        grp.by_src.lookup(pkt.ip.src, &mut add);
        grp.by_dst.lookup(pkt.ip.dst, &mut add);
    }
    if payload.is_empty() {
        return;
    }
    // One set of automata: the protocol sub-group's combined ones, or the group's own.
    let ci = sub.map_or(&g.ci, |s| &s.ci);
    for (buf, pf) in ci {
        let mut scan = |hay: &[u8]| {
            pf.scanner.scan(hay, pf.longest, &mut |pid| {
                let Some(slot) = pattern_stamp.get_mut(pf.base as usize + pid) else {
                    return;
                };
                if *slot != *stamp {
                    *slot = *stamp;
                    for &i in &pf.ids[pid] {
                        add(i);
                    }
                }
            });
        };
        if *buf == Buffer::Payload {
            scan(payload);
        } else {
            // Each instance of the buffer (several DNS names, certificates, ...).
            app.any(*buf, |bytes| {
                scan(bytes);
                false
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pattern ids occurring in `hay`, by naive search (ASCII case-insensitive).
    fn naive(pats: &[Vec<u8>], hay: &[u8]) -> Vec<usize> {
        let hay = hay.to_ascii_lowercase();
        (0..pats.len())
            .filter(|&i| {
                let p = pats[i].to_ascii_lowercase();
                hay.windows(p.len()).any(|w| w == p)
            })
            .collect()
    }

    fn found(sc: &Scanner, longest: usize, hay: &[u8]) -> Vec<usize> {
        let mut v = Vec::new();
        sc.scan(hay, longest, &mut |p| v.push(p));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// A small deterministic generator (xorshift), so failures replay.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn bytes(&mut self, n: usize, alphabet: &[u8]) -> Vec<u8> {
            (0..n)
                .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize])
                .collect()
        }
    }

    #[test]
    fn interleaved_walk_finds_what_a_naive_search_finds() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let alphabet = b"abcAB\x00";
        for round in 0..300 {
            let npat = 1 + (rng.next() % 12) as usize;
            let pats: Vec<Vec<u8>> = (0..npat)
                .map(|_| {
                    let n = 1 + (rng.next() % 40) as usize;
                    rng.bytes(n, alphabet)
                })
                .collect();
            let longest = pats.iter().map(Vec::len).max().unwrap();
            let dfa = aho_corasick::dfa::DFA::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .unwrap();
            let nfa = aho_corasick::nfa::contiguous::NFA::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&pats)
                .unwrap();
            let (dfa, nfa) = (Scanner::Dfa(Box::new(dfa)), Scanner::Nfa(Box::new(nfa)));
            // Lengths around the split threshold and the overlap, and long ones; patterns
            // planted across the middle.
            for len in [0, 1, 100, 255, 256, 257, 300, 1448, 3000] {
                let mut hay = rng.bytes(len, alphabet);
                if len > 0 {
                    let p = &pats[(rng.next() % npat as u64) as usize];
                    let at = (len / 2).saturating_sub(p.len() / 2 + (round % 3));
                    for (i, &b) in p.iter().enumerate() {
                        if let Some(h) = hay.get_mut(at + i) {
                            *h = b;
                        }
                    }
                }
                let want = naive(&pats, &hay);
                assert_eq!(
                    found(&dfa, longest, &hay),
                    want,
                    "dfa, round {round}, len {len}"
                );
                assert_eq!(
                    found(&nfa, longest, &hay),
                    want,
                    "nfa, round {round}, len {len}"
                );
            }
        }
    }

    #[test]
    fn a_pattern_straddling_the_middle_is_found_once_at_least() {
        let pats = vec![b"needle-in-the-middle".to_vec()];
        let dfa = aho_corasick::dfa::DFA::builder()
            .build(&pats)
            .map(|d| Scanner::Dfa(Box::new(d)))
            .unwrap();
        for shift in 0..pats[0].len() {
            let mut hay = vec![b'.'; 1000];
            let at = 500 - shift;
            hay[at..at + pats[0].len()].copy_from_slice(&pats[0]);
            assert_eq!(found(&dfa, pats[0].len(), &hay), vec![0], "shift {shift}");
        }
    }
}

#[cfg(test)]
mod stats_tests {
    use crate::{RuleSet, Vars};

    #[test]
    fn stats_name_each_group_with_its_patterns_and_automaton() {
        let text = r#"
alert tcp any any -> any any (content:"alpha"; sid:1;)
alert tcp any any -> any 8080 (content:"beta"; sid:2;)
alert http any any -> any any (http.uri; content:"/gamma"; sid:3;)
alert tcp any any -> any any (flags:S; sid:4;)
alert udp any any -> any 53 (content:"delta"; sid:5;)
"#;
        let mut b = RuleSet::builder().vars(Vars::suricata_defaults());
        b.add_str(text, "t.rules");
        let (set, report) = b.build();
        assert_eq!(report.loaded.len(), 5);
        let stats = set.prefilter_stats();
        let find = |class: &str, port: Option<u16>, app: Option<&str>, buf: &str| {
            stats
                .iter()
                .find(|g| g.class == class && g.dst_port == port && g.app == app && g.buffer == buf)
                .unwrap_or_else(|| panic!("no group {class} {port:?} {app:?} {buf} in {stats:?}"))
        };
        let tcp = find("tcp", None, None, "pkt_data");
        assert_eq!((tcp.patterns, tcp.automaton, tcp.always), (1, "dfa", 1));
        assert!(tcp.automaton_bytes > 0);
        // The HTTP sub-group scans the URI with its own automaton, and the payload with the
        // parent group's payload patterns.
        assert_eq!(find("tcp", None, Some("http"), "HttpUri").patterns, 1);
        assert_eq!(find("tcp", None, Some("http"), "pkt_data").patterns, 1);
        assert_eq!(find("tcp", Some(8080), None, "pkt_data").patterns, 1);
        assert_eq!(find("udp", Some(53), None, "pkt_data").patterns, 1);
        let icmp = find("icmp", None, None, "-");
        assert_eq!((icmp.patterns, icmp.automaton), (0, "none"));
    }
}
