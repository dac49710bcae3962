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

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind};
use verdict_applayer::AppProto;

use crate::addr_index::AddrIndex;
use crate::app::AppView;
use crate::input::PacketInput;
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
fn walk<A: Automaton>(a: &A, hay: &[u8], mut f: impl FnMut(usize)) {
    let Ok(mut sid) = a.start_state(Anchored::No) else {
        return;
    };
    for &b in hay {
        sid = a.next_state(Anchored::No, sid, b);
        if a.is_special(sid) {
            if a.is_match(sid) {
                for i in 0..a.match_len(sid) {
                    f(a.match_pattern(sid, i).as_usize());
                }
            } else if a.is_dead(sid) {
                return;
            }
        }
    }
}

impl Scanner {
    /// Calls `f` with the pattern id of every match (overlapping, possibly repeated).
    fn scan(&self, hay: &[u8], f: impl FnMut(usize)) {
        match self {
            Scanner::Dfa(dfa) => walk(dfa.as_ref(), hay, f),
            Scanner::Nfa(nfa) => walk(nfa.as_ref(), hay, f),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Group {
    always: Vec<u32>,
    ci: Option<Prefilter>,
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
    ci: HashMap<Vec<u8>, Vec<u32>>,
    by_app: HashMap<AppProto, GroupBuilder>,
}

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
            Some((pat, _)) => self
                .ci
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
                    Some(Prefilter { scanner, ids, base })
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
            for (pat, ids) in &self.ci {
                sub.ci.entry(pat.clone()).or_default().extend(ids);
            }
            by_app.push((a, sub.build(next_pattern, rules)));
        }
        by_app.sort_by_key(|(a, _)| a.name());
        let mut always = self.always;
        let ci = ac(self.ci, true, next_pattern, &mut always);
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
    // One automaton: the protocol sub-group's combined one, or the group's own.
    let ci = sub.map_or(&g.ci, |s| &s.ci);
    let mut scan = |hay: &[u8]| {
        for pf in ci.iter() {
            pf.scanner.scan(hay, |pid| {
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
        }
    };
    scan(payload);
    // Fast patterns of app-layer buffers: the raw ones are slices of the payload (found
    // above); the normalised ones (URI, host, header block, DNS names) are scanned here.
    app.derived_buffers(payload, |b| scan(b));
}
