//! Byte-array tests: hand-built packets, decoded and checked field by field.

use super::*;

fn ipv4(proto: u8, opts: &[u8], l4: &[u8], flags_frag: u16) -> Vec<u8> {
    let hlen = 20 + opts.len();
    assert!(hlen % 4 == 0);
    let total = hlen + l4.len();
    let mut v = vec![0x40 | (hlen / 4) as u8, 0x10];
    v.extend_from_slice(&(total as u16).to_be_bytes());
    v.extend_from_slice(&0x1234u16.to_be_bytes());
    v.extend_from_slice(&flags_frag.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0]);
    v.extend_from_slice(&[198, 18, 0, 1, 198, 18, 0, 2]);
    v.extend_from_slice(opts);
    v.extend_from_slice(l4);
    v
}

fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&100u32.to_be_bytes());
    v.extend_from_slice(&200u32.to_be_bytes());
    v.extend_from_slice(&[0x50, flags, 0x20, 0x00, 0, 0, 0, 0]);
    v.extend_from_slice(payload);
    v
}

fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sport.to_be_bytes());
    v.extend_from_slice(&dport.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

fn ipv6(next: u8, ext: &[u8], l4: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0x00, 0, 0];
    v.extend_from_slice(&((ext.len() + l4.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[next, 55]);
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = 1;
    v.extend_from_slice(&a);
    a[15] = 2;
    v.extend_from_slice(&a);
    v.extend_from_slice(ext);
    v.extend_from_slice(l4);
    v
}

#[test]
fn ipv4_tcp() {
    let b = ipv4(
        6,
        &[],
        &tcp(1234, 80, tcpflag::SYN | tcpflag::ACK, b"GET /"),
        0x4000,
    );
    let p = decode_ip(&b).unwrap();
    assert_eq!(p.ip.version, IpVersion::V4);
    assert_eq!(p.ip.src, "198.18.0.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.ip.dst, "198.18.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(p.ip.ttl, 64);
    assert_eq!(p.ip.tos, 0x10);
    assert_eq!(p.ip.id, 0x1234);
    assert_eq!(p.ip.fragbits, 2, "DF");
    assert!(!p.ip.is_fragment);
    assert_eq!(p.ip.header.len(), 20);
    match p.l4 {
        L4::Tcp {
            src_port,
            dst_port,
            flags,
            seq,
            ack,
            window,
            options,
        } => {
            assert_eq!((src_port, dst_port), (1234, 80));
            assert_eq!(flags, 0x12);
            assert_eq!((seq, ack, window), (100, 200, 0x2000));
            assert!(options.is_empty());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.payload, b"GET /");
}

#[test]
fn ipv4_trims_ethernet_padding_and_rejects_short() {
    let mut b = ipv4(17, &[], &udp(53, 5353, b"abc"), 0);
    b.extend_from_slice(&[0; 6]);
    let p = decode_ip(&b).unwrap();
    assert_eq!(p.payload, b"abc");
    assert_eq!(
        p.l4,
        L4::Udp {
            src_port: 53,
            dst_port: 5353
        }
    );
    let b = ipv4(17, &[], &udp(53, 5353, b"abc"), 0);
    assert!(matches!(
        decode_ip(&b[..b.len() - 1]),
        Err(DecodeError::LengthMismatch { .. })
    ));
    assert!(matches!(
        decode_ip(&b[..10]),
        Err(DecodeError::Truncated { .. })
    ));
    assert!(matches!(decode_ip(&[]), Err(DecodeError::Truncated { .. })));
    assert_eq!(decode_ip(&[0x50; 30]), Err(DecodeError::BadIpVersion(5)));
    let mut bad_ihl = b.clone();
    bad_ihl[0] = 0x44;
    assert!(matches!(
        decode_ip(&bad_ihl),
        Err(DecodeError::BadHeaderLen { .. })
    ));
}

#[test]
fn ipv4_options_bits() {
    // NOP, RR (len 7), then EOL padding
    let opts = [1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0, 0];
    let b = ipv4(17, &opts, &udp(1, 2, b""), 0);
    let p = decode_ip(&b).unwrap();
    assert_eq!(p.ip.ipopts, ipopt::NOP | ipopt::RR | ipopt::EOL);
    assert_eq!(p.ip.header.len(), 32);
    assert_eq!(
        parse_ipv4_options(&[131, 3, 0, 137, 3, 0, 68, 4, 0, 0]),
        ipopt::LSRR | ipopt::SSRR | ipopt::TS
    );
    assert_eq!(
        parse_ipv4_options(&[130, 2, 133, 2, 136, 4, 0, 0]),
        ipopt::SEC | ipopt::ESEC | ipopt::SATID
    );
    // Malformed length stops the walk without panicking.
    assert_eq!(parse_ipv4_options(&[7, 40, 0]), ipopt::RR);
    assert_eq!(parse_ipv4_options(&[7, 1]), ipopt::RR);
    assert_eq!(parse_ipv4_options(&[7]), ipopt::RR);
}

#[test]
fn ipv4_fragments() {
    // First fragment: MF set, offset 0 -> transport decoded.
    let b = ipv4(17, &[], &udp(1, 2, b"xy"), 0x2000);
    let p = decode_ip(&b).unwrap();
    assert!(p.ip.is_fragment);
    assert_eq!(p.ip.fragbits, 1);
    assert!(matches!(p.l4, L4::Udp { .. }));
    // Later fragment: no transport.
    let b = ipv4(17, &[], b"continued", 0x0003);
    let p = decode_ip(&b).unwrap();
    assert!(p.ip.is_fragment);
    assert_eq!(p.ip.frag_offset, 3);
    assert_eq!(p.l4, L4::Fragment);
    assert_eq!(p.payload, b"continued");
    // Reserved bit.
    let b = ipv4(17, &[], &udp(1, 2, b""), 0x8000);
    assert_eq!(decode_ip(&b).unwrap().ip.fragbits, 4);
}

#[test]
fn icmp_echo_and_unreachable() {
    let b = ipv4(1, &[], &[8, 0, 0, 0, 0, 7, 0, 9, b'p', b'i'], 0);
    let p = decode_ip(&b).unwrap();
    assert_eq!(
        p.l4,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: Some(7),
            seq: Some(9),
            v6: false
        }
    );
    assert_eq!(p.payload, b"pi");
    let b = ipv4(1, &[], &[3, 1, 0, 0, 0, 0, 0, 0], 0);
    let p = decode_ip(&b).unwrap();
    assert_eq!(
        p.l4,
        L4::Icmp {
            icmp_type: 3,
            code: 1,
            id: None,
            seq: None,
            v6: false
        }
    );
    let b = ipv4(1, &[], &[3, 1, 0], 0);
    assert_eq!(decode_ip(&b).unwrap().l4, L4::Malformed);
}

#[test]
fn tcp_and_udp_malformed() {
    let mut t = tcp(1, 2, 0, b"");
    t[12] = 0x30; // data offset 3 < 5
    let b = ipv4(6, &[], &t, 0);
    assert_eq!(decode_ip(&b).unwrap().l4, L4::Malformed);
    let b = ipv4(6, &[], &[0; 10], 0);
    assert_eq!(decode_ip(&b).unwrap().l4, L4::Malformed);
    let mut u = udp(1, 2, b"abc");
    u[5] = 200; // length past the payload
    let b = ipv4(17, &[], &u, 0);
    assert_eq!(decode_ip(&b).unwrap().l4, L4::Malformed);
    let b = ipv4(47, &[], b"gre", 0);
    let p = decode_ip(&b).unwrap();
    assert_eq!(p.l4, L4::Other);
    assert_eq!(p.payload, b"gre");
}

#[test]
fn tcp_options_slice() {
    let mut t = tcp(1, 2, tcpflag::SYN, b"");
    t[12] = 0x60;
    t.extend_from_slice(&[2, 4, 5, 0xb4]);
    t.extend_from_slice(b"data");
    let b = ipv4(6, &[], &t, 0);
    let p = decode_ip(&b).unwrap();
    match p.l4 {
        L4::Tcp { options, .. } => assert_eq!(options, &[2, 4, 5, 0xb4]),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.payload, b"data");
}

#[test]
fn ipv6_with_extension_headers() {
    // hop-by-hop (8 bytes) -> destination options (8) -> TCP
    let mut ext = vec![60, 0, 1, 4, 0, 0, 0, 0];
    ext.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]);
    let b = ipv6(0, &ext, &tcp(5, 6, tcpflag::ACK, b"x"));
    let p = decode_ip(&b).unwrap();
    assert_eq!(p.ip.version, IpVersion::V6);
    assert_eq!(p.ip.proto, 6);
    assert_eq!(p.ip.ttl, 55);
    assert_eq!(p.ip.header.len(), 56);
    assert_eq!(p.ip.src, "2001:db8::1".parse::<IpAddr>().unwrap());
    assert_eq!(p.payload, b"x");
    // routing header then UDP
    let ext = [17, 0, 0, 0, 0, 0, 0, 0];
    let pkt = ipv6(43, &ext, &udp(7, 8, b"u"));
    let p = decode_ip(&pkt).unwrap();
    assert_eq!(
        p.l4,
        L4::Udp {
            src_port: 7,
            dst_port: 8
        }
    );
    // truncated extension header: decoded, with an event
    let ext = [17, 3, 0, 0, 0, 0, 0, 0];
    let pkt = ipv6(43, &ext, b"");
    let p = decode_ip(&pkt).unwrap();
    assert_eq!(p.ip.events, event::IPV6_TRUNC_EXTHDR);
    assert_eq!(p.l4, L4::Other);
}

#[test]
fn ipv6_fragments_and_icmpv6() {
    // first fragment, M=1, id 0xabcd
    let ext = [58, 0, 0x00, 0x01, 0, 0, 0xab, 0xcd];
    let pkt = ipv6(44, &ext, &[128, 0, 0, 0, 0, 1, 0, 2]);
    let p = decode_ip(&pkt).unwrap();
    assert!(p.ip.is_fragment);
    assert_eq!(p.ip.id, 0xabcd);
    assert_eq!(p.ip.fragbits, 1);
    assert_eq!(
        p.l4,
        L4::Icmp {
            icmp_type: 128,
            code: 0,
            id: Some(1),
            seq: Some(2),
            v6: true
        }
    );
    // offset 1, no M
    let ext = [17, 0, 0x00, 0x08, 0, 0, 0, 1];
    let pkt = ipv6(44, &ext, b"rest");
    let p = decode_ip(&pkt).unwrap();
    assert_eq!(p.ip.frag_offset, 1);
    assert_eq!(p.l4, L4::Fragment);
    assert_eq!(p.payload, b"rest");
    // IPv6 payload length past the buffer
    let mut b = ipv6(17, &[], &udp(1, 2, b""));
    b.truncate(b.len() - 2);
    assert!(matches!(
        decode_ip(&b),
        Err(DecodeError::LengthMismatch { .. })
    ));
}

#[test]
fn link_layers() {
    let ip = ipv4(17, &[], &udp(1, 2, b"z"), 0);
    // Ethernet + 802.1ad + 802.1Q
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x14, 0x08, 0x00]);
    eth.extend_from_slice(&ip);
    let p = decode(LinkType::Ethernet, &eth).unwrap();
    assert_eq!(p.link.vlan_count, 2);
    assert_eq!(p.link.vlan[..2], [10, 20]);
    assert_eq!(p.payload, b"z");
    // ARP is not IP
    let mut arp = vec![0u8; 12];
    arp.extend_from_slice(&[0x08, 0x06, 0, 0]);
    assert_eq!(
        decode(LinkType::Ethernet, &arp),
        Err(DecodeError::NotIp(0x0806))
    );
    // SLL
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::LinuxSll, &sll).unwrap().payload, b"z");
    // SLL2
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::LinuxSll2, &sll2).unwrap().payload, b"z");
    // Null, little-endian AF_INET
    let mut null = vec![2, 0, 0, 0];
    null.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Null, &null).unwrap().payload, b"z");
    // Loop, big-endian AF_INET6 (24)
    let mut lp = vec![0, 0, 0, 24];
    lp.extend_from_slice(&ipv6(17, &[], &udp(1, 2, b"6")));
    assert_eq!(decode(LinkType::Loop, &lp).unwrap().payload, b"6");
    // PPP: compressed one-byte protocol (0x21 IPv4), HDLC header with two-byte
    // protocol (0x0057 IPv6), and a control protocol (LCP 0xc021) that is not IP.
    assert_eq!(LinkType::from_pcap(9), Ok(LinkType::Ppp));
    let mut ppp = vec![0x21];
    ppp.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Ppp, &ppp).unwrap().payload, b"z");
    let mut ppp6 = vec![0xff, 0x03, 0x00, 0x57];
    ppp6.extend_from_slice(&ipv6(17, &[], &udp(1, 2, b"6")));
    assert_eq!(decode(LinkType::Ppp, &ppp6).unwrap().payload, b"6");
    assert_eq!(
        decode(LinkType::Ppp, &[0xc0, 0x21, 1, 2]).unwrap_err(),
        DecodeError::NotIp(0xc021)
    );
    assert!(decode(LinkType::Ppp, &[0xff, 0x03]).is_err());
    assert!(decode(LinkType::Ppp, &[]).is_err());
    // NSH (ethertype 0x894f): MD type 2 with no context headers, then IPv4; MD type 1
    // (24 bytes) then Ethernet then IPv4; a bad version and a bad MD-1 length are refused.
    let mut nsh = vec![0u8; 12];
    nsh.extend_from_slice(&[0x89, 0x4f, 0x00, 0x02, 0x02, 0x01, 0, 0, 1, 2]);
    nsh.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Ethernet, &nsh).unwrap().payload, b"z");
    let mut nsh1 = vec![0u8; 12];
    nsh1.extend_from_slice(&[0x89, 0x4f, 0x00, 0x06, 0x01, 0x03]);
    nsh1.extend_from_slice(&[0u8; 20]);
    nsh1.extend_from_slice(&[0u8; 12]);
    nsh1.extend_from_slice(&[0x08, 0x00]);
    nsh1.extend_from_slice(&ip);
    assert_eq!(decode(LinkType::Ethernet, &nsh1).unwrap().payload, b"z");
    let mut bad = nsh.clone();
    bad[14] = 0x40;
    assert!(matches!(
        decode(LinkType::Ethernet, &bad),
        Err(DecodeError::Unsupported { layer: "nsh", .. })
    ));
    let mut bad = nsh1.clone();
    bad[15] = 0x05;
    assert!(decode(LinkType::Ethernet, &bad).is_err());
    assert!(decode(LinkType::Ethernet, &nsh[..20]).is_err());
    assert_eq!(
        LinkType::from_pcap(147),
        Err(DecodeError::UnsupportedLinkType(147))
    );
    assert_eq!(LinkType::from_pcap(1), Ok(LinkType::Ethernet));
}

#[test]
fn every_prefix_of_a_packet_is_handled() {
    let mut eth = vec![0u8; 12];
    eth.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a, 0x86, 0xdd]);
    let ext = [6, 0, 1, 4, 0, 0, 0, 0];
    eth.extend_from_slice(&ipv6(0, &ext, &tcp(1, 2, 0x18, b"payload")));
    for n in 0..=eth.len() {
        for lt in [
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
        ] {
            let _ = decode(lt, &eth[..n]);
            let _ = decode(lt, &eth[eth.len() - n..]);
        }
    }
}

#[test]
fn flow_key_from_packet() {
    let a = decode_ip(&ipv4(6, &[], &tcp(1234, 80, 0, b""), 0))
        .unwrap()
        .flow_key();
    let mut rev = ipv4(6, &[], &tcp(80, 1234, 0, b""), 0);
    rev[12..16].copy_from_slice(&[198, 18, 0, 2]);
    rev[16..20].copy_from_slice(&[198, 18, 0, 1]);
    let b = decode_ip(&rev).unwrap().flow_key();
    assert_eq!(a.0, b.0);
    assert_ne!(a.1, b.1);
}

#[test]
fn sctp_ports() {
    let mut s = vec![0, 7, 0, 9, 1, 2, 3, 4, 0, 0, 0, 0];
    s.extend_from_slice(b"chunk");
    let b = ipv4(132, &[], &s, 0);
    let p = decode_ip(&b).unwrap();
    assert_eq!(
        p.l4,
        L4::Sctp {
            src_port: 7,
            dst_port: 9
        }
    );
    assert_eq!(p.l4.ports(), Some((7, 9)));
    assert_eq!(p.payload, b"chunk");
    let b = ipv4(132, &[], &[0, 7, 0], 0);
    assert_eq!(decode_ip(&b).unwrap().l4, L4::Malformed);
}

#[test]
fn tunnels() {
    let inner = ipv4(17, &[], &udp(1, 2, b"in"), 0);
    // IP-in-IP
    let outer = ipv4(4, &[], &inner, 0);
    let p = decode_ip(&outer).unwrap();
    let t = p.tunnel().unwrap();
    assert_eq!((t.kind, t.link), (TunnelKind::Ipv4, LinkType::Raw));
    assert_eq!(decode(t.link, t.inner).unwrap().payload, b"in");
    assert_eq!(t.kind.pkt_src(), "ipv4 tunnel");
    // IPv4 in IPv6
    let p6 = ipv6(4, &[], &inner);
    let p = decode_ip(&p6).unwrap();
    assert_eq!(p.tunnel().unwrap().kind, TunnelKind::Ipv6);
    // GRE with key, carrying IPv4
    let mut gre = vec![0x20, 0, 0x08, 0x00, 0, 0, 0, 9];
    gre.extend_from_slice(&inner);
    let b = ipv4(47, &[], &gre, 0);
    let pk = decode_ip(&b).unwrap();
    let t = pk.tunnel().unwrap();
    assert_eq!(t.kind, TunnelKind::Gre);
    assert_eq!(decode(t.link, t.inner).unwrap().payload, b"in");
    // GRE version 1 (PPTP) is not decapsulated; truncated GRE neither
    let b = ipv4(47, &[], &[0x30, 0x01, 0x88, 0x0b], 0);
    assert!(decode_ip(&b).unwrap().tunnel().is_none());
    let b = ipv4(47, &[], &[0x80, 0], 0);
    assert!(decode_ip(&b).unwrap().tunnel().is_none());
    // ERSPAN type II (GRE with sequence, proto 0x88be) with VLAN 23 in its header
    let mut er = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 23, 0, 0, 0, 0, 0, 0];
    er.extend_from_slice(&[0u8; 12]);
    er.extend_from_slice(&[0x08, 0x00]);
    er.extend_from_slice(&inner);
    let b = ipv4(47, &[], &er, 0);
    let pk = decode_ip(&b).unwrap();
    let t = pk.tunnel().unwrap();
    assert_eq!(
        (t.kind, t.link, t.vlan),
        (TunnelKind::Gre, LinkType::Ethernet, Some(23))
    );
    let mut ip = decode(t.link, t.inner).unwrap();
    assert_eq!(ip.payload, b"in");
    ip.link.push_outer_vlan(23);
    assert_eq!((ip.link.vlan_count, ip.link.vlan[0]), (1, 23));
    // VXLAN carrying Ethernet
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
    vx.extend_from_slice(&[0u8; 12]);
    vx.extend_from_slice(&[0x08, 0x00]);
    vx.extend_from_slice(&inner);
    let b = ipv4(17, &[], &udp(5555, VXLAN_PORT, &vx), 0);
    let pk = decode_ip(&b).unwrap();
    let t = pk.tunnel().unwrap();
    assert_eq!((t.kind, t.link), (TunnelKind::Vxlan, LinkType::Ethernet));
    assert_eq!(decode(t.link, t.inner).unwrap().payload, b"in");
    // Geneve with one 4-byte option, carrying IPv4
    let mut gv = vec![0x01, 0, 0x08, 0x00, 0, 0, 1, 0, 9, 9, 9, 9];
    gv.extend_from_slice(&inner);
    let b = ipv4(17, &[], &udp(5555, GENEVE_PORT, &gv), 0);
    let pk = decode_ip(&b).unwrap();
    let t = pk.tunnel().unwrap();
    assert_eq!(t.kind, TunnelKind::Geneve);
    assert_eq!(decode(t.link, t.inner).unwrap().payload, b"in");
    // Plain UDP is no tunnel; a fragment neither
    assert!(decode_ip(&ipv4(17, &[], &udp(1, 2, b"x"), 0))
        .unwrap()
        .tunnel()
        .is_none());
    assert!(decode_ip(&ipv4(4, &[], &inner, 0x2000))
        .unwrap()
        .tunnel()
        .is_none());
}

#[test]
fn decoder_events() {
    // Useless fragment header (offset 0, no M).
    let ext = [17, 0, 0, 0, 0, 0, 0, 1];
    let pkt = ipv6(44, &ext, &udp(1, 2, b"x"));
    let p = decode_ip(&pkt).unwrap();
    assert_eq!(p.ip.events, event::IPV6_EXTHDR_USELESS_FH);
    assert_eq!(
        event::names(p.ip.events).collect::<Vec<_>>(),
        vec!["ipv6.exthdr_useless_fh"]
    );
    // M set, 3 data bytes: invalid length; two fragment headers: duplicated.
    let ext = [44, 0, 0, 1, 0, 0, 0, 1, 17, 0, 0, 1, 0, 0, 0, 1];
    let pkt = ipv6(44, &ext, b"abc");
    let p = decode_ip(&pkt).unwrap();
    assert_ne!(p.ip.events & event::IPV6_EXTHDR_DUPL_FH, 0);
    assert_ne!(p.ip.events & event::IPV6_FRAG_INVALID_LENGTH, 0);
    // Offset 8191*8 plus data past 65535.
    let ext = [17, 0, 0xff, 0xf8, 0, 0, 0, 1];
    let pkt = ipv6(44, &ext, &[0u8; 16]);
    assert_ne!(
        decode_ip(&pkt).unwrap().ip.events & event::IPV6_FRAG_PKT_TOO_LARGE,
        0
    );
    // UDP length past the packet.
    let mut u = udp(1, 2, b"abc");
    u[5] = 200;
    let b = ipv4(17, &[], &u, 0);
    assert_eq!(decode_ip(&b).unwrap().ip.events, event::UDP_LEN_INVALID);
    // IPv6 says IPv4 inside, but the inner packet is IPv6.
    let inner = ipv6(17, &[], &udp(1, 2, b""));
    let p6 = ipv6(4, &[], &inner);
    assert_eq!(
        decode_ip(&p6).unwrap().ip.events,
        event::IPV6_IPV4_IN_IPV6_WRONG_VERSION
    );
    // Destination option of unknown type 0x1e (len 4), after a PadN.
    let ext = [17, 0, 0x1e, 4, 1, 2, 3, 4];
    let pkt = ipv6(60, &ext, &udp(1, 2, b""));
    assert_eq!(
        decode_ip(&pkt).unwrap().ip.events,
        event::IPV6_DSTOPTS_UNKNOWN_OPT
    );
    let ext = [17, 0, 1, 4, 0, 0, 0, 0];
    let pkt = ipv6(0, &ext, &udp(1, 2, b""));
    assert_eq!(decode_ip(&pkt).unwrap().ip.events, 0, "PadN only is known");
    // A clean packet has none.
    assert_eq!(
        decode_ip(&ipv4(17, &[], &udp(1, 2, b"x"), 0))
            .unwrap()
            .ip
            .events,
        0
    );
}
