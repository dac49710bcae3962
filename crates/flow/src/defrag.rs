//! IPv4 and IPv6 reassembly: collects fragments of a datagram and hands back the whole
//! datagram once every byte arrived.
//!
//! IPv6 datagrams are rebuilt as RFC 8200 section 4.5 describes: the first fragment's
//! unfragmentable part (the IPv6 header and the extension headers before the Fragment
//! header), with the Fragment header removed (its Next Header moves into the header that
//! pointed at it), then the fragment data.
//!
//! Sans-IO like the flow table: `now` is passed in, fragments are fed as byte slices, and the
//! reassembled datagram is written into a caller-owned buffer (reused between datagrams).
//! Memory is bounded: at most [`DefragConfig::max_trackers`] datagrams in progress and
//! [`DefragConfig::max_bytes`] buffered bytes; past either, the oldest datagram is dropped
//! and counted. Overlaps follow the "first" policy: bytes already received win over later
//! copies (Suricata's default is "bsd", which differs only for crafted overlaps).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// Reassembly limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams in progress at once.
    pub max_trackers: usize,
    /// Bytes buffered over all datagrams.
    pub max_bytes: usize,
    /// A datagram not completed within this time is dropped.
    pub timeout: Duration,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_trackers: 4096,
            max_bytes: 16 << 20,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DefragStats {
    /// Fragments fed.
    pub fragments: u64,
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Datagrams dropped unfinished (timeout or memory limits).
    pub dropped: u64,
    /// Fragments that overlapped bytes already received.
    pub overlaps: u64,
    /// Fragments rejected as invalid (past 65535 bytes, bad lengths).
    pub invalid: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    /// The IPv4 protocol (IPv6 keys on addresses and identification only).
    proto: u8,
    id: u32,
}

/// One fragment's facts, common to both IP versions.
struct Frag<'a> {
    key: Key,
    /// The header kept from the first fragment: the IPv4 header, or the IPv6
    /// unfragmentable part with the Fragment header's Next Header already moved in.
    header: std::borrow::Cow<'a, [u8]>,
    payload: &'a [u8],
    offset: usize,
    more: bool,
    v6: bool,
}

/// Parses an IPv4 fragment; None for non-fragments and malformed packets.
fn parse_v4(packet: &[u8]) -> Option<Frag<'_>> {
    let &vihl = packet.first()?;
    let hlen = ((vihl & 0x0f) as usize) * 4;
    if vihl >> 4 != 4 || hlen < 20 || packet.len() < hlen {
        return None;
    }
    let total = (be16(packet, 2) as usize).min(packet.len());
    if total < hlen {
        return None;
    }
    let fo = be16(packet, 6);
    let more = fo & 0x2000 != 0;
    let offset = ((fo & 0x1fff) as usize) * 8;
    if !more && offset == 0 {
        return None;
    }
    Some(Frag {
        key: Key {
            src: Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]).into(),
            dst: Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]).into(),
            proto: packet[9],
            id: u32::from(be16(packet, 4)),
        },
        header: std::borrow::Cow::Borrowed(&packet[..hlen]),
        payload: &packet[hlen..total],
        offset,
        more,
        v6: false,
    })
}

/// Parses an IPv6 fragment (a Fragment header after any Hop-by-Hop, Routing and
/// Destination Options headers); None for non-fragments and malformed packets.
fn parse_v6(packet: &[u8]) -> Option<Frag<'_>> {
    if packet.len() < 40 || packet[0] >> 4 != 6 {
        return None;
    }
    let end = (40 + be16(packet, 4) as usize).min(packet.len());
    let mut next = packet[6];
    let mut next_at = 6;
    let mut pos = 40;
    // Bounded: each extension header consumes at least 8 bytes.
    while matches!(next, 0 | 43 | 60) {
        let len = (usize::from(*packet.get(pos + 1)?) + 1) * 8;
        if pos + len > end {
            return None;
        }
        next = packet[pos];
        next_at = pos;
        pos += len;
    }
    if next != 44 || pos + 8 > end {
        return None;
    }
    let fo = be16(packet, pos + 2);
    let more = fo & 1 != 0;
    let offset = usize::from(fo >> 3) * 8;
    if !more && offset == 0 {
        // An atomic fragment (RFC 6946) is a whole datagram already.
        return None;
    }
    let mut header = packet[..pos].to_vec();
    header[next_at] = packet[pos];
    let src: [u8; 16] = packet[8..24].try_into().ok()?;
    let dst: [u8; 16] = packet[24..40].try_into().ok()?;
    let id = u32::from_be_bytes(packet[pos + 4..pos + 8].try_into().ok()?);
    Some(Frag {
        key: Key {
            src: Ipv6Addr::from(src).into(),
            dst: Ipv6Addr::from(dst).into(),
            proto: 0,
            id,
        },
        header: std::borrow::Cow::Owned(header),
        payload: &packet[pos + 8..end],
        offset,
        more,
        v6: true,
    })
}

#[derive(Debug)]
struct Tracker {
    first_seen: Duration,
    /// The first fragment's IP header (with options), once seen.
    header: Vec<u8>,
    /// Payload bytes, indexed by fragment offset.
    data: Vec<u8>,
    /// Received byte ranges, sorted and merged.
    have: Vec<(usize, usize)>,
    /// Payload length, known once the last fragment (MF clear) arrived.
    total: Option<usize>,
}

/// The IPv4 defragmenter.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    trackers: HashMap<Key, Tracker>,
    bytes: usize,
    stats: DefragStats,
}

fn be16(b: &[u8], at: usize) -> u16 {
    match b.get(at..at + 2) {
        Some(s) => u16::from_be_bytes([s[0], s[1]]),
        None => 0,
    }
}

impl Defragmenter {
    /// A defragmenter with these limits.
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            trackers: HashMap::new(),
            bytes: 0,
            stats: DefragStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Datagrams in progress.
    pub fn in_progress(&self) -> usize {
        self.trackers.len()
    }

    /// Feeds one IPv4 or IPv6 fragment (`packet` starts at its IP header and is as long as
    /// its length field says). Returns true when this fragment completed a datagram, which
    /// is then written into `out` (cleared first) as one unfragmented packet of the same
    /// version. Non-fragments and malformed input return false.
    pub fn push(&mut self, now: Duration, packet: &[u8], out: &mut Vec<u8>) -> bool {
        let parsed = match packet.first().map(|b| b >> 4) {
            Some(4) => parse_v4(packet),
            Some(6) => parse_v6(packet),
            _ => None,
        };
        let Some(Frag {
            key,
            header,
            payload,
            offset,
            more,
            v6,
        }) = parsed
        else {
            return false;
        };
        self.stats.fragments += 1;
        let hlen = header.len();
        let end = offset + payload.len();
        // The rebuilt datagram's length field must hold it: IPv4 total length counts the
        // header, IPv6 payload length counts what follows the 40-byte fixed header.
        let limit = if v6 { 65_535 + 40 } else { 65_535 };
        if end + hlen > limit || (more && payload.len() % 8 != 0) {
            self.stats.invalid += 1;
            return false;
        }
        self.expire(now);
        if !self.trackers.contains_key(&key) {
            while self.trackers.len() >= self.cfg.max_trackers.max(1) {
                self.drop_oldest();
            }
        }
        let t = self.trackers.entry(key).or_insert_with(|| Tracker {
            first_seen: now,
            header: Vec::new(),
            data: Vec::new(),
            have: Vec::new(),
            total: None,
        });
        if offset == 0 && t.header.is_empty() {
            t.header.extend_from_slice(&header);
        }
        if !more {
            match t.total {
                Some(x) if x != end => {
                    self.stats.invalid += 1;
                }
                _ => t.total = Some(end),
            }
        }
        if t.data.len() < end {
            self.bytes += end - t.data.len();
            t.data.resize(end, 0);
        }
        // First policy: copy only into the gaps.
        let mut pos = offset;
        let mut overlapped = false;
        for &(a, b) in t.have.iter() {
            if b <= pos || a >= end {
                continue;
            }
            if a > pos {
                t.data[pos..a].copy_from_slice(&payload[pos - offset..a - offset]);
            }
            overlapped = true;
            pos = pos.max(b);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            t.data[pos..end].copy_from_slice(&payload[pos - offset..]);
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        t.have.push((offset, end));
        t.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(t.have.len());
        for &(a, b) in &t.have {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        t.have = merged;
        let complete = match t.total {
            Some(total) => !t.header.is_empty() && t.have.first() == Some(&(0, total)),
            None => false,
        };
        if self.bytes > self.cfg.max_bytes {
            self.drop_oldest();
            return false;
        }
        if !complete {
            return false;
        }
        let t = self.trackers.remove(&key).expect("tracker just used");
        self.bytes -= t.data.len();
        let total = t.total.unwrap_or(0);
        out.clear();
        out.extend_from_slice(&t.header);
        out.extend_from_slice(&t.data[..total]);
        self.stats.reassembled += 1;
        if v6 {
            let len = ((out.len() - 40) as u16).to_be_bytes();
            out[4] = len[0];
            out[5] = len[1];
            return true;
        }
        let len = (out.len() as u16).to_be_bytes();
        out[2] = len[0];
        out[3] = len[1];
        // Clear MF and the offset, keep DF and the reserved bit.
        out[6] &= 0xc0;
        out[7] = 0;
        // Fresh header checksum over the rewritten header.
        let hlen = t.header.len();
        out[10] = 0;
        out[11] = 0;
        let mut sum: u32 = 0;
        for w in out[..hlen].chunks(2) {
            sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        let ck = (!(sum as u16)).to_be_bytes();
        out[10] = ck[0];
        out[11] = ck[1];
        true
    }

    /// Drops datagrams older than the timeout.
    pub fn expire(&mut self, now: Duration) {
        let timeout = self.cfg.timeout;
        let before = self.trackers.len();
        let mut freed = 0;
        self.trackers.retain(|_, t| {
            let keep = now.saturating_sub(t.first_seen) <= timeout;
            if !keep {
                freed += t.data.len();
            }
            keep
        });
        self.bytes -= freed;
        self.stats.dropped += (before - self.trackers.len()) as u64;
    }

    fn drop_oldest(&mut self) {
        let oldest = self
            .trackers
            .iter()
            .min_by_key(|(_, t)| t.first_seen)
            .map(|(k, _)| *k);
        if let Some(k) = oldest {
            if let Some(t) = self.trackers.remove(&k) {
                self.bytes -= t.data.len();
                self.stats.dropped += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An IPv6 fragment with a Destination Options header before the Fragment header.
    fn frag6(id: u32, offset8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![0x60, 0, 0, 0];
        v.extend_from_slice(&((8 + 8 + payload.len()) as u16).to_be_bytes());
        v.extend_from_slice(&[60, 64]);
        v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        v.extend_from_slice(&[0; 11]);
        v.push(1);
        v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        v.extend_from_slice(&[0; 11]);
        v.push(2);
        // Destination Options: next = Fragment (44), length 0 (8 bytes), PadN.
        v.extend_from_slice(&[44, 0, 1, 4, 0, 0, 0, 0]);
        // Fragment header: next = UDP (17).
        v.extend_from_slice(&[17, 0]);
        v.extend_from_slice(&(offset8 << 3 | u16::from(more)).to_be_bytes());
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv6_fragments_are_rebuilt_without_the_fragment_header() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut out = Vec::new();
        let (a, b) = ([1u8; 16], [2u8; 5]);
        assert!(!d.push(Duration::from_secs(0), &frag6(7, 2, false, &b), &mut out));
        // Same id from another IPv4-style key space does not mix in.
        assert!(!d.push(Duration::from_secs(0), &frag(7, 2, false, &b), &mut out));
        assert!(d.push(Duration::from_secs(1), &frag6(7, 0, true, &a), &mut out));
        assert_eq!(out.len(), 40 + 8 + 21);
        assert_eq!(u16::from_be_bytes([out[4], out[5]]), 8 + 21);
        assert_eq!(
            (out[6], out[40]),
            (60, 17),
            "next headers: dest opts, then UDP"
        );
        assert_eq!(&out[48..64], &a);
        assert_eq!(&out[64..], &b);
        assert_eq!(d.in_progress(), 1);
        // Atomic fragments and unaligned middle fragments are not reassembled.
        assert!(!d.push(Duration::from_secs(2), &frag6(8, 0, false, &a), &mut out));
        assert!(!d.push(Duration::from_secs(2), &frag6(9, 0, true, &b), &mut out));
        assert_eq!(d.stats().invalid, 1);
        // Cut anywhere, never a panic.
        let whole = frag6(10, 0, true, &a);
        for n in 0..whole.len() {
            d.push(Duration::from_secs(3), &whole[..n], &mut out);
        }
    }

    fn frag(id: u16, offset8: u16, more: bool, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let fo = offset8 | if more { 0x2000 } else { 0 };
        let mut v = vec![0x45, 0, (total >> 8) as u8, total as u8];
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&fo.to_be_bytes());
        v.extend_from_slice(&[64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn in_order_and_out_of_order() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut out = Vec::new();
        let s = Duration::from_secs;
        assert!(!d.push(s(0), &frag(1, 0, true, b"AAAAAAAA"), &mut out));
        assert!(d.push(s(0), &frag(1, 1, false, b"BBB"), &mut out));
        assert_eq!(&out[20..], b"AAAAAAAABBB");
        assert_eq!(be16(&out, 2), 31);
        assert_eq!(be16(&out, 6), 0);
        // The header checksum verifies (one's complement sum of the header is 0xffff).
        let mut sum: u32 = out[..20].chunks(2).map(|w| u32::from(be16(w, 0))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff);
        // Last fragment first, then the first.
        assert!(!d.push(s(1), &frag(2, 1, false, b"CC"), &mut out));
        assert!(d.push(s(1), &frag(2, 0, true, b"DDDDDDDD"), &mut out));
        assert_eq!(&out[20..], b"DDDDDDDDCC");
        assert_eq!(d.stats().reassembled, 2);
        assert_eq!(d.in_progress(), 0);
    }

    #[test]
    fn overlap_first_wins_and_limits() {
        let mut d = Defragmenter::new(DefragConfig::default());
        let mut out = Vec::new();
        let s = Duration::from_secs;
        d.push(s(0), &frag(3, 0, true, b"11111111"), &mut out);
        d.push(s(0), &frag(3, 0, true, b"22222222"), &mut out);
        assert!(d.push(s(0), &frag(3, 1, false, b"3"), &mut out));
        assert_eq!(&out[20..], b"111111113");
        assert_eq!(d.stats().overlaps, 1);
        // Non-fragments and garbage are ignored.
        let whole = frag(4, 0, false, b"x");
        assert!(!d.push(s(0), &whole, &mut out));
        assert!(!d.push(s(0), &[0x45, 0], &mut out));
        assert!(!d.push(s(0), &[], &mut out));
        // Past 65535 bytes is invalid.
        assert!(!d.push(s(0), &frag(5, 8191, false, b"zzzzzzzzzz"), &mut out));
        assert_eq!(d.stats().invalid, 1);
        // Timeout drops unfinished datagrams.
        d.push(s(0), &frag(6, 0, true, b"55555555"), &mut out);
        d.expire(s(61));
        assert_eq!(d.in_progress(), 0);
        // Tracker limit drops the oldest.
        let mut d = Defragmenter::new(DefragConfig {
            max_trackers: 2,
            ..Default::default()
        });
        for id in 0..5 {
            d.push(s(id as u64), &frag(id, 0, true, b"xxxxxxxx"), &mut out);
        }
        assert_eq!(d.in_progress(), 2);
        assert_eq!(d.stats().dropped, 3);
    }

    #[test]
    fn hostile_fragments_never_panic() {
        let mut d = Defragmenter::new(DefragConfig {
            max_bytes: 4096,
            ..Default::default()
        });
        let mut out = Vec::new();
        let mut seed = 7u64;
        for i in 0..20_000u64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let off = (seed >> 33) as u16 % 64;
            let more = seed & 1 == 1;
            let len = ((seed >> 20) % 24) as usize;
            let p = frag((seed >> 50) as u16 % 4, off, more, &vec![b'a'; len]);
            d.push(Duration::from_millis(i), &p, &mut out);
            assert!(d.bytes <= 4096 + 65_535);
        }
    }
}

/// Tracks the byte ranges of IPv6 fragments per datagram to flag overlaps (Suricata's
/// `ipv6.frag_overlap` decoder event). It keeps ranges only, no data: IPv6 reassembly
/// itself is not done yet. Bounded like [`Defragmenter`].
#[derive(Debug)]
pub struct FragOverlapTracker {
    cfg: DefragConfig,
    datagrams: HashMap<(std::net::IpAddr, std::net::IpAddr, u32), OverlapEntry>,
}

#[derive(Debug)]
struct OverlapEntry {
    first_seen: Duration,
    have: Vec<(usize, usize)>,
    total: Option<usize>,
}

/// The most ranges kept per datagram (a flood of tiny fragments stops being tracked).
const MAX_RANGES: usize = 256;

impl FragOverlapTracker {
    /// A tracker with these limits (`max_trackers`, `timeout`).
    pub fn new(cfg: DefragConfig) -> Self {
        FragOverlapTracker {
            cfg,
            datagrams: HashMap::new(),
        }
    }

    /// Records a fragment of `datagram` (source, destination, identification) covering `offset..offset + len`
    /// bytes, `more` when it is not the last. Returns true if it overlaps an earlier one.
    pub fn observe(
        &mut self,
        now: Duration,
        datagram: (std::net::IpAddr, std::net::IpAddr, u32),
        offset: usize,
        len: usize,
        more: bool,
    ) -> bool {
        let timeout = self.cfg.timeout;
        self.datagrams
            .retain(|_, e| now.saturating_sub(e.first_seen) <= timeout);
        let key = datagram;
        if !self.datagrams.contains_key(&key)
            && self.datagrams.len() >= self.cfg.max_trackers.max(1)
        {
            let oldest = self
                .datagrams
                .iter()
                .min_by_key(|(_, e)| e.first_seen)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.datagrams.remove(&k);
            }
        }
        let e = self.datagrams.entry(key).or_insert_with(|| OverlapEntry {
            first_seen: now,
            have: Vec::new(),
            total: None,
        });
        let end = offset.saturating_add(len);
        let overlap = len > 0 && e.have.iter().any(|&(a, b)| offset < b && a < end);
        if e.have.len() < MAX_RANGES {
            e.have.push((offset, end));
            e.have.sort_unstable();
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(e.have.len());
            for &(a, b) in &e.have {
                match merged.last_mut() {
                    Some(last) if a <= last.1 => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            e.have = merged;
        }
        if !more {
            e.total = Some(end);
        }
        if let Some(t) = e.total {
            if e.have.first() == Some(&(0, t)) {
                self.datagrams.remove(&key);
            }
        }
        overlap
    }

    /// Datagrams tracked.
    pub fn len(&self) -> usize {
        self.datagrams.len()
    }

    /// No datagram tracked.
    pub fn is_empty(&self) -> bool {
        self.datagrams.is_empty()
    }
}

#[cfg(test)]
mod overlap_tests {
    use super::*;

    #[test]
    fn duplicates_and_overlaps_are_flagged() {
        let mut t = FragOverlapTracker::new(DefragConfig::default());
        let (a, b) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        let s = Duration::from_secs;
        assert!(!t.observe(s(0), (a, b, 1), 0, 408, true));
        assert!(!t.observe(s(0), (a, b, 1), 408, 400, true));
        assert!(
            t.observe(s(1), (a, b, 1), 408, 400, true),
            "an exact duplicate overlaps"
        );
        assert!(!t.observe(s(2), (a, b, 1), 808, 400, false));
        assert!(t.is_empty(), "complete datagrams are forgotten");
        assert!(!t.observe(s(3), (a, b, 2), 0, 16, true));
        assert!(t.observe(s(3), (a, b, 2), 8, 16, false), "partial overlap");
        // Another datagram id does not overlap; timeouts forget.
        assert!(!t.observe(s(3), (a, b, 3), 0, 16, true));
        assert!(!t.observe(s(100), (a, b, 3), 0, 16, true));
        let mut t = FragOverlapTracker::new(DefragConfig {
            max_trackers: 2,
            ..Default::default()
        });
        for id in 0..10 {
            t.observe(s(id as u64), (a, b, id), 0, 8, true);
        }
        assert_eq!(t.len(), 2);
    }
}
