//! The prefilter's app-layer sub-groups: rules of an app-layer protocol are candidates only on
//! packets of that protocol, and a packet of it still finds the port group's rules.

use std::net::IpAddr;

use verdict_rules::{DetectState, FlowInput, IpInput, L4Input, PacketInput, RuleSet, Vars};

fn tcp(payload: &[u8], dport: u16) -> PacketInput<'_> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    PacketInput {
        ip: IpInput {
            src: ip("198.18.1.2"),
            dst: ip("198.19.1.2"),
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
            src_port: 40000,
            dst_port: dport,
            flags: 0x18,
            seq: 1,
            ack: 1,
            window: 512,
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server: true,
            established: true,
            from_stream: false,
        },
    }
}

fn run(set: &RuleSet, p: &PacketInput<'_>) -> (Vec<u32>, u64) {
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, p, None, &mut st, &mut out);
    let mut sids: Vec<u32> = out.iter().map(|m| m.rule.sid).collect();
    sids.sort_unstable();
    (sids, st.candidates_checked)
}

const RULES: &str = r#"
alert http any any -> any any (msg:"http raw"; content:"evilpattern"; sid:1;)
alert tcp any any -> any any (msg:"tcp"; content:"tcppattern"; sid:2;)
alert http any any -> any any (msg:"http uri"; http.uri; content:"/evilpattern"; sid:3;)
alert http any any -> any any (msg:"http no pattern"; flow:established; sid:4;)
alert tcp any any -> any 80 (msg:"tcp port 80"; content:"tcppattern"; sid:5;)
alert http any any -> any 80 (msg:"http port 80"; content:"evilpattern"; sid:6;)
"#;

fn set() -> RuleSet {
    let parsed = verdict_rules::parse_str(RULES, "test.rules");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(report.invalid.is_empty() && report.unsupported.is_empty());
    set
}

#[test]
fn app_rules_are_not_candidates_on_other_traffic() {
    let s = set();
    // Not HTTP: the HTTP rules' patterns occur but none of them is even checked.
    let (sids, checked) = run(&s, &tcp(b"xx evilpattern /evilpattern tcppattern", 9002));
    assert_eq!(sids, vec![2]);
    assert_eq!(checked, 1, "only the tcp rule is a candidate");
    let (sids, checked) = run(&s, &tcp(b"xx evilpattern /evilpattern tcppattern", 80));
    assert_eq!(sids, vec![2, 5]);
    assert_eq!(checked, 2);
}

#[test]
fn app_packets_find_app_and_port_group_rules() {
    let s = set();
    let req = b"GET /evilpattern HTTP/1.1\r\nHost: a\r\nX: tcppattern\r\n\r\n";
    let (sids, _) = run(&s, &tcp(req, 9002));
    assert_eq!(sids, vec![1, 2, 3, 4]);
    let (sids, _) = run(&s, &tcp(req, 80));
    assert_eq!(sids, vec![1, 2, 3, 4, 5, 6]);
    // HTTP without the patterns: only the pattern-less HTTP rule.
    let (sids, checked) = run(&s, &tcp(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 80));
    assert_eq!(sids, vec![4]);
    assert_eq!(checked, 1);
}
