//! Suricata's IP-only rules: evaluated on the first packet of each direction of a flow (every
//! packet without a flow); rules with a negated address, payload or other packet keywords
//! are evaluated on every packet.

use std::net::IpAddr;

use verdict_rules::{
    DetectState, FlowInput, FlowVars, IpInput, L4Input, PacketInput, RuleSet, Vars,
};

fn pkt(payload: &[u8], to_server: bool) -> PacketInput<'_> {
    let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "192.0.2.9".parse().unwrap());
    let (src, dst, sp, dp) = if to_server {
        (a, b, 40000, 80)
    } else {
        (b, a, 80, 40000)
    };
    PacketInput {
        ip: IpInput {
            src,
            dst,
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
            src_port: sp,
            dst_port: dp,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 512,
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server,
            established: true,
            from_stream: false,
        },
    }
}

fn sids(set: &RuleSet, p: &PacketInput<'_>, fv: Option<&mut FlowVars>) -> Vec<u32> {
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, p, fv, &mut st, &mut out);
    let mut v: Vec<u32> = out.iter().map(|m| m.rule.sid).collect();
    v.sort_unstable();
    v
}

#[test]
fn ip_only_rules_fire_once_per_flow_direction() {
    let text = "\
alert ip any any -> any any (sid:1;)\n\
alert tcp any any -> any 80 (sid:2;)\n\
alert tcp any any -> any any (content:\"x\"; sid:3;)\n\
alert tcp !192.0.2.0/24 any -> any any (sid:4;)\n\
alert tcp $EXTERNAL_NET any -> any any (sid:5;)\n\
alert tcp any any -> any any (flowbits:set,seen; sid:6;)\n\
alert tcp any any -> any any (dsize:>0; sid:7;)\n\
alert tcp any any -> any any (flowbits:toggle,t; sid:8;)\n";
    let parsed = verdict_rules::parse_str(text, "t.rules");
    let mut vars = Vars::suricata_defaults();
    vars.set_address("HOME_NET", "[192.0.2.0/24]");
    let (set, report) = RuleSet::compile(&parsed.rules, &vars);
    assert_eq!(report.loaded.len(), 8);
    let mut fv = FlowVars::new();
    let all: Vec<u32> = (1..=8).collect();
    // First packet to the server: every rule that matches fires.
    assert_eq!(sids(&set, &pkt(b"x", true), Some(&mut fv)), all);
    // Later packets that way: only the per-packet rules (payload, negated address, dsize,
    // flowbits other than `set`).
    assert_eq!(sids(&set, &pkt(b"x", true), Some(&mut fv)), [3, 4, 5, 7, 8]);
    // First packet to the client: IP-only rules again (sid 2's port does not match), and
    // the negated source excludes 192.0.2.9 for sids 4 and 5.
    assert_eq!(
        sids(&set, &pkt(b"x", false), Some(&mut fv)),
        [1, 3, 6, 7, 8]
    );
    assert_eq!(sids(&set, &pkt(b"x", false), Some(&mut fv)), [3, 7, 8]);
    // No flow: every packet.
    assert_eq!(sids(&set, &pkt(b"x", true), None), all);
    assert_eq!(sids(&set, &pkt(b"x", true), None), all);
}
