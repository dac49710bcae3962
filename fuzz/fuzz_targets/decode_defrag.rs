//! Fuzz IPv4/IPv6 reassembly: the input is cut into fragments (2-byte length prefixes), each
//! fed to a small-limit `Defragmenter`; it must never panic, every IPv4 datagram it completes
//! must decode as an unfragmented packet, and every IPv6 one must carry a payload length that
//! matches its size (its extension headers may still be odd: they come from the input).
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
            if out[0] >> 4 == 6 {
                assert_eq!(
                    usize::from(u16::from_be_bytes([out[4], out[5]])) + 40,
                    out.len()
                );
                continue;
            }
            let p = decode_ip(&out).expect("a reassembled datagram decodes");
            assert!(!p.ip.is_fragment);
        }
    }
});
