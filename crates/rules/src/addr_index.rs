//! An address index for rules without a fast pattern (Suricata's "IP-only" rules, e.g. the
//! reputation lists of ET's botcc/compromised/ciarmy files): the address space is cut into
//! elementary intervals at every range boundary of the indexed rules' address sets, and each
//! interval lists the rules whose set covers it. A packet address then finds its candidate
//! rules with one binary search instead of checking every rule.
//!
//! Only *narrow* sets are indexed ([`IpSet::is_narrow`]), so interval lists stay short; rules
//! on wide sets (`any`, `$EXTERNAL_NET`) stay in the group's always-checked list.

use std::net::IpAddr;

use crate::vars::IpSet;

#[derive(Debug, Default)]
pub(crate) struct AddrIndex {
    v4_starts: Vec<u32>,
    v4_rules: Vec<Vec<u32>>,
    v6_starts: Vec<u128>,
    v6_rules: Vec<Vec<u32>>,
}

fn build<T: Copy + Ord + num::Bound>(sets: &[(u32, Vec<(T, T)>)]) -> (Vec<T>, Vec<Vec<u32>>) {
    let mut starts: Vec<T> = vec![T::ZERO];
    for (_, ranges) in sets {
        for &(a, b) in ranges {
            starts.push(a);
            if let Some(n) = b.succ() {
                starts.push(n);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut rules = vec![Vec::new(); starts.len()];
    for (idx, ranges) in sets {
        for &(a, b) in ranges {
            let from = starts.partition_point(|&s| s < a);
            let to = match b.succ() {
                Some(n) => starts.partition_point(|&s| s < n),
                None => starts.len(),
            };
            for list in &mut rules[from..to] {
                if list.last() != Some(idx) {
                    list.push(*idx);
                }
            }
        }
    }
    (starts, rules)
}

mod num {
    pub trait Bound: Sized {
        const ZERO: Self;
        fn succ(self) -> Option<Self>;
    }
    impl Bound for u32 {
        const ZERO: u32 = 0;
        fn succ(self) -> Option<u32> {
            self.checked_add(1)
        }
    }
    impl Bound for u128 {
        const ZERO: u128 = 0;
        fn succ(self) -> Option<u128> {
            self.checked_add(1)
        }
    }
}

impl AddrIndex {
    /// Builds the index over `(rule index, address set)` pairs.
    pub(crate) fn new(entries: &[(u32, &IpSet)]) -> AddrIndex {
        if entries.is_empty() {
            return AddrIndex::default();
        }
        let v4: Vec<(u32, Vec<(u32, u32)>)> = entries
            .iter()
            .map(|(i, s)| (*i, s.v4_ranges().to_vec()))
            .collect();
        let v6: Vec<(u32, Vec<(u128, u128)>)> = entries
            .iter()
            .map(|(i, s)| (*i, s.v6_ranges().to_vec()))
            .collect();
        let (v4_starts, v4_rules) = build(&v4);
        let (v6_starts, v6_rules) = build(&v6);
        AddrIndex {
            v4_starts,
            v4_rules,
            v6_starts,
            v6_rules,
        }
    }

    /// The rules whose set contains `ip` (for IPv4-mapped IPv6, the IPv4 rules too).
    pub(crate) fn lookup(&self, ip: IpAddr, mut f: impl FnMut(u32)) {
        fn find<T: Copy + Ord>(starts: &[T], lists: &[Vec<u32>], x: T, f: &mut impl FnMut(u32)) {
            let i = starts.partition_point(|&s| s <= x);
            if i > 0 {
                if let Some(l) = lists.get(i - 1) {
                    l.iter().for_each(|&r| f(r));
                }
            }
        }
        match ip {
            IpAddr::V4(a) => find(&self.v4_starts, &self.v4_rules, u32::from(a), &mut f),
            IpAddr::V6(a) => {
                if let Some(v4) = a.to_ipv4_mapped() {
                    find(&self.v4_starts, &self.v4_rules, u32::from(v4), &mut f);
                }
                find(&self.v6_starts, &self.v6_rules, u128::from(a), &mut f)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_addr;
    use crate::vars::Vars;

    fn set(s: &str) -> IpSet {
        Vars::empty().resolve_addr(&parse_addr(s).unwrap()).unwrap()
    }

    #[test]
    fn finds_exactly_the_covering_rules() {
        let a = set("[1.1.1.1,2.2.2.0/24]");
        let b = set("2.2.2.128/25");
        let c = set("2001:db8::/64");
        let idx = AddrIndex::new(&[(0, &a), (1, &b), (2, &c)]);
        let get = |s: &str| {
            let mut v = Vec::new();
            idx.lookup(s.parse().unwrap(), |r| v.push(r));
            v
        };
        assert_eq!(get("1.1.1.1"), vec![0]);
        assert_eq!(get("1.1.1.2"), Vec::<u32>::new());
        assert_eq!(get("2.2.2.1"), vec![0]);
        assert_eq!(get("2.2.2.200"), vec![0, 1]);
        assert_eq!(get("2.2.3.0"), Vec::<u32>::new());
        assert_eq!(get("2001:db8::5"), vec![2]);
        assert_eq!(get("255.255.255.255"), Vec::<u32>::new());
    }
}
