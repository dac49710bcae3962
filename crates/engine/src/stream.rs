//! Per-flow TCP stream state: one [`Reassembler`] per direction feeding the flow's app-layer
//! parser ([`FlowParser`]), and what rules get of it on each packet.
//!
//! Inline semantics: each segment is reassembled and parsed when it arrives, and the packet
//! is judged on what is reassembled so far (the engine never waits for an ACK), so the live
//! daemon and `verdict pcap` take the same decisions. The packet sees:
//! - the app-layer messages of its direction it added data to
//!   ([`verdict_rules::input::AppInput`]), whole however they were cut into segments;
//! - a window of the reassembled stream ending with the data it added and starting up to
//!   [`STREAM_BACK`] bytes before ([`verdict_rules::input::StreamInput`]), for raw stream
//!   inspection of payload rules (a pattern across two segments);
//! - stream events ([`verdict_stream::Event::OverlapDifferentData`]).
//!
//! Data of a direction that a packet of the *other* direction releases (its ACK gives up on
//! a hole, and the data held after the hole is delivered) is inspected with the next packet
//! of its own direction, or when the flow ends, as Suricata inspects a direction's raw stream
//! on that direction's packets and on its flow-timeout pseudo packets. The payload logged
//! for a stream match ([`TcpStream::log_window`]) shows the holes as `[N bytes missing]`.

use verdict_applayer::flow::{AppConfig, FlowParser};
use verdict_stream::{Chunk, Reassembler, StreamConfig, Update};

/// Bytes of already inspected stream data put before a packet's new data for raw stream
/// inspection: patterns and rules spanning up to this much across a segment boundary match.
pub const STREAM_BACK: usize = 512;

/// Stream counters, summed over flows (see [`crate::EngineStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// TCP segments with payload fed to reassembly.
    pub segments: u64,
    /// Segments (or parts) held out of order.
    pub ooo_segments: u64,
    /// Overlapping segments whose bytes differ from the first ones (evasion attempts).
    pub overlaps_different: u64,
    /// Out-of-order segments not held because of the per-direction memcap.
    pub memcap_drops: u64,
    /// Holes given up on (acknowledged past, or open when the flow ended).
    pub gaps: u64,
    /// Directions that reached the reassembly depth.
    pub depth_reached: u64,
}

/// The stream state of one TCP flow. Index 0 of `dirs` is client to server.
#[derive(Debug)]
pub(crate) struct TcpStream {
    pub dirs: [Reassembler; 2],
    pub app: FlowParser,
    depth_counted: [bool; 2],
    /// Per direction: the stream offsets of out-of-order data already inspected inline
    /// (IPS), so it is not reported again when the hole before it fills.
    ooo_inspected: [Option<(u64, u64)>; 2],
    /// The out-of-order run the current packet added to (IPS), for raw inspection.
    pub ooo_window: Vec<u8>,
    /// Per direction: bytes delivered by the other direction's acknowledgements and not
    /// inspected yet (they are, with the next packet of their direction or at flow end).
    pending: [u64; 2],
    /// The handshake's timestamps, for `pkt_invalid_timestamp`.
    ts: Handshake,
    /// Per direction: its app-layer messages got data on a packet of the other direction
    /// (released by an ACK) and wait for a packet of their own, or the flow's end.
    app_waiting: [bool; 2],
    /// The direction that sent the last RST (true: the client), until its sender goes on.
    rst_from: Option<bool>,
    /// SYNs resent with another ISN than the first one before the handshake completed.
    syns_queued: u8,
    /// The server's SYN-ACK was seen (by [`TcpStream::handshake`]).
    synack_seen: bool,
    /// The ISNs of the client's SYNs before the SYN-ACK (the first ones, bounded), with the
    /// length of the data each carried (TCP Fast Open).
    syn_isns: Vec<(u32, u32)>,
    /// The head of the flow's latest HTTP request (or its TLS ClientHello), with its
    /// transaction id, kept so that alerts on the response can log the request's fields
    /// (`hostname`, `url`, `xff`; `sni`, `ja3`, `client_alpns`). Copied once per request,
    /// when its head is complete.
    pub last_request: Option<(u64, Box<[u8]>)>,
}

/// SYNs with a new ISN Suricata queues before the handshake completes
/// (`stream.max-syn-queued`, default 10); more raise `3whs_syn_flood`.
pub const MAX_SYN_QUEUED: u8 = 10;

/// What the handshake said about TCP timestamps (RFC 7323), as Suricata's stream engine
/// checks the server's answers to a SYN.
#[derive(Debug, Clone, Copy, Default)]
struct Handshake {
    /// The client's SYN was seen: its TSval (0 when it had no timestamp option or a zero
    /// TSval) and whether it had a non-zero one.
    syn: Option<(u32, bool)>,
    /// The server's SYN-ACK was accepted: the session is past SYN_SENT.
    synack: bool,
}

/// The TSval and TSecr of a TCP header's timestamp option, when it has one.
pub(crate) fn tcp_timestamps(hdr: &[u8]) -> Option<(u32, u32)> {
    let off = usize::from(*hdr.get(12)? >> 4) * 4;
    let mut opts = hdr.get(20..off.min(hdr.len()))?;
    while let [kind, rest @ ..] = opts {
        match kind {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = usize::from(*rest.first()?);
                if len < 2 {
                    return None;
                }
                let body = opts.get(2..len)?;
                if *kind == 8 && body.len() == 8 {
                    let v = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
                    let e = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
                    return Some((v, e));
                }
                opts = opts.get(len..)?;
            }
        }
    }
    None
}

/// What feeding one segment produced, for the packet's inspection.
#[derive(Default)]
pub(crate) struct Fed {
    /// Bytes delivered in the packet's direction.
    pub delivered: u64,
    /// All of them are the packet's own payload.
    pub payload_only: bool,
    /// The segment's update (events).
    pub update: Update,
    /// Data was given up on in either direction (`reassembly_seq_gap`).
    pub gap: bool,
    /// The packet's data went to the out-of-order queue and the run it belongs to is in
    /// [`TcpStream::ooo_window`], the packet's data starting at this index.
    pub ooo_from: Option<usize>,
}

impl TcpStream {
    pub fn new(cfg: StreamConfig, app: AppConfig, client_port: u16, server_port: u16) -> Self {
        TcpStream {
            dirs: [Reassembler::new(cfg), Reassembler::new(cfg)],
            app: FlowParser::new(app, client_port, server_port),
            depth_counted: [false; 2],
            ooo_inspected: [None; 2],
            ooo_window: Vec::new(),
            pending: [0; 2],
            ts: Handshake::default(),
            app_waiting: [false; 2],
            rst_from: None,
            syns_queued: 0,
            synack_seen: false,
            syn_isns: Vec::new(),
            last_request: None,
        }
    }

    /// Remembers the head of a new HTTP request of this packet (to-server messages), for
    /// [`TcpStream::last_request`]. Parses only messages of a transaction not yet kept.
    pub fn note_request(&mut self) {
        match self.app.proto() {
            Some(verdict_applayer::AppProto::Http) => {}
            Some(verdict_applayer::AppProto::Tls) => {
                // The ClientHello: server-side alerts log its sni, ja3 and ALPNs.
                if self.last_request.is_none() {
                    if let Some(m) = self
                        .app
                        .messages(true)
                        .find(|m| verdict_applayer::tls::ClientHello::parse(m.bytes).is_ok())
                    {
                        let end = m.bytes.len().min(crate::AppSnapshot::MAX_LEN);
                        self.last_request = Some((m.tx_id, m.bytes[..end].into()));
                    }
                }
                return;
            }
            _ => return,
        }
        for m in self.app.messages(true) {
            if self
                .last_request
                .as_ref()
                .is_some_and(|(tx, _)| *tx == m.tx_id)
            {
                continue;
            }
            let Ok(r) = verdict_applayer::http::Request::parse(m.bytes) else {
                continue;
            };
            if r.headers_complete() {
                let end = m
                    .bytes
                    .len()
                    .saturating_sub(r.body().len())
                    .min(crate::AppSnapshot::MAX_LEN);
                self.last_request = Some((m.tx_id, m.bytes[..end].into()));
            }
        }
    }

    /// Tracks the three-way handshake and names the stream event a packet of it raises:
    /// - `3whs_syn_flood`: a client SYN resent with another ISN than the previous SYN's,
    ///   before any SYN-ACK, beyond the [`MAX_SYN_QUEUED`] Suricata keeps;
    /// - `3whs_synack_in_wrong_direction`: a SYN-ACK from the client;
    /// - `3whs_synack_with_wrong_ack`: a SYN-ACK acknowledging none of the client's SYNs (it
    ///   is not taken as the handshake's). With TCP Fast Open the SYN-ACK may acknowledge
    ///   the SYN's data too.
    ///
    /// The SYN-ACK's acknowledgement picks the ISN of the client's stream among its SYNs.
    /// `payload_len` is the packet's TCP payload length.
    pub fn handshake(
        &mut self,
        to_server: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        payload_len: usize,
    ) -> Option<&'static str> {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        if self.synack_seen {
            return None;
        }
        let synack = flags & (SYN | ACK) == SYN | ACK;
        if !to_server {
            if !synack {
                return None;
            }
            let Some(&(isn, _)) = self.syn_isns.iter().find(|(isn, len)| {
                ack == isn.wrapping_add(1) || ack == isn.wrapping_add(1).wrapping_add(*len)
            }) else {
                if self.syn_isns.is_empty() {
                    // No SYN seen (picked up midstream): nothing to check.
                    self.synack_seen = true;
                    return None;
                }
                return Some("3whs_synack_with_wrong_ack");
            };
            self.dirs[0].synack(isn.wrapping_add(1));
            self.synack_seen = true;
            return None;
        }
        if synack {
            return (!self.syn_isns.is_empty()).then_some("3whs_synack_in_wrong_direction");
        }
        if flags & (SYN | ACK) != SYN {
            return None;
        }
        if !self.syn_isns.iter().any(|(isn, _)| *isn == seq)
            && self.syn_isns.len() <= usize::from(MAX_SYN_QUEUED)
        {
            let len = u32::try_from(payload_len).unwrap_or(u32::MAX);
            self.syn_isns.push((seq, len));
        }
        match self.dirs[0].next_seq() {
            Some(next) if self.dirs[0].next_offset() == 0 && seq.wrapping_add(1) != next => {
                if self.syns_queued < MAX_SYN_QUEUED {
                    self.syns_queued += 1;
                    None
                } else {
                    Some("3whs_syn_flood")
                }
            }
            _ => None,
        }
    }

    /// Tracks RSTs: true when this packet, not a RST, comes from the side that sent the
    /// last RST -- the RST was not the sender's own (the target ignored it and the sender
    /// goes on), Suricata's `stream-event:suspected_rst_inject`. Raised once per RST.
    pub fn rst_injection(&mut self, to_server: bool, flags: u8) -> bool {
        if flags & verdict_stream::flags::RST != 0 {
            self.rst_from = Some(to_server);
            return false;
        }
        if self.rst_from == Some(to_server) {
            self.rst_from = None;
            return true;
        }
        false
    }

    /// Starts the inspection of a packet (or the flow-end pseudo packet) of direction
    /// `to_server`: the app-layer messages its previous packet showed are forgotten, unless
    /// others, released since by the other direction's ACK, still wait to be shown.
    pub fn begin(&mut self, to_server: bool) {
        let d = usize::from(!to_server);
        if !std::mem::take(&mut self.app_waiting[d]) {
            self.app.forget_touched(to_server);
        }
    }

    /// Checks a packet's timestamps against the handshake: true when it is a server packet
    /// answering the client's SYN (the session still in SYN_SENT) whose TSecr does not echo
    /// the SYN's TSval (or echoes one the SYN did not have) -- Suricata's
    /// `stream-event:pkt_invalid_timestamp`; such a SYN-ACK is not taken as the handshake's.
    /// `hdr` is the raw TCP header, options included.
    pub fn invalid_timestamp(&mut self, to_server: bool, flags: u8, hdr: &[u8]) -> bool {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        let ts = tcp_timestamps(hdr);
        if to_server {
            if flags & (SYN | ACK) == SYN {
                let v = ts.map_or(0, |t| t.0);
                self.ts.syn = Some((v, v != 0));
            }
            return false;
        }
        let Some((last, had)) = self.ts.syn.filter(|_| !self.ts.synack) else {
            return false;
        };
        let bad = ts.is_some_and(|(_, echo)| {
            if had {
                echo != 0 && echo != last
            } else {
                echo != 0
            }
        });
        if !bad && flags & (SYN | ACK) == SYN | ACK {
            self.ts.synack = true;
        }
        bad
    }

    /// Takes the bytes of direction `to_server` delivered by the other direction's
    /// acknowledgements since its last inspection.
    pub fn take_pending(&mut self, to_server: bool) -> u64 {
        std::mem::take(&mut self.pending[usize::from(!to_server)])
    }

    /// The stream data a match on the window of a packet of direction `to_server` that
    /// delivered `delivered` bytes is logged with: the same bytes as
    /// [`TcpStream::window`], extended back across the last gaps, each shown as
    /// `[N bytes missing]` (Suricata's EVE `payload` of a stream alert).
    pub fn log_window(&self, to_server: bool, delivered: u64) -> Vec<u8> {
        let back = usize::try_from(delivered)
            .unwrap_or(usize::MAX)
            .saturating_add(STREAM_BACK);
        self.dirs[usize::from(!to_server)].log_window(back)
    }

    /// Feeds one segment of direction `to_server` and the acknowledgement it carries for
    /// the other direction. With `inline_ooo` (IPS), data that goes to the out-of-order
    /// queue is put, with the contiguous held data around it, in [`TcpStream::ooo_window`]
    /// for inspection now, as Suricata inline does, instead of when the hole fills.
    #[allow(clippy::too_many_arguments)]
    pub fn feed(
        &mut self,
        to_server: bool,
        seq: u32,
        ack: Option<u32>,
        flags: u8,
        payload: &[u8],
        inline_ooo: bool,
        stats: &mut StreamStats,
    ) -> Fed {
        let d = usize::from(!to_server);
        self.begin(to_server);
        let TcpStream { dirs, app, .. } = self;
        let (p0, p1) = (
            payload.as_ptr() as usize,
            payload.as_ptr() as usize + payload.len(),
        );
        let mut from_payload = 0u64;
        // Data on a RST is not stream data (Suricata does not add it to the stream): rules
        // see it on the packet only.
        let stream_payload = if flags & verdict_stream::flags::RST != 0 {
            &[][..]
        } else {
            payload
        };
        let update = dirs[d].segment(seq, flags, stream_payload, |c| {
            if let Chunk::Data { bytes, .. } = c {
                let b = bytes.as_ptr() as usize;
                if b >= p0 && b + bytes.len() <= p1 {
                    from_payload += bytes.len() as u64;
                }
            }
            feed_app(app, to_server, c)
        });
        let mut gap = false;
        if let Some(ack) = ack {
            let up = dirs[1 - d].ack(ack, |c| feed_app(app, !to_server, c));
            stats.gaps += u64::from(up.gap);
            gap = up.gap;
            self.pending[1 - d] = self.pending[1 - d].saturating_add(up.delivered);
            if up.delivered > 0 || up.gap {
                self.app_waiting[1 - d] = true;
            }
        }
        // Data of this direction released by the other's acknowledgements is inspected now.
        let pending = std::mem::take(&mut self.pending[d]);
        // The sender closed its side (FIN), or the connection was reset.
        if flags & verdict_stream::flags::FIN != 0 {
            app.end(to_server);
        }
        if flags & verdict_stream::flags::RST != 0 {
            app.end(true);
            app.end(false);
        }
        if !payload.is_empty() {
            stats.segments += 1;
        }
        stats.ooo_segments += u64::from(update.held);
        stats.overlaps_different += u64::from(update.overlap_different);
        stats.memcap_drops += u64::from(update.memcap_drop);
        stats.gaps += u64::from(update.gap);
        for (i, r) in self.dirs.iter().enumerate() {
            if r.depth_reached() && !self.depth_counted[i] {
                self.depth_counted[i] = true;
                stats.depth_reached += 1;
            }
        }
        let mut ooo_from = None;
        if let (true, 0, Some((s, e))) = (inline_ooo, update.delivered, update.held_range) {
            if let Some((run_start, run)) = self.dirs[d].held_run(s, e) {
                ooo_from = Some(usize::try_from(s.saturating_sub(run_start)).unwrap_or(0));
                let run_end = run_start + run.len() as u64;
                let seen = &mut self.ooo_inspected[d];
                *seen = match *seen {
                    Some((a, b)) if a <= run_end && run_start <= b => {
                        Some((a.min(run_start), b.max(run_end)))
                    }
                    _ => Some((run_start, run_end)),
                };
                self.ooo_window = run;
            }
        }
        Fed {
            gap: gap || update.gap,
            delivered: update.delivered.saturating_add(pending),
            payload_only: pending == 0
                && update.delivered == payload.len() as u64
                && from_payload == update.delivered,
            update,
            ooo_from,
        }
    }

    /// Ends direction `to_server` (flow end): held out-of-order data is delivered, with
    /// gaps for the holes before it. Returns the bytes delivered.
    pub fn close(&mut self, to_server: bool, stats: &mut StreamStats) -> u64 {
        let d = usize::from(!to_server);
        let TcpStream { dirs, app, .. } = self;
        let up = dirs[d].close(|c| feed_app(app, to_server, c));
        stats.gaps += u64::from(up.gap);
        up.delivered
    }

    /// The raw stream window for a packet of direction `to_server` that delivered
    /// `delivered` bytes: (window, where the new data starts in it).
    pub fn window(&self, to_server: bool, delivered: u64) -> (&[u8], usize) {
        let (_, bytes) = self.dirs[usize::from(!to_server)].retained();
        let new = usize::try_from(delivered)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        let start = bytes.len() - new.saturating_add(STREAM_BACK).min(bytes.len());
        let w = bytes.get(start..).unwrap_or(&[]);
        (w, w.len() - new)
    }

    /// Where, in a window of `len` bytes ending at the direction's next offset, lies data
    /// already inspected out of order (`(0, 0)` when none).
    pub fn inspected_in_window(&self, to_server: bool, len: usize) -> (usize, usize) {
        let d = usize::from(!to_server);
        let Some((a, b)) = self.ooo_inspected[d] else {
            return (0, 0);
        };
        let end = self.dirs[d].next_offset();
        let start = end.saturating_sub(len as u64);
        let (a, b) = (a.max(start), b.min(end));
        if a >= b {
            return (0, 0);
        }
        ((a - start) as usize, (b - start) as usize)
    }
}

fn feed_app(app: &mut FlowParser, to_server: bool, c: Chunk<'_>) {
    match c {
        Chunk::Data { bytes, .. } => app.data(to_server, bytes),
        Chunk::Gap { len, .. } => app.gap(to_server, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP header with the given options (padded to 4 bytes).
    fn hdr(opts: &[u8]) -> Vec<u8> {
        let mut o = opts.to_vec();
        while o.len() % 4 != 0 {
            o.push(0);
        }
        let mut h = vec![0u8; 20];
        h[12] = (((20 + o.len()) / 4) as u8) << 4;
        h.extend_from_slice(&o);
        h
    }

    fn ts(val: u32, echo: u32) -> Vec<u8> {
        let mut o = vec![1, 1, 8, 10];
        o.extend_from_slice(&val.to_be_bytes());
        o.extend_from_slice(&echo.to_be_bytes());
        hdr(&o)
    }

    #[test]
    fn timestamp_option_is_found_among_others() {
        assert_eq!(tcp_timestamps(&ts(100, 7)), Some((100, 7)));
        assert_eq!(
            tcp_timestamps(&hdr(&[2, 4, 5, 0xb4, 3, 3, 8, 4, 2, 0])),
            None
        );
        // Hostile lengths end the walk.
        assert_eq!(tcp_timestamps(&hdr(&[2, 0, 8, 10])), None);
        assert_eq!(tcp_timestamps(&hdr(&[8, 10, 0])), None);
        assert_eq!(tcp_timestamps(&[0; 5]), None);
    }

    #[test]
    fn server_answers_to_the_syn_must_echo_its_timestamp() {
        let new = || TcpStream::new(StreamConfig::default(), AppConfig::default(), 1, 80);
        // The SYN has no timestamp: a RST echoing one is forged, a plain one is not.
        let mut s = new();
        assert!(!s.invalid_timestamp(true, 0x02, &hdr(&[2, 4, 5, 0xb4])));
        assert!(s.invalid_timestamp(false, 0x14, &ts(100, 100)));
        assert!(!s.invalid_timestamp(false, 0x14, &hdr(&[])));
        assert!(
            !s.invalid_timestamp(false, 0x12, &ts(5, 0)),
            "echo 0 is fine"
        );
        // Once the SYN-ACK is taken, this check is over.
        assert!(!s.invalid_timestamp(false, 0x14, &ts(100, 100)));
        // The SYN has TSval 42: the answer must echo 42 (or 0).
        let mut s = new();
        s.invalid_timestamp(true, 0x02, &ts(42, 0));
        assert!(s.invalid_timestamp(false, 0x12, &ts(9, 41)));
        assert!(!s.invalid_timestamp(false, 0x12, &ts(9, 42)));
        // Client packets are never flagged by this check.
        assert!(!s.invalid_timestamp(true, 0x10, &ts(1, 2)));
    }

    #[test]
    fn syns_resent_with_new_isns_beyond_the_queue_are_a_flood() {
        let mut s = TcpStream::new(StreamConfig::default(), AppConfig::default(), 1, 80);
        let syn = |s: &mut TcpStream, seq: u32| {
            let flood = s.handshake(true, 0x02, seq, 0, 0) == Some("3whs_syn_flood");
            s.feed(
                true,
                seq,
                None,
                0x02,
                b"",
                false,
                &mut StreamStats::default(),
            );
            flood
        };
        assert!(!syn(&mut s, 100));
        assert!(!syn(&mut s, 100), "the same SYN again");
        for i in 0..MAX_SYN_QUEUED {
            assert!(!syn(&mut s, 1000 + u32::from(i)));
        }
        assert!(syn(&mut s, 5000));
        assert!(syn(&mut s, 6000));
        // A SYN-ACK from the client, or acknowledging no SYN, is not the handshake's.
        assert_eq!(
            s.handshake(true, 0x12, 1, 2, 0),
            Some("3whs_synack_in_wrong_direction")
        );
        assert_eq!(
            s.handshake(false, 0x12, 77, 4242, 0),
            Some("3whs_synack_with_wrong_ack")
        );
        // The SYN-ACK answers the second SYN: its ISN is the stream's.
        assert_eq!(s.handshake(false, 0x12, 77, 1001, 0), None);
        let f = s.feed(
            true,
            1001,
            Some(78),
            0x18,
            b"GET",
            false,
            &mut StreamStats::default(),
        );
        assert_eq!(f.delivered, 3);
        assert!(!syn(&mut s, 7000), "after the SYN-ACK, not a handshake SYN");
        // TCP Fast Open: the SYN-ACK may acknowledge the SYN's data.
        let mut s = TcpStream::new(StreamConfig::default(), AppConfig::default(), 1, 80);
        assert_eq!(s.handshake(true, 0x02, 500, 0, 10), None);
        assert_eq!(s.handshake(false, 0x12, 9, 511, 0), None);
    }

    #[test]
    fn the_rst_senders_next_packet_suggests_an_injected_rst() {
        let mut s = TcpStream::new(StreamConfig::default(), AppConfig::default(), 1, 80);
        assert!(!s.rst_injection(true, 0x10));
        assert!(!s.rst_injection(true, 0x14), "the RST itself");
        assert!(
            !s.rst_injection(false, 0x10),
            "the target's packets say nothing"
        );
        assert!(!s.rst_injection(true, 0x14), "more RSTs are usual");
        assert!(s.rst_injection(true, 0x18));
        assert!(!s.rst_injection(true, 0x18), "once per RST");
    }
}
