//! Fuzz the packet decoder: any bytes, under every link type, must decode or return an
//! error, never panic; decoded views must stay inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_decode::{decode, LinkType};

const LINKS: [LinkType; 9] = [
    LinkType::Raw,
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::Null,
    LinkType::Loop,
    LinkType::Ppp,
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the link type; the rest is the packet.
    let Some((&sel, pkt)) = data.split_first() else {
        return;
    };
    let link = LINKS[sel as usize % LINKS.len()];
    if let Ok(p) = decode(link, pkt) {
        let range = pkt.as_ptr_range();
        for s in [p.payload, p.ip.header] {
            assert!(s.is_empty() || (range.contains(&s.as_ptr()) && s.len() <= pkt.len()));
        }
        assert!(p.ip.total_len <= pkt.len());
        let (k, _) = p.flow_key();
        assert_eq!(k.proto, p.ip.proto);
        // Follow tunnels a few levels, as the engine does.
        let mut cur = p;
        for _ in 0..3 {
            let Some(t) = cur.tunnel() else { break };
            assert!(t.inner.is_empty() || range.contains(&t.inner.as_ptr()));
            match decode(t.link, t.inner) {
                Ok(inner) => cur = inner,
                Err(_) => break,
            }
        }
    }
});
