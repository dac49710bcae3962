//! Checksum validation (`EngineConfig::checksum`, Suricata's `-k`): a TCP segment with a bad
//! checksum is kept out of the stream engine (no reassembly, no app layer) but packet rules
//! still see it; `Auto` stops validating when the first packets show checksum offloading.

use std::sync::Arc;
use std::time::Duration;

use verdict_engine::{ChecksumMode, Engine, EngineConfig, PacketMeta, RulesInspector};
use verdict_rules::{RuleSet, Vars};

const RULES: &str = r#"
alert tcp any any -> any 80 (msg:"packet"; content:"GET"; sid:1;)
alert http any any -> any any (msg:"app"; http.uri; content:"/x"; sid:2;)
alert tcp any any -> any any (msg:"bad csum"; tcpv4-csum:invalid; sid:3;)
"#;

const CLIENT: [u8; 4] = [198, 18, 0, 1];
const SERVER: [u8; 4] = [198, 18, 1, 1];

fn engine(mode: ChecksumMode) -> Engine<RulesInspector> {
    engine_with(RULES, mode)
}

fn engine_with(rules: &str, mode: ChecksumMode) -> Engine<RulesInspector> {
    let parsed = verdict_rules::parse_str(rules, "csum.rules");
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(
        report.unsupported.is_empty() && report.invalid.is_empty(),
        "{report:?}"
    );
    Engine::new(
        RulesInspector::new(Arc::new(set)),
        EngineConfig {
            checksum: mode,
            ..Default::default()
        },
    )
}

fn sum16(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// An IPv4 TCP segment with a correct IP header checksum and a correct (or, with `bad`, an
/// off-by-one) TCP checksum.
fn tcp(
    port: u16,
    reply: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    payload: &[u8],
    bad: bool,
) -> Vec<u8> {
    let (src, dst, sp, dp) = if reply {
        (SERVER, CLIENT, 80u16, port)
    } else {
        (CLIENT, SERVER, port, 80)
    };
    let mut seg = Vec::new();
    seg.extend_from_slice(&sp.to_be_bytes());
    seg.extend_from_slice(&dp.to_be_bytes());
    seg.extend_from_slice(&seq.to_be_bytes());
    seg.extend_from_slice(&ack.to_be_bytes());
    seg.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    seg.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(seg.len() as u16).to_be_bytes());
    let mut padded = seg.clone();
    if padded.len() % 2 == 1 {
        padded.push(0);
    }
    let csum = !fold(sum16(&pseudo) + sum16(&padded));
    let csum = if bad { csum.wrapping_add(1) } else { csum };
    seg[16..18].copy_from_slice(&csum.to_be_bytes());
    let total = 20 + seg.len();
    let mut ip = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = !fold(sum16(&ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&seg);
    ip
}

/// A handshake, then an HTTP request (its checksum bad or not), on a new connection from
/// client port `40000 + t`; returns the sids alerted on the request.
fn request(e: &mut Engine<RulesInspector>, t: u64, bad: bool) -> Vec<u32> {
    let port = 40000 + t as u16;
    let now = |i: u64| Duration::from_secs(t) + Duration::from_millis(i);
    let meta = PacketMeta::default();
    e.inspect(now(0), &tcp(port, false, 0x02, 100, 0, b"", false), meta);
    e.inspect(now(1), &tcp(port, true, 0x12, 500, 101, b"", false), meta);
    e.inspect(now(2), &tcp(port, false, 0x10, 101, 501, b"", false), meta);
    let req = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    let d = e.inspect(now(3), &tcp(port, false, 0x18, 101, 501, req, bad), meta);
    let mut sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    sids.sort_unstable();
    sids
}

#[test]
fn valid_checksums_are_processed_in_every_mode() {
    for mode in [ChecksumMode::Off, ChecksumMode::On, ChecksumMode::Auto] {
        let mut e = engine(mode);
        assert_eq!(request(&mut e, 0, false), vec![1, 2], "{mode:?}");
        assert_eq!(e.stats().invalid_checksum, 0);
    }
}

#[test]
fn bad_tcp_checksum_skips_the_stream_engine_when_validating() {
    let mut e = engine(ChecksumMode::On);
    // The packet rule and the checksum rule see the segment; the app layer does not.
    assert_eq!(request(&mut e, 0, true), vec![1, 3]);
    assert_eq!(e.stats().invalid_checksum, 1);
    assert_eq!(e.stats().stream.segments, 0, "{:?}", e.stats().stream);
}

#[test]
fn bad_tcp_checksum_is_processed_without_validation() {
    let mut e = engine(ChecksumMode::Off);
    assert_eq!(request(&mut e, 0, true), vec![1, 2, 3]);
    assert_eq!(e.stats().invalid_checksum, 0);
}

#[test]
fn auto_validates_until_the_sample_shows_offloading() {
    // Few bad checksums in the first 1000 packets: validation stays on.
    // (Four packets per request: the 250th request's segment is packet 1000, decided on.)
    let mut e = engine(ChecksumMode::Auto);
    for i in 0..249 {
        assert_eq!(request(&mut e, i, false), vec![1, 2]);
    }
    assert_eq!(request(&mut e, 249, true), vec![1, 3]);
    assert_eq!(e.stats().packets, 1000);
    assert_eq!(e.config().checksum, ChecksumMode::Auto);
    assert_eq!(request(&mut e, 250, true), vec![1, 3]);

    // Every request segment bad (a quarter of the packets): offloading, validation stops
    // from packet 1000 on.
    let mut e = engine(ChecksumMode::Auto);
    for i in 0..249 {
        assert_eq!(request(&mut e, i, true), vec![1, 3]);
    }
    assert_eq!(e.stats().invalid_checksum, 249);
    assert_eq!(request(&mut e, 249, true), vec![1, 2, 3]);
    assert_eq!(e.config().checksum, ChecksumMode::Off);
    assert_eq!(request(&mut e, 250, true), vec![1, 2, 3]);
    assert_eq!(e.stats().invalid_checksum, 249);
}

#[test]
fn bad_checksum_flags_do_not_move_the_session() {
    // The SYN has a bad checksum: with validation the session never starts (no midstream
    // pickup), so the request is not on an established session; without, it is.
    let rules = r#"alert tcp any any -> any 80 (msg:"packet"; content:"GET"; sid:1;)
alert tcp any any -> any 80 (msg:"established"; flow:established,to_server; content:"GET"; sid:4;)"#;
    for (mode, want) in [(ChecksumMode::On, vec![1]), (ChecksumMode::Off, vec![1, 4])] {
        let mut e = engine_with(rules, mode);
        let meta = PacketMeta::default();
        let t = |i: u64| Duration::from_millis(i);
        e.inspect(t(0), &tcp(40000, false, 0x02, 100, 0, b"", true), meta);
        e.inspect(t(1), &tcp(40000, true, 0x12, 500, 101, b"", false), meta);
        e.inspect(t(2), &tcp(40000, false, 0x10, 101, 501, b"", false), meta);
        let req = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
        let d = e.inspect(t(3), &tcp(40000, false, 0x18, 101, 501, req, false), meta);
        let mut sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
        sids.sort_unstable();
        assert_eq!(sids, want, "{mode:?}");
    }
}
