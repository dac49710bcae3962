//! Engine tests with a scripted inspector and hand-built packets.

use super::*;
use std::net::IpAddr;

/// Raises an alert with the configured action when the payload contains the needle.
struct Needle {
    needle: &'static [u8],
    action: RuleAction,
    flow: bool,
    info: Arc<AlertInfo>,
    calls: usize,
}

impl Inspector for Needle {
    type FlowState = u32;
    fn inspect(
        &mut self,
        _now: Duration,
        pkt: &PacketInput<'_>,
        flow: Option<&mut u32>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        self.calls += 1;
        if let Some(n) = flow {
            *n += 1;
        }
        if pkt
            .payload
            .windows(self.needle.len())
            .any(|w| w == self.needle)
        {
            if self.action != RuleAction::Pass {
                alerts.push(Alert {
                    action: self.action,
                    info: self.info.clone(),
                    stream: false,
                    tx_id: None,
                    app: None,
                });
            }
            return Outcome {
                action: Some(self.action),
                mark: Some(7),
                flow: self.flow,
                cause: None,
                bypass: false,
                suppressed: 0,
            };
        }
        Outcome::default()
    }
}

fn needle(action: RuleAction) -> Needle {
    Needle {
        needle: b"evil",
        action,
        flow: true,
        info: Arc::new(AlertInfo {
            gid: 1,
            sid: 42,
            rev: 1,
            msg: "evil".into(),
            severity: 3,
            ..Default::default()
        }),
        calls: 0,
    }
}

/// An IPv4 header (no options, checksum 0, DF as given) for `proto` and `payload_len` bytes.
fn ipv4_header(proto: u8, payload_len: usize, src: [u8; 4], dst: [u8; 4], df: bool) -> Vec<u8> {
    let total = 20 + payload_len;
    let flags = if df { 0x40 } else { 0 };
    let mut v = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        flags,
        0,
        64,
        proto,
        0,
        0,
    ];
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v
}

pub(crate) fn udp_packet(sport: u16, dport: u16, payload: &[u8], reply: bool) -> Vec<u8> {
    let (a, b) = ([198u8, 18, 0, 1], [198u8, 18, 0, 2]);
    let (s, d) = if reply { (b, a) } else { (a, b) };
    let mut v = ipv4_header(17, 8 + payload.len(), s, d, false);
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn t(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn drop_rule_drops_packet_and_rest_of_flow_in_ips() {
    let mut e = Engine::new(
        needle(RuleAction::Drop),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &udp_packet(1000, 53, b"hello", false), m);
    assert_eq!(d.verdict, Verdict::Accept);
    assert!(d.alerts.is_empty());
    let d = e.inspect(t(1), &udp_packet(1000, 53, b"an evil one", false), m);
    assert_eq!(d.verdict, Verdict::Drop);
    assert_eq!(d.drop_reason, Some(DropReason::Rules));
    assert!(d.first_drop_in_direction);
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(d.alerts[0].eve_action(true), "blocked");
    assert_eq!(d.mark, Some(7));
    let calls = e.inspector().calls;
    // Later packets of the flow, both directions, drop without detection.
    let d = e.inspect(t(2), &udp_packet(1000, 53, b"fine", false), m);
    assert_eq!(
        (d.verdict, d.drop_reason),
        (Verdict::Drop, Some(DropReason::FlowDrop))
    );
    assert!(!d.first_drop_in_direction);
    let d = e.inspect(t(3), &udp_packet(53, 1000, b"fine", true), m);
    assert_eq!(
        (d.verdict, d.drop_reason),
        (Verdict::Drop, Some(DropReason::FlowDrop))
    );
    assert!(d.first_drop_in_direction);
    assert!(!d.packet.unwrap().to_server);
    assert_eq!(e.inspector().calls, calls);
    // Another flow is unaffected.
    let d = e.inspect(t(4), &udp_packet(1001, 53, b"fine", false), m);
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(e.stats().dropped, 3);
}

#[test]
fn drop_rule_only_alerts_in_ids_mode() {
    let mut e = Engine::new(needle(RuleAction::Drop), EngineConfig::default());
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(d.alerts[0].eve_action(false), "allowed");
    let d = e.inspect(t(1), &udp_packet(1000, 53, b"evil", false), m);
    assert_eq!(d.alerts.len(), 1, "flow not dropped, still inspected");
}

#[test]
fn reject_drops_in_ips() {
    let mut e = Engine::new(
        needle(RuleAction::Reject),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let d = e.inspect(
        t(0),
        &udp_packet(1000, 53, b"evil", false),
        PacketMeta::default(),
    );
    assert_eq!(d.verdict, Verdict::Reject);
    assert!(d.verdict.is_drop());
}

#[test]
fn pass_skips_rest_of_flow() {
    let mut e = Engine::new(
        needle(RuleAction::Pass),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    assert_eq!(d.verdict, Verdict::Accept);
    assert!(d.alerts.is_empty());
    assert!(d.flow_passed);
    let d = e.inspect(t(1), &udp_packet(53, 1000, b"evil", true), m);
    assert!(d.flow_passed);
    assert_eq!(e.inspector().calls, 1);
    assert_eq!(e.stats().passed, 1);
}

#[test]
fn flow_state_and_direction_reach_the_inspector() {
    struct Probe(Vec<FlowInput>);
    impl Inspector for Probe {
        type FlowState = ();
        fn inspect(
            &mut self,
            _: Duration,
            p: &PacketInput<'_>,
            _: Option<&mut ()>,
            _: &mut Vec<Alert>,
        ) -> Outcome {
            self.0.push(p.flow);
            Outcome::default()
        }
    }
    let mut e = Engine::new(Probe(Vec::new()), EngineConfig::default());
    let m = PacketMeta::default();
    e.inspect(t(0), &udp_packet(1000, 53, b"q", false), m);
    e.inspect(t(1), &udp_packet(53, 1000, b"r", true), m);
    let seen = &e.inspector().0;
    assert!(seen[0].to_server && !seen[0].established && seen[0].tracked);
    assert!(!seen[1].to_server && seen[1].established);
}

#[test]
fn garbage_is_accepted_and_counted_or_dropped_when_asked() {
    let mut e = Engine::new(needle(RuleAction::Alert), EngineConfig::default());
    let d = e.inspect(t(0), &[0x45, 0, 0], PacketMeta::default());
    assert_eq!(d.verdict, Verdict::Accept);
    assert!(d.decode_error.is_some() && d.packet.is_none());
    assert_eq!(e.stats().invalid, 1);
    let mut e = Engine::new(
        needle(RuleAction::Alert),
        EngineConfig {
            ips: true,
            drop_invalid: true,
            ..Default::default()
        },
    );
    let d = e.inspect(t(0), &[0x99], PacketMeta::default());
    assert_eq!(
        (d.verdict, d.drop_reason),
        (Verdict::Drop, Some(DropReason::DecodeError))
    );
}

#[test]
fn expiry_forgets_dropped_flows() {
    let mut e = Engine::new(
        needle(RuleAction::Drop),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    assert_eq!(e.expire(Duration::from_secs(60)), 1);
    let d = e.inspect(
        Duration::from_secs(61),
        &udp_packet(1000, 53, b"ok", false),
        m,
    );
    assert_eq!(d.verdict, Verdict::Accept);
}

#[test]
fn packet_scoped_drop_and_pass_leave_the_flow_alone() {
    let mut n = needle(RuleAction::Drop);
    n.flow = false;
    let mut e = Engine::new(
        n,
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    assert_eq!(
        (d.verdict, d.drop_reason),
        (Verdict::Drop, Some(DropReason::Rules))
    );
    let d = e.inspect(t(1), &udp_packet(1000, 53, b"fine", false), m);
    assert_eq!(d.verdict, Verdict::Accept, "only the matching packet drops");
    let d = e.inspect(t(2), &udp_packet(1000, 53, b"evil again", false), m);
    assert_eq!(d.verdict, Verdict::Drop);
    assert!(
        !d.first_drop_in_direction,
        "second drop in the same direction"
    );

    let mut n = needle(RuleAction::Pass);
    n.flow = false;
    let mut e = Engine::new(n, EngineConfig::default());
    e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    let d = e.inspect(t(1), &udp_packet(1000, 53, b"x", false), m);
    assert!(!d.flow_passed);
    assert_eq!(e.inspector().calls, 2, "the flow is still inspected");
}

#[test]
fn summary_and_flow_counters() {
    let mut e = Engine::new(needle(RuleAction::Alert), EngineConfig::default());
    let m = PacketMeta::default();
    e.inspect(t(0), &udp_packet(1000, 53, b"q", false), m);
    let wire = udp_packet(53, 1000, b"answer", true);
    let d = e.inspect(t(5), &wire, m);
    let p = d.packet.unwrap();
    assert_eq!(&wire[p.payload.0..p.payload.0 + p.payload.1], b"answer");
    assert_eq!(p.ip_offset, 0);
    assert_eq!((p.src_port, p.dst_port, p.proto), (53, 1000, 17));
    assert_eq!(p.l4, L4Summary::Udp { len: 14 });
    assert_eq!(p.flow.pkts_toserver, 1);
    assert_eq!(p.flow.pkts_toclient, 1);
    assert_eq!(p.flow.bytes_toclient, 34);
    assert_eq!(p.flow.start, t(0));
    assert_eq!(p.flow.client, ("198.18.0.1".parse().unwrap(), 1000));
    assert_eq!(p.flow.server, ("198.18.0.2".parse().unwrap(), 53));
    assert_eq!(e.flow_stats().active, 1);
}

#[test]
fn vlan_tracking_off_joins_differently_tagged_directions() {
    let link = PacketMeta {
        link: LinkType::Ethernet,
    };
    let frame = |vlan: Option<u8>, ip: Vec<u8>| {
        let mut eth = vec![0u8; 12];
        if let Some(v) = vlan {
            eth.extend_from_slice(&[0x81, 0x00, 0x00, v]);
        }
        eth.extend_from_slice(&[0x08, 0x00]);
        eth.extend_from_slice(&ip);
        eth
    };
    let request = frame(Some(7), udp_packet(1000, 53, b"q", false));
    let reply = frame(None, udp_packet(53, 1000, b"a", true));
    for (tracking, flows, toclient) in [(true, 2, 0), (false, 1, 1)] {
        let cfg = EngineConfig {
            vlan_tracking: tracking,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(needle(RuleAction::Alert), cfg);
        e.inspect(t(0), &request, link);
        let d = e.inspect(t(1), &reply, link);
        assert_eq!(d.packet.unwrap().flow.pkts_toclient, toclient);
        assert_eq!(e.flow_stats().active, flows);
    }
}

#[test]
fn flow_bytes_count_the_whole_captured_frame() {
    // Suricata counts GET_PKT_LEN: the link header and any trailer padding are included.
    let mut e = Engine::new(needle(RuleAction::Alert), EngineConfig::default());
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x08, 0x00]);
    eth.extend_from_slice(&udp_packet(1000, 53, b"q", false));
    eth.extend_from_slice(&[0u8; 4]);
    let link = PacketMeta {
        link: LinkType::Ethernet,
    };
    let d = e.inspect(t(0), &eth, link);
    let p = d.packet.unwrap();
    assert_eq!(p.flow.bytes_toserver, eth.len() as u64);
    assert_eq!(p.flow.bytes_toserver, 14 + 29 + 4);
}

fn ipip(inner: &[u8]) -> Vec<u8> {
    let total = 20 + inner.len();
    let mut v = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        4,
        0,
        0,
    ];
    v.extend_from_slice(&[198, 18, 9, 1, 198, 18, 9, 2]);
    v.extend_from_slice(inner);
    v
}

#[test]
fn tunnelled_packets_are_inspected_and_drop_the_wire_packet() {
    let cfg = EngineConfig {
        ips: true,
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &ipip(&udp_packet(1000, 53, b"evil", false)), m);
    assert_eq!(d.verdict, Verdict::Drop);
    assert_eq!(
        d.drop_reason, None,
        "the outer packet itself matched nothing"
    );
    assert!(d.alerts.is_empty());
    assert_eq!(d.inner.len(), 1);
    let inner = &d.inner[0];
    assert_eq!(inner.pkt_src, "ipv4 tunnel");
    assert_eq!(inner.depth, 1);
    assert_eq!(inner.drop_reason, Some(DropReason::Rules));
    assert_eq!(inner.packet.src, "198.18.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(inner.tunnel.src, "198.18.9.1".parse::<IpAddr>().unwrap());
    assert_eq!(d.alerts_of(inner).len(), 1);
    assert_eq!(e.stats().dropped, 1, "one wire packet dropped");
    // Without track-parent-flow the outer flow lives on; an innocent inner flow passes.
    let d = e.inspect(t(1), &ipip(&udp_packet(1001, 53, b"ok", false)), m);
    assert_eq!(d.verdict, Verdict::Accept);

    let cfg = EngineConfig {
        ips: true,
        tunnels: TunnelConfig {
            ipip_track_parent_flow: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    e.inspect(t(0), &ipip(&udp_packet(1000, 53, b"evil", false)), m);
    let d = e.inspect(t(1), &ipip(&udp_packet(1001, 53, b"ok", false)), m);
    assert_eq!(
        (d.verdict, d.drop_reason),
        (Verdict::Drop, Some(DropReason::FlowDrop))
    );

    let cfg = EngineConfig {
        ips: true,
        tunnels: TunnelConfig {
            ipip: false,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    let d = e.inspect(t(0), &ipip(&udp_packet(1000, 53, b"evil", false)), m);
    assert!(d.inner.is_empty());
}

#[test]
fn ended_flows_are_reported_when_asked() {
    let cfg = EngineConfig {
        ips: true,
        flow_events: true,
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    let m = PacketMeta::default();
    e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    e.inspect(
        Duration::from_secs(10),
        &udp_packet(1001, 53, b"ok", false),
        m,
    );
    let mut got = Vec::new();
    e.take_ended_flows(|f| got.push(*f));
    assert!(got.is_empty());
    assert_eq!(e.expire(Duration::from_secs(35)), 1);
    e.take_ended_flows(|f| got.push(*f));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].reason, FlowEnd::Timeout);
    assert!(got[0].dropped && got[0].alerted && !got[0].established);
    assert_eq!(got[0].summary.client.1, 1000);
    e.drain();
    e.take_ended_flows(|f| got.push(*f));
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].reason, FlowEnd::Shutdown);
    // Off by default: nothing is kept.
    let mut e = Engine::new(needle(RuleAction::Alert), EngineConfig::default());
    e.inspect(t(0), &udp_packet(1000, 53, b"x", false), m);
    e.drain();
    let mut n = 0;
    e.take_ended_flows(|_| n += 1);
    assert_eq!(n, 0);
}

#[test]
fn fragments_are_reassembled_and_inspected_whole() {
    // A UDP datagram carrying "evil" split so that no fragment holds the whole word.
    let whole = udp_packet(1000, 53, b"xxxxxxxxxxxxxxevil", false);
    let payload = &whole[20..]; // 8-byte UDP header + 18 bytes
    let frag = |off8: u16, more: bool, part: &[u8]| {
        let total = 20 + part.len();
        let fo = off8 | if more { 0x2000 } else { 0 };
        let mut v = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 7];
        v.extend_from_slice(&fo.to_be_bytes());
        v.extend_from_slice(&[64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
        v.extend_from_slice(part);
        v
    };
    let cfg = EngineConfig {
        ips: true,
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &frag(0, true, &payload[..24]), m);
    assert_eq!(d.verdict, Verdict::Accept);
    assert!(d.inner.is_empty());
    let d = e.inspect(t(1), &frag(3, false, &payload[24..]), m);
    assert_eq!(
        d.verdict,
        Verdict::Drop,
        "the completing fragment carries the verdict"
    );
    assert_eq!(d.inner.len(), 1);
    let inner = &d.inner[0];
    assert_eq!(inner.pkt_src, PKT_SRC_DEFRAG);
    assert_eq!(inner.packet.dst_port, 53);
    assert_eq!(d.alerts_of(inner).len(), 1);
    let (o, l) = inner.packet.payload;
    assert_eq!(&d.reassembled[o..o + l], b"xxxxxxxxxxxxxxevil");
    // With reassembly off the word is never seen.
    let cfg = EngineConfig {
        ips: true,
        defrag: None,
        ..Default::default()
    };
    let mut e = Engine::new(needle(RuleAction::Drop), cfg);
    e.inspect(t(0), &frag(0, true, &payload[..24]), m);
    let d = e.inspect(t(1), &frag(3, false, &payload[24..]), m);
    assert_eq!(d.verdict, Verdict::Accept);
}

#[test]
fn rules_see_the_transport_header_and_vlans() {
    let text = "alert udp any any -> any any (msg:\"dport 53 in udp.hdr\"; udp.hdr; content:\"|00 35|\"; offset:2; depth:2; sid:1;)\n\
                alert udp any any -> any any (msg:\"vlan 7\"; vlan.id:7; sid:2;)";
    let parsed = verdict_rules::parse_str(text, "t.rules");
    let (set, report) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    assert_eq!(set.len(), 2, "{report:?}");
    let mut e = Engine::new(RulesInspector::new(Arc::new(set)), EngineConfig::default());
    let d = e.inspect(
        t(0),
        &udp_packet(1000, 53, b"q", false),
        PacketMeta::default(),
    );
    let sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    assert_eq!(sids, vec![1]);
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x07, 0x08, 0x00]);
    eth.extend_from_slice(&udp_packet(1000, 54, b"q", false));
    let d = e.inspect(
        t(1),
        &eth,
        PacketMeta {
            link: LinkType::Ethernet,
        },
    );
    let sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    assert_eq!(sids, vec![2]);
}

/// An IPv4 TCP segment between 198.18.0.1:40000 (client) and 198.18.0.2:80.
fn tcp_segment(flags: u8, seq: u32, ack: u32, payload: &[u8], reply: bool) -> Vec<u8> {
    let (a, b) = ([198u8, 18, 0, 1], [198u8, 18, 0, 2]);
    let ((s, sp), (d, dp)) = if reply {
        ((b, 80u16), (a, 40000u16))
    } else {
        ((a, 40000u16), (b, 80u16))
    };
    let mut v = ipv4_header(6, 20 + payload.len(), s, d, true);
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ack.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    v.extend_from_slice(payload);
    v
}

#[test]
fn tcp_payload_drop_on_an_established_session_drops_the_flow() {
    let text = "drop tcp any any -> any any (msg:\"evil\"; content:\"evil\"; sid:1;)";
    let parsed = verdict_rules::parse_str(text, "t.rules");
    let (set, report) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    assert_eq!(set.len(), 1, "{report:?}");
    let cfg = EngineConfig {
        ips: true,
        ..Default::default()
    };
    let mut e = Engine::new(RulesInspector::new(Arc::new(set)), cfg);
    let m = PacketMeta::default();
    let (syn, ack, psh) = (0x02, 0x10, 0x18);
    for (i, seg) in [
        tcp_segment(syn, 100, 0, b"", false),
        tcp_segment(syn | ack, 500, 101, b"", true),
        tcp_segment(ack, 101, 501, b"", false),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(e.inspect(t(i as u64), seg, m).verdict, Verdict::Accept);
    }
    let d = e.inspect(t(3), &tcp_segment(psh, 101, 501, b"GET /evil", false), m);
    assert_eq!(d.verdict, Verdict::Drop);
    assert_eq!(d.alerts.len(), 1);
    // The rest of the flow (here a retransmission and a benign segment) is dropped too,
    // without new alerts: the match was in the stream, as Suricata inline treats it.
    let d = e.inspect(t(4), &tcp_segment(psh, 101, 501, b"GET /evil", false), m);
    assert_eq!((d.verdict, d.alerts.len()), (Verdict::Drop, 0));
    let d = e.inspect(t(5), &tcp_segment(psh, 501, 110, b"fine", true), m);
    assert_eq!(d.verdict, Verdict::Drop);
}

/// An engine running `rules` (IPS when asked) with a completed handshake between
/// 198.18.0.1:40000 (ISN 100) and 198.18.0.2:80 (ISN 500).
fn stream_engine(rules: &str, ips: bool) -> Engine<RulesInspector> {
    let parsed = verdict_rules::parse_str(rules, "t.rules");
    let (set, report) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    assert!(
        report.unsupported.is_empty() && report.invalid.is_empty(),
        "{report:?}"
    );
    let cfg = EngineConfig {
        ips,
        ..Default::default()
    };
    let mut e = Engine::new(RulesInspector::new(Arc::new(set)), cfg);
    let m = PacketMeta::default();
    for (i, seg) in [
        tcp_segment(0x02, 100, 0, b"", false),
        tcp_segment(0x12, 500, 101, b"", true),
        tcp_segment(0x10, 101, 501, b"", false),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(e.inspect(t(i as u64), seg, m).verdict, Verdict::Accept);
    }
    e
}

/// Sids of the alerts of one client segment at sequence number `seq`.
fn client_says(e: &mut Engine<RulesInspector>, ms: u64, seq: u32, data: &[u8]) -> Vec<u32> {
    let d = e.inspect(
        t(ms),
        &tcp_segment(0x18, seq, 501, data, false),
        PacketMeta::default(),
    );
    d.alerts.iter().map(|a| a.info.sid).collect()
}

#[test]
fn http_request_split_over_three_segments_alerts_once() {
    let mut e = stream_engine(
        "alert http any any -> any any (http.uri; content:\"/admin/login\"; sid:1;)\n\
         alert http any any -> any any (http.host; content:\"example.org\"; sid:2;)",
        false,
    );
    let req = b"GET /admin/login HTTP/1.1\r\nHost: example.org\r\n\r\n";
    let (a, rest) = req.split_at(9); // "GET /admi"
    let (b, c) = rest.split_at(25);
    assert_eq!(client_says(&mut e, 10, 101, a), Vec::<u32>::new());
    // The request line completes with the second segment (the URI rule matches, once), the
    // Host header with the third.
    let d = e.inspect(
        t(11),
        &tcp_segment(0x18, 110, 501, b, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.iter().map(|a| a.info.sid).collect::<Vec<_>>(), [1]);
    assert_eq!(d.alerts[0].tx_id, Some(0));
    let d = e.inspect(
        t(12),
        &tcp_segment(0x18, 135, 501, c, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.iter().map(|a| a.info.sid).collect::<Vec<_>>(), [2]);
    assert!(d.alerts.iter().all(|a| a.tx_id == Some(0)));
    assert_eq!(d.packet.unwrap().app_proto, Some("http"));
    // A retransmission of the whole request does not alert again (same transaction).
    assert_eq!(client_says(&mut e, 13, 101, req), Vec::<u32>::new());
    // The next request is a new transaction.
    let d = e.inspect(
        t(14),
        &tcp_segment(0x18, 101 + req.len() as u32, 501, req, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 2);
    assert!(d.alerts.iter().all(|a| a.tx_id == Some(1)));
}

#[test]
fn out_of_order_overlap_with_different_data_keeps_the_first_bytes_and_raises_the_event() {
    let mut e = stream_engine(
        "alert tcp any any -> any any (msg:\"overlap\"; stream-event:reassembly_overlap_different_data; sid:1;)\n\
         alert http any any -> any any (http.uri; content:\"/good\"; sid:2;)\n\
         alert http any any -> any any (http.uri; content:\"/evil\"; sid:3;)",
        false,
    );
    // The second half arrives first and is held.
    assert_eq!(
        client_says(&mut e, 10, 107, b"ood HTTP/1.1\r\n\r\n"),
        Vec::<u32>::new()
    );
    // Then a segment covering the hole and, with other bytes, the held data: the held
    // (first) bytes win, the event is raised, and the request is "/good".
    let sids = client_says(&mut e, 11, 101, b"GET /good HTTP/1.1\r\n\r\n");
    assert_eq!(sids, [2]);
    let mut sids = client_says(&mut e, 12, 107, b"vil HTTP/1.1\r\n\r\n");
    sids.sort_unstable();
    assert_eq!(
        sids,
        [1],
        "a different retransmission raises the event, not sid 3"
    );
    assert_eq!(e.stats().stream.overlaps_different, 1);
    // Out of order with different data inside the held part.
    let mut e = stream_engine(
        "alert tcp any any -> any any (stream-event:reassembly_overlap_different_data; sid:1;)\n\
         alert http any any -> any any (http.uri; content:\"/evil\"; sid:3;)",
        false,
    );
    assert!(client_says(&mut e, 10, 107, b"ood HTTP/1.1\r\n\r\n").is_empty());
    let sids = client_says(&mut e, 11, 101, b"GET /evil HTTP/1.1\r\n\r\n");
    assert_eq!(sids, [1]);
}

#[test]
fn content_across_two_segments_matches_on_the_stream() {
    let mut e = stream_engine(
        "alert tcp any any -> any any (msg:\"split\"; content:\"attack-string\"; sid:1;)",
        false,
    );
    assert!(client_says(&mut e, 10, 101, b"xxxxattack-").is_empty());
    let d = e.inspect(
        t(11),
        &tcp_segment(0x18, 112, 501, b"string yyyy", false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    assert!(d.alerts[0].stream, "the match is on the reassembled stream");
    assert_eq!(d.stream_payload, b"xxxxattack-string yyyy");
    // Reported once: the next segment's window still holds it, but it is not new.
    assert!(client_says(&mut e, 12, 123, b"zzzz").is_empty());
    // A pattern inside one segment still matches on the packet.
    let d = e.inspect(
        t(13),
        &tcp_segment(0x18, 127, 501, b"attack-string", false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    assert!(!d.alerts[0].stream);
}

#[test]
fn ips_drop_of_a_split_request_drops_the_rest_of_the_flow() {
    let mut e = stream_engine(
        "drop http any any -> any any (http.uri; content:\"/etc/passwd\"; sid:1;)",
        true,
    );
    let m = PacketMeta::default();
    let d = e.inspect(
        t(10),
        &tcp_segment(0x18, 101, 501, b"GET /etc/pa", false),
        m,
    );
    assert_eq!(d.verdict, Verdict::Accept);
    let d = e.inspect(
        t(11),
        &tcp_segment(0x18, 112, 501, b"sswd HTTP/1.1\r\n\r\n", false),
        m,
    );
    assert_eq!(
        d.verdict,
        Verdict::Drop,
        "the packet completing the match is dropped"
    );
    assert_eq!(d.alerts.len(), 1);
    // Everything after, both ways, is dropped without new alerts.
    let d = e.inspect(
        t(12),
        &tcp_segment(0x18, 501, 129, b"HTTP/1.1 200 OK\r\n\r\n", true),
        m,
    );
    assert_eq!((d.verdict, d.alerts.len()), (Verdict::Drop, 0));
    let d = e.inspect(t(13), &tcp_segment(0x18, 129, 520, b"more", false), m);
    assert_eq!(d.drop_reason, Some(DropReason::FlowDrop));
}

#[test]
fn ips_inspects_out_of_order_data_at_once_and_reports_it_once() {
    let rules = "alert tcp any any -> any any (content:\"Me In\"; sid:1;)";
    let mut e = stream_engine(rules, true);
    assert!(client_says(&mut e, 10, 101, b"Let").is_empty());
    // A hole at 104..111; the two segments after it are held, and inspected together.
    assert!(client_says(&mut e, 11, 111, b"Me ").is_empty());
    let d = e.inspect(
        t(12),
        &tcp_segment(0x18, 114, 501, b"In.", false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    assert!(d.alerts[0].stream);
    assert_eq!(d.stream_payload, b"Me In.");
    // The hole fills: the data is delivered in order now, but the match is not new.
    assert!(client_says(&mut e, 13, 104, b" Us In ").is_empty());
    // IDS: the held data waits for the hole (or the flow end).
    let mut e = stream_engine(rules, false);
    client_says(&mut e, 10, 101, b"Let");
    client_says(&mut e, 11, 111, b"Me ");
    assert!(client_says(&mut e, 12, 114, b"In.").is_empty());
    assert_eq!(client_says(&mut e, 13, 104, b" Us In "), [1]);
}

/// Raises one alert per configured sid (in that order) and asks for `action`.
struct Many {
    sids: Vec<u32>,
    action: RuleAction,
    suppressed: u32,
}

impl Inspector for Many {
    type FlowState = ();
    fn inspect(
        &mut self,
        _now: Duration,
        _pkt: &PacketInput<'_>,
        _flow: Option<&mut ()>,
        alerts: &mut Vec<Alert>,
    ) -> Outcome {
        for &sid in &self.sids {
            alerts.push(Alert {
                action: RuleAction::Alert,
                info: Arc::new(AlertInfo {
                    gid: 1,
                    sid,
                    rev: 1,
                    severity: 3,
                    ..Default::default()
                }),
                stream: false,
                tx_id: None,
                app: None,
            });
        }
        Outcome {
            action: Some(self.action),
            suppressed: self.suppressed,
            ..Default::default()
        }
    }
}

#[test]
fn alert_queue_keeps_the_first_alerts_and_counts_the_overflow() {
    let many = Many {
        sids: vec![1, 2, 3, 4, 5],
        action: RuleAction::Drop,
        suppressed: 2,
    };
    let mut e = Engine::new(
        many,
        EngineConfig {
            ips: true,
            packet_alert_max: 3,
            ..Default::default()
        },
    );
    let d = e.inspect(
        t(0),
        &udp_packet(1000, 53, b"x", false),
        PacketMeta::default(),
    );
    let sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    assert_eq!(sids, [1, 2, 3], "evaluation order decides who fits");
    // The drop still applies although the drop rule's alert did not fit.
    assert_eq!(d.verdict, Verdict::Drop);
    let s = e.stats();
    assert_eq!(s.alerts, 3);
    assert_eq!(s.alert_queue_overflow, 2);
    assert_eq!(s.alerts_suppressed, 2);
    assert_eq!(s.drop_reasons.rules, 1);
}

#[test]
fn alert_queue_limit_zero_means_the_default() {
    let many = Many {
        sids: (1..=20).collect(),
        action: RuleAction::Alert,
        suppressed: 0,
    };
    let mut e = Engine::new(
        many,
        EngineConfig {
            packet_alert_max: 0,
            ..Default::default()
        },
    );
    let d = e.inspect(
        t(0),
        &udp_packet(1000, 53, b"x", false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), PACKET_ALERT_MAX_DEFAULT as usize);
    assert_eq!(d.verdict, Verdict::Accept);
    assert_eq!(e.stats().alert_queue_overflow, 5);
}

#[test]
fn flow_drops_are_counted_by_reason() {
    let mut e = Engine::new(
        needle(RuleAction::Drop),
        EngineConfig {
            ips: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    e.inspect(t(0), &udp_packet(1000, 53, b"evil", false), m);
    e.inspect(t(1), &udp_packet(53, 1000, b"fine", true), m);
    e.inspect(t(2), &udp_packet(1000, 53, b"fine", false), m);
    let r = e.stats().drop_reasons;
    assert_eq!((r.rules, r.flow_drop, r.decode_error), (1, 2, 0));
}

fn rules_engine(rules: &str, cfg: EngineConfig) -> Engine<RulesInspector> {
    let parsed = verdict_rules::parse_str(rules, "t.rules");
    let (set, report) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    assert!(report.unsupported.is_empty() && report.invalid.is_empty());
    Engine::new(RulesInspector::new(Arc::new(set)), cfg)
}

#[test]
fn ip_only_rules_fire_once_per_flow_direction_and_on_every_tunnel_carrier() {
    let mut e = rules_engine(
        "alert ip any any -> any any (sid:1;)\nalert udp any any -> any any (content:\"q\"; sid:2;)",
        EngineConfig {
            flow_events: true,
            ..Default::default()
        },
    );
    let m = PacketMeta::default();
    let mut carrier_alerts = 0;
    let mut inner_alerts = Vec::new();
    for i in 0..3 {
        let d = e.inspect(t(i), &ipip(&udp_packet(1000, 53, b"q", false)), m);
        carrier_alerts += d.alerts.iter().filter(|a| a.info.sid == 1).count();
        let inner = &d.inner[0];
        let mut s: Vec<u32> = d.alerts_of(inner).iter().map(|a| a.info.sid).collect();
        s.sort_unstable();
        inner_alerts.push(s);
    }
    // The IP-in-IP carrier has no flow (as in Suricata): the IP-only rule fires on each.
    assert_eq!(carrier_alerts, 3);
    // The inner UDP flow: the IP-only rule on its first packet only, payload rules always.
    assert_eq!(inner_alerts, [vec![1, 2], vec![2], vec![2]]);
    // The reply direction is a first packet of its own.
    let d = e.inspect(t(4), &ipip(&udp_packet(53, 1000, b"r", true)), m);
    assert_eq!(d.alerts_of(&d.inner[0]).len(), 1);
    e.drain();
    let mut protos = Vec::new();
    e.take_ended_flows(|f| protos.push(f.proto));
    assert_eq!(protos, [17], "no flow record for the carrier");
}

#[test]
fn bypass_keyword_stops_inspecting_the_flow_after_its_match() {
    let mut e = rules_engine(
        "alert udp any any -> any any (content:\"go\"; bypass; sid:1;)\n\
         alert udp any any -> any any (content:\"x\"; sid:2;)",
        EngineConfig::default(),
    );
    let m = PacketMeta::default();
    let d = e.inspect(t(0), &udp_packet(1000, 53, b"x", false), m);
    assert_eq!(d.alerts.len(), 1);
    assert!(!d.flow_bypassed);
    let d = e.inspect(t(1), &udp_packet(1000, 53, b"go x", false), m);
    let mut sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    sids.sort_unstable();
    assert_eq!(
        sids,
        [1, 2],
        "the bypassing packet itself is inspected fully"
    );
    assert!(d.flow_bypassed && !d.flow_passed);
    for (i, reply) in [(2, true), (3, false)] {
        let (sp, dp) = if reply { (53, 1000) } else { (1000, 53) };
        let d = e.inspect(t(i), &udp_packet(sp, dp, b"go x", reply), m);
        assert!(d.alerts.is_empty() && d.flow_bypassed);
        assert_eq!(d.verdict, Verdict::Accept);
    }
    assert_eq!(e.stats().bypassed, 2);
    // Another flow is inspected as usual.
    let d = e.inspect(t(4), &udp_packet(1001, 53, b"x", false), m);
    assert_eq!(d.alerts.len(), 1);
}

#[test]
fn defrag_memcap_policy_decides_the_fragment_reassembly_could_not_take() {
    // "evil" is in the first fragment; the needle inspector drops what holds it.
    let whole = udp_packet(1000, 53, b"evilxxxxxxxxxxxxxx", false);
    let payload = &whole[20..];
    let frag = |off8: u16, more: bool, part: &[u8]| {
        let total = 20 + part.len();
        let fo = off8 | if more { 0x2000 } else { 0 };
        let mut v = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 9];
        v.extend_from_slice(&fo.to_be_bytes());
        v.extend_from_slice(&[64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2]);
        v.extend_from_slice(part);
        v
    };
    let m = PacketMeta::default();
    let run = |policy: ExceptionPolicy, ips: bool| {
        let mut e = Engine::new(
            needle(RuleAction::Alert),
            EngineConfig {
                ips,
                defrag_memcap_policy: policy,
                ..Default::default()
            },
        );
        e.simulate_defrag_memcap();
        let first = e.inspect(t(0), &frag(0, true, &payload[..24]), m);
        let first = (first.verdict, first.drop_reason, first.alerts.len());
        let last = e.inspect(t(1), &frag(3, false, &payload[24..]), m);
        let reassembled = !last.inner.is_empty();
        (first, reassembled, e.stats())
    };
    // drop-packet (IPS): dropped before detection, never reassembled.
    let ((v, r, alerts), reassembled, st) = run(ExceptionPolicy::DropPacket, true);
    assert_eq!(
        (v, r, alerts),
        (Verdict::Drop, Some(DropReason::DefragMemcap), 0)
    );
    assert!(!reassembled);
    assert_eq!(
        (st.defrag_memcap_hits, st.drop_reasons.defrag_memcap),
        (1, 1)
    );
    // drop-flow: no flow at reassembly time, so the packet alone.
    let ((v, _, _), _, st) = run(ExceptionPolicy::DropFlow, true);
    assert_eq!((v, st.dropped), (Verdict::Drop, 1));
    // IDS: drop policies do not drop.
    let ((v, _, alerts), _, _) = run(ExceptionPolicy::DropPacket, false);
    assert_eq!((v, alerts), (Verdict::Accept, 1));
    // pass-packet: accepted uninspected.
    let ((v, _, alerts), reassembled, _) = run(ExceptionPolicy::PassPacket, true);
    assert_eq!((v, alerts, reassembled), (Verdict::Accept, 0, false));
    // ignore: inspected as usual, only left out of reassembly.
    let ((v, _, alerts), reassembled, _) = run(ExceptionPolicy::Ignore, true);
    assert_eq!((v, alerts, reassembled), (Verdict::Accept, 1, false));
    // The simulation covers the next packet only (here not a fragment): the datagram after
    // it is reassembled.
    let mut e = Engine::new(
        needle(RuleAction::Alert),
        EngineConfig {
            ips: true,
            defrag_memcap_policy: ExceptionPolicy::DropPacket,
            ..Default::default()
        },
    );
    e.simulate_defrag_memcap();
    e.inspect(t(0), &udp_packet(1, 2, b"x", false), m);
    e.inspect(t(1), &frag(0, true, &payload[..24]), m);
    let d = e.inspect(t(2), &frag(3, false, &payload[24..]), m);
    assert_eq!(d.inner.len(), 1);
    assert_eq!(e.stats().defrag_memcap_hits, 0);
    assert_eq!(
        ExceptionPolicy::parse("auto", true),
        Some(ExceptionPolicy::DropFlow)
    );
    assert_eq!(
        ExceptionPolicy::parse("auto", false),
        Some(ExceptionPolicy::Ignore)
    );
    assert_eq!(ExceptionPolicy::parse("nope", true), None);
}

#[test]
fn data_released_by_the_peers_ack_is_inspected_with_the_next_packet_and_logged_with_its_gap() {
    let mut e = stream_engine(
        "alert tcp-stream any any -> any any (content:\"DATA\"; sid:1;)\n\
         alert tcp-stream any any -> any any (content:\"VERYDATA\"; sid:2;)",
        false,
    );
    assert!(client_says(&mut e, 10, 101, b"VERY").is_empty());
    // "GOOD" (seq 105) is lost; "DATA" is held out of order (IDS: not inspected yet).
    assert!(client_says(&mut e, 11, 109, b"DATA").is_empty());
    // The server acknowledges it all: the hole becomes a gap, "DATA" is delivered, but this
    // packet is the server's: the client's data waits for a client packet.
    let d = e.inspect(
        t(12),
        &tcp_segment(0x10, 501, 113, b"", true),
        PacketMeta::default(),
    );
    assert!(d.alerts.is_empty());
    // The client's next packet inspects it; the pattern across the gap does not match, and
    // the logged payload shows the gap.
    let d = e.inspect(
        t(13),
        &tcp_segment(0x10, 113, 501, b"", false),
        PacketMeta::default(),
    );
    let sids: Vec<u32> = d.alerts.iter().map(|a| a.info.sid).collect();
    assert_eq!(sids, [1]);
    assert!(d.alerts[0].stream);
    assert_eq!(d.stream_payload, b"VERY[4 bytes missing]DATA");
    // Inspected once.
    assert!(client_says(&mut e, 14, 113, b"!").is_empty());
}

#[test]
fn data_released_by_the_peers_ack_is_inspected_when_the_flow_ends() {
    let parsed = verdict_rules::parse_str(
        "alert tcp-stream any any -> any any (content:\"GOOD\"; sid:1;)",
        "t.rules",
    );
    let (set, _) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    let cfg = EngineConfig {
        stream_end_inspection: true,
        ..Default::default()
    };
    let mut e = Engine::new(RulesInspector::new(Arc::new(set)), cfg);
    let m = PacketMeta::default();
    for (i, seg) in [
        tcp_segment(0x02, 100, 0, b"", false),
        tcp_segment(0x12, 500, 101, b"", true),
        tcp_segment(0x10, 101, 501, b"", false),
        // The first 4 bytes never arrive.
        tcp_segment(0x18, 105, 501, b"GOOD", false),
        tcp_segment(0x10, 501, 109, b"", true),
    ]
    .iter()
    .enumerate()
    {
        assert!(e.inspect(t(i as u64), seg, m).alerts.is_empty());
    }
    e.drain();
    let mut got = Vec::new();
    e.take_stream_end_alerts(|a| got.push((a.alert.info.sid, a.payload.clone())));
    assert_eq!(got, [(1, b"[4 bytes missing]GOOD".to_vec())]);
}

#[test]
fn a_hole_given_up_on_raises_reassembly_seq_gap_on_that_packet() {
    let mut e = stream_engine(
        "alert tcp any any -> any any (stream-event:reassembly_seq_gap; sid:1;)",
        false,
    );
    assert!(client_says(&mut e, 10, 101, b"VERY").is_empty());
    assert!(client_says(&mut e, 11, 109, b"DATA").is_empty());
    let d = e.inspect(
        t(12),
        &tcp_segment(0x10, 501, 113, b"", true),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    assert_eq!(e.stats().stream.gaps, 1);
}

#[test]
fn a_request_released_by_the_servers_ack_is_inspected_with_the_next_client_packet() {
    let mut e = stream_engine(
        "alert http any any -> any any (http.uri; content:\"/evil\"; sid:1;)",
        false,
    );
    let first = b"GET /a HTTP/1.1\r\n\r\n";
    assert!(client_says(&mut e, 10, 101, first).is_empty());
    // 10 bytes are lost, the next request is held out of order.
    let next = 101 + first.len() as u32 + 10;
    let evil = b"GET /evil HTTP/1.1\r\n\r\n";
    assert!(client_says(&mut e, 11, next, evil).is_empty());
    // The server acknowledges everything: the request is parsed on its packet...
    let end = next + evil.len() as u32;
    let d = e.inspect(
        t(12),
        &tcp_segment(0x10, 501, end, b"", true),
        PacketMeta::default(),
    );
    assert!(d.alerts.is_empty());
    // ... and inspected with the client's next one, once.
    assert_eq!(client_says(&mut e, 13, end, b""), [1]);
    assert!(client_says(&mut e, 14, end, b"").is_empty());
}

#[test]
fn http_alerts_carry_their_message_and_response_alerts_the_request_head() {
    let mut e = stream_engine(
        "alert http any any -> any any (http.uri; content:\"/x\"; sid:1;)\n\
         alert http any any -> any any (http.stat_code; content:\"404\"; sid:2;)\n\
         alert tcp any any -> any any (content:\"nothing-app\"; sid:3;)",
        false,
    );
    let req = b"GET /x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.3.3.3\r\n\r\n";
    let d = e.inspect(
        t(10),
        &tcp_segment(0x18, 101, 501, req, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    let snap = d.alerts[0].app.as_deref().expect("request snapshot");
    assert_eq!(snap.proto, verdict_applayer::AppProto::Http);
    assert!(snap.to_server);
    assert_eq!(&snap.bytes[..], &req[..]);
    assert!(snap.request.is_empty());
    let resp = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let d = e.inspect(
        t(11),
        &tcp_segment(0x18, 501, 101 + req.len() as u32, resp, true),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.iter().map(|a| a.info.sid).collect::<Vec<_>>(), [2]);
    let snap = d.alerts[0].app.as_deref().expect("response snapshot");
    assert!(!snap.to_server);
    assert_eq!(&snap.bytes[..], &resp[..]);
    assert_eq!(&snap.request[..], &req[..]);
}

#[test]
fn dns_and_ssh_alerts_carry_their_message() {
    // DNS over UDP: the datagram's payload.
    let parsed = verdict_rules::parse_str(
        "alert dns any any -> any any (dns.query; content:\"a.b\"; sid:1;)",
        "t.rules",
    );
    let (set, _) =
        verdict_rules::RuleSet::compile(&parsed.rules, &verdict_rules::Vars::suricata_defaults());
    let mut e = Engine::new(RulesInspector::new(Arc::new(set)), EngineConfig::default());
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x01a\x01b\x00\x00\x01\x00\x01");
    let d = e.inspect(
        t(0),
        &udp_packet(5353, 53, &q, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    let snap = d.alerts[0].app.as_deref().expect("dns snapshot");
    assert_eq!(snap.proto, verdict_applayer::AppProto::Dns);
    assert_eq!(snap.transport, verdict_applayer::Transport::Udp);
    assert_eq!(&snap.bytes[..], &q[..]);

    // SSH: the banner.
    let mut e = stream_engine(
        "alert ssh any any -> any any (ssh.software; content:\"OpenSSH\"; sid:1;)",
        false,
    );
    let banner = b"SSH-2.0-OpenSSH_9.6\r\n";
    let d = e.inspect(
        t(10),
        &tcp_segment(0x18, 101, 501, banner, false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    let snap = d.alerts[0].app.as_deref().expect("ssh snapshot");
    assert_eq!(snap.proto, verdict_applayer::AppProto::Ssh);
    assert_eq!(&snap.bytes[..], &banner[..]);
}

#[test]
fn alerts_without_an_app_layer_carry_no_snapshot() {
    let mut e = stream_engine(
        "alert tcp any any -> any any (content:\"zzz\"; sid:1;)",
        false,
    );
    let d = e.inspect(
        t(10),
        &tcp_segment(0x18, 101, 501, b"\x00\x01zzz", false),
        PacketMeta::default(),
    );
    assert_eq!(d.alerts.len(), 1);
    assert!(d.alerts[0].app.is_none());
}
