//! Fuzzes the nfnetlink_queue receive path: a datagram as the kernel would hand it to
//! `recvmmsg`, split into netlink messages, classified, and every packet accessor read.
//! The promise under test: any bytes give an error or a value, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_nfq::codec::{Attrs, Message, Messages, NetlinkMessages, VerdictMsg};

fuzz_target!(|data: &[u8]| {
    for msg in Messages::new(data) {
        match msg {
            Ok(Message::Packet(p)) => {
                let _ = (p.family(), p.queue(), p.id(), p.hw_protocol(), p.hook().name());
                let _ = (p.mark(), p.priority(), p.timestamp().map(|t| t.as_duration()));
                let _ = (p.indev(), p.outdev(), p.physindev(), p.physoutdev());
                let _ = (p.hwaddr(), p.payload(), p.cap_len(), p.original_len());
                let _ = (p.is_truncated(), p.skb_info().map(|s| (s.is_gso(), s.csum_not_ready())));
                let _ = (p.uid(), p.gid(), p.secctx(), p.ct_info(), p.vlan(), p.l2hdr());
                for blob in [p.ct(), p.exp()].into_iter().flatten() {
                    for a in Attrs::new(blob).flatten() {
                        let _ = a.nested().count();
                    }
                }
            }
            Ok(Message::Error(e)) => {
                let _ = (e.code(), e.request(), e.ext_msg());
            }
            Ok(_) | Err(_) => {}
        }
    }
    // The kernel side of verdicts parses too (used by test doubles).
    for m in NetlinkMessages::new(data).flatten() {
        let _ = VerdictMsg::parse(&m);
    }
});
