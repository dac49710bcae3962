//! Fuzz IPv4 reassembly: the input is cut into fragments (2-byte length prefixes), each fed
//! to a small-limit `Defragmenter`; it must never panic, and every datagram it completes must
//! decode as an unfragmented IPv4 packet.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use verdict_decode::decode_ip;
use verdict_flow::{DefragConfig, Defragmenter};

fuzz_target!(|data: &[u8]| {
    let mut d = Defragmenter::new(DefragConfig {
        max_trackers: 8,
        max_bytes: 1 << 16,
        timeout: Duration::from_secs(2),
    });
    let mut out = Vec::new();
    let mut rest = data;
    let mut now = Duration::ZERO;
    while rest.len() >= 2 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let frag = &rest[2..2 + len];
        rest = &rest[2 + len..];
        now += Duration::from_millis(300);
        if d.push(now, frag, &mut out) {
            let p = decode_ip(&out).expect("a reassembled datagram decodes");
            assert!(!p.ip.is_fragment);
        }
    }
});
