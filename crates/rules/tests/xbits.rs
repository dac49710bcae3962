//! `xbits` and `hostbits` through the public API: bits live per host or IP pair in the
//! thread's `DetectState`, across flows, and expire on the packets' clock.

use std::net::IpAddr;

use verdict_rules::{
    DetectState, FlowInput, FlowVars, HostBitsConfig, IpInput, L4Input, PacketInput, RuleProblem,
    RuleSet, Vars,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A UDP packet `src:1111 -> dst:2222`.
fn udp<'a>(src: &str, dst: &str, payload: &'a [u8]) -> PacketInput<'a> {
    PacketInput {
        ip: IpInput {
            src: ip(src),
            dst: ip(dst),
            proto: 17,
            ttl: 64,
            tos: 0,
            id: 1,
            ipopts: 0,
            fragbits: 0,
            frag_offset: 0,
            header: &[],
        },
        l4: L4Input::Udp {
            src_port: 1111,
            dst_port: 2222,
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server: true,
            established: false,
            from_stream: false,
        },
    }
}

fn set(rules: &str) -> RuleSet {
    let parsed = verdict_rules::parse_str(rules, "xbits.rules");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(report.invalid.is_empty(), "invalid: {:#?}", report.invalid);
    assert!(
        report.unsupported.is_empty(),
        "unsupported: {:#?}",
        report.unsupported
    );
    set
}

/// Runs `set` on one packet at second `t` (each packet its own flow, so flowbits could not
/// carry anything); returns the alerting sids.
fn sids(set: &RuleSet, st: &mut DetectState, t: u64, p: &PacketInput<'_>) -> Vec<u32> {
    let mut fv = FlowVars::new();
    let mut out = Vec::new();
    set.detect(t * 1_000_000_000, p, Some(&mut fv), st, &mut out);
    out.iter().filter(|m| m.alert).map(|m| m.rule.sid).collect()
}

const A: &str = "10.0.0.1";
const B: &str = "10.0.0.2";
const C: &str = "10.0.0.3";

#[test]
fn ip_src_bits_cross_flows_and_follow_the_host() {
    let s = set(
        r#"alert udp any any -> any any (content:"SET"; xbits:set,bad,track ip_src,expire 60; noalert; sid:1;)
alert udp any any -> any any (content:"HIT"; xbits:isset,bad,track ip_src; sid:2;)
alert udp any any -> any any (content:"HIT"; xbits:isnotset,bad,track ip_src; sid:3;)"#,
    );
    let mut st = DetectState::new();
    assert_eq!(sids(&s, &mut st, 0, &udp(A, B, b"HIT")), vec![3]);
    assert!(sids(&s, &mut st, 1, &udp(A, B, b"SET")).is_empty());
    // Another flow of the same source, to another destination.
    assert_eq!(sids(&s, &mut st, 2, &udp(A, C, b"HIT")), vec![2]);
    // Another source does not have the bit.
    assert_eq!(sids(&s, &mut st, 2, &udp(B, A, b"HIT")), vec![3]);
    // Without a flow at all, bits still work.
    let mut out = Vec::new();
    s.detect(3_000_000_000, &udp(A, B, b"HIT"), None, &mut st, &mut out);
    assert_eq!(out.iter().map(|m| m.rule.sid).collect::<Vec<_>>(), vec![2]);
    // Expiry: set at 1 with expire 60 -> live through 61.
    assert_eq!(sids(&s, &mut st, 61, &udp(A, B, b"HIT")), vec![2]);
    assert_eq!(sids(&s, &mut st, 62, &udp(A, B, b"HIT")), vec![3]);
}

#[test]
fn ip_dst_set_is_ip_src_on_the_reply() {
    let s = set(
        r#"alert udp any any -> any any (content:"REQ"; xbits:set,asked,track ip_dst; noalert; sid:1;)
alert udp any any -> any any (content:"RESP"; xbits:isset,asked,track ip_src; sid:2;)"#,
    );
    let mut st = DetectState::new();
    sids(&s, &mut st, 0, &udp(A, B, b"REQ"));
    assert_eq!(sids(&s, &mut st, 1, &udp(B, A, b"RESP")), vec![2]);
    assert!(sids(&s, &mut st, 1, &udp(A, B, b"RESP")).is_empty());
    // Default expire is 30 s.
    assert_eq!(sids(&s, &mut st, 30, &udp(B, C, b"RESP")), vec![2]);
    assert!(sids(&s, &mut st, 31, &udp(B, C, b"RESP")).is_empty());
}

#[test]
fn ip_pair_either_direction_only_that_pair() {
    let s = set(
        r#"alert ip any any -> any any (content:"SET"; xbits:set,p,track ip_pair; noalert; sid:1;)
alert ip any any -> any any (content:"HIT"; xbits:isset,p,track ip_pair; sid:2;)
alert ip any any -> any any (content:"UNSET"; xbits:unset,p,track ip_pair; noalert; sid:3;)"#,
    );
    let mut st = DetectState::new();
    sids(&s, &mut st, 0, &udp(A, B, b"SET"));
    assert_eq!(sids(&s, &mut st, 1, &udp(B, A, b"HIT")), vec![2]);
    assert_eq!(sids(&s, &mut st, 1, &udp(A, B, b"HIT")), vec![2]);
    assert!(sids(&s, &mut st, 1, &udp(A, C, b"HIT")).is_empty());
    assert!(sids(&s, &mut st, 1, &udp(C, B, b"HIT")).is_empty());
    sids(&s, &mut st, 2, &udp(B, A, b"UNSET"));
    assert!(sids(&s, &mut st, 3, &udp(A, B, b"HIT")).is_empty());
}

/// suricata-verify `hashaf-ippair-v4-v6-collision`: an IPv6 pair whose address words equal
/// an IPv4 pair's never sees its bits.
#[test]
fn ipv6_pair_never_sees_ipv4_pair_bits() {
    let s = set(
        r#"alert ipv4 any any -> any any (content:"SETFLOW"; xbits:set,hashaf.ippair,track ip_pair; sid:9100011;)
alert ipv6 any any -> any any (content:"HITFLOW"; xbits:isset,hashaf.ippair,track ip_pair; sid:9100012;)"#,
    );
    let mut st = DetectState::new();
    assert_eq!(
        sids(&s, &mut st, 0, &udp("1.2.3.4", "5.6.7.8", b"SETFLOW")),
        vec![9100011]
    );
    assert!(sids(&s, &mut st, 0, &udp("102:304::", "506:708::", b"HITFLOW")).is_empty());
    assert!(sids(
        &s,
        &mut st,
        0,
        &udp("::ffff:1.2.3.4", "::ffff:5.6.7.8", b"HITFLOW")
    )
    .is_empty());
}

#[test]
fn ipv6_hosts() {
    let s = set(
        r#"alert ip any any -> any any (content:"SET"; xbits:set,h,track ip_src; noalert; sid:1;)
alert ip any any -> any any (content:"HIT"; xbits:isset,h,track ip_dst; sid:2;)"#,
    );
    let mut st = DetectState::new();
    sids(&s, &mut st, 0, &udp("2001:db8::1", "2001:db8::2", b"SET"));
    assert_eq!(
        sids(&s, &mut st, 0, &udp("2001:db8::9", "2001:db8::1", b"HIT")),
        vec![2]
    );
    assert!(sids(&s, &mut st, 0, &udp("2001:db8::9", "2001:db8::2", b"HIT")).is_empty());
}

#[test]
fn toggle_and_set_then_check_on_one_packet() {
    // The setter is evaluated before the checker on the same packet, whatever the file order
    // (Suricata orders rules that set bits before rules that read them).
    let s = set(
        r#"alert udp any any -> any any (content:"GO"; xbits:isset,t,track ip_src; sid:2;)
alert udp any any -> any any (content:"GO"; xbits:toggle,t,track ip_src; noalert; sid:1;)"#,
    );
    let mut st = DetectState::new();
    assert_eq!(sids(&s, &mut st, 0, &udp(A, B, b"GO")), vec![2]);
    // Toggled off on the second packet, so the check fails.
    assert!(sids(&s, &mut st, 1, &udp(A, B, b"GO")).is_empty());
    assert_eq!(sids(&s, &mut st, 2, &udp(A, B, b"GO")), vec![2]);
}

#[test]
fn changes_need_the_whole_rule_to_match() {
    let s = set(
        r#"alert udp any any -> any any (xbits:set,x,track ip_src; content:"NEVER"; sid:1;)
alert udp any any -> any any (content:"HIT"; xbits:isset,x,track ip_src; sid:2;)"#,
    );
    let mut st = DetectState::new();
    sids(&s, &mut st, 0, &udp(A, B, b"other"));
    assert!(sids(&s, &mut st, 0, &udp(A, B, b"HIT")).is_empty());
    assert!(st.host_bits().is_empty());
}

#[test]
fn hostbits_share_bits_with_xbits_host_tracking() {
    let s = set(
        r#"alert udp any any -> any any (content:"SET"; hostbits:set,evil; hostbits:noalert; sid:1;)
alert udp any any -> any any (content:"SETDST"; hostbits:set,victim,dst; noalert; sid:2;)
alert udp any any -> any any (content:"HIT"; xbits:isset,evil,track ip_src; sid:3;)
alert udp any any -> any any (content:"HIT"; hostbits:isset,victim,src; sid:4;)
alert udp any any -> any any (content:"HIT"; hostbits:isnotset,evil; sid:5;)"#,
    );
    let mut st = DetectState::new();
    assert!(sids(&s, &mut st, 0, &udp(A, B, b"SET")).is_empty());
    assert!(sids(&s, &mut st, 0, &udp(C, B, b"SETDST")).is_empty());
    assert_eq!(sids(&s, &mut st, 1, &udp(A, C, b"HIT")), vec![3]);
    assert_eq!(sids(&s, &mut st, 1, &udp(B, C, b"HIT")), vec![4, 5]);
    // hostbits expire after 300 s.
    assert_eq!(sids(&s, &mut st, 300, &udp(A, C, b"HIT")), vec![3]);
    assert_eq!(sids(&s, &mut st, 301, &udp(A, C, b"HIT")), vec![5]);
}

#[test]
fn state_limits_evict_and_count() {
    let s = set(
        r#"alert udp any any -> any any (content:"SET"; xbits:set,x,track ip_src,expire 3600; noalert; sid:1;)"#,
    );
    let mut st = DetectState::with_host_bits(HostBitsConfig {
        max_hosts: 64,
        max_pairs: 64,
        max_bits: 4,
    });
    for i in 0..10_000u32 {
        let src = IpAddr::from(i.to_be_bytes()).to_string();
        sids(&s, &mut st, u64::from(i), &udp(&src, B, b"SET"));
    }
    let hb = st.host_bits();
    assert!(hb.len().0 <= 64);
    assert!(hb.stats().evicted >= 10_000 - 64);
}

#[test]
fn bad_values_are_invalid_and_track_tx_unsupported() {
    let text = r#"alert ip any any -> any any (xbits:set,a,track ip_source; sid:1;)
alert ip any any -> any any (xbits:set,a,track ip_src,expire 0; sid:2;)
alert ip any any -> any any (xbits:set,a; sid:3;)
alert ip any any -> any any (hostbits:set,a,both; sid:4;)
alert ip any any -> any any (hostbits:frob,a; sid:5;)
alert ip any any -> any any (xbits:set,a,track tx; sid:6;)
alert ip any any -> any any (xbits:noalert; xbits:set,a,track ip_pair,expire 4294967295; sid:7;)"#;
    let mut b = RuleSet::builder();
    b.add_str(text, "bad.rules");
    let (set, report) = b.build();
    assert_eq!(set.len(), 1);
    let inv: Vec<Option<u32>> = report.invalid.iter().map(|s| s.sid).collect();
    assert_eq!(inv, vec![Some(1), Some(2), Some(3), Some(4), Some(5)]);
    let unsup: Vec<Option<u32>> = report.unsupported.iter().map(|s| s.sid).collect();
    assert_eq!(unsup, vec![Some(6)]);
    assert!(matches!(
        &report.invalid[0].problems[0],
        RuleProblem::Invalid { keyword, .. } if keyword == "xbits"
    ));
    // `xbits:noalert` rule loaded and does not alert, but sets its bit.
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, &udp(A, B, b""), None, &mut st, &mut out);
    assert_eq!(out.len(), 1);
    assert!(!out[0].alert);
    assert_eq!(st.host_bits().len(), (0, 1));
}

/// Like Suricata (xbits and hostbits are IP-only compatible), a rule with only addresses and
/// bits is an IP-only rule: its drop covers the flow, and with a flow it is evaluated on the
/// first packet of each direction.
#[test]
fn bits_keep_a_rule_ip_only() {
    let s = set(
        r#"drop ip any any -> any any (xbits:isset,bad,track ip_src; sid:1;)
alert ip any any -> any any (hostbits:set,seen; sid:2;)
alert ip any any -> any any (xbits:isset,bad,track ip_src; content:"x"; sid:3;)"#,
    );
    let ip_only: Vec<(u32, bool)> = s.metas().map(|m| (m.sid, m.ip_only)).collect();
    assert!(ip_only.contains(&(1, true)), "{ip_only:?}");
    assert!(ip_only.contains(&(2, true)), "{ip_only:?}");
    assert!(ip_only.contains(&(3, false)), "{ip_only:?}");
}
