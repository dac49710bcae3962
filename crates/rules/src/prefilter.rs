//! The prefilter: per rule group, one Aho-Corasick automaton over the rules' fast patterns,
//! and the lists of rules checked without a pattern (always, or by address).
//!
//! A packet costs one scan of its payload (and of the normalised app-layer buffers) per
//! applicable group; only the rules whose fast pattern occurs become candidates for the full
//! check in `ruleset.rs`.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::addr_index::AddrIndex;
use crate::app::AppView;
use crate::input::PacketInput;
use crate::rule::Rule;
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

/// The automaton behind a prefilter. A concrete DFA is walked byte by byte in a loop the
/// compiler can inline (the `AhoCorasick` wrapper dispatches every step dynamically);
/// groups too large for a DFA use the crate's own choice.
#[derive(Debug)]
enum Scanner {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Other(AhoCorasick),
}

impl Scanner {
    /// Calls `f` with the pattern id of every match (overlapping, possibly repeated).
    fn scan(&self, hay: &[u8], mut f: impl FnMut(usize)) {
        use aho_corasick::automaton::Automaton;
        use aho_corasick::Anchored;
        match self {
            Scanner::Dfa(dfa) => {
                let Ok(mut sid) = dfa.start_state(Anchored::No) else {
                    return;
                };
                for &b in hay {
                    sid = dfa.next_state(Anchored::No, sid, b);
                    if dfa.is_special(sid) {
                        if dfa.is_match(sid) {
                            for i in 0..dfa.match_len(sid) {
                                f(dfa.match_pattern(sid, i).as_usize());
                            }
                        } else if dfa.is_dead(sid) {
                            return;
                        }
                    }
                }
            }
            Scanner::Other(ac) => {
                for m in ac.find_overlapping_iter(hay) {
                    f(m.pattern().as_usize());
                }
            }
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
}

#[derive(Default)]
pub(crate) struct GroupBuilder {
    always: Vec<u32>,
    by_src: Vec<u32>,
    by_dst: Vec<u32>,
    ci: HashMap<Vec<u8>, Vec<u32>>,
}

impl GroupBuilder {
    pub(crate) fn add(&mut self, idx: u32, rule: &Rule) {
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
                // A full DFA's memory grows with the patterns: let the crate pick.
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(nocase)
                    .match_kind(MatchKind::Standard)
                    .build(&pats)
                    .map(Scanner::Other)
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
    for &i in &g.always {
        add(i);
    }
    g.by_src.lookup(pkt.ip.src, &mut add);
    g.by_dst.lookup(pkt.ip.dst, &mut add);
    if payload.is_empty() {
        return;
    }
    let mut scan = |hay: &[u8]| {
        for pf in g.ci.iter() {
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
