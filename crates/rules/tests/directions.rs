//! Rule header directions: `->`, `<>`, and Suricata 8's transactional `=>` (parts of one rule
//! matched on the request and the response of one transaction).

use std::net::IpAddr;

use verdict_applayer::flow::AppMessage;
use verdict_rules::input::AppInput;
use verdict_rules::{
    parse_str, DetectState, Direction, FlowInput, FlowVars, IpInput, L4Input, PacketExtra,
    PacketInput, RuleSet, Vars,
};

#[test]
fn transactional_direction_is_parsed() {
    let text = "alert http any any => any any (http.method; content:\"GET\"; http.stat_code; content:\"404\"; sid:1;)\n";
    let parsed = parse_str(text, "t.rules");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    assert_eq!(parsed.rules[0].direction, Direction::Transactional);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert_eq!(set.len(), 1, "{report:?}");
}

#[test]
fn a_transactional_rule_needs_two_buffers() {
    let parsed = parse_str(
        "alert http any any => any any (http.method; content:\"GET\"; sid:1;)\n",
        "t.rules",
    );
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(set.is_empty());
    assert_eq!(report.invalid.len(), 1);
}

#[test]
fn unknown_direction_is_a_syntax_error() {
    let parsed = parse_str("alert tcp any any <- any any (sid:1;)\n", "t.rules");
    assert_eq!(parsed.errors.len(), 1);
}

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

/// Detection on one framed HTTP message of transaction `tx`.
fn sids_on(set: &RuleSet, fv: &mut FlowVars, bytes: &[u8], to_server: bool, tx: u64) -> Vec<u32> {
    let msgs = [AppMessage {
        proto: verdict_applayer::AppProto::Http,
        bytes,
        tx_id: tx,
        complete: true,
        flow_events: Default::default(),
    }];
    let extra = PacketExtra {
        app: Some(AppInput {
            proto: Some(verdict_applayer::AppProto::Http),
            messages: &msgs,
            decode: Default::default(),
        }),
        ..PacketExtra::default()
    };
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect_ext(
        0,
        &pkt(bytes, to_server),
        &extra,
        Some(fv),
        &mut st,
        &mut out,
    );
    out.iter().map(|m| m.rule.sid).collect()
}

#[test]
fn transactional_rule_matches_request_and_response_of_one_transaction() {
    let text = "alert http any any => any any (http.method; content:\"GET\"; http.stat_code; content:\"404\"; sid:1;)\n";
    let parsed = parse_str(text, "t.rules");
    let (set, _) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    let get = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    let post = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let mut fv = FlowVars::new();
    // The request alone is not enough; its response completes the rule (once).
    assert!(sids_on(&set, &mut fv, get, true, 0).is_empty());
    assert_eq!(sids_on(&set, &mut fv, not_found, false, 0), [1]);
    assert!(sids_on(&set, &mut fv, not_found, false, 0).is_empty());
    // Another transaction: GET answered 200, then a POST answered 404: no match (the parts
    // must hold in the same transaction).
    assert!(sids_on(&set, &mut fv, get, true, 1).is_empty());
    assert!(sids_on(&set, &mut fv, ok, false, 1).is_empty());
    assert!(sids_on(&set, &mut fv, post, true, 2).is_empty());
    assert!(sids_on(&set, &mut fv, not_found, false, 2).is_empty());
    // Without framed messages (no transactions) it never matches.
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, &pkt(get, true), Some(&mut fv), &mut st, &mut out);
    assert!(out.is_empty());
}
