//! Bits kept per host and per IP pair, for the `xbits` and `hostbits` keywords.
//!
//! Suricata keeps these bits in its host table (`track ip_src`, `track ip_dst`, `hostbits`)
//! and its IP-pair table (`track ip_pair`), not with a flow: a bit set by one connection is
//! seen by every later connection of the same host (or pair of hosts) until it expires.
//!
//! Design:
//! - **Sans-IO, with the clock passed in.** Every call takes `now_secs`, the packet's time in
//!   whole seconds (Suricata compares bit expiry with the packet's `tv_sec`). A bit set at
//!   `t` with `expire E` lives while `now_secs <= t + E`; after that it reads as not set and
//!   is dropped when its entry is next touched or swept. Replayed captures therefore expire
//!   bits on the capture's clock, live traffic on the wall clock the driver passes.
//! - **Owned by one thread's detection state** ([`crate::DetectState`]): no locks. In
//!   `verdict run` each queue thread has its own engine and so its own bits; hosts seen on
//!   different queues do not share bits, because `--queue-balance` spreads packets by flow,
//!   not by host, so two connections of one host may land on different queues. `verdict
//!   pcap` runs one engine, so every bit is shared there, as in Suricata.
//! - **Bounded memory.** At most [`HostBitsConfig::max_hosts`] hosts and
//!   [`HostBitsConfig::max_pairs`] pairs are kept, each with at most
//!   [`HostBitsConfig::max_bits`] bits. When a table is full, entries whose bits all expired
//!   are swept first; if that is not enough, the entries that would expire soonest are
//!   evicted, a batch at a time (so an address scan costs amortised constant time per new
//!   host, not a table walk each). Evictions and sweeps are counted in [`HostBitsStats`]. A
//!   bit lost to eviction reads as not set, as in Suricata when its host table is full.
//! - Bit names are the rule set's own `Arc<str>` names, so the store allocates no strings per
//!   packet, and bits survive a rule set reload (a reloaded rule naming the same bit sees it).
//! - IPv4 and IPv6 addresses are different keys even when their bytes coincide (an IPv6
//!   packet never sees an IPv4 host's bits); an IP pair is unordered (`a -> b` and `b -> a`
//!   share their bits), as Suricata's IP-pair table is.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// Limits of a [`HostBits`] store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostBitsConfig {
    /// Most hosts with bits (`hostbits`, `xbits ... track ip_src|ip_dst`).
    pub max_hosts: usize,
    /// Most IP pairs with bits (`xbits ... track ip_pair`).
    pub max_pairs: usize,
    /// Most bits per host or pair; setting one more drops the one expiring soonest.
    pub max_bits: usize,
}

impl Default for HostBitsConfig {
    /// 65,536 hosts and 65,536 pairs of at most 16 bits each. An entry costs about 100 bytes
    /// with one bit and under 500 with 16 (24 bytes a bit, the name being shared with the
    /// rule), so a full table takes about 7 MiB in the common case and about 30 MiB at worst.
    fn default() -> Self {
        HostBitsConfig {
            max_hosts: 65_536,
            max_pairs: 65_536,
            max_bits: 16,
        }
    }
}

/// What the store did to stay within its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostBitsStats {
    /// Entries (hosts or pairs) removed because all their bits had expired.
    pub expired: u64,
    /// Entries removed while their bits were still live, because the table was full.
    pub evicted: u64,
    /// Live bits dropped because their entry had [`HostBitsConfig::max_bits`] bits.
    pub bits_evicted: u64,
}

/// Whose bit: a host or an (unordered) pair of hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BitKey {
    /// One host's bits.
    Host(IpAddr),
    /// Two hosts' shared bits; build it with [`BitKey::pair`] so the order does not matter.
    Pair(IpAddr, IpAddr),
}

impl BitKey {
    /// The key of the pair `a`, `b`, the same whichever way round they are given.
    pub fn pair(a: IpAddr, b: IpAddr) -> BitKey {
        if a <= b {
            BitKey::Pair(a, b)
        } else {
            BitKey::Pair(b, a)
        }
    }
}

/// One host's or pair's bits: (name, expiry in seconds).
#[derive(Debug, Clone, Default)]
struct Entry {
    bits: Vec<(Arc<str>, u64)>,
}

impl Entry {
    fn live(&self, name: &str, now_secs: u64) -> Option<usize> {
        self.bits
            .iter()
            .position(|(n, exp)| &**n == name && *exp >= now_secs)
    }

    /// The latest expiry of its bits (0 when it has none).
    fn last_expiry(&self) -> u64 {
        self.bits.iter().map(|&(_, e)| e).max().unwrap_or(0)
    }
}

/// Bits per host and per IP pair, with expiry on the caller's clock and bounded memory.
/// See the module documentation.
#[derive(Debug, Clone, Default)]
pub struct HostBits {
    config: HostBitsConfig,
    hosts: HashMap<IpAddr, Entry>,
    pairs: HashMap<(IpAddr, IpAddr), Entry>,
    stats: HostBitsStats,
}

impl HostBits {
    /// An empty store with these limits (a limit of 0 is taken as 1).
    pub fn new(config: HostBitsConfig) -> HostBits {
        HostBits {
            config: HostBitsConfig {
                max_hosts: config.max_hosts.max(1),
                max_pairs: config.max_pairs.max(1),
                max_bits: config.max_bits.max(1),
            },
            ..HostBits::default()
        }
    }

    /// The store's limits.
    pub fn config(&self) -> HostBitsConfig {
        self.config
    }

    /// What the store evicted so far.
    pub fn stats(&self) -> HostBitsStats {
        self.stats
    }

    /// Hosts and pairs currently held (live or not yet swept).
    pub fn len(&self) -> (usize, usize) {
        (self.hosts.len(), self.pairs.len())
    }

    /// True when no host or pair holds a bit.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.pairs.is_empty()
    }

    fn entry(&self, key: BitKey) -> Option<&Entry> {
        match key {
            BitKey::Host(a) => self.hosts.get(&a),
            BitKey::Pair(a, b) => self.pairs.get(&(a, b)),
        }
    }

    fn entry_mut(&mut self, key: BitKey) -> Option<&mut Entry> {
        match key {
            BitKey::Host(a) => self.hosts.get_mut(&a),
            BitKey::Pair(a, b) => self.pairs.get_mut(&(a, b)),
        }
    }

    /// True if bit `name` of `key` is set and not expired at `now_secs`.
    pub fn is_set(&self, key: BitKey, name: &str, now_secs: u64) -> bool {
        self.entry(key)
            .is_some_and(|e| e.live(name, now_secs).is_some())
    }

    /// Sets bit `name` of `key` to expire `expire_secs` after `now_secs`. Like Suricata, a bit
    /// that is already set keeps its expiry; an expired one is set anew.
    pub fn set(&mut self, key: BitKey, name: &Arc<str>, expire_secs: u32, now_secs: u64) {
        if self.is_set(key, name, now_secs) {
            return;
        }
        let expiry = now_secs.saturating_add(u64::from(expire_secs));
        let max_bits = self.config.max_bits;
        let mut dropped = 0;
        let entry = self.entry_or_insert(key, now_secs);
        // Forget expired bits (and the stale copy of this one) before counting.
        entry
            .bits
            .retain(|(n, exp)| *exp >= now_secs && **n != **name);
        while entry.bits.len() >= max_bits {
            let soonest = entry
                .bits
                .iter()
                .enumerate()
                .min_by_key(|(_, (_, e))| *e)
                .map(|(i, _)| i);
            match soonest {
                Some(i) => {
                    entry.bits.swap_remove(i);
                    dropped += 1;
                }
                None => break,
            }
        }
        entry.bits.push((name.clone(), expiry));
        self.stats.bits_evicted += dropped;
    }

    /// Clears bit `name` of `key` (nothing happens when it is not set).
    pub fn unset(&mut self, key: BitKey, name: &str) {
        let Some(entry) = self.entry_mut(key) else {
            return;
        };
        entry.bits.retain(|(n, _)| &**n != name);
        if entry.bits.is_empty() {
            self.remove(key);
        }
    }

    /// Flips bit `name` of `key`: clears it when set, else sets it as [`HostBits::set`] does.
    pub fn toggle(&mut self, key: BitKey, name: &Arc<str>, expire_secs: u32, now_secs: u64) {
        if self.is_set(key, name, now_secs) {
            self.unset(key, name);
        } else {
            self.set(key, name, expire_secs, now_secs);
        }
    }

    /// Removes every host and pair whose bits have all expired at `now_secs`.
    pub fn sweep(&mut self, now_secs: u64) {
        let before = self.hosts.len() + self.pairs.len();
        self.hosts.retain(|_, e| e.last_expiry() >= now_secs);
        self.pairs.retain(|_, e| e.last_expiry() >= now_secs);
        self.stats.expired += (before - self.hosts.len() - self.pairs.len()) as u64;
    }

    fn remove(&mut self, key: BitKey) {
        match key {
            BitKey::Host(a) => {
                self.hosts.remove(&a);
            }
            BitKey::Pair(a, b) => {
                self.pairs.remove(&(a, b));
            }
        }
    }

    /// The entry of `key`, made when missing; a full table is swept and, if still full,
    /// relieved of the entries expiring soonest first.
    fn entry_or_insert(&mut self, key: BitKey, now_secs: u64) -> &mut Entry {
        let missing = self.entry(key).is_none();
        if missing {
            let (len, max) = match key {
                BitKey::Host(_) => (self.hosts.len(), self.config.max_hosts),
                BitKey::Pair(..) => (self.pairs.len(), self.config.max_pairs),
            };
            if len >= max {
                self.make_room(key, now_secs);
            }
        }
        match key {
            BitKey::Host(a) => self.hosts.entry(a).or_default(),
            BitKey::Pair(a, b) => self.pairs.entry((a, b)).or_default(),
        }
    }

    /// Frees room in `key`'s table: expired entries go first, then, when fewer than a
    /// sixteenth of the table was freed, the entries whose last bit expires soonest until
    /// that much is free.
    fn make_room(&mut self, key: BitKey, now_secs: u64) {
        let (max, len_before) = match key {
            BitKey::Host(_) => (self.config.max_hosts, self.hosts.len()),
            BitKey::Pair(..) => (self.config.max_pairs, self.pairs.len()),
        };
        let target = max - (max / 16).max(1);
        let expired = match key {
            BitKey::Host(_) => {
                self.hosts.retain(|_, e| e.last_expiry() >= now_secs);
                len_before - self.hosts.len()
            }
            BitKey::Pair(..) => {
                self.pairs.retain(|_, e| e.last_expiry() >= now_secs);
                len_before - self.pairs.len()
            }
        };
        self.stats.expired += expired as u64;
        let evicted = match key {
            BitKey::Host(_) => evict_soonest(&mut self.hosts, target),
            BitKey::Pair(..) => evict_soonest(&mut self.pairs, target),
        };
        self.stats.evicted += evicted as u64;
    }
}

/// Removes the entries of `map` expiring soonest until at most `target` remain; returns how
/// many it removed.
fn evict_soonest<K: Copy + Eq + std::hash::Hash>(
    map: &mut HashMap<K, Entry>,
    target: usize,
) -> usize {
    if map.len() <= target {
        return 0;
    }
    let excess = map.len() - target;
    let mut by_expiry: Vec<(u64, K)> = map.iter().map(|(k, e)| (e.last_expiry(), *k)).collect();
    if excess < by_expiry.len() {
        by_expiry.select_nth_unstable_by_key(excess, |&(e, _)| e);
    }
    for (_, k) in by_expiry.iter().take(excess) {
        map.remove(k);
    }
    excess
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn name(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn set_isset_unset_per_host() {
        let mut hb = HostBits::default();
        let a = BitKey::Host(ip("10.0.0.1"));
        let b = BitKey::Host(ip("10.0.0.2"));
        let n = name("seen");
        assert!(!hb.is_set(a, "seen", 100));
        hb.set(a, &n, 30, 100);
        assert!(hb.is_set(a, "seen", 100));
        assert!(!hb.is_set(b, "seen", 100), "another host has its own bits");
        assert!(!hb.is_set(a, "other", 100));
        hb.unset(a, "seen");
        assert!(!hb.is_set(a, "seen", 100));
        assert!(hb.is_empty(), "a host without bits is removed");
        // Unset of a bit (or host) never set is a no-op.
        hb.unset(b, "seen");
        assert!(hb.is_empty());
    }

    #[test]
    fn toggle_flips() {
        let mut hb = HostBits::default();
        let a = BitKey::Host(ip("192.0.2.1"));
        let n = name("t");
        hb.toggle(a, &n, 30, 0);
        assert!(hb.is_set(a, "t", 0));
        hb.toggle(a, &n, 30, 1);
        assert!(!hb.is_set(a, "t", 1));
        hb.toggle(a, &n, 30, 2);
        assert!(hb.is_set(a, "t", 2));
        // An expired bit toggles to set (it reads as not set), with a fresh expiry.
        hb.toggle(a, &n, 30, 100);
        assert!(hb.is_set(a, "t", 130));
        assert!(!hb.is_set(a, "t", 131));
    }

    #[test]
    fn expiry_is_inclusive_in_whole_seconds() {
        let mut hb = HostBits::default();
        let a = BitKey::Host(ip("10.0.0.1"));
        hb.set(a, &name("x"), 10, 1_000);
        assert!(hb.is_set(a, "x", 1_010), "live through its last second");
        assert!(!hb.is_set(a, "x", 1_011));
        // A set on a live bit keeps its expiry (Suricata); on an expired bit, sets it anew.
        hb.set(a, &name("x"), 10, 1_005);
        assert!(!hb.is_set(a, "x", 1_011));
        hb.set(a, &name("x"), 10, 2_000);
        assert!(hb.is_set(a, "x", 2_010));
        assert!(!hb.is_set(a, "x", 2_011));
    }

    #[test]
    fn clock_going_back_keeps_bits() {
        let mut hb = HostBits::default();
        let a = BitKey::Host(ip("10.0.0.1"));
        hb.set(a, &name("x"), 10, 1_000);
        assert!(
            hb.is_set(a, "x", 900),
            "an earlier timestamp is before expiry"
        );
    }

    #[test]
    fn pair_is_unordered_and_distinct_from_hosts() {
        let mut hb = HostBits::default();
        let (a, b, c) = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3"));
        hb.set(BitKey::pair(a, b), &name("p"), 60, 0);
        assert!(hb.is_set(BitKey::pair(b, a), "p", 0));
        assert!(!hb.is_set(BitKey::pair(a, c), "p", 0));
        assert!(!hb.is_set(BitKey::Host(a), "p", 0));
        assert!(!hb.is_set(BitKey::Host(b), "p", 0));
        // A pair of a host with itself is a pair too.
        hb.set(BitKey::pair(c, c), &name("self"), 60, 0);
        assert!(hb.is_set(BitKey::pair(c, c), "self", 0));
        assert_eq!(hb.len(), (0, 2));
    }

    #[test]
    fn ipv4_and_ipv6_never_collide() {
        let mut hb = HostBits::default();
        // Same leading bytes, different families; and the IPv4-mapped form.
        let v4 = (ip("1.2.3.4"), ip("5.6.7.8"));
        let v6 = (ip("102:304::"), ip("506:708::"));
        hb.set(BitKey::pair(v4.0, v4.1), &name("b"), 60, 0);
        hb.set(BitKey::Host(v4.0), &name("h"), 60, 0);
        assert!(!hb.is_set(BitKey::pair(v6.0, v6.1), "b", 0));
        assert!(!hb.is_set(BitKey::Host(v6.0), "h", 0));
        assert!(!hb.is_set(BitKey::Host(ip("::ffff:1.2.3.4")), "h", 0));
        hb.set(BitKey::Host(v6.0), &name("h6"), 60, 0);
        assert!(hb.is_set(BitKey::Host(v6.0), "h6", 0));
        assert!(!hb.is_set(BitKey::Host(v4.0), "h6", 0));
    }

    #[test]
    fn full_table_sweeps_expired_before_evicting() {
        let mut hb = HostBits::new(HostBitsConfig {
            max_hosts: 4,
            max_pairs: 4,
            max_bits: 8,
        });
        for i in 0..4u8 {
            hb.set(BitKey::Host(IpAddr::from([10, 0, 0, i])), &name("x"), 5, 0);
        }
        assert_eq!(hb.len().0, 4);
        // All four expired at t=10: a new host sweeps them, nothing is evicted.
        hb.set(BitKey::Host(ip("10.0.1.1")), &name("x"), 5, 10);
        assert_eq!(hb.len().0, 1);
        assert_eq!(hb.stats().expired, 4);
        assert_eq!(hb.stats().evicted, 0);
    }

    #[test]
    fn full_table_evicts_soonest_expiring_and_counts() {
        let mut hb = HostBits::new(HostBitsConfig {
            max_hosts: 4,
            max_pairs: 4,
            max_bits: 8,
        });
        // Expiries 100, 200, 300, 400.
        for i in 0..4u8 {
            hb.set(
                BitKey::Host(IpAddr::from([10, 0, 0, i])),
                &name("x"),
                100 * (u32::from(i) + 1),
                0,
            );
        }
        let newcomer = BitKey::Host(ip("10.0.1.1"));
        hb.set(newcomer, &name("x"), 1_000, 1);
        assert!(hb.len().0 <= 4);
        assert_eq!(hb.stats().evicted, 1);
        assert!(hb.is_set(newcomer, "x", 1));
        assert!(
            !hb.is_set(BitKey::Host(ip("10.0.0.0")), "x", 1),
            "the soonest to expire went"
        );
        assert!(hb.is_set(BitKey::Host(ip("10.0.0.3")), "x", 1));
    }

    #[test]
    fn address_scan_stays_bounded() {
        let cfg = HostBitsConfig {
            max_hosts: 1_000,
            max_pairs: 1_000,
            max_bits: 4,
        };
        let mut hb = HostBits::new(cfg);
        let n = name("scan");
        for i in 0..100_000u32 {
            let a = IpAddr::from(i.to_be_bytes());
            hb.set(BitKey::Host(a), &n, 3_600, u64::from(i));
            hb.set(BitKey::pair(a, ip("10.0.0.1")), &n, 3_600, u64::from(i));
            assert!(hb.len().0 <= cfg.max_hosts && hb.len().1 <= cfg.max_pairs);
        }
        let s = hb.stats();
        assert!(s.evicted >= 2 * (100_000 - 1_000));
        // The latest host is still there.
        assert!(hb.is_set(
            BitKey::Host(IpAddr::from(99_999u32.to_be_bytes())),
            "scan",
            99_999
        ));
    }

    #[test]
    fn bits_per_entry_are_bounded() {
        let mut hb = HostBits::new(HostBitsConfig {
            max_hosts: 4,
            max_pairs: 4,
            max_bits: 3,
        });
        let a = BitKey::Host(ip("10.0.0.1"));
        for (i, n) in ["a", "b", "c", "d"].into_iter().enumerate() {
            hb.set(a, &name(n), 10 + i as u32, 0);
        }
        assert!(!hb.is_set(a, "a", 0), "the soonest-expiring bit made room");
        for n in ["b", "c", "d"] {
            assert!(hb.is_set(a, n, 0));
        }
        assert_eq!(hb.stats().bits_evicted, 1);
    }

    #[test]
    fn hostile_values() {
        let mut hb = HostBits::new(HostBitsConfig {
            max_hosts: 0,
            max_pairs: 0,
            max_bits: 0,
        });
        assert_eq!(hb.config().max_hosts, 1);
        let a = BitKey::Host(ip("::"));
        // Expiry past the end of time saturates instead of wrapping to "expired".
        hb.set(a, &name("x"), u32::MAX, u64::MAX - 5);
        assert!(hb.is_set(a, "x", u64::MAX));
        // An empty name and a huge one are names like any other.
        let long: Arc<str> = Arc::from("n".repeat(100_000));
        hb.set(BitKey::Host(ip("::1")), &long, 1, 0);
        hb.set(BitKey::Host(ip("::1")), &name(""), 1, 0);
        assert!(hb.is_set(BitKey::Host(ip("::1")), "", 0));
        assert_eq!(hb.len().0, 1, "a table of one host stays at one");
        hb.sweep(u64::MAX);
        hb.sweep(0);
    }
}
