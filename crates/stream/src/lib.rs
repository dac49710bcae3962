//! Sans-IO TCP stream reassembly for Verdict, one direction at a time, with inline (IPS)
//! semantics.
//!
//! A [`Reassembler`] turns the TCP segments of one direction of a connection into the byte
//! stream the sender meant, and hands it over in [`Chunk`]s as soon as it becomes contiguous.
//! It reads no clock and does no I/O: the engine feeds it segments ([`Reassembler::segment`]),
//! the peer's acknowledgements ([`Reassembler::ack`]) and the end of the flow
//! ([`Reassembler::close`]).
//!
//! # Design (and how it differs from Suricata)
//! - **Inline, no waiting for ACKs.** An inline engine must judge each packet when it sees
//!   it, so in-order data is delivered at once, not when the peer acknowledges it (Suricata's
//!   IDS mode waits for the ACK; its inline mode, like this, does not). The offline `pcap`
//!   driver uses the very same code, so it gets the verdicts the live daemon would.
//! - **Offsets, not sequence numbers.** The first byte of the stream (ISN + 1 after a SYN, the
//!   first segment's sequence number on a midstream pickup) is offset 0; every sequence
//!   number is turned into a 64-bit offset relative to the next expected byte with wrapping
//!   32-bit arithmetic ([`seq_diff`]), so wrap-around and streams longer than 4 GiB are
//!   handled.
//! - **Out-of-order segments** are held (copied) in a small ordered map until the hole before
//!   them is filled, bounded by [`StreamConfig::ooo_memcap`] bytes per direction; a segment
//!   that would exceed it is not kept ([`StreamStats::memcap_drops`]): its sender retransmits
//!   it, and the retransmission is taken when the hole is filled.
//! - **Overlaps: first wins.** Bytes already delivered (forwarded, for an inline engine) or
//!   already held can not be changed by a later segment; only the part of a segment that is
//!   new is taken. When the overlapping part carries *different* bytes (classic IPS evasion),
//!   [`Event::OverlapDifferentData`] is raised, Suricata's
//!   `stream-event:reassembly_overlap_different_data`. To compare, the last
//!   [`StreamConfig::retain`] delivered bytes are kept; they also serve raw stream
//!   inspection ([`Reassembler::retained`]), so a pattern that straddles two segments is found.
//! - **Depth.** After [`StreamConfig::depth`] bytes (Suricata's `stream.reassembly.depth`,
//!   1 MiB by default) the direction is no longer reassembled: nothing more is delivered or
//!   held ([`Reassembler::depth_reached`]).
//! - **Gaps.** A hole that the peer acknowledges past (the data was lost before reaching us),
//!   or that is still open when the flow ends (RST, FIN, timeout), is given up on: a
//!   [`Chunk::Gap`] says how many bytes are missing, and delivery resumes after it, so
//!   parsers can resynchronise. Detection windows never span a gap ([`Reassembler::retained`]
//!   restarts after it), but logs show it: [`Reassembler::log_window`] renders the data
//!   before the last gaps with a `[N bytes missing]` marker in place of each, as Suricata's
//!   EVE payload of a stream alert does.
//!
//! # No-panic promise
//! No method panics, whatever the sequence numbers, flags and payloads given: all offset
//! arithmetic is checked or saturating and all slicing is bounds-checked. The
//! `stream_reassemble` fuzz target and the property tests check it.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::BTreeMap;

/// Reassembly settings for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Bytes reassembled per direction, after which the direction is no longer reassembled
    /// (Suricata's `stream.reassembly.depth`); 0 means no limit. Default 1 MiB.
    pub depth: u64,
    /// Bytes of out-of-order data held per direction; more is not kept (and counted in
    /// [`StreamStats::memcap_drops`]). Default 256 KiB.
    pub ooo_memcap: usize,
    /// Most out-of-order segments held per direction (bounds the map's overhead). Default 256.
    pub ooo_max_segments: usize,
    /// Bytes of delivered data kept for overlap checks and raw inspection. Default 16 KiB.
    pub retain: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            depth: 1 << 20,
            ooo_memcap: 256 << 10,
            ooo_max_segments: 256,
            retain: 16 << 10,
        }
    }
}

/// Stream events, named as Suricata's `stream-event` keyword names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// A segment overlapped data already seen with different bytes.
    OverlapDifferentData,
    /// Data was given up on: the peer acknowledged past a hole, or the flow ended with one.
    SeqGap,
}

impl Event {
    /// Suricata's name (without the `stream.` prefix).
    pub fn name(self) -> &'static str {
        match self {
            Event::OverlapDifferentData => "reassembly_overlap_different_data",
            Event::SeqGap => "reassembly_seq_gap",
        }
    }
}

/// A piece of the reassembled stream, in stream order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// Bytes at stream offset `offset`.
    Data {
        /// Stream offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes at `offset` are missing and will never be delivered.
    Gap {
        /// Stream offset of the first missing byte.
        offset: u64,
        /// Number of missing bytes.
        len: u64,
    },
}

/// What one call did, besides the chunks it delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Update {
    /// Bytes newly delivered (sum of the data chunks).
    pub delivered: u64,
    /// A gap was delivered.
    pub gap: bool,
    /// The segment overlapped earlier data with different bytes.
    pub overlap_different: bool,
    /// The segment (or part of it) was held out of order.
    pub held: bool,
    /// The segment was not kept because of the out-of-order memcap.
    pub memcap_drop: bool,
    /// The stream offsets the segment covers when it went (at least partly) to the
    /// out-of-order queue: see [`Reassembler::held_run`].
    pub held_range: Option<(u64, u64)>,
}

impl Update {
    /// The events this update raises.
    pub fn events(&self) -> impl Iterator<Item = Event> {
        [
            self.overlap_different
                .then_some(Event::OverlapDifferentData),
            self.gap.then_some(Event::SeqGap),
        ]
        .into_iter()
        .flatten()
    }
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Segments with payload seen.
    pub segments: u64,
    /// Segments (or parts) held out of order.
    pub ooo_segments: u64,
    /// Segments overlapping earlier data.
    pub overlaps: u64,
    /// ... of which with different bytes.
    pub overlaps_different: u64,
    /// Out-of-order segments not kept because of the memcap.
    pub memcap_drops: u64,
    /// Gaps given up on.
    pub gaps: u64,
    /// Bytes given up on.
    pub gap_bytes: u64,
}

/// Gaps remembered for [`Reassembler::log_window`].
pub const GAP_LOG_MAX: usize = 4;

/// TCP flag bits as on the wire.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
}

/// The signed distance from sequence number `b` to `a` (`a - b`) in 32-bit sequence space
/// (RFC 1982 style): positive when `a` is after `b`, whatever the wrap-around.
pub fn seq_diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// Reassembles one direction of a TCP connection. See the crate docs.
#[derive(Debug, Clone)]
pub struct Reassembler {
    cfg: StreamConfig,
    /// Stream started (a SYN or the first segment was seen).
    started: bool,
    /// A SYN was seen (the ISN is known).
    syn: bool,
    /// The sequence number of the next expected byte.
    next_seq: u32,
    /// Its stream offset.
    next: u64,
    /// Out-of-order data by stream offset; entries never overlap each other.
    held: BTreeMap<u64, Vec<u8>>,
    held_bytes: usize,
    /// The last delivered bytes: `retained` holds offsets `retained_start..next` (emptied on
    /// a gap).
    retained: Vec<u8>,
    retained_start: u64,
    /// The last gaps, oldest first: the data retained just before each (bounded by
    /// [`StreamConfig::retain`]) and the number of bytes missing. Only for logs.
    gap_log: Vec<(Vec<u8>, u64)>,
    /// Offset of the FIN, when seen (it takes one sequence number).
    fin: Option<u64>,
    depth_reached: bool,
    closed: bool,
    stats: StreamStats,
}

impl Reassembler {
    /// A direction with nothing seen yet.
    pub fn new(cfg: StreamConfig) -> Reassembler {
        Reassembler {
            cfg,
            started: false,
            syn: false,
            next_seq: 0,
            next: 0,
            held: BTreeMap::new(),
            held_bytes: 0,
            retained: Vec::new(),
            retained_start: 0,
            gap_log: Vec::new(),
            fin: None,
            depth_reached: false,
            closed: false,
            stats: StreamStats::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &StreamConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The stream offset of the next byte to deliver (= bytes delivered plus gaps).
    pub fn next_offset(&self) -> u64 {
        self.next
    }

    /// The sequence number of the next expected byte, once started.
    pub fn next_seq(&self) -> Option<u32> {
        self.started.then_some(self.next_seq)
    }

    /// Reassembly depth reached: nothing more is delivered in this direction.
    pub fn depth_reached(&self) -> bool {
        self.depth_reached
    }

    /// The direction was closed ([`Reassembler::close`]).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes held out of order.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// The last delivered bytes (at most [`StreamConfig::retain`], none before the last gap)
    /// and the stream offset of the first of them. They end at [`Reassembler::next_offset`].
    pub fn retained(&self) -> (u64, &[u8]) {
        (self.retained_start, &self.retained)
    }

    /// The last `back` bytes of delivered data as a log shows them: across the last gaps (at
    /// most [`GAP_LOG_MAX`] of them), each rendered as `[N bytes missing]`. A stream that
    /// started with a gap begins with its marker. [`Reassembler::retained`] is the part after
    /// the last gap.
    pub fn log_window(&self, back: usize) -> Vec<u8> {
        let tail = self
            .retained
            .get(self.retained.len().saturating_sub(back)..)
            .unwrap_or(&[]);
        let mut budget = back.saturating_sub(tail.len());
        // Pieces before the tail, newest first: (data, missing bytes after it).
        let mut pieces: Vec<(&[u8], u64)> = Vec::new();
        if tail.len() == self.retained.len() {
            for (data, missing) in self.gap_log.iter().rev() {
                if budget == 0 {
                    break;
                }
                let d = data.get(data.len().saturating_sub(budget)..).unwrap_or(&[]);
                budget = budget.saturating_sub(d.len());
                pieces.push((d, *missing));
                if d.len() < data.len() || budget == 0 {
                    break;
                }
            }
        }
        let mut out = Vec::with_capacity(back.min(1 << 16) + 24 * pieces.len());
        for (d, missing) in pieces.iter().rev() {
            out.extend_from_slice(d);
            out.extend_from_slice(format!("[{missing} bytes missing]").as_bytes());
        }
        out.extend_from_slice(tail);
        out
    }

    /// The contiguous run of out-of-order data around stream offsets `start..end` (usually
    /// a segment's [`Update::held_range`]), copied: its first offset and bytes. Inline
    /// engines inspect it at once (Suricata inline does), rather than waiting for the hole
    /// before it to fill. None when nothing is held there. Bounded by the memcap.
    pub fn held_run(&self, start: u64, end: u64) -> Option<(u64, Vec<u8>)> {
        // The held segment holding `start` (or the last one starting inside the range).
        let (&first, _) = self
            .held
            .range(..end)
            .next_back()
            .filter(|(&k, v)| k.saturating_add(v.len() as u64) > start)?;
        // Walk back while contiguous.
        let mut run_start = first;
        while let Some((&k, v)) = self.held.range(..run_start).next_back() {
            if k.saturating_add(v.len() as u64) == run_start {
                run_start = k;
            } else {
                break;
            }
        }
        let mut out = Vec::new();
        let mut at = run_start;
        for (&k, v) in self.held.range(run_start..) {
            if k != at {
                break;
            }
            out.extend_from_slice(v);
            at = k.saturating_add(v.len() as u64);
        }
        Some((run_start, out))
    }

    /// Takes one segment of this direction: its sequence number, TCP flags and payload.
    /// Calls `out` with every chunk that becomes deliverable, in stream order.
    pub fn segment(
        &mut self,
        seq: u32,
        tcp_flags: u8,
        payload: &[u8],
        mut out: impl FnMut(Chunk<'_>),
    ) -> Update {
        let mut up = Update::default();
        let syn = tcp_flags & flags::SYN != 0;
        if !self.started || (syn && self.next == 0 && self.held.is_empty()) {
            // A SYN fixes the ISN; without one (midstream pickup) the stream starts at the
            // first segment seen. A SYN arriving with nothing delivered yet (a reordered
            // handshake, or a SYN resent with another ISN) fixes it again.
            self.started = true;
            self.syn = syn;
            self.next_seq = if syn { seq.wrapping_add(1) } else { seq };
        }
        // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let start = self.offset_of(data_seq);
        let end = start.saturating_add(payload.len() as i64);
        if tcp_flags & flags::FIN != 0 && end >= 0 {
            self.fin.get_or_insert(end as u64);
        }
        if payload.is_empty() || self.closed {
            return up;
        }
        self.stats.segments += 1;
        if end <= 0 {
            // Entirely before the stream start (e.g. a keep-alive probe): nothing to take.
            return up;
        }
        // Drop what lies before offset 0.
        let skip = usize::try_from((-start).max(0)).unwrap_or(usize::MAX);
        let payload = payload.get(skip..).unwrap_or(&[]);
        let start = start.max(0) as u64;
        self.take(start, payload, &mut up, &mut out);
        up
    }

    /// Takes the ISN the peer's SYN-ACK acknowledges (`ack` = ISN + 1) while nothing is
    /// delivered or held yet: of several SYNs sent with different ISNs, the one the server
    /// answered is the session's (Suricata's SYN queue). Ignored once data flowed.
    pub fn synack(&mut self, ack: u32) {
        if self.syn && self.next == 0 && self.held.is_empty() {
            self.next_seq = ack;
        }
    }

    /// Takes the peer's acknowledgement number. When it acknowledges data beyond a hole we
    /// never saw, the data is lost to us: the hole becomes a [`Chunk::Gap`] and the data held
    /// after it is delivered.
    pub fn ack(&mut self, ack: u32, mut out: impl FnMut(Chunk<'_>)) -> Update {
        let mut up = Update::default();
        if !self.started || self.closed {
            return up;
        }
        let mut acked = self.offset_of(ack);
        // A FIN takes one sequence number, a SYN's ACK is ISN + 1 = offset 0.
        if let Some(f) = self.fin {
            if acked == f as i64 + 1 {
                acked = f as i64;
            }
        }
        if acked <= self.next as i64 {
            return up;
        }
        let acked = acked as u64;
        // Give up on the hole up to the acknowledged point or the first held segment, and
        // deliver what becomes contiguous, as often as needed.
        while self.next < acked && !self.depth_reached {
            let hole_end = match self.held.keys().next() {
                Some(&k) if k < acked => k,
                _ => acked,
            };
            if hole_end > self.next {
                self.gap_to(hole_end, &mut up, &mut out);
            }
            self.drain_held(&mut up, &mut out);
        }
        up
    }

    /// Ends the direction (FIN/RST seen and the flow is ending, timeout, end of capture):
    /// every held segment is delivered, with a [`Chunk::Gap`] for each hole before it.
    /// Nothing is taken afterwards.
    pub fn close(&mut self, mut out: impl FnMut(Chunk<'_>)) -> Update {
        let mut up = Update::default();
        while let Some(&k) = self.held.keys().next() {
            if self.depth_reached {
                break;
            }
            if k > self.next {
                self.gap_to(k, &mut up, &mut out);
            }
            self.drain_held(&mut up, &mut out);
        }
        self.held.clear();
        self.held_bytes = 0;
        self.closed = true;
        up
    }

    /// The stream offset of sequence number `seq`, relative to the next expected byte.
    fn offset_of(&self, seq: u32) -> i64 {
        (self.next as i64).saturating_add(seq_diff(seq, self.next_seq))
    }

    /// The limit beyond which nothing is taken (`u64::MAX` without a depth).
    fn limit(&self) -> u64 {
        if self.cfg.depth == 0 {
            u64::MAX
        } else {
            self.cfg.depth
        }
    }

    /// Takes `bytes` at stream offset `start` (>= 0).
    fn take(&mut self, start: u64, bytes: &[u8], up: &mut Update, out: &mut impl FnMut(Chunk<'_>)) {
        let end = start.saturating_add(bytes.len() as u64);
        // 1. The part before `next` overlaps delivered data: compare with what is retained.
        if start < self.next {
            self.stats.overlaps += 1;
            let ov_end = end.min(self.next);
            let from = start.max(self.retained_start);
            if from < ov_end {
                let a = (from - self.retained_start) as usize;
                let b = (ov_end - self.retained_start) as usize;
                let c = (from - start) as usize;
                let d = (ov_end - start) as usize;
                if let (Some(old), Some(new)) = (self.retained.get(a..b), bytes.get(c..d)) {
                    if old != new {
                        self.overlap_different(up);
                    }
                }
            }
        }
        if end <= self.next || self.depth_reached {
            return;
        }
        let cut = self.next.saturating_sub(start) as usize;
        let (start, bytes) = (start.max(self.next), bytes.get(cut..).unwrap_or(&[]));
        if start == self.next {
            // 2. In order: deliver the part before the first held segment (held bytes win
            // where they overlap), then whatever held data becomes contiguous.
            let first_held = self.held.keys().next().copied().unwrap_or(u64::MAX);
            let n = (first_held.saturating_sub(start) as usize).min(bytes.len());
            let (now, rest) = bytes.split_at(n);
            self.deliver(now, up, out);
            if !rest.is_empty() {
                // The rest overlaps held segments: compare and hold what is new.
                self.hold(start + n as u64, rest, up);
            }
            self.drain_held(up, out);
        } else {
            // 3. Out of order: hold it.
            self.hold(start, bytes, up);
        }
    }

    fn overlap_different(&mut self, up: &mut Update) {
        up.overlap_different = true;
        self.stats.overlaps_different += 1;
    }

    /// Holds `bytes` at `start` (> next), keeping earlier held bytes where they overlap.
    fn hold(&mut self, start: u64, bytes: &[u8], up: &mut Update) {
        let limit = self.limit();
        if start >= limit {
            return;
        }
        let end = start
            .saturating_add(bytes.len() as u64)
            .min(limit)
            .max(start);
        up.held_range = Some((start, end));
        // The pieces of [start, end) not covered by held segments, after comparing the
        // covered ones.
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cur = start;
        let mut overlapped = false;
        let mut different = false;
        // A held segment starting before `start` may reach into it.
        let before = self
            .held
            .range(..start)
            .next_back()
            .map(|(&k, v)| (k, v.len() as u64));
        let overlapping = before.into_iter().chain(
            self.held
                .range(start..end)
                .map(|(&k, v)| (k, v.len() as u64)),
        );
        for (k, len) in overlapping {
            let (hs, he) = (k, k.saturating_add(len));
            if he <= cur || hs >= end {
                continue;
            }
            if hs > cur {
                pieces.push((cur, hs));
            }
            let (os, oe) = (hs.max(cur), he.min(end));
            overlapped = true;
            if let (Some(old), Some(new)) = (
                self.held
                    .get(&k)
                    .and_then(|v| v.get((os - hs) as usize..(oe - hs) as usize)),
                bytes.get((os - start) as usize..(oe - start) as usize),
            ) {
                different |= old != new;
            }
            cur = oe;
        }
        if cur < end {
            pieces.push((cur, end));
        }
        if overlapped {
            self.stats.overlaps += 1;
        }
        if different {
            self.overlap_different(up);
        }
        for (s, e) in pieces {
            let len = (e - s) as usize;
            if self.held_bytes.saturating_add(len) > self.cfg.ooo_memcap
                || self.held.len() >= self.cfg.ooo_max_segments
            {
                up.memcap_drop = true;
                self.stats.memcap_drops += 1;
                return;
            }
            let Some(b) = bytes.get((s - start) as usize..(e - start) as usize) else {
                continue;
            };
            self.held.insert(s, b.to_vec());
            self.held_bytes += len;
            self.stats.ooo_segments += 1;
            up.held = true;
        }
    }

    /// Delivers held segments that start at `next` (or before it, trimmed).
    fn drain_held(&mut self, up: &mut Update, out: &mut impl FnMut(Chunk<'_>)) {
        while let Some((&k, _)) = self.held.iter().next() {
            if k > self.next {
                break;
            }
            let Some(v) = self.held.remove(&k) else {
                break;
            };
            self.held_bytes = self.held_bytes.saturating_sub(v.len());
            let skip = (self.next - k) as usize;
            if let Some(rest) = v.get(skip..) {
                if !rest.is_empty() && !self.depth_reached {
                    self.deliver(rest, up, out);
                }
            }
        }
        if self.depth_reached {
            self.held.clear();
            self.held_bytes = 0;
        }
    }

    /// Delivers in-order bytes at `next`, up to the depth.
    fn deliver(&mut self, bytes: &[u8], up: &mut Update, out: &mut impl FnMut(Chunk<'_>)) {
        let room = self.limit().saturating_sub(self.next);
        let n = usize::try_from(room).unwrap_or(usize::MAX).min(bytes.len());
        let bytes = bytes.get(..n).unwrap_or(&[]);
        if !bytes.is_empty() {
            out(Chunk::Data {
                offset: self.next,
                bytes,
            });
            self.retain(bytes);
            self.next += n as u64;
            self.next_seq = self.next_seq.wrapping_add(n as u32);
            up.delivered += n as u64;
        }
        if self.next >= self.limit() {
            self.depth_reached = true;
        }
    }

    /// Gives up on the bytes from `next` to `to`.
    fn gap_to(&mut self, to: u64, up: &mut Update, out: &mut impl FnMut(Chunk<'_>)) {
        let to = to.min(self.limit());
        if to <= self.next {
            return;
        }
        let len = to - self.next;
        out(Chunk::Gap {
            offset: self.next,
            len,
        });
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        up.gap = true;
        self.next = to;
        self.next_seq = self.next_seq.wrapping_add(len as u32);
        let keep = self.retained.len().saturating_sub(self.cfg.retain);
        let before = self.retained.split_off(keep);
        if self.gap_log.len() >= GAP_LOG_MAX {
            self.gap_log.remove(0);
        }
        self.gap_log.push((before, len));
        self.retained.clear();
        self.retained_start = to;
        if self.next >= self.limit() {
            self.depth_reached = true;
        }
    }

    /// Keeps the last `retain` delivered bytes; trims in bulk so the cost is amortised.
    fn retain(&mut self, bytes: &[u8]) {
        let keep = self.cfg.retain;
        if keep == 0 {
            self.retained_start = self.next + bytes.len() as u64;
            return;
        }
        self.retained.extend_from_slice(bytes);
        if self.retained.len() > keep.saturating_mul(2) || self.retained.len() > keep + (64 << 10) {
            let cut = self.retained.len() - keep;
            self.retained.drain(..cut);
            self.retained_start += cut as u64;
        }
    }
}

#[cfg(test)]
mod tests;
