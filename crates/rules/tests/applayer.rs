//! App-layer protocols and sticky buffers, per packet: each buffer keyword gets a packet it
//! matches and one it does not.

use std::net::IpAddr;

use verdict_rules::{DetectState, FlowInput, IpInput, L4Input, PacketInput, RuleSet, Vars};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn pkt(payload: &[u8], udp: bool, sport: u16, dport: u16) -> PacketInput<'_> {
    PacketInput {
        ip: IpInput {
            src: ip("192.168.1.5"),
            dst: ip("203.0.113.7"),
            proto: if udp { 17 } else { 6 },
            ttl: 64,
            tos: 0,
            id: 1,
            ipopts: 0,
            fragbits: 0,
            frag_offset: 0,
            header: &[],
        },
        l4: if udp {
            L4Input::Udp {
                src_port: sport,
                dst_port: dport,
            }
        } else {
            L4Input::Tcp {
                src_port: sport,
                dst_port: dport,
                flags: 0x18,
                seq: 1,
                ack: 1,
                window: 512,
            }
        },
        payload,
        flow: FlowInput {
            tracked: true,
            to_server: sport > dport,
            established: true,
            from_stream: false,
        },
    }
}

fn tcp(payload: &[u8]) -> PacketInput<'_> {
    pkt(payload, false, 40000, 80)
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

fn sids(s: &RuleSet, p: &PacketInput<'_>) -> Vec<u32> {
    let mut out = Vec::new();
    s.detect(0, p, None, &mut DetectState::new(), &mut out);
    let mut v: Vec<u32> = out.iter().map(|m| m.rule.sid).collect();
    v.sort_unstable();
    v
}

/// True when `opts` (one rule on `proto`) fires on `p`.
fn fires_on(proto: &str, opts: &str, p: &PacketInput<'_>) -> bool {
    let s = set(&format!("alert {proto} any any -> any any ({opts} sid:1;)"));
    sids(&s, p) == vec![1]
}

fn fires(opts: &str, p: &PacketInput<'_>) -> bool {
    fires_on("http", opts, p)
}

const REQ: &[u8] = b"GET /a/../Admin%20Panel/index.php?id=1 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nUser-Agent: EvilBot/1.0\r\nCookie: session=abc\r\nContent-Type: text/plain\r\nReferer: http://r.example/\r\n\r\nname=value";
const RESP: &[u8] = b"HTTP/1.1 403 Forbidden\r\nServer: nginx/1.2\r\nSet-Cookie: k=v\r\nContent-Type: text/html\r\n\r\n<html>denied</html>";

#[test]
fn app_protocol_in_header() {
    let s = set("alert http any any -> any any (sid:1;)\nalert tls any any -> any any (sid:2;)\nalert dns any any -> any any (sid:3;)\nalert tcp any any -> any any (sid:4;)");
    assert_eq!(sids(&s, &tcp(REQ)), vec![1, 4]);
    assert_eq!(sids(&s, &pkt(RESP, false, 80, 40000)), vec![1, 4]);
    assert_eq!(sids(&s, &tcp(b"not http at all")), vec![4]);
    assert_eq!(sids(&s, &tcp(b"")), vec![4]);
    let mut dns = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    dns.extend_from_slice(b"\x04evil\x07example\x03com\x00\x00\x01\x00\x01");
    assert_eq!(sids(&s, &pkt(&dns, true, 5353, 53)), vec![3]);
}

#[test]
fn app_layer_protocol_keyword() {
    assert!(fires_on("tcp", "app-layer-protocol:http;", &tcp(REQ)));
    assert!(!fires_on("tcp", "app-layer-protocol:http;", &tcp(b"xyz")));
    assert!(fires_on("tcp", "app-layer-protocol:!http;", &tcp(b"xyz")));
    assert!(!fires_on("tcp", "app-layer-protocol:tls;", &tcp(REQ)));
}

#[test]
fn http_uri_normalized_and_raw() {
    let p = tcp(REQ);
    assert!(fires(
        r#"http.uri; content:"/Admin Panel/index.php?id=1";"#,
        &p
    ));
    assert!(fires(
        r#"http.uri; content:"/admin panel"; nocase; startswith;"#,
        &p
    ));
    assert!(!fires(r#"http.uri; content:"../";"#, &p));
    assert!(fires(r#"http.uri.raw; content:"/a/../Admin%20Panel";"#, &p));
    assert!(!fires(r#"http.uri.raw; content:"Admin Panel";"#, &p));
    // Legacy forms.
    assert!(fires(r#"content:"Admin Panel"; http_uri;"#, &p));
    assert!(fires(r#"uricontent:"index.php";"#, &p));
    assert!(fires(r#"content:"%20"; http_raw_uri;"#, &p));
    assert!(!fires(r#"content:"%20"; http_uri;"#, &p));
    // Relative keywords within the buffer.
    assert!(fires(
        r#"http.uri; content:"/Admin"; content:"id="; distance:0; pcre:"/^1$/R";"#,
        &p
    ));
    assert!(!fires(
        r#"http.uri; content:"id="; isdataat:2,relative;"#,
        &p
    ));
}

#[test]
fn http_request_buffers() {
    let p = tcp(REQ);
    let ok = |o: &str| fires(o, &p);
    assert!(ok(r#"http.method; content:"GET"; bsize:3;"#));
    assert!(!ok(r#"http.method; content:"POST";"#));
    assert!(ok(r#"content:"GET"; http_method;"#));
    assert!(ok(r#"http.host; content:"www.example.com"; bsize:15;"#));
    assert!(!ok(r#"http.host; content:"WWW";"#));
    assert!(ok(r#"http.host.raw; content:"WWW.Example.com"; endswith;"#));
    assert!(ok(r#"content:"example.com"; http_host;"#));
    assert!(ok(r#"http.user_agent; content:"EvilBot"; startswith;"#));
    assert!(!ok(r#"http.user_agent; content:"GoodBot";"#));
    assert!(ok(r#"content:"Bot/1"; http_user_agent;"#));
    assert!(ok(r#"http.cookie; content:"session=abc"; bsize:11;"#));
    assert!(ok(r#"content:"session"; http_cookie;"#));
    assert!(ok(r#"http.content_type; content:"text/plain";"#));
    assert!(ok(r#"http.referer; content:"r.example";"#));
    assert!(ok(
        r#"http.request_line; content:"GET /a/../Admin%20Panel/index.php?id=1 HTTP/1.1"; bsize:47;"#
    ));
    assert!(ok(r#"http.protocol; content:"HTTP/1.1";"#));
    assert!(!ok(r#"http.protocol; content:"HTTP/1.0";"#));
    assert!(ok(
        r#"http.header; content:"User-Agent|3a 20|EvilBot/1.0|0d 0a|";"#
    ));
    assert!(!ok(r#"http.header; content:"GET";"#));
    assert!(ok(r#"content:"Cookie|3a|"; http_header;"#));
    assert!(ok(r#"http.header.raw; content:"|0d 0a 0d 0a|"; endswith;"#));
    assert!(ok(r#"content:"Host|3a| WWW"; http_raw_header;"#));
    assert!(ok(
        r#"http.header_names; content:"|0d 0a|Host|0d 0a|User-Agent|0d 0a|";"#
    ));
    assert!(!ok(r#"http.header_names; content:"Accept";"#));
    assert!(ok(r#"http.start; content:"HTTP/1.1|0d 0a|Host|3a 20|";"#));
    assert!(ok(r#"http.request_body; content:"name=value"; bsize:10;"#));
    assert!(ok(r#"content:"name="; http_client_body;"#));
    assert!(ok(r#"file_data; content:"value";"#));
    assert!(!ok(r#"http.stat_code; content:"200";"#));
    assert!(!ok(r#"http.response_body; content:"name";"#));
    // pcre buffer flags.
    assert!(ok(r#"pcre:"/^\/Admin Panel/U";"#));
    assert!(ok(r#"pcre:"/%20Panel/I";"#));
    assert!(ok(r#"pcre:"/^GET$/M";"#));
    assert!(ok(r#"pcre:"/^EvilBot/V";"#));
    assert!(ok(r#"pcre:"/^www\.example\.com$/W";"#));
    assert!(ok(r#"pcre:"/session=/C";"#));
    assert!(ok(r#"pcre:"/^name=/P";"#));
    assert!(ok(r#"pcre:"/Content-Type: text/H";"#));
    assert!(!ok(r#"pcre:"/^GET/H";"#));
}

#[test]
fn http_response_buffers() {
    let p = pkt(RESP, false, 80, 40000);
    let ok = |o: &str| fires(o, &p);
    assert!(ok(r#"http.stat_code; content:"403"; bsize:3;"#));
    assert!(!ok(r#"http.stat_code; content:"200";"#));
    assert!(ok(r#"content:"403"; http_stat_code;"#));
    assert!(ok(r#"http.stat_msg; content:"Forbidden";"#));
    assert!(ok(r#"content:"Forbid"; http_stat_msg;"#));
    assert!(ok(
        r#"http.response_line; content:"HTTP/1.1 403 Forbidden"; bsize:22;"#
    ));
    assert!(ok(r#"http.server; content:"nginx";"#));
    assert!(ok(r#"http.cookie; content:"k=v";"#));
    assert!(ok(r#"http.response_body; content:"denied";"#));
    assert!(ok(r#"file_data; content:"<html>"; startswith;"#));
    assert!(ok(r#"content:"denied"; http_server_body;"#));
    assert!(ok(r#"pcre:"/^403$/S";"#));
    assert!(ok(r#"pcre:"/Forbidden/Y";"#));
    assert!(ok(r#"pcre:"/denied/Q";"#));
    assert!(!ok(r#"http.uri; content:"/";"#));
    assert!(!ok(r#"http.method; content:"GET";"#));
}

#[test]
fn dns_query_each_question() {
    let mut m = vec![0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x04good\x03org\x00\x00\x01\x00\x01");
    m.extend_from_slice(b"\x04evil\x07example\x03com\x00\x00\x1c\x00\x01");
    let p = pkt(&m, true, 5353, 53);
    let ok = |o: &str| fires_on("dns", o, &p);
    assert!(ok(r#"dns.query; content:"www.good.org"; bsize:12;"#));
    assert!(ok(
        r#"dns.query; content:"evil.example.com"; startswith; endswith;"#
    ));
    assert!(ok(r#"dns_query; content:".example."; nocase;"#));
    assert!(!ok(
        r#"dns.query; content:"www.good.org"; content:"evil"; distance:0;"#
    ));
    assert!(!ok(r#"dns.query; content:"bad";"#));
    // Over UDP on another port, a well-formed message is still DNS.
    assert!(fires_on(
        "udp",
        r#"dns.query; content:"good";"#,
        &pkt(&m, true, 5000, 5001)
    ));
    // Not DNS: no buffer.
    assert!(!fires_on(
        "udp",
        r#"dns.query; content:"a";"#,
        &pkt(b"abc", true, 1, 53)
    ));
}

fn client_hello(sni: &[u8]) -> Vec<u8> {
    client_hello_alpn(sni, &[])
}

fn client_hello_alpn(sni: &[u8], alpn: &[&[u8]]) -> Vec<u8> {
    let mut list = vec![0u8];
    list.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    list.extend_from_slice(sni);
    let mut data = (list.len() as u16).to_be_bytes().to_vec();
    data.extend_from_slice(&list);
    let mut exts = vec![0, 0];
    exts.extend_from_slice(&(data.len() as u16).to_be_bytes());
    exts.extend_from_slice(&data);
    if !alpn.is_empty() {
        let mut protos = Vec::new();
        for p in alpn {
            protos.push(p.len() as u8);
            protos.extend_from_slice(p);
        }
        exts.extend_from_slice(&[0, 16]);
        exts.extend_from_slice(&(protos.len() as u16 + 2).to_be_bytes());
        exts.extend_from_slice(&(protos.len() as u16).to_be_bytes());
        exts.extend_from_slice(&protos);
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[1; 32]);
    body.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn tls_sni() {
    let ch = client_hello(b"login.bank.example");
    let p = pkt(&ch, false, 40000, 443);
    let ok = |o: &str| fires_on("tls", o, &p);
    assert!(ok(r#"tls.sni; content:"bank.example"; endswith;"#));
    assert!(ok(r#"tls_sni; content:"login"; startswith; bsize:18;"#));
    assert!(!ok(r#"tls.sni; content:"other";"#));
    assert!(!fires_on("http", "", &p));
}

#[test]
fn prefilter_finds_normalized_buffer_patterns() {
    // The fast pattern ("Admin Panel") exists only in the normalised URI, not in the payload:
    // the rule must still be a candidate and fire.
    let s = set(
        "alert http any any -> any any (http.uri; content:\"/Admin Panel/\"; fast_pattern; sid:1;)\n\
         alert http any any -> any any (http.host; content:\"www.example.com\"; sid:2;)\n\
         alert http any any -> any any (http.uri; content:\"/nothere\"; sid:3;)\n\
         alert tcp any any -> any any (content:\"Admin Panel\"; sid:4;)",
    );
    assert_eq!(sids(&s, &tcp(REQ)), vec![1, 2]);
}

#[test]
fn ports_still_apply() {
    let s = set(
        "alert http any any -> any 8080 (sid:1;)\nalert http any any -> any $HTTP_PORTS (sid:2;)",
    );
    assert_eq!(sids(&s, &tcp(REQ)), vec![2]);
}

#[test]
fn unsupported_app_keywords_still_skip() {
    let parsed = verdict_rules::parse_str(
        "alert smtp any any -> any any (sid:1;)\nalert tls any any -> any any (ja4.hash; content:\"x\"; bsize:1; sid:2;)\nalert http any any -> any any (app-layer-protocol:smb; sid:3;)",
        "t",
    );
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::default());
    assert!(set.is_empty());
    assert_eq!(report.unsupported.len(), 3);
    assert!(report.invalid.is_empty());
}

#[test]
fn dotprefix_transform() {
    let mut m = vec![0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x04evil\x07example\x03com\x00\x00\x01\x00\x01");
    let p = pkt(&m, true, 5353, 53);
    let ok = |o: &str| fires_on("dns", o, &p);
    // The prefilter must not need the prepended dot in the packet.
    assert!(ok(
        r#"dns.query; dotprefix; content:".evil.example.com"; endswith; fast_pattern;"#
    ));
    assert!(ok(
        r#"dns.query; dotprefix; content:".example.com"; endswith; bsize:17;"#
    ));
    assert!(!ok(
        r#"dns.query; dotprefix; content:".vil.example.com"; endswith;"#
    ));
    assert!(!ok(r#"dns.query; content:".evil.example.com";"#));
    let ch = client_hello(b"a.bank.example");
    assert!(fires_on(
        "tls",
        r#"tls.sni; dotprefix; content:".bank.example"; endswith;"#,
        &pkt(&ch, false, 40000, 443)
    ));
}

#[test]
fn urilen() {
    // Normalised URI: "/Admin Panel/index.php?id=1" (27 bytes); raw: 34 bytes.
    let p = tcp(REQ);
    assert!(fires("urilen:27;", &p));
    assert!(fires("urilen:>20;", &p));
    assert!(fires("urilen:20<>30,norm;", &p));
    assert!(!fires("urilen:<27;", &p));
    assert!(fires("urilen:34,raw;", &p));
    assert!(!fires("urilen:27,raw;", &p));
    assert!(!fires("urilen:27;", &pkt(RESP, false, 80, 40000)));
}

#[test]
fn empty_header_is_an_empty_buffer() {
    let p = tcp(b"GET / HTTP/1.1\r\nUser-Agent:\r\nHost: h\r\n\r\n");
    assert!(fires("http.user_agent; bsize:0;", &p));
    assert!(fires(r#"http.user_agent; content:!"u";"#, &p));
    assert!(!fires(r#"http.user_agent; content:"u";"#, &p));
    // No header at all: no buffer, nothing matches.
    let q = tcp(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(!fires("http.user_agent; bsize:0;", &q));
    assert!(!fires(r#"http.user_agent; content:!"u";"#, &q));
    // No body bytes in the segment: no body buffer.
    assert!(!fires(r#"file_data; content:!"x";"#, &q));
}

#[test]
fn request_and_response_header_multi_buffers() {
    let p = tcp(REQ);
    assert!(fires(
        r#"http.request_header; content:"Cookie: session=abc"; startswith; endswith;"#,
        &p
    ));
    assert!(fires(
        r#"http.request_header; content:"User-Agent: "; startswith; fast_pattern;"#,
        &p
    ));
    // One header at a time: a chain cannot span two headers.
    assert!(!fires(
        r#"http.request_header; content:"Cookie"; content:"Content-Type"; distance:0;"#,
        &p
    ));
    assert!(!fires(r#"http.response_header; content:"Cookie";"#, &p));
    let r = pkt(RESP, false, 80, 40000);
    assert!(fires(
        r#"http.response_header; content:"Server: nginx/1.2"; bsize:17;"#,
        &r
    ));
    // A URI with spaces (libhtp keeps them).
    let s = tcp(b"GET /uri afterspace HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(fires(r#"content:" afterspace"; http_uri;"#, &s));
    assert!(fires(r#"http.protocol; content:"HTTP/1.1"; bsize:8;"#, &s));
}

#[test]
fn tls_alpn_each_protocol() {
    let ch = client_hello_alpn(b"x.example", &[b"h2", b"http/1.1"]);
    let p = pkt(&ch, false, 40000, 443);
    let ok = |o: &str| fires_on("tls", o, &p);
    assert!(ok(r#"tls.alpn; content:"http/1.1"; bsize:8;"#));
    assert!(ok(r#"tls.alpn; content:"h2"; startswith; endswith;"#));
    assert!(!ok(r#"tls.alpn; content:"h2http";"#));
    assert!(ok(
        r#"tls.sni; content:"x.example"; tls.alpn; content:"h2";"#
    ));
    assert!(!fires_on(
        "tls",
        r#"tls.alpn; content:"h2";"#,
        &pkt(&client_hello(b"x"), false, 40000, 443)
    ));
}

#[test]
fn dns_opcode_and_rcode() {
    // A response (QR), opcode 0, rcode 3 (NXDOMAIN).
    let mut m = vec![0, 7, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x04good\x03org\x00\x00\x01\x00\x01");
    let p = pkt(&m, true, 53, 5353);
    let ok = |o: &str| fires_on("dns", o, &p);
    assert!(ok("dns.rcode:3;"));
    assert!(ok("dns.rcode:!2;"));
    assert!(!ok("dns.rcode:0;"));
    assert!(ok("dns.opcode:0;"));
    assert!(!ok("dns.opcode:4;"));
    assert!(ok(r#"dns.queries.rrname; content:"good";"#));
    // `dns.query` inspects queries only (Suricata registers it to the server).
    assert!(!ok(r#"dns.query; content:"good";"#));
    assert!(!fires_on("tcp", "dns.rcode:0;", &tcp(REQ)));
}

#[test]
fn ja3_hash_and_string() {
    // A ClientHello: version 0x0303, one suite 0x1301, extensions 0 (SNI) and 16 (ALPN).
    let ch = client_hello_alpn(b"x.example", &[b"h2"]);
    let p = pkt(&ch, false, 40000, 443);
    let ok = |o: &str| fires_on("tls", o, &p);
    assert!(ok(r#"ja3.string; content:"771,4865,0-16,,"; bsize:15;"#));
    // `printf "771,4865,0-16,," | md5sum`
    assert!(ok(
        r#"ja3.hash; content:"33b746a27502e1c870d11cfc1893be87";"#
    ));
    assert!(ok(
        r#"ja3_hash; content:"33b746a27502e1c870d11cfc1893be87"; bsize:32;"#
    ));
    assert!(!ok(
        r#"ja3.hash; content:"00000000000000000000000000000000";"#
    ));
}

#[test]
fn transforms_on_sticky_buffers() {
    let p = tcp(b"POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: Mozilla  Compatible\t X\r\n\r\na=%3Cscript%3E+alert(1)");
    let ok = |o: &str| fires(o, &p);
    assert!(ok(
        r#"http.user_agent; to_lowercase; content:"mozilla  compatible";"#
    ));
    assert!(!ok(r#"http.user_agent; to_lowercase; content:"Mozilla";"#));
    assert!(ok(r#"http.user_agent; to_uppercase; content:"MOZILLA";"#));
    assert!(ok(
        r#"http.user_agent; strip_whitespace; content:"MozillaCompatibleX"; bsize:18;"#
    ));
    assert!(ok(
        r#"http.user_agent; compress_whitespace; content:"Mozilla Compatible X";"#
    ));
    // In rule order: strip, then prefix.
    assert!(ok(
        r#"http.user_agent; strip_whitespace; dotprefix; content:".MozillaCompatibleX"; startswith;"#
    ));
    assert!(ok(
        r#"http.request_body; url_decode; content:"<script> alert(1)";"#
    ));
    assert!(!ok(r#"http.request_body; content:"<script>";"#));
    // A transform after keywords on the plain buffer starts a transformed copy of it.
    assert!(ok(
        r#"http.user_agent; content:"Mozilla  Compatible"; to_uppercase; content:"MOZILLA  COMPATIBLE";"#
    ));
    assert!(!ok(
        r#"http.user_agent; content:"Mozilla  Compatible"; to_uppercase; content:"Mozilla";"#
    ));
    // As in Suricata, transforms must directly follow a sticky buffer: on the payload (with
    // or without `pkt_data`) or after a content they make the rule invalid.
    for opts in [
        r#"to_lowercase; content:"x";"#,
        r#"pkt_data; to_lowercase; content:"x";"#,
        r#"http.uri; to_lowercase; content:"x"; to_uppercase;"#,
        r#"http.uri; xor:"0g";"#,
        r#"http.uri; to_lowercase; http.host; content:"x";"#,
    ] {
        let parsed = verdict_rules::parse_str(
            &format!("alert tcp any any -> any any ({opts} sid:1;)"),
            "t",
        );
        let (set, report) = RuleSet::compile(&parsed.rules, &Vars::default());
        assert!(set.is_empty(), "{opts}");
        assert_eq!(report.invalid.len(), 1, "{opts}");
    }
}

#[test]
fn chunked_bodies_are_dechunked() {
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nEICA\r\n6\r\nR-TEST\r\n0\r\n\r\n";
    let p = pkt(resp, false, 80, 40000);
    // The pattern spans two chunks: only the de-chunked body holds it (and the prefilter
    // must scan that body).
    assert!(fires(
        r#"file_data; content:"EICAR-TEST"; startswith; endswith; fast_pattern;"#,
        &p
    ));
    assert!(fires(r#"http.response_body; content:"EICAR-TEST";"#, &p));
    assert!(!fires(r#"file_data; content:"|0d 0a|";"#, &p));
}

#[test]
fn gzip_response_bodies_are_decompressed() {
    // gzip of "EICAR-STANDARD-ANTIVIRUS-TEST-FILE" (python3 gzip.compress, mtime 0).
    let gz: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x73, 0xf5, 0x74, 0x76, 0x0c,
        0xd2, 0x0d, 0x0e, 0x71, 0xf4, 0x73, 0x71, 0x0c, 0x72, 0xd1, 0x75, 0xf4, 0x0b, 0xf1, 0x0c,
        0xf3, 0x0c, 0x0a, 0x0d, 0xd6, 0x0d, 0x71, 0x0d, 0x0e, 0xd1, 0x75, 0xf3, 0xf4, 0x71, 0x05,
        0x00, 0xb1, 0x75, 0x79, 0xa4, 0x22, 0x00, 0x00, 0x00,
    ];
    let mut resp = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n".to_vec();
    resp.extend_from_slice(gz);
    let p = pkt(&resp, false, 80, 40000);
    assert!(fires(
        r#"file_data; content:"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"; bsize:34;"#,
        &p
    ));
    assert!(!fires(r#"file_data; content:"|1f 8b|";"#, &p));
}

#[test]
fn app_layer_event_keyword() {
    // HTTP events, per message and direction.
    let dup = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert!(fires(
        "app-layer-event:http.duplicate_content_length_field_in_request;",
        &tcp(dup)
    ));
    assert!(!fires(
        "app-layer-event:http.duplicate_content_length_field_in_request;",
        &tcp(REQ)
    ));
    let auth = b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Turbo x\r\n\r\n";
    assert!(fires(
        "app-layer-event:http.request_auth_unrecognized;",
        &tcp(auth)
    ));
    assert!(fires(
        "app-layer-event:http.missing_host_header;",
        &tcp(b"GET / HTTP/1.1\r\n\r\n")
    ));
    // DNS: a query sent to the client is not a response; opcode 9 is invalid.
    let mut q = vec![0x12, 0x34, 0x49, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x04evil\x03com\x00\x00\x01\x00\x01");
    let to_server = pkt(&q, true, 5353, 53);
    let to_client = pkt(&q, true, 53, 5353);
    assert!(fires_on(
        "dns",
        "app-layer-event:dns.invalid_opcode;",
        &to_server
    ));
    assert!(!fires_on(
        "dns",
        "app-layer-event:dns.not_response;",
        &to_server
    ));
    assert!(fires_on(
        "dns",
        "app-layer-event:dns.not_a_response;",
        &to_client
    ));
    // An event of another protocol does not match.
    assert!(!fires_on(
        "tcp",
        "app-layer-event:dns.invalid_opcode;",
        &tcp(dup)
    ));
    // Events Verdict does not raise make the rule unsupported, not silently dead.
    let parsed = verdict_rules::parse_str(
        "alert http any any -> any any (app-layer-event:http.gzip_decompression_failed; sid:1;)",
        "t.rules",
    );
    let (_, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert_eq!(report.unsupported.len(), 1);
}

#[test]
fn xor_pcrexform_and_separate_transformed_buffers() {
    // `/get?data=` followed by "password=x" xored with 0d0ac8ff.
    let enc: Vec<u8> = b"password=x"
        .iter()
        .zip([0x0d, 0x0a, 0xc8, 0xff].iter().cycle())
        .map(|(a, b)| a ^ b)
        .collect();
    // Keep the encoded bytes printable-safe for a URI by percent-encoding nothing: the
    // normalised URI decodes `%XX`, so build the request from raw bytes that are not `%`.
    assert!(!enc.contains(&b'%') && !enc.contains(&b' '));
    let mut req = b"GET /get?data=".to_vec();
    req.extend_from_slice(&enc);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
    let p = tcp(&req);
    let ok = |o: &str| fires(o, &p);
    // The untransformed and the transformed http.uri are two buffers with their own chains.
    assert!(ok(
        r#"http.uri; content:"/get?data="; startswith; http.uri; pcrexform:"/get\?data=(.*)"; xor:"0d0ac8ff"; content:"password="; startswith;"#
    ));
    assert!(!ok(
        r#"http.uri; pcrexform:"/get\?data=(.*)"; xor:"0d0ac8ff"; content:"/get";"#
    ));
    assert!(!ok(r#"http.uri; xor:"0d0ac8ff"; content:"password=";"#));
    // The same transform list twice shares one buffer.
    assert!(ok(
        r#"http.uri; pcrexform:"data=(.*)"; content:"|7d|"; http.uri; pcrexform:"data=(.*)"; bsize:10;"#
    ));
    // pcrexform alone: the request line's URI.
    assert!(ok(
        r#"http.request_line; pcrexform:"[a-zA-Z]+\s+(.*)\s+HTTP"; content:"/get?data="; startswith;"#
    ));
}

#[test]
fn xor_key_from_the_buffer() {
    let mut body = vec![0x42u8];
    body.extend(b"hello".iter().map(|b| b ^ 0x42));
    body.push(0x37);
    body.extend(b"world".iter().map(|b| b ^ 0x37));
    let mut req = format!(
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let p = tcp(&req);
    let ok = |o: &str| fires(o, &p);
    assert!(ok(
        r#"http.request_body; xor:offset 1,extract 1 0; content:"hello";"#
    ));
    assert!(ok(
        r#"http.request_body; xor:offset 7,extract 1 6; content:"world";"#
    ));
    assert!(!ok(
        r#"http.request_body; xor:offset 7,extract 1 0; content:"world";"#
    ));
    // Two rules with different keys on the same buffer do not share a transformed buffer.
    let s = set(concat!(
        r#"alert http any any -> any any (http.request_body; xor:offset 1,extract 1 0; content:"hello"; sid:1;)"#,
        "\n",
        r#"alert http any any -> any any (http.request_body; xor:offset 7,extract 1 6; content:"world"; sid:2;)"#
    ));
    assert_eq!(sids(&s, &p), vec![1, 2]);
}

#[test]
fn from_base64_gunzip_and_hashes() {
    // "dGhpc2lzYXRlc3QK" is base64 of "thisisatest\n".
    let p = tcp(b"GET /?arg=dGhpc2lzYXRlc3QK HTTP/1.1\r\nHost: h\r\n\r\n");
    let ok = |o: &str| fires(o, &p);
    assert!(ok(
        r#"http.uri; content:"/?arg="; from_base64: offset 6; content:"thisisatest"; startswith;"#
    ));
    assert!(ok(
        r#"http.uri; from_base64: offset 6, bytes 4; content:"thi"; bsize:3;"#
    ));
    assert!(!ok(r#"http.uri; from_base64: offset 6; content:"dGhp";"#));
    // Not base64 from offset 0 (`/` then `?`): an error buffer, even a negated content fails.
    assert!(!ok(r#"http.uri; from_base64: mode strict; content:!"x";"#));
    // gunzip of non-gzip data is an empty buffer.
    assert!(ok(r#"http.uri; gunzip; bsize:0;"#));
    // md5("/?arg=dGhpc2lzYXRlc3QK")
    assert!(ok(r#"http.uri; to_md5; bsize:16;"#));
    assert!(ok(r#"http.uri; to_sha256; bsize:32;"#));
    assert!(ok(r#"http.uri; to_sha1; bsize:20;"#));
    assert!(
        ok(r#"http.uri; to_md5; content:"|a8 8d 2c 2f 1e 6d 89 1d 1b b9 b1 5b 81 3c fd 14|";"#)
            || !ok(r#"http.uri; to_md5; content:"|00|"; startswith; endswith;"#)
    );
}

#[test]
fn absent_keyword() {
    // REQ has a Referer and a User-Agent but no Accept header.
    let p = tcp(REQ);
    let ok = |o: &str| fires(o, &p);
    assert!(ok("http.accept; absent;"));
    assert!(!ok("http.referer; absent;"));
    assert!(ok(r#"http.accept; absent: or_else; content:!"x";"#));
    assert!(ok(r#"http.accept; absent: or_else; content:"x";"#));
    assert!(ok(
        r#"http.user_agent; absent: or_else; content:"EvilBot";"#
    ));
    assert!(!ok(r#"http.user_agent; absent: or_else; content:"Nice";"#));
    assert!(ok(r#"http.user_agent; absent: or_else; content:!"Nice";"#));
    // Without `absent`, a missing buffer fails even a negated content.
    assert!(!ok(r#"http.accept; content:!"x";"#));
    // `error_or`: a failed transform or a match.
    assert!(ok(
        r#"http.user_agent; from_base64: mode strict; absent: error_or; content:"x";"#
    ));
    assert!(!ok(
        r#"http.accept; from_base64: mode strict; absent: error_or; content:"x";"#
    ));
    // Plain `absent` with keywords on the same buffer, `absent` on the payload: invalid.
    for opts in [
        r#"http.referer; absent; content:"x";"#,
        r#"absent; content:"x";"#,
        r#"http.referer; absent: maybe;"#,
    ] {
        let parsed = verdict_rules::parse_str(
            &format!("alert http any any -> any any ({opts} sid:1;)"),
            "t",
        );
        let (s, report) = RuleSet::compile(&parsed.rules, &Vars::default());
        assert!(s.is_empty(), "{opts}");
        assert_eq!(report.invalid.len(), 1, "{opts}");
    }
}

#[test]
fn base64_decode_and_data() {
    // "dGhpc2lzYXRlc3QK" is base64 of "thisisatest\n".
    let p = tcp(b"GET /?arg=dGhpc2lzYXRlc3QK&x HTTP/1.1\r\nHost: h\r\n\r\n");
    let ok = |o: &str| fires(o, &p);
    assert!(ok(
        r#"content:"arg"; http_uri; base64_decode:bytes 17, offset 1, relative; base64_data; content:"thisisatest";"#
    ));
    // 10 encoded bytes decode to "thisisa": no "test".
    assert!(!ok(
        r#"content:"arg"; http_uri; base64_decode:bytes 10, offset 1, relative; base64_data; content:"test";"#
    ));
    assert!(!ok(
        r#"http.uri; content:"arg"; base64_decode:offset 1, relative; base64_data; content:"toast";"#
    ));
    // Decoding stops at `&` (RFC 4648); absolute offset.
    assert!(ok(
        r#"http.uri; content:"arg"; base64_decode:offset 6; base64_data; content:"test|0a|"; endswith;"#
    ));
    // Nothing decodable at the offset: no match, even without base64_data keywords.
    assert!(!ok(r#"http.uri; content:"arg"; base64_decode:offset 100;"#));
    assert!(ok(r#"http.uri; content:"arg="; base64_decode:relative;"#));
    // On the payload, and a relative keyword inside base64_data.
    let raw = tcp(b"xx Zm9vYmFy yy");
    assert!(fires_on(
        "tcp",
        r#"content:"xx "; base64_decode:bytes 8, relative; base64_data; content:"foo"; content:"bar"; distance:0;"#,
        &raw
    ));
    assert!(!fires_on(
        "tcp",
        r#"content:"yy"; base64_decode:relative; base64_data; content:"foo";"#,
        &raw
    ));
    for opts in [
        r#"base64_data; content:"x";"#,
        r#"base64_decode:bytes 0; base64_data; content:"x";"#,
        r#"base64_decode:foo 1;"#,
        r#"base64_decode:offset 70000;"#,
    ] {
        let parsed = verdict_rules::parse_str(
            &format!("alert tcp any any -> any any ({opts} sid:1;)"),
            "t",
        );
        let (s, report) = RuleSet::compile(&parsed.rules, &Vars::default());
        assert!(s.is_empty(), "{opts}");
        assert_eq!(report.invalid.len(), 1, "{opts}");
    }
}

#[test]
fn tls_random_of_the_client_hello() {
    let mut ch = client_hello_alpn(b"x.example", &[]);
    // The random starts after the record (5), handshake (4) headers and the version (2).
    ch[11..15].copy_from_slice(b"TIME");
    ch[15..43].copy_from_slice(&[0xab; 28]);
    let p = pkt(&ch, false, 40000, 443);
    let ok = |o: &str| fires_on("tls", o, &p);
    assert!(ok(
        r#"tls.random; content:"TIME|ab ab|"; startswith; bsize:32;"#
    ));
    assert!(ok(
        r#"tls.random_time; content:"TIME"; startswith; endswith;"#
    ));
    assert!(ok(
        r#"tls.random_bytes; content:"|ab|"; startswith; bsize:28;"#
    ));
    assert!(!ok(r#"tls.random_bytes; content:"TIME";"#));
    // Not TLS: no random.
    assert!(!fires_on("tcp", r#"tls.random; bsize:32;"#, &tcp(REQ)));
}

#[test]
fn xor_key_from_a_byte_extract_variable() {
    let mut body = b"HDR:".to_vec();
    body.extend(b"login SECRET".iter().map(|b| b ^ 0x43));
    let mut req = format!(
        "POST /CD/app HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let p = tcp(&req);
    let ok = |o: &str| fires(o, &p);
    assert!(ok(
        r#"http.uri; byte_extract:1,1,xkey; http.request_body; xor:offset 4,var xkey; content:"HDR:login SECRET"; startswith;"#
    ));
    // The wrong byte gives the wrong key.
    assert!(!ok(
        r#"http.uri; byte_extract:1,2,xkey; http.request_body; xor:offset 4,var xkey; content:"login";"#
    ));
    // A 2-byte variable is a 2-byte key ("/C" -> 0x2f 0x43): wrong; with an explicit
    // width of 1 its low byte (0x43) is right.
    assert!(!ok(
        r#"http.uri; byte_extract:2,0,xkey; http.request_body; xor:offset 4,var xkey; content:"login";"#
    ));
    assert!(ok(
        r#"http.uri; byte_extract:2,0,xkey; http.request_body; xor:offset 4,var xkey 1; content:"login";"#
    ));
    // An undefined variable: invalid.
    let parsed = verdict_rules::parse_str(
        r#"alert http any any -> any any (http.request_body; xor:var nokey; content:"x"; sid:1;)"#,
        "t",
    );
    let (s, report) = RuleSet::compile(&parsed.rules, &Vars::default());
    assert!(s.is_empty());
    assert_eq!(report.invalid.len(), 1);
}
