//! Fuzzes TCP stream reassembly: any sequence of segments, acknowledgements and closes (with
//! any sequence numbers, flags and payloads) must never panic, deliver chunks in stream order,
//! and keep held data under the memcap and the stream under the depth.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_stream::{Chunk, Reassembler, StreamConfig};

fuzz_target!(|data: &[u8]| {
    let cfg = StreamConfig {
        depth: 50_000,
        ooo_memcap: 8_192,
        ooo_max_segments: 32,
        retain: 1_024,
    };
    let mut r = Reassembler::new(cfg);
    let next = std::cell::Cell::new(0u64);
    let mut check = |c: Chunk<'_>| {
        let (off, len) = match c {
            Chunk::Data { offset, bytes } => (offset, bytes.len() as u64),
            Chunk::Gap { offset, len } => (offset, len),
        };
        assert_eq!(off, next.get(), "chunks come in stream order");
        next.set(off + len);
    };
    // Records: op (1), seq (4), flags (1), length (1), then `length` payload bytes.
    let mut rest = data;
    while rest.len() >= 7 {
        let op = rest[0];
        let seq = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]);
        let flags = rest[5];
        let len = usize::from(rest[6]).min(rest.len() - 7);
        let payload = &rest[7..7 + len];
        rest = &rest[7 + len..];
        match op % 8 {
            0..=5 => {
                r.segment(seq, flags, payload, &mut check);
            }
            6 => {
                r.ack(seq, &mut check);
            }
            _ => {
                r.close(&mut check);
            }
        }
        assert!(r.held_bytes() <= 8_192);
        assert!(r.next_offset() <= 50_000);
        assert!(r.retained().1.len() <= 2_048 + 255);
        assert_eq!(r.next_offset(), next.get());
    }
});
