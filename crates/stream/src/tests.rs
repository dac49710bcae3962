//! Byte-level tests of the reassembler.

use super::*;
use proptest::prelude::*;

/// A reassembler plus everything it delivered, gaps written as `[gap N]`.
struct Harness {
    r: Reassembler,
    out: Vec<u8>,
    gaps: Vec<(u64, u64)>,
    next: u64,
}

impl Harness {
    fn new(cfg: StreamConfig) -> Harness {
        Harness {
            r: Reassembler::new(cfg),
            out: Vec::new(),
            gaps: Vec::new(),
            next: 0,
        }
    }

    fn sink<'a>(
        out: &'a mut Vec<u8>,
        gaps: &'a mut Vec<(u64, u64)>,
        next: &'a mut u64,
    ) -> impl FnMut(Chunk<'_>) + 'a {
        move |c| match c {
            Chunk::Data { offset, bytes } => {
                assert_eq!(offset, *next, "chunks are delivered in order");
                out.extend_from_slice(bytes);
                *next += bytes.len() as u64;
            }
            Chunk::Gap { offset, len } => {
                assert_eq!(offset, *next, "gaps are delivered in order");
                gaps.push((offset, len));
                *next += len;
            }
        }
    }

    fn seg(&mut self, seq: u32, flags: u8, data: &[u8]) -> Update {
        let f = Harness::sink(&mut self.out, &mut self.gaps, &mut self.next);
        self.r.segment(seq, flags, data, f)
    }

    fn ack(&mut self, ack: u32) -> Update {
        let f = Harness::sink(&mut self.out, &mut self.gaps, &mut self.next);
        self.r.ack(ack, f)
    }

    fn close(&mut self) -> Update {
        let f = Harness::sink(&mut self.out, &mut self.gaps, &mut self.next);
        self.r.close(f)
    }
}

const ISN: u32 = 1000;

fn with_syn() -> Harness {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(ISN, flags::SYN, b"");
    h
}

#[test]
fn in_order_is_delivered_at_once() {
    let mut h = with_syn();
    let u = h.seg(ISN + 1, 0, b"GET / HT");
    assert_eq!(u.delivered, 8);
    h.seg(ISN + 9, 0, b"TP/1.1\r\n");
    assert_eq!(h.out, b"GET / HTTP/1.1\r\n");
    assert_eq!(h.r.next_offset(), 16);
    assert_eq!(h.r.retained(), (0, &b"GET / HTTP/1.1\r\n"[..]));
}

#[test]
fn out_of_order_is_held_until_the_hole_fills() {
    let mut h = with_syn();
    let u = h.seg(ISN + 5, 0, b"EFGH");
    assert!(u.held);
    assert_eq!(u.delivered, 0);
    assert_eq!(h.r.held_bytes(), 4);
    h.seg(ISN + 9, 0, b"IJ");
    let u = h.seg(ISN + 1, 0, b"ABCD");
    assert_eq!(u.delivered, 10);
    assert_eq!(h.out, b"ABCDEFGHIJ");
    assert_eq!(h.r.held_bytes(), 0);
}

#[test]
fn retransmission_with_same_data_is_no_event() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"ABCDEF");
    let u = h.seg(ISN + 3, 0, b"CDEFGH");
    assert!(!u.overlap_different);
    assert_eq!(h.out, b"ABCDEFGH");
    assert_eq!(h.r.stats().overlaps, 1);
}

#[test]
fn overlap_with_different_data_keeps_the_first_bytes() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"ABCDEF");
    let u = h.seg(ISN + 3, 0, b"XXXXGH");
    assert!(u.overlap_different);
    assert_eq!(
        u.events().collect::<Vec<_>>(),
        [Event::OverlapDifferentData]
    );
    assert_eq!(
        h.out, b"ABCDEFGH",
        "delivered bytes win, only the new tail is taken"
    );
    assert_eq!(h.r.stats().overlaps_different, 1);
}

#[test]
fn out_of_order_overlap_with_different_data_keeps_the_held_bytes() {
    let mut h = with_syn();
    h.seg(ISN + 5, 0, b"EFGH");
    // Covers the hole and the held segment, with other bytes where they overlap.
    let u = h.seg(ISN + 1, 0, b"ABCDxxxxIJ");
    assert!(u.overlap_different);
    assert_eq!(h.out, b"ABCDEFGHIJ");
    // Two out-of-order segments overlapping each other.
    let mut h = with_syn();
    h.seg(ISN + 5, 0, b"EFGH");
    let u = h.seg(ISN + 7, 0, b"zzIJ");
    assert!(u.overlap_different);
    let u = h.seg(ISN + 1, 0, b"ABCD");
    assert!(!u.overlap_different);
    assert_eq!(h.out, b"ABCDEFGHIJ");
}

#[test]
fn sequence_numbers_wrap_around() {
    let mut h = Harness::new(StreamConfig::default());
    let isn = u32::MAX - 3;
    h.seg(isn, flags::SYN, b"");
    h.seg(isn.wrapping_add(1), 0, b"ABCD");
    // The next segment's sequence number wrapped to a small value.
    assert_eq!(isn.wrapping_add(5), 1);
    h.seg(isn.wrapping_add(9), 0, b"IJ"); // out of order, after the wrap
    h.seg(isn.wrapping_add(5), 0, b"EFGH");
    assert_eq!(h.out, b"ABCDEFGHIJ");
    assert_eq!(seq_diff(2, u32::MAX), 3);
    assert_eq!(seq_diff(u32::MAX, 2), -3);
}

#[test]
fn midstream_pickup_starts_at_the_first_segment() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(777_777, 0x18, b"HTTP/1.1 200 OK\r\n");
    h.seg(777_777 + 17, 0x18, b"\r\n");
    assert_eq!(h.out, b"HTTP/1.1 200 OK\r\n\r\n");
    // Data before the pickup point is ignored.
    let u = h.seg(777_700, 0x18, b"old");
    assert_eq!(u.delivered, 0);
}

#[test]
fn data_on_syn_is_taken() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(ISN, flags::SYN, b"GET /");
    h.seg(ISN + 6, 0, b" HTTP");
    assert_eq!(h.out, b"GET / HTTP");
}

#[test]
fn depth_stops_reassembly() {
    let mut h = Harness::new(StreamConfig {
        depth: 6,
        ..StreamConfig::default()
    });
    h.seg(ISN, flags::SYN, b"");
    h.seg(ISN + 1, 0, b"ABCD");
    let u = h.seg(ISN + 5, 0, b"EFGH");
    assert_eq!(u.delivered, 2);
    assert!(h.r.depth_reached());
    let u = h.seg(ISN + 9, 0, b"IJ");
    assert_eq!(u.delivered, 0);
    assert_eq!(h.out, b"ABCDEF");
    // Out-of-order data beyond the depth is not held.
    let mut h = Harness::new(StreamConfig {
        depth: 6,
        ..StreamConfig::default()
    });
    h.seg(ISN, flags::SYN, b"");
    h.seg(ISN + 20, 0, b"far away");
    assert_eq!(h.r.held_bytes(), 0);
}

#[test]
fn memcap_bounds_held_data_and_counts() {
    let mut h = Harness::new(StreamConfig {
        ooo_memcap: 8,
        ..StreamConfig::default()
    });
    h.seg(ISN, flags::SYN, b"");
    assert!(h.seg(ISN + 11, 0, b"12345").held);
    let u = h.seg(ISN + 21, 0, b"67890");
    assert!(u.memcap_drop);
    assert_eq!(h.r.stats().memcap_drops, 1);
    assert_eq!(h.r.held_bytes(), 5);
    // The hole fills: the held segment follows; the dropped one comes as a retransmission.
    h.seg(ISN + 1, 0, b"abcdefghij");
    h.seg(ISN + 16, 0, b"KLMNO");
    h.seg(ISN + 21, 0, b"67890");
    assert_eq!(h.out, b"abcdefghij12345KLMNO67890");
}

#[test]
fn held_runs_are_contiguous_out_of_order_data() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"Let");
    let u = h.seg(ISN + 12, 0, b"Me ");
    assert_eq!(u.held_range, Some((11, 14)));
    let u = h.seg(ISN + 15, 0, b"In.");
    assert_eq!(u.held_range, Some((14, 17)));
    assert_eq!(h.r.held_run(14, 17), Some((11, b"Me In.".to_vec())));
    h.seg(ISN + 30, 0, b"far");
    assert_eq!(h.r.held_run(29, 32), Some((29, b"far".to_vec())));
    assert_eq!(h.r.held_run(20, 25), None);
    // In-order data is not held.
    assert_eq!(h.seg(ISN + 4, 0, b"xx").held_range, None);
}

#[test]
fn ack_past_a_hole_makes_a_gap_and_resumes() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"VERY");
    h.seg(ISN + 9, 0, b"DATA"); // "GOOD" never arrives
    assert_eq!(h.out, b"VERY");
    // The peer acknowledges everything: the 4 bytes are lost.
    let u = h.ack(ISN + 13);
    assert!(u.gap);
    assert_eq!(u.events().collect::<Vec<_>>(), [Event::SeqGap]);
    assert_eq!(h.gaps, [(4, 4)]);
    assert_eq!(h.out, b"VERYDATA");
    assert_eq!(h.r.retained(), (8, &b"DATA"[..]));
    // Later data continues after the gap.
    h.seg(ISN + 13, 0, b"!");
    assert_eq!(h.out, b"VERYDATA!");
}

#[test]
fn the_syn_the_server_answered_fixes_the_isn() {
    let mut h = Harness::new(StreamConfig::default());
    h.seg(5000, flags::SYN, b"");
    h.seg(ISN, flags::SYN, b"");
    h.seg(9000, flags::SYN, b"");
    // The SYN-ACK acknowledges the second SYN.
    h.r.synack(ISN + 1);
    assert_eq!(h.seg(ISN + 1, 0, b"data").delivered, 4);
    // Once data flowed, neither a SYN nor a SYN-ACK moves the stream.
    h.seg(7000, flags::SYN, b"");
    h.r.synack(7001);
    assert_eq!(h.seg(ISN + 5, 0, b"more").delivered, 4);
    assert_eq!(h.out, b"datamore");
}

#[test]
fn log_window_marks_gaps() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"VERY");
    h.seg(ISN + 9, 0, b"DATA");
    h.ack(ISN + 13);
    assert_eq!(h.r.log_window(512), b"VERY[4 bytes missing]DATA");
    // The window counts data bytes only, newest first; no marker when it stops short of it.
    assert_eq!(h.r.log_window(6), b"RY[4 bytes missing]DATA");
    assert_eq!(h.r.log_window(4), b"DATA");
    // A stream that starts with a hole starts with its marker.
    let mut h = with_syn();
    h.seg(ISN + 5, 0, b"GOOD");
    h.seg(ISN + 9, 0, b"DATA");
    h.ack(ISN + 13);
    assert_eq!(h.r.log_window(512), b"[4 bytes missing]GOODDATA");
    // Only the last few gaps are remembered.
    let mut h = with_syn();
    for i in 0..(GAP_LOG_MAX as u32 + 2) {
        h.seg(ISN + 1 + 3 * i, 0, b"x");
    }
    h.ack(ISN + 1 + 3 * (GAP_LOG_MAX as u32 + 2));
    let w = String::from_utf8(h.r.log_window(512)).unwrap();
    assert_eq!(w.matches("missing").count(), GAP_LOG_MAX);
}

#[test]
fn ack_of_fin_or_of_what_was_seen_is_no_gap() {
    let mut h = with_syn();
    h.seg(ISN + 1, flags::FIN, b"bye");
    assert!(!h.ack(ISN + 5).gap, "the FIN takes one sequence number");
    assert!(!h.ack(ISN + 1).gap);
    assert!(h.gaps.is_empty());
}

#[test]
fn close_flushes_held_data_with_gaps() {
    let mut h = with_syn();
    h.seg(ISN + 1, 0, b"VERY");
    h.seg(ISN + 9, 0, b"DATA");
    h.seg(ISN + 20, 0, b"END");
    let u = h.close();
    assert!(u.gap);
    assert_eq!(h.gaps, [(4, 4), (12, 7)]);
    assert_eq!(h.out, b"VERYDATAEND");
    assert!(h.r.is_closed());
    assert_eq!(h.seg(ISN + 23, 0, b"more").delivered, 0);
}

#[test]
fn retained_is_bounded() {
    let mut h = Harness::new(StreamConfig {
        retain: 10,
        ..StreamConfig::default()
    });
    h.seg(ISN, flags::SYN, b"");
    let mut seq = ISN + 1;
    for _ in 0..100 {
        h.seg(seq, 0, b"0123456789");
        seq += 10;
    }
    let (start, bytes) = h.r.retained();
    assert!(bytes.len() <= 20 && bytes.len() >= 10);
    assert_eq!(start + bytes.len() as u64, 1000);
    assert!(bytes.ends_with(b"0123456789"));
}

#[test]
fn segments_before_the_start_are_ignored() {
    let mut h = with_syn();
    assert_eq!(h.seg(ISN - 10, 0, b"0123456789").delivered, 0);
    // Straddling the start: only the part from offset 0 on is taken.
    h.seg(ISN - 2, 0, b"xxxABC");
    assert_eq!(h.out, b"ABC");
}

proptest! {
    /// Whatever the order, duplication and overlap of segments cut from one stream, the
    /// delivered bytes are exactly the stream, without events.
    #[test]
    fn any_order_gives_the_stream(
        data in proptest::collection::vec(any::<u8>(), 1..400),
        cuts in proptest::collection::vec((0usize..400, 1usize..60), 1..40),
        isn in any::<u32>(),
    ) {
        let mut h = Harness::new(StreamConfig::default());
        h.seg(isn, flags::SYN, b"");
        for (s, l) in cuts {
            let s = s % data.len();
            let e = (s + l).min(data.len());
            let u = h.seg(isn.wrapping_add(1).wrapping_add(s as u32), 0, &data[s..e]);
            prop_assert!(!u.overlap_different);
        }
        h.seg(isn.wrapping_add(1), 0, &data);
        prop_assert_eq!(&h.out, &data);
        prop_assert_eq!(h.r.held_bytes(), 0);
    }

    /// Hostile input never panics and held memory stays under the memcap.
    #[test]
    fn hostile_input_is_safe(
        ops in proptest::collection::vec((any::<u32>(), any::<u8>(), 0usize..3000, 0u8..4), 0..60),
    ) {
        let cfg = StreamConfig { ooo_memcap: 4096, depth: 20_000, retain: 512, ..StreamConfig::default() };
        let mut h = Harness::new(cfg);
        let buf = vec![0x41u8; 3000];
        for (seq, fl, len, op) in ops {
            match op {
                0 | 1 => { h.seg(seq, fl, &buf[..len]); }
                2 => { h.ack(seq); }
                _ => { h.close(); }
            }
            prop_assert!(h.r.held_bytes() <= 4096);
            prop_assert!(h.r.retained().1.len() <= 1024 + 3000);
            prop_assert!(h.r.next_offset() <= 20_000);
        }
    }
}
