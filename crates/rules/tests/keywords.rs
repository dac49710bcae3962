//! Per-keyword match / no-match tests through the public API: a rule is compiled, a packet is
//! built by hand, and `RuleSet::detect` says whether the rule fired.

use std::net::IpAddr;

use verdict_rules::{
    input::ipopt, Action, DetectState, FlowInput, FlowVars, IpInput, L4Input, Match, PacketInput,
    RuleProblem, RuleSet, Vars,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A TCP packet 1.2.3.4:40000 -> 10.0.0.1:80, flags PA, on an established flow to the server.
fn tcp(payload: &[u8]) -> PacketInput<'_> {
    PacketInput {
        ip: IpInput {
            src: ip("1.2.3.4"),
            dst: ip("10.0.0.1"),
            proto: 6,
            ttl: 64,
            tos: 0,
            id: 1234,
            ipopts: 0,
            fragbits: 0b10,
            frag_offset: 0,
            header: &[],
        },
        l4: L4Input::Tcp {
            src_port: 40000,
            dst_port: 80,
            flags: 0x18,
            seq: 1000,
            ack: 2000,
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

fn udp(payload: &[u8]) -> PacketInput<'_> {
    let mut p = tcp(payload);
    p.ip.proto = 17;
    p.l4 = L4Input::Udp {
        src_port: 5353,
        dst_port: 53,
    };
    p
}

fn icmp(t: u8, code: u8, id: u16, seq: u16) -> PacketInput<'static> {
    let mut p = tcp(b"abcdefgh");
    p.ip.proto = 1;
    p.l4 = L4Input::Icmp {
        icmp_type: t,
        code,
        id: Some(id),
        seq: Some(seq),
        v6: false,
    };
    p
}

fn set(rules: &str) -> RuleSet {
    let parsed = verdict_rules::parse_str(rules, "test.rules");
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

fn run(set: &RuleSet, p: &PacketInput<'_>) -> Vec<Match> {
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut out = Vec::new();
    set.detect(0, p, Some(&mut fv), &mut st, &mut out);
    out
}

/// Does a rule with these options (header `alert tcp any any -> any any`) fire on `p`?
fn fires(opts: &str, p: &PacketInput<'_>) -> bool {
    let proto = match p.l4 {
        L4Input::Tcp { .. } => "tcp",
        L4Input::Udp { .. } => "udp",
        L4Input::Icmp { .. } => "icmp",
        L4Input::Other => "ip",
    };
    let s = set(&format!("alert {proto} any any -> any any ({opts} sid:1;)"));
    !run(&s, p).is_empty()
}

#[test]
fn content_basic_nocase_negation() {
    assert!(fires(r#"content:"GET";"#, &tcp(b"GET / HTTP/1.1")));
    assert!(!fires(r#"content:"get";"#, &tcp(b"GET / HTTP/1.1")));
    assert!(fires(r#"content:"get"; nocase;"#, &tcp(b"GET / HTTP/1.1")));
    assert!(fires(r#"content:"|47 45|T";"#, &tcp(b"GET /")));
    assert!(!fires(r#"content:!"GET";"#, &tcp(b"GET /")));
    assert!(fires(r#"content:!"POST";"#, &tcp(b"GET /")));
    // Empty payload: payload keywords never match.
    assert!(!fires(r#"content:!"POST";"#, &tcp(b"")));
    assert!(fires(r#"content:"a\;b";"#, &tcp(b"xa;b")));
}

#[test]
fn content_offset_depth() {
    let p = tcp(b"0123456789");
    assert!(fires(r#"content:"345"; offset:3;"#, &p));
    assert!(!fires(r#"content:"345"; offset:4;"#, &p));
    assert!(fires(r#"content:"012"; depth:3;"#, &p));
    assert!(!fires(r#"content:"123"; depth:3;"#, &p));
    // depth counts from offset
    assert!(fires(r#"content:"345"; offset:3; depth:3;"#, &p));
    assert!(!fires(r#"content:"456"; offset:3; depth:3;"#, &p));
    assert!(fires(r#"content:"789"; offset:7; depth:3;"#, &p));
    assert!(!fires(r#"content:"789"; offset:8;"#, &p));
}

#[test]
fn content_distance_within() {
    let p = tcp(b"abcXXdefYYabcdef");
    assert!(fires(r#"content:"abc"; content:"def"; distance:0;"#, &p));
    assert!(fires(
        r#"content:"abc"; content:"def"; distance:2; within:3;"#,
        &p
    ));
    assert!(!fires(
        r#"content:"abc"; content:"def"; distance:3; within:3;"#,
        &tcp(b"abcXXdef")
    ));
    assert!(!fires(
        r#"content:"abc"; content:"def"; within:4;"#,
        &tcp(b"abcXXdef")
    ));
    assert!(fires(
        r#"content:"abc"; content:"def"; within:5;"#,
        &tcp(b"abcXXdef")
    ));
    // negative distance looks back
    assert!(fires(
        r#"content:"def"; content:"XX"; distance:-5; within:2;"#,
        &tcp(b"abcXXdef")
    ));
    // backtracking: the first "abc" has no "def" right after, the second does.
    assert!(fires(r#"content:"abc"; content:"def"; within:3;"#, &p));
    // negated relative content: the second "abc" is not followed by "XX"
    assert!(fires(r#"content:"abc"; content:!"XX"; within:2;"#, &p));
    assert!(!fires(
        r#"content:"abc"; content:!"XX"; within:2;"#,
        &tcp(b"abcXX")
    ));
}

#[test]
fn content_startswith_endswith() {
    let p = tcp(b"hello world");
    assert!(fires(r#"content:"hello"; startswith;"#, &p));
    assert!(!fires(r#"content:"world"; startswith;"#, &p));
    assert!(fires(r#"content:"world"; endswith;"#, &p));
    assert!(!fires(r#"content:"hello"; endswith;"#, &p));
    assert!(fires(r#"content:"hello world"; startswith; endswith;"#, &p));
    assert!(fires(r#"content:"WORLD"; nocase; endswith;"#, &p));
    assert!(fires(
        r#"content:"hello"; content:"world"; distance:1; endswith;"#,
        &p
    ));
    // endswith when the content also occurs earlier
    assert!(fires(r#"content:"ab"; endswith;"#, &tcp(b"abxxab")));
}

#[test]
fn fast_pattern_and_prefilter_respect_nocase() {
    let s = set(
        r#"alert tcp any any -> any any (content:"EVIL"; nocase; fast_pattern; content:"x"; sid:1;)
alert tcp any any -> any any (content:"Exact"; sid:2;)
alert tcp any any -> any any (content:"abcdefgh"; fast_pattern:2,3; sid:3;)"#,
    );
    let sids = |p: &[u8]| {
        run(&s, &tcp(p))
            .iter()
            .map(|m| m.rule.sid)
            .collect::<Vec<_>>()
    };
    assert_eq!(sids(b"an evil x"), vec![1]);
    assert_eq!(sids(b"an EvIl x Exact"), vec![1, 2]);
    assert_eq!(sids(b"exact"), Vec::<u32>::new());
    assert_eq!(sids(b"..abcdefgh.."), vec![3]);
    assert_eq!(sids(b"..abcdefg.."), Vec::<u32>::new());
}

#[test]
fn pcre_flags_and_relative() {
    let p = tcp(b"User: Admin\r\nPass: secret");
    assert!(fires(r#"pcre:"/user:\s+admin/i";"#, &p));
    assert!(!fires(r#"pcre:"/user:\s+admin/";"#, &p));
    assert!(fires(r#"pcre:"/^Pass/m";"#, &p));
    assert!(!fires(r#"pcre:"/^Pass/";"#, &p));
    assert!(fires(r#"pcre:"/Admin.+secret/s";"#, &p));
    assert!(!fires(r#"pcre:"/Admin.+secret/";"#, &p));
    assert!(fires(r#"pcre:"/ A d m i n /x";"#, &p));
    assert!(!fires(r#"pcre:!"/Admin/";"#, &p));
    assert!(fires(r#"pcre:!"/root/";"#, &p));
    // relative: after "Pass:"
    assert!(fires(r#"content:"Pass:"; pcre:"/^\s*secret/R";"#, &p));
    assert!(!fires(r#"content:"Pass:"; pcre:"/Admin/R";"#, &p));
    // anchored at the relative start
    assert!(fires(r#"content:"Pass:"; pcre:"/ secret/AR";"#, &p));
    assert!(!fires(r#"content:"Pass:"; pcre:"/secret/AR";"#, &p));
    // ungreedy
    assert!(fires(r#"pcre:"/U.*n/G"; content:"Pass"; distance:0;"#, &p));
    // content after pcre is relative to the pcre match end
    assert!(fires(
        r#"pcre:"/Ad.in/"; content:"Pass"; distance:2; within:4;"#,
        &p
    ));
}

#[test]
fn pcre_backtracks() {
    // the first "id=" is followed by letters, the second by digits
    let p = tcp(b"id=abc&id=123&");
    assert!(fires(r#"pcre:"/id=/"; pcre:"/^[0-9]+&/R";"#, &p));
    assert!(fires(r#"content:"id="; pcre:"/^[0-9]+&/R";"#, &p));
    assert!(!fires(r#"content:"id="; pcre:"/^[0-9]+x/R";"#, &p));
}

#[test]
fn unsupported_pcre_flags_are_reported() {
    let parsed =
        verdict_rules::parse_str(r#"alert tcp any any -> any any (pcre:"/x/K"; sid:9;)"#, "t");
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::default());
    assert!(set.is_empty());
    assert_eq!(report.unsupported.len(), 1);
    assert_eq!(report.unsupported[0].sid, Some(9));
    assert!(
        matches!(&report.unsupported[0].problems[0], RuleProblem::Unsupported { keyword, .. } if keyword == "pcre/K")
    );
}

#[test]
fn isdataat() {
    let p = tcp(b"abcdef");
    assert!(fires("isdataat:5;", &p));
    assert!(!fires("isdataat:6;", &p));
    assert!(fires("isdataat:!6;", &p));
    assert!(fires(r#"content:"abc"; isdataat:3,relative;"#, &p));
    assert!(!fires(r#"content:"abc"; isdataat:4,relative;"#, &p));
    assert!(fires(r#"content:"abc"; isdataat:!4,relative;"#, &p));
    assert!(fires(r#"content:"def"; isdataat:!1,relative;"#, &p));
}

#[test]
fn byte_test() {
    let p = tcp(&[0x00, 0x10, 0x20, 0x30, b'1', b'2', b'3', b'x']);
    assert!(fires("byte_test:2,=,16,0;", &p));
    assert!(fires("byte_test:2,=,0x1000,0,little;", &p));
    assert!(fires("byte_test:1,>,0x1f,2;", &p));
    assert!(!fires("byte_test:1,>,0x20,2;", &p));
    assert!(fires("byte_test:1,<=,0x20,2;", &p));
    assert!(fires("byte_test:1,!=,0x21,2;", &p));
    assert!(fires("byte_test:1,&,0x10,3;", &p));
    assert!(!fires("byte_test:1,&,0x01,3;", &p));
    assert!(fires("byte_test:1,!&,0x01,3;", &p));
    assert!(fires("byte_test:3,=,123,4,string,dec;", &p));
    assert!(fires("byte_test:2,=,0x12,4,string,hex;", &p));
    assert!(fires("byte_test:1,=,1,1,bitmask 0x30;", &p)); // (0x10 & 0x30) >> 4 = 1
    assert!(!fires("byte_test:1,=,1,1,bitmask 0x30;", &tcp(&[0, 0x20])));
    assert!(fires(
        r#"content:"|20|"; byte_test:1,=,0x30,0,relative;"#,
        &p
    ));
    assert!(!fires("byte_test:4,=,1,6;", &p)); // out of bounds
}

#[test]
fn byte_jump() {
    // len=3 at 0, then 3 bytes, then "ok"
    let p = tcp(&[3, b'a', b'b', b'c', b'o', b'k', b'!']);
    assert!(fires(r#"byte_jump:1,0; content:"ok"; within:2;"#, &p));
    assert!(!fires(r#"byte_jump:1,0; content:"bc"; within:2;"#, &p));
    assert!(fires(
        r#"byte_jump:1,0,post_offset 1; content:"k!"; within:2;"#,
        &p
    ));
    assert!(fires(
        r#"byte_jump:1,0,from_beginning; content:"co"; within:2;"#,
        &p
    ));
    assert!(fires(r#"byte_jump:1,0,align; content:"k"; within:1;"#, &p)); // 3 -> 4: 1+4 = 5
    assert!(!fires("byte_jump:1,0,multiplier 2;", &p)); // 1 + 6 = 7: the end, not inside
    assert!(fires(
        r#"byte_jump:1,0,multiplier 2,post_offset -1; content:"!"; within:1;"#,
        &p
    ));
    assert!(!fires("byte_jump:1,0,multiplier 3;", &p)); // 1 + 9 beyond the end
    assert!(fires(
        r#"content:"|03|"; byte_jump:1,-1,relative; content:"ok"; within:2;"#,
        &p
    ));
    assert!(fires(
        r#"byte_jump:1,0,from_end,post_offset -6; content:"ok"; within:2;"#,
        &p
    ));
}

#[test]
fn byte_extract_variables() {
    // offset of "ok" stored at byte 0, length at byte 1
    let p = tcp(&[4, 2, b'x', b'x', b'o', b'k']);
    assert!(fires(
        r#"byte_extract:1,0,off; byte_extract:1,1,len; content:"ok"; offset:off; depth:len;"#,
        &p
    ));
    assert!(!fires(
        r#"byte_extract:1,0,off; content:"ok"; offset:off; depth:1;"#,
        &p
    ));
    assert!(fires("byte_extract:1,0,v; byte_test:1,=,v,0;", &p));
    assert!(!fires("byte_extract:1,1,v; byte_test:1,=,v,0;", &p));
    assert!(fires("byte_extract:1,1,v; isdataat:v,relative;", &p));
    assert!(fires(
        r#"byte_extract:1,1,v,relative; content:"xx"; distance:0; within:v;"#,
        &p
    ));
}

#[test]
fn dsize() {
    let p = tcp(b"12345");
    assert!(fires("dsize:5;", &p));
    assert!(!fires("dsize:4;", &p));
    assert!(fires("dsize:>4;", &p));
    assert!(fires("dsize:<6;", &p));
    assert!(fires("dsize:4<>6;", &p));
    assert!(!fires("dsize:5<>6;", &p));
    assert!(fires("dsize:!4;", &p));
}

#[test]
fn ip_keywords() {
    let mut p = tcp(b"x");
    assert!(fires("ttl:64;", &p));
    assert!(fires("ttl:<65;", &p));
    assert!(!fires("ttl:>64;", &p));
    assert!(fires("ttl:60-70;", &p));
    assert!(fires("id:1234;", &p));
    assert!(!fires("id:1;", &p));
    assert!(fires("tos:0;", &p));
    assert!(fires("tos:!8;", &p));
    p.ip.tos = 0x10;
    assert!(fires("tos:0x10;", &p));
    assert!(fires("fragbits:D;", &p));
    assert!(!fires("fragbits:M;", &p));
    assert!(fires("fragbits:*MD;", &p));
    assert!(fires("fragbits:!M;", &p));
    assert!(fires("ip_proto:6;", &p));
    assert!(fires("ip_proto:TCP;", &p));
    assert!(fires("ip_proto:!17;", &p));
    assert!(!fires("sameip;", &p));
    p.ip.dst = p.ip.src;
    assert!(fires("sameip;", &p));
    assert!(!fires("ipopts:rr;", &p));
    p.ip.ipopts = ipopt::RR | ipopt::NOP;
    assert!(fires("ipopts:rr;", &p));
    assert!(fires("ipopts:any;", &p));
    assert!(!fires("ipopts:lsrr;", &p));
}

#[test]
fn tcp_keywords() {
    let p = tcp(b"x");
    assert!(fires("seq:1000;", &p));
    assert!(!fires("seq:1001;", &p));
    assert!(fires("ack:2000;", &p));
    assert!(fires("window:512;", &p));
    assert!(fires("window:!513;", &p));
    assert!(!fires("window:!512;", &p));
    assert!(fires("flags:PA;", &p));
    assert!(fires("flags:AP;", &p));
    assert!(!fires("flags:A;", &p));
    assert!(fires("flags:A+;", &p));
    assert!(fires("flags:+A;", &p));
    assert!(fires("flags:*SA;", &p));
    assert!(!fires("flags:*SF;", &p));
    assert!(fires("flags:!SF;", &p));
    assert!(!fires("flags:!A;", &p));
    assert!(fires("flags:A,P;", &p)); // P ignored
    let mut syn = tcp(b"");
    syn.l4 = L4Input::Tcp {
        src_port: 1,
        dst_port: 2,
        flags: 0x02 | 0x40 | 0x80,
        seq: 0,
        ack: 0,
        window: 0,
    };
    assert!(fires("flags:S,12;", &syn));
    assert!(fires("flags:S,CE;", &syn));
    assert!(!fires("flags:S;", &syn));
    let mut none = syn.clone();
    none.l4 = L4Input::Tcp {
        src_port: 1,
        dst_port: 2,
        flags: 0,
        seq: 0,
        ack: 0,
        window: 0,
    };
    assert!(fires("flags:0;", &none));
    assert!(!fires("flags:0;", &syn));
    // TCP keywords never match UDP
    assert!(!fires("seq:0;", &udp(b"x")));
}

#[test]
fn icmp_keywords() {
    let p = icmp(8, 0, 77, 5);
    assert!(fires("itype:8;", &p));
    assert!(!fires("itype:0;", &p));
    assert!(fires("itype:>7;", &p));
    assert!(fires("itype:7<>9;", &p));
    assert!(!fires("itype:8<>9;", &p));
    assert!(fires("icode:0;", &p));
    assert!(fires("icode:<1;", &p));
    assert!(fires("icmp_id:77;", &p));
    assert!(!fires("icmp_id:78;", &p));
    assert!(fires("icmp_seq:5;", &p));
    assert!(!fires("icmp_seq:6;", &p));
    // icmp rules do not match TCP
    let s = set("alert icmp any any -> any any (sid:1;)");
    assert!(run(&s, &tcp(b"x")).is_empty());
    assert_eq!(run(&s, &p).len(), 1);
}

#[test]
fn flow_keyword() {
    let mut p = tcp(b"x");
    assert!(fires("flow:established,to_server;", &p));
    assert!(fires("flow:from_client;", &p));
    assert!(!fires("flow:to_client;", &p));
    assert!(!fires("flow:not_established;", &p));
    assert!(fires("flow:stateless;", &p));
    assert!(fires("flow:no_stream;", &p));
    assert!(!fires("flow:only_stream;", &p));
    p.flow.to_server = false;
    assert!(fires("flow:from_server;", &p));
    p.flow = FlowInput::default();
    assert!(!fires("flow:to_client;", &p));
    assert!(!fires("flow:established;", &p));
    assert!(fires("flow:stateless;", &p));
}

#[test]
fn header_addresses_ports_direction() {
    let p = tcp(b"x"); // 1.2.3.4:40000 -> 10.0.0.1:80
    let hit = |h: &str| !run(&set(&format!("alert tcp {h} (sid:1;)")), &p).is_empty();
    assert!(hit("$EXTERNAL_NET any -> $HOME_NET $HTTP_PORTS"));
    assert!(!hit("$HOME_NET any -> $EXTERNAL_NET any"));
    assert!(hit("$HOME_NET any <> $EXTERNAL_NET any"));
    assert!(hit("any any -> 10.0.0.0/8 [80,443]"));
    assert!(!hit("any any -> 10.0.0.0/8 !80"));
    assert!(hit("any 1024: -> any :1023"));
    assert!(hit("[1.2.3.0/24,!1.2.3.5] any -> any any"));
    assert!(!hit("[1.2.3.0/24,!1.2.3.4] any -> any any"));
    assert!(hit("1.2.3.1-1.2.3.9 any -> any any"));
    assert!(!hit("any 80 -> any any"));
    assert!(hit("any 80 <> any any"));
    assert!(!hit("2001:db8::/32 any -> any any"));
}

#[test]
fn variables_from_the_caller() {
    let parsed =
        verdict_rules::parse_str("alert tcp any any -> $HOME_NET $HTTP_PORTS (sid:1;)", "t");
    let mut vars = Vars::suricata_defaults();
    vars.set("HOME_NET", "[192.168.0.0/16]");
    let (s, _) = RuleSet::compile(&parsed.rules, &vars);
    assert!(run(&s, &tcp(b"x")).is_empty());
    vars.set("HOME_NET", "10.0.0.0/24");
    vars.set("HTTP_PORTS", "[8080,80]");
    let (s, _) = RuleSet::compile(&parsed.rules, &vars);
    assert_eq!(run(&s, &tcp(b"x")).len(), 1);
    let parsed = verdict_rules::parse_str("alert tcp $NOPE any -> any any (sid:1;)", "t");
    let (_, report) = RuleSet::compile(&parsed.rules, &vars);
    assert_eq!(report.invalid.len(), 1);
}

#[test]
fn flowbits_set_check_order_and_or_groups() {
    // The isset rule comes first in the file but is evaluated after the setter.
    let s = set(
        r#"alert tcp any any -> any any (msg:"check"; flowbits:isset,seen; content:"b"; sid:2;)
alert tcp any any -> any any (msg:"set"; content:"a"; flowbits:set,seen; flowbits:noalert; sid:1;)
alert tcp any any -> any any (flowbits:isset,x|seen; content:"c"; sid:3;)
alert tcp any any -> any any (flowbits:isnotset,seen; content:"c"; sid:4;)
alert tcp any any -> any any (content:"u"; flowbits:unset,seen; sid:5;)
alert tcp any any -> any any (content:"t"; flowbits:toggle,tg; sid:6;)
alert tcp any any -> any any (flowbits:isset,tg; content:"t"; sid:7;)"#,
    );
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut go = |payload: &[u8], fv: &mut FlowVars| {
        let mut out = Vec::new();
        s.detect(0, &tcp(payload), Some(fv), &mut st, &mut out);
        out.iter()
            .map(|m| (m.rule.sid, m.alert))
            .collect::<Vec<_>>()
    };
    assert_eq!(go(b"b c", &mut fv), vec![(4, true)]);
    assert_eq!(go(b"ab", &mut fv), vec![(1, false), (2, true)]);
    assert!(fv.is_set("seen"));
    assert_eq!(go(b"c", &mut fv), vec![(3, true)]);
    assert_eq!(go(b"u", &mut fv), vec![(5, true)]);
    assert!(!fv.is_set("seen"));
    assert_eq!(go(b"t", &mut fv), vec![(6, true), (7, true)]);
    assert_eq!(go(b"t", &mut fv), vec![(6, true)]);
    // Without flow state, every flowbit check fails (isnotset too), as in Suricata.
    let mut out = Vec::new();
    s.detect(0, &tcp(b"abc"), None, &mut DetectState::new(), &mut out);
    let sids: Vec<u32> = out.iter().map(|m| m.rule.sid).collect();
    assert_eq!(sids, vec![1]);
}

#[test]
fn action_order_and_pass() {
    let s = set(r#"alert tcp any any -> any any (content:"x"; sid:1;)
drop tcp any any -> any any (content:"x"; sid:2;)
reject tcp any any -> any any (content:"x"; sid:3;)
pass tcp any any -> any any (content:"skip"; sid:4;)"#);
    let m = run(&s, &tcp(b"x"));
    let got: Vec<(u32, Action)> = m.iter().map(|m| (m.rule.sid, m.rule.action)).collect();
    assert_eq!(
        got,
        vec![(2, Action::Drop), (3, Action::Reject), (1, Action::Alert)]
    );
    let m = run(&s, &tcp(b"x skip"));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.sid, 4);
    assert!(!m[0].alert);
}

#[test]
fn meta_keywords() {
    let s = set(
        r#"alert tcp any any -> any any (msg:"a \"quoted\" \; msg"; classtype:trojan-activity; reference:url,example.com; metadata:created_at 2020_01_01, tag x; gid:3; rev:7; target:dest_ip; sid:42;)
alert tcp any any -> any any (msg:"p"; classtype:trojan-activity; priority:4; content:"x"; sid:43;)
alert tcp any any -> any any (msg:"n"; noalert; content:"x"; sid:44;)"#,
    );
    let m = run(&s, &tcp(b"x"));
    assert_eq!(m.len(), 3);
    let r = &m.iter().find(|m| m.rule.sid == 42).unwrap().rule;
    assert_eq!(r.msg, "a \"quoted\" ; msg");
    assert_eq!(r.gid, 3);
    assert_eq!(r.rev, 7);
    assert_eq!(r.category, "A Network Trojan was detected");
    assert_eq!(r.priority, 1);
    assert_eq!(r.references, vec!["url,example.com"]);
    assert_eq!(r.metadata, vec!["created_at 2020_01_01", "tag x"]);
    assert_eq!(r.target, Some(verdict_rules::Target::DestIp));
    assert_eq!(r.position.line, 1);
    let p = &m.iter().find(|m| m.rule.sid == 43).unwrap().rule;
    assert_eq!(p.priority, 4);
    let n = m.iter().find(|m| m.rule.sid == 44).unwrap();
    assert!(n.rule.noalert && !n.alert);
    // priority orders evaluation within an action: sid 42 (prio 1) before 43 (prio 4)
    let order: Vec<u32> = m.iter().map(|m| m.rule.sid).collect();
    assert_eq!(order[0], 42);
}

/// Runs a one-rule set on a packet from `src` at time `t_s`: None when the match is not
/// reported at all, else whether it alerts.
fn hits_at(s: &RuleSet, st: &mut DetectState, t_s: u64, src: &str) -> Option<bool> {
    let mut p = tcp(b"x");
    p.ip.src = ip(src);
    let mut out = Vec::new();
    s.detect(t_s * 1_000_000_000, &p, None, st, &mut out);
    assert!(out.len() <= 1);
    out.first().map(|m| m.alert)
}

const N: Option<bool> = None;
const A: Option<bool> = Some(true);
const Q: Option<bool> = Some(false);

#[test]
fn threshold_limit() {
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type limit, track by_src, count 2, seconds 60; sid:1;)");
    let mut st = DetectState::new();
    let r: Vec<_> = (0..4).map(|i| hits_at(&s, &mut st, i, "1.1.1.1")).collect();
    // Past the limit the match stays (its action applies) but does not alert.
    assert_eq!(r, vec![A, A, Q, Q]);
    assert_eq!(hits_at(&s, &mut st, 5, "2.2.2.2"), A, "tracked by source");
    assert_eq!(hits_at(&s, &mut st, 61, "1.1.1.1"), A, "a new window");
}

#[test]
fn threshold_threshold_and_both() {
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type threshold, track by_src, count 3, seconds 60; sid:1;)");
    let mut st = DetectState::new();
    let r: Vec<_> = (0..7).map(|i| hits_at(&s, &mut st, i, "1.1.1.1")).collect();
    assert_eq!(r, vec![N, N, A, N, N, A, N]);
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type both, track by_dst, count 2, seconds 10; sid:1;)");
    let mut st = DetectState::new();
    let r: Vec<_> = (0..5).map(|i| hits_at(&s, &mut st, i, "1.1.1.1")).collect();
    assert_eq!(r, vec![N, A, Q, Q, Q]);
    assert_eq!(hits_at(&s, &mut st, 20, "1.1.1.1"), N);
    assert_eq!(hits_at(&s, &mut st, 21, "1.1.1.1"), A);
}

#[test]
fn detection_filter() {
    let s = set("alert tcp any any -> any any (content:\"x\"; detection_filter:track by_src, count 2, seconds 60; sid:1;)");
    let mut st = DetectState::new();
    let r: Vec<_> = (0..5).map(|i| hits_at(&s, &mut st, i, "1.1.1.1")).collect();
    assert_eq!(r, vec![N, N, A, A, A]);
    let s = set("alert tcp any any -> any any (content:\"x\"; detection_filter:track by_rule, count 1, seconds 60; sid:1;)");
    let mut st = DetectState::new();
    assert_eq!(hits_at(&s, &mut st, 0, "1.1.1.1"), N);
    assert_eq!(hits_at(&s, &mut st, 1, "2.2.2.2"), A);
}

#[test]
fn detection_filter_unique_on_ports() {
    let s = set("alert tcp any any -> any any (flags:PA; detection_filter: track by_src, count 1, seconds 60, unique_on src_port; sid:1;)");
    let mut st = DetectState::new();
    let mut go = |sport: u16, t: u64| {
        let mut p = tcp(b"x");
        p.l4 = L4Input::Tcp {
            src_port: sport,
            dst_port: 80,
            flags: 0x18,
            seq: 0,
            ack: 0,
            window: 0,
        };
        let mut out = Vec::new();
        s.detect(t * 1_000_000_000, &p, None, &mut st, &mut out);
        out.len()
    };
    assert_eq!(go(1000, 0), 0);
    assert_eq!(go(1000, 1), 0, "the same port again is not distinct");
    assert_eq!(go(1001, 2), 1, "two distinct ports > count 1");
    assert_eq!(go(1000, 3), 1);
}

#[test]
fn threshold_by_flow_lives_in_flow_vars() {
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type limit, track by_flow, count 1, seconds 60; sid:1;)");
    let mut st = DetectState::new();
    let (mut f1, mut f2) = (FlowVars::new(), FlowVars::new());
    let mut go = |fv: &mut FlowVars| {
        let mut out = Vec::new();
        s.detect(0, &tcp(b"x"), Some(fv), &mut st, &mut out);
        out[0].alert
    };
    assert!(go(&mut f1));
    assert!(!go(&mut f1));
    assert!(go(&mut f2), "another flow has its own tracker");
}

#[test]
fn udp_and_ip_rules() {
    assert!(fires(r#"content:"dns";"#, &udp(b"a dns query")));
    let s = set("alert ip any any -> any any (sid:1;)\nalert udp any any -> any 53 (sid:2;)\nalert udp any any -> any 54 (sid:3;)");
    let sids: Vec<u32> = run(&s, &udp(b"q")).iter().map(|m| m.rule.sid).collect();
    assert_eq!(sids, vec![1, 2]);
}

#[test]
fn unsupported_and_invalid_are_reported_per_rule() {
    let text = r#"alert smtp any any -> any any (content:"x"; sid:1;)
alert tcp any any -> any any (content:"x"; xbits:set,a,track tx; sid:2;)
alert tcp any any -> any any (content:"x"; depth:0; sid:3;)
alert tcp any any -> any any (content:"x"; classtype:nope; sid:4;)
alert tcp any any -> any any (content:"x";)
alert tcp any any -> any any (content:"ok"; sid:6;)
alert tcp any any -> any any (content:"dup"; sid:6;)
alert tcp any any <- any any (sid:8;)"#;
    let mut b = RuleSet::builder();
    b.add_str(text, "mixed.rules");
    let (set, report) = b.build();
    assert_eq!(set.len(), 1);
    let unsup: Vec<Option<u32>> = report.unsupported.iter().map(|s| s.sid).collect();
    assert_eq!(unsup, vec![Some(1), Some(2)]);
    let inv: Vec<Option<u32>> = report.invalid.iter().map(|s| s.sid).collect();
    assert_eq!(inv, vec![Some(3), Some(4), None, Some(6)]);
    assert_eq!(report.syntax_errors.len(), 1);
    assert_eq!(report.syntax_errors[0].position.line, 8);
    let p = &report.invalid[0].problems[0];
    match p {
        RuleProblem::Invalid {
            keyword, position, ..
        } => {
            assert_eq!(keyword, "depth");
            assert_eq!(position.line, 3);
            assert_eq!(position.col, 44);
        }
        _ => panic!("{p:?}"),
    }
    let missing = report.missing_keywords();
    assert!(missing.iter().any(|(k, n)| k == "xbits" && *n == 1));
}

#[test]
fn many_rules_only_candidates_are_checked() {
    // 2000 rules on distinct patterns: only the one whose pattern occurs fires.
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "alert tcp any any -> any 80 (content:\"pattern{i:05}\"; sid:{};)\n",
            i + 1
        ));
    }
    let s = set(&text);
    let m = run(&s, &tcp(b"xx pattern01234 yy"));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule.sid, 1235);
}

#[test]
fn action_order_from_config() {
    let text = r#"pass tcp any any -> any any (sid:1;)
drop tcp any any -> any any (content:"Hi all"; sid:2;)
alert tcp any any -> any any (sid:3;)"#;
    let mut b = RuleSet::builder().action_order(&[
        Action::Drop,
        Action::Pass,
        Action::Reject,
        Action::Alert,
    ]);
    b.add_str(text, "t");
    let (s, _) = b.build();
    let m = run(&s, &tcp(b"Hi all"));
    let got: Vec<(u32, bool)> = m.iter().map(|m| (m.rule.sid, m.alert)).collect();
    assert_eq!(got, vec![(2, true), (1, false)]);
    let mut b = RuleSet::builder();
    b.add_str(text, "t");
    let (s, _) = b.build();
    assert_eq!(run(&s, &tcp(b"Hi all")).len(), 1);
}

#[test]
fn alert_keyword_makes_pass_rules_alert_and_prefilter_is_accepted() {
    let s = set("pass tcp any any -> any any (alert; sid:1;)\nalert icmp any any -> any any (itype: <= 8; prefilter; sid:2;)");
    let m = run(&s, &tcp(b"x"));
    assert_eq!(m.len(), 1);
    assert!(m[0].alert);
    assert!(fires("itype: != 0;", &icmp(8, 0, 1, 1)));
    assert!(!fires("itype: != 8;", &icmp(8, 0, 1, 1)));
    assert!(fires("itype: >= 8;", &icmp(8, 0, 1, 1)));
    assert!(fires("icode: =0;", &icmp(8, 0, 1, 1)));
}

#[test]
fn byte_jump_zero_bytes_moves_by_post_offset() {
    let p = tcp(b"abcdefgh");
    assert!(fires(
        r#"content:"efg"; byte_jump:0,0,relative,post_offset -7; content:"a"; within:1;"#,
        &p
    ));
    assert!(fires(
        r#"content:"efg"; byte_jump:0,0,relative,post_offset -6; content:"b"; within:1;"#,
        &p
    ));
}

#[test]
fn ip_only_flag() {
    let s = set(r#"alert ip 1.2.3.4 any -> any any (sid:1;)
alert tcp any any -> any 80 (sid:2;)
alert ip any any -> any any (content:"x"; sid:3;)
alert ip any any -> any any (flowbits:set,a; sid:4;)
alert ip any any -> any any (flowbits:isset,a; sid:5;)"#);
    let by_sid = |sid| s.metas().find(|m| m.sid == sid).unwrap().ip_only;
    assert!(by_sid(1));
    assert!(!by_sid(2));
    assert!(!by_sid(3));
    assert!(by_sid(4));
    assert!(!by_sid(5));
}

#[test]
fn suricata_leniencies() {
    // pcre without quotes, `string` without a base (decimal), byte_jump count from a variable
    let p = tcp(b"len=2;ab12xyz");
    assert!(fires("pcre:/len=\\d/;", &p));
    assert!(fires(
        r#"content:"ab"; byte_test:2,=,12,0,relative,string;"#,
        &p
    ));
    let p = tcp(&[0, 0, 0, 9, 2, 0xff, 0, 3, b'o', b'k', b'!']);
    // byte_extract reads n = 2 at 4 (cursor 5); byte_jump reads n bytes (0x0003) at 6:
    // 6 + 2 + 3 = 11 = the end, outside the buffer
    assert!(!fires(
        r#"content:"|00 00 00|"; byte_extract:1,1,n,relative; byte_jump:n,1,relative; isdataat:1,relative;"#,
        &p
    ));
    assert!(fires(
        r#"content:"|00 00 00|"; byte_extract:1,1,n,relative; byte_jump:n,1,relative,post_offset -3; content:"ok"; within:2;"#,
        &p
    ));
    // unknown protocols are unsupported, not invalid
    let parsed = verdict_rules::parse_str("alert llmnr any any -> any any (sid:1;)", "t");
    let (_, report) = RuleSet::compile(&parsed.rules, &Vars::default());
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn byte_extract_distance_variable_bug_7390() {
    let rule = r#"content:"Authorization:"; content:"5f71ycy"; distance:0; byte_extract:1,0,option_len,string,relative; content:!"|38|"; distance:option_len; within:1; content:"|37|"; distance:-1; within:1;"#;
    // after "5f71ycy": "7" -> option_len = 7; 7 bytes later must not be '8'; then '7' just before
    assert!(fires(rule, &tcp(b"Authorization: 5f71ycy7abcdef7I")));
}

#[test]
fn pcre_backtracking_is_bounded() {
    // A catastrophic regex on a long payload: the match limit makes it a no-match (without
    // the limit this test would not finish).
    let payload = vec![b'a'; 4000];
    assert!(!fires(r#"pcre:"/(a+)+b/";"#, &tcp(&payload)));
    // Patterns starting with their own options still work behind the limits.
    assert!(fires(r#"pcre:"/(?i)AAA/";"#, &tcp(b"xaaa")));
}

fn run_ext(set: &RuleSet, p: &PacketInput<'_>, x: &verdict_rules::PacketExtra<'_>) -> Vec<u32> {
    let mut out = Vec::new();
    set.detect_ext(
        0,
        p,
        x,
        Some(&mut FlowVars::new()),
        &mut DetectState::new(),
        &mut out,
    );
    out.iter().map(|m| m.rule.sid).collect()
}

#[test]
fn header_buffers() {
    // IPv4 header: version/IHL 0x45, ..., TTL 64 at offset 8
    let hdr = [
        0x45u8, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 1, 2, 3, 4, 10, 0, 0, 1,
    ];
    let mut p = tcp(b"GET / HTTP/1.0");
    p.ip.header = &hdr;
    // TCP header: ports 40000 -> 80, ..., flags byte 0x18 at offset 13
    let th = [
        0x9c, 0x40, 0x00, 0x50, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, 0x50, 0x18, 0x02, 0x00, 0, 0,
        0, 0,
    ];
    let x = verdict_rules::PacketExtra {
        l4_header: &th,
        ..Default::default()
    };
    let s = set(
        r#"alert ip any any -> any any (ipv4.hdr; content:"|40|"; offset:8; depth:1; sid:1;)
alert ip any any -> any any (ipv6.hdr; content:"|40|"; sid:2;)
alert tcp any any -> any 80 (tcp.hdr; content:"|00 50|"; offset:2; depth:2; tcp.hdr; content:"|50 18|"; distance:8; within:2; sid:3;)
alert tcp any any -> any 80 (content:"GET"; tcp.hdr; content:"|00 50|"; offset:2; depth:2; pkt_data; content:"HTTP"; distance:0; sid:4;)
alert tcp any any -> any 80 (tcp.hdr; content:"|00 51|"; offset:2; depth:2; sid:5;)
alert udp any any -> any any (udp.hdr; content:"|00|"; sid:6;)"#,
    );
    assert_eq!(run_ext(&s, &p, &x), vec![1, 3, 4]);
    // Without the transport header the tcp.hdr rules cannot match.
    assert_eq!(run_ext(&s, &p, &Default::default()), vec![1]);
}

#[test]
fn decode_and_stream_events_and_tcp_flags() {
    let s = set(
        r#"alert ip any any -> any any (decode-event:ipv6.frag_overlap; sid:1;)
alert tcp any any -> any any (stream-event:rst_invalid_ack; sid:2;)
alert tcp any any -> any any (tcp.flags:PA; sid:3;)"#,
    );
    let p = tcp(b"x");
    let ev = ["ipv6.frag_overlap"];
    let st = ["stream.rst_invalid_ack"];
    let x = verdict_rules::PacketExtra {
        decode_events: &ev,
        stream_events: &st,
        ..Default::default()
    };
    assert_eq!(run_ext(&s, &p, &x), vec![1, 2, 3]);
    assert_eq!(run_ext(&s, &p, &Default::default()), vec![3]);
}

#[test]
fn threshold_backoff() {
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type backoff, track by_flow, count 1, multiplier 10; sid:1;)");
    let mut st = DetectState::new();
    let mut fv = FlowVars::new();
    let mut alerts = Vec::new();
    for i in 1..=120u32 {
        let mut out = Vec::new();
        s.detect(0, &tcp(b"x"), Some(&mut fv), &mut st, &mut out);
        if out.first().is_some_and(|m| m.alert) {
            alerts.push(i);
        }
    }
    assert_eq!(alerts, vec![1, 10, 100]);
    let s = set("alert tcp any any -> any any (content:\"x\"; threshold:type backoff, track by_src, count 3, multiplier 2; sid:1;)");
    let mut st = DetectState::new();
    let r: Vec<_> = (0..7).map(|i| hits_at(&s, &mut st, i, "1.1.1.1")).collect();
    assert_eq!(r, vec![N, Q, A, Q, Q, A, Q]);
}

#[test]
fn vlan_id() {
    let p = tcp(b"x");
    let ids = [200u16, 300, 400];
    let x = verdict_rules::PacketExtra {
        vlan_ids: &ids,
        ..Default::default()
    };
    let s = set(r#"alert ip any any -> any any (vlan.id:200,0; sid:1;)
alert ip any any -> any any (vlan.id:300; sid:2;)
alert ip any any -> any any (vlan.id:400,-1; sid:3;)
alert ip any any -> any any (vlan.id:0x12C,1; sid:4;)
alert ip any any -> any any (vlan.id:!200,1; sid:5;)
alert ip any any -> any any (vlan.id:!500,all; sid:6;)
alert ip any any -> any any (vlan.id:100-600,2; sid:7;)
alert ip any any -> any any (vlan.id:<400,1; sid:8;)
alert ip any any -> any any (vlan.id:>=0xC8; sid:9;)
alert ip any any -> any any (vlan.id:>100,all; sid:10;)
alert ip any any -> any any (vlan.id:200,1; sid:11;)
alert ip any any -> any any (vlan.id:>200,all; sid:12;)"#);
    assert_eq!(run_ext(&s, &p, &x), (1..=10).collect::<Vec<u32>>());
    assert!(run_ext(&s, &p, &Default::default()).is_empty());
}

#[test]
fn flowint_counts_and_compares() {
    let s = set(
        r#"alert tcp any any -> any any (content:"hit"; flowint:hits,+,1; noalert; sid:1;)
alert tcp any any -> any any (flowint:hits,>=,3; content:"check"; sid:2;)
alert tcp any any -> any any (flowint:hits,isset; flowint:hits,<,3; content:"check"; sid:3;)
alert tcp any any -> any any (flowint:other,notset; content:"check"; sid:4;)
alert tcp any any -> any any (content:"reset"; flowint:hits,=,0; sid:5;)
alert tcp any any -> any any (content:"copy"; flowint:other,=,hits; sid:6;)"#,
    );
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut go = |payload: &[u8], fv: &mut FlowVars| {
        let mut out = Vec::new();
        s.detect(0, &tcp(payload), Some(fv), &mut st, &mut out);
        out.iter()
            .filter(|m| m.alert)
            .map(|m| m.rule.sid)
            .collect::<Vec<_>>()
    };
    assert_eq!(go(b"check", &mut fv), vec![4]);
    assert_eq!(go(b"hit check", &mut fv), vec![3, 4]);
    go(b"hit", &mut fv);
    assert_eq!(go(b"hit check", &mut fv), vec![2, 4]);
    assert_eq!(fv.flowint("hits"), Some(3));
    go(b"copy", &mut fv);
    assert_eq!(fv.flowint("other"), Some(3));
    go(b"reset", &mut fv);
    assert_eq!(fv.flowint("hits"), Some(0));
    assert_eq!(go(b"check", &mut fv), vec![3]);
}

#[test]
fn ports_are_checked_on_tcp_and_udp_only() {
    let s = set("alert ip any any -> any 80 (sid:1;)\nalert tcp any any -> any any (sid:2;)\nalert ip any any -> any any (sid:3;)");
    let mut p = tcp(b"x");
    p.l4 = L4Input::Other; // TCP whose header could not be decoded
    let sids: Vec<u32> = run(&s, &p).iter().map(|m| m.rule.sid).collect();
    assert_eq!(sids, vec![2, 3]);
    let sids: Vec<u32> = run(&s, &icmp(8, 0, 1, 1))
        .iter()
        .map(|m| m.rule.sid)
        .collect();
    // Ports do not constrain protocols without ports (Suricata checks them for TCP, UDP and
    // SCTP only).
    assert_eq!(sids, vec![1, 3]);
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn checksums_and_tcp_mss() {
    // A SYN with MSS 1460 and payload "hello", checksums computed by scapy.
    let iph = hex("450000350001000040060558c0a80203d155e169");
    let mut th = hex("9bbb00500000000100000000700220000eca0000020405b401030307");
    let payload = b"hello";
    let mut p = tcp(payload);
    p.ip.src = ip("192.168.2.3");
    p.ip.dst = ip("209.85.225.105");
    p.ip.header = &iph;
    p.l4 = L4Input::Tcp {
        src_port: 39867,
        dst_port: 80,
        flags: 0x02,
        seq: 1,
        ack: 0,
        window: 8192,
    };
    let s = set(r#"alert tcp any any -> any any (ipv4-csum:valid; sid:1;)
alert tcp any any -> any any (tcpv4-csum:valid; sid:2;)
alert tcp any any -> any any (tcpv4-csum:invalid; sid:3;)
alert tcp any any -> any any (tcp.mss:<536; sid:4;)
alert tcp any any -> any any (tcp.mss:1460; sid:5;)
alert tcp any any -> any any (udpv4-csum:valid; sid:6;)"#);
    let x = verdict_rules::PacketExtra {
        l4_header: &th,
        ..Default::default()
    };
    assert_eq!(run_ext(&s, &p, &x), vec![1, 2, 5]);
    th[16] ^= 0xff; // break the TCP checksum
    let x = verdict_rules::PacketExtra {
        l4_header: &th,
        ..Default::default()
    };
    assert_eq!(run_ext(&s, &p, &x), vec![1, 3, 5]);
    // Without the transport header nothing can be said about it.
    assert_eq!(run_ext(&s, &p, &Default::default()), vec![1]);

    // UDP over IPv6, payload "abc".
    let uh = hex("03e80035000bdbe3");
    let mut u = udp(b"abc");
    u.ip.src = ip("2001:db8::1");
    u.ip.dst = ip("2001:db8::2");
    u.l4 = L4Input::Udp {
        src_port: 1000,
        dst_port: 53,
    };
    let s = set("alert udp any any -> any any (udpv6-csum:valid; sid:1;)\nalert udp any any -> any any (udpv6-csum:invalid; sid:2;)");
    let x = verdict_rules::PacketExtra {
        l4_header: &uh,
        ..Default::default()
    };
    assert_eq!(run_ext(&s, &u, &x), vec![1]);
    let u2 = PacketInput {
        payload: b"abd",
        ..u.clone()
    };
    assert_eq!(run_ext(&s, &u2, &x), vec![2]);
}

#[test]
fn meta_describes_inspection() {
    let s = set(r#"drop tcp any any -> any 80 (content:"x"; sid:1;)
drop tcp any any -> any 80 (flow:no_stream; content:"x"; sid:2;)
drop tcp any any -> any 80 (dsize:>10; sid:3;)"#);
    let m = |sid| s.metas().find(|m| m.sid == sid).unwrap().clone();
    assert!(m(1).inspects_payload && m(1).stream.is_none());
    assert!(m(2).inspects_payload && m(2).stream == Some(false));
    assert!(!m(3).inspects_payload);
}

#[test]
fn rawbytes_pkt_data_and_boundaries() {
    let p = tcp(b"0123456789");
    assert!(fires(r#"content:"89"; rawbytes; endswith;"#, &p));
    assert!(fires(r#"pkt_data; content:"0"; startswith;"#, &p));
    // within exactly the content's length, right after the previous match
    assert!(fires(r#"content:"01"; content:"23"; within:2;"#, &p));
    assert!(!fires(r#"content:"01"; content:"34"; within:2;"#, &p));
    // distance that lands exactly at the end of the buffer
    assert!(!fires(r#"content:"89"; content:"0"; distance:0;"#, &p));
    assert!(fires(r#"content:"89"; isdataat:!1,relative;"#, &p));
    // offset beyond the buffer
    assert!(!fires(r#"content:"0"; offset:10;"#, &p));
    // depth longer than the buffer is clipped
    assert!(fires(r#"content:"9"; depth:100;"#, &p));
}

/// A TCP segment of the flow in `tcp()`: `to_server` picks the direction.
fn seg(payload: &[u8], to_server: bool, flags: u8, seq: u32) -> PacketInput<'_> {
    let mut p = tcp(payload);
    p.flow.to_server = to_server;
    if let L4Input::Tcp {
        flags: f, seq: s, ..
    } = &mut p.l4
    {
        *f = flags;
        *s = seq;
    }
    p
}

#[test]
fn stream_size_counts_sequence_space_per_direction() {
    let s = set(concat!(
        "alert tcp any any -> any any (stream_size:client,>,5; sid:1;)\n",
        "alert tcp any any -> any any (stream_size:server,=,1; sid:2;)\n",
        "alert tcp any any -> any any (stream_size: both , >= , 1; sid:3;)\n",
        "alert tcp any any -> any any (stream_size:either,<,2; sid:4;)\n",
        "alert tcp any any -> any any (stream_size:client,!=,1; sid:5;)\n",
    ));
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut step = |p: &PacketInput<'_>| {
        let mut out = Vec::new();
        s.detect(0, p, Some(&mut fv), &mut st, &mut out);
        out.iter().map(|m| m.rule.sid).collect::<Vec<_>>()
    };
    // SYN: the client's stream is 1 (the SYN), the server's 0 (not seen).
    assert_eq!(step(&seg(b"", true, 0x02, 100)), vec![4]);
    // SYN-ACK: server 1.
    assert_eq!(step(&seg(b"", false, 0x12, 500)), vec![2, 3, 4]);
    // 10 bytes from the client: client 11.
    assert_eq!(
        step(&seg(b"0123456789", true, 0x18, 101)),
        vec![1, 2, 3, 4, 5]
    );
    // A retransmission does not grow the stream.
    assert_eq!(
        step(&seg(b"0123456789", true, 0x18, 101)),
        vec![1, 2, 3, 4, 5]
    );
    // Server data: server 4, nothing below 2 any more.
    assert_eq!(step(&seg(b"abc", false, 0x18, 501)), vec![1, 3, 5]);
    // Without flow state nothing matches; UDP never does.
    let mut out = Vec::new();
    s.detect(0, &seg(b"x", true, 0x18, 1), None, &mut st, &mut out);
    assert!(out.is_empty());
    assert!(!fires("stream_size:either,<,100;", &udp(b"x")));
    for bad in [
        "stream_size:server,<;",
        "stream_size:up,<,1;",
        "stream_size:server,~,1;",
        "stream_size:server,<,-1;",
        "stream_size:server,<,4294967296;",
    ] {
        let parsed =
            verdict_rules::parse_str(&format!("alert tcp any any -> any any ({bad} sid:1;)"), "t");
        let (_, report) = RuleSet::compile(&parsed.rules, &Vars::default());
        assert_eq!(report.invalid.len(), 1, "{bad}");
    }
}

#[test]
fn stream_size_midstream_pickup() {
    // No SYN seen: the stream starts one before the first segment.
    let s = set("alert tcp any any -> any any (stream_size:client,=,5; sid:1;)");
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut out = Vec::new();
    s.detect(
        0,
        &seg(b"abcd", true, 0x18, u32::MAX - 1),
        Some(&mut fv),
        &mut st,
        &mut out,
    );
    // Sequence numbers wrap.
    assert_eq!(out.len(), 1);
}

#[test]
fn flow_age_in_seconds() {
    let s = set("alert ip any any -> any any (flow.age:>20; sid:1;)\nalert ip any any -> any any (flow.age:0; sid:2;)");
    let mut fv = FlowVars::new();
    let mut st = DetectState::new();
    let mut at = |secs: u64, ns: u64| {
        let mut out = Vec::new();
        s.detect(
            secs * 1_000_000_000 + ns,
            &tcp(b"x"),
            Some(&mut fv),
            &mut st,
            &mut out,
        );
        out.iter().map(|m| m.rule.sid).collect::<Vec<_>>()
    };
    assert_eq!(at(100, 0), vec![2]);
    assert_eq!(at(100, 999_999_999), vec![2]);
    assert_eq!(at(120, 0), Vec::<u32>::new());
    assert_eq!(at(121, 5), vec![1]);
    let mut out = Vec::new();
    s.detect(0, &tcp(b"x"), None, &mut st, &mut out);
    assert!(out.is_empty());
    // Whole seconds of each timestamp: 100.9 s to 101.1 s is one second.
    let s = set("alert ip any any -> any any (flow.age:1; sid:1;)");
    let mut fv = FlowVars::new();
    let mut out = Vec::new();
    s.detect(
        100_900_000_000,
        &tcp(b"x"),
        Some(&mut fv),
        &mut st,
        &mut out,
    );
    assert!(out.is_empty());
    s.detect(
        101_100_000_000,
        &tcp(b"x"),
        Some(&mut fv),
        &mut st,
        &mut out,
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn requires_skips_rules_silently() {
    let parsed = verdict_rules::parse_str(
        concat!(
            "alert tcp any any -> any any (requires: feature ja4; ja4.hash; content:\"x\"; sid:1;)\n",
            "alert tcp any any -> any any (content:\"x\"; requires: version >= 7.0.3; sid:2;)\n",
            "alert tcp any any -> any any (requires: version >= 7.0.4 < 8 | >= 8.0.3; content:\"x\"; sid:3;)\n",
            "alert tcp any any -> any any (requires: version < 8; content:\"x\"; sid:4;)\n",
            "alert tcp any any -> any any (requires: keyword content, keyword stream_size; content:\"x\"; sid:5;)\n",
            "alert tcp any any -> any any (requires: keyword ja4.hash; content:\"x\"; sid:6;)\n",
            "alert tcp any any -> any any (requires: version >= 7, version < 10; content:\"x\"; sid:7;)\n",
            "alert tcp any any -> any any (requires: nonsense; content:\"x\"; sid:8;)\n",
        ),
        "t",
    );
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::default());
    let sids =
        |v: &[verdict_rules::SkippedRule]| v.iter().filter_map(|r| r.sid).collect::<Vec<_>>();
    assert_eq!(sids(&report.requirements_unmet), vec![1, 4, 6]);
    assert_eq!(sids(&report.invalid), vec![7, 8]);
    assert!(report.unsupported.is_empty());
    assert_eq!(set.len(), 3);
    let got: Vec<u32> = run(&set, &tcp(b"x")).iter().map(|m| m.rule.sid).collect();
    assert_eq!(got, vec![2, 3, 5]);
    assert!(matches!(
        &report.invalid[0].problems[0],
        RuleProblem::Invalid { keyword, .. } if keyword == "requires"
    ));
}

#[test]
fn sctp_keywords() {
    // Common header (ports 2905, vtag 0xd42b8e92), an INIT chunk, a DATA chunk with user
    // data "abcd" and a SACK chunk.
    let mut sp = hex("0b590b59d42b8e9200000000");
    sp.extend_from_slice(&hex("0100000801020304"));
    sp.extend_from_slice(&hex("00030014000000010000000000000003"));
    sp.extend_from_slice(b"abcd");
    sp.extend_from_slice(&hex("03000004"));
    let mut p = tcp(b"abcd");
    p.ip.proto = 132;
    p.l4 = L4Input::Other;
    let x = verdict_rules::PacketExtra {
        l4_header: &sp,
        ..Default::default()
    };
    let s = set(
        r#"alert sctp any any -> any any (sctp.chunk_type:init; sid:1;)
alert sctp any any -> any any (sctp.chunk_type:INIT_ACK; sid:2;)
alert sctp any any -> any any (sctp.chunk_type:!data; sid:3;)
alert sctp any any -> any any (sctp.chunk_type:>100; sid:4;)
alert sctp any any -> any any (sctp.chunk_cnt:3; sid:5;)
alert sctp any any -> any any (sctp.chunk_cnt:>3; sid:6;)
alert sctp any any -> any any (sctp.vtag:3559624338; sid:7;)
alert sctp any any -> any any (sctp.vtag:<100; sid:8;)
alert sctp any any -> any any (sctp.chunk_data; content:"bcd"; sid:9;)
alert sctp any any -> any any (sctp.chunk_data; content:"|01 02|"; sid:10;)
alert sctp any any -> any any (sctp.hdr; content:"|d4 2b 8e 92|"; offset:4; depth:4; sid:11;)"#,
    );
    assert_eq!(run_ext(&s, &p, &x), vec![1, 3, 5, 7, 9, 11]);
    // Not SCTP: none of them.
    let mut t = tcp(b"abcd");
    t.ip.proto = 6;
    assert!(run_ext(&s, &t, &x).is_empty());
    // Bad values are invalid rules, with the keyword named.
    for bad in [
        "sctp.chunk_type:nochunk;",
        "sctp.chunk_type:300;",
        "sctp.vtag:x;",
        "sctp.chunk_cnt:70000;",
    ] {
        let mut b = RuleSet::builder();
        b.add_str(
            &format!("alert sctp any any -> any any ({bad} sid:1;)"),
            "t",
        );
        let (_, report) = b.build();
        assert_eq!(report.invalid.len(), 1, "{bad}");
    }
}
