//! Bidirectional flow tracking for Verdict: a bounded flow table keyed by the normalised
//! 5-tuple, with TCP state, direction, per-direction counters, stable flow ids and timeouts.
//!
//! # Design
//! - **Sans-IO, virtual time.** Nothing here reads a clock: every call takes `now` (a
//!   [`Duration`] since any fixed epoch: pcap timestamps offline, a monotonic clock live), so
//!   tests drive the table with made-up times and replaying a capture is deterministic.
//! - **Bounded memory.** The table never holds more than [`FlowConfig::max_flows`] flows.
//!   Flows live in a slab (a `Vec` reused through a free list) threaded on an intrusive
//!   least-recently-seen list, so both "touch" and "evict the oldest" are O(1). When the table
//!   is full, the least recently seen flow is evicted and [`FlowStats::evicted`] counts it.
//! - **Direction.** The side that sent the first packet is the client (`to_server` is true
//!   for its packets); with midstream pickup, a first packet that is a SYN/ACK makes its
//!   receiver the client, as Suricata does.
//! - **Established**, as Suricata computes it before the stream engine sees the packet: TCP
//!   once the 3-way handshake completed (or a midstream pickup happened) on an earlier packet;
//!   other protocols once packets were seen in both directions, this one included.
//! - **Generic user data.** Each flow carries a `T` (the engine keeps flowbits and its
//!   drop/pass marks there); it is created with `T::default()` and handed back on expiry.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::time::Duration;

pub mod defrag;
pub use defrag::{DefragConfig, DefragStats, Defragmenter, FragOverlapTracker};

pub use verdict_decode::{FlowKey, FlowKeyDir};

/// TCP flag bits used by the tracker.
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Idle timeouts per protocol and state (Suricata's defaults in [`Timeouts::default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP before the handshake completes.
    pub tcp_new: Duration,
    /// Established TCP.
    pub tcp_established: Duration,
    /// Closed TCP (FIN both ways or RST).
    pub tcp_closed: Duration,
    /// UDP seen in one direction only.
    pub udp_new: Duration,
    /// UDP seen both ways.
    pub udp_established: Duration,
    /// Other protocols (ICMP, ...), one direction.
    pub other_new: Duration,
    /// Other protocols, both ways.
    pub other_established: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let s = Duration::from_secs;
        Timeouts {
            tcp_new: s(60),
            tcp_established: s(600),
            tcp_closed: s(60),
            udp_new: s(30),
            udp_established: s(300),
            other_new: s(30),
            other_established: s(300),
        }
    }
}

/// Flow table settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// The most flows held at once; more evict the least recently seen.
    pub max_flows: usize,
    /// Pick up TCP sessions whose handshake was not seen (Suricata's `stream.midstream`).
    pub midstream: bool,
    /// Idle timeouts.
    pub timeouts: Timeouts,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 65_536,
            midstream: false,
            timeouts: Timeouts::default(),
        }
    }
}

/// TCP connection state as the tracker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// Not TCP, or a TCP flow whose start was not seen and midstream pickup is off.
    None,
    /// The client's SYN was seen.
    SynSent,
    /// The server's SYN/ACK was seen.
    SynRecv,
    /// Handshake complete, or picked up midstream.
    Established,
    /// One side sent FIN.
    Closing,
    /// Both sides sent FIN, or a RST was seen.
    Closed,
}

/// Per-direction counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Packets.
    pub pkts: u64,
    /// Bytes (IP length).
    pub bytes: u64,
}

/// One tracked flow.
#[derive(Debug, Clone)]
pub struct Flow<T> {
    /// Stable id (unique per table, below 2^51 so it is exact in JSON).
    pub id: u64,
    /// The normalised key.
    pub key: FlowKey,
    /// Which key endpoint is the client.
    pub client: FlowKeyDir,
    /// TCP state (`None` for other protocols).
    pub tcp: TcpState,
    /// When the first packet was seen.
    pub first_seen: Duration,
    /// When the latest packet was seen.
    pub last_seen: Duration,
    /// Client to server counters.
    pub to_server: Counters,
    /// Server to client counters.
    pub to_client: Counters,
    fin_client: bool,
    fin_server: bool,
    /// User data.
    pub data: T,
}

impl<T> Flow<T> {
    /// Packets were seen in both directions.
    pub fn both_ways(&self) -> bool {
        self.to_server.pkts > 0 && self.to_client.pkts > 0
    }

    fn established(&self) -> bool {
        if self.key.proto == 6 {
            matches!(
                self.tcp,
                TcpState::Established | TcpState::Closing | TcpState::Closed
            )
        } else {
            self.both_ways()
        }
    }

    fn timeout(&self, t: &Timeouts) -> Duration {
        match (self.key.proto, self.tcp) {
            (6, TcpState::Closed) => t.tcp_closed,
            (6, TcpState::Established | TcpState::Closing) => t.tcp_established,
            (6, _) => t.tcp_new,
            (17, _) if self.both_ways() => t.udp_established,
            (17, _) => t.udp_new,
            _ if self.both_ways() => t.other_established,
            _ => t.other_new,
        }
    }
}

/// A handle to a flow in the table, valid until the next call that may remove flows
/// ([`FlowTable::track`], [`FlowTable::expire`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowHandle(u32);

/// What [`FlowTable::track`] tells about the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    /// The flow.
    pub handle: FlowHandle,
    /// The flow's id.
    pub flow_id: u64,
    /// The packet goes client -> server.
    pub to_server: bool,
    /// The flow counts as established for this packet.
    pub established: bool,
    /// This packet created the flow.
    pub new_flow: bool,
}

/// Table counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlowStats {
    /// Flows currently held.
    pub active: usize,
    /// Flows created.
    pub created: u64,
    /// Flows removed because they were idle past their timeout.
    pub expired: u64,
    /// Flows removed early because the table was full (raise `max_flows` if this grows).
    pub evicted: u64,
    /// TCP flows ended by a new SYN on the same tuple (port reuse).
    pub reused: u64,
}

const NIL: u32 = u32::MAX;

struct Slot<T> {
    flow: Option<Flow<T>>,
    prev: u32,
    next: u32,
}

/// The flow table. See the crate docs.
pub struct FlowTable<T> {
    cfg: FlowConfig,
    map: HashMap<FlowKey, u32>,
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    /// Most recently seen.
    head: u32,
    /// Least recently seen.
    tail: u32,
    next_id: u64,
    stats: FlowStats,
}

/// Why a flow left the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Idle past its timeout.
    Expired,
    /// Evicted to make room.
    Evicted,
    /// Replaced by a new connection on the same tuple.
    Reused,
}

fn mix_id(n: u64) -> u64 {
    // splitmix64 finaliser: ids look random (like Suricata's) but stay unique, since the
    // function is a bijection on u64; masked to 51 bits for exact JSON numbers. Uniqueness
    // holds for the first 2^51 flows of a table.
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let id = z & ((1 << 51) - 1);
    if id == 0 {
        1
    } else {
        id
    }
}

impl<T: Default> FlowTable<T> {
    /// An empty table.
    pub fn new(cfg: FlowConfig) -> Self {
        let cfg = FlowConfig {
            max_flows: cfg.max_flows.clamp(1, NIL as usize - 1),
            ..cfg
        };
        FlowTable {
            cfg,
            map: HashMap::with_capacity(cfg.max_flows.min(1 << 16)),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            next_id: 0,
            stats: FlowStats::default(),
        }
    }

    /// Settings in force.
    pub fn config(&self) -> &FlowConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> FlowStats {
        FlowStats {
            active: self.map.len(),
            ..self.stats
        }
    }

    /// Number of flows held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No flows held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The flow behind a handle.
    pub fn get(&self, h: FlowHandle) -> Option<&Flow<T>> {
        self.slots.get(h.0 as usize).and_then(|s| s.flow.as_ref())
    }

    /// The flow behind a handle, mutably.
    pub fn get_mut(&mut self, h: FlowHandle) -> Option<&mut Flow<T>> {
        self.slots
            .get_mut(h.0 as usize)
            .and_then(|s| s.flow.as_mut())
    }

    /// Looks a flow up by key without touching it.
    pub fn lookup(&self, key: &FlowKey) -> Option<&Flow<T>> {
        self.map
            .get(key)
            .and_then(|&i| self.slots[i as usize].flow.as_ref())
    }

    /// Accounts one packet: finds or creates its flow, updates direction, TCP state and
    /// counters. `tcp_flags` is the TCP flag byte for TCP packets, `bytes` the packet's
    /// length (Suricata counts the captured frame, link header included).
    /// Flows removed to make room (or idle ones found on the way) go to `removed`.
    pub fn track(
        &mut self,
        now: Duration,
        key: FlowKey,
        dir: FlowKeyDir,
        tcp_flags: Option<u8>,
        bytes: usize,
        mut removed: impl FnMut(Flow<T>, Removal),
    ) -> Tracked {
        let flags = tcp_flags.unwrap_or(0);
        let mut idx = self.map.get(&key).copied();
        if let Some(i) = idx {
            let f = self.slots[i as usize]
                .flow
                .as_ref()
                .expect("mapped slot holds a flow");
            let idle = now.saturating_sub(f.last_seen);
            let reuse =
                key.proto == 6 && f.tcp == TcpState::Closed && flags & (SYN | ACK | RST) == SYN;
            if idle > f.timeout(&self.cfg.timeouts) {
                let fl = self.remove(i);
                self.stats.expired += 1;
                removed(fl, Removal::Expired);
                idx = None;
            } else if reuse {
                let fl = self.remove(i);
                self.stats.reused += 1;
                removed(fl, Removal::Reused);
                idx = None;
            }
        }
        let new_flow = idx.is_none();
        let i = match idx {
            Some(i) => {
                self.unlink(i);
                self.push_front(i);
                i
            }
            None => {
                if self.map.len() >= self.cfg.max_flows {
                    let victim = self.tail;
                    let f = self.remove(victim);
                    let why = if now.saturating_sub(f.last_seen) > f.timeout(&self.cfg.timeouts) {
                        self.stats.expired += 1;
                        Removal::Expired
                    } else {
                        self.stats.evicted += 1;
                        Removal::Evicted
                    };
                    removed(f, why);
                }
                let mut client = dir;
                if key.proto == 6 && self.cfg.midstream && flags & (SYN | ACK) == (SYN | ACK) {
                    client = match dir {
                        FlowKeyDir::LoToHi => FlowKeyDir::HiToLo,
                        FlowKeyDir::HiToLo => FlowKeyDir::LoToHi,
                    };
                }
                self.next_id += 1;
                let flow = Flow {
                    id: mix_id(self.next_id),
                    key,
                    client,
                    tcp: TcpState::None,
                    first_seen: now,
                    last_seen: now,
                    to_server: Counters::default(),
                    to_client: Counters::default(),
                    fin_client: false,
                    fin_server: false,
                    data: T::default(),
                };
                self.stats.created += 1;
                let i = self.insert(flow);
                self.map.insert(key, i);
                i
            }
        };
        let midstream = self.cfg.midstream;
        let f = self.slots[i as usize]
            .flow
            .as_mut()
            .expect("slot just linked holds a flow");
        let to_server = dir == f.client;
        let c = if to_server {
            &mut f.to_server
        } else {
            &mut f.to_client
        };
        c.pkts += 1;
        c.bytes += bytes as u64;
        f.last_seen = f.last_seen.max(now);
        // Established is computed before this packet moves the TCP state (Suricata order).
        let established = if key.proto == 6 {
            f.established()
        } else {
            f.both_ways()
        };
        if key.proto == 6 {
            f.tcp = next_tcp_state(
                f.tcp,
                flags,
                to_server,
                midstream,
                &mut f.fin_client,
                &mut f.fin_server,
            );
        }
        Tracked {
            handle: FlowHandle(i),
            flow_id: f.id,
            to_server,
            established,
            new_flow,
        }
    }

    /// Removes flows idle past their timeout at `now`, handing each to `removed`. Returns how
    /// many were removed. Walks from the least recently seen flow and stops at the first one
    /// idle for less than the shortest timeout (every flow after it is more recent), so it
    /// costs O(flows idle longer than the shortest timeout).
    pub fn expire(&mut self, now: Duration, mut removed: impl FnMut(Flow<T>, Removal)) -> usize {
        let t = self.cfg.timeouts;
        let shortest = shortest(&t);
        let mut n = 0;
        let mut cur = self.tail;
        while cur != NIL {
            let slot = &self.slots[cur as usize];
            let prev = slot.prev;
            let f = slot.flow.as_ref().expect("linked slot holds a flow");
            let idle = now.saturating_sub(f.last_seen);
            if idle > f.timeout(&t) {
                let fl = self.remove(cur);
                self.stats.expired += 1;
                removed(fl, Removal::Expired);
                n += 1;
            } else if idle < shortest {
                break;
            }
            cur = prev;
        }
        n
    }

    /// Removes every flow (end of a capture), handing each to `removed` as expired.
    pub fn drain(&mut self, mut removed: impl FnMut(Flow<T>, Removal)) {
        while self.tail != NIL {
            let f = self.remove(self.tail);
            removed(f, Removal::Expired);
        }
    }

    fn insert(&mut self, flow: Flow<T>) -> u32 {
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].flow = Some(flow);
                i
            }
            None => {
                self.slots.push(Slot {
                    flow: Some(flow),
                    prev: NIL,
                    next: NIL,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.push_front(i);
        i
    }

    fn remove(&mut self, i: u32) -> Flow<T> {
        self.unlink(i);
        let f = self.slots[i as usize]
            .flow
            .take()
            .expect("removing a live slot");
        self.map.remove(&f.key);
        self.free.push(i);
        f
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if p != NIL {
            self.slots[p as usize].next = n;
        } else {
            self.head = n;
        }
        if n != NIL {
            self.slots[n as usize].prev = p;
        } else {
            self.tail = p;
        }
        let s = &mut self.slots[i as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_front(&mut self, i: u32) {
        let old = self.head;
        {
            let s = &mut self.slots[i as usize];
            s.prev = NIL;
            s.next = old;
        }
        if old != NIL {
            self.slots[old as usize].prev = i;
        } else {
            self.tail = i;
        }
        self.head = i;
    }
}

fn shortest(t: &Timeouts) -> Duration {
    [
        t.tcp_new,
        t.tcp_established,
        t.tcp_closed,
        t.udp_new,
        t.udp_established,
        t.other_new,
        t.other_established,
    ]
    .into_iter()
    .min()
    .unwrap_or_default()
}

fn next_tcp_state(
    s: TcpState,
    flags: u8,
    to_server: bool,
    midstream: bool,
    fin_client: &mut bool,
    fin_server: &mut bool,
) -> TcpState {
    if flags & RST != 0 && s != TcpState::None {
        return TcpState::Closed;
    }
    let syn = flags & SYN != 0;
    let ack = flags & ACK != 0;
    match s {
        TcpState::None => {
            if syn && !ack && to_server {
                TcpState::SynSent
            } else if midstream && flags & RST == 0 {
                TcpState::Established
            } else {
                TcpState::None
            }
        }
        TcpState::SynSent => {
            if syn && ack && !to_server {
                TcpState::SynRecv
            } else {
                TcpState::SynSent
            }
        }
        TcpState::SynRecv => {
            if ack && !syn && to_server {
                TcpState::Established
            } else {
                TcpState::SynRecv
            }
        }
        TcpState::Established | TcpState::Closing => {
            if flags & FIN != 0 {
                if to_server {
                    *fin_client = true;
                } else {
                    *fin_server = true;
                }
            }
            if *fin_client && *fin_server {
                TcpState::Closed
            } else if *fin_client || *fin_server {
                TcpState::Closing
            } else {
                TcpState::Established
            }
        }
        TcpState::Closed => TcpState::Closed,
    }
}

#[cfg(test)]
mod tests;
