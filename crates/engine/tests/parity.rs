//! Offline/live parity: the same engine gives the same decisions for a packet sequence read
//! from pcap bytes (Ethernet-framed, as captures are) and fed as raw L3 bytes (as NFQUEUE hands
//! them over). Property-tested over random traffic.

use std::sync::Arc;
use std::time::Duration;

use pcap_file::pcap::{PcapPacket, PcapReader, PcapWriter};
use pcap_file::DataLink;
use proptest::prelude::*;
use verdict_decode::LinkType;
use verdict_engine::{Engine, EngineConfig, PacketMeta, RulesInspector, Verdict};
use verdict_rules::{RuleSet, Vars};

const RULES: &str = r#"
alert tcp any any -> any 80 (msg:"GET"; flow:established,to_server; content:"GET"; sid:1;)
drop tcp any any -> any 8080 (msg:"evil"; content:"evil"; sid:2;)
drop udp 198.18.0.66 any -> any any (msg:"bad host"; sid:3;)
pass udp any any -> any 53 (msg:"dns ok"; sid:4;)
alert udp any any -> any any (msg:"udp secret"; content:"secret"; sid:5;)
alert icmp any any -> any any (msg:"ping"; itype:8; sid:6;)
alert tcp any any -> any any (msg:"flowbit set"; content:"login"; flowbits:set,auth; flowbits:noalert; sid:7;)
alert tcp any any -> any any (msg:"after login"; content:"cmd"; flowbits:isset,auth; sid:8;)
"#;

fn engine() -> Engine<RulesInspector> {
    let parsed = verdict_rules::parse_str(RULES, "parity.rules");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let (set, report) = RuleSet::compile(&parsed.rules, &Vars::suricata_defaults());
    assert!(
        report.unsupported.is_empty() && report.invalid.is_empty(),
        "{report:?}"
    );
    Engine::new(
        RulesInspector::new(Arc::new(set)),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    )
}

/// One generated packet: which endpoint pair, direction, protocol, flags and payload.
#[derive(Debug, Clone)]
struct Pkt {
    host: u8,
    port: u16,
    reply: bool,
    kind: u8,
    payload: Vec<u8>,
}

fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let total = 20 + l4.len();
    let mut v = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(l4);
    v
}

fn build(p: &Pkt) -> Vec<u8> {
    let client = [198, 18, 0, p.host];
    let server = [198, 18, 1, 1];
    let (src, dst) = if p.reply {
        (server, client)
    } else {
        (client, server)
    };
    let cport = 40000 + p.host as u16;
    let sport = [80u16, 8080, 53, 9999][p.port as usize % 4];
    let (sp, dp) = if p.reply {
        (sport, cport)
    } else {
        (cport, sport)
    };
    match p.kind % 3 {
        0 => {
            let flags = [0x02u8, 0x12, 0x10, 0x18, 0x11, 0x04][p.payload.len() % 6];
            let mut t = Vec::new();
            t.extend_from_slice(&sp.to_be_bytes());
            t.extend_from_slice(&dp.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, flags, 0x10, 0, 0, 0, 0, 0]);
            t.extend_from_slice(&p.payload);
            ipv4(src, dst, 6, &t)
        }
        1 => {
            let mut u = Vec::new();
            u.extend_from_slice(&sp.to_be_bytes());
            u.extend_from_slice(&dp.to_be_bytes());
            u.extend_from_slice(&((8 + p.payload.len()) as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(&p.payload);
            ipv4(src, dst, 17, &u)
        }
        _ => {
            let mut i = vec![if p.reply { 0 } else { 8 }, 0, 0, 0, 0, 1, 0, 1];
            i.extend_from_slice(&p.payload);
            ipv4(src, dst, 1, &i)
        }
    }
}

fn pkt_strategy() -> impl Strategy<Value = Pkt> {
    let words = prop::sample::select(vec![
        &b""[..],
        b"GET /",
        b"evil",
        b"secret",
        b"login",
        b"cmd",
        b"hello",
        b"x",
    ]);
    (
        prop::sample::select(vec![1u8, 2, 3, 66]),
        0u16..4,
        any::<bool>(),
        0u8..3,
        words,
        any::<u8>(),
    )
        .prop_map(|(host, port, reply, kind, w, pad)| {
            let mut payload = w.to_vec();
            payload.extend(std::iter::repeat(b'.').take((pad % 5) as usize));
            Pkt {
                host,
                port,
                reply,
                kind,
                payload,
            }
        })
}

/// What must be equal between the two runs.
type Seen = (
    Verdict,
    Vec<u32>,
    Option<&'static str>,
    Option<u64>,
    Option<bool>,
);

fn run_raw(packets: &[(Duration, Vec<u8>)]) -> Vec<Seen> {
    let mut e = engine();
    packets
        .iter()
        .map(|(ts, b)| {
            let d = e.inspect(
                *ts,
                b,
                PacketMeta {
                    link: LinkType::Raw,
                },
            );
            summarize(&d)
        })
        .collect()
}

fn summarize(d: &verdict_engine::Decision<'_>) -> Seen {
    (
        d.verdict,
        d.alerts.iter().map(|a| a.info.sid).collect(),
        d.drop_reason.map(|r| r.as_str()),
        d.packet.map(|p| p.flow_id),
        d.packet.map(|p| p.to_server),
    )
}

fn run_pcap(packets: &[(Duration, Vec<u8>)]) -> Vec<Seen> {
    let mut file = Vec::new();
    {
        let header = pcap_file::pcap::PcapHeader {
            datalink: DataLink::ETHERNET,
            ..Default::default()
        };
        let mut w = PcapWriter::with_header(&mut file, header).unwrap();
        for (ts, ip) in packets {
            let mut frame = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
            frame.extend_from_slice(ip);
            w.write_packet(&PcapPacket::new(*ts, frame.len() as u32, &frame))
                .unwrap();
        }
    }
    let mut r = PcapReader::new(&file[..]).unwrap();
    let link = LinkType::from_pcap(u32::from(r.header().datalink)).unwrap();
    let mut e = engine();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        let d = e.inspect(p.timestamp, &p.data, PacketMeta { link });
        out.push(summarize(&d));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn pcap_and_raw_l3_give_the_same_decisions(seq in prop::collection::vec(pkt_strategy(), 1..80)) {
        let packets: Vec<(Duration, Vec<u8>)> = seq
            .iter()
            .enumerate()
            .map(|(i, p)| (Duration::from_secs(1_700_000_000) + Duration::from_millis(i as u64 * 10), build(p)))
            .collect();
        let raw = run_raw(&packets);
        let pcap = run_pcap(&packets);
        prop_assert_eq!(raw, pcap);
    }
}

#[test]
fn the_property_can_fail_detection_really_happens() {
    // Guard against a vacuous property: the rules do fire on this fixed sequence.
    let seq = [
        Pkt {
            host: 66,
            port: 1,
            reply: false,
            kind: 1,
            payload: b"x".to_vec(),
        },
        Pkt {
            host: 1,
            port: 1,
            reply: false,
            kind: 0,
            payload: b"evil".to_vec(),
        },
        Pkt {
            host: 2,
            port: 3,
            reply: false,
            kind: 1,
            payload: b"secret".to_vec(),
        },
    ];
    let packets: Vec<(Duration, Vec<u8>)> = seq
        .iter()
        .map(|p| (Duration::from_secs(1), build(p)))
        .collect();
    let raw = run_raw(&packets);
    assert_eq!(raw[0].0, Verdict::Drop);
    assert_eq!(raw[0].1, vec![3]);
    assert_eq!(raw[1].0, Verdict::Drop);
    assert_eq!(raw[2].1, vec![5]);
    assert_eq!(raw, run_pcap(&packets));
}
