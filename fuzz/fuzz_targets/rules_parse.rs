//! Fuzzes the rule parser and compiler: any bytes, taken as rule-file text, must parse and
//! compile to a report without panicking, and compiled rules must survive detection on a
//! packet made from the same bytes (with and without `PacketExtra`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use verdict_rules::{
    DetectState, FlowInput, FlowVars, IpInput, L4Input, PacketExtra, PacketInput, RuleSet, Vars,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let parsed = verdict_rules::parse_str(&text, "fuzz.rules");
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert_eq!(set.len(), report.loaded.len());
    if set.is_empty() {
        return;
    }
    let pkt = PacketInput {
        ip: IpInput {
            src: [10, 0, 0, 1].into(),
            dst: [192, 168, 1, 1].into(),
            proto: 6,
            ttl: 64,
            tos: 0,
            id: 1,
            ipopts: 0,
            fragbits: 0,
            frag_offset: 0,
            header: &[],
        },
        l4: L4Input::Tcp {
            src_port: 1234,
            dst_port: 80,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 100,
        },
        payload: data,
        flow: FlowInput {
            tracked: true,
            to_server: true,
            established: true,
            from_stream: false,
        },
    };
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, &pkt, Some(&mut fv), &mut st, &mut out);
    // Again with the optional facts: the first bytes as a transport header, VLANs, events.
    let extra = PacketExtra {
        l4_header: &data[..data.len().min(40)],
        vlan_ids: &[100, 200],
        decode_events: &["ipv6.frag_overlap"],
        stream_events: &["rst_invalid_ack"],
        ..Default::default()
    };
    out.clear();
    set.detect_ext(
        1_000_000_000,
        &pkt,
        &extra,
        Some(&mut fv),
        &mut st,
        &mut out,
    );
});
